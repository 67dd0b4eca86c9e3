//! Cryptography of the prompt marketplace's delivery proof.
//!
//! A seller delivers a prompt `m` (tokens `< 2^16`, one per field element) to a buyer with
//! Baby Jubjub key `PK_B` for order `order_id`, and proves on-chain that the published
//! ciphertext decrypts, under the buyer's key, to the prompt committed earlier as
//! `C = trustml_poseidon::commit(m, salt)`:
//!
//! * [`babyjubjub`]: native EIP-2494 curve arithmetic, key generation, key validation.
//! * [`encryption`]: ECDH (`S = r·PK_B`) + Poseidon keystream encryption (exact construction
//!   documented there).
//! * [`ecc_chip`]: halo2 chip for fixed-base (`B8`) and variable-base scalar multiplication.
//! * [`delivery`]: the `DeliveryCircuit` tying it all together.
//!
//! Why ECDH + Poseidon: both are native to BN254 `Fr`, so the whole relation costs a few
//! hundred rows per scalar multiplication and ~80 rows per block, and a browser can decrypt
//! with circomlibjs-compatible primitives.

pub mod babyjubjub;
pub mod delivery;
pub mod ecc_chip;
pub mod encryption;

pub use babyjubjub::{keygen, random_scalar, Point};
pub use delivery::{DeliveryCircuit, DeliveryConfig};
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
mod tests_circuit;
#[cfg(test)]
mod tests_native;
