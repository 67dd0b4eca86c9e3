//! `trustml img …`: attested image edits — commit an image, set up an edit's keys, prove an
//! edit of a private image, verify a proof, prove and check a chain of edits.

use crate::{spinner, Bar};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use trustml::img::dir::{
    beside, random_secret, read_secret, replace_secret, secret_path, write_secret,
};
use trustml::img::{ChainFile, Dims, Edit, EditProofFile, Image, ImgDir, SetupOptions, Verified};
use trustml_kit::field::{to_hex, Fr};
use trustml_kit::progress::Progress;
use trustml_srs::{Srs, INSECURE_WARNING};

#[derive(Subcommand)]
pub enum ImgCmd {
    #[command(flatten)]
    OnChain(crate::img_chain::ImgChainCmd),
    /// Print an image's commitment H. Public by default (salt 0: anyone recomputes H from
    /// the pixels); --salted draws a secret, writes IMAGE.secret.json beside it and hides
    /// the pixels behind H.
    Commit {
        /// A PNG or JPEG (gray or RGB, no alpha channel).
        image: PathBuf,
        /// Hide the pixels: a random secret salts every band.
        #[arg(long)]
        salted: bool,
    },
    /// Make the circuit of one EDIT on images of --size and its keys, into --output.
    /// EDIT: crop:X,Y,W,H · resize:WxH (bilinear) · contrast · brightness · white-balance ·
    /// grayscale · rgb-to-ycbcr · ycbcr-to-rgb · blur · sharpen · convolve:K1,…,K9/D.
    Setup {
        /// The edit (see above); contrast, brightness and white balance take their values
        /// per proof (`img prove --params`).
        edit: String,
        /// Input size: WIDTHxHEIGHT (RGB) or WIDTHxHEIGHTx1 (gray).
        #[arg(long)]
        size: String,
        /// Spread the work over several Poseidon chips and affine lanes: fewer rows, faster
        /// proofs of large images, but a Solidity verifier over the EVM's size limit (verify
        /// natively). An image too large for one such proof (HD) is proven in strips of
        /// bands, each proof within 8 GiB. Contrast, brightness and white balance of an image
        /// whose width is a multiple of 10 then take a table layout: one lookup per byte
        /// instead of an affine row; the colour conversions a fused layout: each output
        /// byte proven in the grid row of its pixel; a convolution window lanes: one row per
        /// input column. Default: one chip, verifiable on chain.
        #[arg(long)]
        wide: bool,
        /// With --wide: the largest k of one proof (default 19); smaller means more, smaller
        /// band proofs.
        #[arg(long, requires = "wide")]
        band_k: Option<u32>,
        /// KZG parameters (`trustml srs gen` or `srs import`).
        #[arg(long)]
        srs: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Prove DIR's edit of IMAGE (kept private: its secret file, if any, salts it): writes
    /// the edited image, its proof and, unless --reveal, the edited image's secret file.
    Prove {
        /// The edit directory (`trustml img setup`).
        dir: PathBuf,
        /// The image to edit (PNG or JPEG).
        image: PathBuf,
        /// The edit's values: alpha=1.5 (contrast), beta=-20 (brightness),
        /// gains=1.1,1.0,0.9 (white balance).
        #[arg(long, default_value = "")]
        params: String,
        /// The edited image (PNG).
        #[arg(short, long)]
        output: PathBuf,
        /// The proof file (default: OUTPUT.proof.json).
        #[arg(long)]
        proof: Option<PathBuf>,
        /// Publish the result: salt 0, so anyone recomputes its hash from the pixels.
        #[arg(long)]
        reveal: bool,
    },
    /// Verify a proof of DIR's edit; with --input / --output, also check that those images
    /// (with their secret files, or public) are the ones the proof names.
    Verify {
        /// The edit directory.
        dir: PathBuf,
        /// The proof file.
        proof: PathBuf,
        #[arg(long)]
        input: Option<PathBuf>,
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Prove every step of a chain file, then check it: each proof verifies and each step
    /// starts from the image the previous one produced. With --check, only check.
    /// CHAIN.json: {"input": "in.png", "steps": [{"dir": "crop", "proof": "1.proof.json"},
    /// {"dir": "contrast", "params": "alpha=1.2", "proof": "2.proof.json"}],
    /// "output": "out.png", "reveal": true}
    Chain {
        /// The chain file (paths inside are relative to it).
        chain: PathBuf,
        /// Check existing proofs instead of proving.
        #[arg(long)]
        check: bool,
    },
}

pub fn run(cmd: ImgCmd) -> Result<ExitCode> {
    match cmd {
        ImgCmd::OnChain(c) => crate::img_chain::run(c)?,
        ImgCmd::Commit { image, salted } => {
            let img = Image::read(&image)?;
            let secret = if salted {
                random_secret()
            } else {
                read_secret(&image, &img)?
            };
            let c = img.commit(secret);
            if salted {
                let p = write_secret(&image, &img, secret)?;
                println!(
                    "secret written to {} (keep it: proving edits of this image needs it)",
                    p.display()
                );
            } else if secret != Fr::zero() {
                println!("salted by {}", secret_path(&image).display());
            }
            println!(
                "{}: {} in {} bands of {} rows",
                image.display(),
                img.dims,
                img.dims.bands(),
                img.dims.band_rows()
            );
            println!("H = {}", to_hex(&c.hash));
        }
        ImgCmd::Setup {
            edit,
            size,
            wide,
            band_k,
            srs,
            output,
        } => {
            let edit = Edit::parse(&edit)?;
            let dims = Dims::parse(&size)?;
            let d = ImgDir::create(&output, &edit, dims, SetupOptions { wide, band_k })?;
            let k = d.header().k;
            let srs = Srs::read(&srs).with_context(|| {
                format!(
                    "reading {} ({} needs k = {k}: make an SRS with `trustml srs gen --k {k} -o srs.bin`)",
                    srs.display(),
                    d.describe()
                )
            })?;
            if srs.is_insecure() {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
            if srs.k() < k {
                bail!(
                    "the SRS has k = {} but {} needs k = {k}: trustml srs gen --k {k} -o srs.bin",
                    srs.k(),
                    d.describe()
                );
            }
            let t = Instant::now();
            let pb = spinner("building the edit circuit");
            d.setup(&srs, |s| pb.set_message(s.to_string()))?;
            pb.finish_and_clear();
            let s = &d.settings.shape;
            println!(
                "{} → {} in {:.1} s",
                d.describe(),
                output.display(),
                t.elapsed().as_secs_f64()
            );
            println!(
                "  advice columns {} ({} Poseidon chips, {} affine lanes){}, {} public inputs",
                s.advice_columns(&s.plan()?),
                s.hash_lanes,
                s.lanes,
                if d.settings.bands.is_some() {
                    " per band proof"
                } else {
                    ""
                },
                s.num_instances()?
            );
        }
        ImgCmd::Prove {
            dir,
            image,
            params,
            output,
            proof,
            reveal,
        } => {
            let d = ImgDir::load(&dir)?;
            let img = Image::read(&image)?;
            let params = d.edit().parse_params(&params)?;
            let secret_in = read_secret(&image, &img)?;
            let secret_out = if reveal { Fr::zero() } else { random_secret() };
            let t = Instant::now();
            let bar = Bar::new("proving");
            bar.stage(&d.describe(), 1);
            let p = d.prove(&img, &params, secret_in, secret_out, |done, n| {
                bar.at(done as u64, n as u64)
            });
            bar.finish();
            let p = p?;
            if p.proof.insecure_srs() {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
            let proof = proof.unwrap_or_else(|| beside(&output, ".proof.json"));
            p.output.write_png(&output)?;
            if !reveal {
                replace_secret(&output, &p.output, secret_out)?;
            }
            p.proof.write(&proof)?;
            println!(
                "proved {} in {:.1} s → {} ({}), proof {}",
                d.edit().name(),
                t.elapsed().as_secs_f64(),
                output.display(),
                if reveal {
                    "public"
                } else {
                    "salted: its secret file is beside it"
                },
                proof.display()
            );
            println!("  H_in  = {}", to_hex(&p.input_hash));
            println!("  H_out = {}", to_hex(&p.output_hash));
        }
        ImgCmd::Verify {
            dir,
            proof,
            input,
            output,
        } => {
            let d = ImgDir::load(&dir)?;
            let pf = EditProofFile::read(&proof)?;
            let keys = d.verifier_keys()?;
            let t = Instant::now();
            let Some(Verified {
                input_hash: h_in,
                output_hash: h_out,
                params,
            }) = d.verify(&keys, &pf, &proof)?
            else {
                println!(
                    "INVALID: {} is not a proof of {}",
                    proof.display(),
                    d.describe()
                );
                return Ok(ExitCode::FAILURE);
            };
            let ms = t.elapsed().as_secs_f64() * 1e3;
            for (path, h, what) in [(input, h_in, "input"), (output, h_out, "output")] {
                if let Some(path) = path {
                    let img = Image::read(&path)?;
                    let secret = read_secret(&path, &img)?;
                    if img.commit(secret).hash != h {
                        println!(
                            "INVALID: {} is not the proof's {what} image (its hash differs)",
                            path.display()
                        );
                        return Ok(ExitCode::FAILURE);
                    }
                }
            }
            let p = d.edit().describe_params(&params);
            println!(
                "valid: {}{} ({ms:.1} ms)",
                d.describe(),
                if p.is_empty() {
                    String::new()
                } else {
                    format!(", {p}")
                }
            );
            println!("  H_in  = {}", to_hex(&h_in));
            println!("  H_out = {}", to_hex(&h_out));
            if pf.insecure_srs() {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
        }
        ImgCmd::Chain { chain, check } => {
            let c = ChainFile::read(&chain)?;
            let base = chain.parent().map(PathBuf::from).unwrap_or_default();
            let report = if check {
                c.verify(&base)?
            } else {
                let bar = Bar::new("chain");
                let n = c.steps.len() as u64;
                let r = c.prove(&base, |k, what| {
                    bar.stage(&format!("step {}/{n}: {what}", k + 1), n);
                    bar.inc(k as u64);
                });
                bar.finish();
                r?
            };
            println!("chain of {} edits checked:", report.edits.len());
            println!(
                "  H_0 = {} ({})",
                to_hex(&report.hashes[0]),
                c.input.display()
            );
            for (k, e) in report.edits.iter().enumerate() {
                println!("  {e} → H_{} = {}", k + 1, to_hex(&report.hashes[k + 1]));
            }
            println!("  final image: {}", c.output.display());
            if report.insecure_srs {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
