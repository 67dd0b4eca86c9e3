//! The internal model graph: static shapes, constants folded, one output per node.
//!
//! This is the contract between ONNX import and everything downstream (quantization,
//! circuit layout). Every op here is something the circuit knows how to prove; anything
//! else is rejected at import with an error that names the node.

use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Index of a value (an activation tensor) in [`Graph::values`].
pub type ValueId = usize;

/// A value of the graph: an activation tensor with its name and static shape.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValueInfo {
    /// The ONNX name of the tensor.
    pub name: String,
    /// Static shape (symbolic batch dimensions are fixed to 1 at import).
    pub shape: Vec<usize>,
}

/// One operation of the graph, producing exactly one output value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Node {
    /// ONNX node name (or `op_type#index` when the file gives none), for error messages.
    pub name: String,
    /// What the node computes, constants included.
    pub op: Op,
    /// Activation inputs (never constants: those are folded into `op`).
    pub inputs: Vec<ValueId>,
    /// The value this node produces.
    pub output: ValueId,
}

/// Operations over activations. Constants (weights, biases, constant operands) live inside
/// the op; all tensors are f32 as in the file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Op {
    /// `y[.., n] = Σ_k x[.., k] · weight[n, k] + bias[n]` over the last axis of `x`
    /// (Gemm, and MatMul with a constant right operand). `weight` is `[N, K]`.
    Dense {
        /// Weight matrix, `[N, K]`.
        weight: Tensor<f32>,
        /// Optional bias, `[N]`.
        bias: Option<Tensor<f32>>,
    },
    /// 2-D convolution, NCHW. `weight` is `[O, I/group, kh, kw]`; `pads` are
    /// `[top, left, bottom, right]`.
    Conv {
        /// Kernel, `[O, I/group, kh, kw]`.
        weight: Tensor<f32>,
        /// Optional bias, `[O]`.
        bias: Option<Tensor<f32>>,
        /// Strides `[h, w]`.
        strides: [usize; 2],
        /// Zero padding `[top, left, bottom, right]`.
        pads: [usize; 4],
        /// Dilations `[h, w]`.
        dilations: [usize; 2],
        /// Number of channel groups (1 for an ordinary convolution).
        group: usize,
    },
    /// Elementwise with numpy broadcasting between two activations.
    Add,
    /// `a - b`, broadcast.
    Sub,
    /// `a * b`, broadcast.
    Mul,
    /// The identity, whose every value must be exactly 1: in a circuit two `NonNeg` lookups
    /// (of `x − 1` and `1 − x`) prove it — a one-hot row sums to 1, so a token id lies in
    /// the vocabulary.
    RequireOne,
    /// `a`, which must equal `b` (same shape): in a circuit two `NonNeg` lookups (of `a − b`
    /// and `b − a`). The float evaluator passes `a` through; see [`crate::greedy`], the
    /// text-listing statement that emits it (domain `ai.trustml`, op `RequireEqual`).
    RequireEqual,
    /// `max(a, b)` (or `min`), broadcast: exact in floats; in a circuit `b + relu(a − b)`
    /// (`a − relu(a − b)`), one Relu lookup.
    Extreme {
        /// `max` when true, `min` when false.
        max: bool,
    },
    /// `x + c`, `x - c` (or `c - x` when `reversed`), `x * c` with a broadcast constant.
    AddConst {
        /// The constant operand, broadcast against the input.
        c: Tensor<f32>,
    },
    /// `x - c`, or `c - x` when `reversed`.
    SubConst {
        /// The constant operand, broadcast against the input.
        c: Tensor<f32>,
        /// Compute `c - x` instead of `x - c`.
        reversed: bool,
    },
    /// `x * c` with a broadcast constant.
    MulConst {
        /// The constant operand, broadcast against the input.
        c: Tensor<f32>,
    },
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x >= 0`, else `alpha · x`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// Logistic function `1 / (1 + e^-x)`.
    Sigmoid,
    /// An element-wise function of one real ([`crate::Unary`]: Abs, Elu, HardSwish, Log, …).
    Unary(crate::Unary),
    /// Hyperbolic tangent.
    Tanh,
    /// NCHW pooling; `pads` are `[top, left, bottom, right]`.
    MaxPool {
        /// Window size `[h, w]`.
        kernel: [usize; 2],
        /// Strides `[h, w]`.
        strides: [usize; 2],
        /// Padding `[top, left, bottom, right]`.
        pads: [usize; 4],
    },
    /// NCHW average pooling; `pads` are `[top, left, bottom, right]`.
    AvgPool {
        /// Window size `[h, w]`.
        kernel: [usize; 2],
        /// Strides `[h, w]`.
        strides: [usize; 2],
        /// Padding `[top, left, bottom, right]`.
        pads: [usize; 4],
        /// Whether padded positions count in the divisor (ONNX `count_include_pad`).
        count_include_pad: bool,
    },
    /// Mean over the spatial axes of NCHW (all axes after the second), keeping them as size 1.
    GlobalAvgPool,
    /// Same elements, the output value's shape (Reshape, Flatten, Squeeze, Identity...).
    Reshape,
    /// Axis permutation, as ONNX `Transpose`.
    Transpose {
        /// Output axis `i` is input axis `perm[i]`.
        perm: Vec<usize>,
    },
    /// Concatenation of the inputs, in order, along `axis`.
    Concat {
        /// The axis to concatenate on (non-negative).
        axis: usize,
    },
    /// Constant-value padding; `pads` as in ONNX: all begins then all ends, one per axis.
    Pad {
        /// Pad amounts: all begins, then all ends (length `2 · rank`).
        pads: Vec<usize>,
        /// The fill value.
        value: f32,
    },
    /// Softmax along `axis`.
    Softmax {
        /// The softmax axis (non-negative).
        axis: usize,
    },
    /// Batched matrix product of two activations: `[.., M, K] × [.., K, N]` with numpy
    /// broadcasting of the batch dimensions (attention's Q·Kᵀ and ·V).
    MatMul,
    /// Mean or sum over `axes` (sorted, deduplicated); `keepdims` as in ONNX.
    ReduceMean {
        /// Axes to reduce (sorted, deduplicated).
        axes: Vec<usize>,
        /// Keep reduced axes as size 1.
        keepdims: bool,
    },
    /// Sum over `axes` (sorted, deduplicated); `keepdims` as in ONNX.
    ReduceSum {
        /// Axes to reduce (sorted, deduplicated).
        axes: Vec<usize>,
        /// Keep reduced axes as size 1.
        keepdims: bool,
    },
    /// Elementwise functions of one activation.
    Sqrt,
    /// `1 / x`.
    Reciprocal,
    /// `e^x`.
    Exp,
    /// The error function `erf(x)`.
    Erf,
    /// `x · Φ(x)` (exact, erf form) or the tanh approximation.
    Gelu {
        /// Use the tanh approximation instead of the exact erf form.
        tanh_approx: bool,
    },
    /// `a / b` of two activations (broadcast).
    Div,
    /// Layer normalization over the trailing axes from `axis`:
    /// `(x − mean) / sqrt(var + epsilon) · scale + bias`, `scale`/`bias` of the normalized shape.
    LayerNorm {
        /// First normalized axis; normalization runs over axes `axis..rank`.
        axis: usize,
        /// Added to the variance before the square root.
        epsilon: f32,
        /// Per-element scale (γ), of the normalized shape.
        scale: Tensor<f32>,
        /// Optional per-element bias (β), of the normalized shape.
        bias: Option<Tensor<f32>>,
    },
    /// Strided slice with constant bounds; one entry per sliced axis.
    Slice {
        /// The sliced axes.
        axes: Vec<usize>,
        /// Start index per axis (`start <= end <= dim`).
        starts: Vec<usize>,
        /// End index (exclusive) per axis.
        ends: Vec<usize>,
        /// Step per axis (`>= 1`).
        steps: Vec<usize>,
    },
    /// Gather along `axis` with constant (non-negative, in-range) indices; the indices'
    /// shape replaces that axis.
    Gather {
        /// The axis to gather on.
        axis: usize,
        /// Indices into `axis`, each in `0..dim`.
        indices: Tensor<i64>,
    },
    /// An embedding: row `id` of a constant `[V, …]` table for each computed token id (an
    /// integer in `0..V`; anything else has no witness). The output shape is the ids'
    /// shape followed by the row's.
    Embedding {
        /// The table, `[V, …]`.
        table: Tensor<f32>,
    },
    /// `where(cond, a, b)` with a constant boolean `cond` and activations or constants:
    /// `a_const` / `b_const` give a constant operand (then it is not an input of the node;
    /// inputs are the non-constant operands in order a, b).
    Where {
        /// The constant condition: where true take `a`, else `b`.
        cond: Tensor<bool>,
        /// Constant `a` operand, if `a` is not an activation input.
        a_const: Option<Tensor<f32>>,
        /// Constant `b` operand, if `b` is not an activation input.
        b_const: Option<Tensor<f32>>,
    },
    /// Nearest-neighbour resize of NCHW spatial axes by integer factors.
    ResizeNearest {
        /// Integer upscale factors `[h, w]` (`>= 1`).
        scales: [usize; 2],
    },
    /// 2-D transposed convolution, NCHW; `weight` is `[I, O/group, kh, kw]` as in ONNX;
    /// `pads` `[top, left, bottom, right]`, `output_padding` `[h, w]`.
    ConvTranspose {
        /// Kernel, `[I, O/group, kh, kw]`.
        weight: Tensor<f32>,
        /// Optional bias, `[O]`.
        bias: Option<Tensor<f32>>,
        /// Strides `[h, w]`.
        strides: [usize; 2],
        /// Padding removed from the output, `[top, left, bottom, right]`.
        pads: [usize; 4],
        /// Dilations `[h, w]`.
        dilations: [usize; 2],
        /// Extra size added at the end of each output spatial axis, `[h, w]`.
        output_padding: [usize; 2],
        /// Number of channel groups.
        group: usize,
    },
}

impl Op {
    /// A short name for messages and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Dense { .. } => "Dense",
            Op::Conv { .. } => "Conv",
            Op::Add => "Add",
            Op::Sub => "Sub",
            Op::RequireOne => "RequireOne",
            Op::RequireEqual => "RequireEqual",
            Op::Extreme { max: true } => "Max",
            Op::Extreme { max: false } => "Min",
            Op::Mul => "Mul",
            Op::AddConst { .. } => "AddConst",
            Op::SubConst { .. } => "SubConst",
            Op::MulConst { .. } => "MulConst",
            Op::Relu => "Relu",
            Op::LeakyRelu { .. } => "LeakyRelu",
            Op::Unary(_) => "Unary",
            Op::Sigmoid => "Sigmoid",
            Op::Tanh => "Tanh",
            Op::MaxPool { .. } => "MaxPool",
            Op::AvgPool { .. } => "AvgPool",
            Op::GlobalAvgPool => "GlobalAvgPool",
            Op::Reshape => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Concat { .. } => "Concat",
            Op::Pad { .. } => "Pad",
            Op::Softmax { .. } => "Softmax",
            Op::MatMul => "MatMul",
            Op::ReduceMean { .. } => "ReduceMean",
            Op::ReduceSum { .. } => "ReduceSum",
            Op::Sqrt => "Sqrt",
            Op::Reciprocal => "Reciprocal",
            Op::Exp => "Exp",
            Op::Erf => "Erf",
            Op::Gelu { .. } => "Gelu",
            Op::Div => "Div",
            Op::LayerNorm { .. } => "LayerNorm",
            Op::Slice { .. } => "Slice",
            Op::Gather { .. } => "Gather",
            Op::Embedding { .. } => "Embedding",
            Op::Where { .. } => "Where",
            Op::ResizeNearest { .. } => "ResizeNearest",
            Op::ConvTranspose { .. } => "ConvTranspose",
        }
    }
}

/// A model: values, and nodes in topological order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Graph {
    /// Every value of the graph; a [`ValueId`] indexes this.
    pub values: Vec<ValueInfo>,
    /// Model inputs, in the order of the ONNX graph inputs (initializers excluded).
    pub inputs: Vec<ValueId>,
    /// Model outputs, in ONNX order. An output may also be a model input.
    pub outputs: Vec<ValueId>,
    /// Nodes in topological order.
    pub nodes: Vec<Node>,
}

impl Graph {
    /// Static shape of value `v`.
    pub fn shape(&self, v: ValueId) -> &[usize] {
        &self.values[v].shape
    }

    /// Number of elements of value `v`.
    pub fn size(&self, v: ValueId) -> usize {
        self.values[v].shape.iter().product()
    }
}
