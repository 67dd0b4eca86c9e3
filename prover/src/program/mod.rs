//! A model lowered to circuit instructions over scalar *wires*.
//!
//! Lowering fixes the integer semantics once: the witness generator ([`Program::eval`])
//! and the circuit layout both read the same [`Instr`] list, so what is proven is exactly
//! what is computed. Shape-only ops (Reshape, Transpose, Concat, Pad) cost nothing: they
//! only permute wires.

use crate::quant::QuantParams;
use crate::table::{Func, FuncSet};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;
use trustml_onnx::tensor::{broadcast_index_map, broadcast_shape};
use trustml_onnx::{eval, Graph, Op, Tensor, ValueId};

mod builder;
mod nn;
mod witness;

pub use builder::Builder;
pub use nn::clamp_mask;
pub use witness::div_round;

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

/// One circuit instruction: computes its `out` wire(s) from earlier wires.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Instr {
    /// `out = Σ x·w` (scale `2s` when `x` and `w` have scale `s`).
    Dot {
        /// The `(activation wire, weight operand)` pairs to multiply and sum.
        terms: Vec<(Wire, WRef)>,
        /// Wire receiving the sum.
        out: Wire,
    },
    /// `out = f(q)` where `q = rescale(input)` if `rescale` else `input`; `q` must lie in
    /// the lookup domain. `node` indexes [`Program::node_names`] for error messages.
    /// A `wide` lookup skips the function table (`out = q`, any size): lowering always
    /// follows it with a coarse range check of `out`, so `q` stays bounded and unique.
    Lookup {
        /// Wire holding the value to look up.
        input: Wire,
        /// Whether `q` is `input` rescaled (divided by `2^s`, rounded) rather than `input`.
        rescale: bool,
        /// Index of the function in [`Program::funcs`] (`0` is `Identity`).
        tag: u16,
        /// Wire receiving `f(q)`.
        out: Wire,
        /// Index into [`Program::node_names`] of the node this lookup belongs to.
        node: u32,
        /// Whether the function table is skipped (`out = q`, any size).
        wide: bool,
    },
    /// `out = k_ab·a·b + k_a·a + k_b·b + k_c`.
    Arith {
        /// First operand wire.
        a: Wire,
        /// Second operand wire.
        b: Wire,
        /// Coefficients `[k_ab, k_a, k_b, k_c]`.
        k: [i64; 4],
        /// Wire receiving the result.
        out: Wire,
    },
    /// `out = round(num · 2^s / den)` for `den > 0`. The wires `rem` and `slack` hold the
    /// remainder and `2·den − 1 − remainder`, each minus `2^(s-1)`, and are proven
    /// non-negative by rescaling `NonNeg` lookups (see `chips::div`).
    DivRound {
        /// Numerator wire.
        num: Wire,
        /// Denominator wire (must be positive).
        den: Wire,
        /// Wire receiving the rounded quotient.
        out: Wire,
        /// Wire holding the remainder minus `2^(s-1)`.
        rem: Wire,
        /// Wire holding `2·den − 1 − remainder`, minus `2^(s-1)`.
        slack: Wire,
        /// Index into [`Program::node_names`] of the node this division belongs to.
        node: u32,
    },
}

/// A lowered model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Program {
    /// Quantization parameters (scale bits and lookup domain width).
    pub qp: QuantParams,
    /// Lookup functions used by the program, indexed by [`Instr::Lookup`] tag.
    pub funcs: FuncSet,
    /// Total number of wires, including the constant [`ONE`] and [`ZERO`] wires.
    pub num_wires: u32,
    /// Wires of each model input (flat, row-major) and its shape.
    pub inputs: Vec<(Vec<usize>, Vec<Wire>)>,
    /// Wires of each model output and its shape.
    pub outputs: Vec<(Vec<usize>, Vec<Wire>)>,
    /// Quantized model parameters (weights at scale `s`, biases at `2s`).
    pub weights: Vec<i64>,
    /// The instructions, in evaluation order.
    pub instrs: Vec<Instr>,
    /// Graph node names for error messages, followed by a final `"model input"` entry.
    pub node_names: Vec<String>,
}

/// An error lowering a graph or evaluating a program.
#[derive(Debug, Error)]
pub enum ProgramError {
    /// A graph node that cannot be lowered.
    #[error("node '{node}' ({op}): {msg}")]
    Unsupported {
        /// Name of the node.
        node: String,
        /// Kind of the node's operator.
        op: &'static str,
        /// Why it is unsupported.
        msg: String,
    },
    /// A model input with the wrong number of values.
    #[error("model input {index}: expected {expected} values (shape {shape:?}), got {got}")]
    InputSize {
        /// Position of the input among the model inputs.
        index: usize,
        /// Number of values the input's shape requires.
        expected: usize,
        /// Number of values given.
        got: usize,
        /// Shape of the input.
        shape: Vec<usize>,
    },
    /// The wrong number of model inputs.
    #[error("expected {expected} model inputs, got {got}")]
    InputCount {
        /// Number of inputs the model takes.
        expected: usize,
        /// Number of inputs given.
        got: usize,
    },
    /// A lookup input outside its function's domain.
    #[error(
        "layer '{node}': value {value} (≈ {real:.4}) is outside the lookup range [{min}, {max}) \
         at scale 2^{scale}; recompile with --calibrate on inputs like this one, or raise --lookup-bits"
    )]
    OutOfRange {
        /// Name of the node whose lookup failed.
        node: String,
        /// The offending value, at scale `2^scale`.
        value: i128,
        /// `value` as a real number (`value / 2^scale`).
        real: f64,
        /// Inclusive lower bound of the allowed range.
        min: i64,
        /// Exclusive upper bound of the allowed range.
        max: i64,
        /// Fractional bits of `value`.
        scale: u32,
    },
    /// An embedding lookup of a value that is not a token id.
    #[error("layer '{node}': {real} is not a token id of the embedding (an integer from 0 to {vocab} exclusive)")]
    NotAToken {
        /// Name of the embedding node.
        node: String,
        /// The looked-up value.
        real: f64,
        /// The vocabulary size.
        vocab: usize,
    },
    /// A division whose denominator is not positive.
    #[error("layer '{node}': division by a non-positive sum ({den})")]
    DivByZero {
        /// Name of the node performing the division.
        node: String,
        /// The denominator value.
        den: i128,
    },
}

/// Lowers a float graph to a quantized program.
///
/// Embedding tables become one-hot rows and a dense layer of parameters; see
/// [`lower_with`] to put public (fixed) tables in the lookup table instead.
pub fn lower(graph: &Graph, qp: QuantParams) -> Result<Program, ProgramError> {
    Ok(lower_traced(graph, qp)?.0)
}

/// [`lower`]; with `public_tables` (weights `fixed`, so part of the verifying key anyway)
/// an embedding is one lookup of `(id, value)` per output value, in a table built from the
/// weights, instead of `3·V` instructions and a `V`-term dot product per value.
pub fn lower_with(
    graph: &Graph,
    qp: QuantParams,
    public_tables: bool,
) -> Result<Program, ProgramError> {
    Ok(lower_traced_with(graph, qp, public_tables)?.0)
}

/// [`lower`], with the wires that hold each graph value (at scale `s`; values fused into
/// their consumer have none): calibration compares them with the float model, layer by layer.
pub fn lower_traced(
    graph: &Graph,
    qp: QuantParams,
) -> Result<(Program, HashMap<ValueId, Vec<Wire>>), ProgramError> {
    lower_traced_with(graph, qp, false)
}

/// [`lower_traced`] with [`lower_with`]'s `public_tables`.
pub fn lower_traced_with(
    graph: &Graph,
    qp: QuantParams,
    public_tables: bool,
) -> Result<(Program, HashMap<ValueId, Vec<Wire>>), ProgramError> {
    let mut l = Lowering::new(graph, qp);
    l.public_tables = public_tables;
    l.run()
}

struct Lowering<'g> {
    g: &'g Graph,
    b: Builder,
    wires: HashMap<ValueId, Vec<Wire>>,
    consumers: Vec<usize>,
    fused: Vec<bool>,
    /// Wires holding constants (by quantized value), made once each.
    consts: HashMap<i64, Wire>,
    /// Whether embedding tables may be public lookup tables (see [`lower_with`]).
    public_tables: bool,
    /// Constant wires standing for a −∞ mask sentinel (`Where(mask, x, −1e9)`): a softmax
    /// gives them exactly 0, as the float model does, whatever the other scores.
    masked: HashMap<i64, Wire>,
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
            b: Builder::new(
                qp,
                g.nodes
                    .iter()
                    .map(|n| n.name.clone())
                    .chain(["model input".to_string()])
                    .collect(),
            ),
            wires: HashMap::new(),
            consumers,
            fused: vec![false; g.nodes.len()],
            consts: HashMap::new(),
            public_tables: false,
            masked: Default::default(),
        }
    }

    fn run(mut self) -> Result<(Program, HashMap<ValueId, Vec<Wire>>), ProgramError> {
        for &v in &self.g.inputs {
            // Inputs are range-checked: a private input is a small integer, not any field element.
            let ws = self.b.input(usize::MAX, self.g.shape(v));
            self.wires.insert(v, ws);
        }
        for idx in 0..self.g.nodes.len() {
            if !self.fused[idx] {
                self.node(idx)?;
            }
        }
        for &o in &self.g.outputs {
            let ws = self.wires[&o].clone();
            self.b.output(self.g.shape(o).to_vec(), ws);
        }
        Ok((self.b.finish(), self.wires))
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
        // A plain rescale (no activation) may produce values far outside the function
        // domain (logits): the builder makes it a wide lane with a coarse range check, so
        // the table only has to cover what activations see.
        let outs = wide
            .into_iter()
            .map(|v| self.b.rescale(target, v, f))
            .collect();
        self.wires.insert(self.g.nodes[target].output, outs);
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
        let qp = self.b.qp();
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
                    .map(|&v| self.b.param(qp.quantize(v)))
                    .collect();
                let b: Option<Vec<WRef>> = bias.as_ref().map(|b| {
                    b.data
                        .iter()
                        .map(|&v| self.b.param(qp.quantize_double(v)))
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
                        wide.push(self.b.dot(terms));
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
            Op::Embedding { table } => {
                let wide = self.embedding(idx, &ins[0], table);
                if self.public_tables {
                    set(self, wide);
                } else {
                    self.rescale_out(idx, wide);
                }
            }
            Op::RequireEqual => {
                // a = b: both differences non-negative (exact; no witness otherwise).
                for (&a, &b) in ins[0].iter().zip(&ins[1]) {
                    let d = self.b.arith(a, b, [0, 1, -1, 0]);
                    self.b.lookup(idx, d, Func::NonNeg);
                    let e = self.b.arith(a, b, [0, -1, 1, 0]);
                    self.b.lookup(idx, e, Func::NonNeg);
                }
                set(self, ins[0].clone());
            }
            Op::RequireOne => {
                let one = qp.quantize(1.0);
                for &x in &ins[0] {
                    let above = self.b.arith(x, x, [0, 1, 0, -one]);
                    self.b.lookup(idx, above, Func::NonNeg);
                    let below = self.b.arith(x, x, [0, -1, 0, one]);
                    self.b.lookup(idx, below, Func::NonNeg);
                }
                set(self, ins[0].clone());
            }
            Op::Extreme { max } => {
                let shape = broadcast_shape(&in_shapes[0], &in_shapes[1])
                    .ok_or_else(|| self.err(idx, "operand shapes do not broadcast"))?;
                let ma = broadcast_index_map(&in_shapes[0], &shape);
                let mb = broadcast_index_map(&in_shapes[1], &shape);
                let max = *max;
                let outs: Vec<Wire> = (0..ma.len())
                    .map(|i| {
                        let (a, b) = (ins[0][ma[i]], ins[1][mb[i]]);
                        let d = self.b.arith(a, b, [0, 1, -1, 0]);
                        let r = self.b.lookup(idx, d, Func::Relu);
                        if max {
                            self.b.arith(b, r, [0, 1, 1, 0])
                        } else {
                            self.b.arith(a, r, [0, 1, -1, 0])
                        }
                    })
                    .collect();
                set(self, outs);
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
                    .map(|i| self.b.arith(ins[0][ma[i]], ins[1][mb[i]], k))
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
                        self.b.arith(x[i], x[i], k)
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
            | Op::Unary(_)
            | Op::Gelu { .. } => {
                let f = activation(&node.op).expect("activation");
                let outs = ins[0].iter().map(|&x| self.b.lookup(idx, x, f)).collect();
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
                            m = s.b.max(idx, x, m);
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
                    self.b.arith(ZERO, ZERO, [0, 0, 0, q])
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
        let qp = self.b.qp();
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
            .map(|&v| self.b.param(qp.quantize(v)))
            .collect();
        let br: Option<Vec<WRef>> = bias.map(|b| {
            b.data
                .iter()
                .map(|&v| self.b.param(qp.quantize_double(v)))
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
                        wide.push(self.b.dot(terms));
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
                let all: Vec<usize> = (0..len).map(|j| (o * len + j) * inner + i).collect();
                // Masked scores get probability 0 (their clamped stand-in is not −∞).
                let at: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&p| !self.masked.values().any(|&w| w == x[p]))
                    .collect();
                let at = if at.is_empty() { all } else { at };
                let mut m = x[at[0]];
                for &p in &at[1..] {
                    m = self.b.max(idx, x[p], m);
                }
                let exps: Vec<Wire> = at
                    .iter()
                    .map(|&p| {
                        let d = self.b.arith(x[p], m, [0, 1, -1, 0]);
                        self.b.lookup(idx, d, Func::ExpNeg)
                    })
                    .collect();
                let sum = self
                    .b
                    .dot(exps.iter().map(|&e| (e, WRef::Const(1))).collect());
                for (&p, &e) in at.iter().zip(&exps) {
                    let out = self.b.div_round(idx, e, sum);
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
        Op::Unary(u) => Func::Unary(*u),
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
