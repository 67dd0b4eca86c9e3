//! Baby Jubjub over BN254 for circuits that encrypt to a key or prove a key relation.
//!
//! * [`curve`]: native EIP-2494 curve arithmetic, key generation, key validation.
//! * [`encryption`]: ECDH (`S = r·PK`) + Poseidon keystream encryption (exact construction
//!   documented there).
//! * [`ecc_chip`]: a halo2 chip for fixed-base (`B8`) and variable-base scalar
//!   multiplication.
//!
//! Why ECDH + Poseidon: both are native to BN254 `Fr`, so a relation costs a few hundred
//! rows per scalar multiplication and ~80 rows per encrypted block, and a browser can
//! decrypt with circomlibjs-compatible primitives. The prompt marketplace's delivery circuit
//! (`trustml::market`) is built from these.

pub mod curve;
pub mod ecc_chip;
pub mod encryption;

pub use curve::{keygen, random_scalar, Point};
pub use ecc_chip::{AssignedPoint, EccChip, EccConfig, MulOutput, ROWS_PER_MUL};
pub use encryption::{decode_tokens, decrypt, encode_tokens, encrypt, keystream, Ciphertext};

/// The field used throughout (BN254 scalar field, Baby Jubjub base field).
pub use halo2_proofs::halo2curves::bn256::Fr;

/// Errors of the native API.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// A point is not on the curve or has small order.
    #[error("invalid Baby Jubjub point (off curve or small order)")]
    InvalidPoint,
    /// The ephemeral scalar is zero.
    #[error("ephemeral scalar must be non-zero")]
    ZeroScalar,
}

#[cfg(test)]
mod tests_ecc;
#[cfg(test)]
mod tests_native;
