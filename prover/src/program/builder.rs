//! The one place a [`Program`] is built: the ONNX lowering and the zkml importer both emit
//! instructions through [`Builder`], so the rules that make a program sound are enforced
//! here once, whatever the frontend:
//!
//! * every model input is coarsely range-checked ([`Builder::input`]): a private input is a
//!   small integer, not any field element;
//! * a rescale without an activation skips the function table (a *wide* lane, so logits
//!   need no wide table) and its output is always bounded by a coarse check
//!   ([`Builder::rescale`], [`Builder::wide_rescale_bounded`]), so the rounding stays unique;
//! * a rounding division proves its remainder and slack non-negative and bounds its
//!   quotient ([`Builder::div_round`]);
//! * every function lookup goes through the program's [`FuncSet`], whose per-function
//!   domains calibration sizes.
//!
//! A frontend never pushes an [`Instr`] itself.

use super::{Instr, Program, WRef, Wire};
use crate::quant::QuantParams;
use crate::table::{EmbedTable, Func, FuncSet};

/// Emits the instructions of one program (see the module docs).
#[derive(Debug)]
pub struct Builder {
    p: Program,
}

impl Builder {
    /// An empty program at `qp`; `node_names[i]` names node `i` in errors (the last entry
    /// conventionally names the model input).
    pub fn new(qp: QuantParams, node_names: Vec<String>) -> Self {
        Self {
            p: Program {
                qp,
                funcs: FuncSet::default(),
                num_wires: 2,
                inputs: vec![],
                outputs: vec![],
                weights: vec![],
                instrs: vec![],
                node_names,
            },
        }
    }

    /// The fixed-point format.
    pub fn qp(&self) -> QuantParams {
        self.p.qp
    }

    /// A fresh wire.
    pub fn wire(&mut self) -> Wire {
        self.p.new_wire()
    }

    /// A new model parameter with quantized value `v`.
    pub fn param(&mut self, v: i64) -> WRef {
        self.p.weights.push(v);
        WRef::Param(self.p.weights.len() as u32 - 1)
    }

    /// A model input of `shape`: its wires, each coarsely range-checked (errors name `node`).
    pub fn input(&mut self, node: usize, shape: &[usize]) -> Vec<Wire> {
        let n: usize = shape.iter().product();
        let ws: Vec<Wire> = (0..n).map(|_| self.wire()).collect();
        for &w in &ws {
            self.coarse_check(node, w);
        }
        self.p.inputs.push((shape.to_vec(), ws.clone()));
        ws
    }

    /// Declares a model output.
    pub fn output(&mut self, shape: Vec<usize>, wires: Vec<Wire>) {
        self.p.outputs.push((shape, wires));
    }

    /// `Σ x·w`.
    pub fn dot(&mut self, terms: Vec<(Wire, WRef)>) -> Wire {
        let out = self.wire();
        self.p.instrs.push(Instr::Dot { terms, out });
        out
    }

    /// `k_ab·a·b + k_a·a + k_b·b + k_c`.
    pub fn arith(&mut self, a: Wire, b: Wire, k: [i64; 4]) -> Wire {
        let out = self.wire();
        self.p.instrs.push(Instr::Arith { a, b, k, out });
        out
    }

    fn push_lookup(
        &mut self,
        node: usize,
        input: Wire,
        rescale: bool,
        f: Func,
        wide: bool,
    ) -> Wire {
        let tag = self.p.funcs.tag(f) as u16;
        let out = self.wire();
        self.p.instrs.push(Instr::Lookup {
            input,
            rescale,
            tag,
            out,
            node: node as u32,
            wide,
        });
        out
    }

    /// `f(input)` by the function table (no rescale); `input` must lie in `f`'s domain.
    pub fn lookup(&mut self, node: usize, input: Wire, f: Func) -> Wire {
        self.push_lookup(node, input, false, f, false)
    }

    /// `f(round(v / 2^s))` for a scale-`2s` wire. A plain rescale (`f` = identity) may be far
    /// outside every function domain (logits): it is a wide lane, and its output is
    /// coarsely range-checked.
    pub fn rescale(&mut self, node: usize, v: Wire, f: Func) -> Wire {
        if f == Func::Identity {
            return self.wide_rescale_bounded(node, v, 1);
        }
        self.push_lookup(node, v, true, f, false)
    }

    /// `round(v / 2^s)` without the function table, for a wire whose result has scale
    /// `k·s` and an activation-sized real value: the result is bounded by
    /// [`Builder::coarse_chain`] (`k − 1` more wide rescales, then a coarse check).
    pub fn wide_rescale_bounded(&mut self, node: usize, v: Wire, k: usize) -> Wire {
        let out = self.push_lookup(node, v, true, Func::Identity, true);
        self.coarse_chain(node, out, k);
        out
    }

    /// Bounds `w` to about `[-2^(B+s-1), 2^(B+s-1))`: `round(w / 2^s)` must lie in the lookup
    /// domain. One lane, and no table wider than the activations need.
    pub fn coarse_check(&mut self, node: usize, w: Wire) {
        self.push_lookup(node, w, true, Func::Identity, false);
    }

    /// Bounds a wire of scale `k·s` whose real value is activation-sized: `k − 1` wide
    /// rescales bring it to scale `s` and a coarse check bounds that; by induction every
    /// link is bounded, so no lookup domain has to span `k·s`-scale integers.
    pub fn coarse_chain(&mut self, node: usize, w: Wire, k: usize) {
        let mut cur = w;
        for _ in 1..k {
            cur = self.push_lookup(node, cur, true, Func::Identity, true);
        }
        self.coarse_check(node, cur);
    }

    /// `max(a, b) = b + relu(a − b)`: one subtraction, one lookup, one addition.
    pub fn max(&mut self, node: usize, a: Wire, b: Wire) -> Wire {
        let d = self.arith(a, b, [0, 1, -1, 0]);
        let r = self.lookup(node, d, Func::Relu);
        self.arith(r, b, [0, 1, 1, 0])
    }

    /// `round(num · 2^s / den)` with everything that makes it unique: the remainder and the
    /// slack (stored minus `2^(s-1)`, see `chips::div`) shown non-negative by rescaling
    /// `NonNeg` lookups, and the quotient coarsely range-checked.
    pub fn div_round(&mut self, node: usize, num: Wire, den: Wire) -> Wire {
        let (out, rem, slack) = (self.wire(), self.wire(), self.wire());
        self.p.instrs.push(Instr::DivRound {
            num,
            den,
            out,
            rem,
            slack,
            node: node as u32,
        });
        for w in [rem, slack] {
            self.push_lookup(node, w, true, Func::NonNeg, false);
        }
        self.coarse_check(node, out);
        out
    }

    /// The program built so far.
    pub fn program(&self) -> &Program {
        &self.p
    }

    /// Adds an embedding table to the program's function set; returns its index.
    pub fn embed_table(&mut self, t: EmbedTable) -> u16 {
        self.p.funcs.add_table(t)
    }

    /// The finished program.
    pub fn finish(self) -> Program {
        self.p
    }
}
