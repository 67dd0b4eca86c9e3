//! `kill -9` of the real `trustml-server` binary while it indexes, several times, then a
//! restart that catches up: no event lost or duplicated — the database equals a fresh index of
//! the same chain. (Each batch is one transaction, so a kill lands before or after it.)
//! And `kill -9` in the middle of a proving job: after the restart the queue hands the job to
//! the new process, which (the prompt having died with the old one) asks for the prompt again
//! and then finishes it.
//!
//! Skipped, with a note, only when node_modules is absent (CI runs `npm ci` first).

use alloy::primitives::U256;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use trustml_chain::anvil::Anvil;
use trustml_chain::market::{CircuitArtifacts, MarketParams};
use trustml_chain::Client;
use trustml_server::indexer::{self, Indexer, IndexerConfig};

mod common;

const PROOF_LEN: usize = 96;
const LISTINGS: u64 = 120;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Starts the server; returns it and its base URL (read from its first stdout line).
/// `throttle` slows each batch down (so that a kill lands mid-catch-up on any machine).
fn start(db: &Path, market: &Path, rpc: &str, throttle: bool) -> (Child, String) {
    start_with(db, market, rpc, throttle, &[], &[])
}

/// [`start`] with more flags and environment variables.
fn start_with(
    db: &Path,
    market: &Path,
    rpc: &str,
    throttle: bool,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trustml-server"))
        .args(args)
        .envs(env.iter().copied())
        .args([
            "--db",
            db.to_str().unwrap(),
            "--market",
            market.to_str().unwrap(),
        ])
        .args(["--rpc-url", rpc, "--listen", "127.0.0.1:0"])
        .args(["--max-batch", "1", "--poll-ms", "20"])
        .env("TRUSTML_LOG", "warn")
        .env(
            "TRUSTML_TEST_STEP_DELAY_MS",
            if throttle { "5" } else { "0" },
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start trustml-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("trustml-server: ")
        .and_then(|u| u.strip_suffix("/api/v1/config"))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, url)
}

async fn rows(pool: &sqlx::AnyPool) -> Vec<String> {
    use sqlx::Row;
    let q = "SELECT id, seller, price, active, sales FROM listings ORDER BY id";
    let mut out = vec![];
    for r in sqlx::query(q).fetch_all(pool).await.unwrap() {
        out.push(format!(
            "{} {} {} {} {}",
            r.try_get::<i64, _>(0).unwrap(),
            r.try_get::<String, _>(1).unwrap(),
            r.try_get::<String, _>(2).unwrap(),
            r.try_get::<i64, _>(3).unwrap(),
            r.try_get::<i64, _>(4).unwrap()
        ));
    }
    let n = sqlx::query("SELECT COUNT(*) FROM chain_events")
        .fetch_one(pool)
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap();
    out.push(format!("events {n}"));
    out
}

/// A marketplace whose listing and delivery verifiers accept every proof.
async fn deploy_accept_all(c: &Client) -> trustml_chain::market::MarketDeployment {
    let code = hex::decode(trustml_chain::anvil::ACCEPT_ALL_VERIFIER).unwrap();
    let art = |d: u8| CircuitArtifacts {
        verifier: &code,
        num_public_inputs: if d == 1 { 3 } else { 8 },
        proof_len: PROOF_LEN,
        vk_digest: [d; 32],
    };
    let params = MarketParams {
        fee_recipient: None,
        fee_bps: 0,
        delivery_window: 3600,
        reveal_window: 600,
        verifier_gas_limit: 1_000_000,
    };
    c.deploy_market(art(1), art(2), &params).await.unwrap()
}

#[test]
fn kill_9_while_indexing_loses_and_repeats_nothing() {
    let Some(node) = Anvil::for_test(&repo_root()) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = node.url.clone();
    let c = rt.block_on(Client::connect_with_key(&url, None)).unwrap();
    let m = rt.block_on(deploy_accept_all(&c));
    let proof = vec![0u8; PROOF_LEN];
    for i in 0..LISTINGS {
        rt.block_on(c.list(
            &m,
            U256::from(i),
            U256::from(i),
            U256::from(1000 + i),
            trustml_chain::B256::ZERO,
            &proof,
        ))
        .unwrap();
    }
    let market = dir.path().join("market.json");
    std::fs::write(&market, serde_json::to_string(&m).unwrap()).unwrap();
    let db = dir.path().join("crash.db");

    // Kill it five times at different points of the catch-up, then let one run finish.
    let head = rt
        .block_on(alloy::providers::Provider::get_block_number(c.provider()))
        .unwrap();
    let cursor_now = || {
        rt.block_on(async {
            let p = trustml_server::db::connect(db.to_str().unwrap())
                .await
                .unwrap();
            let c = indexer::cursor(&p).await.unwrap().map_or(0, |c| c.0);
            p.close().await;
            c
        })
    };
    let mut cursors = vec![];
    for wait_ms in [60u64, 40, 90, 50, 120] {
        let (mut child, _) = start(&db, &market, &url, true);
        std::thread::sleep(Duration::from_millis(wait_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        cursors.push(cursor_now());
    }
    println!("cursor after each kill: {cursors:?} (head {head})");
    // Some kills landed mid-catch-up: batches applied, not all.
    assert!(
        cursors.iter().any(|&c| c > 0 && c < head),
        "cursors {cursors:?} of {head} after the kills"
    );
    let (mut child, base) = start(&db, &market, &url, false);
    let t = Instant::now();
    loop {
        let v: serde_json::Value = rt
            .block_on(async {
                reqwest::get(format!("{base}/api/v1/indexer"))
                    .await?
                    .json()
                    .await
            })
            .unwrap();
        if v["cursor"].as_u64() == Some(head) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "no catch-up: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    rt.block_on(async {
        let crashed = trustml_server::db::connect(db.to_str().unwrap())
            .await
            .unwrap();
        let fresh_db = dir.path().join("fresh.db");
        let fresh = trustml_server::db::connect(fresh_db.to_str().unwrap())
            .await
            .unwrap();
        let reader = Client::connect(&url).await.unwrap();
        let (mut ix, _) = Indexer::new(
            reader,
            fresh.clone(),
            IndexerConfig {
                marketplace: m.marketplace,
                audit_escrow: None,
                confirmations: 0,
                from_block: 0,
                max_batch: 1000,
                poll: Duration::from_millis(10),
            },
        );
        while indexer::cursor(&fresh).await.unwrap().map(|c| c.0) != Some(head) {
            ix.step().await.unwrap();
        }
        let got = rows(&crashed).await;
        assert_eq!(got.len() as u64, LISTINGS + 1);
        assert_eq!(got.last().unwrap(), &format!("events {LISTINGS}"));
        assert_eq!(got, rows(&fresh).await);
    });
}

#[test]
fn kill_9_mid_job_then_the_job_finishes_after_restart() {
    let Some(node) = Anvil::for_test(&repo_root()) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    common::compile_model(&models);
    let c = rt
        .block_on(Client::connect_with_key(&node.url, None))
        .unwrap();
    let m = rt.block_on(deploy_accept_all(&c));
    let market = dir.path().join("market.json");
    std::fs::write(&market, serde_json::to_string(&m).unwrap()).unwrap();
    let db = dir.path().join("jobs.db");
    let models_arg = models.to_str().unwrap().to_string();
    let args = [
        "--models",
        models_arg.as_str(),
        "--domain",
        "127.0.0.1:8080",
    ];

    // A job that sleeps 30 s before proving: killed while it runs.
    let (mut first, base) = start_with(
        &db,
        &market,
        &node.url,
        false,
        &args,
        &[("TRUSTML_TEST_JOB_DELAY_MS", "30000")],
    );
    let (token, id) = rt.block_on(async {
        let (_, _, s, v) = common::sign_in(&base, SELLER, "127.0.0.1:8080").await;
        assert_eq!(s, 200, "{v}");
        let token = v["token"].as_str().unwrap().to_string();
        let r: serde_json::Value = reqwest::Client::new()
            .post(format!("{base}/api/v1/jobs"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "kind": "listing", "model": "generator", "prompt": common::prompt() }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["id"].as_str().unwrap().to_string();
        wait_state(&base, &id, "running").await;
        (token, id)
    });
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    // Restarted: the new worker takes the orphaned task once the dead one's heartbeat lapses,
    // finds no prompt and waits for it; given the prompt, it finishes.
    let (mut second, base) = start_with(&db, &market, &node.url, false, &args, &[]);
    rt.block_on(async {
        wait_state(&base, &id, "awaiting_input").await;
        let r = reqwest::Client::new()
            .post(format!("{base}/api/v1/jobs/{id}/input"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "prompt": common::prompt() }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202);
        wait_state(&base, &id, "done").await;
        let (_, job) = common::get(&base, &format!("/api/v1/jobs/{id}")).await;
        let sha = job["result"]["listing"].as_str().unwrap();
        let (s, _) = common::get(&base, &format!("/api/v1/artifacts/{sha}")).await;
        assert_eq!(s, 200);
        // One job, and its events in one unbroken sequence.
        let pool = trustml_server::db::connect(db.to_str().unwrap())
            .await
            .unwrap();
        let seqs: Vec<i64> =
            sqlx::query_scalar("SELECT seq FROM proving_job_events WHERE job_id = $1 ORDER BY seq")
                .bind(&id)
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM proving_jobs")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(jobs, 1);
    });
    second.kill().unwrap();
    second.wait().unwrap();
}

/// Anvil's first dev key (it only signs in).
const SELLER: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

async fn wait_state(base: &str, id: &str, want: &str) {
    for _ in 0..1200 {
        let (_, v) = common::get(base, &format!("/api/v1/jobs/{id}")).await;
        if v["state"] == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} never reached {want}");
}
