//! Error type for SRS handling.

use std::path::PathBuf;

/// Everything that can go wrong while generating, reading, writing or importing an SRS.
///
/// Messages say what is wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum SrsError {
    /// An I/O operation on `path` failed.
    #[error("I/O error on {path} (check that the path exists and is readable/writable)")]
    Io {
        /// File the operation was about.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The file is not a trustml SRS file (bad magic bytes).
    #[error(
        "{path} is not a trustml SRS file (magic bytes {found} instead of {expected}); \
         pass a file written by `Srs::write`, or use `import_ptau` for snarkjs .ptau files"
    )]
    BadMagic {
        /// File that was read.
        path: PathBuf,
        /// Hex of the bytes that were found.
        found: String,
        /// Hex of the expected bytes.
        expected: String,
    },

    /// The file was written with an unsupported format version.
    #[error(
        "{path} uses SRS format version {found}, but this build only reads version {supported}; \
         regenerate or re-import the SRS with this version of trustml"
    )]
    UnsupportedVersion {
        /// File that was read.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },

    /// The file is shorter or longer than its header says it must be.
    #[error(
        "{path} is {found} bytes long but its header (k = {k}) requires exactly {expected} bytes; \
         the file is truncated or corrupted, regenerate or re-import it"
    )]
    BadLength {
        /// File that was read.
        path: PathBuf,
        /// Log2 of the number of points.
        k: u32,
        /// Expected length.
        expected: u64,
        /// Actual length.
        found: u64,
    },

    /// Structural corruption inside a params file.
    #[error("{path} is corrupted: {what}; regenerate or re-import the SRS")]
    Corrupted {
        /// File that was read.
        path: PathBuf,
        /// What was found to be wrong.
        what: String,
    },

    /// A `k` that this crate cannot handle.
    #[error("k = {k} is out of range: {why}")]
    BadK {
        /// Requested k.
        k: u32,
        /// Why it is not allowed.
        why: String,
    },

    /// More points were requested than the SRS has.
    #[error(
        "the SRS has k = {available} (2^{available} points) but k = {requested} was requested; \
         use a larger SRS (generate one with a larger k or import a bigger .ptau file)"
    )]
    NotEnoughPoints {
        /// k of the SRS at hand.
        available: u32,
        /// k that was asked for.
        requested: u32,
    },

    /// The `.ptau` file is malformed or not supported.
    #[error("{path} is not a usable .ptau file: {what}")]
    BadPtau {
        /// File that was read.
        path: PathBuf,
        /// What is wrong and what to do.
        what: String,
    },

    /// The `.ptau` file has fewer powers than needed.
    #[error(
        "{path} has power {power} (2^{power} powers of tau) but k = {k} was requested; \
         download a .ptau file with power >= {k} (e.g. powersOfTau28_hez_final_{k:02}.ptau)"
    )]
    PtauTooSmall {
        /// File that was read.
        path: PathBuf,
        /// Power of the ptau file.
        power: u32,
        /// Requested k.
        k: u32,
    },

    /// A point in a `.ptau` file is invalid or the powers are inconsistent.
    #[error(
        "{path}: {what}; the file is corrupted or was not produced by a BN254 powers-of-tau \
         ceremony, re-download it and compare its checksum"
    )]
    InvalidPtauPoint {
        /// File that was read.
        path: PathBuf,
        /// What check failed.
        what: String,
    },
}

impl SrsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SrsError::Io {
            path: path.into(),
            source,
        }
    }
}
