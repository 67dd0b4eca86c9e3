//! The indexer's catch-up rate: a local Anvil with N listing events (accept-all verifiers),
//! indexed from scratch into a fresh SQLite file (or `DB`); prints events per second.
//!
//! `cargo run --release -p trustml-server --example index_bench -- [N] [DB]` (default 1,000;
//! needs `npm ci` at the repo root for Anvil; sending the listings takes ~64 ms each).

use alloy::primitives::U256;
use alloy::providers::Provider;
use std::path::Path;
use std::time::{Duration, Instant};
use trustml_chain::anvil::Anvil;
use trustml_chain::market::{CircuitArtifacts, MarketParams};
use trustml_chain::Client;
use trustml_server::indexer::{self, Indexer, IndexerConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).map_or(Ok(1000), |s| s.parse())?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let node = Anvil::start(&root).ok_or_else(|| anyhow::anyhow!("no anvil: run `npm ci`"))?;
    let c = Client::connect_with_key(&node.url, None).await?;
    let code = hex::decode(trustml_chain::anvil::ACCEPT_ALL_VERIFIER)?;
    let art = |d: u8, inputs: usize| CircuitArtifacts {
        verifier: &code,
        num_public_inputs: inputs,
        proof_len: 96,
        vk_digest: [d; 32],
    };
    let m = c
        .deploy_market(
            art(1, 3),
            art(2, 8),
            &MarketParams {
                fee_recipient: None,
                fee_bps: 0,
                delivery_window: 3600,
                reveal_window: 600,
                verifier_gas_limit: 1_000_000,
            },
        )
        .await?;
    let t = Instant::now();
    let proof = vec![0u8; 96];
    for i in 0..n {
        c.list(
            &m,
            U256::from(i),
            U256::from(i),
            U256::from(1000 + i),
            trustml_chain::B256::ZERO,
            &proof,
        )
        .await?;
    }
    println!(
        "{n} listings on chain in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir()?;
    let db = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| dir.path().join("index.db").display().to_string());
    let pool = trustml_server::db::connect(&db).await?;
    let reader = Client::connect(&node.url).await?;
    let head = reader.provider().get_block_number().await?;
    let (mut ix, _) = Indexer::new(
        reader,
        pool.clone(),
        IndexerConfig {
            marketplace: m.marketplace,
            audit_escrow: None,
            confirmations: 0,
            from_block: 0,
            max_batch: 2000,
            poll: Duration::from_millis(10),
        },
    );
    let t = Instant::now();
    while indexer::cursor(&pool).await?.map(|c| c.0) != Some(head) {
        ix.step().await?;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "indexed {n} events ({head} blocks) in {s:.2} s: {:.0} events/s",
        n as f64 / s
    );
    Ok(())
}
