//! The indexer and `/api/v1` against a real Anvil and a real SQLite file — and the same on
//! Postgres when `TRUSTML_TEST_POSTGRES` names one (no mocks of either): a
//! marketplace and an audit escrow with accept-all verifiers, listings, a purchase and a whole
//! audit; the API's listings (filters, sorts, keyset pages), orders, audits and errors;
//! re-split batches give the same database; the projections equal a fresh `reindex`; a
//! reverted chain (a reorg) is rewound.
//!
//! Skipped, with a note, only when node_modules is absent (CI runs `npm ci` first).

use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use trustml::market::metadata::ListingMetadata;
use trustml_chain::anvil::Anvil;
use trustml_chain::audit::AuditRequest;
use trustml_chain::market::{CircuitArtifacts, MarketDeployment, MarketParams};
use trustml_chain::Client;
use trustml_server::api::{self, AppState, PublicConfig};
use trustml_server::indexer::{self, Indexer, IndexerConfig};

mod common;
use common::{get, login, sign_in, SseReader};

const PROOF_LEN: usize = 96;
/// Anvil's second dev account: another seller.
const SELLER2: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Anvil's third dev account: a buyer.
const BUYER: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

/// Baby Jubjub's B8: a valid buyer key.
fn b8() -> (U256, U256) {
    (
        U256::from_str_radix(
            "5299619240641551281634865583518297030282874472190772894086521144482721001553",
            10,
        )
        .unwrap(),
        U256::from_str_radix(
            "16950150798460657717958625567821834550301663161624707787222815936182638968203",
            10,
        )
        .unwrap(),
    )
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn gwei(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000u64)
}

async fn deploy(c: &Client) -> MarketDeployment {
    let code = hex::decode(trustml_chain::anvil::ACCEPT_ALL_VERIFIER).unwrap();
    c.deploy_market(
        CircuitArtifacts {
            verifier: &code,
            num_public_inputs: 3,
            proof_len: PROOF_LEN,
            vk_digest: [1; 32],
        },
        CircuitArtifacts {
            verifier: &code,
            num_public_inputs: 8,
            proof_len: PROOF_LEN,
            vk_digest: [2; 32],
        },
        &MarketParams {
            fee_recipient: None,
            fee_bps: 0,
            delivery_window: 3600,
            reveal_window: 600,
            verifier_gas_limit: 1_000_000,
        },
    )
    .await
    .unwrap()
}

/// Steps the indexer until it has applied the chain's head.
async fn catch_up(ix: &mut Indexer, c: &Client) {
    let head = c.provider().get_block_number().await.unwrap();
    for _ in 0..100 {
        ix.step().await.unwrap();
        if indexer::cursor(ix.pool()).await.unwrap().map(|c| c.0) == Some(head) {
            return;
        }
    }
    panic!("the indexer did not reach block {head}");
}

/// Every projection row, as text (for comparisons).
async fn dump(pool: &sqlx::AnyPool) -> Vec<String> {
    use sqlx::Row;
    let mut out = vec![];
    for (t, cols, order) in [
        (
            "listings",
            "id, seller, price, active, sales, listed_tx, metadata_hash",
            "id",
        ),
        (
            "orders",
            "id, listing_id, buyer, amount, status, purchase_tx, settle_tx",
            "id",
        ),
        (
            "audits",
            "id, model_id, status, outcome, total_correct, batches_submitted, seed",
            "id",
        ),
        (
            "audit_batches",
            "audit_id, batch_idx, count, tx",
            "audit_id, batch_idx",
        ),
        (
            "chain_events",
            "tx_hash, log_index, name, args",
            "block_number, log_index",
        ),
    ] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols} FROM {t} ORDER BY {order}"
        )))
        .fetch_all(pool)
        .await
        .unwrap();
        for r in rows {
            let mut line = t.to_string();
            for i in 0..r.len() {
                let v: String = r
                    .try_get::<Option<String>, _>(i)
                    .map(|x| x.unwrap_or_else(|| "NULL".into()))
                    .or_else(|_| r.try_get::<i64, _>(i).map(|x| x.to_string()))
                    .unwrap();
                line += &format!(" {v}");
            }
            out.push(line);
        }
    }
    out
}

/// A listing metadata document whose example output has these field elements.
fn metadata_doc(title: &str, field: &[u64]) -> Vec<u8> {
    ListingMetadata {
        format_version: 1,
        title: title.into(),
        description: format!("{title}: a test listing"),
        tags: vec!["test".into()],
        settings_digest: "00".into(),
        example_output: vec![trustml_kit::proof_file::OutputTensor {
            name: "y".into(),
            shape: vec![field.len()],
            values: field.iter().map(|&f| f as f64).collect(),
            field: field.iter().map(|f| f.to_string()).collect(),
        }],
    }
    .to_bytes()
}

fn sha(bytes: &[u8]) -> B256 {
    B256::from(trustml::market::metadata::sha256(bytes))
}

async fn put(base: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .put(format!("{base}/api/v1/artifacts"))
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn anvil() -> Option<Anvil> {
    Anvil::for_test(&repo_root())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn indexer_and_api_on_anvil_and_sqlite() {
    let Some(node) = anvil() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = |n: &str| dir.path().join(n).display().to_string();
    runtime().block_on(run(node, [db("t.db"), db("t2.db")]));
}

/// The same suite on Postgres, when `TRUSTML_TEST_POSTGRES` names a server (a URL whose
/// user may create databases; `.ci/run` starts one): two fresh databases, dropped after.
#[test]
fn indexer_and_api_on_anvil_and_postgres() {
    let Ok(admin_url) = std::env::var("TRUSTML_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: TRUSTML_TEST_POSTGRES is not set (.ci/run starts a Postgres)"
        );
        println!("NOTE: TRUSTML_TEST_POSTGRES is not set; skipping the Postgres run");
        return;
    };
    let Some(node) = anvil() else { return };
    runtime().block_on(async {
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
        let names: Vec<String> = (0..2)
            .map(|i| format!("trustml_test_{}_{i}", std::process::id()))
            .collect();
        let exec = |sql: String| {
            let admin = admin.clone();
            async move {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&admin)
                    .await
                    .unwrap();
            }
        };
        for n in &names {
            exec(format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)")).await;
            exec(format!("CREATE DATABASE {n}")).await;
        }
        // The admin URL with another database name.
        let url_of = |name: &str| {
            let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
            let base = &base[..base.rfind('/').unwrap()];
            if query.is_empty() {
                format!("{base}/{name}")
            } else {
                format!("{base}/{name}?{query}")
            }
        };
        run(node, [url_of(&names[0]), url_of(&names[1])]).await;
        for n in &names {
            exec(format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)")).await;
        }
    });
}

/// Applies the chain's logs to fresh databases in random batches (random cut points, each batch
/// applied once or twice in a row, as after a crash between commit and the next step), for
/// several seeds; every database must equal `want`.
async fn split_property(reader: &Client, cfg: &IndexerConfig, want: &[String]) {
    use alloy::rpc::types::Filter;
    use rand::{Rng, SeedableRng};
    let head = reader.provider().get_block_number().await.unwrap();
    let mut addresses = vec![cfg.marketplace];
    addresses.extend(cfg.audit_escrow);
    let logs = reader
        .provider()
        .get_logs(
            &Filter::new()
                .address(addresses)
                .from_block(0)
                .to_block(head),
        )
        .await
        .unwrap();
    let mut hashes = vec![];
    for b in 0..=head {
        let blk = reader
            .provider()
            .get_block_by_number(b.into())
            .await
            .unwrap()
            .unwrap();
        hashes.push(format!("{:#x}", blk.header.hash));
    }
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..6u64 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let db = dir.path().join(format!("split-{seed}.db"));
        let pool = trustml_server::db::connect(db.to_str().unwrap())
            .await
            .unwrap();
        let (ix, _) = Indexer::new(reader.clone(), pool.clone(), cfg.clone());
        let mut from = 0u64;
        while from <= head {
            let to = (from + rng.gen_range(0..4)).min(head);
            let batch: Vec<_> = logs
                .iter()
                .filter(|l| (from..=to).contains(&l.block_number.unwrap()))
                .cloned()
                .collect();
            for _ in 0..rng.gen_range(1..=2) {
                ix.apply_batch(&batch, to, &hashes[to as usize])
                    .await
                    .unwrap();
            }
            from = to + 1;
        }
        assert_eq!(dump(&pool).await, want, "seed {seed}");
    }
}

async fn run(node: Anvil, dbs: [String; 2]) {
    let url = node.url.clone();
    let seller = Client::connect_with_key(&url, None).await.unwrap();
    let seller2 = Client::connect_with_key(&url, Some(SELLER2)).await.unwrap();
    let buyer = Client::connect_with_key(&url, Some(BUYER)).await.unwrap();
    let m = deploy(&seller).await;
    let proof = vec![0u8; PROOF_LEN];
    // Listings 1..=3: prices 30, 10, 20 gwei; #2 by the second seller. #1 binds metadata whose
    // example output hashes to its H, #2 metadata whose example does not, #3 none.
    let (doc_a, doc_b) = (
        metadata_doc("Seven", &[3, 4]),
        metadata_doc("Unrelated", &[5]),
    );
    let h_a = U256::from_be_bytes(trustml_kit::field::to_be_bytes(&trustml_poseidon::commit(
        &[3u64.into(), 4u64.into()],
        Default::default(),
    )));
    for (c, price, h, meta) in [
        (&seller, 30, h_a, sha(&doc_a)),
        (&seller2, 10, U256::from(8), sha(&doc_b)),
        (&seller, 20, U256::from(8), B256::ZERO),
    ] {
        c.list(&m, U256::from(7), h, gwei(price), meta, &proof)
            .await
            .unwrap();
    }
    buyer.buy(&m, U256::from(1), b8()).await.unwrap();
    seller.cancel(&m, U256::from(3)).await.unwrap();

    // An audit, start to finish: the registry owner registers an accept-all audit circuit
    // (b = 2, d = 4), the second seller its model; the buyer requests 4 samples at θ = 1/2.
    let ad = seller.deploy_audit().await.unwrap();
    let code = hex::decode(trustml_chain::anvil::ACCEPT_ALL_VERIFIER).unwrap();
    let circuit = seller
        .deploy_audit_circuit(
            &ad,
            CircuitArtifacts {
                verifier: &code,
                num_public_inputs: 6,
                proof_len: PROOF_LEN,
                vk_digest: [3; 32],
            },
            2,
            4,
            1_000_000,
        )
        .await
        .unwrap();
    let model = seller2
        .register_audit_model(&ad, circuit.circuit_id, U256::from(12345))
        .await
        .unwrap()
        .id
        .unwrap();
    let now = buyer.block_timestamp().await.unwrap();
    let request = AuditRequest {
        model_id: model,
        dataset_root: U256::from(777),
        dataset_size: U256::from(10),
        num_samples: 4,
        theta_num: 1,
        theta_den: 2,
        bounty: gwei(1000),
        fee: gwei(100),
        provider_bond: gwei(500),
        accept_deadline: now + 3600,
        prove_window: 3600,
    };
    let secret = B256::repeat_byte(7);
    let audit = buyer
        .create_audit(&ad, &request, secret)
        .await
        .unwrap()
        .id
        .unwrap();
    seller2
        .accept_audit(&ad, audit, B256::repeat_byte(9))
        .await
        .unwrap();
    buyer.anvil_mine(1).await.unwrap();
    buyer.reveal_seed(&ad, audit, secret).await.unwrap();
    for i in 0..2 {
        seller2
            .submit_batch(&ad, audit, i, 2 - i, &proof)
            .await
            .unwrap();
    }
    buyer.finalize_audit(&ad, audit).await.unwrap();

    let pool = trustml_server::db::connect(&dbs[0]).await.unwrap();
    let cfg = IndexerConfig {
        marketplace: m.marketplace,
        audit_escrow: Some(ad.escrow),
        confirmations: 0,
        from_block: 0,
        max_batch: 3, // several batches over this short chain
        poll: Duration::from_millis(50),
    };
    let reader = Client::connect(&url).await.unwrap();
    let (mut ix, status) = Indexer::new(reader.clone(), pool.clone(), cfg.clone());
    catch_up(&mut ix, &reader).await;

    // The same chain indexed again from scratch into another file, in batches of one block:
    // the same projections (re-split batches give the same database).
    let pool2 = trustml_server::db::connect(&dbs[1]).await.unwrap();
    let (mut ix2, _) = Indexer::new(
        reader.clone(),
        pool2.clone(),
        IndexerConfig {
            max_batch: 1,
            ..cfg.clone()
        },
    );
    catch_up(&mut ix2, &reader).await;
    let before = dump(&pool).await;
    assert_eq!(dump(&pool2).await, before);
    assert!(before.len() > 15, "{before:?}");
    // Property: any split of the chain into batches, with batches applied twice, gives the
    // same database (SQLite files; the logs and hashes read once).
    split_property(&reader, &cfg, &before).await;
    // Replaying the stored events gives the same projections.
    let n = indexer::reindex(&pool).await.unwrap();
    assert!(n >= 5, "{n} events");
    assert_eq!(dump(&pool).await, before);

    // The API over it.
    let state = AppState {
        pool: pool.clone(),
        config: PublicConfig {
            chain_id: m.chain_id,
            rpc_url: url.clone(),
            contracts: serde_json::json!({ "marketplace": format!("{:#x}", m.marketplace) }),
            confirmations: 0,
            dev_accounts: false,
            circuits: serde_json::Value::Null,
        },
        status,
        events: ix.events(),
        settings: Default::default(),
        chain: None,
        jobs: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, api::router(state)).await.unwrap();
    });

    // The OpenAPI document describes every route.
    let (s, v) = get(&base, "/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    let mut paths: Vec<&str> = v["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/v1/accounts/{address}",
            "/api/v1/artifacts",
            "/api/v1/artifacts/{sha256}",
            "/api/v1/audits",
            "/api/v1/audits/{id}",
            "/api/v1/auth/login",
            "/api/v1/auth/logout",
            "/api/v1/auth/me",
            "/api/v1/auth/nonce",
            "/api/v1/config",
            "/api/v1/events",
            "/api/v1/indexer",
            "/api/v1/jobs",
            "/api/v1/jobs/{id}",
            "/api/v1/jobs/{id}/events",
            "/api/v1/jobs/{id}/input",
            "/api/v1/jobs/{id}/secret",
            "/api/v1/listings",
            "/api/v1/listings/{id}",
            "/api/v1/models",
            "/api/v1/models/{name}/file",
            "/api/v1/orders",
            "/api/v1/orders/{id}",
        ]
    );
    assert!(
        v["components"]["schemas"]["Listing"]["properties"]["price"].is_object(),
        "{v}"
    );
    let (s, v) = get(&base, "/api/v1/config").await;
    assert_eq!((s, v["chainId"].as_u64()), (200, Some(31337)));
    let (s, v) = get(&base, "/api/v1/indexer").await;
    assert_eq!((s, v["lag"].as_u64()), (200, Some(0)), "{v}");

    let ids = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_i64().unwrap())
            .collect()
    };
    let (s, v) = get(&base, "/api/v1/listings").await;
    assert_eq!((s, ids(&v)), (200, vec![3, 2, 1]));
    assert_eq!(v["items"][2]["sales"], 1);
    assert_eq!(v["items"][0]["active"], false);
    assert_eq!(v["items"][1]["price"], gwei(10).to_string());
    let (_, v) = get(&base, "/api/v1/listings?sort=price_asc").await;
    assert_eq!(ids(&v), vec![2, 3, 1]);
    let (_, v) = get(&base, "/api/v1/listings?active=true&sort=price_desc").await;
    assert_eq!(ids(&v), vec![1, 2]);
    let seller2_addr = format!("{:#x}", seller2.sender().unwrap());
    let (_, v) = get(&base, &format!("/api/v1/listings?seller={seller2_addr}")).await;
    assert_eq!(ids(&v), vec![2]);
    // Keyset pages of one: every listing once, in order.
    for (sort, want) in [("newest", vec![3, 2, 1]), ("price_asc", vec![2, 3, 1])] {
        let mut got = vec![];
        let mut next = String::new();
        loop {
            let q = if next.is_empty() {
                format!("/api/v1/listings?sort={sort}&limit=1")
            } else {
                format!("/api/v1/listings?sort={sort}&limit=1&cursor={next}")
            };
            let (s, v) = get(&base, &q).await;
            assert_eq!(s, 200, "{v}");
            got.extend(ids(&v));
            match v["next"].as_str() {
                Some(n) => next = n.to_string(),
                None => break,
            }
        }
        assert_eq!(got, want, "{sort}");
    }
    let (s, v) = get(&base, "/api/v1/listings/1").await;
    assert_eq!((s, v["orders"]["paid"].as_i64()), (200, Some(1)), "{v}");
    let (s, v) = get(&base, "/api/v1/orders/1").await;
    assert_eq!(
        (s, v["status"].as_str(), v["listingId"].as_i64()),
        (200, Some("paid"), Some(1))
    );
    let buyer_addr = format!("{:#x}", buyer.sender().unwrap());
    let (_, v) = get(&base, &format!("/api/v1/orders?buyer={buyer_addr}")).await;
    assert_eq!(ids(&v), vec![1]);
    let seller_addr = format!("{:#x}", seller.sender().unwrap());
    let (_, v) = get(
        &base,
        &format!("/api/v1/orders?seller={seller_addr}&status=paid"),
    )
    .await;
    assert_eq!(ids(&v), vec![1]);
    let (_, v) = get(&base, &format!("/api/v1/orders?seller={buyer_addr}")).await;
    assert_eq!(ids(&v), Vec::<i64>::new());
    let (_, v) = get(
        &base,
        &format!("/api/v1/orders?seller={seller_addr}&status=refunded"),
    )
    .await;
    assert_eq!(ids(&v), Vec::<i64>::new());
    let (s, v) = get(&base, "/api/v1/orders?status=lost").await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("bad_request")));
    // Accounts: the first seller listed #1 and #3 (one cancelled) and has one paid order; the
    // buyer escrowed 30 gwei.
    let seller_addr = format!("{:#x}", seller.sender().unwrap());
    let (s, v) = get(&base, &format!("/api/v1/accounts/{seller_addr}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["seller"]["listings"].as_i64(),
            v["seller"]["activeListings"].as_i64()
        ),
        (Some(2), Some(1)),
        "{v}"
    );
    assert_eq!(
        (
            v["seller"]["orders"]["paid"].as_i64(),
            v["seller"]["volume"].as_str()
        ),
        (Some(1), Some("0"))
    );
    let (_, v) = get(
        &base,
        &format!(
            "/api/v1/accounts/{}",
            buyer_addr.to_uppercase().replace("0X", "0x")
        ),
    )
    .await;
    assert_eq!(
        (
            v["buyer"]["orders"]["paid"].as_i64(),
            v["buyer"]["spent"].as_str()
        ),
        (Some(1), Some(gwei(30).to_string().as_str())),
        "{v}"
    );
    let (s, v) = get(&base, "/api/v1/accounts/0x1234").await;
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("bad_request")));

    // The audit: finalized, passed with 3 of 4, its batches.
    let (s, v) = get(&base, "/api/v1/audits").await;
    assert_eq!((s, ids(&v)), (200, vec![1]), "{v}");
    let (s, v) = get(&base, "/api/v1/audits/1").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (
            v["status"].as_str(),
            v["outcome"].as_str(),
            v["totalCorrect"].as_i64()
        ),
        (Some("finalized"), Some("Passed"), Some(3)),
        "{v}"
    );
    let counts: Vec<i64> = v["batches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, vec![2, 1]);
    assert_eq!(v["provider"], format!("{:#x}", seller2.sender().unwrap()));
    let (_, v) = get(
        &base,
        &format!("/api/v1/audits?model={model}&status=finalized"),
    )
    .await;
    assert_eq!(ids(&v), vec![1]);
    let (_, v) = get(&base, "/api/v1/audits?status=proving").await;
    assert_eq!(ids(&v), Vec::<i64>::new());

    // Metadata bound by hash: missing until uploaded; an upload needs a SIWE session.
    let (_, v) = get(&base, "/api/v1/listings/1").await;
    assert_eq!(v["metadataStatus"], "missing", "{v}");
    assert_eq!(v["metadataHash"], format!("{:#x}", sha(&doc_a)));
    let (_, v) = get(&base, "/api/v1/listings/3").await;
    assert_eq!(
        (v["metadataStatus"].as_str(), v["metadataHash"].is_null()),
        (Some("none"), true)
    );
    assert_eq!(v["proof"]["publicInputs"][1], "8");
    let (s, v) = put(&base, None, doc_a.clone()).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
    let (s, v) = put(&base, Some("not-a-token"), doc_a.clone()).await;
    assert_eq!(s, 401, "{v}");
    // SIWE: a signed message for another domain, a tampered message and a replay are refused.
    let (_, _, s, v) = sign_in(&base, SELLER2, "evil.example").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
    let (message, sig, s, v) = sign_in(&base, SELLER2, "127.0.0.1:8080").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["address"], seller2_addr);
    let token = v["token"].as_str().unwrap().to_string();
    let (s, v) = login(&base, &message, &sig).await;
    assert_eq!(s, 401, "a replayed signature: {v}");
    let (s, _) = login(
        &base,
        &message.replace("Chain ID: 31337", "Chain ID: 31338"),
        &sig,
    )
    .await;
    assert_eq!(s, 401, "another chain");
    let (s, v) = login(&base, &message, "0x1234").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "{v}"
    );
    let (s, v) = login(&base, "hello", &sig).await;
    assert_eq!(s, 400, "{v}");
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Upload: 201 with its sha256, 200 the second time; oversized and empty are refused.
    let (s, v) = put(&base, Some(&token), doc_a.clone()).await;
    assert_eq!(
        (s, v["sha256"].as_str()),
        (201, Some(format!("{:#x}", sha(&doc_a)).as_str())),
        "{v}"
    );
    assert_eq!(v["listingMetadata"], true);
    let (s, _) = put(&base, Some(&token), doc_a.clone()).await;
    assert_eq!(s, 200);
    let (s, v) = put(&base, Some(&token), vec![b'x'; (1 << 20) + 1]).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (413, Some("too_large")),
        "{v}"
    );
    let (s, _) = put(&base, Some(&token), vec![]).await;
    assert_eq!(s, 400);
    let (s, _) = put(&base, Some(&token), doc_b.clone()).await;
    assert_eq!(s, 201);
    // Served back byte for byte, immutable, with its hash as ETag.
    let url = format!("{base}/api/v1/artifacts/{:#x}", sha(&doc_a));
    let r = reqwest::get(&url).await.unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{:#x}\"", sha(&doc_a)));
    assert_eq!(r.bytes().await.unwrap().to_vec(), doc_a);
    let r = reqwest::Client::new()
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);
    // The listings now show their documents: #1 matches, #2's example is not its output.
    let (_, v) = get(&base, "/api/v1/listings/1").await;
    assert_eq!(
        (
            v["metadataStatus"].as_str(),
            v["metadata"]["title"].as_str()
        ),
        (Some("matches"), Some("Seven")),
        "{v}"
    );
    assert_eq!(v["proof"]["exampleOutputMatches"], true);
    assert_eq!(v["proof"]["verifyTx"], v["listedTx"]);
    let (_, v) = get(&base, "/api/v1/listings/2").await;
    assert_eq!(v["metadataStatus"], "output_mismatch", "{v}");
    let (_, v) = get(&base, "/api/v1/listings?q=SEVEN").await;
    assert_eq!(ids(&v), vec![1]);
    let (_, v) = get(&base, "/api/v1/listings?q=test%20listing").await;
    assert_eq!(ids(&v), vec![2, 1]);
    let (_, v) = get(&base, "/api/v1/listings?q=100%25").await;
    assert_eq!(ids(&v), Vec::<i64>::new());
    let (_, v) = get(&base, "/api/v1/listings?metadata=matches").await;
    assert_eq!(ids(&v), vec![1]);
    let (_, v) = get(&base, "/api/v1/listings?metadata=none").await;
    assert_eq!(ids(&v), vec![3]);
    let (_, v) = get(&base, "/api/v1/listings?verified=true").await;
    assert_eq!(ids(&v), vec![3, 2, 1]);

    // Errors: JSON, a stable code, the right status.
    for (path, status, code) in [
        ("/api/v1/artifacts/0x12", 400, "bad_request"),
        (
            "/api/v1/artifacts/0x0000000000000000000000000000000000000000000000000000000000000001",
            404,
            "not_found",
        ),
        ("/api/v1/listings?metadata=maybe", 400, "bad_request"),
        ("/api/v1/auth/me", 401, "unauthorized"),
        ("/api/v1/listings/99", 404, "not_found"),
        ("/api/v1/listings/abc", 400, "bad_request"),
        ("/api/v1/listings?limit=0", 400, "bad_request"),
        ("/api/v1/listings?limit=x", 400, "bad_request"),
        ("/api/v1/listings?sort=cheap", 400, "bad_request"),
        ("/api/v1/listings?seller=0x12", 400, "bad_request"),
        ("/api/v1/listings?cursor=garbage", 400, "bad_request"),
        ("/api/v1/orders/7", 404, "not_found"),
        ("/api/v1/audits/2", 404, "not_found"),
        ("/api/v1/audits?status=done", 400, "bad_request"),
        ("/api/v1/audits?model=x", 400, "bad_request"),
        ("/api/v1/nope", 404, "not_found"),
    ] {
        let (s, v) = get(&base, path).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{path}: {v}"
        );
        assert!(v["error"]["message"].as_str().unwrap().len() > 10, "{path}");
    }

    // A reorg: listing 4 is indexed, then the chain reverts to before it and grows three
    // other blocks; the index rewinds to a block the chain still has, listing 4 is gone, and
    // the projections equal a replay.
    // The event stream: from the start (Last-Event-ID 0-0) every stored event in chain order,
    // then live ones as the indexer applies them.
    let stored = {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) FROM chain_events")
            .fetch_one(&pool)
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap() as usize
    };
    let mut sse = SseReader::open(&format!("{base}/api/v1/events"), "0-0").await;
    let mut seen = vec![];
    for k in 0..stored {
        let (id, name, data) = sse.next().await;
        if k == 0 {
            assert_eq!(
                (name.as_str(), data["args"]["listingId"].as_str()),
                ("Listed", Some("1"))
            );
        }
        let (b, i) = id.split_once('-').unwrap();
        seen.push((b.parse::<u64>().unwrap(), i.parse::<u64>().unwrap()));
    }
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "in chain order: {seen:?}"
    );
    // Resuming after the third event sends the fourth next.
    let (b, i) = seen[2];
    let mut resumed = SseReader::open(&format!("{base}/api/v1/events"), &format!("{b}-{i}")).await;
    assert_eq!(
        resumed.next().await.0,
        format!("{}-{}", seen[3].0, seen[3].1)
    );
    let (s, v) = {
        let r = reqwest::Client::new()
            .get(format!("{base}/api/v1/events"))
            .header("Last-Event-ID", "x")
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("bad_request")));

    let snap: U256 = reader
        .provider()
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    seller2
        .list(
            &m,
            U256::from(9),
            U256::from(9),
            gwei(5),
            trustml_chain::B256::ZERO,
            &proof,
        )
        .await
        .unwrap();
    catch_up(&mut ix, &reader).await;
    let (_, name, data) = sse.next().await;
    assert_eq!(
        (name.as_str(), data["args"]["listingId"].as_str()),
        ("Listed", Some("4")),
        "live"
    );
    let (_, v) = get(&base, "/api/v1/listings").await;
    assert_eq!(ids(&v), vec![4, 3, 2, 1]);
    let _: bool = reader
        .provider()
        .raw_request("evm_revert".into(), (snap,))
        .await
        .unwrap();
    reader.anvil_mine(3).await.unwrap();
    catch_up(&mut ix, &reader).await;
    let (_, name, data) = sse.next().await;
    assert_eq!(name, "Reorg", "{data}");
    let (_, v) = get(&base, "/api/v1/listings").await;
    assert_eq!(ids(&v), vec![3, 2, 1], "listing 4 was reorged out");
    let rewound = dump(&pool).await;
    assert_eq!(rewound, before);
    indexer::reindex(&pool).await.unwrap();
    assert_eq!(dump(&pool).await, rewound);

    // The node goes down: the indexer's status answers 503 with what to check, reads go on
    // from the database, and nothing stored changes.
    drop(node);
    assert!(ix.step().await.is_err());
    let (s, v) = get(&base, "/api/v1/indexer").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (503, Some("rpc_unavailable")),
        "{v}"
    );
    let (s, v) = get(&base, "/api/v1/listings").await;
    assert_eq!((s, ids(&v)), (200, vec![3, 2, 1]));
    assert_eq!(dump(&pool).await, rewound);
    server.abort();
    pool.close().await;
    pool2.close().await;
}
