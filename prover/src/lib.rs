//! trustml: zero-knowledge proofs that a neural network was run correctly.
//!
//! The pipeline: [`trustml_onnx`] imports a model → [`program::lower`] quantizes it into
//! circuit instructions → [`circuit::ModelCircuit`] lays them out on halo2-KZG chips →
//! [`proof`] makes and checks SHPLONK proofs with the EVM (Keccak) transcript, through the
//! circuit kit ([`kit`]). [`market`] holds the prompt marketplace's proofs and files;
//! [`audit`] the accuracy audits' dataset commitment and sampling;
//! [`artifact`] opens any circuit directory by its header.

pub mod chips;
pub mod program;
pub mod quant;
pub mod table;

pub use trustml_kit as kit;
pub use trustml_onnx as onnx;
pub mod artifact;
pub mod audit;
pub mod circuit;
pub mod data;
pub mod img;
pub mod inspect;
pub mod market;
pub mod model;
pub mod packing;
pub mod proof;
pub mod text;
pub mod train;
pub mod zkml;
