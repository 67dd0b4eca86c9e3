//! A training run directory (`trustml train init`): the committed training set, the chain
//! of weight commitments `C_W0 → … → C_WT`, the step circuit's keys and one proof per step.
//!
//! ```text
//! DIR/train.json         public: MLP sizes, batch, η = c/256, T, R_D, N, depth, k
//! DIR/chain.json         public: C_W0 … C_WT
//! DIR/train.secret.json  the trainer's: seed of W0, one salt per commitment, the sample salts
//! DIR/circuit.json, srs.bin, vk.bin, pk.bin   the step circuit (kind `train-step`)
//! DIR/proofs/step-NNNNNN.json                   the proof of step t: [C_Wt, C_Wt+1, R_D, N, t, c]
//! ```
//! The weights are not stored: `W_t` is recomputed from the seed by `t` native steps (a
//! fraction of a second for an epoch), so nothing secret is kept twice. Proving is resumable:
//! a step whose proof file exists is skipped. [`TrainRun::verify`] checks every step's proof
//! and its public inputs against the chain, so the chain links `C_W0` to `C_WT` through
//! steps on the batches the committed order fixes, with the published `η`.

use super::circuit::{StepCircuit, StepShape, StepWitness};
use super::commit::CommittedSet;
use super::data::Digits;
use super::sgd::{FixedMlp, Hyper, MlpDims};
use super::TrainError;
use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::{Path, PathBuf};
use trustml_kit::fs::write_json;
use trustml_kit::keys::{verify_many, Claim};
use trustml_kit::progress::Progress;
use trustml_kit::{keys, ArtifactHeader, FrHex, Keys, ProofFile};
use trustml_srs::Srs;

/// The `kind` of a training run's header.
pub const KIND: &str = "train-step";
/// Version of `train.json`, `chain.json` and `train.secret.json`.
pub const FORMAT_VERSION: u32 = 1;
/// Public inputs of a step proof: `[C_W, C_W', R_D, N, t, c]`.
pub const NUM_INSTANCES: usize = 6;
const SETTINGS: &str = "train.json";
const CHAIN: &str = "chain.json";
const SECRET: &str = "train.secret.json";

/// What a run is (public).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainSettings {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The circuit's shape: sizes, `β`, tree depth.
    pub shape: StepShape,
    /// `c` of `η = c/256`.
    pub lr: i64,
    /// Steps `T`.
    pub steps: u64,
    /// `R_D`.
    pub root: FrHex,
    /// `N`.
    pub size: u64,
    /// Whether the samples' salts are 0 (anyone holding the digits recomputes `R_D`).
    pub public_data: bool,
    /// Log2 of the step circuit's rows.
    pub k: u32,
}

impl TrainSettings {
    /// Keccak-256 of what the keys depend on (the shape and `k`; `η`, `R_D`, `N`, `t` are
    /// public inputs, so one key serves every run of this shape).
    pub fn digest(&self) -> [u8; 32] {
        let pinned = serde_json::json!({
            "kind": KIND,
            "format_version": self.format_version,
            "shape": self.shape,
            "k": self.k,
        });
        Keccak256::digest(pinned.to_string().as_bytes()).into()
    }

    /// The step circuit's header.
    pub fn header(&self) -> ArtifactHeader {
        ArtifactHeader::new(KIND, FORMAT_VERSION, self.digest(), self.k, NUM_INSTANCES)
    }
}

/// The commitments of the run (public).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Chain {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// `C_W0 … C_WT`.
    pub commitments: Vec<FrHex>,
}

/// What only the trainer keeps.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Secret {
    format_version: u32,
    seed: u64,
    salts: Vec<FrHex>,
    sample_salts: Vec<FrHex>,
}

/// How to start a run.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Steps `T`.
    pub steps: u64,
    /// `η` and the batch size.
    pub hyper: Hyper,
    /// Seed of `W0`.
    pub seed: u64,
    /// Commit the samples with salt 0.
    pub public_data: bool,
    /// Hidden units (32 for the digits MLP).
    pub hidden: usize,
    /// The step circuit's columns.
    pub lanes: super::circuit::Lanes,
}

/// A loaded run.
pub struct TrainRun {
    /// The directory.
    pub dir: PathBuf,
    /// `train.json`.
    pub settings: TrainSettings,
    /// `chain.json`.
    pub chain: Chain,
}

/// What [`TrainRun::verify`] established.
#[derive(Clone, Debug)]
pub struct Verified {
    /// Steps whose proofs verified (all of them).
    pub steps: u64,
    /// `C_W0`.
    pub first: Fr,
    /// `C_WT`: trained on `R_D`.
    pub last: Fr,
    /// The keys come from an insecure development SRS.
    pub insecure_srs: bool,
}

fn fr(h: &FrHex) -> Fr {
    h.0
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TrainError + '_ {
    move |e| TrainError::File {
        path: path.display().to_string(),
        msg: e.to_string(),
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::File {
        path: path.display().to_string(),
        msg: format!("{e}: expected {what}"),
    })?;
    serde_json::from_str(&text).map_err(|e| TrainError::File {
        path: path.display().to_string(),
        msg: format!("not {what}: {e}"),
    })
}

impl TrainRun {
    /// Trains natively for `opts.steps` steps on the digits, commits the training set and
    /// every step's weights, and generates the step circuit's keys with `srs`.
    pub fn create(
        dir: &Path,
        opts: RunOptions,
        srs: &Srs,
        progress: &dyn Progress,
    ) -> Result<Self, TrainError> {
        if opts.steps == 0 {
            return Err(TrainError::Setting(
                "a run needs at least one step (--steps or --epochs)".into(),
            ));
        }
        let data = Digits::train()?;
        let rng = &mut rand::rngs::OsRng;
        let sample_salts: Vec<Fr> = (0..data.len())
            .map(|_| {
                if opts.public_data {
                    Fr::zero()
                } else {
                    trustml_poseidon::random_salt(&mut *rng)
                }
            })
            .collect();
        progress.stage("committing the training set", 1);
        let set = CommittedSet::new(&data, sample_salts.clone())?;
        progress.inc(1);
        let dims = MlpDims {
            hidden: opts.hidden,
            ..MlpDims::DIGITS
        };
        let shape = StepShape {
            dims,
            log_batch: opts.hyper.log_batch,
            depth: set.tree.depth() as usize,
            lanes: opts.lanes,
        };
        let k = StepCircuit::new(shape.clone(), None).min_k()?;
        let settings = TrainSettings {
            format_version: FORMAT_VERSION,
            shape,
            lr: opts.hyper.lr,
            steps: opts.steps,
            root: FrHex(set.root()),
            size: data.len() as u64,
            public_data: opts.public_data,
            k,
        };
        // The chain: W0 from the seed, then T native steps.
        let salts: Vec<Fr> = (0..=opts.steps)
            .map(|_| trustml_poseidon::random_salt(&mut *rng))
            .collect();
        progress.stage("training (native fixed point)", opts.steps);
        let mut w = FixedMlp::init(dims, opts.seed);
        let mut commitments = vec![FrHex(w.commitment(salts[0])?)];
        for t in 0..opts.steps {
            let (xs, ys) = data.batch(t as usize, opts.hyper.batch());
            w.step(&xs, &ys, opts.hyper);
            commitments.push(FrHex(
                w.commitment(salts[t as usize + 1])
                    .map_err(|e| TrainError::Setting(format!("step {t}: {e}")))?,
            ));
            progress.inc(1);
        }
        std::fs::create_dir_all(dir.join("proofs")).map_err(io(dir))?;
        write_json(&dir.join(SETTINGS), &settings)?;
        let chain = Chain {
            format_version: FORMAT_VERSION,
            commitments,
        };
        write_json(&dir.join(CHAIN), &chain)?;
        write_json(
            &dir.join(SECRET),
            &Secret {
                format_version: FORMAT_VERSION,
                seed: opts.seed,
                salts: salts.into_iter().map(FrHex).collect(),
                sample_salts: sample_salts.into_iter().map(FrHex).collect(),
            },
        )?;
        let run = Self {
            dir: dir.to_path_buf(),
            settings,
            chain,
        };
        let circuit = StepCircuit::new(run.settings.shape.clone(), None);
        progress.stage("step circuit keys", 1);
        keys::setup(dir, &run.settings.header(), srs, &circuit, |_| {})?;
        progress.inc(1);
        Ok(run)
    }

    /// Opens a run directory.
    pub fn load(dir: &Path) -> Result<Self, TrainError> {
        let settings: TrainSettings = read_json(
            &dir.join(SETTINGS),
            "a training run's train.json (make one with `trustml train init`)",
        )?;
        let chain: Chain = read_json(&dir.join(CHAIN), "a training run's chain.json")?;
        let bad = |msg: String| TrainError::File {
            path: dir.display().to_string(),
            msg,
        };
        if settings.format_version != FORMAT_VERSION || chain.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} (this trustml reads {FORMAT_VERSION})",
                settings.format_version
            )));
        }
        if chain.commitments.len() as u64 != settings.steps + 1 {
            return Err(bad(format!(
                "chain.json has {} commitments for {} steps (expected T + 1)",
                chain.commitments.len(),
                settings.steps
            )));
        }
        let header = ArtifactHeader::read(dir)?;
        if header != settings.header() {
            return Err(bad(
                "circuit.json does not match train.json: keys of another step circuit".into(),
            ));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
            chain,
        })
    }

    /// The step circuit's keys.
    pub fn keys(&self, with_pk: bool) -> Result<Keys, TrainError> {
        Ok(keys::load::<StepCircuit>(
            &self.dir,
            &self.settings.header(),
            self.settings.shape.clone(),
            with_pk,
        )?)
    }

    /// Where the proof of step `t` lives.
    pub fn proof_path(&self, t: u64) -> PathBuf {
        self.dir.join("proofs").join(format!("step-{t:06}.json"))
    }

    /// The public inputs of step `t`, from the chain: `[C_Wt, C_Wt+1, R_D, N, t, c]`.
    pub fn instances(&self, t: u64) -> Vec<Fr> {
        let s = &self.settings;
        vec![
            fr(&self.chain.commitments[t as usize]),
            fr(&self.chain.commitments[t as usize + 1]),
            s.root.0,
            Fr::from(s.size),
            Fr::from(t),
            trustml_kit::field::fe(s.lr as i128),
        ]
    }

    fn hyper(&self) -> Hyper {
        Hyper {
            lr: self.settings.lr,
            log_batch: self.settings.shape.log_batch,
        }
    }

    /// Proves the steps without a proof file, in order, at most `limit` of them; returns
    /// how many it proved. Resumable: an interrupted run continues where it stopped.
    pub fn prove(
        &self,
        keys: &Keys,
        limit: Option<u64>,
        progress: &dyn Progress,
    ) -> Result<u64, TrainError> {
        let s = &self.settings;
        let secret = self.secret()?;
        let data = Digits::train()?;
        let set = CommittedSet::new(&data, secret.sample_salts.iter().map(fr).collect())?;
        if set.root() != s.root.0 {
            return Err(TrainError::File {
                path: self.dir.join(SECRET).display().to_string(),
                msg: "its sample salts do not give train.json's R_D".into(),
            });
        }
        let todo: Vec<u64> = (0..s.steps)
            .filter(|&t| !self.proof_path(t).is_file())
            .take(limit.unwrap_or(u64::MAX) as usize)
            .collect();
        progress.stage("proving steps", todo.len() as u64);
        let h = self.hyper();
        let mut w = FixedMlp::init(s.shape.dims, secret.seed);
        let mut t_w = 0u64;
        for &t in &todo {
            if progress.cancelled() {
                break;
            }
            while t_w < t {
                let (xs, ys) = data.batch(t_w as usize, h.batch());
                w.step(&xs, &ys, h);
                t_w += 1;
            }
            let witness = StepWitness::new(
                &data,
                &set,
                w.clone(),
                [
                    fr(&secret.salts[t as usize]),
                    fr(&secret.salts[t as usize + 1]),
                ],
                t,
                h,
            );
            let instances = self.instances(t);
            if witness.instances()? != instances {
                return Err(TrainError::Setting(format!(
                    "step {t}: the weights recomputed from the seed do not give chain.json's \
                     commitments (the run's files are from different runs)"
                )));
            }
            let circuit = StepCircuit::new(s.shape.clone(), Some(witness));
            let refused = circuit.refused.clone();
            let proof = keys::prove(keys, circuit, &instances).map_err(|e| {
                match refused.lock().ok().and_then(|r| r.clone()) {
                    Some(msg) => TrainError::Setting(format!("step {t}: {msg}")),
                    None => TrainError::Kit(e),
                }
            })?;
            let pf = ProofFile::new(&s.header(), &instances, &proof, vec![], keys.insecure_srs);
            write_json(&self.proof_path(t), &pf)?;
            progress.inc(1);
        }
        Ok(todo.len() as u64)
    }

    /// The trainer's secrets (`train.secret.json`).
    fn secret(&self) -> Result<Secret, TrainError> {
        read_json(
            &self.dir.join(SECRET),
            "the run's train.secret.json (only its trainer has it: proving, exporting and \
             linking need it)",
        )
    }

    /// `W_T`, recomputed from the seed (the trainer's secret) and checked against `C_WT`.
    pub fn final_weights(&self) -> Result<FixedMlp, TrainError> {
        self.final_weights_of(&self.secret()?)
    }

    fn final_weights_of(&self, secret: &Secret) -> Result<FixedMlp, TrainError> {
        let s = &self.settings;
        let data = Digits::train()?;
        let h = self.hyper();
        let mut w = FixedMlp::init(s.shape.dims, secret.seed);
        for t in 0..s.steps {
            let (xs, ys) = data.batch(t as usize, h.batch());
            w.step(&xs, &ys, h);
        }
        let last = s.steps as usize;
        if w.commitment(fr(&secret.salts[last]))? != fr(&self.chain.commitments[last]) {
            return Err(TrainError::Setting(
                "the weights recomputed from the seed do not give chain.json's C_WT (the run's \
                 files are from different runs)"
                    .into(),
            ));
        }
        Ok(w)
    }

    fn link_dir(&self) -> PathBuf {
        self.dir.join("link")
    }

    /// Proves that `C_WT` and `model`'s hashed-weights commitment hold the same weights
    /// (`train::link`); makes the link circuit's keys with `srs` the first time. Writes
    /// `DIR/link/proof.json` and the model's weight salt to `DIR/link/model.salts.json` (a
    /// `--salts` file for the model's proofs: they then expose this `C_M`). Returns `C_M`.
    pub fn link(&self, model: &crate::model::CompiledModel, srs: &Srs) -> Result<Fr, TrainError> {
        use super::link::{weight_map, LinkCircuit, LinkSettings, LinkWitness};
        if model.settings.shape.vis.weights != crate::circuit::Visibility::Hashed {
            return Err(TrainError::Setting(format!(
                "{} does not commit its weights: compile it with --weights-visibility hashed",
                model.dir.display()
            )));
        }
        let s = &self.settings;
        let map = weight_map(s.shape.dims, model.program.qp)?;
        let secret = self.secret()?;
        let w = self.final_weights_of(&secret)?;
        let model_salt = trustml_poseidon::random_salt(rand::rngs::OsRng);
        let witness = LinkWitness::new(
            w,
            fr(&secret.salts[s.steps as usize]),
            model_salt,
            &map,
            &model.program.weights,
        )?;
        let instances = witness.instances(&map)?;
        let dir = self.link_dir();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let probe = LinkCircuit {
            map: std::sync::Arc::new(map.clone()),
            witness: None,
        };
        let k = trustml_kit::rows::min_k(&probe, 10)
            .map_err(|e| TrainError::Setting(format!("laying out the link circuit: {e}")))?;
        let settings = LinkSettings {
            format_version: super::link::FORMAT_VERSION,
            dims: s.shape.dims,
            map,
            k,
        };
        let header = settings.header();
        let keys = match ArtifactHeader::read(&dir) {
            Ok(h) if h == header => keys::load::<LinkCircuit>(&dir, &header, (), true)?,
            _ => {
                write_json(&dir.join("link.json"), &settings)?;
                keys::setup(&dir, &header, srs, &probe, |_| {})?
            }
        };
        let circuit = LinkCircuit {
            map: probe.map.clone(),
            witness: Some(std::sync::Arc::new(witness)),
        };
        let proof = keys::prove(&keys, circuit, &instances)?;
        let pf = ProofFile::new(&header, &instances, &proof, vec![], keys.insecure_srs);
        write_json(&dir.join("proof.json"), &pf)?;
        write_json(
            &dir.join("model.salts.json"),
            &serde_json::json!({ "weights": FrHex(model_salt) }),
        )?;
        Ok(instances[1])
    }

    /// The model commitment `C_M` the run's link proves equal to `C_WT`, if the run has a
    /// link; an error if the link does not verify.
    pub fn verify_link(&self) -> Result<Option<Fr>, TrainError> {
        use super::link::{LinkCircuit, LinkSettings};
        let dir = self.link_dir();
        let path = dir.join("proof.json");
        if !path.is_file() {
            return Ok(None);
        }
        let settings: LinkSettings = read_json(&dir.join("link.json"), "a link's link.json")?;
        let header = settings.header();
        let keys = keys::load::<LinkCircuit>(&dir, &header, (), false)?;
        let pf = ProofFile::read(&path)?;
        let inst = pf.instances_fr(&path)?;
        let last = fr(&self.chain.commitments[self.settings.steps as usize]);
        if inst.first() != Some(&last) {
            return Err(TrainError::Invalid(
                "the link's C_WT is not this run's last commitment".into(),
            ));
        }
        if !pf.verify(&header, &keys, &path)? {
            return Err(TrainError::Invalid(format!(
                "the link proof does not verify ({})",
                path.display()
            )));
        }
        Ok(inst.get(1).copied())
    }

    /// Checks every step: its proof file exists, its public inputs are the chain's (so
    /// consecutive steps share their commitment), and the proof verifies.
    pub fn verify(&self, keys: &Keys, progress: &dyn Progress) -> Result<Verified, TrainError> {
        let s = &self.settings;
        let header = s.header();
        progress.stage("verifying steps", s.steps);
        // Batches of steps share one folded pairing check per thread (`verify_many`); a batch
        // that fails is checked step by step to name the step.
        const BATCH: u64 = 32;
        for first in (0..s.steps).step_by(BATCH as usize) {
            let mut parts = Vec::new();
            for t in first..(first + BATCH).min(s.steps) {
                let path = self.proof_path(t);
                if !path.is_file() {
                    return Err(TrainError::Invalid(format!(
                        "step {t} has no proof ({}): run `trustml train prove`",
                        path.display()
                    )));
                }
                let (instances, proof) = ProofFile::read(&path)?.checked_parts(&header, &path)?;
                if instances != self.instances(t) {
                    return Err(TrainError::Invalid(format!(
                        "step {t}: the proof's public inputs are not [C_W{t}, C_W{}, R_D, N, {t}, c] of this run",
                        t + 1
                    )));
                }
                parts.push((t, instances, proof));
            }
            let claims: Vec<Claim<'_>> = parts
                .iter()
                .map(|(_, i, p)| Claim::new(keys, i, p))
                .collect();
            if !verify_many(&claims) {
                let (t, ..) = parts
                    .iter()
                    .find(|(_, i, p)| !verify_many(&[Claim::new(keys, i, p)]))
                    .unwrap_or(&parts[0]);
                return Err(TrainError::Invalid(format!(
                    "step {t}: the proof does not verify ({})",
                    self.proof_path(*t).display()
                )));
            }
            progress.inc(parts.len() as u64);
        }
        Ok(Verified {
            steps: s.steps,
            first: fr(&self.chain.commitments[0]),
            last: fr(&self.chain.commitments[s.steps as usize]),
            insecure_srs: keys.insecure_srs,
        })
    }
}
