//! Trustless accuracy audits, off chain: the dataset commitment, the sample indices a seed
//! selects, and the number of samples an audit needs.
//!
//! * [`dataset`] — `R_D`: a Poseidon binary Merkle tree over per-sample leaves
//!   `Poseidon(DOM_LEAF, index, H(x), label)`, `H(x)` the salted commitment of the sample in
//!   the format of a `hashed` model input (the quantized inputs, salt last), so an audited
//!   sample and an inference proof commit to an input the same way;
//! * [`sample_index`] — the `j`-th sampled index for a seed, exactly as the audit circuit
//!   derives it: `h = compress(DOM_IDX, seed, j)` (one permutation), `idx = ⌊lo64(h)·N / 2^64⌋` (bias ≤ N/2^64);
//! * [`sample_size`] — Hoeffding's `n = ⌈ln(2/δ) / (2ε²)⌉`.
//!
//! The seed comes from the escrow contract (both parties' shares and a later block hash),
//! never from the commitments: a provider could re-salt `C_W` until the sample set suited it.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use thiserror::Error;

pub mod batch;
pub mod circuit;
pub mod dataset;
pub mod dir;
pub mod program;
pub mod sampler;

/// Domain of a dataset leaf.
pub const DOM_LEAF: u64 = 0x7472_7573_746d_6c01; // "trustml" ‖ 1
/// Domain of an inner node of the dataset tree.
pub const DOM_NODE: u64 = 0x7472_7573_746d_6c02;
/// Domain of a padding leaf (index ≥ N: never selected, since every index is < N).
pub const DOM_PAD: u64 = 0x7472_7573_746d_6c03;
/// Domain of a sample-index hash.
pub const DOM_IDX: u64 = 0x7472_7573_746d_6c04;

/// Errors of audit files and parameters.
#[derive(Debug, Error)]
pub enum AuditError {
    /// A parameter out of its range.
    #[error("{0}")]
    Param(String),
    /// A dataset file that cannot be used.
    #[error("{path}: {msg}")]
    Dataset {
        /// The file.
        path: String,
        /// What is wrong.
        msg: String,
    },
    /// The model the dataset is committed for.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// Reading or writing files.
    #[error(transparent)]
    Kit(#[from] trustml_kit::KitError),
}

/// Samples for an accuracy estimate within `epsilon` of the truth with probability at least
/// `1 − delta` (Hoeffding): `⌈ln(2/δ) / (2ε²)⌉` — 600, 2,397 and 14,979 for ε = 5, 2.5 and
/// 1 % at δ = 0.1.
pub fn sample_size(epsilon: f64, delta: f64) -> Result<u64, AuditError> {
    let open_unit = |x: f64| x > 0.0 && x < 1.0;
    if !open_unit(epsilon) || !open_unit(delta) {
        return Err(AuditError::Param(format!(
            "epsilon and delta must lie strictly between 0 and 1 (got ε = {epsilon}, δ = {delta})"
        )));
    }
    Ok(((2.0 / delta).ln() / (2.0 * epsilon * epsilon)).ceil() as u64)
}

/// Batches of `b` samples an audit of `n` samples takes: `⌈n / b⌉` (so `m·b ≥ n`).
pub fn batches(n: u64, b: u64) -> Result<u64, AuditError> {
    if b == 0 {
        return Err(AuditError::Param(
            "the batch size must be at least 1".into(),
        ));
    }
    Ok(n.div_ceil(b))
}

/// The low 64 bits of `h`'s canonical integer.
pub fn lo64(h: &Fr) -> u64 {
    let bytes = h.to_repr();
    u64::from_le_bytes(bytes.as_ref()[..8].try_into().expect("32-byte repr"))
}

/// The index ordinal `j` of an audit with `seed` selects among `n` samples:
/// `⌊lo64(compress(DOM_IDX, seed, j))·n / 2^64⌋`.
pub fn sample_index(seed: Fr, j: u64, n: u64) -> u64 {
    let h = trustml_poseidon::compress(Fr::from(DOM_IDX), seed, Fr::from(j));
    ((lo64(&h) as u128 * n as u128) >> 64) as u64
}

/// `C_W = Poseidon(weights ‖ salt)`: the commitment a model compiled with
/// `--weights-visibility hashed` exposes, which the audit circuit opens.
pub fn weights_commitment(program: &crate::program::Program, salt: Fr) -> Fr {
    let w: Vec<Fr> = program
        .weights
        .iter()
        .map(|&v| crate::chips::fe(v as i128))
        .collect();
    trustml_poseidon::commit(&w, salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hoeffding_sample_sizes() {
        assert_eq!(sample_size(0.05, 0.1).unwrap(), 600);
        assert_eq!(sample_size(0.025, 0.1).unwrap(), 2397);
        assert_eq!(sample_size(0.01, 0.1).unwrap(), 14979);
        assert!(sample_size(0.0, 0.1).is_err());
        assert!(sample_size(0.05, 1.0).is_err());
        assert!(sample_size(f64::NAN, 0.1).is_err());
        assert_eq!(batches(600, 50).unwrap(), 12);
        assert_eq!(batches(601, 50).unwrap(), 13);
        assert!(batches(600, 0).is_err());
    }

    #[test]
    fn indices_are_below_n_and_spread() {
        let seed = Fr::from(0xfeed_u64);
        let n = 300;
        let idx: Vec<u64> = (0..3000).map(|j| sample_index(seed, j, n)).collect();
        assert!(idx.iter().all(|&i| i < n));
        // Every index is hit about 10 times: none is missed, none is hit 40 times.
        let mut hits = vec![0u32; n as usize];
        for &i in &idx {
            hits[i as usize] += 1;
        }
        assert!(hits.iter().all(|&h| (1..40).contains(&h)), "{hits:?}");
        // Another seed, other indices.
        let other: Vec<u64> = (0..3000)
            .map(|j| sample_index(Fr::from(0xbeef_u64), j, n))
            .collect();
        assert_ne!(idx, other);
        // A single sample always gives index 0.
        assert_eq!(sample_index(seed, 7, 1), 0);
    }

    #[test]
    fn lo64_reads_the_canonical_integer() {
        assert_eq!(
            lo64(&Fr::from(0x1234_5678_9abc_def0u64)),
            0x1234_5678_9abc_def0
        );
        assert_eq!(lo64(&(Fr::from(u64::MAX) + Fr::one())), 0);
        assert_eq!(lo64(&-Fr::one()), 0x43e1_f593_f000_0000); // r − 1 = 0x…43e1f593f0000000
    }
}
