//! Import and evaluation errors. Every message says where (node name and op type, or
//! the value) and, where there is one, what to do about it.

use thiserror::Error;

/// Everything that can go wrong loading or evaluating an ONNX model.
#[derive(Debug, Error)]
pub enum OnnxError {
    /// The ONNX file could not be read from disk.
    #[error("cannot read ONNX file {path}")]
    Io {
        /// Path of the file, as given.
        path: String,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The bytes do not decode as a protobuf `ModelProto`; holds the decoder's message.
    #[error("malformed ONNX file (not a valid ModelProto, or truncated): {0}")]
    Decode(String),
    /// A problem with the model as a whole (missing graph, inputs, outputs...).
    #[error("invalid model: {0}")]
    Model(String),
    /// A problem at one node: `node` is `"name" (OpType)`.
    #[error("node {node}: {msg}")]
    Node {
        /// The node, as `"name" (OpType)`.
        node: String,
        /// What is wrong with it.
        msg: String,
    },
    /// An op type (or op configuration) the importer cannot map to a provable [`crate::Op`].
    #[error("unsupported op {op_type} at node \"{name}\": {hint}")]
    Unsupported {
        /// ONNX name of the node.
        name: String,
        /// ONNX op type of the node.
        op_type: String,
        /// What is supported instead, or how to re-export the model.
        hint: String,
    },
    /// A graph input that cannot be used (not float32, missing or invalid static shape).
    #[error("model input \"{input}\": {msg}")]
    Input {
        /// ONNX name of the input.
        input: String,
        /// What is wrong with it.
        msg: String,
    },
    /// A failure while evaluating the graph in f32 (bad inputs, inconsistent shapes).
    #[error("evaluation: {0}")]
    Eval(String),
}
