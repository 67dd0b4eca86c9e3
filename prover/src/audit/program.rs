//! The audit program: `b` copies of a model's program sharing its weights, each followed by
//! "is the predicted class the label?", and the count of correct predictions.
//!
//! For logits `o_0..o_{C−1}` of one sample and its label `L` (a private input):
//! ```text
//! beat_k  = Σ_{i<k} [o_i − o_k + 1 > 0] + Σ_{i>k} [o_i − o_k > 0]     outputs that beat class k
//! win_k   = 1 − [beat_k > 0]               k is the argmax, ties to the lowest index
//! eq_k    = 1 − [L − k > 0] − [k − L > 0]  L = k
//! correct = Σ_k eq_k · win_k
//! count   = Σ_samples correct              the program's only output
//! ```
//! `[x > 0]` is the `Step` lookup, so each comparison is exact; its table spans what
//! calibration on the dataset reaches. Logit differences can exceed every table, so they
//! are compared through the lookup lanes' exact rescale: for `v = x − 1 + 2^(s−1)`,
//! `round(v / 2^s) = ⌊(x − 1)/2^s⌋ + 1`, which is `> 0` exactly when `x > 0`. A label outside `0..C` matches no class
//! and counts as wrong. Everything is ordinary instructions, laid out by the model circuit.

use crate::program::{Instr, Program, WRef, Wire, ONE, ZERO};
use crate::table::Func;

/// Where the audit program keeps each sample's wires.
#[derive(Clone, Debug)]
pub struct AuditProgram {
    /// The program (inputs: the `b` samples' inputs, then the labels as one input of `b`).
    pub program: Program,
    /// Batch size `b`.
    pub batch: usize,
    /// Classes `C` (the model's first output's size).
    pub classes: usize,
    /// Per sample, its input wires (flat).
    pub sample_inputs: Vec<Vec<Wire>>,
    /// Per sample, its label wire.
    pub labels: Vec<Wire>,
    /// Per sample, its `correct` wire (0 or 1).
    pub correct: Vec<Wire>,
    /// The count wire (the only output).
    pub count: Wire,
}

struct Emit<'a> {
    p: &'a mut Program,
    node: u32,
    step: u16,
}

impl Emit<'_> {
    fn wire(&mut self) -> Wire {
        self.p.num_wires += 1;
        self.p.num_wires - 1
    }
    fn arith(&mut self, a: Wire, b: Wire, k: [i64; 4]) -> Wire {
        let out = self.wire();
        self.p.instrs.push(Instr::Arith { a, b, k, out });
        out
    }
    fn lookup(&mut self, input: Wire, tag: u16) -> Wire {
        self.lookup_with(input, tag, false)
    }
    fn lookup_with(&mut self, input: Wire, tag: u16, rescale: bool) -> Wire {
        let out = self.wire();
        self.p.instrs.push(Instr::Lookup {
            input,
            rescale,
            tag,
            out,
            node: self.node,
            wide: false,
        });
        out
    }
    fn step(&mut self, x: Wire) -> Wire {
        self.lookup(x, self.step)
    }
    /// `[a − b + c > 0]` for any size of `a − b` (see the module docs).
    fn greater(&mut self, a: Wire, b: Wire, c: i64) -> Wire {
        let half = 1i64 << (self.p.qp.scale_bits - 1);
        let v = self.arith(a, b, [0, 1, -1, c - 1 + half]);
        self.lookup_with(v, self.step, true)
    }
    fn sum(&mut self, ws: &[Wire]) -> Wire {
        let out = self.wire();
        self.p.instrs.push(Instr::Dot {
            terms: ws.iter().map(|&w| (w, WRef::Const(1))).collect(),
            out,
        });
        out
    }
}

/// Builds the audit program of `b` samples of `model` (one input, first output the logits).
pub fn audit_program(model: &Program, b: usize) -> Result<AuditProgram, String> {
    if model.inputs.len() != 1 || model.outputs.is_empty() {
        return Err(format!(
            "an audited model takes one input and gives the class logits first ({} inputs, {} outputs)",
            model.inputs.len(),
            model.outputs.len()
        ));
    }
    if b == 0 {
        return Err("the batch size must be at least 1".into());
    }
    let classes = model.outputs[0].1.len();
    let n = model.num_wires;
    let mut p = model.clone();
    p.instrs.clear();
    p.inputs.clear();
    p.outputs.clear();
    p.num_wires = 2 + b as u32 * (n - 2);
    let map = |t: u32, w: Wire| {
        if w == ONE || w == ZERO {
            w
        } else {
            w + t * (n - 2)
        }
    };
    let mut sample_inputs = vec![];
    let mut logits = vec![];
    for t in 0..b as u32 {
        for ins in &model.instrs {
            let mut ins = ins.clone();
            match &mut ins {
                Instr::Dot { terms, out } => {
                    for (x, w) in terms.iter_mut() {
                        *x = map(t, *x);
                        if let WRef::Wire(v) = w {
                            *v = map(t, *v);
                        }
                    }
                    *out = map(t, *out);
                }
                Instr::Lookup { input, out, .. } => {
                    *input = map(t, *input);
                    *out = map(t, *out);
                }
                Instr::Arith { a, b, out, .. } => {
                    *a = map(t, *a);
                    *b = map(t, *b);
                    *out = map(t, *out);
                }
                Instr::DivRound {
                    num,
                    den,
                    out,
                    rem,
                    slack,
                    ..
                } => {
                    for w in [num, den, out, rem, slack] {
                        *w = map(t, *w);
                    }
                }
            }
            p.instrs.push(ins);
        }
        let (shape, ws) = &model.inputs[0];
        let ws: Vec<Wire> = ws.iter().map(|&w| map(t, w)).collect();
        p.inputs.push((shape.clone(), ws.clone()));
        sample_inputs.push(ws);
        logits.push(
            model.outputs[0]
                .1
                .iter()
                .map(|&w| map(t, w))
                .collect::<Vec<_>>(),
        );
    }
    // Each sample's inputs are committed packed in its leaf: range-check them.
    for ws in &sample_inputs {
        p.range_check(ws, "audited sample (range check)");
    }
    p.node_names.push("audit: argmax and label".into());
    let node = (p.node_names.len() - 1) as u32;
    let step = p.funcs.tag(Func::Step) as u16;
    let mut e = Emit {
        p: &mut p,
        node,
        step,
    };
    // The labels: one input of b values, each coarsely range-checked like any input.
    let labels: Vec<Wire> = (0..b).map(|_| e.wire()).collect();
    for &l in &labels {
        e.lookup(l, 0); // tag 0 is Identity: a coarse range check
    }
    let mut correct = vec![];
    for (o, &label) in logits.iter().zip(&labels) {
        let mut terms = vec![];
        for k in 0..classes {
            let mut beats = vec![];
            for i in 0..classes {
                if i == k {
                    continue;
                }
                // o_i − o_k (+ 1 for a lower index: a tie goes to it) > 0.
                beats.push(e.greater(o[i], o[k], i64::from(i < k)));
            }
            let beat = e.sum(&beats);
            let lost = e.step(beat);
            let win = e.arith(lost, ZERO, [0, -1, 0, 1]);
            let above = e.arith(label, ZERO, [0, 1, 0, -(k as i64)]);
            let below = e.arith(label, ZERO, [0, -1, 0, k as i64]);
            let (sa, sb) = (e.step(above), e.step(below));
            let eq = e.arith(sa, sb, [0, -1, -1, 1]);
            terms.push(e.arith(eq, win, [1, 0, 0, 0]));
        }
        correct.push(e.sum(&terms));
    }
    let count = e.sum(&correct);
    p.inputs.push((vec![b], labels.clone()));
    p.outputs.push((vec![1], vec![count]));
    Ok(AuditProgram {
        program: p,
        batch: b,
        classes,
        sample_inputs,
        labels,
        correct,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::QuantParams;
    use crate::table::FuncSet;

    /// A "model" whose logits are its inputs: o = x (one Dot per logit with weight 1).
    fn identity_model(c: usize) -> Program {
        let inputs: Vec<Wire> = (2..2 + c as u32).collect();
        let outs: Vec<Wire> = (2 + c as u32..2 + 2 * c as u32).collect();
        Program {
            qp: QuantParams {
                scale_bits: 4,
                lookup_bits: 10,
            },
            funcs: FuncSet::default(),
            num_wires: 2 + 2 * c as u32,
            inputs: vec![(vec![c], inputs.clone())],
            outputs: vec![(vec![c], outs.clone())],
            weights: vec![1],
            instrs: inputs
                .iter()
                .zip(&outs)
                .map(|(&x, &o)| Instr::Dot {
                    terms: vec![(x, WRef::Param(0))],
                    out: o,
                })
                .collect(),
            node_names: vec!["logits".into(), "model input".into()],
        }
    }

    fn count(logits: &[Vec<i64>], labels: &[i64]) -> i128 {
        let ap = audit_program(&identity_model(logits[0].len()), logits.len()).unwrap();
        let mut ins: Vec<Vec<i64>> = logits.to_vec();
        ins.push(labels.to_vec());
        let w = ap.program.eval(&ins).unwrap();
        w[ap.count as usize]
    }

    #[test]
    fn counts_argmax_matches_with_ties_to_the_lowest_index() {
        // argmax 2, 0, 1 (tie 1 = 1 → lowest index 1), 3 (all equal → 0).
        let logits = vec![
            vec![1, 5, 9, -3],
            vec![7, -7, 6, 6],
            vec![0, 4, 4, 2],
            vec![3, 3, 3, 3],
        ];
        assert_eq!(count(&logits, &[2, 0, 1, 0]), 4);
        assert_eq!(
            count(&logits, &[2, 0, 2, 0]),
            3,
            "a tie goes to the lower index"
        );
        assert_eq!(count(&logits, &[2, 0, 1, 3]), 3);
        assert_eq!(count(&logits, &[1, 1, 0, 1]), 0);
        assert_eq!(
            count(&logits, &[2, 0, 1, 7]),
            3,
            "a label out of range is wrong"
        );
        assert_eq!(count(&logits, &[2, 0, 1, -1]), 3);
    }

    #[test]
    fn logit_differences_beyond_every_table_compare_exactly() {
        // The domain is ±512; differences reach 800 (and ties and ±1 stay exact).
        let logits = vec![
            vec![-400, 400, 399],
            vec![400, 400, -400],
            vec![-400, -399, -400],
        ];
        assert_eq!(count(&logits, &[1, 0, 1]), 3);
        assert_eq!(count(&logits, &[2, 1, 0]), 0);
    }

    #[test]
    fn copies_share_weights_and_keep_their_wires_apart() {
        let m = identity_model(3);
        let ap = audit_program(&m, 2).unwrap();
        assert_eq!(ap.program.weights, m.weights);
        assert_eq!(ap.sample_inputs.len(), 2);
        assert!(ap.sample_inputs[0]
            .iter()
            .all(|w| !ap.sample_inputs[1].contains(w)));
        assert_eq!(ap.program.outputs, vec![(vec![1], vec![ap.count])]);
        assert!(audit_program(&m, 0).is_err());
    }
}
