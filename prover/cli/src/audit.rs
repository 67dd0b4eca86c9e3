//! `trustml audit …`: accuracy audits off chain — the dataset commitment, the sample size an
//! audit needs, the samples a seed selects, the audit circuit's keys, batch proofs (resumable)
//! and their verification; the escrow's chain verbs are in `audit_chain`.

use crate::spinner;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trustml::artifact::CircuitDir;
use trustml::audit::dataset::{DatasetCommitment, LabelledData};
use trustml::audit::dir::AuditDir;
use trustml::audit::{self, dataset};
use trustml::model::CompiledModel;
use trustml_kit::field::{from_hex, parse as parse_fr, Fr};
use trustml_kit::fs::write_json;
use trustml_kit::ProofFile;
use trustml_srs::{Srs, INSECURE_WARNING};

#[derive(Subcommand)]
pub enum AuditCmd {
    #[command(flatten)]
    Chain(crate::audit_chain::AuditChainCmd),
    /// Commit to a labelled dataset ({"inputs": [[…], …], "labels": [c, …]}) in the input
    /// format of the model in MODEL_DIR (its scale): writes DIR/dataset.json (root R_D, size
    /// N, depth d, leaves) and, unless --public, DIR/dataset.secret.json (the salts; keep it).
    CommitDataset {
        data: PathBuf,
        /// The compiled model the samples will be audited with.
        #[arg(long)]
        model: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// Salt 0 for every sample: anyone holding the data recomputes R_D.
        #[arg(long)]
        public: bool,
    },
    /// Samples an audit needs for accuracy within ±epsilon with probability 1 − delta
    /// (Hoeffding), and the batches of --batch samples that take.
    SampleSize {
        #[arg(long, default_value_t = 0.05)]
        epsilon: f64,
        #[arg(long, default_value_t = 0.1)]
        delta: f64,
        #[arg(long)]
        batch: Option<u64>,
    },
    /// Make the audit circuit of MODEL_DIR (compiled with --weights-visibility hashed) for
    /// batches of --batch samples from the committed dataset, and its keys, into --output.
    Setup {
        /// The model directory (`trustml compile … --weights-visibility hashed`).
        model_dir: PathBuf,
        /// The directory `commit-dataset` wrote (for the tree's depth and the model check).
        #[arg(long)]
        dataset: PathBuf,
        /// The labelled data (sizes the comparison table on the model's logits).
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 10)]
        batch: usize,
        #[arg(long)]
        srs: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Prove an audit's batches for its seed: batch i covers ordinals i·b..(i+1)·b. Each
    /// batch is written as OUT/batch-i.json as soon as it is proven; batches already there
    /// are kept, so an interrupted run resumes where it stopped.
    Prove {
        /// The audit circuit directory (`trustml audit setup`).
        audit_dir: PathBuf,
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        dataset: PathBuf,
        /// The salts file of the model's hashed weights ({"weights": "0x…"}: what `trustml
        /// prove --salts` wrote or read), which opens C_W.
        #[arg(long)]
        weights_salts: PathBuf,
        /// The audit's seed (hex 0x… or decimal), from the escrow contract.
        #[arg(long)]
        seed: String,
        /// Samples to audit (n, see `sample-size`); the batches are ⌈n/b⌉.
        #[arg(long)]
        samples: u64,
        /// Where the batch proofs go (default AUDIT_DIR/proofs).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Verify every batch-*.json of an audit: each proof, one seed, dataset and model, batch
    /// indices 0..m once each; prints the proven accuracy.
    Verify {
        /// The audit circuit directory (`trustml audit setup`).
        audit_dir: PathBuf,
        /// The directory of batch proofs (default AUDIT_DIR/proofs).
        #[arg(long)]
        proofs: Option<PathBuf>,
    },
    /// The dataset indices a seed selects for ordinals FROM..FROM+COUNT (what the audit
    /// circuit proves for that batch).
    Samples {
        /// The committed dataset: the directory `commit-dataset` wrote, or its dataset.json.
        #[arg(long)]
        dataset: PathBuf,
        /// The audit's seed (hex 0x… or decimal), as the escrow contract derived it.
        #[arg(long)]
        seed: String,
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 10)]
        count: u64,
    },
}

pub fn run(cmd: AuditCmd) -> Result<ExitCode> {
    match cmd {
        AuditCmd::Chain(cmd) => crate::audit_chain::run(cmd)?,
        AuditCmd::CommitDataset {
            data,
            model,
            output,
            public,
        } => {
            let m = CompiledModel::load(&model)?;
            let d = dataset::LabelledData::read(&data)?;
            let salts = dataset::salts(d.inputs.len(), public);
            let (c, _) = dataset::commit(&m, &d, &salts)?;
            dataset::write(&output, &c, &salts)?;
            println!(
                "committed {} samples of {} → {}",
                c.size,
                data.display(),
                output.join("dataset.json").display()
            );
            println!("  R_D = {}", trustml_kit::field::to_hex(&c.root.0));
            println!(
                "  N = {}, depth d = {}, input scale 2^{}",
                c.size, c.depth, c.scale_bits
            );
            if public {
                println!("  public: every salt is 0 (anyone with the data recomputes R_D)");
            } else {
                println!(
                    "  salts written to {} (keep it: proving an audit needs it)",
                    output.join("dataset.secret.json").display()
                );
            }
        }
        AuditCmd::Setup {
            model_dir,
            dataset: ds,
            data,
            batch,
            srs,
            output,
        } => {
            let m = CompiledModel::load(&model_dir)?;
            let c = DatasetCommitment::read(&ds)?;
            if c.model_digest != m.settings.digest_hex() {
                bail!(
                    "{} was committed in the input format of another model ({}); commit it with --model {}",
                    ds.display(),
                    c.model_digest,
                    model_dir.display()
                );
            }
            let d = LabelledData::read(&data)?;
            let srs = Srs::read(&srs)?;
            if srs.is_insecure() {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
            let pb = spinner("building the audit circuit");
            let a = AuditDir::create(&output, m, &d, batch, c.depth as usize)?;
            let keys = a.setup(&srs, |s| pb.set_message(s.to_string()))?;
            pb.finish_and_clear();
            let _ = keys;
            println!(
                "audit circuit for batches of {batch} (tree depth {}) → {}: k = {}",
                c.depth,
                output.display(),
                a.settings.k
            );
        }
        AuditCmd::Prove {
            audit_dir,
            data,
            dataset: ds,
            weights_salts,
            seed,
            samples,
            output,
        } => {
            let a = AuditDir::load(&audit_dir)?;
            let Some(seed) = parse_fr(&seed) else {
                bail!("--seed {seed} is not a field element (0x-prefixed hex or decimal)");
            };
            let ws = weights_salt(&weights_salts)?;
            let d = LabelledData::read(&data)?;
            let c = DatasetCommitment::read(&ds)?;
            let salts = c.salts(&ds)?;
            let (again, tree) = dataset::commit(&a.model, &d, &salts)?;
            if again.root != c.root {
                bail!(
                    "{} does not hash to the committed root {} (another file, or other salts)",
                    data.display(),
                    trustml_kit::field::to_hex(&c.root.0)
                );
            }
            let b = a.settings.shape.batch as u64;
            let m = audit::batches(samples, b)?;
            let out = output.unwrap_or_else(|| audit_dir.join("proofs"));
            std::fs::create_dir_all(&out)?;
            let keys = a.keys(true)?;
            if keys.insecure_srs {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
            let pb = ProgressBar::new(m);
            pb.set_style(
                ProgressStyle::with_template(
                    "[{elapsed_precise}] {bar:30} {pos}/{len} batches, ETA {eta} {msg}",
                )
                .expect("template"),
            );
            let (mut total, mut resumed) = (0u64, 0u64);
            for i in 0..m {
                let path = out.join(format!("batch-{i}.json"));
                let pf = match ProofFile::read(&path) {
                    Ok(pf) if pf.settings_digest == a.header().settings_digest => {
                        resumed += 1;
                        pf
                    }
                    _ => {
                        let pf = a.prove_batch(&keys, &d, &tree, &salts, ws, seed, i)?;
                        write_json(&path, &pf)?;
                        pf
                    }
                };
                total += count_of(&pf, &path)?;
                pb.inc(1);
            }
            pb.finish_and_clear();
            println!(
                "{m} batches of {b} in {} ({resumed} already there): {total}/{} correct ({:.2} %)",
                out.display(),
                m * b,
                100.0 * total as f64 / (m * b) as f64
            );
        }
        AuditCmd::Verify { audit_dir, proofs } => {
            let cd = CircuitDir::open(&audit_dir)?;
            let keys = cd.keys(false)?;
            let dir = proofs.unwrap_or_else(|| audit_dir.join("proofs"));
            let a = AuditDir::load(&audit_dir)?;
            let b = a.settings.shape.batch as u64;
            let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(&dir)
                .with_context(|| format!("cannot read {}", dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter_map(|p| {
                    let name = p.file_name()?.to_str()?.to_string();
                    let i = name
                        .strip_prefix("batch-")?
                        .strip_suffix(".json")?
                        .parse()
                        .ok()?;
                    Some((i, p))
                })
                .collect();
            files.sort();
            if files.is_empty() {
                bail!("no batch-*.json in {}", dir.display());
            }
            let mut common: Option<Vec<String>> = None;
            let mut total = 0;
            for (want, (i, path)) in files.iter().enumerate() {
                if *i != want as u64 {
                    bail!("batch {want} is missing (found batch {i} next)");
                }
                let pf = ProofFile::read(path)?;
                if cd.verify(&keys, &pf, path)?.is_none() {
                    bail!("{}: INVALID proof", path.display());
                }
                let j0 = from_hex(&pf.instances[4]).context("bad j0")?;
                if j0 != Fr::from(i * b) {
                    bail!(
                        "{}: proves ordinals from {j0:?}, not batch {i}'s",
                        path.display()
                    );
                }
                let head = pf.instances[..4].to_vec();
                match &common {
                    None => common = Some(head),
                    Some(c) if *c != head => bail!(
                        "{}: another model, dataset or seed than batch 0",
                        path.display()
                    ),
                    _ => {}
                }
                total += count_of(&pf, path)?;
            }
            let n = files.len() as u64 * b;
            let c = common.expect("non-empty");
            println!(
                "{} batches verified: {total}/{n} correct ({:.2} %)",
                files.len(),
                100.0 * total as f64 / n as f64
            );
            println!(
                "  C_W  = {}\n  R_D  = {}\n  N    = {}\n  seed = {}",
                c[0], c[1], c[2], c[3]
            );
        }
        AuditCmd::SampleSize {
            epsilon,
            delta,
            batch,
        } => {
            let n = audit::sample_size(epsilon, delta)?;
            println!(
                "{n} samples: accuracy within ±{epsilon} with probability ≥ {}",
                1.0 - delta
            );
            if let Some(b) = batch {
                let m = audit::batches(n, b)?;
                println!("{m} batches of {b} ({} samples proven)", m * b);
            }
        }
        AuditCmd::Samples {
            dataset: path,
            seed,
            from,
            count,
        } => {
            let c = if path.is_dir() {
                DatasetCommitment::read(&path)?
            } else {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a dataset.json", path.display()))?
            };
            let Some(seed) = parse_fr(&seed) else {
                bail!("--seed {seed} is not a field element (0x-prefixed hex or decimal)");
            };
            for j in from..from.saturating_add(count) {
                println!("{j}\t{}", audit::sample_index(seed, j, c.size));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn weights_salt(path: &Path) -> Result<Fr> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    v.get("weights")
        .and_then(|w| w.as_str())
        .and_then(parse_fr)
        .with_context(|| format!("{} has no \"weights\" salt", path.display()))
}

pub(crate) fn count_of(pf: &ProofFile, path: &Path) -> Result<u64> {
    let c = from_hex(pf.instances.get(5).context("not an audit proof")?)
        .with_context(|| format!("{}: bad count", path.display()))?;
    trustml_kit::field::to_u128(&c)
        .map(|c| c as u64)
        .with_context(|| format!("{}: bad count", path.display()))
}
