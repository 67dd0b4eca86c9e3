//! `trustml train …`: fixed-point SGD of the digits MLP with exact integer semantics (what a
//! step proof checks), beside the same training in floating point.

use crate::Bar;
use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use trustml::train::sgd::accuracy;
use trustml::train::{Digits, FixedMlp, Hyper, MlpDims};
use trustml_kit::fs::write_json;
use trustml_kit::progress::Progress;

#[derive(Subcommand)]
pub enum TrainCmd {
    /// Train the digits MLP (64 → 32 → 10) natively in fixed point, and the same MLP in
    /// floating point from the same initial weights on the same batches; print both test
    /// accuracies per epoch. Batches are the training set's samples in order (the committed
    /// dataset's order, fixed before training).
    Run {
        /// Passes over the 1,437 training digits (step t reads positions t·batch … mod 1,437:
        /// 180 steps per epoch at batch 8).
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        /// Samples per step: a power of two (1, 8, 32, …).
        #[arg(long, default_value_t = 8)]
        batch: usize,
        /// Learning rate η (kept as c/256).
        #[arg(long, default_value_t = 0.1)]
        lr: f64,
        /// Seed of the initial weights (SplitMix64; see `trustml::train::sgd`).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Write the trained fixed-point weights (JSON, at 2^12) here.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

pub fn run(cmd: TrainCmd) -> Result<ExitCode> {
    match cmd {
        TrainCmd::Run {
            epochs,
            batch,
            lr,
            seed,
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
    }
    Ok(ExitCode::SUCCESS)
}
