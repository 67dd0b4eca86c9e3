//! ONNX import for trustml.
//!
//! [`load_onnx`] reads a `.onnx` file (as `torch.onnx.export` writes it) into a [`Graph`]
//! with static shapes, constants and initializers folded, BatchNormalization folded into
//! the preceding Conv/Gemm. [`eval`] runs that graph in f32: the reference the quantized
//! circuit is measured against.

pub mod graph;
pub mod tensor;

pub use graph::{Graph, Node, Op, ValueId, ValueInfo};
pub use tensor::Tensor;
