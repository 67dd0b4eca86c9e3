//! Import and evaluation errors. Every message says where (node name and op type, or
//! the value) and, where there is one, what to do about it.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum OnnxError {
    #[error("cannot read ONNX file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("malformed ONNX file (not a valid ModelProto, or truncated): {0}")]
    Decode(String),
    /// A problem with the model as a whole (missing graph, inputs, outputs...).
    #[error("invalid model: {0}")]
    Model(String),
    /// A problem at one node: `node` is `"name" (OpType)`.
    #[error("node {node}: {msg}")]
    Node { node: String, msg: String },
    #[error("unsupported op {op_type} at node \"{name}\": {hint}")]
    Unsupported {
        name: String,
        op_type: String,
        hint: String,
    },
    #[error("model input \"{input}\": {msg}")]
    Input { input: String, msg: String },
    #[error("evaluation: {0}")]
    Eval(String),
}
