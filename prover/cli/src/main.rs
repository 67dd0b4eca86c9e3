//! `trustml`: prove that a neural network ran correctly.
//!
//! A thin command-line layer over the `trustml` library: parse, call, report.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use trustml::artifact::CircuitDir;
use trustml::circuit::{Visibilities, Visibility};
use trustml::model::{read_calibration, read_salts, write_salts, CompileOptions, CompiledModel};
use trustml::proof;
use trustml::text::TextSpec;
use trustml_kit::fs::write_json;
use trustml_kit::ProofFile;
use trustml_srs::{generate_insecure, import_ptau, Srs, INSECURE_WARNING};

mod audit;
mod audit_chain;
mod demo;
mod evm;
mod hint;
mod img;
mod img_chain;
mod market;
mod prompt;
mod train;
mod train_chain;

#[derive(Parser)]
#[command(
    name = "trustml",
    version,
    about = "Zero-knowledge proofs of neural-network inference (halo2-KZG on BN254)",
    long_about = "Zero-knowledge proofs of neural-network inference (halo2-KZG on BN254).\n\n\
        A typical session:\n  \
        trustml compile model.onnx --calibrate input.json -o out/model\n  \
        trustml srs gen --k 17 -o dev.srs          # development only: INSECURE\n  \
        trustml setup out/model --srs dev.srs\n  \
        trustml prove out/model input.json          # writes out/model/proof.json\n  \
        trustml verify out/model out/model/proof.json"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Import an ONNX model, calibrate its fixed-point format and write a model directory.
    Compile {
        /// The model, as `torch.onnx.export` writes it.
        model: PathBuf,
        /// Sample input(s) used to choose scales and lookup ranges (repeatable). Each file is
        /// {"input_data": [[...]]} or a JSON list of such objects.
        #[arg(long, required = true)]
        calibrate: Vec<PathBuf>,
        /// Output directory.
        #[arg(short, long)]
        output: PathBuf,
        #[arg(long, default_value_t = Visibility::Private, value_parser = visibility())]
        input_visibility: Visibility,
        /// `fixed` bakes the weights into the verifying key.
        #[arg(long, default_value_t = Visibility::Fixed, value_parser = visibility())]
        weights_visibility: Visibility,
        #[arg(long, default_value_t = Visibility::Public, value_parser = visibility())]
        output_visibility: Visibility,
        /// Fractional bits of the fixed-point format (default: chosen by calibration).
        #[arg(long)]
        scale: Option<u32>,
        /// Bits of the lookup domain (default: chosen by calibration).
        #[arg(long)]
        lookup_bits: Option<u32>,
        /// Extra lookup-range bits beyond what the calibration samples reach.
        #[arg(long, default_value_t = 1)]
        headroom_bits: u32,
        /// Multiply-accumulates per circuit row (default: chosen by a cost model).
        #[arg(long)]
        dot_width: Option<usize>,
        /// Lookup lanes per circuit row (default: chosen by a cost model).
        #[arg(long)]
        lanes: Option<usize>,
        /// Compile a prompt generator for marketplace listings: input hashed, weights
        /// fixed, output hashed with salt 0 (anyone recomputes its hash from the published
        /// output), and the seller's address as a third public input.
        #[arg(long, conflicts_with_all = ["input_visibility", "weights_visibility", "output_visibility"])]
        listing: bool,
        /// A text model: MODEL is a causal language model (token ids [1, T] → logits
        /// [1, T, V]); its input becomes a prompt of this many tokens followed by the
        /// completion, and the circuit proves the completion is the model's greedy decoding.
        #[arg(long, requires = "vocab")]
        text_prompt: Option<usize>,
        /// The text model's vocabulary: a JSON list of its V characters in id order.
        #[arg(long, requires = "text_prompt")]
        vocab: Option<PathBuf>,
    },
    /// Structured reference strings (KZG parameters).
    Srs {
        #[command(subcommand)]
        cmd: SrsCmd,
    },
    /// Generate the proving and verifying keys of a model directory.
    Setup {
        /// The model directory (`trustml compile`).
        dir: PathBuf,
        /// KZG parameters from `trustml srs gen` or `trustml srs import`.
        #[arg(long)]
        srs: PathBuf,
    },
    /// Prove one inference; writes the proof with the proven outputs.
    Prove {
        /// The model directory, with keys (`trustml setup`).
        dir: PathBuf,
        /// The input file: {"input_data": [[…]]} (a text model also takes its prompt's ids alone).
        input: PathBuf,
        /// Proof file (default DIR/proof.json).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Salts for hashed tensors, {"input": "0x..", "weights": "0x..", "output": "0x.."};
        /// missing ones are drawn at random. All salts used are written to PROOF.salts.json.
        #[arg(long)]
        salts: Option<PathBuf>,
    },
    /// Verify a proof; exits 0 only when it is valid.
    Verify {
        /// Any circuit directory with keys (model, delivery, audit, image edit or training run).
        dir: PathBuf,
        /// The proof file.
        proof: PathBuf,
    },
    /// Show a model directory's circuit: k, rows, columns, lookups, public inputs.
    Inspect {
        /// The model directory (`trustml compile`).
        dir: PathBuf,
    },
    /// Prompt marketplace: listing and delivery proofs, buyer keys, decryption.
    Prompt {
        #[command(subcommand)]
        cmd: prompt::PromptCmd,
    },
    /// A local demo marketplace from committed, pre-computed proofs (see `make up`).
    Demo {
        #[command(subcommand)]
        cmd: demo::DemoCmd,
    },
    /// Attested image edits (zk-img): commit an image, set up and prove edits of a private
    /// image, chains of edits, and their provenance on chain.
    Img {
        #[command(subcommand)]
        cmd: img::ImgCmd,
    },
    /// Proof of training (first part): fixed-point SGD of the digits MLP with exact integer
    /// semantics, beside float training.
    Train {
        #[command(subcommand)]
        cmd: train::TrainCmd,
    },
    /// Accuracy audits: commit a dataset, the samples an audit needs, the samples a seed picks.
    Audit {
        #[command(subcommand)]
        cmd: audit::AuditCmd,
    },
    /// Prompt marketplace on chain: deploy, list, buy, deliver, receive, withdraw, refund.
    Market {
        #[command(subcommand)]
        cmd: market::MarketCmd,
    },
    /// On-chain verification: Solidity verifier generation, deployment, checks.
    Evm {
        #[command(subcommand)]
        cmd: evm::EvmCmd,
    },
}

#[derive(Subcommand)]
enum SrsCmd {
    /// Generate an INSECURE development SRS (whoever runs this knows the secret).
    Gen {
        #[arg(long)]
        k: u32,
        #[arg(short, long)]
        output: PathBuf,
        /// Deterministic seed (tests and reproducible demos).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Convert a snarkjs powers-of-tau file (.ptau) from a public ceremony, trimmed to k.
    Import {
        /// The ceremony file (snarkjs .ptau).
        ptau: PathBuf,
        #[arg(long)]
        k: u32,
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// `private`, `public`, `hashed` or `fixed` (listed in `--help`).
fn visibility() -> impl clap::builder::TypedValueParser<Value = Visibility> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Visibility::ALL.map(|v| v.name())).map(|s| {
        s.parse::<Visibility>()
            .expect("one of the listed visibilities")
    })
}

fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}").expect("template"),
    );
    pb.enable_steady_tick(Duration::from_millis(120));
    pb.set_message(msg.to_string());
    pb
}

/// A terminal bar for [`trustml_kit::progress::Progress`]: one bar, restarted per stage, with
/// the stage's name, its steps and an ETA.
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar titled `what` (until the first stage names itself).
    pub fn new(what: &str) -> Self {
        let pb = ProgressBar::new(1);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {prefix} {msg} {pos}/{len} (eta {eta})",
            )
            .expect("template"),
        );
        pb.set_prefix(what.to_string());
        pb.enable_steady_tick(Duration::from_millis(120));
        Self(pb)
    }

    /// `done` of `total` (a bar whose length is only known once work starts).
    pub fn at(&self, done: u64, total: u64) {
        self.0.set_length(total);
        self.0.set_position(done);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl trustml_kit::progress::Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        self.0.set_message(name.to_string());
        self.0.set_length(total);
        self.0.reset();
    }

    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", report(&e));
            if let Some(h) = hint::hint(&e) {
                eprintln!("hint: {h}");
            }
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, one after the other (library errors never repeat their cause).
fn report(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Blocks on a chain call: the CLI is synchronous, the chain client async.
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.cmd {
        Cmd::Compile {
            model,
            calibrate,
            output,
            input_visibility,
            weights_visibility,
            output_visibility,
            scale,
            lookup_bits,
            headroom_bits,
            dot_width,
            lanes,
            listing,
            text_prompt,
            vocab,
        } => {
            let text = match (text_prompt, vocab) {
                (Some(p), Some(v)) => {
                    let bytes = std::fs::read(&model)
                        .with_context(|| format!("reading {}", model.display()))?;
                    Some(TextSpec::for_onnx(&bytes, p, TextSpec::read_vocab(&v)?)?)
                }
                _ => None,
            };
            let mut samples = vec![];
            for p in &calibrate {
                samples.extend(read_calibration(&model, p)?);
            }
            let vis = if listing {
                Visibilities::LISTING
            } else {
                Visibilities {
                    input: input_visibility,
                    weights: weights_visibility,
                    output: output_visibility,
                }
            };
            let opts = CompileOptions {
                vis,
                scale_bits: scale,
                lookup_bits,
                headroom_bits,
                dot_width,
                lanes,
                listing,
                text,
            };
            let pb = spinner("importing and calibrating");
            let m = CompiledModel::compile(&model, &samples, &opts, &output)?;
            pb.finish_and_clear();
            let s = &m.settings;
            println!("compiled {} → {}", model.display(), output.display());
            println!(
                "  scale 2^{}, lookup domain {} bits, k = {}, {} rows used",
                s.quant.scale_bits,
                s.quant.lookup_bits,
                s.k,
                s.rows.usable()
            );
            if let Some(t) = &s.text {
                println!(
                    "  text model: prompt {} tokens, completion {} (its greedy decoding, checked at each position); {} characters, so 2^{:.0} prompts",
                    t.prompt_len,
                    t.completion_len,
                    t.vocab.len(),
                    t.prompt_bits()
                );
            }
            if let Some(c) = &s.calibration {
                if c.no_float_reference {
                    println!(
                        "  calibration on {} sample(s): sizes the lookup domain only (the model's integer semantics are its definition: no float model to compare with)",
                        c.samples
                    );
                } else if c.text_positions > 0 {
                    println!(
                        "  calibration on {} sample(s): the quantized model's next-token choice is the float model's at {}/{} completion positions",
                        c.samples, c.text_matches, c.text_positions
                    );
                } else {
                    println!(
                        "  calibration on {} sample(s): max abs error {:.5} against the float model, argmax matches {}/{}",
                        c.samples, c.max_abs_error, c.argmax_matches, c.samples
                    );
                }
                if !c.no_float_reference && !c.worst_layer.is_empty() {
                    println!(
                        "  worst layer '{}': max |quantized − float| = {:.2} % of (1 + its largest |value|)",
                        c.worst_layer,
                        100.0 * c.worst_layer_error
                    );
                }
                println!(
                    "  widest lookup input {} (≈ {:.3}) at layer '{}': it sets the table size",
                    c.max_lookup_input,
                    c.max_lookup_input as f64 / s.quant.scale(),
                    c.widest_layer
                );
            }
            println!(
                "next: trustml srs gen --k {} -o dev.srs && trustml setup {} --srs dev.srs",
                s.k,
                output.display()
            );
        }
        Cmd::Srs {
            cmd: SrsCmd::Gen { k, output, seed },
        } => {
            if !(1..=trustml_srs::MAX_K).contains(&k) {
                bail!("--k must be between 1 and {}", trustml_srs::MAX_K);
            }
            let pb = spinner(&format!("generating an insecure SRS with k = {k}"));
            let srs = generate_insecure(k, seed);
            srs.write(&output)?;
            pb.finish_and_clear();
            eprintln!("WARNING: {INSECURE_WARNING}");
            println!(
                "wrote {} (k = {k}, INSECURE development setup)",
                output.display()
            );
        }
        Cmd::Srs {
            cmd: SrsCmd::Import { ptau, k, output },
        } => {
            let pb = spinner(&format!("importing {} for k = {k}", ptau.display()));
            let srs = import_ptau(&ptau, k)?;
            srs.write(&output)?;
            pb.finish_and_clear();
            println!("wrote {} (k = {k}, {})", output.display(), srs.provenance);
        }
        Cmd::Setup { dir, srs } => {
            let m = CompiledModel::load(&dir)?;
            let srs = Srs::read(&srs).with_context(|| format!("reading {}", srs.display()))?;
            if srs.is_insecure() {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
            if srs.k() > m.settings.k {
                eprintln!("note: trimming the SRS from k = {} to {} recomputes its Lagrange basis (slow for large k); an SRS made for k = {} avoids it", srs.k(), m.settings.k, m.settings.k);
            }
            let t = Instant::now();
            let pb = spinner("setup");
            proof::setup(&m, &srs, |step| pb.set_message(step.to_string()))?;
            pb.finish_and_clear();
            println!(
                "keys written to {} in {:.1} s (k = {})",
                dir.display(),
                t.elapsed().as_secs_f64(),
                m.settings.k
            );
        }
        Cmd::Prove {
            dir,
            input,
            output,
            salts,
        } => {
            let m = CompiledModel::load(&dir)?;
            let data = m.read_input(&input)?;
            let salts = read_salts(salts.as_deref())?;
            let pb = spinner("loading keys");
            let keys = proof::load_keys(&m, true)?;
            if keys.insecure_srs {
                pb.suspend(|| {
                    eprintln!("WARNING: these keys come from an INSECURE development SRS")
                });
            }
            pb.set_message("computing the witness and proving");
            let t = Instant::now();
            let pf = proof::prove(&m, &keys, &data, &input, salts)?;
            pb.finish_and_clear();
            let out = output.unwrap_or_else(|| dir.join("proof.json"));
            write_json(&out, &pf)?;
            if m.has_hashed() {
                let sp = out.with_extension("salts.json");
                write_salts(&sp, &salts)?;
                println!(
                    "salts (keep them secret: they open the commitments) written to {}",
                    sp.display()
                );
            }
            println!(
                "proof written to {} in {:.2} s",
                out.display(),
                t.elapsed().as_secs_f64()
            );
            for o in &pf.outputs {
                let shown: Vec<String> = o
                    .values
                    .iter()
                    .take(16)
                    .map(|v| format!("{v:.4}"))
                    .collect();
                println!(
                    "  {} {:?}: [{}{}]",
                    o.name,
                    o.shape,
                    shown.join(", "),
                    if o.values.len() > 16 { ", …" } else { "" }
                );
            }
        }
        Cmd::Verify { dir, proof: path } => {
            let m = CircuitDir::open(&dir)?;
            let keys = m.keys(false)?;
            let pf = ProofFile::read(&path)?;
            let t = Instant::now();
            if let Some(note) = m.verify(&keys, &pf, &path)? {
                println!(
                    "valid proof ({:.1} ms){}",
                    t.elapsed().as_secs_f64() * 1e3,
                    if keys.insecure_srs {
                        " — keys from an INSECURE development SRS"
                    } else {
                        ""
                    }
                );
                if let Some(note) = note {
                    println!("  note: {note}");
                }
                return Ok(ExitCode::SUCCESS);
            }
            println!("INVALID proof");
            return Ok(ExitCode::from(1));
        }
        Cmd::Prompt { cmd } => return prompt::run(cmd),
        Cmd::Inspect { dir } => {
            let m = CompiledModel::load(&dir)?;
            print!("{}", trustml::inspect::report(&m));
        }
        Cmd::Evm { cmd } => return evm::run(cmd),
        Cmd::Market { cmd } => return market::run(cmd),
        Cmd::Audit { cmd } => return audit::run(cmd),
        Cmd::Img { cmd } => return img::run(cmd),
        Cmd::Train { cmd } => return train::run(cmd),
        Cmd::Demo { cmd } => return demo::run(cmd),
    }
    Ok(ExitCode::SUCCESS)
}
