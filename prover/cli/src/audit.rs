//! `trustml audit …`: accuracy audits off chain — the dataset commitment, the sample size an
//! audit needs and the samples a seed selects. (The audit circuit and the escrow come next.)

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use trustml::audit::{self, dataset};
use trustml::model::CompiledModel;
use trustml_kit::field::parse as parse_fr;

#[derive(Subcommand)]
pub enum AuditCmd {
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
    /// The dataset indices a seed selects for ordinals FROM..FROM+COUNT (what the audit
    /// circuit proves for that batch).
    Samples {
        /// dataset.json of the committed dataset.
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
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let c: dataset::DatasetCommitment = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a dataset.json", path.display()))?;
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
