//! The chain indexer: one task that copies the logs of the marketplace (and the audit
//! escrow, when given) into `chain_events` and keeps the projections (`listings`, `orders`,
//! `audits`, `audit_batches`) a function of those events alone.
//!
//! Each step reads the logs of blocks `cursor+1 ..= min(head − confirmations, cursor+batch)`
//! and applies them in **one database transaction** — events (idempotent by
//! `(tx_hash, log_index)`), projections, the batch's last block hash, the cursor — so a crash
//! at any point loses or repeats nothing. A batch halves when the RPC refuses its range and
//! grows back after successes. Before each step the cursor block's hash is compared with the
//! chain's: on a reorg the indexer walks back through `block_hashes` to a block the chain
//! still has, drops the later events and replays the projections ([`reindex`]).

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{BlockNumberOrTag, Filter, Log};
use alloy::sol_types::SolEvent;
use serde_json::{json, Value};
use sqlx::{Any, AnyPool, Row, Transaction};
use std::time::Duration;
use trustml_chain::bindings::PromptMarketplace as M;
use trustml_chain::Client;

/// Hashes of batch ends kept for reorg detection.
const KEPT_HASHES: i64 = 512;

/// Errors of one indexer step.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The RPC failed.
    #[error("RPC: {0}")]
    Rpc(String),
    /// The database failed.
    #[error("database")]
    Db(#[from] sqlx::Error),
    /// A reorg deeper than the kept block hashes.
    #[error("the chain no longer has block {0} that the index ends at, and no kept block hash matches: run `trustml-server reindex`")]
    DeepReorg(u64),
}

/// What the indexer watches and how.
#[derive(Clone, Debug)]
pub struct IndexerConfig {
    /// The `PromptMarketplace`.
    pub marketplace: Address,
    /// The `AuditEscrow`, if audits are indexed too.
    pub audit_escrow: Option<Address>,
    /// Blocks to wait before indexing a block (0 on Anvil).
    pub confirmations: u64,
    /// The first block to read (the deployment block, or 0).
    pub from_block: u64,
    /// The largest range one `eth_getLogs` asks for.
    pub max_batch: u64,
    /// Pause between polls when caught up.
    pub poll: Duration,
}

/// The indexer's position.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    /// Last block applied (0 before the first).
    pub cursor: u64,
    /// The chain's head at the last step.
    pub head: u64,
    /// Why the last step failed (the RPC is down, …); `None` after a step that worked.
    pub error: Option<String>,
}

/// An applied event as `/api/v1/events` streams it: its position (`"block-logIndex"`,
/// increasing along the chain), contract, name, transaction and arguments.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StreamEvent {
    /// `"{block}-{log index}"`: the SSE id, resumable with `Last-Event-ID`.
    pub id: String,
    /// The emitting contract.
    pub contract: String,
    /// The event's name.
    pub name: String,
    /// Its transaction.
    pub tx: String,
    /// Its block.
    pub block: u64,
    /// Decoded arguments.
    #[schema(value_type = Object)]
    pub args: Value,
}

/// A stored event: what [`apply`] needs.
#[derive(Clone, Debug)]
pub struct Event {
    /// Transaction hash (hex).
    pub tx: String,
    /// Event name.
    pub name: String,
    /// Decoded arguments (numbers as decimal strings, addresses and hashes as hex).
    pub args: Value,
}

fn rpc<E: std::fmt::Display>(e: E) -> IndexError {
    IndexError::Rpc(e.to_string())
}

fn hex_of(b: B256) -> String {
    format!("{b:#x}")
}

fn dec(v: U256) -> String {
    v.to_string()
}

/// Returns `(name, json)` from the enclosing function when `log` is event `$T`.
macro_rules! decode_as {
    ($log:expr, $T:ty, $name:ident, |$e:ident| $json:expr) => {
        if $log.topic0() == Some(&<$T>::SIGNATURE_HASH) {
            let $e = <$T>::decode_log(&$log.inner).ok()?.data;
            return Some((stringify!($name).to_string(), $json));
        }
    };
}

/// The event of a log (the two contracts share event signatures such as `Credited`, so the
/// emitter decides), if it is one this index knows.
pub fn decode(log: &Log, cfg: &IndexerConfig) -> Option<(String, Value)> {
    if log.address() == cfg.marketplace {
        decode_market(log)
    } else if Some(log.address()) == cfg.audit_escrow {
        decode_audit(log)
    } else {
        None
    }
}

fn decode_audit(log: &Log) -> Option<(String, Value)> {
    use trustml_chain::bindings::AuditEscrow as E;
    macro_rules! ev {
        ($E:ident, |$e:ident| $json:expr) => {
            decode_as!(log, E::$E, $E, |$e| $json)
        };
    }
    ev!(AuditCreated, |e| json!({
        "auditId": dec(e.auditId), "modelId": dec(e.modelId),
        "requester": format!("{:#x}", e.requester), "provider": format!("{:#x}", e.provider),
        "bounty": dec(e.bounty), "numBatches": e.numBatches,
        "datasetRoot": dec(e.terms.datasetRoot), "datasetSize": dec(e.terms.datasetSize),
        "numSamples": e.terms.numSamples, "thetaNum": e.terms.thetaNum, "thetaDen": e.terms.thetaDen,
        "fee": dec(e.terms.fee), "providerBond": dec(e.terms.providerBond),
        "acceptDeadline": e.terms.acceptDeadline, "proveWindow": e.terms.proveWindow,
        "seedCommitment": hex_of(e.terms.seedCommitment),
    }));
    ev!(AuditAccepted, |e| json!({
        "auditId": dec(e.auditId), "provider": format!("{:#x}", e.provider),
        "providerShare": hex_of(e.providerShare), "bond": dec(e.bond), "acceptBlock": e.acceptBlock,
    }));
    ev!(SeedRevealed, |e| json!({
        "auditId": dec(e.auditId), "requesterSecret": hex_of(e.requesterSecret),
        "seed": dec(e.seed), "proveDeadline": e.proveDeadline,
    }));
    ev!(BatchSubmitted, |e| json!({
        "auditId": dec(e.auditId), "batchIdx": dec(e.batchIdx),
        "submitter": format!("{:#x}", e.submitter), "count": dec(e.count),
        "batchesSubmitted": e.batchesSubmitted, "totalCorrect": e.totalCorrect,
    }));
    ev!(AuditFinalized, |e| json!({
        "auditId": dec(e.auditId),
        "outcome": format!("{:?}", trustml_chain::audit::Outcome::from_code(e.outcome).ok()?),
        "totalCorrect": e.totalCorrect, "samplesProven": dec(e.samplesProven),
        "samplesRequired": dec(e.samplesRequired), "numSamples": e.numSamples,
    }));
    ev!(Credited, |e| json!({
        "account": format!("{:#x}", e.account), "auditId": dec(e.auditId), "amount": dec(e.amount),
    }));
    ev!(Withdrawn, |e| json!({
        "account": format!("{:#x}", e.account), "to": format!("{:#x}", e.to), "amount": dec(e.amount),
    }));
    None
}

fn decode_market(log: &Log) -> Option<(String, Value)> {
    macro_rules! ev {
        ($E:ident, |$e:ident| $json:expr) => {
            decode_as!(log, M::$E, $E, |$e| $json)
        };
    }
    ev!(Listed, |e| json!({
        "listingId": dec(e.listingId), "seller": format!("{:#x}", e.seller),
        "listingCircuitId": hex_of(e.listingCircuitId), "deliveryCircuitId": hex_of(e.deliveryCircuitId),
        "commitment": dec(e.commitment), "outputHash": dec(e.outputHash), "price": dec(e.price),
        "metadataHash": hex_of(e.metadataHash),
    }));
    ev!(
        ListingCancelled,
        |e| json!({ "listingId": dec(e.listingId) })
    );
    ev!(Purchased, |e| json!({
        "orderId": dec(e.orderId), "listingId": dec(e.listingId), "buyer": format!("{:#x}", e.buyer),
        "pkX": dec(e.pkX), "pkY": dec(e.pkY), "amount": dec(e.amount), "deadline": e.deadline,
    }));
    ev!(DeliveryCommitted, |e| json!({
        "orderId": dec(e.orderId), "digest": hex_of(e.digest), "revealDeadline": e.revealDeadline,
    }));
    ev!(Delivered, |e| json!({
        "orderId": dec(e.orderId), "ephX": dec(e.ephX), "ephY": dec(e.ephY),
        "ciphertext": e.ciphertext.iter().map(|c| dec(*c)).collect::<Vec<_>>(),
    }));
    ev!(Refunded, |e| json!({
        "orderId": dec(e.orderId), "buyer": format!("{:#x}", e.buyer), "amount": dec(e.amount),
    }));
    ev!(Credited, |e| json!({
        "account": format!("{:#x}", e.account), "orderId": dec(e.orderId), "amount": dec(e.amount),
    }));
    ev!(Withdrawn, |e| json!({
        "account": format!("{:#x}", e.account), "to": format!("{:#x}", e.to), "amount": dec(e.amount),
    }));
    None
}

fn s(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn int(v: &Value, k: &str) -> i64 {
    match &v[k] {
        Value::Number(n) => n.as_i64().unwrap_or(i64::MAX),
        Value::String(s) => s.parse().unwrap_or(i64::MAX),
        _ => 0,
    }
}

/// `price` zero-padded to 78 digits: sorts as a number.
pub fn price_key(price: &str) -> String {
    format!("{price:0>78}")
}

/// Applies one event to the projections.
pub async fn apply(tx: &mut Transaction<'_, Any>, e: &Event, block: i64) -> sqlx::Result<()> {
    let a = &e.args;
    match e.name.as_str() {
        "Listed" => {
            sqlx::query(
                "INSERT INTO listings (id, seller, listing_circuit, delivery_circuit, commitment, \
                 output_hash, price, price_key, active, sales, listed_block, listed_tx, \
                 metadata_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, 0, $9, $10, $11) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(int(a, "listingId"))
            .bind(s(a, "seller"))
            .bind(s(a, "listingCircuitId"))
            .bind(s(a, "deliveryCircuitId"))
            .bind(s(a, "commitment"))
            .bind(s(a, "outputHash"))
            .bind(s(a, "price"))
            .bind(price_key(&s(a, "price")))
            .bind(block)
            .bind(e.tx.clone())
            .bind(s(a, "metadataHash"))
            .execute(&mut **tx)
            .await?;
        }
        "ListingCancelled" => {
            sqlx::query("UPDATE listings SET active = 0 WHERE id = $1")
                .bind(int(a, "listingId"))
                .execute(&mut **tx)
                .await?;
        }
        "Purchased" => {
            sqlx::query(
                "INSERT INTO orders (id, listing_id, buyer, pk_x, pk_y, amount, deadline, status, \
                 purchase_tx) VALUES ($1, $2, $3, $4, $5, $6, $7, 'paid', $8) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(int(a, "orderId"))
            .bind(int(a, "listingId"))
            .bind(s(a, "buyer"))
            .bind(s(a, "pkX"))
            .bind(s(a, "pkY"))
            .bind(s(a, "amount"))
            .bind(int(a, "deadline"))
            .bind(e.tx.clone())
            .execute(&mut **tx)
            .await?;
            sqlx::query("UPDATE listings SET sales = sales + 1 WHERE id = $1")
                .bind(int(a, "listingId"))
                .execute(&mut **tx)
                .await?;
        }
        "DeliveryCommitted" => {
            sqlx::query(
                "UPDATE orders SET status = 'committed', delivery_digest = $2, reveal_deadline = $3 \
                 WHERE id = $1",
            )
            .bind(int(a, "orderId"))
            .bind(s(a, "digest"))
            .bind(int(a, "revealDeadline"))
            .execute(&mut **tx)
            .await?;
        }
        "Delivered" | "Refunded" => {
            let status = if e.name == "Delivered" {
                "delivered"
            } else {
                "refunded"
            };
            sqlx::query("UPDATE orders SET status = $2, settle_tx = $3 WHERE id = $1")
                .bind(int(a, "orderId"))
                .bind(status)
                .bind(e.tx.clone())
                .execute(&mut **tx)
                .await?;
        }
        "AuditCreated" => {
            sqlx::query(
                "INSERT INTO audits (id, model_id, requester, provider, bounty, fee, bond, \
                 dataset_root, dataset_size, num_samples, num_batches, theta_num, theta_den, \
                 accept_deadline, prove_window, status, batches_submitted, total_correct, \
                 created_tx) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                 $14, $15, 'created', 0, 0, $16) ON CONFLICT (id) DO NOTHING",
            )
            .bind(int(a, "auditId"))
            .bind(s(a, "modelId"))
            .bind(s(a, "requester"))
            .bind(s(a, "provider"))
            .bind(s(a, "bounty"))
            .bind(s(a, "fee"))
            .bind(s(a, "providerBond"))
            .bind(s(a, "datasetRoot"))
            .bind(s(a, "datasetSize"))
            .bind(int(a, "numSamples"))
            .bind(int(a, "numBatches"))
            .bind(int(a, "thetaNum"))
            .bind(int(a, "thetaDen"))
            .bind(int(a, "acceptDeadline"))
            .bind(int(a, "proveWindow"))
            .bind(e.tx.clone())
            .execute(&mut **tx)
            .await?;
        }
        "AuditAccepted" => {
            sqlx::query("UPDATE audits SET status = 'accepted', accept_block = $2 WHERE id = $1")
                .bind(int(a, "auditId"))
                .bind(int(a, "acceptBlock"))
                .execute(&mut **tx)
                .await?;
        }
        "SeedRevealed" => {
            sqlx::query(
                "UPDATE audits SET status = 'proving', seed = $2, prove_deadline = $3 WHERE id = $1",
            )
            .bind(int(a, "auditId"))
            .bind(s(a, "seed"))
            .bind(int(a, "proveDeadline"))
            .execute(&mut **tx)
            .await?;
        }
        "BatchSubmitted" => {
            sqlx::query(
                "INSERT INTO audit_batches (audit_id, batch_idx, count, submitter, tx) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (audit_id, batch_idx) DO NOTHING",
            )
            .bind(int(a, "auditId"))
            .bind(int(a, "batchIdx"))
            .bind(int(a, "count"))
            .bind(s(a, "submitter"))
            .bind(e.tx.clone())
            .execute(&mut **tx)
            .await?;
            sqlx::query(
                "UPDATE audits SET batches_submitted = $2, total_correct = $3 WHERE id = $1",
            )
            .bind(int(a, "auditId"))
            .bind(int(a, "batchesSubmitted"))
            .bind(int(a, "totalCorrect"))
            .execute(&mut **tx)
            .await?;
        }
        "AuditFinalized" => {
            sqlx::query(
                "UPDATE audits SET status = 'finalized', outcome = $2, total_correct = $3, \
                 samples_proven = $4, finalize_tx = $5 WHERE id = $1",
            )
            .bind(int(a, "auditId"))
            .bind(s(a, "outcome"))
            .bind(int(a, "totalCorrect"))
            .bind(s(a, "samplesProven"))
            .bind(e.tx.clone())
            .execute(&mut **tx)
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Rebuilds every projection from the stored events, in one transaction; returns the
/// number of events replayed.
pub async fn reindex(pool: &AnyPool) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let n = replay(&mut tx).await?;
    tx.commit().await?;
    Ok(n as u64)
}

async fn replay(tx: &mut Transaction<'_, Any>) -> sqlx::Result<usize> {
    for table in ["audit_batches", "audits", "orders", "listings"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut **tx)
            .await?;
    }
    let rows = sqlx::query(
        "SELECT tx_hash, name, args, block_number FROM chain_events \
         ORDER BY block_number, log_index",
    )
    .fetch_all(&mut **tx)
    .await?;
    for r in &rows {
        let e = Event {
            tx: r.try_get("tx_hash")?,
            name: r.try_get("name")?,
            args: serde_json::from_str(&r.try_get::<String, _>("args")?).unwrap_or(Value::Null),
        };
        apply(tx, &e, r.try_get("block_number")?).await?;
    }
    Ok(rows.len())
}

/// The stored cursor: (last block, its hash).
pub async fn cursor(pool: &AnyPool) -> sqlx::Result<Option<(u64, String)>> {
    let r = sqlx::query("SELECT last_block, last_hash FROM indexer_cursor WHERE id = 1")
        .fetch_optional(pool)
        .await?;
    r.map(|r| {
        Ok((
            r.try_get::<i64, _>("last_block")? as u64,
            r.try_get("last_hash")?,
        ))
    })
    .transpose()
}

async fn set_cursor(tx: &mut Transaction<'_, Any>, block: u64, hash: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO indexer_cursor (id, last_block, last_hash) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET last_block = $1, last_hash = $2",
    )
    .bind(block as i64)
    .bind(hash.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The indexer over one chain client and database.
pub struct Indexer {
    client: Client,
    pool: AnyPool,
    cfg: IndexerConfig,
    batch: u64,
    status: tokio::sync::watch::Sender<Status>,
    events: tokio::sync::broadcast::Sender<StreamEvent>,
}

impl Indexer {
    /// An indexer; its status is published on the returned channel.
    pub fn new(
        client: Client,
        pool: AnyPool,
        cfg: IndexerConfig,
    ) -> (Self, tokio::sync::watch::Receiver<Status>) {
        let (tx, rx) = tokio::sync::watch::channel(Status::default());
        let batch = cfg.max_batch.max(1);
        let (events, _) = tokio::sync::broadcast::channel(1024);
        (
            Self {
                client,
                pool,
                cfg,
                batch,
                status: tx,
                events,
            },
            rx,
        )
    }

    /// The channel each applied event is published on, after its batch commits.
    pub fn events(&self) -> tokio::sync::broadcast::Sender<StreamEvent> {
        self.events.clone()
    }

    /// The database.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn block_hash(&self, n: u64) -> Result<Option<String>, IndexError> {
        let b = self
            .client
            .provider()
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await
            .map_err(rpc)?;
        Ok(b.map(|b| hex_of(b.header.hash)))
    }

    /// Rewinds past a reorg, if the cursor's block changed; returns whether it did.
    async fn check_reorg(&self) -> Result<bool, IndexError> {
        let Some((last, hash)) = cursor(&self.pool).await? else {
            return Ok(false);
        };
        if self.block_hash(last).await?.as_deref() == Some(hash.as_str()) {
            return Ok(false);
        }
        let kept = sqlx::query("SELECT number, hash FROM block_hashes ORDER BY number DESC")
            .fetch_all(&self.pool)
            .await?;
        let mut ancestor = None;
        for r in kept {
            let n = r.try_get::<i64, _>("number")? as u64;
            let h: String = r.try_get("hash")?;
            if n < last && self.block_hash(n).await?.as_deref() == Some(h.as_str()) {
                ancestor = Some((n, h));
                break;
            }
        }
        let (n, h) = match ancestor {
            Some(a) => a,
            None if self.cfg.from_block == 0 => (0, String::new()),
            None => return Err(IndexError::DeepReorg(last)),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM chain_events WHERE block_number > $1")
            .bind(n as i64)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM block_hashes WHERE number > $1")
            .bind(n as i64)
            .execute(&mut *tx)
            .await?;
        replay(&mut tx).await?;
        set_cursor(&mut tx, n, &h).await?;
        tx.commit().await?;
        tracing::warn!(from = last, to = n, "reorg: rewound the index");
        // Subscribers learn that events after block `n` were retracted (its id sorts after
        // every event of block `n`, before any of `n + 1`).
        let _ = self.events.send(StreamEvent {
            id: format!("{n}-{}", u64::MAX),
            contract: String::new(),
            name: "Reorg".into(),
            tx: String::new(),
            block: n,
            args: json!({ "rewoundFrom": last, "to": n }),
        });
        Ok(true)
    }

    /// One step: applies the next batch if there is one; returns the blocks applied. A failure
    /// is also recorded in the status (`/api/v1/indexer` then answers 503) until a step works.
    pub async fn step(&mut self) -> Result<u64, IndexError> {
        let r = self.step_inner().await;
        if let Err(e) = &r {
            let msg = e.to_string();
            self.status.send_modify(|s| s.error = Some(msg));
        }
        r
    }

    async fn step_inner(&mut self) -> Result<u64, IndexError> {
        self.check_reorg().await?;
        let head = self
            .client
            .provider()
            .get_block_number()
            .await
            .map_err(rpc)?;
        let target = head.saturating_sub(self.cfg.confirmations);
        let last = match cursor(&self.pool).await? {
            Some((b, _)) => b,
            None => self.cfg.from_block.saturating_sub(1),
        };
        self.status.send_replace(Status {
            cursor: last,
            head,
            error: None,
        });
        if last >= target {
            return Ok(0);
        }
        let from = last + 1;
        loop {
            let to = target.min(last + self.batch);
            let mut addresses = vec![self.cfg.marketplace];
            addresses.extend(self.cfg.audit_escrow);
            let filter = Filter::new()
                .address(addresses)
                .from_block(from)
                .to_block(to);
            let logs = match self.client.provider().get_logs(&filter).await {
                Ok(l) => l,
                Err(e) if self.batch > 1 => {
                    self.batch = (self.batch / 2).max(1);
                    tracing::info!(
                        batch = self.batch,
                        "eth_getLogs refused a range ({e}); halving"
                    );
                    continue;
                }
                Err(e) => return Err(rpc(e)),
            };
            let hash = self
                .block_hash(to)
                .await?
                .ok_or_else(|| IndexError::Rpc(format!("block {to} is missing")))?;
            self.apply_batch(&logs, to, &hash).await?;
            self.batch = (self.batch * 2).min(self.cfg.max_batch.max(1));
            self.status.send_replace(Status {
                cursor: to,
                head,
                error: None,
            });
            return Ok(to - last);
        }
    }

    /// Applies the logs of blocks up to `to` (whose hash is `hash`) in one transaction:
    /// events (a log already stored is skipped, so a repeated batch changes nothing), their
    /// projections, the block hash and the cursor.
    pub async fn apply_batch(&self, logs: &[Log], to: u64, hash: &str) -> Result<(), IndexError> {
        let mut tx = self.pool.begin().await?;
        let mut applied = vec![];
        for log in logs {
            let (Some(txh), Some(idx), Some(bn), Some(bh)) = (
                log.transaction_hash,
                log.log_index,
                log.block_number,
                log.block_hash,
            ) else {
                continue; // pending logs carry no position
            };
            let (name, args) =
                decode(log, &self.cfg).unwrap_or_else(|| ("unknown".into(), Value::Null));
            let inserted = sqlx::query(
                "INSERT INTO chain_events (tx_hash, log_index, block_number, block_hash, contract, \
                 name, args) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (tx_hash, log_index) DO NOTHING",
            )
            .bind(hex_of(txh))
            .bind(idx as i64)
            .bind(bn as i64)
            .bind(hex_of(bh))
            .bind(format!("{:#x}", log.address()))
            .bind(name.clone())
            .bind(args.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                let e = Event {
                    tx: hex_of(txh),
                    name,
                    args,
                };
                apply(&mut tx, &e, bn as i64).await?;
                applied.push(StreamEvent {
                    id: format!("{bn}-{idx}"),
                    contract: format!("{:#x}", log.address()),
                    name: e.name,
                    tx: e.tx,
                    block: bn,
                    args: e.args,
                });
            }
        }
        sqlx::query(
            "INSERT INTO block_hashes (number, hash) VALUES ($1, $2) \
             ON CONFLICT (number) DO UPDATE SET hash = $2",
        )
        .bind(to as i64)
        .bind(hash.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM block_hashes WHERE number < $1")
            .bind(to as i64 - KEPT_HASHES)
            .execute(&mut *tx)
            .await?;
        set_cursor(&mut tx, to, hash).await?;
        tx.commit().await?;
        for e in applied {
            let _ = self.events.send(e); // no subscriber is fine
        }
        Ok(())
    }

    /// Runs until the process ends: steps, and sleeps when caught up or after an error.
    pub async fn run(mut self) {
        // Tests that kill the process mid-catch-up slow each batch down to land there.
        let throttle = std::env::var("TRUSTML_TEST_STEP_DELAY_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis);
        loop {
            match self.step().await {
                Ok(0) => tokio::time::sleep(self.cfg.poll).await,
                Ok(_) => {
                    if let Some(d) = throttle {
                        tokio::time::sleep(d).await;
                    }
                }
                Err(e) => {
                    tracing::warn!("indexer: {e}");
                    tokio::time::sleep(self.cfg.poll * 4).await;
                }
            }
        }
    }
}
