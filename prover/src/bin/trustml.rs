//! `trustml`: prove that a neural network ran correctly.
//!
//! A thin command-line layer over the `trustml` library: parse, call, report.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use trustml::circuit::{Salts, Visibilities, Visibility};
use trustml::data::{read_input, read_samples};
use trustml::model::{write_atomic, CompileOptions, CompiledModel, ModelFormat};
use trustml::proof::{self, fr_from_hex, fr_to_hex, ProofFile};
use trustml_srs::{generate_insecure, import_ptau, Srs, INSECURE_WARNING};

// Not src/bin/evm_cmd.rs: Cargo would take that for a second binary.
#[path = "trustml/evm_cmd.rs"]
mod evm_cmd;
#[path = "trustml/market_cmd.rs"]
mod market_cmd;
#[path = "trustml/prompt_cmd.rs"]
mod prompt_cmd;

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
        #[arg(long, value_enum, default_value_t = Visibility::Private)]
        input_visibility: Visibility,
        /// `fixed` bakes the weights into the verifying key.
        #[arg(long, value_enum, default_value_t = Visibility::Fixed)]
        weights_visibility: Visibility,
        #[arg(long, value_enum, default_value_t = Visibility::Public)]
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
    },
    /// Structured reference strings (KZG parameters).
    Srs {
        #[command(subcommand)]
        cmd: SrsCmd,
    },
    /// Generate the proving and verifying keys of a model directory.
    Setup {
        dir: PathBuf,
        /// KZG parameters from `trustml srs gen` or `trustml srs import`.
        #[arg(long)]
        srs: PathBuf,
    },
    /// Prove one inference; writes the proof with the proven outputs.
    Prove {
        dir: PathBuf,
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
    Verify { dir: PathBuf, proof: PathBuf },
    /// Show a model directory's circuit: k, rows, columns, lookups, public inputs.
    Inspect { dir: PathBuf },
    /// Prompt marketplace: listing and delivery proofs, buyer keys, decryption.
    Prompt {
        #[command(subcommand)]
        cmd: prompt_cmd::PromptCmd,
    },
    /// Prompt marketplace on chain: deploy, list, buy, deliver, receive, withdraw, refund.
    Market {
        #[command(subcommand)]
        cmd: market_cmd::MarketCmd,
    },
    /// On-chain verification: Solidity verifier generation, deployment, checks.
    Evm {
        #[command(subcommand)]
        cmd: evm_cmd::EvmCmd,
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
        ptau: PathBuf,
        #[arg(long)]
        k: u32,
        #[arg(short, long)]
        output: PathBuf,
    },
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

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", report(&e));
            ExitCode::from(2)
        }
    }
}

/// The error chain, skipping a cause its parent's message already spells out (our
/// library errors include their source in their own message).
fn report(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = vec![];
    for cause in e.chain() {
        let msg = cause.to_string();
        if !parts.last().is_some_and(|p| p.contains(&msg)) {
            parts.push(msg);
        }
    }
    parts.join(": ")
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
        } => {
            let mut samples = vec![];
            for p in &calibrate {
                samples.extend(read_calibration(&model, p)?);
            }
            let opts = CompileOptions {
                vis: Visibilities {
                    input: input_visibility,
                    weights: weights_visibility,
                    output: output_visibility,
                },
                scale_bits: scale,
                lookup_bits,
                headroom_bits,
                dot_width,
                lanes,
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
            if let Some(c) = &s.calibration {
                println!(
                    "  calibration on {} sample(s): max abs error {:.5}, argmax matches {}/{}",
                    c.samples, c.max_abs_error, c.argmax_matches, c.samples
                );
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
            let data = if ModelFormat::of(&input) == ModelFormat::Zkml {
                trustml::zkml::input_data(&input, m.settings.quant.scale_bits)?
            } else {
                read_input(&input)?
            };
            let salts = load_salts(salts.as_deref())?;
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
            write_atomic(&out, serde_json::to_string_pretty(&pf)?.as_bytes())?;
            if [
                m.settings.shape.vis.input,
                m.settings.shape.vis.weights,
                m.settings.shape.vis.output,
            ]
            .contains(&Visibility::Hashed)
            {
                let sp = out.with_extension("salts.json");
                let json = serde_json::json!({"input": fr_to_hex(&salts.input), "weights": fr_to_hex(&salts.weights), "output": fr_to_hex(&salts.output)});
                write_atomic(&sp, serde_json::to_string_pretty(&json)?.as_bytes())?;
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
            let m = trustml::circuit_dir::CircuitDir::load(&dir)?;
            let keys = m.keys(false)?;
            let pf = ProofFile::read(&path)?;
            let t = Instant::now();
            let ok = m.verify(&keys, &pf, &path)?;
            if ok {
                println!(
                    "valid proof ({:.1} ms){}",
                    t.elapsed().as_secs_f64() * 1e3,
                    if keys.insecure_srs {
                        " — keys from an INSECURE development SRS"
                    } else {
                        ""
                    }
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!("INVALID proof");
            return Ok(ExitCode::from(1));
        }
        Cmd::Prompt { cmd } => return prompt_cmd::run(cmd),
        Cmd::Inspect { dir } => {
            let m = CompiledModel::load(&dir)?;
            print!("{}", trustml::inspect::report(&m));
        }
        Cmd::Evm { cmd } => return evm_cmd::run(cmd),
        Cmd::Market { cmd } => return market_cmd::run(cmd),
    }
    Ok(ExitCode::SUCCESS)
}

/// Calibration samples: JSON, or a zkml `inp.msgpack` for a zkml model.
fn read_calibration(model: &Path, p: &Path) -> Result<Vec<trustml::data::InputData>> {
    if ModelFormat::of(p) == ModelFormat::Zkml {
        let bytes = std::fs::read(model).with_context(|| format!("reading {}", model.display()))?;
        let zm = trustml::zkml::ZkmlModel::from_bytes(&bytes, &model.display().to_string())?;
        return Ok(vec![trustml::zkml::input_data(p, zm.scale_bits()?)?]);
    }
    Ok(read_samples(p)?)
}

fn load_salts(path: Option<&Path>) -> Result<Salts> {
    let mut salts = trustml::model::random_salts();
    let Some(path) = path else { return Ok(salts) };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    for (key, slot) in [
        ("input", &mut salts.input),
        ("weights", &mut salts.weights),
        ("output", &mut salts.output),
    ] {
        if let Some(s) = v.get(key) {
            let s = s
                .as_str()
                .with_context(|| format!("{}: \"{key}\" must be a hex string", path.display()))?;
            *slot = fr_from_hex(s).with_context(|| format!("{}: \"{key}\" is not a field element (0x + up to 64 hex digits, below the BN254 modulus)", path.display()))?;
        }
    }
    Ok(salts)
}
