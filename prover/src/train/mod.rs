//! Proof of training, first part: SGD on an MLP in fixed point, with every rounding written
//! down, so that a circuit can check one step exactly (`W' = SGD(W, batch)`), and a float
//! trainer beside it to show what the rounding costs.
//!
//! - [`sgd`]: the fixed-point step (the statement a step proof will check) and the float
//!   reference.
//! - [`data`]: the digits training and test sets (`prover/fixtures/digits_*.json`), batches
//!   in dataset order.

pub mod circuit;
pub mod commit;
pub mod data;
pub mod export;
pub mod link;
pub mod run;
pub mod sgd;

pub use data::Digits;
pub use sgd::{FixedMlp, FloatMlp, Hyper, MlpDims, StepTrace};

use thiserror::Error;

/// Errors of training.
#[derive(Debug, Error)]
pub enum TrainError {
    /// A data file.
    #[error("{path}: {msg}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        msg: String,
    },
    /// A setting that cannot be used.
    #[error("{0}")]
    Setting(String),
    /// A training chain that does not verify.
    #[error("INVALID: {0}")]
    Invalid(String),
    /// Keys, proofs and files.
    #[error(transparent)]
    Kit(#[from] trustml_kit::KitError),
}
