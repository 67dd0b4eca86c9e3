//! `trustml train …`: fixed-point SGD of the digits MLP with exact integer semantics (what a
//! step proof checks), beside the same training in floating point; proven training runs
//! (`init`, `prove`, `verify`: one proof per SGD step, chained by the weights' commitments).

use crate::Bar;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use trustml::train::circuit::Lanes;
use trustml::train::run::{RunOptions, TrainRun};
use trustml::train::sgd::accuracy;
use trustml::train::{Digits, FixedMlp, Hyper, MlpDims};
use trustml_kit::field::to_hex;
use trustml_kit::fs::write_json;
use trustml_kit::progress::Progress;
use trustml_srs::{Srs, INSECURE_WARNING};

/// What every training command takes.
#[derive(clap::Args)]
pub struct SgdArgs {
    /// Samples per step: a power of two (1, 8, 32, …).
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Learning rate η (kept as c/256; public in a proven run).
    #[arg(long, default_value_t = 0.1)]
    lr: f64,
    /// Seed of the initial weights (SplitMix64, see `trustml::train::sgd`; secret in a
    /// proven run).
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(Subcommand)]
pub enum TrainCmd {
    #[command(flatten)]
    Chain(crate::train_chain::TrainChainCmd),
    /// Train the digits MLP (64 → 32 → 10) natively in fixed point, and the same MLP in
    /// floating point from the same initial weights on the same batches; print both test
    /// accuracies per epoch. Batches are the training set's samples in order (the committed
    /// dataset's order, fixed before training).
    Run {
        /// Passes over the 1,437 training digits (step t reads positions t·batch … mod 1,437:
        /// 180 steps per epoch at batch 8).
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        #[command(flatten)]
        sgd: SgdArgs,
        /// Write the trained fixed-point weights (JSON, at 2^12) here.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Start a proven training run in DIR: commit the 1,437 training digits (R_D), train
    /// natively for the run's steps, commit the weights after every step (DIR/chain.json:
    /// C_W0 … C_WT) and make the step circuit's keys. The seed and every salt go to
    /// DIR/train.secret.json (keep it: proving needs it; verifying does not).
    Init {
        /// The run directory.
        dir: PathBuf,
        /// Steps T (or use --epochs).
        #[arg(long, conflicts_with = "epochs")]
        steps: Option<u64>,
        /// Passes over the training set (180 steps each at batch 8).
        #[arg(long)]
        epochs: Option<usize>,
        #[command(flatten)]
        sgd: SgdArgs,
        /// Hidden units of the MLP.
        #[arg(long, default_value_t = 32)]
        hidden: usize,
        /// Commit the samples with salt 0: anyone holding the digits recomputes R_D.
        #[arg(long)]
        public_data: bool,
        /// A wider step circuit (twice the columns, half the rows): faster proofs, but its
        /// Solidity verifier exceeds EIP-170 (native verification only).
        #[arg(long)]
        wide: bool,
        /// KZG parameters (`trustml srs gen --k K -o srs.bin`; k = 14 at batch 8).
        #[arg(long, default_value = "srs.bin")]
        srs: PathBuf,
    },
    /// Prove the steps of DIR that have no proof yet, in order (resumable: an interrupted
    /// run continues where it stopped).
    Prove {
        dir: PathBuf,
        /// Prove at most this many steps now.
        #[arg(long)]
        steps: Option<u64>,
    },
    /// Write the run's trained MLP (W_T, recomputed from the secret seed and checked against
    /// C_WT) as an ONNX model for the inference pipeline: compiled with `--scale 12` its
    /// quantized weights are exactly the trained integers.
    Export {
        dir: PathBuf,
        /// The ONNX file to write.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Prove that the run's last commitment C_WT and MODEL_DIR's weight commitment (a model
    /// compiled from `train export` with --scale 12 --weights-visibility hashed) hold the
    /// same weights: DIR/link/proof.json, and DIR/link/model.salts.json (pass it as the
    /// model's --salts so its proofs expose that commitment). `train verify` then checks it.
    Link {
        dir: PathBuf,
        /// The compiled model.
        #[arg(long)]
        model: PathBuf,
        /// KZG parameters (k = 16 for the digits MLP).
        #[arg(long, default_value = "srs.bin")]
        srs: PathBuf,
    },
    /// Verify a run: every step's proof, with public inputs [C_Wt, C_Wt+1, R_D, N, t, c]
    /// taken from the run's chain, so C_W0 → … → C_WT are linked by SGD steps on the
    /// batches the committed order fixes. Needs no secret.
    Verify { dir: PathBuf },
}

pub fn run(cmd: TrainCmd) -> Result<ExitCode> {
    match cmd {
        TrainCmd::Chain(cmd) => crate::train_chain::run(cmd)?,
        TrainCmd::Run {
            epochs,
            sgd: SgdArgs { batch, lr, seed },
            output,
        } => {
            let h = Hyper::new(lr, batch)?;
            let (train, test) = (Digits::train()?, Digits::test()?);
            let mut fixed = FixedMlp::init(MlpDims::DIGITS, seed);
            let mut float = fixed.to_float();
            let per_epoch = train.steps(1, batch);
            println!(
                "digits MLP 64→32→10, {} training / {} test samples, batch {batch}, η = {}/256 = {:.4}, {per_epoch} steps per epoch",
                train.len(),
                test.len(),
                h.lr,
                h.eta()
            );
            println!("| epoch | fixed-point loss | fixed-point test acc | float test acc |");
            println!("|---|---|---|---|");
            let t0 = Instant::now();
            let bar = Bar::new("training");
            let pct = |(ok, n): (usize, usize)| 100.0 * ok as f64 / n as f64;
            let (mut fa, mut ga) = (0.0, 0.0);
            let mut t = 0;
            for e in 0..epochs {
                let end = train.steps(e + 1, batch);
                bar.stage(&format!("epoch {}/{epochs}", e + 1), (end - t) as u64);
                let mut loss = 0.0;
                let n = (end - t) as f64;
                while t < end {
                    let (xs, ys) = train.batch(t, batch);
                    loss += fixed.step(&xs, &ys, h).loss / n;
                    float.step(&xs, &ys, h);
                    bar.inc(1);
                    t += 1;
                }
                fa = pct(accuracy(&test, |x| fixed.predict(x)));
                ga = pct(accuracy(&test, |x| float.predict(x)));
                bar.0
                    .suspend(|| println!("| {} | {loss:.4} | {fa:.2} % | {ga:.2} % |", e + 1));
            }
            bar.finish();
            println!(
                "trained in {:.1} s: fixed point {fa:.2} %, float {ga:.2} % ({:+.2} points)",
                t0.elapsed().as_secs_f64(),
                fa - ga
            );
            if let Some(path) = output {
                write_json(&path, &fixed)?;
                println!("weights → {}", path.display());
            }
        }
        TrainCmd::Init {
            dir,
            steps,
            epochs,
            sgd: SgdArgs { batch, lr, seed },
            hidden,
            public_data,
            wide,
            srs,
        } => {
            let hyper = Hyper::new(lr, batch)?;
            let steps = match (steps, epochs) {
                (Some(s), _) => s,
                (None, Some(e)) => Digits::train()?.steps(e, batch) as u64,
                (None, None) => bail!("say how long to train: --steps T or --epochs E"),
            };
            if !(1..=256).contains(&hidden) {
                bail!("--hidden {hidden}: use 1 to 256 hidden units");
            }
            let srs = Srs::read(&srs).with_context(|| {
                format!(
                    "reading {} (make one with `trustml srs gen --k 16 -o srs.bin`)",
                    srs.display()
                )
            })?;
            if srs.is_insecure() {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
            let t0 = Instant::now();
            let bar = Bar::new("init");
            let run = TrainRun::create(
                &dir,
                RunOptions {
                    steps,
                    hyper,
                    seed,
                    public_data,
                    hidden,
                    lanes: if wide {
                        Lanes {
                            dot: 8,
                            arith: 2,
                            bytes: 3,
                            hash: 2,
                        }
                    } else {
                        Lanes::default()
                    },
                },
                &srs,
                &bar,
            )?;
            bar.finish();
            let s = &run.settings;
            println!(
                "training run → {} in {:.1} s: {steps} steps of batch {batch}, η = {}/256, step circuit k = {}",
                dir.display(),
                t0.elapsed().as_secs_f64(),
                s.lr,
                s.k
            );
            println!(
                "  R_D  = {} (N = {}, depth {})",
                s.root, s.size, s.shape.depth
            );
            println!("  C_W0 = {}", run.chain.commitments[0]);
            println!("  C_WT = {}", run.chain.commitments[steps as usize]);
            println!("next: trustml train prove {}", dir.display());
        }
        TrainCmd::Prove { dir, steps } => {
            let run = TrainRun::load(&dir)?;
            let keys = run.keys(true)?;
            if keys.insecure_srs {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
            let t0 = Instant::now();
            let bar = Bar::new("train prove");
            let n = run.prove(&keys, steps, &bar)?;
            bar.finish();
            let secs = t0.elapsed().as_secs_f64();
            let left = (0..run.settings.steps)
                .filter(|&t| !run.proof_path(t).is_file())
                .count();
            println!(
                "proved {n} steps in {secs:.1} s ({:.1} s a step); {left} of {} left",
                secs / n.max(1) as f64,
                run.settings.steps
            );
            if left == 0 {
                println!("next: trustml train verify {}", dir.display());
            }
        }
        TrainCmd::Export { dir, output } => {
            let run = TrainRun::load(&dir)?;
            let w = run.final_weights()?;
            std::fs::write(&output, w.to_onnx())
                .with_context(|| format!("writing {}", output.display()))?;
            let (test, pct) = (Digits::test()?, |(ok, n): (usize, usize)| {
                100.0 * ok as f64 / n as f64
            });
            println!(
                "W_T of {} ({} steps; test accuracy {:.2} %) → {}",
                dir.display(),
                run.settings.steps,
                pct(accuracy(&test, |x| w.predict(x))),
                output.display()
            );
            println!(
                "next: trustml compile {} --calibrate prover/fixtures/digits_mlp.input.json --scale 12 --weights-visibility hashed -o MODEL_DIR",
                output.display()
            );
        }
        TrainCmd::Link { dir, model, srs } => {
            let run = TrainRun::load(&dir)?;
            let m = trustml::model::CompiledModel::load(&model)?;
            let srs = Srs::read(&srs).with_context(|| format!("reading {}", srs.display()))?;
            if srs.is_insecure() {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
            let t0 = Instant::now();
            let c_m = run.link(&m, &srs)?;
            println!(
                "linked in {:.1} s: C_WT = {} is {}'s weight commitment C_W = {} → {}",
                t0.elapsed().as_secs_f64(),
                run.chain.commitments[run.settings.steps as usize],
                model.display(),
                to_hex(&c_m),
                dir.join("link/proof.json").display()
            );
        }
        TrainCmd::Verify { dir } => {
            let run = TrainRun::load(&dir)?;
            let keys = run.keys(false)?;
            let t0 = Instant::now();
            let bar = Bar::new("train verify");
            let r = run.verify(&keys, &bar);
            bar.finish();
            match r {
                Ok(v) => {
                    if v.insecure_srs {
                        eprintln!("WARNING: {INSECURE_WARNING}");
                    }
                    println!(
                        "VALID: {} SGD steps ({:.1} ms) link C_W0 = {} to C_WT = {}, trained on R_D = {} with η = {}/256",
                        v.steps,
                        t0.elapsed().as_secs_f64() * 1e3,
                        to_hex(&v.first),
                        to_hex(&v.last),
                        run.settings.root,
                        run.settings.lr
                    );
                    match run.verify_link() {
                        Ok(Some(c_m)) => println!(
                            "VALID: C_WT is the weight commitment C_W = {} of the linked model",
                            to_hex(&c_m)
                        ),
                        Ok(None) => {}
                        Err(trustml::train::TrainError::Invalid(msg)) => {
                            println!("INVALID: {msg}");
                            return Ok(ExitCode::FAILURE);
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Err(trustml::train::TrainError::Invalid(msg)) => {
                    println!("INVALID: {msg}");
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
