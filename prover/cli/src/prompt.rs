//! `trustml prompt …`: the proofs and files of the prompt marketplace (no chain access; the
//! `market` commands send them).

use crate::spinner;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use trustml::data::{read_input, InputData};
use trustml::market::delivery::DeliveryDir;
use trustml::market::delivery_circuit::MAX_BLOCKS;
use trustml::market::listing;
use trustml::market::metadata::{sha256, ListingMetadata, METADATA_FORMAT_VERSION};
use trustml::market::{OrderRef, PointJson};
use trustml::model::CompiledModel;
use trustml::proof;
use trustml_kit::field::to_hex as fr_to_hex;
use trustml_kit::fs::write_json;
use trustml_kit::ProofFile;
use trustml_srs::{Srs, INSECURE_WARNING};

#[derive(Subcommand)]
pub enum PromptCmd {
    /// Buyer: make a Baby Jubjub key pair; give the public key to `market buy`, keep the
    /// file secret.
    Keygen {
        #[arg(short, long)]
        output: PathBuf,
        /// Derive the key from your wallet's signature (0x-hex, 65 bytes) of the message
        /// `trustml market key-message` prints, as the web app does, instead of drawing one at
        /// random: the same wallet then gets the same key in the browser and here.
        #[arg(long)]
        from_signature: Option<String>,
    },
    /// Seller: prove that a hidden prompt, run through the generator in MODEL_DIR (compiled
    /// with --listing), yields the output shown. Writes the listing (public) and the listing
    /// secret (keep it: every delivery needs it).
    ProveListing {
        /// The listing model's directory (`trustml compile --listing`, then `setup`).
        model_dir: PathBuf,
        /// The prompt: {"input_data": [[tokens…]]}. A text model also takes its prompt as
        /// `--text` instead.
        #[arg(required_unless_present = "text")]
        prompt: Option<PathBuf>,
        /// A text model's prompt as text (shorter ones are padded on the left with spaces);
        /// the completion is the model's greedy decoding of it.
        #[arg(long, conflicts_with = "prompt")]
        text: Option<String>,
        /// The address that will send `market list` (0x…): the proof holds for it only.
        #[arg(long)]
        seller: String,
        /// Listing file (default MODEL_DIR/listing.json).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Secret file (default: the listing file with extension .secret.json).
        #[arg(long)]
        secret: Option<PathBuf>,
    },
    /// Seller: write the listing's metadata document (title, description, tags and the
    /// proven example output). Its sha256 goes on chain with `market list --metadata`, so
    /// what the listing says cannot be changed by anyone afterwards; upload the same file to
    /// the server (`PUT /api/v1/artifacts`) for the dApp to show it.
    Metadata {
        /// `prove-listing`'s listing file.
        listing: PathBuf,
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        description: String,
        /// A search tag (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Output file (default: the listing file with extension .metadata.json).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Make the keys of the delivery circuit for prompts of the model in MODEL_DIR (or of
    /// --blocks blocks) into DIR.
    SetupDelivery {
        /// The delivery circuit directory to write.
        dir: PathBuf,
        #[arg(long, required_unless_present = "blocks")]
        model: Option<PathBuf>,
        #[arg(long, conflicts_with = "model")]
        blocks: Option<usize>,
        #[arg(long)]
        srs: PathBuf,
    },
    /// Seller: prove that a fresh ciphertext holds the listed prompt, for this buyer and
    /// this order. The proof is bound to the order's tag (chain id, marketplace address and
    /// order id: the encryption nonce), taken from --market or --chain-id/--marketplace.
    ProveDelivery {
        /// Delivery circuit directory (`setup-delivery`).
        dir: PathBuf,
        #[arg(long)]
        secret: PathBuf,
        /// The buyer's public key: their key file's "public" part, {"x": "0x…", "y": "0x…"}.
        #[arg(long, alias = "buyer")]
        buyer_key: PathBuf,
        #[arg(long)]
        order: u64,
        /// The deployment record written by `market deploy` (for its chain id and
        /// marketplace address).
        #[arg(long, default_value = "market.json")]
        market: PathBuf,
        /// The chain id, instead of --market's.
        #[arg(long, requires = "marketplace")]
        chain_id: Option<u64>,
        /// The PromptMarketplace address (0x…), instead of --market's.
        #[arg(long, requires = "chain_id")]
        marketplace: Option<String>,
        /// Proof file (default DIR/delivery-ORDER.json).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Buyer: decrypt a delivered prompt with your key file. CIPHERTEXT is what `market
    /// receive` wrote, or a delivery proof file.
    Decrypt {
        #[arg(long)]
        key: PathBuf,
        /// The ciphertext file (`market receive` writes it; or the delivery proof file).
        ciphertext: PathBuf,
        /// The listing's model directory: also print the prompt as model input values.
        #[arg(long)]
        model: Option<PathBuf>,
    },
}

pub fn run(cmd: PromptCmd) -> Result<ExitCode> {
    match cmd {
        PromptCmd::Keygen {
            output,
            from_signature,
        } => {
            if output.exists() {
                bail!(
                    "{} exists; refusing to overwrite a key (it may hold bought prompts)",
                    output.display()
                );
            }
            let key = match &from_signature {
                None => trustml::market::keygen(),
                Some(sig) => {
                    let bytes = hex::decode(sig.trim_start_matches("0x"))
                        .ok()
                        .filter(|b| b.len() == 65)
                        .with_context(|| {
                            format!("--from-signature {sig} is not a 65-byte 0x-hex signature")
                        })?;
                    trustml::market::key_from_signature(&bytes)
                }
            };
            write_json(&output, &key)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&output, std::fs::Permissions::from_mode(0o600))?;
            }
            println!("key pair written to {} (keep it secret)", output.display());
            println!("public key: x = {}, y = {}", key.public.x, key.public.y);
        }
        PromptCmd::Metadata {
            listing: path,
            title,
            description,
            tags,
            output,
        } => {
            let l = listing::Listing::read(&path)?;
            l.check_preview(&path)?;
            let doc = ListingMetadata {
                format_version: METADATA_FORMAT_VERSION,
                title,
                description,
                tags,
                settings_digest: l.proof.settings_digest.clone(),
                example_output: l.proof.outputs.clone(),
            };
            doc.check().map_err(|e| anyhow::anyhow!("{e}"))?;
            let out = output.unwrap_or_else(|| path.with_extension("metadata.json"));
            let bytes = doc.to_bytes();
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            println!("metadata written to {}", out.display());
            println!(
                "  sha256 0x{} (give the file to `market list --metadata`)",
                hex::encode(sha256(&bytes))
            );
        }
        PromptCmd::ProveListing {
            model_dir,
            prompt,
            text,
            seller,
            output,
            secret,
        } => {
            let seller = listing::parse_address(&seller).with_context(|| {
                format!("--seller {seller} is not an address: give the 0x-prefixed 20-byte address that will send `market list`")
            })?;
            let m = CompiledModel::load(&model_dir)?;
            listing::check_listing_model(&m)?;
            let out = output.unwrap_or_else(|| model_dir.join("listing.json"));
            let secret = secret.unwrap_or_else(|| out.with_extension("secret.json"));
            if secret.exists() {
                bail!("{} exists; refusing to overwrite a listing secret (it opens a listed commitment)", secret.display());
            }
            let keys = proof::load_keys(&m, true)?;
            if keys.insecure_srs {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
            let (data, prompt) = match (text, prompt) {
                (Some(text), _) => {
                    let spec = m.settings.text.as_ref().with_context(|| {
                        format!(
                            "{} is not a text model: give the prompt as an input file",
                            model_dir.display()
                        )
                    })?;
                    let ids = spec.encode(&text)?;
                    let data = InputData {
                        input_data: vec![ids.iter().map(|&i| i as f32).collect()],
                        input_shapes: None,
                        output_data: None,
                    };
                    (data, PathBuf::from("--text"))
                }
                (None, Some(p)) => (read_input(&p)?, p),
                (None, None) => unreachable!("clap requires PROMPT or --text"),
            };
            let t = Instant::now();
            let bar = crate::Bar::new("listing:");
            let (l, s) = listing::prove_listing_with(&m, &keys, &data, &prompt, seller, &bar)?;
            bar.finish();
            listing::write_listing(&l, &out, &s, &secret)?;
            println!(
                "listing proof written to {} in {:.2} s",
                out.display(),
                t.elapsed().as_secs_f64()
            );
            println!("  commitment C = {}", l.commitment);
            println!(
                "  output hash H = {} (Poseidon of the output, salt 0)",
                l.output_hash
            );
            println!("  seller = {} (only it can list this proof)", l.seller);
            if let Some(spec) = &m.settings.text {
                let ids = s.prompt.iter().map(|&v| v as i128).collect::<Vec<_>>();
                println!("  prompt (hidden)     {:?}", spec.decode(&ids)?);
                println!(
                    "  completion (public) {:?}",
                    listing::completion_text(&l, spec)?
                );
            }
            println!(
                "secret (prompt + salt: keep it, every delivery needs it) written to {}",
                secret.display()
            );
        }
        PromptCmd::SetupDelivery {
            dir,
            model,
            blocks,
            srs,
        } => {
            let blocks = match (model, blocks) {
                (_, Some(b)) => b,
                (Some(m), None) => {
                    let m = CompiledModel::load(&m)?;
                    listing::check_listing_model(&m)?;
                    // The blocks are the prompt's packed words (trustml::packing).
                    let n: usize = m.program.inputs.iter().map(|(_, w)| w.len()).sum();
                    trustml::packing::InputPacking::of(&m.program).words(n)
                }
                (None, None) => bail!("give --model or --blocks"),
            };
            if blocks == 0 || blocks > MAX_BLOCKS {
                bail!("a delivery circuit takes 1 to {MAX_BLOCKS} prompt blocks, not {blocks}");
            }
            let srs = Srs::read(&srs)?;
            if srs.is_insecure() {
                eprintln!("WARNING: {INSECURE_WARNING}");
            }
            let d = DeliveryDir::create(&dir, blocks)?;
            let t = Instant::now();
            let pb = spinner("setup");
            d.setup(&srs, |step| pb.set_message(step.to_string()))?;
            pb.finish_and_clear();
            println!(
                "delivery keys for {blocks}-block prompts written to {} in {:.1} s (k = {})",
                dir.display(),
                t.elapsed().as_secs_f64(),
                d.settings.k
            );
        }
        PromptCmd::ProveDelivery {
            dir,
            secret,
            buyer_key: buyer,
            order,
            market,
            chain_id,
            marketplace,
            output,
        } => {
            let pk = PointJson::read_public_key(&buyer)?
                .point()
                .ok_or(trustml::market::MarketError::BadBuyerKey)?;
            let (chain_id, market) = match (chain_id, marketplace) {
                (Some(c), Some(a)) => (c, trustml_chain::parse_address(&a)?),
                _ => {
                    let m = crate::market::load(&market)?;
                    (m.chain_id, m.marketplace)
                }
            };
            let order = OrderRef {
                chain_id,
                market: market.into(),
                order_id: order,
            };
            prove_delivery(&dir, &secret, &pk, &order, output)?;
        }
        PromptCmd::Decrypt {
            key,
            ciphertext,
            model,
        } => {
            let (plain, _) = trustml::market::decrypt_files(&key, &ciphertext)?;
            print_plaintext(&plain, model.as_deref(), serde_json::json!({}))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints decrypted blocks as JSON into `out` (an object): with the listing's `model`
/// directory, `blocks` (the prompt's quantized values, unpacked from the words) and
/// `input_data` (the prompt as model inputs); without it, the packed `words`. Words that do
/// not unpack are reported (a wrong key or order id).
pub fn print_plaintext(
    plain: &[trustml_kit::Fr],
    model: Option<&Path>,
    mut out: serde_json::Value,
) -> Result<()> {
    let hex: Vec<String> = plain.iter().map(fr_to_hex).collect();
    match model {
        Some(m) => {
            let m = CompiledModel::load(m)?;
            match trustml::market::unpack_prompt(plain, &m) {
                Some(ints) => {
                    let prompt =
                        trustml::market::blocks_to_input(&ints, m.settings.quant.scale_bits);
                    out["input_data"] = serde_json::json!([prompt]);
                    out["blocks"] = serde_json::json!(ints);
                    if let Some(t) = &m.settings.text {
                        let vals: Vec<i128> = ints.iter().map(|&v| v as i128).collect();
                        match t.ids_of(&vals, m.settings.quant.scale_bits) {
                            Ok(ids) => {
                                out["prompt_text"] = t.decode(&ids[..t.prompt_len])?.into();
                                out["completion_text"] = t.decode(&ids[t.prompt_len..])?.into();
                            }
                            Err(e) => eprintln!("warning: the plaintext is not a text prompt of this model ({e}): wrong key, order id or model?"),
                        }
                    }
                }
                None => {
                    eprintln!(
                        "warning: the plaintext is not a prompt of this model: wrong key, order id or model?"
                    );
                    out["field_elements"] = serde_json::json!(hex);
                }
            }
        }
        None => {
            eprintln!(
                "note: the prompt is packed several values to a word; pass --model DIR (the listing's model) to read it"
            );
            out["words"] = serde_json::json!(hex);
        }
    }
    println!("{out}");
    Ok(())
}

/// Proves a delivery (see [`trustml::market::delivery::prove_delivery`]) with a spinner.
pub fn prove_delivery(
    dir: &Path,
    secret: &Path,
    buyer: &trustml_babyjubjub::Point,
    order: &OrderRef,
    output: Option<PathBuf>,
) -> Result<(ProofFile, PathBuf)> {
    let t = Instant::now();
    let pb = spinner("proving the delivery");
    let (pf, out) = trustml::market::delivery::prove_delivery(dir, secret, buyer, order, output)?;
    pb.finish_and_clear();
    if pf.insecure_srs {
        eprintln!("WARNING: {INSECURE_WARNING}");
    }
    println!(
        "delivery proof for order {} (marketplace 0x{}, chain {}) written to {} in {:.2} s",
        order.order_id,
        hex::encode(order.market),
        order.chain_id,
        out.display(),
        t.elapsed().as_secs_f64()
    );
    Ok((pf, out))
}
