//! The kit's error type.

use std::path::Path;

/// What can go wrong with keys, proofs and artifact directories.
///
/// Messages describe the problem; front ends add what to run. A wrapped cause is a
/// [`std::error::Error::source`], never repeated in the message.
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    /// The SRS file could not be read or trimmed.
    #[error(transparent)]
    Srs(#[from] trustml_srs::SrsError),
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not the key it should be.
    #[error("{path} is not a trustml {what} file")]
    NotAKey {
        /// The file.
        path: String,
        /// "verifying key" or "proving key".
        what: &'static str,
    },
    /// A key was made for other settings than the directory's.
    #[error(
        "{path} was made for other circuit settings (digest {found}, the directory has {expected})"
    )]
    DigestMismatch {
        /// The key file.
        path: String,
        /// The digest in the key's header.
        found: String,
        /// The directory's digest.
        expected: String,
    },
    /// The SRS does not have the size the circuit needs.
    #[error("the SRS holds 2^{have} points but this circuit needs k = {need}; generate or import one with k ≥ {need}")]
    SrsTooSmall {
        /// The SRS's k.
        have: u32,
        /// The circuit's k.
        need: u32,
    },
    /// Key generation failed (a circuit that does not fit in 2^k rows, typically).
    #[error("key generation failed: {0:?}")]
    Keygen(halo2_proofs::plonk::Error),
    /// Proving failed: the witness does not satisfy the circuit.
    #[error("proving failed: {0:?} (the witness does not satisfy the circuit; a bug if trustml computed it)")]
    Prove(halo2_proofs::plonk::Error),
    /// A proof file is malformed.
    #[error("{path} is not a valid proof file: {msg}")]
    BadProofFile {
        /// The file.
        path: String,
        /// What is wrong.
        msg: String,
    },
    /// A proof was made for another circuit.
    #[error("the proof was made for other circuit settings (digest {found}, this circuit has {expected})")]
    ProofForOtherCircuit {
        /// The proof's digest.
        found: String,
        /// The circuit's digest.
        expected: String,
    },
    /// A proof has the wrong number of public inputs.
    #[error("expected {expected} public inputs, the proof file has {got}")]
    InstanceCount {
        /// The circuit's count.
        expected: usize,
        /// The proof file's count.
        got: usize,
    },
    /// A directory's `circuit.json` is missing or malformed.
    #[error("{path} is not a trustml circuit header: {msg}")]
    BadHeader {
        /// The file.
        path: String,
        /// What is wrong.
        msg: String,
    },
}

impl KitError {
    /// Maps an I/O error on `path`.
    pub fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
