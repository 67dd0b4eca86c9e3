//! KZG structured reference strings (SRS) for trustml.
//!
//! * [`generate_insecure`] makes a development SRS from a locally drawn τ (INSECURE, see
//!   [`INSECURE_WARNING`]).
//! * [`import_ptau`] imports a snarkjs / Perpetual Powers of Tau `.ptau` file (BN254), which
//!   is what production setups should use.
//! * [`Srs::write`] / [`Srs::read`] store an SRS in a versioned file (see [`format`]) that
//!   records where the SRS came from ([`Provenance`]).

pub mod error;
pub mod format;
mod insecure;
mod ptau;

pub use error::SrsError;
pub use halo2_proofs::poly::kzg::commitment::ParamsKZG;
pub use halo2curves::bn256::Bn256;
pub use insecure::{generate_insecure, INSECURE_WARNING};
#[doc(hidden)]
pub use ptau::write_ptau_for_tests;
pub use ptau::{import_ptau, PTAU_MAX_POWER};

use halo2_proofs::poly::commitment::{Params, ParamsProver};
use std::fmt;
use std::path::Path;

/// Largest supported k: BN254's scalar field has 2-adicity 28.
pub const MAX_K: u32 = 28;

/// Where an SRS came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Generated locally by [`generate_insecure`]. INSECURE: τ was known to the generator.
    InsecureDev {
        /// The RNG seed when one was given (anyone with it can recompute τ);
        /// `None` when τ came from OS entropy.
        seed_hint: Option<u64>,
    },
    /// Imported from a powers-of-tau ceremony file with [`import_ptau`].
    Ceremony {
        /// File name (without directories) of the imported `.ptau` file.
        source_file: String,
        /// SHA3-256 of the whole imported file (compare with `openssl dgst -sha3-256 FILE`).
        source_sha3_256: [u8; 32],
        /// `power` of the ptau file: it held 2^power powers of τ.
        power: u32,
    },
}

impl Provenance {
    /// True for [`Provenance::InsecureDev`]: τ was known to whoever generated the SRS.
    pub fn is_insecure(&self) -> bool {
        matches!(self, Provenance::InsecureDev { .. })
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provenance::InsecureDev { seed_hint: Some(s) } => {
                write!(f, "INSECURE development setup (seed {s})")
            }
            Provenance::InsecureDev { seed_hint: None } => {
                write!(f, "INSECURE development setup (OS entropy)")
            }
            Provenance::Ceremony {
                source_file,
                source_sha3_256,
                power,
            } => write!(
                f,
                "ceremony file {source_file} (power {power}, sha3-256 {})",
                hex::encode(source_sha3_256)
            ),
        }
    }
}

/// What a verifier uses of an SRS: k, `g[0]`, `g2` and `τ·g2` (the KZG opening check), with
/// the provenance. Its `params` hold no other powers of τ: they verify proofs and generate
/// Solidity verifiers, but cannot commit, prove or make keys (use [`Srs`]).
#[derive(Clone, Debug)]
pub struct VerifierSrs {
    /// k, `g = [g[0]]`, no Lagrange basis, `g2`, `s_g2`.
    pub params: ParamsKZG<Bn256>,
    /// Where the parameters came from.
    pub provenance: Provenance,
}

impl VerifierSrs {
    /// Reads the verifier's part of an SRS file written by [`Srs::write`]: the header (its
    /// length checked against the file's), `g[0]`, `g2` and `s_g2`; the other points are
    /// skipped, not read.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, SrsError> {
        format::read_verifier_file(path.as_ref())
    }

    /// True when the SRS came from [`generate_insecure`].
    pub fn is_insecure(&self) -> bool {
        self.provenance.is_insecure()
    }
}

/// KZG parameters over BN254 together with their provenance.
#[derive(Clone, Debug)]
pub struct Srs {
    /// halo2 KZG parameters (2^k points in G1 plus their Lagrange basis, G2 generator, τ·G2).
    pub params: ParamsKZG<Bn256>,
    /// Where the parameters came from.
    pub provenance: Provenance,
}

impl Srs {
    /// Reads an SRS file written by [`Srs::write`]. All points are checked to be on the curve.
    pub fn read(path: impl AsRef<Path>) -> Result<Srs, SrsError> {
        format::read_file(path.as_ref())
    }

    /// Writes the SRS atomically: to a temporary file in the same directory, then renamed
    /// over `path`, so an existing file is never left half-overwritten.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), SrsError> {
        format::write_file(self, path.as_ref())
    }

    /// True when the SRS came from [`generate_insecure`] and must not be used in production.
    pub fn is_insecure(&self) -> bool {
        self.provenance.is_insecure()
    }

    /// log2 of the number of G1 points.
    pub fn k(&self) -> u32 {
        self.params.k()
    }

    /// A copy restricted to the first 2^k powers (Lagrange basis recomputed), same provenance.
    pub fn downsized(&self, k: u32) -> Result<Srs, SrsError> {
        let available = self.k();
        if k > available {
            return Err(SrsError::NotEnoughPoints {
                available,
                requested: k,
            });
        }
        if k == available {
            return Ok(self.clone());
        }
        let g = self.params.get_g()[..1usize << k].to_vec();
        let params = insecure::params_from_parts(k, g, None, self.params.g2(), self.params.s_g2());
        Ok(Srs {
            params,
            provenance: self.provenance.clone(),
        })
    }
}
