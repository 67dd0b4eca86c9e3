//! The indexer's catch-up rate: a local Anvil with N listing events (accept-all verifiers, one
//! block each), indexed from scratch into a fresh SQLite file, and into a fresh Postgres
//! database too when `TRUSTML_BENCH_POSTGRES` names a server (`postgres://…/postgres`); prints
//! events per second for each.
//!
//! `cargo run --release -p trustml-server --example index_bench -- [N]` (default 1,000; needs
//! `npm ci` at the repo root for Anvil). The listings are sent without waiting for receipts
//! (nonce, gas and fees set here) and mined in full blocks.

use alloy::network::TransactionBuilder;
use alloy::primitives::U256;
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
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
    let provider = c.provider();
    let from = c.sender()?;
    let mut nonce = provider.get_transaction_count(from).await?;
    // Generous: full blocks raise the base fee.
    let fee = provider.get_gas_price().await?.max(1) * 1_000;
    // Into the pool without mining, then mined in full blocks: one block per transaction makes
    // Anvil slower with every block.
    provider
        .raw_request::<_, ()>("evm_setAutomine".into(), (false,))
        .await?;
    let mut last = None;
    for i in 0..n {
        let call = trustml_chain::bindings::PromptMarketplace::listCall {
            listingCircuitId: m.listing_circuit_id,
            deliveryCircuitId: m.delivery_circuit_id,
            commitment: U256::from(i),
            outputHash: U256::from(i),
            price: U256::from(1000 + i),
            metadataHash: trustml_chain::B256::ZERO,
            listingProof: vec![0u8; 96].into(),
        };
        let tx = TransactionRequest::default()
            .with_to(m.marketplace)
            .with_input(call.abi_encode())
            .with_nonce(nonce)
            .with_chain_id(c.chain_id())
            .with_gas_limit(500_000)
            .with_max_fee_per_gas(fee)
            .with_max_priority_fee_per_gas(0);
        last = Some(*provider.send_transaction(tx).await?.tx_hash());
        nonce += 1;
        if nonce % 50 == 0 {
            // A small pool stays fast; 50 listings stay under the gas target (the base fee falls).
            provider
                .raw_request::<_, String>("evm_mine".into(), ())
                .await?;
        }
    }
    if let Some(h) = last {
        while provider.get_transaction_receipt(h).await?.is_none() {
            provider
                .raw_request::<_, String>("evm_mine".into(), ())
                .await?;
        }
    }
    println!(
        "{n} listings on chain in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let dir = tempfile::tempdir()?;
    let mut dbs = vec![("SQLite", dir.path().join("index.db").display().to_string())];
    let pg = std::env::var("TRUSTML_BENCH_POSTGRES").ok();
    if let Some(admin) = &pg {
        let (base, _) = admin
            .rsplit_once('/')
            .expect("a postgres URL with a database");
        recreate(admin, "trustml_index_bench").await?;
        dbs.push(("Postgres", format!("{base}/trustml_index_bench")));
    }
    let reader = Client::connect(&node.url).await?;
    let head = reader.provider().get_block_number().await?;
    for (name, db) in dbs {
        let pool = trustml_server::db::connect(&db).await?;
        let (mut ix, _) = Indexer::new(
            reader.clone(),
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
            "{name}: indexed {n} events ({head} blocks) in {s:.2} s: {:.0} events/s",
            n as f64 / s
        );
    }
    if let Some(admin) = &pg {
        drop_db(admin, "trustml_index_bench").await?;
    }
    Ok(())
}

async fn recreate(admin: &str, name: &str) -> anyhow::Result<()> {
    drop_db(admin, name).await?;
    let pg = sqlx::PgPool::connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pg)
        .await?;
    Ok(())
}

async fn drop_db(admin: &str, name: &str) -> anyhow::Result<()> {
    let pg = sqlx::PgPool::connect(admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&pg)
    .await?;
    Ok(())
}
