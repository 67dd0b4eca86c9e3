//! trustml: zero-knowledge proofs that a neural network was run correctly.
//!
//! The pipeline: [`trustml_onnx`] imports a model → [`program::lower`] quantizes it into
//! circuit instructions → [`circuit::ModelCircuit`] lays them out on halo2-KZG chips →
//! [`prove`] makes and checks SHPLONK proofs with the EVM (Keccak) transcript.

pub mod chips;
pub mod program;
pub mod quant;
pub mod table;

pub use trustml_onnx as onnx;
pub mod circuit;
pub mod circuit_dir;
pub mod data;
pub mod inspect;
pub mod model;
pub mod prompt;
pub mod proof;
pub mod zkml;
