//! Native Poseidon stream encryption of a prompt to a buyer's Baby Jubjub key.
//!
//! # Construction (exact)
//!
//! ```text
//! inputs : prompt m_0..m_{n-1} ∈ Fr, buyer key PK_B, nonce ∈ Fr, ephemeral r ∈ [1, l)
//! R        = r·B8                                   (sent in the clear)
//! S        = r·PK_B  (= sk_B·R)                     (ECDH shared point)
//! nonce    = the order's tag (the marketplace's orderTag: keccak(chainid, market, id) mod r)
//! ks_i     = trustml_poseidon::hash([S.x, S.y, nonce, i])     for i = 0..n-1 (i as Fr)
//! c_i      = m_i + ks_i   (mod p)
//! decrypt  : S = sk_B·R, m_i = c_i − ks_i
//! ```
//!
//! `hash` is the sponge documented in `trustml-poseidon` (circomlib permutation t = 3; four
//! inputs padded to `[S.x, S.y, nonce, i, 1, 0]`, three permutations, output lane 0). A browser
//! recomputes it with the raw permutation (e.g. poseidon-lite / circomlibjs `poseidon` with an
//! `initState`) following that sponge rule; Baby Jubjub arithmetic is circomlibjs `babyjub`.
//!
//! # Why this is sound
//!
//! The keystream is a PRF (Poseidon) of the shared secret keyed per `(nonce, i)`: distinct
//! orders (distinct tags, also across deployments and chains) and distinct blocks never reuse a pad even if `r` were reused, and without `S`
//! (CDH on Baby Jubjub) the pads are pseudorandom, so `c` hides `m`. Field addition keeps the
//! in-circuit relation to one linear constraint per block. It is not authenticated encryption:
//! integrity comes from the delivery proof, which binds `c` to the committed prompt.

use halo2_proofs::halo2curves::ff::Field;

use crate::curve::Point;
use crate::{Error, Fr};

/// An encrypted prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    /// Ephemeral public point `R = r·B8`.
    pub r_point: Point,
    /// `c_i = m_i + ks_i`.
    pub blocks: Vec<Fr>,
}

/// Keystream element `ks_i = hash([S.x, S.y, nonce, i])`.
pub fn keystream(shared: &Point, nonce: Fr, i: usize) -> Fr {
    trustml_poseidon::hash(&[shared.x, shared.y, nonce, Fr::from(i as u64)])
}

/// Encodes prompt tokens (`< 2^16`) as field elements.
pub fn encode_tokens(tokens: &[u16]) -> Vec<Fr> {
    tokens.iter().map(|&t| Fr::from(u64::from(t))).collect()
}

/// Decodes field elements back into tokens; `None` if some element is not `< 2^16`
/// (e.g. decryption with a wrong key or order id).
pub fn decode_tokens(blocks: &[Fr]) -> Option<Vec<u16>> {
    blocks
        .iter()
        .map(|b| {
            let repr = halo2_proofs::halo2curves::ff::PrimeField::to_repr(b);
            let bytes = repr.as_ref();
            bytes[2..]
                .iter()
                .all(|&x| x == 0)
                .then(|| u16::from_le_bytes([bytes[0], bytes[1]]))
        })
        .collect()
}

/// Encrypts `prompt` to `pk_b` under `nonce` (the order's tag) with ephemeral scalar `r` (use
/// [`crate::random_scalar`]; never reuse `r` across prompts of the same order).
pub fn encrypt(prompt: &[Fr], r: &Fr, pk_b: &Point, nonce: Fr) -> Result<Ciphertext, Error> {
    if !pk_b.is_valid_public_key() {
        return Err(Error::InvalidPoint);
    }
    if bool::from(r.is_zero()) {
        return Err(Error::ZeroScalar);
    }
    let shared = pk_b.mul(r);
    Ok(Ciphertext {
        r_point: Point::generator().mul(r),
        blocks: prompt
            .iter()
            .enumerate()
            .map(|(i, m)| *m + keystream(&shared, nonce, i))
            .collect(),
    })
}

/// Decrypts with the buyer's secret key. A wrong key or nonce yields pseudorandom
/// field elements (there is no authentication tag; see [`decode_tokens`]).
pub fn decrypt(ct: &Ciphertext, sk_b: &Fr, nonce: Fr) -> Result<Vec<Fr>, Error> {
    if !ct.r_point.is_valid_public_key() {
        return Err(Error::InvalidPoint);
    }
    let shared = ct.r_point.mul(sk_b);
    Ok(ct
        .blocks
        .iter()
        .enumerate()
        .map(|(i, c)| *c - keystream(&shared, nonce, i))
        .collect())
}
