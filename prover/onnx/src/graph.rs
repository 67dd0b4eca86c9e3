//! The internal model graph: static shapes, constants folded, one output per node.
//!
//! This is the contract between ONNX import and everything downstream (quantization,
//! circuit layout). Every op here is something the circuit knows how to prove; anything
//! else is rejected at import with an error that names the node.

use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Index of a value (an activation tensor) in [`Graph::values`].
pub type ValueId = usize;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ValueInfo {
    /// The ONNX name of the tensor.
    pub name: String,
    /// Static shape (symbolic batch dimensions are fixed to 1 at import).
    pub shape: Vec<usize>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Node {
    /// ONNX node name (or `op_type#index` when the file gives none), for error messages.
    pub name: String,
    pub op: Op,
    /// Activation inputs (never constants: those are folded into `op`).
    pub inputs: Vec<ValueId>,
    pub output: ValueId,
}

/// Operations over activations. Constants (weights, biases, constant operands) live inside
/// the op; all tensors are f32 as in the file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Op {
    /// `y[.., n] = Σ_k x[.., k] · weight[n, k] + bias[n]` over the last axis of `x`
    /// (Gemm, and MatMul with a constant right operand). `weight` is `[N, K]`.
    Dense {
        weight: Tensor<f32>,
        bias: Option<Tensor<f32>>,
    },
    /// 2-D convolution, NCHW. `weight` is `[O, I/group, kh, kw]`; `pads` are
    /// `[top, left, bottom, right]`.
    Conv {
        weight: Tensor<f32>,
        bias: Option<Tensor<f32>>,
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
        group: usize,
    },
    /// Elementwise with numpy broadcasting between two activations.
    Add,
    Sub,
    Mul,
    /// `x + c`, `x - c` (or `c - x` when `reversed`), `x * c` with a broadcast constant.
    AddConst {
        c: Tensor<f32>,
    },
    SubConst {
        c: Tensor<f32>,
        reversed: bool,
    },
    MulConst {
        c: Tensor<f32>,
    },
    Relu,
    LeakyRelu {
        alpha: f32,
    },
    Sigmoid,
    Tanh,
    /// NCHW pooling; `pads` are `[top, left, bottom, right]`.
    MaxPool {
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
    },
    AvgPool {
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
        count_include_pad: bool,
    },
    GlobalAvgPool,
    /// Same elements, the output value's shape (Reshape, Flatten, Squeeze, Identity...).
    Reshape,
    Transpose {
        perm: Vec<usize>,
    },
    Concat {
        axis: usize,
    },
    /// Constant-value padding; `pads` as in ONNX: all begins then all ends, one per axis.
    Pad {
        pads: Vec<usize>,
        value: f32,
    },
    /// Softmax along `axis`.
    Softmax {
        axis: usize,
    },
    /// Batched matrix product of two activations: `[.., M, K] × [.., K, N]` with numpy
    /// broadcasting of the batch dimensions (attention's Q·Kᵀ and ·V).
    MatMul,
    /// Mean or sum over `axes` (sorted, deduplicated); `keepdims` as in ONNX.
    ReduceMean {
        axes: Vec<usize>,
        keepdims: bool,
    },
    ReduceSum {
        axes: Vec<usize>,
        keepdims: bool,
    },
    /// Elementwise functions of one activation.
    Sqrt,
    /// `1 / x`.
    Reciprocal,
    Exp,
    Erf,
    /// `x · Φ(x)` (exact, erf form) or the tanh approximation.
    Gelu {
        tanh_approx: bool,
    },
    /// `a / b` of two activations (broadcast).
    Div,
    /// Layer normalization over the trailing axes from `axis`:
    /// `(x − mean) / sqrt(var + epsilon) · scale + bias`, `scale`/`bias` of the normalized shape.
    LayerNorm {
        axis: usize,
        epsilon: f32,
        scale: Tensor<f32>,
        bias: Option<Tensor<f32>>,
    },
    /// Strided slice with constant bounds; one entry per sliced axis.
    Slice {
        axes: Vec<usize>,
        starts: Vec<usize>,
        ends: Vec<usize>,
        steps: Vec<usize>,
    },
    /// Gather along `axis` with constant (non-negative, in-range) indices; the indices'
    /// shape replaces that axis.
    Gather {
        axis: usize,
        indices: Tensor<i64>,
    },
    /// `where(cond, a, b)` with a constant boolean `cond` and activations or constants:
    /// `a_const` / `b_const` give a constant operand (then it is not an input of the node;
    /// inputs are the non-constant operands in order a, b).
    Where {
        cond: Tensor<bool>,
        a_const: Option<Tensor<f32>>,
        b_const: Option<Tensor<f32>>,
    },
    /// Nearest-neighbour resize of NCHW spatial axes by integer factors.
    ResizeNearest {
        scales: [usize; 2],
    },
    /// 2-D transposed convolution, NCHW; `weight` is `[I, O/group, kh, kw]` as in ONNX;
    /// `pads` `[top, left, bottom, right]`, `output_padding` `[h, w]`.
    ConvTranspose {
        weight: Tensor<f32>,
        bias: Option<Tensor<f32>>,
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
        output_padding: [usize; 2],
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
            Op::Mul => "Mul",
            Op::AddConst { .. } => "AddConst",
            Op::SubConst { .. } => "SubConst",
            Op::MulConst { .. } => "MulConst",
            Op::Relu => "Relu",
            Op::LeakyRelu { .. } => "LeakyRelu",
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
            Op::Where { .. } => "Where",
            Op::ResizeNearest { .. } => "ResizeNearest",
            Op::ConvTranspose { .. } => "ConvTranspose",
        }
    }
}

/// A model: values, and nodes in topological order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Graph {
    pub values: Vec<ValueInfo>,
    /// Model inputs, in the order of the ONNX graph inputs (initializers excluded).
    pub inputs: Vec<ValueId>,
    /// Model outputs, in ONNX order. An output may also be a model input.
    pub outputs: Vec<ValueId>,
    pub nodes: Vec<Node>,
}

impl Graph {
    pub fn shape(&self, v: ValueId) -> &[usize] {
        &self.values[v].shape
    }

    pub fn size(&self, v: ValueId) -> usize {
        self.values[v].shape.iter().product()
    }
}
