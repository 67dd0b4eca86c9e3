//! What a training chain commits to: the weights after each step and the training set.
//!
//! ```text
//! C_W  = Poseidon(pack24(W1 ‖ b1 ‖ W2 ‖ b2) ‖ salt)      weights at 2^12, each in [−2^23, 2^23)
//! H(x) = Poseidon(pack8(x) ‖ salt_i)                      64 pixels, each in [0, 256)
//! leaf = Poseidon(DOM_LEAF, i, H(x_i), y_i),  R_D = the root of the audit's dataset tree
//! ```
//! Both packings are [`crate::packing`]'s (`K = ⌊253/B⌋` values a word): 10 weights or 31
//! pixels per field element, so committing the digits MLP's 2,410 weights takes 122
//! permutations, not 1,206. The tree is [`crate::audit::dataset`]'s, so a training set is
//! committed, opened and published as an audited dataset is.

use super::data::{Digits, PIXELS};
use super::sgd::FixedMlp;
use super::TrainError;
use crate::audit::dataset::{leaf, Tree};
use crate::packing::InputPacking;
use halo2_proofs::halo2curves::bn256::Fr;

/// How weights are packed: 24 bits each, from `−2^23` (±2048 at scale 2^12).
pub const WEIGHT_PACKING: InputPacking = InputPacking {
    bits: 24,
    min: -(1 << 23),
};

/// `W + WEIGHT_OFFSET ∈ [0, 2^24)`: what circuits range-check and pack.
pub(crate) const WEIGHT_OFFSET: i128 = -(WEIGHT_PACKING.min as i128);

/// The packing of offset weights (`min = 0`): the same words as [`WEIGHT_PACKING`].
pub(crate) const OFFSET_PACKING: InputPacking = InputPacking {
    bits: WEIGHT_PACKING.bits,
    min: 0,
};

/// How pixels are packed: one byte each.
pub const PIXEL_PACKING: InputPacking = InputPacking { bits: 8, min: 0 };

impl FixedMlp {
    /// Every parameter in committed order: `W1 ‖ b1 ‖ W2 ‖ b2`.
    pub fn values(&self) -> Vec<i64> {
        [&self.w1, &self.b1, &self.w2, &self.b2]
            .into_iter()
            .flatten()
            .copied()
            .collect()
    }

    /// `C_W`; errs if a weight left the packed range (training diverged).
    pub fn commitment(&self, salt: Fr) -> Result<Fr, TrainError> {
        let v: Vec<i128> = self.values().into_iter().map(i128::from).collect();
        WEIGHT_PACKING.commit(&v, salt).map_err(|_| {
            TrainError::Setting(format!(
                "a weight left [{}, {}] (±2048 at scale 2^12): training diverged; lower the learning rate",
                WEIGHT_PACKING.min,
                WEIGHT_PACKING.max()
            ))
        })
    }
}

/// `H(x)` of one sample.
pub fn sample_commitment(x: &[i64; PIXELS], salt: Fr) -> Fr {
    let v: Vec<i128> = x.iter().map(|&p| i128::from(p)).collect();
    PIXEL_PACKING
        .commit(&v, salt)
        .expect("digits pixels are bytes (checked when read)")
}

/// A committed training set: its tree and the salts of its samples.
#[derive(Clone, Debug)]
pub struct CommittedSet {
    /// The tree over `leaf(i, H(x_i), y_i)`.
    pub tree: Tree,
    /// One salt per sample (0 for a public set).
    pub salts: Vec<Fr>,
}

impl CommittedSet {
    /// Commits `data` with `salts` (one per sample).
    pub fn new(data: &Digits, salts: Vec<Fr>) -> Result<Self, TrainError> {
        assert_eq!(salts.len(), data.len(), "one salt per sample");
        let leaves: Vec<Fr> = data
            .pixels
            .iter()
            .zip(&data.labels)
            .zip(&salts)
            .enumerate()
            .map(|(i, ((x, &y), &s))| leaf(i as u64, sample_commitment(x, s), y as u64))
            .collect();
        let tree = Tree::new(&leaves).map_err(|e| TrainError::Setting(e.to_string()))?;
        Ok(Self { tree, salts })
    }

    /// `R_D`.
    pub fn root(&self) -> Fr {
        self.tree.root()
    }
}
