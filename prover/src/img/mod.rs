//! zk-img: proofs that an image was edited from a committed original by exactly the stated
//! edit — crop, bilinear resize, contrast, brightness, white balance, grayscale, RGB ↔
//! YCbCr, 3×3 convolution — with the original's pixels hidden.
//!
//! - [`format`]: images, and their commitment `H` (salted Poseidon over bands of bytes
//!   packed 30 per field element, size inside).
//! - [`edit`]: the edits, their exact integer semantics (a reference written out per edit)
//!   and the rows the circuit proves.
//! - [`chip`]: the grid (bytes, range checks, words) and the affine chip.
//! - [`circuit`]: one edit on one size: public `[H_in, H_out, params…]`, or on one strip of
//!   bands: public `[D_in…, D_out…, params…]`.
//! - [`bands`]: band proofs of images too large for one proof (HD), and what they show.
//! - [`dir`]: edit circuit directories (`trustml img setup`), proofs, verification and
//!   chains of edits (the output commitment of one proof is the input of the next).

pub mod bands;
pub mod chip;
pub mod circuit;
pub mod dir;
pub mod edit;
pub mod format;
#[cfg(test)]
mod tests;

pub use circuit::{ImgCircuit, ImgShape, ImgWitness};
pub use dir::{
    ChainFile, ChainReport, ChainStep, EditProof, EditProofFile, ImgDir, SetupOptions, Verified,
};
pub use edit::{Edit, Plan};
pub use format::{Commitment, Dims, Image};

use thiserror::Error;

/// Errors of image edits.
#[derive(Debug, Error)]
pub enum ImgError {
    /// A size that cannot be used.
    #[error("{0}")]
    Size(String),
    /// An edit or parameter that cannot be used.
    #[error("{0}")]
    Edit(String),
    /// An image or secret file.
    #[error("{path}: {msg}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        msg: String,
    },
    /// Keys, headers, proof files.
    #[error(transparent)]
    Kit(#[from] trustml_kit::KitError),
    /// Two proofs of a chain do not link.
    #[error("{0}")]
    Chain(String),
}
