//! The dataset commitment `R_D` and its files.
//!
//! ```text
//! H(x_i)  = Poseidon(quantized x_i ‖ salt_i)                 as a `hashed` model input
//! leaf_i  = Poseidon(DOM_LEAF, i, H(x_i), label_i)            i < N
//! pad_i   = Poseidon(DOM_PAD, i)                              N ≤ i < 2^d (never selected)
//! node    = compress(DOM_NODE, left, right)                   one permutation of [DOM_NODE, l, r]
//! R_D     = the root of the depth-d tree, d = ⌈log2 N⌉ (at least 1)
//! ```
//! The index is inside the leaf, so leaves cannot be reordered or duplicated; the label is
//! inside, so it cannot be changed; the quantized inputs depend on the model's input scale,
//! which `dataset.json` records with the model's settings digest. A public dataset uses salt 0
//! everywhere (anyone recomputes `R_D`); otherwise the salts are in the secret file.

use super::{AuditError, DOM_LEAF, DOM_NODE, DOM_PAD};
use crate::model::CompiledModel;
use crate::packing::InputPacking;
use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trustml_kit::field::FrHex;
use trustml_kit::fs::write_json;

/// Version of `dataset.json` and `dataset.secret.json`.
pub const FORMAT_VERSION: u32 = 2;
/// Deepest tree supported (2^32 samples).
pub const MAX_DEPTH: u32 = 32;

/// A labelled dataset as read from JSON: `{"inputs": [[…], …], "labels": [c, …]}` (one flat
/// input per sample, row-major, the model's single input; extra keys are ignored).
#[derive(Clone, Debug, Deserialize)]
pub struct LabelledData {
    /// One flat input per sample.
    pub inputs: Vec<Vec<f32>>,
    /// The class of each sample.
    pub labels: Vec<u64>,
}

impl LabelledData {
    /// Reads and checks a dataset file.
    pub fn read(path: &Path) -> Result<Self, AuditError> {
        let bad = |msg: String| AuditError::Dataset {
            path: path.display().to_string(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let d: Self = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "not a labelled dataset ({e}); expected {{\"inputs\": [[…], …], \"labels\": [c, …]}}"
            ))
        })?;
        if d.inputs.is_empty() || d.inputs.len() != d.labels.len() {
            return Err(bad(format!(
                "{} inputs and {} labels: a dataset needs at least one sample and one label each",
                d.inputs.len(),
                d.labels.len()
            )));
        }
        Ok(d)
    }
}

/// The public description of a committed dataset (`dataset.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DatasetCommitment {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// `R_D`.
    pub root: FrHex,
    /// `N`, the number of samples.
    pub size: u64,
    /// `d`, the tree depth (`2^d ≥ N`).
    pub depth: u32,
    /// Settings digest of the model whose input format the samples are committed in.
    pub model_digest: String,
    /// Fractional bits of the quantized inputs.
    pub scale_bits: u32,
    /// Whether every salt is 0 (then anyone holding the data recomputes the root).
    pub public: bool,
    /// The leaves, in index order (public: a requester checks a leaf against data it holds).
    pub leaves: Vec<FrHex>,
}

impl DatasetCommitment {
    /// Reads `DIR/dataset.json`.
    pub fn read(dir: &Path) -> Result<Self, AuditError> {
        read_json(
            &dir.join("dataset.json"),
            "dataset.json (`trustml audit commit-dataset`)",
        )
    }

    /// The salts of the samples: `DIR/dataset.secret.json`, or all 0 for a public dataset.
    pub fn salts(&self, dir: &Path) -> Result<Vec<Fr>, AuditError> {
        if self.public {
            return Ok(vec![Fr::zero(); self.size as usize]);
        }
        let path = dir.join("dataset.secret.json");
        let s: DatasetSecret = read_json(&path, "the dataset's secret salts")?;
        if s.root != self.root || s.salts.len() as u64 != self.size {
            return Err(AuditError::Dataset {
                path: path.display().to_string(),
                msg: "its root or size differ from dataset.json: salts of another commitment"
                    .into(),
            });
        }
        Ok(s.salts.into_iter().map(|f| f.0).collect())
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, AuditError> {
    let bad = |msg: String| AuditError::Dataset {
        path: path.display().to_string(),
        msg,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("{e}: expected {what}")))?;
    serde_json::from_str(&text).map_err(|e| bad(format!("not {what}: {e}")))
}

/// What only the dataset's owner keeps: the sample salts (`dataset.secret.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DatasetSecret {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// `R_D`, to match the secret with its commitment.
    pub root: FrHex,
    /// The salt of each sample.
    pub salts: Vec<FrHex>,
}

/// Salts for `n` samples: fresh random ones, or all 0 for a public dataset.
pub fn salts(n: usize, public: bool) -> Vec<Fr> {
    if public {
        return vec![Fr::zero(); n];
    }
    let mut rng = rand::rngs::OsRng;
    (0..n)
        .map(|_| trustml_poseidon::random_salt(&mut rng))
        .collect()
}

/// A leaf: `Poseidon(DOM_LEAF, index, H(x), label)`.
pub fn leaf(index: u64, input_commitment: Fr, label: u64) -> Fr {
    trustml_poseidon::hash(&[
        Fr::from(DOM_LEAF),
        Fr::from(index),
        input_commitment,
        Fr::from(label),
    ])
}

/// An inner node: one Poseidon permutation of `[DOM_NODE, left, right]`
/// (`trustml_poseidon::compress`).
pub fn node(left: Fr, right: Fr) -> Fr {
    trustml_poseidon::compress(Fr::from(DOM_NODE), left, right)
}

/// The padding leaf at `index` (≥ N).
pub fn pad(index: u64) -> Fr {
    trustml_poseidon::hash(&[Fr::from(DOM_PAD), Fr::from(index)])
}

/// Depth of the tree over `n` leaves: `⌈log2 n⌉`, at least 1.
pub fn depth_for(n: u64) -> u32 {
    n.max(2).next_power_of_two().trailing_zeros()
}

/// A Merkle tree: `levels[0]` the (padded) leaves, the last level the root.
#[derive(Clone, Debug)]
pub struct Tree {
    levels: Vec<Vec<Fr>>,
}

impl Tree {
    /// The tree over `leaves` (padded with [`pad`] leaves to `2^depth`).
    pub fn new(leaves: &[Fr]) -> Result<Self, AuditError> {
        let d = depth_for(leaves.len() as u64);
        if leaves.is_empty() || d > MAX_DEPTH {
            return Err(AuditError::Param(format!(
                "a dataset has 1 to 2^{MAX_DEPTH} samples, not {}",
                leaves.len()
            )));
        }
        let mut level: Vec<Fr> = leaves.to_vec();
        level.extend((leaves.len() as u64..1u64 << d).map(pad));
        let mut levels = vec![level];
        while levels.last().expect("non-empty").len() > 1 {
            let up = levels
                .last()
                .expect("non-empty")
                .chunks(2)
                .map(|p| node(p[0], p[1]))
                .collect();
            levels.push(up);
        }
        Ok(Self { levels })
    }

    /// `R_D`.
    pub fn root(&self) -> Fr {
        self.levels.last().expect("non-empty")[0]
    }

    /// `d`.
    pub fn depth(&self) -> u32 {
        (self.levels.len() - 1) as u32
    }

    /// The siblings from leaf `index` up to the root (the direction at level `k` is bit `k`
    /// of `index`: 0 = the path is the left child).
    pub fn path(&self, index: u64) -> Vec<Fr> {
        let mut i = index as usize;
        let mut out = Vec::with_capacity(self.levels.len() - 1);
        for level in &self.levels[..self.levels.len() - 1] {
            out.push(level[i ^ 1]);
            i >>= 1;
        }
        out
    }
}

/// Recomputes the root from a leaf, its index and its path.
pub fn root_from_path(leaf: Fr, index: u64, path: &[Fr]) -> Fr {
    path.iter().enumerate().fold(leaf, |cur, (k, &sib)| {
        if (index >> k) & 1 == 0 {
            node(cur, sib)
        } else {
            node(sib, cur)
        }
    })
}

/// Commits `data` in the input format of `model` (its single input, quantized at its scale);
/// `salts` gives one salt per sample (all zero for a public dataset).
pub fn commit(
    model: &CompiledModel,
    data: &LabelledData,
    salts: &[Fr],
) -> Result<(DatasetCommitment, Tree), AuditError> {
    let shapes = model.input_shapes();
    let want: usize = match shapes.as_slice() {
        [s] => s.iter().product(),
        _ => {
            return Err(AuditError::Param(format!(
                "{} has {} inputs; an audited model takes one input (the sample)",
                model.dir.display(),
                shapes.len()
            )))
        }
    };
    assert_eq!(salts.len(), data.inputs.len(), "one salt per sample");
    // H(x) as a hashed input of this model commits it: packed (crate::packing).
    let packing = InputPacking::of(&model.program);
    let mut leaves = Vec::with_capacity(data.inputs.len());
    for (i, ((x, &label), &salt)) in data.inputs.iter().zip(&data.labels).zip(salts).enumerate() {
        if x.len() != want {
            return Err(AuditError::Param(format!(
                "sample {i} has {} values; the model's input has {want}",
                x.len()
            )));
        }
        let q = model.program.quantize_inputs(std::slice::from_ref(x));
        let values: Vec<i128> = q[0].iter().map(|&v| v as i128).collect();
        let h = packing
            .commit(&values, salt)
            .map_err(|e| AuditError::Param(format!("sample {i}: {e}")))?;
        leaves.push(leaf(i as u64, h, label));
    }
    let tree = Tree::new(&leaves)?;
    let c = DatasetCommitment {
        format_version: FORMAT_VERSION,
        root: FrHex(tree.root()),
        size: leaves.len() as u64,
        depth: tree.depth(),
        model_digest: model.settings.digest_hex(),
        scale_bits: model.settings.quant.scale_bits,
        public: salts.iter().all(|s| *s == Fr::zero()),
        leaves: leaves.into_iter().map(FrHex).collect(),
    };
    Ok((c, tree))
}

/// Writes `dataset.json` (and, for a salted dataset, `dataset.secret.json`) into `dir`,
/// refusing to overwrite a secret.
pub fn write(dir: &Path, commitment: &DatasetCommitment, salts: &[Fr]) -> Result<(), AuditError> {
    let secret = dir.join("dataset.secret.json");
    if !commitment.public && secret.exists() {
        return Err(AuditError::Dataset {
            path: secret.display().to_string(),
            msg: "exists; refusing to overwrite the salts of another commitment".into(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| AuditError::Dataset {
        path: dir.display().to_string(),
        msg: e.to_string(),
    })?;
    if !commitment.public {
        write_json(
            &secret,
            &DatasetSecret {
                format_version: FORMAT_VERSION,
                root: commitment.root,
                salts: salts.iter().copied().map(FrHex).collect(),
            },
        )?;
    }
    write_json(&dir.join("dataset.json"), commitment)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_open_every_leaf_and_only_it() {
        for n in [1u64, 2, 3, 5, 8, 13] {
            let leaves: Vec<Fr> = (0..n).map(|i| leaf(i, Fr::from(100 + i), i % 3)).collect();
            let t = Tree::new(&leaves).unwrap();
            assert_eq!(t.depth(), depth_for(n));
            assert!(1u64 << t.depth() >= n && t.depth() >= 1);
            for i in 0..n {
                let p = t.path(i);
                assert_eq!(p.len() as u32, t.depth());
                assert_eq!(root_from_path(leaves[i as usize], i, &p), t.root());
                // Another index, another label, another sample: another root.
                assert_ne!(root_from_path(leaves[i as usize], i ^ 1, &p), t.root());
                let relabelled = leaf(i, Fr::from(100 + i), i % 3 + 1);
                assert_ne!(root_from_path(relabelled, i, &p), t.root());
            }
        }
    }

    #[test]
    fn domains_separate_leaves_nodes_and_padding() {
        let a = Fr::from(1);
        let b = Fr::from(2);
        assert_ne!(node(a, b), node(b, a));
        assert_ne!(pad(3), leaf(3, Fr::zero(), 0));
        assert_ne!(
            node(a, b),
            trustml_poseidon::hash(&[Fr::from(DOM_LEAF), a, b])
        );
        assert_eq!(depth_for(1), 1);
        assert_eq!(depth_for(2), 1);
        assert_eq!(depth_for(3), 2);
        assert_eq!(depth_for(1024), 10);
        assert_eq!(depth_for(1025), 11);
    }
}
