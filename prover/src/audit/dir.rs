//! Audit circuit directories (`trustml audit setup`): `audit.json` (what the keys depend on:
//! the audited model's settings digest, `b`, `d`, the comparison table's domain), the
//! header `circuit.json` (kind `audit`), `srs.bin`, `vk.bin`, `pk.bin`; one verifying key
//! per (model, b, d). Proofs of batches are ordinary proof files; `trustml verify` and
//! `trustml evm …` take the directory like any other circuit.

use super::batch::{audit_setup, batch_circuit};
use super::circuit::{AuditCircuit, AuditShape};
use super::dataset::{LabelledData, Tree};
use super::program::AuditProgram;
use super::AuditError;
use crate::model::CompiledModel;
use crate::table::Func;
use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trustml_kit::fs::write_json;
use trustml_kit::{keys, ArtifactHeader, Keys, ProofFile};
use trustml_srs::Srs;

/// The `kind` of an audit directory's header.
pub const KIND: &str = "audit";
/// Version of `audit.json`.
pub const FORMAT_VERSION: u32 = 1;
/// Public inputs of an audit proof: `[C_W, R_D, N, seed, j0, count]`.
pub const NUM_INSTANCES: usize = 6;
const SETTINGS: &str = "audit.json";

/// Everything an audit circuit's keys depend on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditSettings {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// Settings digest of the audited model (compiled with hashed weights).
    pub model_digest: String,
    /// The model directory (resolved when the audit directory is opened).
    pub model_dir: PathBuf,
    /// Domain bits of the comparison (`Step`) table, from the dataset's logits.
    pub step_bits: u32,
    /// Batch size, tree depth and the model part's columns.
    pub shape: AuditShape,
    /// Log2 of the circuit's rows.
    pub k: u32,
}

impl AuditSettings {
    /// Keccak-256 of what the keys depend on.
    pub fn digest(&self) -> [u8; 32] {
        let pinned = serde_json::json!({
            "format_version": self.format_version,
            "model_digest": self.model_digest,
            "step_bits": self.step_bits,
            "shape": self.shape,
            "k": self.k,
        });
        Keccak256::digest(pinned.to_string().as_bytes()).into()
    }
}

/// A loaded audit directory.
pub struct AuditDir {
    /// The directory.
    pub dir: PathBuf,
    /// Its settings.
    pub settings: AuditSettings,
    /// The audited model.
    pub model: CompiledModel,
    /// The audit program.
    pub program: Arc<AuditProgram>,
}

/// The program of `model` for batches of `batch` with the `Step` table at `step_bits`.
fn program(
    model: &CompiledModel,
    batch: usize,
    depth: usize,
    step_bits: u32,
) -> Result<(AuditProgram, AuditShape), AuditError> {
    let (mut ap, shape) = audit_setup(model, batch, depth)?;
    let funcs = &mut ap.program.funcs;
    let global = ap.program.qp.lookup_bits;
    funcs.bits.resize(funcs.funcs.len(), global);
    let step = funcs.tag(Func::Step);
    funcs.bits[step] = step_bits;
    Ok((ap, shape))
}

/// Domain bits the comparisons need on `data`: the largest logit difference (+ 1, after the
/// comparison's rescale by `2^s`), count of beaten classes and label distance, with one bit
/// of headroom.
fn step_bits(model: &CompiledModel, data: &LabelledData) -> Result<u32, AuditError> {
    let p = &model.program;
    let classes = p.outputs[0].1.len() as i128;
    let mut m: i128 = classes + 1;
    for (x, &label) in data.inputs.iter().zip(&data.labels) {
        let w = p
            .eval(&p.quantize_inputs(std::slice::from_ref(x)))
            .map_err(|e| AuditError::Param(format!("evaluating a dataset sample: {e}")))?;
        let o: Vec<i128> = p.outputs[0].1.iter().map(|&x| w[x as usize]).collect();
        let (lo, hi) = (o.iter().min().unwrap_or(&0), o.iter().max().unwrap_or(&0));
        m = m
            .max(((hi - lo + 1) >> p.qp.scale_bits) + 2)
            .max(i128::from(label as i64) + classes);
    }
    Ok(crate::model::bits_for(m) + 1)
}

impl AuditDir {
    /// Makes the audit circuit of `model` for batches of `batch` samples from a dataset tree
    /// of depth `depth`, its comparison table sized on `data`; writes `audit.json` and the
    /// header into `dir`.
    pub fn create(
        dir: &Path,
        model: CompiledModel,
        data: &LabelledData,
        batch: usize,
        depth: usize,
    ) -> Result<Self, AuditError> {
        let step_bits = step_bits(&model, data)?;
        let (ap, shape) = program(&model, batch, depth, step_bits)?;
        let probe = AuditCircuit {
            shape: shape.clone(),
            program: Arc::new(ap.clone()),
            witness: None,
        };
        let settings = AuditSettings {
            format_version: FORMAT_VERSION,
            model_digest: model.settings.digest_hex(),
            model_dir: model
                .dir
                .canonicalize()
                .unwrap_or_else(|_| model.dir.clone()),
            step_bits,
            shape,
            k: probe.min_k(),
        };
        std::fs::create_dir_all(dir).map_err(|e| AuditError::Dataset {
            path: dir.display().to_string(),
            msg: e.to_string(),
        })?;
        write_json(&dir.join(SETTINGS), &settings)?;
        let a = Self {
            dir: dir.to_path_buf(),
            settings,
            model,
            program: Arc::new(ap),
        };
        a.header().write(dir)?;
        Ok(a)
    }

    /// Opens an audit directory (and the model it audits, checked by digest).
    pub fn load(dir: &Path) -> Result<Self, AuditError> {
        let path = dir.join(SETTINGS);
        let text = std::fs::read_to_string(&path).map_err(|e| AuditError::Dataset {
            path: path.display().to_string(),
            msg: format!("{e} (make one with `trustml audit setup`)"),
        })?;
        let settings: AuditSettings =
            serde_json::from_str(&text).map_err(|e| AuditError::Dataset {
                path: path.display().to_string(),
                msg: e.to_string(),
            })?;
        let model = CompiledModel::load(&settings.model_dir)?;
        if model.settings.digest_hex() != settings.model_digest {
            return Err(AuditError::Dataset {
                path: path.display().to_string(),
                msg: format!(
                    "the model in {} changed since the audit was set up",
                    settings.model_dir.display()
                ),
            });
        }
        let s = &settings.shape;
        let (ap, _) = program(&model, s.batch, s.depth, settings.step_bits)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
            model,
            program: Arc::new(ap),
        })
    }

    /// The header of this circuit.
    pub fn header(&self) -> ArtifactHeader {
        ArtifactHeader::new(
            KIND,
            FORMAT_VERSION,
            self.settings.digest(),
            self.settings.k,
            NUM_INSTANCES,
        )
    }

    fn circuit(&self) -> AuditCircuit {
        AuditCircuit {
            shape: self.settings.shape.clone(),
            program: self.program.clone(),
            witness: None,
        }
    }

    /// Key generation with `srs`.
    pub fn setup(&self, srs: &Srs, step: impl FnMut(&str)) -> Result<Keys, AuditError> {
        Ok(keys::setup(
            &self.dir,
            &self.header(),
            srs,
            &self.circuit(),
            step,
        )?)
    }

    /// The directory's keys.
    pub fn keys(&self, with_pk: bool) -> Result<Keys, AuditError> {
        Ok(keys::load::<AuditCircuit>(
            &self.dir,
            &self.header(),
            self.settings.shape.clone(),
            with_pk,
        )?)
    }

    /// Proves batch `index` (ordinals `index·b ..`) of the audit with `seed`.
    #[allow(clippy::too_many_arguments)]
    pub fn prove_batch(
        &self,
        keys: &Keys,
        data: &LabelledData,
        tree: &Tree,
        salts: &[Fr],
        weights_salt: Fr,
        seed: Fr,
        index: u64,
    ) -> Result<ProofFile, AuditError> {
        let s = &self.settings.shape;
        if tree.depth() as usize != s.depth {
            return Err(AuditError::Param(format!(
                "the dataset's tree has depth {}; this audit circuit proves depth {}",
                tree.depth(),
                s.depth
            )));
        }
        let c = batch_circuit(
            &self.model,
            self.program.clone(),
            s.clone(),
            data,
            tree,
            salts,
            weights_salt,
            seed,
            index * s.batch as u64,
        )?;
        let instances = c.instances().expect("witness present");
        let proof = keys::prove(keys, c, &instances)?;
        Ok(ProofFile::new(
            &self.header(),
            &instances,
            &proof,
            vec![],
            keys.insecure_srs,
        ))
    }
}
