//! Proving jobs on a real SQLite file (and Postgres when `TRUSTML_TEST_POSTGRES` names one):
//! a listing job of the prompt-generator fixture runs through the apalis queue, streams its
//! stages over SSE, stores a listing proof that verifies and is bound to the signed-in seller,
//! and hands the listing secret out once; jobs are cancelled; a job whose prompt was lost (the
//! server died holding it) waits for the prompt and then finishes; bad requests are refused.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use trustml::market::listing::Listing;
use trustml::model::CompiledModel;
use trustml_server::api::{self, AppState, PublicConfig};

mod common;
use common::{compile_model, compile_text_model, get, prompt, sign_in, SseReader};

/// The marketplace deliveries are proven for (no chain is needed: its address only enters the
/// order tag).
const MARKET: [u8; 20] = [0x42; 20];
/// Anvil's first dev key (no chain is needed: it only signs in).
const SELLER: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const OTHER: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

async fn send(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Reads the job's event stream until its state is `want`; returns the stages seen.
async fn until_state(base: &str, id: &str, want: &str) -> Vec<String> {
    let mut sse = SseReader::open(&format!("{base}/api/v1/jobs/{id}/events"), "0").await;
    let mut stages = vec![];
    for _ in 0..200 {
        let (_, name, data) = sse.next().await;
        if name == "progress" {
            let st = data["data"]["stage"].as_str().unwrap().to_string();
            if stages.last() != Some(&st) {
                stages.push(st);
            }
        }
        if name == "state" && data["data"]["state"] == want {
            return stages;
        }
        if name == "state" && data["data"]["state"] == "failed" {
            panic!("job {id} failed: {data}");
        }
    }
    panic!("job {id} never reached {want}");
}

/// The two tests share the process's environment (the test delay): one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn listing_jobs_on_sqlite() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    compile_model(&work.path().join("models"));
    compile_text_model(&work.path().join("models"));
    let db = work.path().join("jobs.db").display().to_string();
    runtime().block_on(run(work.path().join("models"), db));
}

#[test]
fn listing_jobs_on_postgres() {
    let Ok(admin) = std::env::var("TRUSTML_TEST_POSTGRES") else {
        eprintln!("TRUSTML_TEST_POSTGRES is not set: the Postgres run is skipped");
        return;
    };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let work = tempfile::tempdir().unwrap();
    compile_model(&work.path().join("models"));
    compile_text_model(&work.path().join("models"));
    runtime().block_on(async {
        use sqlx::Executor as _;
        let name = format!("trustml_jobs_{}", std::process::id());
        let pg = sqlx::PgPool::connect(&admin).await.unwrap();
        pg.execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await
        .unwrap();
        pg.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        run(work.path().join("models"), format!("{base}/{name}")).await;
        pg.execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await
        .unwrap();
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn run(models: PathBuf, db: String) {
    let pool = trustml_server::db::connect(&db).await.unwrap();
    let url = trustml_server::db::database_url(&db).unwrap();
    let jobs = trustml_server::jobs::Jobs::start(
        &url,
        pool.clone(),
        Some(models.clone()),
        Some((31337, MARKET)),
    )
    .await
    .unwrap();
    let state = AppState {
        pool: pool.clone(),
        config: PublicConfig {
            chain_id: 31337,
            rpc_url: "http://127.0.0.1:8545".into(),
            contracts: json!({}),
            confirmations: 0,
            dev_accounts: false,
            circuits: serde_json::Value::Null,
        },
        status: watch::channel(Default::default()).1,
        events: tokio::sync::broadcast::channel(16).0,
        settings: Default::default(),
        chain: None,
        jobs: Some(Arc::clone(&jobs)),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api::router(state)).await.unwrap() });

    // What a browser needs to unpack a bought prompt and re-run the model.
    let (s, v) = get(&base, "/api/v1/models").await;
    assert_eq!(s, 200, "{v}");
    // Text models, the default listing kind, come first: their prompt format is text.
    let text = &v[0];
    assert_eq!(text["name"], "text", "{v}");
    assert_eq!(
        (
            text["text"]["promptLen"].as_u64(),
            text["text"]["completionLen"].as_u64(),
            text["text"]["vocab"].as_array().map(|a| a.len()),
            text["promptLen"].as_u64(),
            text["delivery"].as_bool(),
        ),
        (Some(24), Some(8), Some(48), Some(32), Some(false)),
        "{v}"
    );
    let info = &v[1];
    assert_eq!(info["name"], "generator");
    assert!(info["text"].is_null(), "{v}");
    assert_eq!(
        (info["promptLen"].as_u64(), info["delivery"].as_bool()),
        (Some(6), Some(true)),
        "{v}"
    );
    assert_eq!(info["inputs"], json!([[1, 6]]));
    assert_eq!(info["outputs"], json!([[1, 64]]));
    assert!(info["settingsDigest"].as_str().unwrap().starts_with("0x"));
    let r = reqwest::get(format!("{base}/api/v1/models/generator/file"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let file = r.bytes().await.unwrap();
    let keccak = format!("0x{}", hex::encode(alloy::primitives::keccak256(&file)));
    assert_eq!(info["modelKeccak"].as_str(), Some(keccak.as_str()));
    let (s, v) = get(&base, "/api/v1/models/nope/file").await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("not_found")));
    let (_, _, s, v) = sign_in(&base, SELLER, "127.0.0.1:8080").await;
    assert_eq!(s, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let seller = v["address"].as_str().unwrap().to_string();
    let (_, _, _, v) = sign_in(&base, OTHER, "127.0.0.1:8080").await;
    let other = v["token"].as_str().unwrap().to_string();
    let jobs_url = format!("{base}/api/v1/jobs");
    let new = |prompt: Value| json!({ "kind": "listing", "model": "generator", "prompt": prompt });

    // Refused: no session, an unknown model or kind, a prompt that is not model input.
    let (s, v) = send(
        reqwest::Method::POST,
        jobs_url.clone(),
        None,
        Some(new(prompt())),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
    for body in [
        json!({ "kind": "listing", "model": "nope", "prompt": prompt() }),
        json!({ "kind": "train", "model": "generator", "prompt": prompt() }),
        new(json!({ "tokens": [1, 2] })),
        json!({ "kind": "listing" }),
    ] {
        let (s, v) = send(
            reqwest::Method::POST,
            jobs_url.clone(),
            Some(&token),
            Some(body),
        )
        .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some("bad_request")),
            "{v}"
        );
    }

    // A listing job: queued → running (witness, prove) → done, streamed; the stored listing
    // verifies, shows its proven output and is bound to the signed-in seller.
    let (s, v) = send(
        reqwest::Method::POST,
        jobs_url.clone(),
        Some(&token),
        Some(new(prompt())),
    )
    .await;
    // Queued, or already taken by the worker.
    assert!(
        s == 202 && ["queued", "running"].contains(&v["state"].as_str().unwrap()),
        "{v}"
    );
    let id = v["id"].as_str().unwrap().to_string();
    let stages = until_state(&base, &id, "done").await;
    assert_eq!(stages, ["witness", "prove"]);
    let (_, job) = get(&base, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(
        (job["done"].as_i64(), job["total"].as_i64()),
        (Some(1), Some(1)),
        "{job}"
    );
    let sha = job["result"]["listing"].as_str().unwrap();
    let bytes = reqwest::get(format!("{base}/api/v1/artifacts/{sha}"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let listing: Listing = serde_json::from_slice(&bytes).unwrap();
    listing.check_preview(Path::new("listing.json")).unwrap();
    assert_eq!(listing.seller, seller);
    let model = CompiledModel::load(&models.join("generator")).unwrap();
    let keys = trustml::proof::load_keys(&model, false).unwrap();
    assert!(
        trustml::proof::verify(&model, &keys, &listing.proof, Path::new("listing.json")).unwrap()
    );
    // The secret: its owner only, once.
    let secret_url = format!("{jobs_url}/{id}/secret");
    let (s, _) = send(reqwest::Method::GET, secret_url.clone(), Some(&other), None).await;
    assert_eq!(s, 403);
    let (s, secret) = send(reqwest::Method::GET, secret_url.clone(), Some(&token), None).await;
    assert_eq!(
        (s, secret["commitment"].as_str()),
        (200, Some(listing.commitment.as_str())),
        "{secret}"
    );

    // A delivery job for order 1 of that listing (projection rows as the indexer writes them):
    // the ciphertext it proves decrypts, with the buyer's key, to the listed prompt.
    let buyer = trustml::market::keygen();
    let dec = |h: &str| trustml_kit::field::to_dec(&trustml_kit::field::from_hex(h).unwrap());
    sqlx::query(
        "INSERT INTO listings (id, seller, listing_circuit, delivery_circuit, commitment, output_hash, \
         price, price_key, active, sales, listed_block, listed_tx, metadata_hash) \
         VALUES (1, $1, '0x01', '0x02', $2, $3, '1', '1', 1, 1, 1, '0xaa', '')",
    )
    .bind(&seller)
    .bind(dec(&listing.commitment))
    .bind(dec(&listing.output_hash))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO orders (id, listing_id, buyer, pk_x, pk_y, amount, deadline, status, purchase_tx) \
         VALUES (1, 1, '0xbb', $1, $2, '1', 0, 'paid', '0xcc')",
    )
    .bind(dec(&buyer.public.x))
    .bind(dec(&buyer.public.y))
    .execute(&pool)
    .await
    .unwrap();
    let delivery = |secret: Option<&Value>, order: u64| {
        let mut b = json!({ "kind": "delivery", "model": "generator", "order": order });
        if let Some(s) = secret {
            b["secret"] = s.clone();
        }
        b
    };
    for (who, body, status) in [
        (&token, delivery(None, 1), 400),
        (&token, delivery(Some(&json!({ "blocks": [] })), 1), 400),
        (&token, delivery(Some(&secret), 7), 404),
        (&other, delivery(Some(&secret), 1), 403),
    ] {
        let (s, v) = send(
            reqwest::Method::POST,
            jobs_url.clone(),
            Some(who),
            Some(body),
        )
        .await;
        assert_eq!(s, status, "{v}");
    }
    let (s, v) = send(
        reqwest::Method::POST,
        jobs_url.clone(),
        Some(&token),
        Some(delivery(Some(&secret), 1)),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    let did = v["id"].as_str().unwrap().to_string();
    assert_eq!(until_state(&base, &did, "done").await, ["keys", "prove"]);
    let (_, job) = get(&base, &format!("/api/v1/jobs/{did}")).await;
    let proof_sha = job["result"]["proof"].as_str().unwrap();
    let bytes = reqwest::get(format!("{base}/api/v1/artifacts/{proof_sha}"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (pf_path, key_path) = (
        dir.path().join("delivery.json"),
        dir.path().join("buyer.json"),
    );
    std::fs::write(&pf_path, &bytes).unwrap();
    std::fs::write(&key_path, serde_json::to_string(&buyer).unwrap()).unwrap();
    let (plain, _) = trustml::market::decrypt_files(&key_path, &pf_path).unwrap();
    let plain: Vec<String> = plain.iter().map(trustml_kit::field::to_hex).collect();
    assert_eq!(json!(plain), secret["blocks"]);
    let ct = trustml::market::CiphertextFile::read(&pf_path).unwrap();
    assert_eq!(job["result"]["ciphertext"], json!(ct.blocks));
    assert_eq!(
        ct.order_tag,
        trustml_kit::field::to_hex(&trustml::market::order_tag(31337, MARKET, 1))
    );
    let (s, v) = send(reqwest::Method::GET, secret_url, Some(&token), None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (410, Some("gone")), "{v}");
    // The prompt is stored nowhere: not in our tables, not in the queue's.
    let needle = prompt()["input_data"][0][0].to_string();
    let params: String = sqlx::query_scalar("SELECT params FROM proving_jobs WHERE id = $1")
        .bind(&id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !params.contains("input_data") && !params.contains(&needle),
        "{params}"
    );

    // Cancelled while running: it stops at the next stage boundary; another account cannot.
    std::env::set_var("TRUSTML_TEST_JOB_DELAY_MS", "1500");
    let (_, v) = send(
        reqwest::Method::POST,
        jobs_url.clone(),
        Some(&token),
        Some(new(prompt())),
    )
    .await;
    let id2 = v["id"].as_str().unwrap().to_string();
    let mut sse = SseReader::open(&format!("{jobs_url}/{id2}/events"), "0").await;
    loop {
        let (_, name, data) = sse.next().await;
        if name == "state" && data["data"]["state"] == "running" {
            break;
        }
    }
    let (s, _) = send(
        reqwest::Method::DELETE,
        format!("{jobs_url}/{id2}"),
        Some(&other),
        None,
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = send(
        reqwest::Method::DELETE,
        format!("{jobs_url}/{id2}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(s, 202);
    until_state(&base, &id2, "cancelled").await;
    std::env::remove_var("TRUSTML_TEST_JOB_DELAY_MS");
    let (s, v) = send(
        reqwest::Method::DELETE,
        format!("{jobs_url}/{id2}"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{v}"
    );

    // A job whose process died holding its prompt: the worker finds no prompt, parks it as
    // awaiting_input; given the prompt again it finishes. (Made here by queueing a job whose
    // prompt this process never had.)
    let (_, v) = send(
        reqwest::Method::POST,
        jobs_url.clone(),
        Some(&token),
        Some(new(prompt())),
    )
    .await;
    let id3 = v["id"].as_str().unwrap().to_string();
    until_state(&base, &id3, "done").await;
    sqlx::query("UPDATE proving_jobs SET state = 'running' WHERE id = $1")
        .bind(&id3)
        .execute(&pool)
        .await
        .unwrap();
    jobs.enqueue(&id3).await.unwrap();
    until_state_after(&base, &id3, "awaiting_input").await;
    let input_url = format!("{jobs_url}/{id3}/input");
    let (s, _) = send(
        reqwest::Method::POST,
        input_url.clone(),
        Some(&token),
        Some(json!({ "prompt": { "x": 1 } })),
    )
    .await;
    assert_eq!(s, 400);
    let (s, v) = send(
        reqwest::Method::POST,
        input_url.clone(),
        Some(&token),
        Some(json!({ "prompt": prompt() })),
    )
    .await;
    assert_eq!(s, 202, "{v}");
    until_state_after(&base, &id3, "done").await;
    let (s, _) = send(
        reqwest::Method::POST,
        input_url,
        Some(&token),
        Some(json!({ "prompt": prompt() })),
    )
    .await;
    assert_eq!(s, 409);

    // Unknown ids and bad Last-Event-IDs.
    let (s, v) = get(&base, "/api/v1/jobs/nope").await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("not_found")));
    let r = reqwest::Client::new()
        .get(format!("{jobs_url}/{id}/events"))
        .header("Last-Event-ID", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Like [`until_state`], but only for states reached after the job's latest stored event.
async fn until_state_after(base: &str, id: &str, want: &str) {
    for _ in 0..600 {
        let (_, v) = get(base, &format!("/api/v1/jobs/{id}")).await;
        if v["state"] == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} never reached {want}");
}
