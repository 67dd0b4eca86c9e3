//! Listing-query latency of `/api/v1` on 127.0.0.1: 10,000 listings and 50,000 orders in a
//! fresh SQLite file (or `--db postgres://…`), requests at a fixed rate from concurrent
//! clients for a bounded time; prints p50/p90/p99/max and errors.
//!
//! `cargo run --release -p trustml-server --example api_bench -- [RATE] [SECONDS] [DB]`
//! (defaults 500 requests/s for 10 s on a temporary SQLite file).

use std::sync::Arc;
use std::time::{Duration, Instant};
use trustml_server::api::{self, AppState, PublicConfig};
use trustml_server::indexer::price_key;

const LISTINGS: i64 = 10_000;
const ORDERS: i64 = 50_000;
const SELLERS: i64 = 200;

fn addr(i: i64) -> String {
    format!("0x{i:040x}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rate: u64 = args.get(1).map_or(Ok(500), |s| s.parse())?;
    let secs: u64 = args.get(2).map_or(Ok(10), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let db = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| dir.path().join("bench.db").display().to_string());
    let pool = trustml_server::db::connect(&db).await?;

    let t = Instant::now();
    let mut tx = pool.begin().await?;
    for id in 1..=LISTINGS {
        let price = ((id * 7919) % 100_000 + 1) * 1_000_000_000;
        sqlx::query(
            "INSERT INTO listings (id, seller, listing_circuit, delivery_circuit, commitment, \
             output_hash, price, price_key, active, sales, listed_block, listed_tx) \
             VALUES ($1, $2, '0x01', '0x02', '7', '8', $3, $4, $5, 0, $6, '0xaa') \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(addr(id % SELLERS + 1))
        .bind(price.to_string())
        .bind(price_key(&price.to_string()))
        .bind(i64::from(id % 10 != 0))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    for id in 1..=ORDERS {
        sqlx::query(
            "INSERT INTO orders (id, listing_id, buyer, pk_x, pk_y, amount, deadline, status, \
             purchase_tx) VALUES ($1, $2, $3, '1', '2', '1000', 0, 'paid', '0xbb') \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind((id * 31) % LISTINGS + 1)
        .bind(addr(1000 + id % 5000))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    println!(
        "{LISTINGS} listings, {ORDERS} orders in {} ({:.1} s)",
        if db.starts_with("postgres") {
            "Postgres"
        } else {
            "SQLite"
        },
        t.elapsed().as_secs_f64()
    );

    let (_status_tx, status) = tokio::sync::watch::channel(Default::default());
    let (events, _) = tokio::sync::broadcast::channel(16);
    let state = AppState {
        pool,
        config: PublicConfig {
            chain_id: 31337,
            rpc_url: "http://127.0.0.1:8545".into(),
            contracts: serde_json::json!({}),
            confirmations: 0,
            dev_accounts: false,
            circuits: serde_json::Value::Null,
        },
        status,
        events,
        settings: Default::default(),
        chain: None,
        jobs: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, api::router(state)).await });

    // The mix a browse page makes: sorted pages, a seller's listings, a listing page.
    let queries: Arc<Vec<String>> = Arc::new(
        (0..64)
            .map(|i| match i % 4 {
                0 => format!("{base}/api/v1/listings?sort=price_asc&active=true&limit=20"),
                1 => format!(
                    "{base}/api/v1/listings?seller={}&limit=20",
                    addr(i % SELLERS + 1)
                ),
                2 => format!("{base}/api/v1/listings/{}", (i * 131) % LISTINGS + 1),
                _ => format!("{base}/api/v1/listings?sort=newest&limit=20"),
            })
            .collect(),
    );
    let client = reqwest::Client::new();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<(Duration, bool)>();
    let total = rate * secs;
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let start = Instant::now();
    for n in 0..total {
        let due = start + period * n as u32;
        tokio::time::sleep_until(due.into()).await;
        let (client, queries, done) = (client.clone(), queries.clone(), done_tx.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            let url = &queries[n as usize % queries.len()];
            let ok =
                match tokio::time::timeout(Duration::from_secs(5), client.get(url).send()).await {
                    Ok(Ok(r)) => r.status().is_success() && r.bytes().await.is_ok(),
                    _ => false,
                };
            let _ = done.send((t.elapsed(), ok));
        });
    }
    drop(done_tx);
    let mut lat = vec![];
    let mut errors = 0;
    while let Some((d, ok)) = done_rx.recv().await {
        lat.push(d);
        errors += usize::from(!ok);
    }
    let wall = start.elapsed().as_secs_f64();
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "{} requests in {wall:.1} s ({:.0}/s): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {errors} errors",
        lat.len(),
        lat.len() as f64 / wall,
        p(0.5),
        p(0.9),
        p(0.99),
        p(1.0),
    );
    Ok(())
}
