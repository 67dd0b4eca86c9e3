//! Native (out-of-circuit) Poseidon: the permutation, the sponge `hash`, and salted commitments.
//!
//! See the crate documentation for the exact specification.

use std::sync::OnceLock;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;

use crate::constants;

/// State width (capacity 1 + rate 2).
pub const WIDTH: usize = 3;
/// Number of field elements absorbed per permutation.
pub const RATE: usize = 2;
/// Number of full rounds (half before, half after the partial rounds).
pub const FULL_ROUNDS: usize = 8;
/// Number of partial rounds.
pub const PARTIAL_ROUNDS: usize = 57;
/// Total number of rounds.
pub const ROUNDS: usize = FULL_ROUNDS + PARTIAL_ROUNDS;

/// The Poseidon parameters as field elements.
#[derive(Clone, Debug)]
pub struct Params {
    /// `round_constants[r][i]` is added to lane `i` at the start of round `r`.
    pub round_constants: [[Fr; WIDTH]; ROUNDS],
    /// Linear layer: `new[i] = sum_j mds[i][j] * state[j]`.
    pub mds: [[Fr; WIDTH]; WIDTH],
}

/// A circomlib constant (canonical hex by construction).
fn constant(s: &str) -> Fr {
    trustml_kit::field::from_hex(s).unwrap_or_else(|| panic!("{s} is not a canonical Fr"))
}

/// The (lazily parsed) circomlib-compatible parameters.
pub fn params() -> &'static Params {
    static PARAMS: OnceLock<Params> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let mut round_constants = [[Fr::ZERO; WIDTH]; ROUNDS];
        for (r, rc) in round_constants.iter_mut().enumerate() {
            for (i, c) in rc.iter_mut().enumerate() {
                *c = constant(constants::ROUND_CONSTANTS[WIDTH * r + i]);
            }
        }
        let mds = constants::MDS.map(|row| row.map(constant));
        Params {
            round_constants,
            mds,
        }
    })
}

/// `x^5`.
#[inline]
pub fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// Multiplies `state` by the MDS matrix.
#[inline]
pub(crate) fn mds_mul(mds: &[[Fr; WIDTH]; WIDTH], state: &[Fr; WIDTH]) -> [Fr; WIDTH] {
    std::array::from_fn(|i| (0..WIDTH).map(|j| mds[i][j] * state[j]).sum())
}

/// Whether round `r` (0-based) is a full round.
#[inline]
pub const fn is_full_round(r: usize) -> bool {
    r < FULL_ROUNDS / 2 || r >= FULL_ROUNDS / 2 + PARTIAL_ROUNDS
}

/// The Poseidon permutation (circomlib `poseidon2` / `poseidon-lite` parameters, `t = 3`).
///
/// Every round `r` is: add `round_constants[r]` to all three lanes; apply `x^5` to all lanes
/// (full rounds `0..4` and `61..65`) or to lane 0 only (partial rounds `4..61`); multiply by
/// the MDS matrix. circomlib's `poseidon2([a, b])` is `permute([0, a, b])[0]`.
pub fn permute(state: &mut [Fr; WIDTH]) {
    let p = params();
    for (r, rc) in p.round_constants.iter().enumerate() {
        for (s, c) in state.iter_mut().zip(rc) {
            *s += c;
        }
        if is_full_round(r) {
            for s in state.iter_mut() {
                *s = sbox(*s);
            }
        } else {
            state[0] = sbox(state[0]);
        }
        *state = mds_mul(&p.mds, state);
    }
}

/// Pads `inputs` with a single `1` followed by zeros up to an even length (at least 2).
pub fn pad(inputs: &[Fr]) -> Vec<Fr> {
    let mut padded = Vec::with_capacity(inputs.len() + 2);
    padded.extend_from_slice(inputs);
    padded.push(Fr::ONE);
    if !padded.len().is_multiple_of(RATE) {
        padded.push(Fr::ZERO);
    }
    padded
}

/// Number of permutations `hash` performs for `n_inputs` inputs: `floor(n_inputs / 2) + 1`.
pub const fn permutations_for(n_inputs: usize) -> usize {
    n_inputs / RATE + 1
}

/// The crate's sponge hash (see the crate docs for the precise specification).
///
/// `state = [0, 0, 0]`; `m = pad(inputs)` (append `1`, then a `0` if the length is odd);
/// for each pair `(a, b)` of `m`: `state[1] += a; state[2] += b; permute(state)`;
/// output `state[0]`.
pub fn hash(inputs: &[Fr]) -> Fr {
    let mut state = [Fr::ZERO; WIDTH];
    for pair in pad(inputs).chunks(RATE) {
        state[1] += pair[0];
        state[2] += pair[1];
        permute(&mut state);
    }
    state[0]
}

/// A 2-to-1 compression with a domain tag: `permute([domain, a, b])[0]` — one permutation
/// (the sponge `hash` of two inputs takes two, for its padding), for fixed-arity uses such
/// as Merkle nodes. The domain sits in the capacity lane, which the sponge starts at 0, so
/// a nonzero `domain` never meets a sponge state.
pub fn compress(domain: Fr, a: Fr, b: Fr) -> Fr {
    let mut state = [domain, a, b];
    permute(&mut state);
    state[0]
}

/// Salted commitment `hash(values ‖ [salt])`. Hiding when `salt` is uniformly random, binding
/// by collision resistance of `hash`.
pub fn commit(values: &[Fr], salt: Fr) -> Fr {
    let mut inputs = Vec::with_capacity(values.len() + 1);
    inputs.extend_from_slice(values);
    inputs.push(salt);
    hash(&inputs)
}

/// A uniformly random salt for [`commit`]. Use a cryptographically secure `rng`.
pub fn random_salt(rng: impl rand::RngCore) -> Fr {
    Fr::random(rng)
}
