//! `trustml market …`: the prompt marketplace on chain (deploy, list, buy, deliver — commit
//! then reveal —, receive, withdraw, refund, cancel, show). Chain access is `trustml-chain`'s;
//! proofs are made with `trustml::market`.

use crate::block_on;
use crate::evm::{compiled_verifier, key, u256_of};
use crate::prompt::{print_plaintext, prove_delivery};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trustml::market::delivery::DeliveryDir;
use trustml::market::listing::Listing;
use trustml::market::metadata::{sha256, ListingMetadata};
use trustml::market::{CiphertextFile, OrderRef, PointJson};
use trustml_chain::market::{CircuitArtifacts, MarketDeployment, MarketParams};
use trustml_chain::verifier::DEFAULT_VERIFIER_GAS_LIMIT;
use trustml_chain::{Address, Client, B256, U256};
use trustml_kit::field::{from_hex as fr_from_hex, to_hex as fr_to_hex};
use trustml_kit::fs::write_json;
use trustml_kit::ProofFile;

#[derive(clap::Args)]
pub struct Chain {
    /// JSON-RPC endpoint: http(s):// or ws(s)://.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Sender key (hex). Default: $TRUSTML_PRIVATE_KEY, else Anvil's first dev account when
    /// the chain id is 31337.
    #[arg(long)]
    private_key: Option<String>,
    /// The deployment record written by `market deploy`.
    #[arg(long, default_value = "market.json")]
    market: PathBuf,
}

#[derive(Subcommand)]
pub enum MarketCmd {
    /// Deploy the listing and delivery verifiers, a VerifierRegistry with both registered, and
    /// a PromptMarketplace; writes --market (default market.json).
    Deploy {
        #[command(flatten)]
        chain: Chain,
        #[command(flatten)]
        pair: PairDirs,
        /// Platform fee in basis points (≤ 1000).
        #[arg(long, default_value_t = 0)]
        fee_bps: u64,
        /// Seconds a seller has to commit to a delivery after a purchase before the buyer may
        /// refund.
        #[arg(long, default_value_t = 86_400)]
        delivery_window: u64,
        /// Seconds a seller has to reveal a committed delivery (refunds wait meanwhile).
        #[arg(long, default_value_t = 3_600)]
        reveal_window: u64,
    },
    /// Owner: allow another listing kind on a deployed marketplace (e.g. the image
    /// generator next to text prompts): deploys its two verifiers, registers both circuits,
    /// allows the pair and adds it to --market.
    AddPair {
        #[command(flatten)]
        chain: Chain,
        #[command(flatten)]
        pair: PairDirs,
    },
    /// Seller: list a prompt (the listing proof is verified on chain).
    List {
        #[command(flatten)]
        chain: Chain,
        /// `trustml prompt prove-listing`'s listing file.
        listing: PathBuf,
        /// Price in wei (or with an "eth" suffix, e.g. 0.01eth).
        #[arg(long)]
        price: String,
        /// The metadata document (`prompt metadata`): its sha256 is stored with the listing.
        /// Without it the listing has none, and the dApp shows it untitled.
        #[arg(long)]
        metadata: Option<PathBuf>,
        /// The listing's model directory, when the marketplace allows several listing kinds
        /// (`market add-pair`): its circuit is the one the proof is checked with. Default:
        /// the deployment's own listing circuit.
        #[arg(long)]
        listing_dir: Option<PathBuf>,
    },
    /// Buyer: print the message to sign with your wallet to derive your buyer key
    /// (`prompt keygen --from-signature`), the one the web app asks for on this marketplace.
    KeyMessage {
        /// The deployment record written by `market deploy`.
        #[arg(long, default_value = "market.json")]
        market: PathBuf,
    },
    /// Buyer: pay a listing's price into escrow, naming your Baby Jubjub public key.
    Buy {
        #[command(flatten)]
        chain: Chain,
        #[arg(long)]
        listing_id: u64,
        /// Your key file (`trustml prompt keygen`) or its public part.
        #[arg(long)]
        buyer_key: PathBuf,
    },
    /// Seller: encrypt the prompt to the order's buyer, prove it and get paid. Proves with
    /// --secret and --delivery-dir, or sends an existing --proof. Two transactions: a
    /// commitment (before the order's deadline), then the reveal (before the commitment's
    /// reveal deadline); each is refused when its deadline is less than --margin away.
    Deliver {
        #[command(flatten)]
        chain: Chain,
        #[arg(long)]
        order: u64,
        /// Seconds of safety before each deadline (chain time): no commitment when the order's
        /// deadline is closer, no reveal when the reveal deadline is.
        #[arg(long, default_value_t = DEFAULT_MARGIN)]
        margin: u64,
        #[arg(long, required_unless_present = "proof")]
        secret: Option<PathBuf>,
        #[arg(long, required_unless_present = "proof")]
        delivery_dir: Option<PathBuf>,
        /// A delivery proof made by `trustml prompt prove-delivery`.
        #[arg(long, conflicts_with_all = ["secret", "delivery_dir"])]
        proof: Option<PathBuf>,
    },
    /// Buyer: fetch the delivered ciphertext of an order and decrypt it with your key.
    Receive {
        #[command(flatten)]
        chain: Chain,
        #[arg(long)]
        order: u64,
        #[arg(long)]
        key: PathBuf,
        /// Also write the ciphertext file here.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// The listing's model directory: also print the prompt as model input values.
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Pay out what the sender is owed (seller proceeds, refunds, fees).
    Withdraw {
        #[command(flatten)]
        chain: Chain,
    },
    /// Refund an undelivered order to its buyer once its deadline has passed (anyone may).
    Refund {
        #[command(flatten)]
        chain: Chain,
        #[arg(long)]
        order: u64,
    },
    /// Seller: take a listing off sale.
    Cancel {
        #[command(flatten)]
        chain: Chain,
        #[arg(long)]
        listing_id: u64,
    },
    /// Print a listing or an order.
    Show {
        #[command(flatten)]
        chain: Chain,
        #[arg(long, required_unless_present = "order")]
        listing_id: Option<u64>,
        #[arg(long)]
        order: Option<u64>,
    },
}

/// Default `--margin` of `market deliver`: seconds of safety before a deadline.
pub const DEFAULT_MARGIN: u64 = 120;

/// The deployment record at `path`.
pub(crate) fn load(path: &Path) -> Result<MarketDeployment> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} (run `trustml market deploy` first, or pass --market)",
            path.display()
        )
    })?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a market record", path.display()))
}

fn u256_of_hex(s: &str) -> Result<U256> {
    let f = fr_from_hex(s).with_context(|| format!("{s} is not a field element"))?;
    Ok(u256_of(&f))
}

impl Chain {
    /// A client that sends from the chosen key.
    async fn sender(&self) -> trustml_chain::Result<Client> {
        Client::connect_with_key(&self.rpc_url, key(self.private_key.clone()).as_deref()).await
    }

    /// A read-only client.
    async fn reader(&self) -> trustml_chain::Result<Client> {
        Client::connect(&self.rpc_url).await
    }
}

fn hex_of_u256(v: U256) -> String {
    format!("0x{v:064x}")
}

/// Wei from "123" or "0.5eth".
pub fn parse_price(s: &str) -> Result<U256> {
    let s = s.trim();
    if let Some(eth) = s.strip_suffix("eth").or_else(|| s.strip_suffix("ether")) {
        let (int, frac) = eth.trim().split_once('.').unwrap_or((eth.trim(), ""));
        if frac.len() > 18 || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            bail!("bad price {s}: expected e.g. 0.01eth or a wei amount");
        }
        let wei = format!("{int}{frac:0<18}");
        return U256::from_str_radix(wei.trim_start_matches('0').max("0"), 10)
            .with_context(|| format!("bad price {s}"));
    }
    U256::from_str_radix(s, 10)
        .with_context(|| format!("bad price {s}: expected e.g. 0.01eth or a wei amount"))
}

/// A compiled verifier with what registering it needs.
struct Circuit {
    gen: verifier_gen::GeneratedVerifier,
    contract: verifier_gen::CompiledContract,
}

impl Circuit {
    fn of(dir: &Path) -> Result<Self> {
        let (gen, contract) = compiled_verifier(dir)?;
        Ok(Self { gen, contract })
    }

    fn artifacts(&self) -> CircuitArtifacts<'_> {
        crate::evm::artifacts(&self.gen, &self.contract)
    }
}

/// A listing model and its delivery circuit.
#[derive(clap::Args)]
pub struct PairDirs {
    /// The listing model's directory (compiled with --listing, keys made).
    #[arg(long)]
    listing_dir: PathBuf,
    /// Its delivery circuit directory (`trustml prompt setup-delivery`).
    #[arg(long)]
    delivery_dir: PathBuf,
}

impl PairDirs {
    /// Both compiled verifiers, checked to be what the marketplace takes.
    fn circuits(&self) -> Result<(Circuit, Circuit)> {
        pair_of(&self.listing_dir, &self.delivery_dir)
    }
}

fn pair_of(listing_dir: &Path, delivery_dir: &Path) -> Result<(Circuit, Circuit)> {
    if !DeliveryDir::is_delivery_dir(delivery_dir) {
        bail!(
            "{} is not a delivery circuit directory (run `trustml prompt setup-delivery`)",
            delivery_dir.display()
        );
    }
    let (l, d) = (Circuit::of(listing_dir)?, Circuit::of(delivery_dir)?);
    if l.gen.num_instances != 3 {
        bail!(
            "{} has {} public inputs; a listing circuit has 3 (C, H, seller): compile the model with --listing",
            listing_dir.display(),
            l.gen.num_instances
        );
    }
    Ok((l, d))
}

impl Chain {
    /// A sender on the chain `m` was deployed to (the order tags depend on it).
    async fn sender_on(&self, m: &MarketDeployment) -> Result<Client> {
        let c = self.sender().await?;
        if c.chain_id() != m.chain_id {
            bail!(
                "{} is chain {}, but {} records a marketplace on chain {}",
                self.rpc_url,
                c.chain_id(),
                self.market.display(),
                m.chain_id
            );
        }
        Ok(c)
    }
}

/// The order `id` of the marketplace in `m`.
pub(crate) fn order_ref(m: &MarketDeployment, id: u64) -> OrderRef {
    OrderRef {
        chain_id: m.chain_id,
        market: m.marketplace.into(),
        order_id: id,
    }
}

pub fn run(cmd: MarketCmd) -> Result<ExitCode> {
    match cmd {
        MarketCmd::Deploy {
            chain,
            pair,
            fee_bps,
            delivery_window,
            reveal_window,
        } => {
            let (l, d) = pair.circuits()?;
            let m = block_on(async {
                chain
                    .sender()
                    .await?
                    .deploy_market(
                        l.artifacts(),
                        d.artifacts(),
                        &MarketParams {
                            fee_recipient: None,
                            fee_bps,
                            delivery_window,
                            reveal_window,
                            verifier_gas_limit: DEFAULT_VERIFIER_GAS_LIMIT,
                        },
                    )
                    .await
            })?;
            write_json(&chain.market, &m)?;
            println!(
                "chain {}: PromptMarketplace {}, VerifierRegistry {}",
                m.chain_id, m.marketplace, m.registry
            );
            println!(
                "  listing circuit {} (adapter {}), delivery circuit {} (adapter {})",
                m.listing_circuit_id, m.listing.adapter, m.delivery_circuit_id, m.delivery.adapter
            );
            println!("wrote {}", chain.market.display());
        }
        MarketCmd::AddPair { chain, pair } => {
            let (l, d) = pair.circuits()?;
            let mut m = load(&chain.market)?;
            let p = block_on(async {
                chain
                    .sender_on(&m)
                    .await
                    .map_err(|e| trustml_chain::ChainError::Invalid(e.to_string()))?
                    .add_pair(
                        &mut m,
                        l.artifacts(),
                        d.artifacts(),
                        DEFAULT_VERIFIER_GAS_LIMIT,
                    )
                    .await
            })?;
            write_json(&chain.market, &m)?;
            println!(
                "allowed listing circuit {} (adapter {}) with delivery circuit {} (adapter {}); wrote {}",
                p.listing_circuit_id,
                p.listing.adapter,
                p.delivery_circuit_id,
                p.delivery.adapter,
                chain.market.display()
            );
        }
        MarketCmd::List {
            chain,
            listing,
            price,
            metadata,
            listing_dir,
        } => {
            let m = load(&chain.market)?;
            let circuit = match &listing_dir {
                Some(dir) => B256::from(compiled_verifier(dir)?.0.vk_digest),
                None => m.listing_circuit_id,
            };
            let l = Listing::read(&listing)?;
            l.check_preview(&listing)?;
            let metadata_hash = match &metadata {
                None => B256::ZERO,
                Some(p) => metadata_hash(p, &l)?,
            };
            let proof = l.proof.proof_bytes(&listing)?;
            let (c, h, price) = (
                u256_of_hex(&l.commitment)?,
                u256_of_hex(&l.output_hash)?,
                parse_price(&price)?,
            );
            let seller = l.seller(&listing)?;
            let s = block_on(async {
                let client = chain.sender().await?;
                // The proof holds for its seller only: refuse before spending gas.
                let sender: [u8; 20] = client.sender()?.into();
                if sender != seller {
                    return Err(trustml_chain::ChainError::Invalid(format!(
                        "{} was proven for seller {}, but this key is 0x{}; only the seller's key can list it",
                        listing.display(),
                        l.seller,
                        hex::encode(sender)
                    )));
                }
                client
                    .list_with(&m, circuit, c, h, price, metadata_hash, &proof)
                    .await
            })?;
            println!(
                "listed: listing id {} (tx {}, gasUsed {})",
                s.id.unwrap_or_default(),
                s.tx,
                s.gas_used
            );
        }
        MarketCmd::KeyMessage { market } => {
            let m = load(&market)?;
            println!(
                "{}",
                trustml::market::key_message(m.chain_id, m.marketplace.into())
            );
        }
        MarketCmd::Buy {
            chain,
            listing_id,
            buyer_key,
        } => {
            let m = load(&chain.market)?;
            let pk = PointJson::read_public_key(&buyer_key)?;
            pk.point()
                .ok_or(trustml::market::MarketError::BadBuyerKey)?;
            let pk = (u256_of_hex(&pk.x)?, u256_of_hex(&pk.y)?);
            let s = block_on(async {
                chain
                    .sender()
                    .await?
                    .buy(&m, U256::from(listing_id), pk)
                    .await
            })?;
            println!(
                "bought: order id {} (tx {}, gasUsed {})",
                s.id.unwrap_or_default(),
                s.tx,
                s.gas_used
            );
        }
        MarketCmd::Deliver {
            chain,
            order,
            margin,
            secret,
            delivery_dir,
            proof,
        } => {
            let m = load(&chain.market)?;
            let o =
                block_on(async { chain.reader().await?.get_order(&m, U256::from(order)).await })?;
            if o.buyer == Address::ZERO {
                bail!("no order {order} on this marketplace");
            }
            let buyer = PointJson {
                x: hex_of_u256(o.pkX),
                y: hex_of_u256(o.pkY),
            };
            let oref = order_ref(&m, order);
            let (pf, path) = match proof {
                Some(p) => (ProofFile::read(&p)?, p),
                None => {
                    let (secret, dir) = (secret.expect("clap"), delivery_dir.expect("clap"));
                    let pk = buyer.point().context("the order's buyer key is invalid")?;
                    prove_delivery(&dir, &secret, &pk, &oref, None)?
                }
            };
            let ct = CiphertextFile::for_order(&pf, &path, &oref, &buyer)?;
            let blocks = ct
                .blocks
                .iter()
                .map(|b| u256_of_hex(b))
                .collect::<Result<Vec<_>>>()?;
            let eph = (u256_of_hex(&ct.r.x)?, u256_of_hex(&ct.r.y)?);
            let proof = pf.proof_bytes(&path)?;
            let d = block_on(async {
                let c = chain.sender_on(&m).await?;
                // The proof's order input is the contract's orderTag: check both agree before
                // spending gas.
                let tag = c.order_tag(&m, U256::from(order)).await?;
                if tag != u256_of_hex(&ct.order_tag)? {
                    bail!(
                        "the marketplace's orderTag({order}) is {}, the proof's order tag is {}",
                        hex_of_u256(tag),
                        ct.order_tag
                    );
                }
                Ok(
                    c.deliver_with_commitment(&m, U256::from(order), eph, blocks, &proof, margin)
                        .await?,
                )
            })?;
            match &d.commit {
                Some(s) => println!(
                    "committed to the delivery of order {order} (digest {}; tx {}, gasUsed {})",
                    d.digest, s.tx, s.gas_used
                ),
                None => println!(
                    "order {order} already holds this delivery's commitment {}",
                    d.digest
                ),
            }
            println!(
                "delivered order {order}: revealed, proof verified on chain, payment credited (tx {}, gasUsed {}); `trustml market withdraw` pays it out",
                d.reveal.tx, d.reveal.gas_used
            );
        }
        MarketCmd::Receive {
            chain,
            order,
            key: key_file,
            output,
            model,
        } => {
            let m = load(&chain.market)?;
            let (rx, ry, blocks) =
                block_on(async { chain.reader().await?.delivery(&m, U256::from(order)).await })?
                    .with_context(|| format!("order {order} has not been delivered yet"))?;
            let ct = CiphertextFile {
                order_id: Some(order),
                order_tag: fr_to_hex(&order_ref(&m, order).tag()),
                r: PointJson {
                    x: hex_of_u256(rx),
                    y: hex_of_u256(ry),
                },
                blocks: blocks.into_iter().map(hex_of_u256).collect(),
            };
            if let Some(p) = &output {
                write_json(p, &ct)?;
            }
            let source = PathBuf::from(format!("the Delivered event of order {order}"));
            let (plain, _) = trustml::market::decrypt_with_key_file(&key_file, &ct, &source)?;
            print_plaintext(
                &plain,
                model.as_deref(),
                serde_json::json!({ "order": order }),
            )?;
        }
        MarketCmd::Withdraw { chain } => {
            let m = load(&chain.market)?;
            let s = block_on(async { chain.sender().await?.withdraw(&m).await })?;
            println!(
                "withdrew {} wei (tx {}, gasUsed {})",
                s.id.unwrap_or_default(),
                s.tx,
                s.gas_used
            );
        }
        MarketCmd::Refund { chain, order } => {
            let m = load(&chain.market)?;
            let s = block_on(async { chain.sender().await?.refund(&m, U256::from(order)).await })?;
            println!(
                "order {order} refunded: credited to its buyer, whose `trustml market withdraw` pays it out (tx {}, gasUsed {})",
                s.tx, s.gas_used
            );
        }
        MarketCmd::Cancel { chain, listing_id } => {
            let m = load(&chain.market)?;
            let s = block_on(async {
                chain
                    .sender()
                    .await?
                    .cancel(&m, U256::from(listing_id))
                    .await
            })?;
            println!("listing {listing_id} cancelled (tx {})", s.tx);
        }
        MarketCmd::Show {
            chain,
            listing_id,
            order,
        } => {
            let m = load(&chain.market)?;
            block_on(async {
                let c = chain.reader().await?;
                if let Some(id) = listing_id {
                    println!("{:#?}", c.get_listing(&m, U256::from(id)).await?);
                }
                if let Some(id) = order {
                    println!("{:#?}", c.get_order(&m, U256::from(id)).await?);
                }
                Ok::<_, trustml_chain::ChainError>(())
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// sha256 of a metadata file, after checking that it is a valid document whose example output
/// is this listing's proven output (a mismatched document would be listed forever).
fn metadata_hash(path: &Path, l: &Listing) -> Result<B256> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let doc =
        ListingMetadata::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let h = trustml_kit::field::parse(&l.output_hash).with_context(|| {
        format!(
            "the listing's output hash {} is not a field element",
            l.output_hash
        )
    })?;
    if !doc.output_matches(h)? {
        bail!(
            "{}: its example output is not the listing's proven output; write it with `trustml prompt metadata` from this listing",
            path.display()
        );
    }
    Ok(B256::from(sha256(&bytes)))
}
