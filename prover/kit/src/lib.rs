//! The circuit kit: what every trustml circuit (models, the prompt delivery, audits, …)
//! shares, so a new circuit only writes its own constraints and settings.
//!
//! * [`field`] — the one set of `Fr` codecs (hex, decimal, EVM words, signed integers) and
//!   [`FrHex`], their serde form;
//! * [`artifact`] — the header every circuit directory carries (`circuit.json`: kind,
//!   format version, settings digest, k, instance count);
//! * [`keys`] — keygen, key files, proving and verification for any `Circuit` with SHPLONK
//!   and the Keccak EVM transcript;
//! * [`proof_file`] — the proof file format;
//! * [`fs`] — atomic writes;
//! * [`mock`] — the MockProver harness that reports which gate or lookup failed;
//! * [`cells`] — the free-cell detector and forged assignments (a prank hook for any chip);
//! * [`mutation`] — the test-only switch a mutation run uses to drop one gate or lookup;
//! * [`rows`] — the rows a layout uses, measured by laying it out once (`k` from the layout).

pub mod artifact;
pub mod cells;
mod error;
pub mod field;
pub mod fs;
pub mod keys;
pub mod mock;
pub mod mutation;
pub mod progress;
pub mod proof_file;
pub mod rows;

pub use artifact::ArtifactHeader;
pub use error::KitError;
pub use field::{Fr, FrHex};
pub use keys::Keys;
pub use proof_file::{OutputTensor, ProofFile};
