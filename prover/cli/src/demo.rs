//! `trustml demo …`: a local marketplace that is not empty, from committed, pre-computed
//! proofs (`anvil-scripts/demo/`, written by `anvil-scripts/make-demo-fixtures.sh`), so a fresh
//! clone reaches a browsable dApp in seconds instead of minutes of key generation and proving.
//!
//! The keys are Anvil's public dev keys and the SRS is the insecure development one: this is a
//! demo of the flow, never a deployment.

use crate::block_on;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trustml::market::listing::Listing;
use trustml::market::metadata::sha256;
use trustml::market::{CiphertextFile, PointJson};
use trustml_chain::market::{CircuitArtifacts, MarketDeployment, MarketParams};
use trustml_chain::verifier::DEFAULT_VERIFIER_GAS_LIMIT;
use trustml_chain::{Address, Client, B256, U256};
use trustml_kit::ProofFile;

/// Anvil's dev keys 0–2 (public knowledge; a local chain only).
pub const ANVIL_KEYS: [&str; 3] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

#[derive(Subcommand)]
pub enum DemoCmd {
    /// Deploy the marketplace from the fixtures' verifiers and seed it: the fixture listings
    /// (Anvil accounts 0 and 1 sell) and one completed sale (account 2 buys listing 1, the
    /// seller delivers with the fixture's delivery proof). Writes --market. Idempotent: a chain
    /// that already has --market's contracts is left as it is.
    Seed {
        /// The fixtures directory.
        #[arg(long, default_value = "anvil-scripts/demo")]
        fixtures: PathBuf,
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        rpc_url: String,
        /// The deployment record to write.
        #[arg(long, default_value = "market.json")]
        market: PathBuf,
    },
    /// Upload the fixture listings' metadata documents to a trustml-server (each seller signs
    /// in with Sign-In With Ethereum using its Anvil key). Idempotent.
    Publish {
        #[arg(long, default_value = "anvil-scripts/demo")]
        fixtures: PathBuf,
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
    },
}

/// `demo.json`: what the fixtures hold.
#[derive(Debug, Serialize, Deserialize)]
pub struct DemoFixtures {
    /// The marketplace address the delivery proof's order tag was made for (a fresh Anvil,
    /// deployed by account 0 as `seed` does).
    pub marketplace: Address,
    pub chain_id: u64,
    pub listing: CircuitFixture,
    pub delivery: CircuitFixture,
    /// Further listing kinds, allowed after deployment (`market add-pair`).
    #[serde(default)]
    pub pairs: Vec<PairFixture>,
    pub listings: Vec<ListingFixture>,
    /// The sale of listing 1 to account 2 (order 1).
    pub sale: SaleFixture,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CircuitFixture {
    /// File with the verifier's creation code, hex.
    pub verifier: String,
    pub num_public_inputs: usize,
    pub proof_len: usize,
    pub vk_digest: B256,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PairFixture {
    pub listing: CircuitFixture,
    pub delivery: CircuitFixture,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ListingFixture {
    /// The listing kind: 0 for the deployment's own pair, `i` for `pairs[i − 1]`.
    #[serde(default)]
    pub pair: usize,
    /// The listing file (`prompt prove-listing`).
    pub listing: String,
    /// Its metadata document (`prompt metadata`).
    pub metadata: String,
    /// Price, wei.
    pub price: U256,
    /// Index into [`ANVIL_KEYS`] of the seller.
    pub seller: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SaleFixture {
    /// The buyer's Baby Jubjub key file (demo only).
    pub buyer_key: String,
    /// Index into [`ANVIL_KEYS`] of the buyer's account.
    pub buyer: usize,
    /// The delivery proof for order 1.
    pub delivery: String,
}

impl DemoFixtures {
    fn read(dir: &Path) -> Result<Self> {
        let p = dir.join("demo.json");
        let text = std::fs::read_to_string(&p).with_context(|| {
            format!(
                "reading {} (make it with anvil-scripts/make-demo-fixtures.sh)",
                p.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a demo fixtures file", p.display()))
    }
}

fn artifacts<'a>(c: &CircuitFixture, code: &'a [u8]) -> CircuitArtifacts<'a> {
    CircuitArtifacts {
        verifier: code,
        num_public_inputs: c.num_public_inputs,
        proof_len: c.proof_len,
        vk_digest: c.vk_digest.0,
    }
}

fn read_hex(path: &Path) -> Result<Vec<u8>> {
    let t = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    hex::decode(t.trim().trim_start_matches("0x"))
        .with_context(|| format!("{} is not hex", path.display()))
}

fn u256_hex(s: &str) -> Result<U256> {
    U256::from_str_radix(s.trim_start_matches("0x"), 16)
        .with_context(|| format!("{s} is not a hex number"))
}

pub fn run(cmd: DemoCmd) -> Result<ExitCode> {
    match cmd {
        DemoCmd::Seed {
            fixtures,
            rpc_url,
            market,
        } => block_on(seed(&fixtures, &rpc_url, &market))?,
        DemoCmd::Publish { fixtures, server } => block_on(publish(&fixtures, &server))?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn seed(dir: &Path, rpc: &str, market: &Path) -> Result<()> {
    let fx = DemoFixtures::read(dir)?;
    let deployer = Client::connect_with_key(rpc, Some(ANVIL_KEYS[0])).await?;
    if let Ok(text) = std::fs::read_to_string(market) {
        if let Ok(m) = serde_json::from_str::<MarketDeployment>(&text) {
            if m.chain_id == deployer.chain_id() && deployer.code_size(m.marketplace).await? > 0 {
                println!(
                    "already seeded: {} on {rpc} ({})",
                    m.marketplace,
                    market.display()
                );
                return Ok(());
            }
        }
    }
    if deployer.chain_id() != fx.chain_id {
        bail!(
            "{rpc} is chain {}, the demo fixtures were made for chain {}",
            deployer.chain_id(),
            fx.chain_id
        );
    }
    let (lv, dv) = (
        read_hex(&dir.join(&fx.listing.verifier))?,
        read_hex(&dir.join(&fx.delivery.verifier))?,
    );
    let m = deployer
        .deploy_market(
            artifacts(&fx.listing, &lv),
            artifacts(&fx.delivery, &dv),
            &MarketParams {
                fee_recipient: None,
                fee_bps: 100,
                delivery_window: 86_400,
                reveal_window: 3_600,
                verifier_gas_limit: DEFAULT_VERIFIER_GAS_LIMIT,
            },
        )
        .await?;
    if m.marketplace != fx.marketplace {
        bail!(
            "the marketplace landed at {}, the fixtures' delivery proof is for {}: seed a fresh Anvil (make down && rm -rf .trustml-local, then make up)",
            m.marketplace,
            fx.marketplace
        );
    }
    let mut m = m;
    for p in &fx.pairs {
        let (lv, dv) = (
            read_hex(&dir.join(&p.listing.verifier))?,
            read_hex(&dir.join(&p.delivery.verifier))?,
        );
        deployer
            .add_pair(
                &mut m,
                artifacts(&p.listing, &lv),
                artifacts(&p.delivery, &dv),
                DEFAULT_VERIFIER_GAS_LIMIT,
            )
            .await?;
    }
    trustml_kit::fs::write_json(market, &m)?;
    println!(
        "deployed the marketplace {} (registry {}, {} listing kinds); wrote {}",
        m.marketplace,
        m.registry,
        1 + m.pairs.len(),
        market.display()
    );
    for (i, l) in fx.listings.iter().enumerate() {
        let path = dir.join(&l.listing);
        let listing = Listing::read(&path)?;
        listing.check_preview(&path)?;
        let meta = std::fs::read(dir.join(&l.metadata))
            .with_context(|| format!("reading {}", l.metadata))?;
        let seller = Client::connect_with_key(rpc, Some(ANVIL_KEYS[l.seller])).await?;
        let circuit = match l.pair {
            0 => m.listing_circuit_id,
            i => {
                m.pairs
                    .get(i - 1)
                    .with_context(|| format!("{}: no listing kind {i}", l.listing))?
                    .listing_circuit_id
            }
        };
        let s = seller
            .list_with(
                &m,
                circuit,
                u256_hex(&listing.commitment)?,
                u256_hex(&listing.output_hash)?,
                l.price,
                B256::from(sha256(&meta)),
                &listing.proof.proof_bytes(&path)?,
            )
            .await?;
        println!("listed #{} ({}; gasUsed {})", i + 1, l.listing, s.gas_used);
    }
    // The sale: account 2 buys listing 1, the seller delivers the pre-computed proof.
    let key: PointJson = serde_json::from_value(
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(
            dir.join(&fx.sale.buyer_key),
        )?)?["public"]
            .clone(),
    )
    .context("the buyer key file has no public part")?;
    let buyer = Client::connect_with_key(rpc, Some(ANVIL_KEYS[fx.sale.buyer])).await?;
    let o = buyer
        .buy(&m, U256::from(1), (u256_hex(&key.x)?, u256_hex(&key.y)?))
        .await?;
    println!(
        "bought listing 1: order {} (gasUsed {})",
        o.id.unwrap_or_default(),
        o.gas_used
    );
    let dpath = dir.join(&fx.sale.delivery);
    let pf = ProofFile::read(&dpath)?;
    let oref = crate::market::order_ref(&m, 1);
    let ct = CiphertextFile::for_order(&pf, &dpath, &oref, &key)?;
    let blocks = ct
        .blocks
        .iter()
        .map(|b| u256_hex(b))
        .collect::<Result<Vec<_>>>()?;
    let seller = Client::connect_with_key(rpc, Some(ANVIL_KEYS[fx.listings[0].seller])).await?;
    let d = seller
        .deliver_with_commitment(
            &m,
            U256::from(1),
            (u256_hex(&ct.r.x)?, u256_hex(&ct.r.y)?),
            blocks,
            &pf.proof_bytes(&dpath)?,
            60,
        )
        .await?;
    println!("delivered order 1 (reveal gasUsed {})", d.reveal.gas_used);
    Ok(())
}

/// Signs in to `server` with Anvil key `key` (SIWE); returns the session token.
async fn sign_in(http: &reqwest::Client, server: &str, key: &str) -> Result<String> {
    use alloy::signers::{local::PrivateKeySigner, Signer as _};
    let signer: PrivateKeySigner = key.parse()?;
    let n: serde_json::Value = http
        .get(format!("{server}/api/v1/auth/nonce"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let domain = n["domain"]
        .as_str()
        .context("the server's nonce has no domain")?;
    let message = trustml_chain::siwe::message(
        domain,
        signer.address(),
        n["chainId"].as_u64().unwrap_or(0),
        n["nonce"].as_str().unwrap_or(""),
        "Publish the trustml demo listings.",
    );
    let sig = signer.sign_message(message.as_bytes()).await?;
    let r: serde_json::Value = http
        .post(format!("{server}/api/v1/auth/login"))
        .json(&serde_json::json!({ "message": message, "signature": format!("0x{}", hex::encode(sig.as_bytes())) }))
        .send()
        .await?
        .json()
        .await?;
    Ok(r["token"]
        .as_str()
        .with_context(|| format!("sign-in refused: {r}"))?
        .to_string())
}

async fn publish(dir: &Path, server: &str) -> Result<()> {
    let fx = DemoFixtures::read(dir)?;
    let http = reqwest::Client::new();
    let server = server.trim_end_matches('/');
    let mut tokens: std::collections::BTreeMap<usize, String> = Default::default();
    for l in &fx.listings {
        let token = match tokens.get(&l.seller) {
            Some(t) => t.clone(),
            None => {
                let t = sign_in(&http, server, ANVIL_KEYS[l.seller]).await?;
                tokens.insert(l.seller, t.clone());
                t
            }
        };
        let body = std::fs::read(dir.join(&l.metadata))?;
        let r = http
            .put(format!("{server}/api/v1/artifacts"))
            .bearer_auth(&token)
            .body(body)
            .send()
            .await?;
        let status = r.status();
        let v: serde_json::Value = r.json().await?;
        if !status.is_success() {
            bail!("uploading {}: {status} {v}", l.metadata);
        }
        println!(
            "published {} as {}",
            l.metadata,
            v["sha256"].as_str().unwrap_or("?")
        );
    }
    Ok(())
}
