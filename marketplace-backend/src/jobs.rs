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
    /// Prompts handed to listing jobs, until the job takes them.
    prompts: Mutex<HashMap<String, Zeroizing<String>>>,
    /// Listing secrets produced, until their owner fetches them once.
    secrets: Mutex<HashMap<String, Zeroizing<String>>>,
    /// Cancel flags of the jobs running here.
    running: Mutex<HashMap<String, Arc<AtomicBool>>>,
    live: broadcast::Sender<JobEvent>,
}

/// How long a dead worker's task waits before another worker takes it: heartbeat × missed.
const HEARTBEAT: Duration = Duration::from_secs(2);
const MISSED_HEARTBEATS: usize = 3;

impl Jobs {
    /// Opens the queue in the database at `url` (apalis's own tables and migrations, kept
    /// apart from ours), finds the models under `models_dir`, and starts this process's worker.
    pub async fn start(
        url: &str,
        pool: AnyPool,
        models_dir: Option<PathBuf>,
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
        let jobs = Arc::new(Self {
            pool,
            queue: queue.clone(),
            models,
            prompts: Mutex::default(),
            secrets: Mutex::default(),
            running: Mutex::default(),
            live: broadcast::channel(1024).0,
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
                    "the server restarted while this job held its prompt (prompts are kept in memory only): post the prompt again to /api/v1/jobs/{id}/input",
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
        let seller = trustml::market::listing::parse_address(
            job.params["seller"].as_str().unwrap_or_default(),
        )
        .unwrap_or_default();
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
        let proving =
            tokio::task::spawn_blocking(move || -> Result<(String, ListingSecret), String> {
                if let Ok(ms) = std::env::var("TRUSTML_TEST_JOB_DELAY_MS") {
                    // Tests stretch a job to kill or cancel it midway.
                    reporter.stage("test delay", 1);
                    std::thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0)));
                    reporter.inc(1);
                }
                let m = CompiledModel::load(&dir).map_err(|e| e.to_string())?;
                let keys = trustml::proof::load_keys(&m, true).map_err(|e| e.to_string())?;
                let data: InputData = serde_json::from_str(&prompt)
                    .map_err(|e| format!("the prompt is not model input JSON: {e}"))?;
                let (l, s) = prove_listing_with(
                    &m,
                    &keys,
                    &data,
                    std::path::Path::new("prompt"),
                    seller,
                    &reporter,
                )
                .map_err(|e| e.to_string())?;
                Ok((
                    serde_json::to_string_pretty(&l).map_err(|e| e.to_string())?,
                    s,
                ))
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
            Ok((listing_json, secret)) => {
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
            Err(e) => self.set_state(id, "failed", &e, None).await,
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
    pub kind: String,
    /// A name from `GET /models`.
    pub model: String,
    /// The prompt, as model input JSON (`{"input_data": [[…]]}`). Kept in memory for this job
    /// only; never stored or logged.
    #[schema(value_type = Object)]
    pub prompt: Value,
}

/// The models this server proves listings for.
#[utoipa::path(get, path = "/api/v1/models", responses((status = 200, body = Vec<String>)))]
pub async fn models(State(s): State<AppState>) -> Json<Vec<String>> {
    Json(s.jobs.as_ref().map(|j| j.model_names()).unwrap_or_default())
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
    if req.kind != "listing" {
        return Err(ApiError::bad_request(format!(
            "kind {:?}: the server proves `listing` jobs",
            req.kind
        )));
    }
    if !jobs.models.contains_key(&req.model) {
        return Err(ApiError::bad_request(format!(
            "model {:?} is not served here; GET /api/v1/models lists them",
            req.model
        )));
    }
    let prompt = check_prompt(&req.prompt)?;
    let id = ulid::Ulid::generate().to_string().to_lowercase();
    let params = json!({ "model": req.model, "seller": format!("{owner:#x}") });
    let t = now();
    sqlx::query(
        "INSERT INTO proving_jobs (id, kind, owner, params, state, stage, done, total, message, \
         cancel_requested, created_at, updated_at) VALUES ($1, 'listing', $2, $3, 'queued', '', 0, 0, '', 0, $4, $4)",
    )
    .bind(&id)
    .bind(format!("{owner:#x}"))
    .bind(params.to_string())
    .bind(t)
    .execute(&s.pool)
    .await?;
    // The event first: the worker may start (and report) before `enqueue` returns.
    jobs.event(&id, "state", json!({ "state": "queued" }))
        .await?;
    jobs.prompts
        .lock()
        .expect("lock")
        .insert(id.clone(), prompt);
    jobs.enqueue(&id).await?;
    Ok((StatusCode::ACCEPTED, Json(load(&s, &id).await?)))
}

fn check_prompt(v: &Value) -> Result<Zeroizing<String>, ApiError> {
    let text = Zeroizing::new(v.to_string());
    serde_json::from_str::<InputData>(&text).map_err(|e| {
        ApiError::bad_request(format!(
            "prompt is not model input JSON ({{\"input_data\": [[…]]}}): {e}"
        ))
    })?;
    Ok(text)
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
    /// The prompt again (model input JSON).
    #[schema(value_type = Object)]
    pub prompt: Value,
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
    let prompt = check_prompt(&req.prompt)?;
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
