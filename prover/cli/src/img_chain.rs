//! `trustml img deploy | register-edit | register-camera | sign-capture | submit-capture |
//! submit | submit-chain | provenance`: image provenance on chain (`trustml_chain::img`).
//!
//! Proofs are verified here before any gas is spent on them, with the public inputs the
//! contract will rebuild (`[parent, child, params…]` from the call).

use crate::block_on;
use crate::evm::{artifacts, compiled_verifier, connect, read_record, u256_of};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trustml::img::dir::{beside, read_secret};
use trustml::img::{ChainFile, EditProofFile, Image, ImgDir, Verified};
use trustml_chain::img::{sign_capture, ProvenanceDeployment};
use trustml_chain::verifier::DEFAULT_VERIFIER_GAS_LIMIT;
use trustml_chain::{parse_address, Address, Client, B256, U256};
use trustml_kit::field::{from_hex, to_hex, Fr};
use trustml_kit::fs::write_json;

/// Where the chain is and who sends.
#[derive(clap::Args)]
pub struct ProvChain {
    /// JSON-RPC endpoint: http(s):// or ws(s)://.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Sender key (hex). Default: $TRUSTML_PRIVATE_KEY, else Anvil's first dev account when
    /// the chain id is 31337.
    #[arg(long)]
    private_key: Option<String>,
    /// The deployment record written by `img deploy`.
    #[arg(long, default_value = "provenance.json")]
    provenance: PathBuf,
}

impl ProvChain {
    fn deployment(&self) -> Result<ProvenanceDeployment> {
        read_record(
            &self.provenance,
            "trustml img deploy",
            "--provenance",
            "a provenance record",
        )
    }

    async fn sender(&self, d: Option<&ProvenanceDeployment>) -> Result<Client> {
        let record = d.map(|d| (self.provenance.as_path(), d.chain_id));
        connect(&self.rpc_url, self.private_key.clone(), record).await
    }
}

/// What `img sign-capture` writes beside the image: `IMAGE.capture.json`.
#[derive(Serialize, Deserialize)]
struct CaptureFile {
    hash: String,
    camera: Address,
    signature: String,
}

fn capture_path(image: &Path) -> PathBuf {
    beside(image, ".capture.json")
}

#[derive(Subcommand)]
pub enum ImgChainCmd {
    /// Deploy a VerifierRegistry and an ImageProvenance (both owned by the sender); writes
    /// --provenance (default provenance.json).
    Deploy {
        #[command(flatten)]
        chain: ProvChain,
    },
    /// Owner: deploy DIR's verifier, register it and name it as the edit circuit it is.
    RegisterEdit {
        #[command(flatten)]
        chain: ProvChain,
        /// The edit directory (`trustml img setup`).
        dir: PathBuf,
    },
    /// Owner: let the camera ADDRESS sign captures.
    RegisterCamera {
        #[command(flatten)]
        chain: ProvChain,
        /// The camera's Ethereum address (of its secp256k1 key).
        camera: String,
    },
    /// The camera's part (a stand-in for a camera app): sign IMAGE's commitment H with
    /// --camera-key; writes IMAGE.capture.json (hash, camera, signature). No chain needed.
    SignCapture {
        /// The captured image (its secret file beside it, if salted).
        image: PathBuf,
        /// The camera's private key (hex).
        #[arg(long)]
        camera_key: String,
    },
    /// Record a signed capture (IMAGE.capture.json from `sign-capture`).
    SubmitCapture {
        #[command(flatten)]
        chain: ProvChain,
        /// The image whose capture file to submit.
        image: PathBuf,
    },
    /// Record one proven edit: PROOF of DIR's edit (verified here first).
    Submit {
        #[command(flatten)]
        chain: ProvChain,
        /// The edit directory the proof belongs to.
        dir: PathBuf,
        /// The proof file (`img prove`, or a step of `img chain`).
        proof: PathBuf,
    },
    /// Record every step of a chain file, in order (steps already recorded are skipped).
    SubmitChain {
        #[command(flatten)]
        chain: ProvChain,
        /// The chain file (`img chain`).
        file: PathBuf,
    },
    /// Walk an image (a file, with its secret file if salted, or a 0x hash) back to its
    /// capture: each step's edit and parameters, and the camera.
    Provenance {
        #[command(flatten)]
        chain: ProvChain,
        /// An image file or its hash H (0x…).
        image: String,
    },
}

/// The hash an argument names: `0x…`, else an image file (with its secret file).
fn hash_of(arg: &str) -> Result<Fr> {
    if arg.starts_with("0x") {
        return from_hex(arg).with_context(|| format!("{arg} is not a field element"));
    }
    let path = Path::new(arg);
    let img = Image::read(path)?;
    Ok(img.commit(read_secret(path, &img)?).hash)
}

/// Checks a proof of DIR natively; returns `(H_in, H_out, params)` as chain integers.
fn checked(dir: &ImgDir, proof: &Path) -> Result<(U256, U256, Vec<U256>, Vec<u8>)> {
    let file = EditProofFile::read(proof)?;
    let pf = file.whole(proof)?;
    let Some(Verified {
        input_hash: h_in,
        output_hash: h_out,
        params,
    }) = dir.verify(&dir.verifier_keys()?, &file, proof)?
    else {
        bail!(
            "{} is not a valid proof of {}: not sending it",
            proof.display(),
            dir.describe()
        );
    };
    Ok((
        u256_of(&h_in),
        u256_of(&h_out),
        params.into_iter().map(U256::from).collect(),
        pf.proof_bytes(proof)?,
    ))
}

pub fn run(cmd: ImgChainCmd) -> Result<()> {
    match cmd {
        ImgChainCmd::Deploy { chain } => {
            let d = block_on(async {
                let c = chain.sender(None).await?;
                anyhow::Ok(c.deploy_provenance().await?)
            })?;
            write_json(&chain.provenance, &d)?;
            println!(
                "ImageProvenance {} over VerifierRegistry {} (owner {}) → {}",
                d.provenance,
                d.registry,
                d.deployer,
                chain.provenance.display()
            );
        }
        ImgChainCmd::RegisterEdit { chain, dir } => {
            let mut d = chain.deployment()?;
            let img = ImgDir::load(&dir)?;
            let (gen, compiled) = compiled_verifier(&dir)?;
            let e = block_on(async {
                let c = chain.sender(Some(&d)).await?;
                anyhow::Ok(
                    c.add_edit_circuit(
                        &mut d,
                        artifacts(&gen, &compiled),
                        &img.describe(),
                        DEFAULT_VERIFIER_GAS_LIMIT,
                    )
                    .await?,
                )
            })?;
            write_json(&chain.provenance, &d)?;
            println!(
                "edit circuit {} ({}) registered: verifier {}, adapter {}",
                e.circuit_id, e.edit, e.verifier.verifier, e.verifier.adapter
            );
        }
        ImgChainCmd::RegisterCamera { chain, camera } => {
            let d = chain.deployment()?;
            let camera = parse_address(&camera)?;
            let s = block_on(async {
                let c = chain.sender(Some(&d)).await?;
                anyhow::Ok(c.register_camera(&d, camera).await?)
            })?;
            println!("camera {camera} registered (tx {})", s.tx);
        }
        ImgChainCmd::SignCapture { image, camera_key } => {
            let h = hash_of(&image.display().to_string())?;
            let signer: alloy::signers::local::PrivateKeySigner = camera_key
                .trim()
                .parse()
                .context("--camera-key is not a secp256k1 private key (64 hex digits)")?;
            let sig = sign_capture(&signer, u256_of(&h))?;
            let f = CaptureFile {
                hash: to_hex(&h),
                camera: signer.address(),
                signature: sig.to_string(),
            };
            let path = capture_path(&image);
            write_json(&path, &f)?;
            println!(
                "capture of {} (H = {}) signed by camera {} → {}",
                image.display(),
                f.hash,
                f.camera,
                path.display()
            );
        }
        ImgChainCmd::SubmitCapture { chain, image } => {
            let d = chain.deployment()?;
            let path = capture_path(&image);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "reading {} (run `trustml img sign-capture` first)",
                    path.display()
                )
            })?;
            let f: CaptureFile = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a capture file", path.display()))?;
            let h = hash_of(&image.display().to_string())?;
            if to_hex(&h) != f.hash {
                bail!(
                    "{} signs H = {}, but {} hashes to {}",
                    path.display(),
                    f.hash,
                    image.display(),
                    to_hex(&h)
                );
            }
            let sig: alloy::primitives::Bytes = f
                .signature
                .parse()
                .with_context(|| format!("{}: the signature is not hex", path.display()))?;
            let s = block_on(async {
                let c = chain.sender(Some(&d)).await?;
                anyhow::Ok(c.register_capture(&d, u256_of(&h), sig).await?)
            })?;
            println!(
                "capture H = {} by camera {} recorded (tx {}, gasUsed {})",
                f.hash, f.camera, s.tx, s.gas_used
            );
        }
        ImgChainCmd::Submit { chain, dir, proof } => {
            let d = chain.deployment()?;
            submit(&chain, &d, &dir, &proof)?;
        }
        ImgChainCmd::SubmitChain { chain, file } => {
            let d = chain.deployment()?;
            let c = ChainFile::read(&file)?;
            let base = file.parent().map(PathBuf::from).unwrap_or_default();
            c.verify(&base)?;
            for s in &c.steps {
                submit(&chain, &d, &base.join(&s.dir), &base.join(&s.proof))?;
            }
        }
        ImgChainCmd::Provenance { chain, image } => {
            let d = chain.deployment()?;
            let h = hash_of(&image)?;
            block_on(async {
                let c = chain.sender(Some(&d)).await?;
                let (hashes, camera) = c.provenance(&d, u256_of(&h)).await?;
                println!(
                    "{} ← {} edits ← capture by camera {camera}",
                    image,
                    hashes.len() - 1
                );
                for w in hashes.windows(2) {
                    let (r, params) = c.image_record(&d, w[0]).await?;
                    let edit = c.edit_of(&d, r.circuitId).await?;
                    let params: Vec<String> = params.iter().map(|p| p.to_string()).collect();
                    println!(
                        "  {:#066x} = {edit} [{}] of {:#066x}",
                        w[0],
                        params.join(", "),
                        w[1]
                    );
                }
                println!("  {:#066x}: signed capture", hashes.last().expect("one"));
                anyhow::Ok(())
            })?;
        }
    }
    Ok(())
}

fn submit(chain: &ProvChain, d: &ProvenanceDeployment, dir: &Path, proof: &Path) -> Result<()> {
    let img = ImgDir::load(dir)?;
    let (h_in, h_out, params, bytes) = checked(&img, proof)?;
    // The circuit id is the verifying key's digest (as `register-edit` registered it).
    let id = B256::from(verifier_gen::vk_digest(&img.keys(false)?.vk));
    block_on(async {
        let c = chain.sender(Some(d)).await?;
        let (known, _) = c.image_record(d, h_out).await?;
        if known.recordedAt != 0 {
            println!("{:#066x} is already recorded: skipped", h_out);
            return anyhow::Ok(());
        }
        let s = c.submit_edit(d, h_in, h_out, id, params, bytes).await?;
        println!(
            "{} recorded: {:#066x} → {:#066x} (tx {}, gasUsed {})",
            img.describe(),
            h_in,
            h_out,
            s.tx,
            s.gas_used
        );
        anyhow::Ok(())
    })
}
