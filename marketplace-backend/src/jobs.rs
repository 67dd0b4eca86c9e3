//! Proving jobs: a durable queue (apalis, in the same SQLite file or Postgres database), one
//! worker per server process (proving takes every core), progress through the prover's
//! [`Progress`] interface into `proving_jobs` / `proving_job_events` and a live channel, Server-
//! Sent Events that resume with `Last-Event-ID`, cancellation, and resumption after a crash.
//!
//! **Secrets never reach the database.** A listing job's prompt and the listing secret it
//! produces live in this process's memory only (zeroized when dropped). The queue stores the
//! job id alone; if the process dies mid-job, apalis hands the task to the next worker after
//! its heartbeat lapses, which finds no prompt and parks the job as `awaiting_input`: the
//! seller posts the prompt again (`POST /jobs/{id}/input`) and the job finishes.
//!
//! States: `queued` → `running` → `done` | `failed` | `cancelled`; `awaiting_input` after a
//! restart lost the prompt.
#![allow(missing_docs)] // request/response fields are named for what they hold

use crate::api::{ApiError, AppState};
use crate::auth::{now, session};
use apalis::prelude::*;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{AnyPool, Row};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use trustml::data::InputData;
use trustml::market::listing::{prove_listing_with, ListingSecret};
use trustml::model::CompiledModel;
use trustml_kit::progress::Progress;
use zeroize::Zeroizing;

/// The queue's payload: the job id only (parameters are in `proving_jobs`, secrets in memory).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobTask {
    /// `proving_jobs.id`.
    pub job_id: String,
}

/// The queue's storage, by database.
#[derive(Clone)]
enum Queue {
    Sqlite(apalis_sqlite::SqliteStorage<JobTask>),
    Postgres(apalis_postgres::PostgresStorage<JobTask>),
}

/// A progress or state change of a job, as stored and streamed.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobEvent {
    pub job_id: String,
    /// Its position in the job's stream (the SSE id).
    pub seq: i64,
    /// `state` or `progress`.
    pub kind: String,
    #[schema(value_type = Object)]
    pub data: Value,
}

/// A job as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub id: String,
    /// `listing`.
    pub kind: String,
    pub owner: String,
    #[schema(value_type = Object)]
    pub params: Value,
    /// `queued`, `running`, `awaiting_input`, `done`, `failed` or `cancelled`.
    pub state: String,
    pub stage: String,
    pub done: i64,
    pub total: i64,
    /// Estimated milliseconds left in the current stage (absent when unknown).
    pub eta_ms: Option<i64>,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Job {
    fn from_row(r: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        let text = |c: &str| -> Result<Value, sqlx::Error> {
            Ok(serde_json::from_str(&r.try_get::<String, _>(c)?).unwrap_or(Value::Null))
        };
        Ok(Self {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            owner: r.try_get("owner")?,
            params: text("params")?,
            state: r.try_get("state")?,
            stage: r.try_get("stage")?,
            done: r.try_get("done")?,
            total: r.try_get("total")?,
            eta_ms: r.try_get("eta_ms")?,
            message: r.try_get("message")?,
            result: r
                .try_get::<Option<String>, _>("result")?
                .and_then(|s| serde_json::from_str(&s).ok()),
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
        })
    }
}

/// The job system of one server process.
pub struct Jobs {
    pool: AnyPool,
    queue: Queue,
    /// Models this server proves listings for, by name (subdirectories of `--models`).
    models: BTreeMap<String, PathBuf>,
    /// What a browser needs to read a prompt of each model (`GET /models`).
    infos: Vec<ModelInfo>,
    /// Prompts handed to listing jobs, until the job takes them.
    prompts: Mutex<HashMap<String, Zeroizing<String>>>,
    /// Listing secrets produced, until their owner fetches them once.
    secrets: Mutex<HashMap<String, Zeroizing<String>>>,
    /// Cancel flags of the jobs running here.
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
    live: broadcast::Sender<JobEvent>,
    /// The chain and marketplace deliveries are proven for (their order tags depend on it).
    market: Option<(u64, [u8; 20])>,
}

/// How long a dead worker's task waits before another worker takes it: heartbeat × missed.
const HEARTBEAT: Duration = Duration::from_secs(2);
const MISSED_HEARTBEATS: usize = 3;

impl Jobs {
    /// Opens the queue in the database at `url` (apalis's own tables and migrations, kept
    /// apart from ours), finds the models under `models_dir`, and starts this process's worker.
    /// `market` (chain id, marketplace address) enables delivery jobs.
    pub async fn start(
        url: &str,
        pool: AnyPool,
        models_dir: Option<PathBuf>,
        market: Option<(u64, [u8; 20])>,
    ) -> anyhow::Result<Arc<Self>> {
        use anyhow::Context as _;
        let queue = if crate::db::is_sqlite(url) {
            let opts: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
            let p = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(2)
                .connect_with(opts.busy_timeout(Duration::from_secs(5)))
                .await
                .context("opening the job queue")?;
            let mut m = apalis_sqlite::SqliteStorage::<()>::migrations();
            // Its own history table: ours is `_sqlx_migrations`.
            m.dangerous_set_table_name("_apalis_migrations");
            m.run(&p).await.context("migrating the job queue")?;
            let cfg = apalis_sqlite::Config::default()
                .queue("proving")
                .batch_size(1)
                .heartbeat_interval(HEARTBEAT)
                .missed_heartbeats(MISSED_HEARTBEATS);
            Queue::Sqlite(apalis_sqlite::SqliteStorage::new(&p).with_config(cfg))
        } else {
            let p = apalis_postgres::PgPool::connect(url)
                .await
                .context("opening the job queue")?;
            apalis_postgres::PostgresStorage::<()>::setup(&p)
                .await
                .context("migrating the job queue")?;
            let cfg = apalis_postgres::Config::default()
                .queue("proving")
                .batch_size(1)
                .heartbeat_interval(HEARTBEAT)
                .missed_heartbeats(MISSED_HEARTBEATS);
            Queue::Postgres(apalis_postgres::PostgresStorage::new(&p).with_config(cfg))
        };
        let mut models = BTreeMap::new();
        if let Some(dir) = models_dir {
            for e in std::fs::read_dir(&dir)
                .with_context(|| format!("reading --models {}", dir.display()))?
            {
                let p = e?.path();
                if p.join("settings.json").exists() {
                    if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
                        models.insert(name.to_string(), p.clone());
                    }
                }
            }
        }
        let mut infos = vec![];
        for (name, dir) in &models {
            infos.push(
                ModelInfo::load(name, dir)
                    .with_context(|| format!("loading the model in {}", dir.display()))?,
            );
        }
        // Text prompts are the default listing kind: listed first.
        infos.sort_by_key(|i| i.text.is_none());
        let jobs = Arc::new(Self {
            pool,
            queue: queue.clone(),
            models,
            infos,
            prompts: Mutex::default(),
            secrets: Mutex::default(),
            running: Mutex::default(),
            live: broadcast::channel(1024).0,
            market,
        });
        // A worker name of its own per process: a restarted server takes the dead one's
        // tasks once its heartbeat has lapsed.
        let name = format!("prover-{}", ulid::Ulid::generate());
        let state = jobs.clone();
        macro_rules! run_worker {
            ($backend:expr) => {{
                let w = WorkerBuilder::new(name)
                    .backend($backend)
                    .concurrency(1)
                    .data(state)
                    .build(handle);
                tokio::spawn(async move {
                    if let Err(e) = w.run().await {
                        tracing::error!("the proving worker stopped: {e}");
                    }
                });
            }};
        }
        match queue {
            Queue::Sqlite(s) => run_worker!(s.poll_with_interval(Duration::from_millis(250))),
            Queue::Postgres(s) => run_worker!(s.with_pubsub()),
        }
        Ok(jobs)
    }

    /// Names of the models listing jobs can use.
    pub fn model_names(&self) -> Vec<String> {
        self.models.keys().cloned().collect()
    }

    /// Queues a task for job `job_id` (which must exist in `proving_jobs`).
    pub async fn enqueue(&self, job_id: &str) -> Result<(), ApiError> {
        let task = TaskBuilder::new(JobTask {
            job_id: job_id.to_string(),
        })
        .task_id(TaskId::from_ulid(ulid::Ulid::generate()))
        .max_attempts(1)
        .build();
        let r = match self.queue.clone() {
            Queue::Sqlite(mut s) => s.push_task(task).await.map_err(|e| e.to_string()),
            Queue::Postgres(mut s) => s.push_task(task).await.map_err(|e| e.to_string()),
        };
        r.map_err(|e| {
            tracing::error!("queueing job {job_id}: {e}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue_unavailable",
                "the job queue did not accept the job; retry shortly",
            )
        })
    }

    /// Records an event of `job_id` and sends it to live subscribers.
    async fn event(&self, job_id: &str, kind: &str, data: Value) -> sqlx::Result<()> {
        let seq: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM proving_job_events WHERE job_id = $1",
        )
        .bind(job_id)
        .fetch_one(&self.pool)
        .await?;
        sqlx::query(
            "INSERT INTO proving_job_events (job_id, seq, kind, data) VALUES ($1, $2, $3, $4)",
        )
        .bind(job_id)
        .bind(seq)
        .bind(kind)
        .bind(data.to_string())
        .execute(&self.pool)
        .await?;
        let _ = self.live.send(JobEvent {
            job_id: job_id.into(),
            seq,
            kind: kind.into(),
            data,
        });
        Ok(())
    }

    /// Sets a job's state (and message), with its event.
    async fn set_state(
        &self,
        id: &str,
        state: &str,
        message: &str,
        result: Option<Value>,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE proving_jobs SET state = $1, message = $2, result = COALESCE($3, result), \
             updated_at = $4 WHERE id = $5",
        )
        .bind(state)
        .bind(message)
        .bind(result.as_ref().map(Value::to_string))
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.event(
            id,
            "state",
            json!({ "state": state, "message": message, "result": result }),
        )
        .await
    }

    /// Runs job `id` (the worker's handler). Every outcome is recorded on the job; the queue
    /// task itself always succeeds, so apalis never retries a proof on its own.
    async fn run(self: &Arc<Self>, id: &str) -> sqlx::Result<()> {
        let Some(row) = sqlx::query("SELECT * FROM proving_jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(());
        };
        let job = Job::from_row(&row)?;
        if ["done", "failed", "cancelled"].contains(&job.state.as_str()) {
            return Ok(());
        }
        if row.try_get::<i64, _>("cancel_requested")? == 1 {
            return self
                .set_state(id, "cancelled", "cancelled before it started", None)
                .await;
        }
        let Some(prompt) = self.prompts.lock().expect("lock").remove(id) else {
            return self
                .set_state(
                    id,
                    "awaiting_input",
                    "the server restarted while this job held its secret input (kept in memory only): post the prompt (or listing secret) again to /api/v1/jobs/{id}/input",
                    None,
                )
                .await;
        };
        let model_name = job.params["model"].as_str().unwrap_or_default().to_string();
        let Some(dir) = self.models.get(&model_name).cloned() else {
            return self
                .set_state(id, "failed", &format!("unknown model {model_name}"), None)
                .await;
        };
        let work = match job.kind.as_str() {
            "delivery" => match self.delivery_work(&job, &dir).await? {
                Ok(w) => w,
                Err(e) => return self.set_state(id, "failed", &e, None).await,
            },
            _ => {
                let seller = trustml::market::listing::parse_address(
                    job.params["seller"].as_str().unwrap_or_default(),
                )
                .unwrap_or_default();
                Work::Listing { dir, seller }
            }
        };
        self.set_state(id, "running", "", None).await?;
        let cancel = Arc::new(AtomicBool::new(false));
        self.running
            .lock()
            .expect("lock")
            .insert(id.into(), cancel.clone());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let reporter = Reporter {
            tx,
            cancel: cancel.clone(),
        };
        let proving = tokio::task::spawn_blocking(move || -> Result<Outcome, String> {
            if let Ok(ms) = std::env::var("TRUSTML_TEST_JOB_DELAY_MS") {
                // Tests stretch a job to kill or cancel it midway.
                reporter.stage("test delay", 1);
                std::thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0)));
                reporter.inc(1);
            }
            work.prove(&prompt, &reporter)
        });
        // Progress: at most two writes a second (every stage change is written).
        let started = Instant::now();
        let mut stage_start = Instant::now();
        let mut last_write = Instant::now() - Duration::from_secs(1);
        let mut cur = (String::new(), 0i64, 0i64);
        let mut last_cancel_check = Instant::now();
        while let Some(msg) = rx.recv().await {
            let changed = match msg {
                Msg::Stage(name, total) => {
                    cur = (name, 0, total as i64);
                    stage_start = Instant::now();
                    true
                }
                Msg::Inc(n) => {
                    cur.1 += n as i64;
                    cur.1 >= cur.2
                }
            };
            if changed || last_write.elapsed() >= Duration::from_millis(500) {
                last_write = Instant::now();
                let eta = (cur.1 > 0 && cur.1 < cur.2).then(|| {
                    let per = stage_start.elapsed().as_millis() as i64 / cur.1;
                    per * (cur.2 - cur.1)
                });
                sqlx::query(
                    "UPDATE proving_jobs SET stage = $1, done = $2, total = $3, eta_ms = $4, \
                     updated_at = $5 WHERE id = $6",
                )
                .bind(&cur.0)
                .bind(cur.1)
                .bind(cur.2)
                .bind(eta)
                .bind(now())
                .bind(id)
                .execute(&self.pool)
                .await?;
                self.event(
                    id,
                    "progress",
                    json!({ "stage": cur.0, "done": cur.1, "total": cur.2, "etaMs": eta,
                            "elapsedMs": started.elapsed().as_millis() as i64 }),
                )
                .await?;
            }
            // A cancel may come through another server instance: read the flag now and then.
            if last_cancel_check.elapsed() >= Duration::from_millis(500) {
                last_cancel_check = Instant::now();
                let c: i64 =
                    sqlx::query_scalar("SELECT cancel_requested FROM proving_jobs WHERE id = $1")
                        .bind(id)
                        .fetch_one(&self.pool)
                        .await?;
                if c == 1 {
                    cancel.store(true, Ordering::SeqCst);
                }
            }
        }
        self.running.lock().expect("lock").remove(id);
        let outcome = proving
            .await
            .unwrap_or_else(|e| Err(format!("the prover panicked: {e}")));
        if cancel.load(Ordering::SeqCst) {
            return self.set_state(id, "cancelled", "cancelled", None).await;
        }
        match outcome {
            Ok(Outcome::Listing(listing_json, secret)) => {
                let sha = crate::artifacts::store(
                    &self.pool,
                    listing_json.as_bytes(),
                    "application/json",
                )
                .await?;
                let l: Value = serde_json::from_str(&listing_json).unwrap_or(Value::Null);
                self.secrets.lock().expect("lock").insert(
                    id.into(),
                    Zeroizing::new(serde_json::to_string(&secret).unwrap_or_default()),
                );
                let result = json!({
                    "listing": sha,
                    "commitment": l["commitment"], "outputHash": l["output_hash"], "seller": l["seller"],
                    "secret": format!("/api/v1/jobs/{id}/secret"),
                    "elapsedMs": started.elapsed().as_millis() as i64,
                });
                self.set_state(
                    id,
                    "done",
                    "fetch the listing secret once from result.secret; it is not kept",
                    Some(result),
                )
                .await
            }
            Ok(Outcome::Delivery(proof_json, mut summary)) => {
                let sha =
                    crate::artifacts::store(&self.pool, proof_json.as_bytes(), "application/json")
                        .await?;
                summary["proof"] = sha.into();
                summary["elapsedMs"] = (started.elapsed().as_millis() as i64).into();
                self.set_state(
                    id,
                    "done",
                    "send commitDelivery, then deliver, with the ciphertext and proof (the seller's wallet signs)",
                    Some(summary),
                )
                .await
            }
            Err(e) => self.set_state(id, "failed", &e, None).await,
        }
    }
}

impl Jobs {
    /// What a delivery job proves: the order (from the index), its buyer key and tag, and the
    /// model's delivery circuit (`MODEL/delivery`). `Err` when the job cannot run.
    async fn delivery_work(
        &self,
        job: &Job,
        dir: &std::path::Path,
    ) -> sqlx::Result<Result<Work, String>> {
        let Some((chain_id, market)) = self.market else {
            return Ok(Err(
                "this server proves no deliveries (it knows no marketplace)".into(),
            ));
        };
        let order_id = job.params["order"].as_u64().unwrap_or(0);
        let Some(row) = sqlx::query("SELECT pk_x, pk_y FROM orders WHERE id = $1")
            .bind(order_id as i64)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(Err(format!("order {order_id} is not indexed")));
        };
        let coord = |c: &str| -> Option<trustml_babyjubjub::Fr> {
            trustml_kit::field::parse(&row.try_get::<String, _>(c).ok()?)
        };
        let (Some(x), Some(y)) = (coord("pk_x"), coord("pk_y")) else {
            return Ok(Err(format!("order {order_id}'s buyer key is not a point")));
        };
        let order = trustml::market::OrderRef {
            chain_id,
            market,
            order_id,
        };
        Ok(Ok(Work::Delivery {
            dir: dir.join("delivery"),
            buyer: trustml_babyjubjub::Point { x, y },
            order,
        }))
    }
}

/// What a job's blocking half proves.
enum Work {
    Listing {
        dir: PathBuf,
        seller: [u8; 20],
    },
    Delivery {
        dir: PathBuf,
        buyer: trustml_babyjubjub::Point,
        order: trustml::market::OrderRef,
    },
}

/// What it made.
enum Outcome {
    /// The listing file (JSON) and the listing secret.
    Listing(String, ListingSecret),
    /// The delivery proof file (JSON) and what the seller's transactions need.
    Delivery(String, Value),
}

impl Work {
    /// Proves, with `input` (the prompt, or the listing secret) from memory.
    fn prove(self, input: &str, progress: &dyn Progress) -> Result<Outcome, String> {
        match self {
            Work::Listing { dir, seller } => {
                let m = CompiledModel::load(&dir).map_err(|e| e.to_string())?;
                let keys = trustml::proof::load_keys(&m, true).map_err(|e| e.to_string())?;
                let data: InputData = serde_json::from_str(input)
                    .map_err(|e| format!("the prompt is not model input JSON: {e}"))?;
                let (l, s) = prove_listing_with(
                    &m,
                    &keys,
                    &data,
                    std::path::Path::new("prompt"),
                    seller,
                    progress,
                )
                .map_err(|e| e.to_string())?;
                Ok(Outcome::Listing(
                    serde_json::to_string_pretty(&l).map_err(|e| e.to_string())?,
                    s,
                ))
            }
            Work::Delivery { dir, buyer, order } => {
                use trustml::market::delivery::DeliveryDir;
                let secret: ListingSecret = serde_json::from_str(input)
                    .map_err(|e| format!("the listing secret is not a listing secret file: {e}"))?;
                let path = std::path::Path::new("listing secret");
                let d = DeliveryDir::load(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                let keys = trustml_kit::progress::step(progress, "keys", || d.keys(true))
                    .ok_or("cancelled")?
                    .map_err(|e| e.to_string())?;
                let pf = trustml_kit::progress::step(progress, "prove", || {
                    d.prove(&keys, &secret, path, &buyer, order.tag())
                })
                .ok_or("cancelled")?
                .map_err(|e| e.to_string())?;
                let buyer_json = trustml::market::PointJson {
                    x: trustml_kit::field::to_hex(&buyer.x),
                    y: trustml_kit::field::to_hex(&buyer.y),
                };
                let ct = trustml::market::CiphertextFile::for_order(&pf, path, &order, &buyer_json)
                    .map_err(|e| e.to_string())?;
                let summary = json!({ "order": order.order_id, "ephemeralKey": ct.r, "ciphertext": ct.blocks });
                Ok(Outcome::Delivery(
                    serde_json::to_string_pretty(&pf).map_err(|e| e.to_string())?,
                    summary,
                ))
            }
        }
    }
}

enum Msg {
    Stage(String, u64),
    Inc(u64),
}

/// The prover-side [`Progress`]: forwards to the job's writer, reads its cancel flag.
struct Reporter {
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
    cancel: Arc<AtomicBool>,
}

impl Progress for Reporter {
    fn stage(&self, name: &str, total: u64) {
        let _ = self.tx.send(Msg::Stage(name.into(), total));
    }
    fn inc(&self, n: u64) {
        let _ = self.tx.send(Msg::Inc(n));
    }
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

async fn handle(task: JobTask, jobs: Data<Arc<Jobs>>) -> Result<(), BoxDynError> {
    if let Err(e) = jobs.run(&task.job_id).await {
        tracing::error!("job {}: {e}", task.job_id);
        return Err(Box::new(e));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------- the API

fn jobs_of(s: &AppState) -> Result<&Arc<Jobs>, ApiError> {
    s.jobs.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "jobs_disabled",
            "this server runs no proving jobs (start it with --models DIR); prove with the CLI instead",
        )
    })
}

/// `POST /jobs` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    /// `listing`: prove a listing of `prompt` through `model` for the signed-in seller.
    /// `delivery`: prove the delivery of `order` (of the signed-in seller's listing) from its
    /// listing `secret`, with `model`'s delivery circuit.
    pub kind: String,
    /// A name from `GET /models`.
    pub model: String,
    /// `listing`: the prompt, as model input JSON (`{"input_data": [[…]]}`).
    #[schema(value_type = Option<Object>)]
    pub prompt: Option<Value>,
    /// `delivery`: the order id.
    pub order: Option<u64>,
    /// `delivery`: the listing secret file's JSON.
    #[schema(value_type = Option<Object>)]
    pub secret: Option<Value>,
}

/// A served model, as a browser needs it to unpack a decrypted prompt and re-run the model.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// The name jobs use.
    pub name: String,
    /// The listing circuit's settings digest (a listing's metadata names it).
    pub settings_digest: String,
    /// Keccak-256 of the model file (`GET /models/{name}/file` serves it).
    pub model_keccak: String,
    /// `onnx` or `zkml`.
    pub format: String,
    /// Fixed-point fractional bits: a prompt value is `round(x·2^scaleBits)`.
    pub scale_bits: u32,
    /// Values in a prompt (all inputs, flattened).
    pub prompt_len: usize,
    /// Bits per packed prompt value.
    pub packing_bits: u32,
    /// The smallest prompt value the circuit admits.
    pub packing_min: i64,
    /// Input shapes.
    pub inputs: Vec<Vec<usize>>,
    /// Output shapes.
    pub outputs: Vec<Vec<usize>>,
    /// Largest |fixed point − float| on the calibration samples: how far a float re-run of
    /// the model may differ from a proven output.
    pub calibration_max_abs_error: Option<f64>,
    /// Whether `MODEL/delivery` holds delivery proving keys (delivery jobs need them).
    pub delivery: bool,
    /// A text model: its prompt and completion lengths and vocabulary (the prompt is text,
    /// the proven output the completion's token ids).
    pub text: Option<TextInfo>,
    /// The listing circuit's id on chain (its vk digest), when its verifier was generated:
    /// `list` names it.
    pub listing_circuit_id: Option<String>,
    /// The paired delivery circuit's id on chain.
    pub delivery_circuit_id: Option<String>,
}

/// A text model's prompt format.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TextInfo {
    /// Tokens of the hidden prompt (a shorter prompt is padded on the left with spaces).
    pub prompt_len: usize,
    /// Tokens of the public completion.
    pub completion_len: usize,
    /// The character of each token id.
    pub vocab: Vec<String>,
}

/// The vk digest recorded in `dir/evm.json` (`trustml evm gen-verifier`), if any.
fn circuit_id(dir: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("evm.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    Some(v.get("vk_digest")?.as_str()?.to_string())
}

impl ModelInfo {
    fn load(name: &str, dir: &std::path::Path) -> anyhow::Result<Self> {
        let m = CompiledModel::load(dir)?;
        let header = trustml_kit::ArtifactHeader::read(dir)?;
        let packing = trustml::packing::InputPacking::of(&m.program);
        Ok(Self {
            name: name.to_string(),
            settings_digest: header.settings_digest,
            model_keccak: m.settings.model_keccak.clone(),
            format: match m.settings.format {
                trustml::model::ModelFormat::Onnx => "onnx",
                trustml::model::ModelFormat::Zkml => "zkml",
            }
            .into(),
            scale_bits: m.settings.quant.scale_bits,
            prompt_len: m.program.inputs.iter().map(|(_, w)| w.len()).sum(),
            packing_bits: packing.bits,
            packing_min: packing.min,
            inputs: m.settings.inputs.iter().map(|t| t.shape.clone()).collect(),
            outputs: m.settings.outputs.iter().map(|t| t.shape.clone()).collect(),
            calibration_max_abs_error: m
                .settings
                .calibration
                .as_ref()
                .filter(|c| !c.no_float_reference)
                .map(|c| c.max_abs_error),
            delivery: dir.join("delivery").join("pk.bin").exists(),
            text: m.settings.text.as_ref().map(|t| TextInfo {
                prompt_len: t.prompt_len,
                completion_len: t.completion_len,
                vocab: t.vocab.clone(),
            }),
            listing_circuit_id: circuit_id(dir),
            delivery_circuit_id: circuit_id(&dir.join("delivery")),
        })
    }
}

/// The models this server proves listings for.
#[utoipa::path(get, path = "/api/v1/models", responses((status = 200, body = Vec<ModelInfo>)))]
pub async fn models(State(s): State<AppState>) -> Json<Vec<ModelInfo>> {
    Json(s.jobs.as_ref().map(|j| j.infos.clone()).unwrap_or_default())
}

/// A served model's file (ONNX or zkml msgpack), for the browser to re-run it on a bought prompt.
#[utoipa::path(get, path = "/api/v1/models/{name}/file", responses(
    (status = 200, content_type = "application/octet-stream"), (status = 404, body = crate::schema::ErrorBody)))]
pub async fn model_file(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    let not_found = || {
        ApiError::not_found(format!(
            "no model {name:?} is served here; GET /api/v1/models lists them"
        ))
    };
    let jobs = s.jobs.as_ref().ok_or_else(not_found)?;
    let info = jobs
        .infos
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(not_found)?;
    let file = if info.format == "onnx" {
        "model.onnx"
    } else {
        "model.msgpack"
    };
    let bytes = tokio::fs::read(jobs.models[&name].join(file))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("reading the model file failed ({e}); the operator must check --models"),
            )
        })?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/octet-stream"),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response())
}

/// Starts a proving job (signed-in accounts; the seller is the account).
#[utoipa::path(post, path = "/api/v1/jobs", request_body = NewJob, responses(
    (status = 202, body = Job), (status = 400, body = crate::schema::ErrorBody),
    (status = 401, body = crate::schema::ErrorBody), (status = 503, body = crate::schema::ErrorBody)))]
pub async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewJob>, JsonRejection>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let (owner, _) = session(&s, &headers).await?;
    let jobs = jobs_of(&s)?;
    let Json(req) =
        body.map_err(|e| ApiError::bad_request(format!("bad body: {}", e.body_text())))?;
    if !jobs.models.contains_key(&req.model) {
        return Err(ApiError::bad_request(format!(
            "model {:?} is not served here; GET /api/v1/models lists them",
            req.model
        )));
    }
    let input = check_input(&req.kind, req.prompt.as_ref(), req.secret.as_ref())?;
    let owner_hex = format!("{owner:#x}");
    let mut params = json!({ "model": req.model, "seller": owner_hex });
    if req.kind == "delivery" {
        let order = req
            .order
            .ok_or_else(|| ApiError::bad_request("a delivery job needs `order`"))?;
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT l.seller, o.status FROM orders o JOIN listings l ON l.id = o.listing_id \
             WHERE o.id = $1",
        )
        .bind(order as i64)
        .fetch_optional(&s.pool)
        .await?;
        let (seller, status) = row.ok_or_else(|| {
            ApiError::not_found(format!("no order {order} (not placed, or not indexed yet)"))
        })?;
        if seller != owner_hex {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("order {order} is for a listing of {seller}, not of {owner_hex}"),
            ));
        }
        if status != "paid" && status != "committed" {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("order {order} is {status}: nothing to deliver"),
            ));
        }
        if jobs.market.is_none() || !jobs.models[&req.model].join("delivery").exists() {
            return Err(ApiError::bad_request(format!(
                "model {:?} has no delivery circuit on this server; deliver with `trustml market deliver`",
                req.model
            )));
        }
        params["order"] = order.into();
    }
    let id = ulid::Ulid::generate().to_string().to_lowercase();
    let t = now();
    sqlx::query(
        "INSERT INTO proving_jobs (id, kind, owner, params, state, stage, done, total, message, \
         cancel_requested, created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', '', 0, 0, '', 0, $5, $5)",
    )
    .bind(&id)
    .bind(&req.kind)
    .bind(&owner_hex)
    .bind(params.to_string())
    .bind(t)
    .execute(&s.pool)
    .await?;
    // The event first: the worker may start (and report) before `enqueue` returns.
    jobs.event(&id, "state", json!({ "state": "queued" }))
        .await?;
    jobs.prompts.lock().expect("lock").insert(id.clone(), input);
    jobs.enqueue(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(load(&s, &id).await?)))
}

/// The secret input a job of `kind` needs, checked: a listing's prompt, a delivery's listing
/// secret.
fn check_input(
    kind: &str,
    prompt: Option<&Value>,
    secret: Option<&Value>,
) -> Result<Zeroizing<String>, ApiError> {
    match (kind, prompt, secret) {
        ("listing", Some(v), None) => {
            let text = Zeroizing::new(v.to_string());
            serde_json::from_str::<InputData>(&text).map_err(|e| {
                ApiError::bad_request(format!(
                    "prompt is not model input JSON ({{\"input_data\": [[…]]}}): {e}"
                ))
            })?;
            Ok(text)
        }
        ("delivery", None, Some(v)) => {
            let text = Zeroizing::new(v.to_string());
            serde_json::from_str::<ListingSecret>(&text).map_err(|e| {
                ApiError::bad_request(format!("secret is not a listing secret file: {e}"))
            })?;
            Ok(text)
        }
        ("listing", _, _) => Err(ApiError::bad_request(
            "a listing job takes `prompt` (and no `secret`)",
        )),
        ("delivery", _, _) => Err(ApiError::bad_request(
            "a delivery job takes `secret` (and no `prompt`)",
        )),
        (k, _, _) => Err(ApiError::bad_request(format!(
            "kind {k:?}: the server proves `listing` and `delivery` jobs"
        ))),
    }
}

async fn load(s: &AppState, id: &str) -> Result<Job, ApiError> {
    let row = sqlx::query("SELECT * FROM proving_jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&s.pool)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no job {id}")))?;
    Ok(Job::from_row(&row)?)
}

/// One job (public: it holds no secret).
#[utoipa::path(get, path = "/api/v1/jobs/{id}", params(("id" = String, Path)),
    responses((status = 200, body = Job), (status = 404, body = crate::schema::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Job>, ApiError> {
    let Path(id) = id?;
    Ok(Json(load(&s, &id).await?))
}

async fn owned(s: &AppState, headers: &HeaderMap, id: &str) -> Result<Job, ApiError> {
    let (me, _) = session(s, headers).await?;
    let job = load(s, id).await?;
    if job.owner != format!("{me:#x}") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this job belongs to another account",
        ));
    }
    Ok(job)
}

/// Cancels a job (its owner): a queued job never starts, a running one stops at its next
/// stage boundary.
#[utoipa::path(delete, path = "/api/v1/jobs/{id}", params(("id" = String, Path)),
    responses((status = 202, body = Job), (status = 401, body = crate::schema::ErrorBody),
    (status = 403, body = crate::schema::ErrorBody), (status = 404, body = crate::schema::ErrorBody)))]
pub async fn cancel(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let Path(id) = id?;
    let job = owned(&s, &headers, &id).await?;
    if ["done", "failed", "cancelled"].contains(&job.state.as_str()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("job {id} is already {}", job.state),
        ));
    }
    sqlx::query("UPDATE proving_jobs SET cancel_requested = 1, updated_at = $1 WHERE id = $2")
        .bind(now())
        .bind(&id)
        .execute(&s.pool)
        .await?;
    let jobs = jobs_of(&s)?;
    if let Some(flag) = jobs.running.lock().expect("lock").get(&id) {
        flag.store(true, Ordering::SeqCst);
    }
    if job.state == "awaiting_input" {
        jobs.set_state(&id, "cancelled", "cancelled", None).await?;
    }
    jobs.prompts.lock().expect("lock").remove(&id);
    Ok((StatusCode::ACCEPTED, Json(load(&s, &id).await?)))
}

/// `POST /jobs/{id}/input` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct JobInput {
    /// A listing job's prompt again (model input JSON).
    #[schema(value_type = Option<Object>)]
    pub prompt: Option<Value>,
    /// A delivery job's listing secret again.
    #[schema(value_type = Option<Object>)]
    pub secret: Option<Value>,
}

/// Gives an `awaiting_input` job its prompt again (its owner); the job is queued anew.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/input", params(("id" = String, Path)), request_body = JobInput,
    responses((status = 202, body = Job), (status = 409, body = crate::schema::ErrorBody)))]
pub async fn input(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<JobInput>, JsonRejection>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let Path(id) = id?;
    let job = owned(&s, &headers, &id).await?;
    let Json(req) =
        body.map_err(|e| ApiError::bad_request(format!("bad body: {}", e.body_text())))?;
    if job.state != "awaiting_input" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("job {id} is {}, not awaiting input", job.state),
        ));
    }
    let prompt = check_input(&job.kind, req.prompt.as_ref(), req.secret.as_ref())?;
    let jobs = jobs_of(&s)?;
    jobs.prompts
        .lock()
        .expect("lock")
        .insert(id.clone(), prompt);
    jobs.set_state(&id, "queued", "", None).await?;
    jobs.enqueue(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(load(&s, &id).await?)))
}

/// The listing secret a finished listing job made (its owner, once: it is then erased).
#[utoipa::path(get, path = "/api/v1/jobs/{id}/secret", params(("id" = String, Path)),
    responses((status = 200, description = "the listing secret file"), (status = 410, body = crate::schema::ErrorBody)))]
pub async fn secret(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    let Path(id) = id?;
    owned(&s, &headers, &id).await?;
    let secret = jobs_of(&s)?.secrets.lock().expect("lock").remove(&id).ok_or_else(|| {
        ApiError::new(
            StatusCode::GONE,
            "gone",
            "no secret here: it was fetched already, the job is not done, or the server restarted since (prove again)",
        )
    })?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        secret.to_string(),
    )
        .into_response())
}

/// `GET /api/v1/jobs/{id}/events`: Server-Sent Events of a job (`event:` `state` or
/// `progress`, `id:` its sequence number, `data:` a [`JobEvent`]); with `Last-Event-ID` the
/// stored events after it come first, then live ones.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/events", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/event-stream", body = JobEvent)))]
pub async fn events(
    State(s): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<
    axum::response::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    let Path(id) = id?;
    load(&s, &id).await?;
    let live = jobs_of(&s)?.live.subscribe();
    let after: i64 = match headers.get("last-event-id") {
        None => 0,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                ApiError::bad_request("Last-Event-ID is not a sequence number of this job")
            })?,
    };
    let rows = sqlx::query("SELECT seq, kind, data FROM proving_job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq")
        .bind(&id)
        .bind(after)
        .fetch_all(&s.pool)
        .await?;
    let backlog = rows
        .iter()
        .map(|r| {
            Ok(JobEvent {
                job_id: id.clone(),
                seq: r.try_get("seq")?,
                kind: r.try_get("kind")?,
                data: serde_json::from_str(&r.try_get::<String, _>("data")?).unwrap_or(Value::Null),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let last = backlog.last().map_or(after, |e| e.seq);
    let stream = futures_util::stream::unfold(
        (backlog.into_iter(), live, last, id),
        |(mut backlog, mut live, mut last, id)| async move {
            if let Some(e) = backlog.next() {
                return Some((Ok(sse(&e)), (backlog, live, last, id)));
            }
            loop {
                match live.recv().await {
                    Ok(e) if e.job_id == id && e.seq > last => {
                        last = e.seq;
                        return Some((Ok(sse(&e)), (backlog, live, last, id)));
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_))
                    | Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(axum::response::Sse::new(stream)
        .keep_alive(axum::response::sse::KeepAlive::new().interval(Duration::from_secs(15))))
}

fn sse(e: &JobEvent) -> axum::response::sse::Event {
    axum::response::sse::Event::default()
        .id(e.seq.to_string())
        .event(e.kind.clone())
        .json_data(e)
        .unwrap_or_default()
}
