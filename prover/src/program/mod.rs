//! A model lowered to circuit instructions over scalar *wires*.
//!
//! Lowering fixes the integer semantics once: the witness generator ([`Program::eval`])
//! and the circuit layout both read the same [`Instr`] list, so what is proven is exactly
//! what is computed. Shape-only ops (Reshape, Transpose, Concat, Pad) cost nothing: they
//! only permute wires.

use crate::quant::{rescale, QuantParams};
use crate::table::{Func, FuncSet};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;
use trustml_onnx::tensor::{broadcast_index_map, broadcast_shape};
use trustml_onnx::{eval, Graph, Op, Tensor, ValueId};

mod nn;

/// Index of a scalar value in the witness.
pub type Wire = u32;

/// The constant-one wire (biases multiply it).
pub const ONE: Wire = 0;
/// The constant-zero wire (padding).
pub const ZERO: Wire = 1;

/// A weight operand of a dot product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WRef {
    /// A model parameter: `Program::weights[i]` (fixed, private, public or hashed).
    Param(u32),
    /// A structural constant such as an average pool's `1/n`; always public.
    Const(i64),
    /// Another activation (a product of two activations, as in attention).
    Wire(Wire),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Instr {
    /// `out = Σ x·w` (scale `2s` when `x` and `w` have scale `s`).
    Dot { terms: Vec<(Wire, WRef)>, out: Wire },
    /// `out = f(q)` where `q = rescale(input)` if `rescale` else `input`; `q` must lie in
    /// the lookup domain. `node` indexes [`Program::node_names`] for error messages.
    /// A `wide` lookup skips the function table (`out = q`, any size): lowering always
    /// follows it with a coarse range check of `out`, so `q` stays bounded and unique.
    Lookup {
        input: Wire,
        rescale: bool,
        tag: u16,
        out: Wire,
        node: u32,
        wide: bool,
    },
    /// `out = k_ab·a·b + k_a·a + k_b·b + k_c`.
    Arith {
        a: Wire,
        b: Wire,
        k: [i64; 4],
        out: Wire,
    },
    /// `out = round(num · 2^s / den)` for `den > 0`. The wires `rem` and `slack` hold the
    /// remainder and `2·den − 1 − remainder`, each minus `2^(s-1)`, and are proven
    /// non-negative by rescaling `NonNeg` lookups (see `chips::div`).
    DivRound {
        num: Wire,
        den: Wire,
        out: Wire,
        rem: Wire,
        slack: Wire,
        node: u32,
    },
}

/// A lowered model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Program {
    pub qp: QuantParams,
    pub funcs: FuncSet,
    pub num_wires: u32,
    /// Wires of each model input (flat, row-major) and its shape.
    pub inputs: Vec<(Vec<usize>, Vec<Wire>)>,
    /// Wires of each model output and its shape.
    pub outputs: Vec<(Vec<usize>, Vec<Wire>)>,
    /// Quantized model parameters (weights at scale `s`, biases at `2s`).
    pub weights: Vec<i64>,
    pub instrs: Vec<Instr>,
    pub node_names: Vec<String>,
}

#[derive(Debug, Error)]
pub enum ProgramError {
    #[error("node '{node}' ({op}): {msg}")]
    Unsupported {
        node: String,
        op: &'static str,
        msg: String,
    },
    #[error("model input {index}: expected {expected} values (shape {shape:?}), got {got}")]
    InputSize {
        index: usize,
        expected: usize,
        got: usize,
        shape: Vec<usize>,
    },
    #[error("expected {expected} model inputs, got {got}")]
    InputCount { expected: usize, got: usize },
    #[error(
        "layer '{node}': value {value} (≈ {real:.4}) is outside the lookup range [{min}, {max}) \
         at scale 2^{scale}; recompile with --calibrate on inputs like this one, or raise --lookup-bits"
    )]
    OutOfRange {
        node: String,
        value: i128,
        real: f64,
        min: i64,
        max: i64,
        scale: u32,
    },
    #[error("layer '{node}': division by a non-positive sum ({den})")]
    DivByZero { node: String, den: i128 },
}

/// Lowers a float graph to a quantized program.
pub fn lower(graph: &Graph, qp: QuantParams) -> Result<Program, ProgramError> {
    Lowering::new(graph, qp).run()
}

struct Lowering<'g> {
    g: &'g Graph,
    p: Program,
    wires: HashMap<ValueId, Vec<Wire>>,
    consumers: Vec<usize>,
    fused: Vec<bool>,
    /// Wires holding constants (by quantized value), made once each.
    consts: HashMap<i64, Wire>,
}

impl<'g> Lowering<'g> {
    fn new(g: &'g Graph, qp: QuantParams) -> Self {
        let mut consumers = vec![0usize; g.values.len()];
        for n in &g.nodes {
            for &i in &n.inputs {
                consumers[i] += 1;
            }
        }
        for &o in &g.outputs {
            consumers[o] += 1;
        }
        Self {
            g,
            p: Program {
                qp,
                funcs: FuncSet::default(),
                num_wires: 2,
                inputs: vec![],
                outputs: vec![],
                weights: vec![],
                instrs: vec![],
                node_names: g
                    .nodes
                    .iter()
                    .map(|n| n.name.clone())
                    .chain(["model input".to_string()])
                    .collect(),
            },
            wires: HashMap::new(),
            consumers,
            fused: vec![false; g.nodes.len()],
            consts: HashMap::new(),
        }
    }

    fn wire(&mut self) -> Wire {
        self.p.new_wire()
    }

    fn param(&mut self, v: i64) -> WRef {
        self.p.weights.push(v);
        WRef::Param(self.p.weights.len() as u32 - 1)
    }

    fn run(mut self) -> Result<Program, ProgramError> {
        for &v in &self.g.inputs {
            let ws: Vec<Wire> = (0..self.g.size(v)).map(|_| self.wire()).collect();
            // Inputs are range-checked: a private input is a small integer, not any field element.
            for &w in &ws {
                self.coarse_range_check(usize::MAX, w);
            }
            self.p.inputs.push((self.g.shape(v).to_vec(), ws.clone()));
            self.wires.insert(v, ws);
        }
        for idx in 0..self.g.nodes.len() {
            if !self.fused[idx] {
                self.node(idx)?;
            }
        }
        for &o in &self.g.outputs {
            let ws = self.wires[&o].clone();
            self.p.outputs.push((self.g.shape(o).to_vec(), ws));
        }
        Ok(self.p)
    }

    /// Input `i` of a node as a tensor of wires.
    fn tensor(&self, ins: &[Vec<Wire>], shapes: &[Vec<usize>], i: usize) -> Tensor<Wire> {
        Tensor::new(shapes[i].clone(), ins[i].clone())
    }

    fn err(&self, idx: usize, msg: impl Into<String>) -> ProgramError {
        let n = &self.g.nodes[idx];
        ProgramError::Unsupported {
            node: n.name.clone(),
            op: n.op.kind(),
            msg: msg.into(),
        }
    }

    /// The activation that directly and solely consumes node `idx`'s output, if any:
    /// it is fused into the rescale lookup (one lookup instead of two).
    fn fusable_activation(&mut self, idx: usize) -> Option<(usize, Func)> {
        let out = self.g.nodes[idx].output;
        if self.consumers[out] != 1 {
            return None;
        }
        let (j, next) = self
            .g
            .nodes
            .iter()
            .enumerate()
            .skip(idx + 1)
            .find(|(_, n)| n.inputs.contains(&out))?;
        let f = activation(&next.op)?;
        Some((j, f))
    }

    /// Rescales each scale-`2s` wire, applying a fused activation when there is one,
    /// and records the result as the output of `idx` (or of the fused node).
    fn rescale_out(&mut self, idx: usize, wide: Vec<Wire>) {
        let (target, f) = match self.fusable_activation(idx) {
            Some((j, f)) => {
                self.fused[j] = true;
                (j, f)
            }
            None => (idx, Func::Identity),
        };
        let tag = self.p.funcs.tag(f) as u16;
        // A plain rescale (no activation) may produce values far outside the function
        // domain (logits): it skips the table and is range-checked coarsely instead, so
        // the table only has to cover what activations see.
        let plain = f == Func::Identity;
        let outs = wide
            .into_iter()
            .map(|v| {
                let out = self.wire();
                self.p.instrs.push(Instr::Lookup {
                    input: v,
                    rescale: true,
                    tag,
                    out,
                    node: target as u32,
                    wide: plain,
                });
                if plain {
                    self.coarse_range_check(target, out);
                }
                out
            })
            .collect();
        self.wires.insert(self.g.nodes[target].output, outs);
    }

    /// Bounds `w` to `[-2^(B+s-1), 2^(B+s-1))` (roughly): `round(w / 2^s)` must be in the
    /// lookup domain. One lane, and no table wider than the activations need.
    fn coarse_range_check(&mut self, idx: usize, w: Wire) {
        self.p.push_coarse_check(idx as u32, w);
    }

    fn dot(&mut self, terms: Vec<(Wire, WRef)>) -> Wire {
        let out = self.wire();
        self.p.instrs.push(Instr::Dot { terms, out });
        out
    }

    fn arith(&mut self, a: Wire, b: Wire, k: [i64; 4]) -> Wire {
        let out = self.wire();
        self.p.instrs.push(Instr::Arith { a, b, k, out });
        out
    }

    fn lookup(&mut self, idx: usize, input: Wire, f: Func) -> Wire {
        let tag = self.p.funcs.tag(f) as u16;
        let out = self.wire();
        self.p.instrs.push(Instr::Lookup {
            input,
            rescale: false,
            tag,
            out,
            node: idx as u32,
            wide: false,
        });
        out
    }

    /// `max(a, b) = b + relu(a - b)`: one subtraction, one lookup, one addition.
    fn max(&mut self, idx: usize, a: Wire, b: Wire) -> Wire {
        let d = self.arith(a, b, [0, 1, -1, 0]);
        let r = self.lookup(idx, d, Func::Relu);
        self.arith(r, b, [0, 1, 1, 0])
    }

    fn node(&mut self, idx: usize) -> Result<(), ProgramError> {
        let node = &self.g.nodes[idx];
        let ins: Vec<Vec<Wire>> = node.inputs.iter().map(|i| self.wires[i].clone()).collect();
        let in_shapes: Vec<Vec<usize>> = node
            .inputs
            .iter()
            .map(|&i| self.g.shape(i).to_vec())
            .collect();
        let out_shape = self.g.shape(node.output).to_vec();
        let qp = self.p.qp;
        let set = |s: &mut Self, ws: Vec<Wire>| {
            s.wires.insert(s.g.nodes[idx].output, ws);
        };
        match &node.op {
            Op::Dense { weight, bias } => {
                let (n, k) = (weight.shape[0], weight.shape[1]);
                let x = &ins[0];
                let w: Vec<WRef> = weight
                    .data
                    .iter()
                    .map(|&v| self.param(qp.quantize(v)))
                    .collect();
                let b: Option<Vec<WRef>> = bias.as_ref().map(|b| {
                    b.data
                        .iter()
                        .map(|&v| self.param(qp.quantize_double(v)))
                        .collect()
                });
                let rows = x.len() / k;
                let mut wide = Vec::with_capacity(rows * n);
                for m in 0..rows {
                    for j in 0..n {
                        let mut terms: Vec<(Wire, WRef)> =
                            (0..k).map(|i| (x[m * k + i], w[j * k + i])).collect();
                        if let Some(b) = &b {
                            terms.push((ONE, b[j]));
                        }
                        wide.push(self.dot(terms));
                    }
                }
                self.rescale_out(idx, wide);
            }
            Op::Conv {
                weight,
                bias,
                strides,
                pads,
                dilations,
                group,
            } => {
                let wide = self.conv(
                    idx,
                    &ins[0],
                    &in_shapes[0],
                    &out_shape,
                    weight,
                    bias.as_ref(),
                    *strides,
                    *pads,
                    *dilations,
                    *group,
                )?;
                self.rescale_out(idx, wide);
            }
            Op::Add | Op::Sub | Op::Mul => {
                let shape = broadcast_shape(&in_shapes[0], &in_shapes[1])
                    .ok_or_else(|| self.err(idx, "operand shapes do not broadcast"))?;
                let ma = broadcast_index_map(&in_shapes[0], &shape);
                let mb = broadcast_index_map(&in_shapes[1], &shape);
                let k = match node.op {
                    Op::Add => [0, 1, 1, 0],
                    Op::Sub => [0, 1, -1, 0],
                    _ => [1, 0, 0, 0],
                };
                let is_mul = matches!(node.op, Op::Mul);
                let outs: Vec<Wire> = (0..ma.len())
                    .map(|i| self.arith(ins[0][ma[i]], ins[1][mb[i]], k))
                    .collect();
                if is_mul {
                    self.rescale_out(idx, outs);
                } else {
                    set(self, outs);
                }
            }
            Op::AddConst { c } | Op::SubConst { c, .. } | Op::MulConst { c } => {
                // The result may be larger than the activation (an Expand is `+ zeros`).
                if broadcast_shape(&in_shapes[0], &c.shape).as_deref() != Some(&out_shape[..]) {
                    return Err(self.err(
                        idx,
                        "the constant operand does not broadcast to the output shape",
                    ));
                }
                let map = broadcast_index_map(&c.shape, &out_shape);
                let xmap = broadcast_index_map(&in_shapes[0], &out_shape);
                let x: Vec<Wire> = xmap.iter().map(|&i| ins[0][i]).collect();
                let op = node.op.clone();
                let outs: Vec<Wire> = (0..x.len())
                    .map(|i| {
                        let cv = nn::clamp_mask(c.data[map[i]]);
                        let k = match &op {
                            Op::AddConst { .. } => [0, 1, 0, qp.quantize(cv)],
                            Op::SubConst {
                                reversed: false, ..
                            } => [0, 1, 0, -qp.quantize(cv)],
                            Op::SubConst { reversed: true, .. } => [0, -1, 0, qp.quantize(cv)],
                            _ => [0, qp.quantize(cv), 0, 0],
                        };
                        self.arith(x[i], x[i], k)
                    })
                    .collect();
                if matches!(op, Op::MulConst { .. }) {
                    self.rescale_out(idx, outs);
                } else {
                    set(self, outs);
                }
            }
            Op::Relu
            | Op::LeakyRelu { .. }
            | Op::Sigmoid
            | Op::Tanh
            | Op::Sqrt
            | Op::Reciprocal
            | Op::Exp
            | Op::Erf
            | Op::Gelu { .. } => {
                let f = activation(&node.op).expect("activation");
                let outs = ins[0].iter().map(|&x| self.lookup(idx, x, f)).collect();
                set(self, outs);
            }
            Op::MaxPool {
                kernel,
                strides,
                pads,
            } => {
                let outs = self.pool(
                    idx,
                    &ins[0],
                    &in_shapes[0],
                    &out_shape,
                    *kernel,
                    *strides,
                    *pads,
                    |s, win, _| {
                        let mut m = win[0];
                        for &x in &win[1..] {
                            m = s.max(idx, x, m);
                        }
                        m
                    },
                )?;
                set(self, outs);
            }
            Op::AvgPool {
                kernel,
                strides,
                pads,
                count_include_pad,
            } => {
                let full = kernel[0] * kernel[1];
                let incl = *count_include_pad;
                let wide = self.pool(
                    idx,
                    &ins[0],
                    &in_shapes[0],
                    &out_shape,
                    *kernel,
                    *strides,
                    *pads,
                    |s, win, _| {
                        let n = if incl { full } else { win.len() };
                        s.mean(idx, win, n)
                    },
                )?;
                self.rescale_out(idx, wide);
            }
            Op::GlobalAvgPool => {
                let s = &in_shapes[0];
                if s.len() < 3 {
                    return Err(self.err(idx, "expects an N×C×spatial input"));
                }
                let per: usize = s[2..].iter().product();
                let x = ins[0].clone();
                let wide = x.chunks(per).map(|win| self.mean(idx, win, per)).collect();
                self.rescale_out(idx, wide);
            }
            Op::Reshape => set(self, ins[0].clone()),
            // Shape-only ops move wires with the same index code the float evaluator uses.
            Op::Transpose { perm } => {
                let t = shape_op(
                    idx,
                    self,
                    eval::transpose(&self.tensor(&ins, &in_shapes, 0), perm),
                )?;
                set(self, t);
            }
            Op::Concat { axis } => {
                let ts: Vec<Tensor<Wire>> = (0..ins.len())
                    .map(|i| self.tensor(&ins, &in_shapes, i))
                    .collect();
                let t = shape_op(
                    idx,
                    self,
                    eval::concat(&ts.iter().collect::<Vec<_>>(), *axis),
                )?;
                set(self, t);
            }
            Op::Pad { pads, value } => {
                let fill = if *value == 0.0 {
                    ZERO
                } else {
                    let q = qp.quantize(*value);
                    self.arith(ZERO, ZERO, [0, 0, 0, q])
                };
                let t = shape_op(
                    idx,
                    self,
                    eval::pad(&self.tensor(&ins, &in_shapes, 0), pads, fill),
                )?;
                set(self, t);
            }
            Op::Softmax { axis } => {
                let outs = self.softmax(idx, &ins[0], &in_shapes[0], *axis)?;
                set(self, outs);
            }
            _ => return self.lower_nn(idx, &ins, &in_shapes, &out_shape),
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        idx: usize,
        x: &[Wire],
        xs: &[usize],
        ys: &[usize],
        weight: &Tensor<f32>,
        bias: Option<&Tensor<f32>>,
        st: [usize; 2],
        pads: [usize; 4],
        dil: [usize; 2],
        group: usize,
    ) -> Result<Vec<Wire>, ProgramError> {
        if xs.len() != 4 || ys.len() != 4 || weight.shape.len() != 4 {
            return Err(self.err(idx, "only 2-D (NCHW) convolutions are supported"));
        }
        let qp = self.p.qp;
        let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
        let (o, oh, ow) = (ys[1], ys[2], ys[3]);
        let (cg, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3]);
        let og = o / group;
        if cg * group != c {
            return Err(self.err(idx, "channel count does not match the group count"));
        }
        let wr: Vec<WRef> = weight
            .data
            .iter()
            .map(|&v| self.param(qp.quantize(v)))
            .collect();
        let br: Option<Vec<WRef>> = bias.map(|b| {
            b.data
                .iter()
                .map(|&v| self.param(qp.quantize_double(v)))
                .collect()
        });
        let mut wide = Vec::with_capacity(n * o * oh * ow);
        for b in 0..n {
            for oc in 0..o {
                let g = oc / og;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut terms = Vec::with_capacity(cg * kh * kw + 1);
                        for ic in 0..cg {
                            let ch = g * cg + ic;
                            for ky in 0..kh {
                                let iy = (oy * st[0] + ky * dil[0]) as isize - pads[0] as isize;
                                if iy < 0 || iy >= h as isize {
                                    continue;
                                }
                                for kx in 0..kw {
                                    let ix = (ox * st[1] + kx * dil[1]) as isize - pads[1] as isize;
                                    if ix < 0 || ix >= w as isize {
                                        continue;
                                    }
                                    let xi = ((b * c + ch) * h + iy as usize) * w + ix as usize;
                                    let wi = ((oc * cg + ic) * kh + ky) * kw + kx;
                                    terms.push((x[xi], wr[wi]));
                                }
                            }
                        }
                        if let Some(br) = &br {
                            terms.push((ONE, br[oc]));
                        }
                        wide.push(self.dot(terms));
                    }
                }
            }
        }
        Ok(wide)
    }

    /// Calls `reduce` on every pooling window (padding cells excluded).
    #[allow(clippy::too_many_arguments)]
    fn pool(
        &mut self,
        idx: usize,
        x: &[Wire],
        xs: &[usize],
        ys: &[usize],
        k: [usize; 2],
        st: [usize; 2],
        pads: [usize; 4],
        mut reduce: impl FnMut(&mut Self, &[Wire], usize) -> Wire,
    ) -> Result<Vec<Wire>, ProgramError> {
        if xs.len() != 4 || ys.len() != 4 {
            return Err(self.err(idx, "only 2-D (NCHW) pooling is supported"));
        }
        let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
        let (oh, ow) = (ys[2], ys[3]);
        let mut outs = Vec::with_capacity(n * c * oh * ow);
        for plane in 0..n * c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut win = Vec::with_capacity(k[0] * k[1]);
                    for ky in 0..k[0] {
                        let iy = (oy * st[0] + ky) as isize - pads[0] as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        for kx in 0..k[1] {
                            let ix = (ox * st[1] + kx) as isize - pads[1] as isize;
                            if ix >= 0 && ix < w as isize {
                                win.push(x[(plane * h + iy as usize) * w + ix as usize]);
                            }
                        }
                    }
                    if win.is_empty() {
                        return Err(self.err(idx, "a pooling window lies entirely in the padding"));
                    }
                    outs.push(reduce(self, &win, plane));
                }
            }
        }
        Ok(outs)
    }

    /// Softmax along `axis`: `e_i = exp(x_i - max)` by lookup, then `round(2^s·e_i / Σe)`
    /// by a constrained division.
    fn softmax(
        &mut self,
        idx: usize,
        x: &[Wire],
        xs: &[usize],
        axis: usize,
    ) -> Result<Vec<Wire>, ProgramError> {
        if axis >= xs.len() {
            return Err(self.err(idx, "axis out of range"));
        }
        let len = xs[axis];
        let inner: usize = xs[axis + 1..].iter().product();
        let outer: usize = xs[..axis].iter().product();
        let mut outs = vec![ZERO; x.len()];
        for o in 0..outer {
            for i in 0..inner {
                let at: Vec<usize> = (0..len).map(|j| (o * len + j) * inner + i).collect();
                let mut m = x[at[0]];
                for &p in &at[1..] {
                    m = self.max(idx, x[p], m);
                }
                let exps: Vec<Wire> = at
                    .iter()
                    .map(|&p| {
                        let d = self.arith(x[p], m, [0, 1, -1, 0]);
                        self.lookup(idx, d, Func::ExpNeg)
                    })
                    .collect();
                let sum = self.dot(exps.iter().map(|&e| (e, WRef::Const(1))).collect());
                for (&p, &e) in at.iter().zip(&exps) {
                    let out = self.p.push_div_round(idx as u32, e, sum);
                    outs[p] = out;
                }
            }
        }
        Ok(outs)
    }
}

fn activation(op: &Op) -> Option<Func> {
    Some(match op {
        Op::Relu => Func::Relu,
        Op::LeakyRelu { alpha } => Func::LeakyRelu { alpha: *alpha },
        Op::Sigmoid => Func::Sigmoid,
        Op::Tanh => Func::Tanh,
        Op::Sqrt => Func::Sqrt,
        Op::Reciprocal => Func::Reciprocal,
        Op::Exp => Func::Exp,
        Op::Erf => Func::Erf,
        Op::Gelu { tanh_approx } => Func::Gelu {
            tanh_approx: *tanh_approx,
        },
        _ => return None,
    })
}

/// The wires of a shape-only op's result, or an error naming the node.
fn shape_op(
    idx: usize,
    l: &Lowering<'_>,
    r: Result<Tensor<Wire>, String>,
) -> Result<Vec<Wire>, ProgramError> {
    r.map(|t| t.data).map_err(|e| l.err(idx, e))
}

impl Program {
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

    /// Bounds `w` to `[-2^(B+s-1), 2^(B+s-1))` (roughly): `round(w / 2^s)` must be in the
    /// lookup domain. One lane, and no table wider than the activations need.
    pub(crate) fn push_coarse_check(&mut self, node: u32, w: Wire) {
        let out = self.new_wire();
        self.instrs.push(Instr::Lookup {
            input: w,
            rescale: true,
            tag: 0,
            out,
            node,
            wide: false,
        });
    }

    /// `round(num · 2^s / den)` with everything that makes it unique: the remainder and the
    /// slack (stored minus `2^(s-1)`, see `chips::div`) shown non-negative by rescaling
    /// `NonNeg` lookups, and the quotient coarsely range-checked.
    pub(crate) fn push_div_round(&mut self, node: u32, num: Wire, den: Wire) -> Wire {
        let (out, rem, slack) = (self.new_wire(), self.new_wire(), self.new_wire());
        self.instrs.push(Instr::DivRound {
            num,
            den,
            out,
            rem,
            slack,
            node,
        });
        let tag = self.funcs.tag(Func::NonNeg) as u16;
        for w in [rem, slack] {
            let scratch = self.new_wire();
            self.instrs.push(Instr::Lookup {
                input: w,
                rescale: true,
                tag,
                out: scratch,
                node,
                wide: false,
            });
        }
        self.push_coarse_check(node, out);
        out
    }

    /// Whether some dot product multiplies two activations.
    pub fn has_activation_products(&self) -> bool {
        self.instrs.iter().any(|i| matches!(i, Instr::Dot { terms, .. } if terms.iter().any(|t| matches!(t.1, WRef::Wire(_)))))
    }

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
