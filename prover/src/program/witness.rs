//! The witness: [`Program::eval`] runs the instructions on integers exactly as the circuit
//! checks them, and names the layer when a value leaves its lookup range.

use super::{Instr, Program, ProgramError, WRef, Wire, ONE};
use crate::quant::rescale;
use crate::table::Func;

impl Program {
    /// Range-checks `wires` for a packed commitment ([`crate::packing`]): each value is
    /// rescaled by `2^s` through a lookup lane and its quotient looked up in the Identity
    /// table (tag 0), which proves it in `[min, min + 2^B)` of [`InputPacking`]. The
    /// quotient wires are new (read by nothing else).
    ///
    /// [`InputPacking`]: crate::packing::InputPacking
    pub fn range_check(&mut self, wires: &[Wire], what: &str) {
        self.node_names.push(what.into());
        let node = (self.node_names.len() - 1) as u32;
        for &input in wires {
            let out = self.num_wires;
            self.num_wires += 1;
            self.instrs.push(Instr::Lookup {
                input,
                rescale: true,
                tag: 0,
                out,
                node,
                wide: false,
            });
        }
    }

    /// [`Program::range_check`] of every model input: a `hashed` input is committed packed.
    pub fn range_check_inputs(&mut self) {
        let wires: Vec<Wire> = self.inputs.iter().flat_map(|(_, w)| w.clone()).collect();
        self.range_check(&wires, "committed input (range check)");
    }

    /// Computes every wire's value from quantized inputs: the witness.
    pub fn eval(&self, inputs: &[Vec<i64>]) -> Result<Vec<i128>, ProgramError> {
        let (w, failed) = self.eval_lenient(inputs)?;
        match failed {
            Some(e) => Err(e),
            None => Ok(w),
        }
    }

    /// [`Program::eval`] that computes every wire even past an instruction without a valid
    /// witness (a lookup outside its table gets the function's value anyway, a division by
    /// a non-positive sum 0), and returns the first such error (`None`: the witness is
    /// valid). Greedy decoding reads the model's choices this way while the completion
    /// check still refuses a guess; tests forge witnesses that break one constraint only.
    pub fn eval_lenient(
        &self,
        inputs: &[Vec<i64>],
    ) -> Result<(Vec<i128>, Option<ProgramError>), ProgramError> {
        if inputs.len() != self.inputs.len() {
            return Err(ProgramError::InputCount {
                expected: self.inputs.len(),
                got: inputs.len(),
            });
        }
        let mut w = vec![0i128; self.num_wires as usize];
        w[ONE as usize] = 1;
        for (index, ((shape, wires), vals)) in self.inputs.iter().zip(inputs).enumerate() {
            if wires.len() != vals.len() {
                return Err(ProgramError::InputSize {
                    index,
                    expected: wires.len(),
                    got: vals.len(),
                    shape: shape.clone(),
                });
            }
            for (&wi, &v) in wires.iter().zip(vals) {
                w[wi as usize] = v as i128;
            }
        }
        let failed = self.run(&mut w);
        Ok((w, failed))
    }

    fn run(&self, w: &mut [i128]) -> Option<ProgramError> {
        let qp = &self.qp;
        let mut first: Option<ProgramError> = None;
        let mut fail = |e: ProgramError| {
            first.get_or_insert(e);
        };
        for ins in &self.instrs {
            match ins {
                Instr::Dot { terms, out } => {
                    let v: i128 = terms
                        .iter()
                        .map(|&(x, r)| w[x as usize] * self.weight_in(r, w))
                        .sum();
                    w[*out as usize] = v;
                }
                Instr::Lookup {
                    input,
                    rescale: rs,
                    tag,
                    out,
                    node,
                    wide,
                } => {
                    let v = w[*input as usize];
                    let q = if *rs { rescale(v, qp.scale_bits).0 } else { v };
                    if *wide {
                        w[*out as usize] = q;
                        continue;
                    }
                    let t = *tag as usize;
                    let qi = i64::try_from(q).unwrap_or(0);
                    if let Some(y) = self.funcs.eval(t, qi, qp).filter(|_| qi as i128 == q) {
                        if out == input && y as i128 != v {
                            // A range check (`f(w) = w`) that fails: e.g. a negative remainder.
                            fail(ProgramError::OutOfRange {
                                node: self.node_name(*node),
                                value: v,
                                real: v as f64 / qp.scale(),
                                min: 0,
                                max: qp.lookup_end(),
                                scale: qp.scale_bits,
                            });
                        } else {
                            w[*out as usize] = y as i128;
                        }
                        continue;
                    }
                    fail(match self.funcs.funcs[t] {
                        Func::Embed { table, .. } => ProgramError::NotAToken {
                            node: self.node_name(*node),
                            real: q as f64 / qp.scale(),
                            vocab: self.funcs.tables[table as usize].vocab,
                        },
                        f => {
                            let (lo, hi) = self.funcs.domain(t, qp);
                            let (min, max) =
                                if (lo as i128..hi as i128).contains(&q) && !f.defined_at(qi) {
                                    (0, qp.lookup_end())
                                } else {
                                    (lo, hi)
                                };
                            ProgramError::OutOfRange {
                                node: self.node_name(*node),
                                value: q,
                                real: q as f64 / qp.scale(),
                                min,
                                max,
                                scale: qp.scale_bits,
                            }
                        }
                    });
                    if out != input {
                        w[*out as usize] = self.funcs.apply(t, qi, qp) as i128;
                    }
                }
                Instr::Arith { a, b, k, out } => {
                    let (a, b) = (w[*a as usize], w[*b as usize]);
                    w[*out as usize] =
                        k[0] as i128 * a * b + k[1] as i128 * a + k[2] as i128 * b + k[3] as i128;
                }
                Instr::DivRound {
                    num,
                    den,
                    out,
                    rem,
                    slack,
                    node,
                } => {
                    let (n, d) = (w[*num as usize], w[*den as usize]);
                    if d <= 0 {
                        fail(ProgramError::DivByZero {
                            node: self.node_name(*node),
                            den: d,
                        });
                        continue;
                    }
                    let (q, r) = div_round(n, d, qp.scale_bits);
                    let h = 1i128 << (qp.scale_bits - 1);
                    w[*out as usize] = q;
                    w[*rem as usize] = r - h;
                    w[*slack as usize] = 2 * d - 1 - r - h;
                }
            }
        }
        first
    }

    fn node_name(&self, node: u32) -> String {
        let i = (node as usize).min(self.node_names.len() - 1);
        self.node_names[i].clone()
    }

    /// The value of a weight operand (`wires` resolves [`WRef::Wire`]).
    pub fn weight_in(&self, r: WRef, wires: &[i128]) -> i128 {
        match r {
            WRef::Param(i) => self.weights[i as usize] as i128,
            WRef::Const(c) => c as i128,
            WRef::Wire(w) => wires[w as usize],
        }
    }

    /// Quantizes float inputs (one flat list per model input).
    pub fn quantize_inputs(&self, inputs: &[Vec<f32>]) -> Vec<Vec<i64>> {
        inputs
            .iter()
            .map(|v| v.iter().map(|&x| self.qp.quantize(x)).collect())
            .collect()
    }

    /// The output values of a witness.
    pub fn output_values(&self, witness: &[i128]) -> Vec<Vec<i128>> {
        self.outputs
            .iter()
            .map(|(_, ws)| ws.iter().map(|&w| witness[w as usize]).collect())
            .collect()
    }

    /// A fresh wire.
    pub(crate) fn new_wire(&mut self) -> Wire {
        self.num_wires += 1;
        self.num_wires - 1
    }

    /// Whether some dot product multiplies two activations.
    pub fn has_activation_products(&self) -> bool {
        self.instrs.iter().any(|i| matches!(i, Instr::Dot { terms, .. } if terms.iter().any(|t| matches!(t.1, WRef::Wire(_)))))
    }

    /// Total number of terms over all dot products.
    pub fn num_dot_terms(&self) -> usize {
        self.instrs
            .iter()
            .map(|i| {
                if let Instr::Dot { terms, .. } = i {
                    terms.len()
                } else {
                    0
                }
            })
            .sum()
    }
}

/// `round(n · 2^s / d)` as the circuit proves it: `2·n·2^s + d = 2·d·q + r`, `0 <= r < 2d`.
pub fn div_round(n: i128, d: i128, s: u32) -> (i128, i128) {
    let num = 2 * n * (1i128 << s) + d;
    (num.div_euclid(2 * d), num.rem_euclid(2 * d))
}
