//! ONNX import for trustml.
//!
//! [`load_onnx`] reads a `.onnx` file (as `torch.onnx.export` writes it) into a [`Graph`]
//! with static shapes, constants and initializers folded, BatchNormalization folded into
//! the preceding Conv/Gemm. [`eval`] runs that graph in f32: the reference the quantized
//! circuit is measured against.

pub mod diff;
pub mod error;
pub mod eval;
mod fold;
pub mod graph;
pub mod greedy;
pub mod import;
pub mod proto;
pub mod tensor;
pub mod unary;

pub use error::OnnxError;
pub use eval::{eval, outputs};
pub use graph::{Graph, Node, Op, ValueId, ValueInfo};
pub use import::{load_onnx, load_onnx_bytes};
pub use tensor::Tensor;
pub use unary::Unary;
