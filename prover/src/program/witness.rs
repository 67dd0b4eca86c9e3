//! The witness: [`Program::eval`] runs the instructions on integers exactly as the circuit
//! checks them, and names the layer when a value leaves its lookup range.

use super::{Instr, Program, ProgramError, WRef, Wire, ONE};
use crate::quant::rescale;

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
        let qp = &self.qp;
        for ins in &self.instrs {
            match ins {
                Instr::Dot { terms, out } => {
                    let v: i128 = terms
                        .iter()
                        .map(|&(x, r)| w[x as usize] * self.weight_in(r, &w))
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
                    let (lo, hi) = self.funcs.domain(*tag as usize, qp);
                    if q < lo as i128 || q >= hi as i128 {
                        return Err(ProgramError::OutOfRange {
                            node: self.node_name(*node),
                            value: q,
                            real: q as f64 / qp.scale(),
                            min: lo,
                            max: hi,
                            scale: qp.scale_bits,
                        });
                    }
                    let f = self.funcs.funcs[*tag as usize];
                    if !f.defined_at(q as i64) {
                        return Err(ProgramError::OutOfRange {
                            node: self.node_name(*node),
                            value: q,
                            real: q as f64 / qp.scale(),
                            min: 0,
                            max: qp.lookup_end(),
                            scale: qp.scale_bits,
                        });
                    }
                    let y = f.apply(q as i64, qp) as i128;
                    if out == input && y != v {
                        // A range check (`f(w) = w`) that fails: e.g. a negative remainder.
                        return Err(ProgramError::OutOfRange {
                            node: self.node_name(*node),
                            value: v,
                            real: v as f64 / qp.scale(),
                            min: 0,
                            max: qp.lookup_end(),
                            scale: qp.scale_bits,
                        });
                    }
                    w[*out as usize] = y;
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
                        return Err(ProgramError::DivByZero {
                            node: self.node_name(*node),
                            den: d,
                        });
                    }
                    let (q, r) = div_round(n, d, qp.scale_bits);
                    let h = 1i128 << (qp.scale_bits - 1);
                    w[*out as usize] = q;
                    w[*rem as usize] = r - h;
                    w[*slack as usize] = 2 * d - 1 - r - h;
                }
            }
        }
        Ok(w)
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
