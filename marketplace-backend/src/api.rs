//! `/api/v1`: read-only JSON over the indexed chain state. Every error is JSON
//! `{"error": {"code", "message"}}` with the right status; the server keeps running.

use crate::indexer::{price_key, Status, StreamEvent};
use crate::schema::{
    Account, Audit, AuditBatch, AuditList, BuyerStats, ErrorBody, ErrorDetail, IndexerStatus,
    Listing, ListingPage, Order, OrderList, ProofPanel, SellerStats,
};
use crate::{artifacts, auth, jobs};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::collections::BTreeMap;
use tokio::sync::watch;
use utoipa::OpenApi;

/// What `/api/v1/config` tells a page: the chain and the contracts.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicConfig {
    /// The chain id.
    pub chain_id: u64,
    /// The RPC URL a browser should use.
    pub rpc_url: String,
    /// Contract addresses by name (`marketplace`, `registry`, `auditEscrow`).
    #[schema(value_type = Object)]
    pub contracts: Value,
    /// The circuit ids new listings pin (`listing`, `delivery`: vk digests in the registry).
    #[schema(value_type = Object)]
    pub circuits: Value,
    /// Confirmations the indexer waits for.
    pub confirmations: u64,
    /// The page may offer Anvil's well-known dev accounts (server `--dev` on chain 31337 only).
    pub dev_accounts: bool,
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: AnyPool,
    /// `/config`.
    pub config: PublicConfig,
    /// The indexer's position.
    pub status: watch::Receiver<Status>,
    /// Events as the indexer applies them (`/api/v1/events`).
    pub events: tokio::sync::broadcast::Sender<StreamEvent>,
    /// Limits and the sign-in domain.
    pub settings: Settings,
    /// Chain reads for proof panels (pinned vk digests, gas); `None` leaves those absent.
    pub chain: Option<ChainView>,
    /// Proving jobs; `None`: this server runs none (`/jobs` answers 503).
    pub jobs: Option<std::sync::Arc<crate::jobs::Jobs>>,
}

/// The server's knobs that handlers read.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The domain a SIWE message must name (the host:port users open).
    pub siwe_domain: String,
    /// Largest artifact `PUT /artifacts` accepts, bytes.
    pub max_artifact_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            siwe_domain: "127.0.0.1:8080".into(),
            max_artifact_bytes: 1 << 20,
        }
    }
}

/// A read-only chain connection and the marketplace it reads.
#[derive(Clone)]
pub struct ChainView {
    /// Read-only connection.
    pub client: trustml_chain::Client,
    /// The marketplace deployment.
    pub market: trustml_chain::market::MarketDeployment,
}

/// An API error: a status, a stable code and a message that says what to do.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with a status, a stable code and what to do.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404 `not_found`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!("database: {e}");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database did not answer; retry shortly",
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::bad_request(format!("bad query string: {}", e.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        Self::bad_request(format!(
            "bad path: {} (ids are decimal integers)",
            e.body_text()
        ))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: self.code.into(),
                    message: self.message,
                },
            }),
        )
            .into_response()
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// A bound parameter of a query assembled from fixed fragments.
enum Bind {
    Text(String),
    Int(i64),
}

/// A query parameter that must be a 0x address, as the lowercase hex the tables hold.
fn address_param(name: &str, v: &str) -> Result<String, ApiError> {
    let a: alloy::primitives::Address = v
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{name} {v:?} is not a 0x address")))?;
    Ok(format!("{a:#x}"))
}

/// A `status` filter that must be one of `allowed` (listed in the error).
fn status_param(st: &str, allowed: &[&str]) -> Result<String, ApiError> {
    if allowed.contains(&st) {
        return Ok(st.to_string());
    }
    let (last, rest) = allowed.split_last().unwrap_or((&"", &[]));
    Err(ApiError::bad_request(format!(
        "status {st:?}: use {} or {last}",
        rest.join(", ")
    )))
}

/// Runs `sql`, built only from this module's fixed fragments and `$n` placeholders (every
/// user value is a bound parameter), with `binds` in order.
async fn fetch(pool: &AnyPool, sql: String, binds: Vec<Bind>) -> Result<Vec<AnyRow>, sqlx::Error> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t),
            Bind::Int(i) => q.bind(i),
        };
    }
    q.fetch_all(pool).await
}

/// The `/api/v1` router (and a JSON 404 for every other path).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/config", get(config))
        .route("/api/v1/indexer", get(indexer))
        .route("/api/v1/listings", get(listings))
        .route("/api/v1/listings/{id}", get(listing))
        .route("/api/v1/orders", get(orders))
        .route("/api/v1/orders/{id}", get(order))
        .route("/api/v1/accounts/{address}", get(account))
        .route("/api/v1/audits", get(audits))
        .route("/api/v1/audits/{id}", get(audit))
        .route("/api/v1/artifacts", axum::routing::put(artifacts::put))
        .route("/api/v1/artifacts/{sha256}", get(artifacts::get))
        .route("/api/v1/auth/nonce", get(auth::nonce))
        .route("/api/v1/auth/login", axum::routing::post(auth::login))
        .route("/api/v1/auth/me", get(auth::me))
        .route("/api/v1/auth/logout", axum::routing::post(auth::logout))
        .route("/api/v1/models", get(jobs::models))
        .route("/api/v1/models/{name}/file", get(jobs::model_file))
        .route("/api/v1/jobs", axum::routing::post(jobs::create))
        .route("/api/v1/jobs/{id}", get(jobs::get).delete(jobs::cancel))
        .route("/api/v1/jobs/{id}/input", axum::routing::post(jobs::input))
        .route("/api/v1/jobs/{id}/secret", get(jobs::secret))
        .route("/api/v1/jobs/{id}/events", get(jobs::events))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/events", get(events))
        .route("/api/{*rest}", axum::routing::any(no_endpoint))
        .fallback(no_endpoint)
        .with_state(state)
}

async fn no_endpoint() -> ApiError {
    ApiError::not_found("no such endpoint; the API is described at /api/v1/openapi.json")
}

/// [`router`] that also serves the built web app from `dir` (`index.html` for every path
/// outside `/api`, so the app's own routes work on reload); `/api/…` stays JSON.
pub fn with_static(router: Router, dir: &std::path::Path) -> Router {
    let index = dir.join("index.html");
    router.fallback_service(
        tower_http::services::ServeDir::new(dir)
            .fallback(tower_http::services::ServeFile::new(index)),
    )
}

/// The chain, RPC URL and contract addresses a page should use.
#[utoipa::path(get, path = "/api/v1/config", responses((status = 200, body = PublicConfig)))]
async fn config(State(s): State<AppState>) -> Json<PublicConfig> {
    Json(s.config.clone())
}

/// Where the indexer is: its cursor, the chain's head and the lag between them; 503
/// `rpc_unavailable` while it cannot read the chain (the data served may then be stale).
#[utoipa::path(get, path = "/api/v1/indexer", responses((status = 200, body = IndexerStatus),
    (status = 503, body = ErrorBody)))]
async fn indexer(State(s): State<AppState>) -> Result<Json<IndexerStatus>, ApiError> {
    let st = s.status.borrow().clone();
    if let Some(e) = st.error {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "rpc_unavailable",
            format!(
                "the indexer cannot read the chain ({e}); it retries, and the data served stays at block {} until then; check the node behind --rpc-url",
                st.cursor
            ),
        ));
    }
    Ok(Json(IndexerStatus {
        cursor: st.cursor,
        head: st.head,
        lag: st.head.saturating_sub(st.cursor),
        confirmations: s.config.confirmations,
    }))
}

/// The OpenAPI 3 document of this API.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// `GET /listings` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListingQuery {
    /// Words to find in the title, description or tags (case-insensitive).
    q: Option<String>,
    /// `matches`: only listings whose stored metadata matches the chain (hash and example
    /// output); `none`, `missing`, `output_mismatch`: only those.
    metadata: Option<String>,
    /// `true`: listings whose proof the contract verified (all of them: `list` reverts
    /// otherwise); `false`: none.
    verified: Option<bool>,
    /// Only this seller's listings (0x address).
    seller: Option<String>,
    /// Only listings open for purchase.
    active: Option<bool>,
    /// `newest` (default), `price_asc` or `price_desc`.
    sort: Option<String>,
    /// Page size, 1..=100 (default 20).
    limit: Option<i64>,
    /// The `next` of the previous page.
    cursor: Option<String>,
}

/// Listings, filtered, sorted and paged by a keyset cursor.
#[utoipa::path(get, path = "/api/v1/listings", params(ListingQuery), responses(
    (status = 200, body = ListingPage), (status = 400, body = ErrorBody)))]
async fn listings(
    State(s): State<AppState>,
    q: Result<Query<ListingQuery>, QueryRejection>,
) -> ApiResult<ListingPage> {
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit {limit} is out of range: 1 to 100"
        )));
    }
    let sort = q.sort.as_deref().unwrap_or("newest");
    // Keyset paging: the cursor is the last row's (sort key, id).
    let (key, order, cmp) = match sort {
        "newest" => ("id", "id DESC", "<"),
        "price_asc" => ("price_key", "price_key ASC, id ASC", ">"),
        "price_desc" => ("price_key", "price_key DESC, id DESC", "<"),
        other => {
            return Err(ApiError::bad_request(format!(
                "sort {other:?}: use newest, price_asc or price_desc"
            )))
        }
    };
    let mut sql = format!("{} WHERE 1 = 1", Listing::SELECT);
    let mut binds: Vec<Bind> = vec![];
    if let Some(seller) = &q.seller {
        binds.push(Bind::Text(address_param("seller", seller)?));
        sql += &format!(" AND seller = ${}", binds.len());
    }
    if let Some(text) = &q.q {
        let text = text.trim().to_lowercase();
        if text.chars().count() > 100 {
            return Err(ApiError::bad_request("q is at most 100 characters"));
        }
        for word in text.split_whitespace().take(8) {
            let escaped = word
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            binds.push(Bind::Text(format!("%{escaped}%")));
            sql += &format!(" AND search LIKE ${} ESCAPE '\\'", binds.len());
        }
    }
    if let Some(m) = &q.metadata {
        sql += match m.as_str() {
            "matches" => " AND example_hash = output_hash",
            "output_mismatch" => " AND example_hash <> output_hash",
            "missing" => " AND title IS NULL AND metadata_hash <> $ZERO",
            "none" => " AND metadata_hash = $ZERO",
            other => {
                return Err(ApiError::bad_request(format!(
                    "metadata {other:?}: use matches, output_mismatch, missing or none"
                )))
            }
        };
        if sql.contains("$ZERO") {
            binds.push(Bind::Text(format!("{:#x}", alloy::primitives::B256::ZERO)));
            sql = sql.replace("$ZERO", &format!("${}", binds.len()));
        }
    }
    if q.verified == Some(false) {
        sql += " AND 1 = 0";
    }
    if let Some(active) = q.active {
        sql += if active {
            " AND active = 1"
        } else {
            " AND active = 0"
        };
    }
    if let Some(c) = &q.cursor {
        let bad =
            || ApiError::bad_request(format!("cursor {c:?} is not a `next` value of this query"));
        let (k, id) = c.split_once(':').ok_or_else(bad)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        if key == "id" {
            binds.push(Bind::Int(id));
            sql += &format!(" AND id {cmp} ${}", binds.len());
        } else {
            if k.len() != 78 || !k.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            binds.push(Bind::Text(k.to_string()));
            binds.push(Bind::Text(k.to_string()));
            binds.push(Bind::Int(id));
            let n = binds.len();
            sql += &format!(
                " AND (price_key {cmp} ${} OR (price_key = ${} AND id {cmp} ${n}))",
                n - 2,
                n - 1
            );
        }
    }
    sql += &format!(" ORDER BY {order} LIMIT {}", limit + 1);
    let rows = fetch(&s.pool, sql, binds).await?;
    let more = rows.len() as i64 > limit;
    let items = rows
        .iter()
        .take(limit as usize)
        .map(Listing::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next = more.then(|| {
        let last = &items[items.len() - 1];
        let k = if key == "id" {
            "id".to_string()
        } else {
            price_key(&last.price)
        };
        format!("{k}:{}", last.id)
    });
    Ok(Json(ListingPage { items, next }))
}

/// One listing, with its orders counted by status.
#[utoipa::path(get, path = "/api/v1/listings/{id}", params(("id" = i64, Path, description = "listing id")),
    responses((status = 200, body = Listing), (status = 404, body = ErrorBody)))]
async fn listing(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult<Listing> {
    let Path(id) = id?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{} WHERE id = $1",
        Listing::SELECT
    )))
    .bind(id)
    .fetch_optional(&s.pool)
    .await?
    .ok_or_else(|| {
        ApiError::not_found(format!("no listing {id} (not listed, or not indexed yet)"))
    })?;
    let mut l = Listing::from_row(&row)?;
    let orders = sqlx::query(
        "SELECT status, COUNT(*) AS n FROM orders WHERE listing_id = $1 GROUP BY status",
    )
    .bind(id)
    .fetch_all(&s.pool)
    .await?;
    let mut by = std::collections::BTreeMap::new();
    for r in orders {
        by.insert(r.try_get("status")?, r.try_get::<i64, _>("n")?);
    }
    l.orders = Some(by);
    l.proof = Some(proof_panel(&s, &l).await?);
    Ok(Json(l))
}

/// Gas used by transaction `tx`: from `tx_gas`, else from its receipt (then cached); `None`
/// when the chain does not answer within two seconds.
async fn tx_gas(s: &AppState, tx: &str) -> Result<Option<i64>, ApiError> {
    if let Some(g) = sqlx::query_scalar::<_, i64>("SELECT gas_used FROM tx_gas WHERE tx_hash = $1")
        .bind(tx)
        .fetch_optional(&s.pool)
        .await?
    {
        return Ok(Some(g));
    }
    let (Some(c), Ok(hash)) = (&s.chain, tx.parse::<alloy::primitives::B256>()) else {
        return Ok(None);
    };
    use alloy::providers::Provider as _;
    let timeout = std::time::Duration::from_secs(2);
    let Ok(Ok(Some(r))) =
        tokio::time::timeout(timeout, c.client.provider().get_transaction_receipt(hash)).await
    else {
        return Ok(None);
    };
    let gas = r.gas_used as i64;
    sqlx::query(
        "INSERT INTO tx_gas (tx_hash, gas_used) VALUES ($1, $2) ON CONFLICT (tx_hash) DO NOTHING",
    )
    .bind(tx)
    .bind(gas)
    .execute(&s.pool)
    .await?;
    Ok(Some(gas))
}

/// The proof panel of a listing: what the indexer stored, plus the contract's pinned vk
/// digests and the verify transaction's gas (read once, then cached in `tx_gas`). A chain
/// that does not answer within two seconds leaves those absent.
async fn proof_panel(s: &AppState, l: &Listing) -> Result<ProofPanel, ApiError> {
    let seller: alloy::primitives::Address = l.seller.parse().unwrap_or_default();
    let mut p = ProofPanel {
        listing_circuit_id: l.listing_circuit_id.clone(),
        delivery_circuit_id: l.delivery_circuit_id.clone(),
        listing_vk_digest: None,
        delivery_vk_digest: None,
        listing_verifier: None,
        public_inputs: vec![
            l.commitment.clone(),
            l.output_hash.clone(),
            alloy::primitives::U256::from_be_slice(seller.as_slice()).to_string(),
        ],
        example_output_matches: match l.metadata_status.as_str() {
            "matches" => Some(true),
            "output_mismatch" => Some(false),
            _ => None,
        },
        verify_tx: l.listed_tx.clone(),
        verify_gas: None,
    };
    let Some(c) = &s.chain else { return Ok(p) };
    let timeout = std::time::Duration::from_secs(2);
    if let Ok(Ok(on_chain)) = tokio::time::timeout(
        timeout,
        c.client
            .get_listing(&c.market, alloy::primitives::U256::from(l.id as u64)),
    )
    .await
    {
        p.listing_vk_digest = Some(format!("{:#x}", on_chain.listingVkDigest));
        p.delivery_vk_digest = Some(format!("{:#x}", on_chain.deliveryVkDigest));
        p.listing_verifier = Some(format!("{:#x}", on_chain.listingVerifier));
    }
    if p.verify_gas.is_none() {
        p.verify_gas = tx_gas(s, &l.listed_tx).await?;
    }
    Ok(p)
}

/// `GET /orders` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Orders of this buyer.
    buyer: Option<String>,
    /// Orders of this listing.
    listing: Option<i64>,
    /// Orders of this seller's listings.
    seller: Option<String>,
    /// Only orders in this status (`paid`, `committed`, `delivered`, `refunded`).
    status: Option<String>,
}

/// Orders of a buyer, a seller or a listing, newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/orders", params(OrderQuery), responses(
    (status = 200, body = OrderList), (status = 400, body = ErrorBody)))]
async fn orders(
    State(s): State<AppState>,
    q: Result<Query<OrderQuery>, QueryRejection>,
) -> ApiResult<OrderList> {
    let Query(q) = q?;
    let mut sql = String::from("SELECT * FROM orders WHERE 1 = 1");
    let mut binds = vec![];
    if let Some(b) = &q.buyer {
        binds.push(Bind::Text(address_param("buyer", b)?));
        sql += &format!(" AND buyer = ${}", binds.len());
    }
    if let Some(l) = q.listing {
        binds.push(Bind::Int(l));
        sql += &format!(" AND listing_id = ${}", binds.len());
    }
    if let Some(b) = &q.seller {
        binds.push(Bind::Text(address_param("seller", b)?));
        sql += &format!(
            " AND listing_id IN (SELECT id FROM listings WHERE seller = ${})",
            binds.len()
        );
    }
    if let Some(st) = &q.status {
        binds.push(Bind::Text(status_param(
            st,
            &["paid", "committed", "delivered", "refunded"],
        )?));
        sql += &format!(" AND status = ${}", binds.len());
    }
    sql += " ORDER BY id DESC LIMIT 200";
    let rows = fetch(&s.pool, sql, binds).await?;
    let items = rows
        .iter()
        .map(Order::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(OrderList { items }))
}

/// One order.
#[utoipa::path(get, path = "/api/v1/orders/{id}", params(("id" = i64, Path, description = "order id")),
    responses((status = 200, body = Order), (status = 404, body = ErrorBody)))]
async fn order(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult<Order> {
    let Path(id) = id?;
    let row = sqlx::query("SELECT * FROM orders WHERE id = $1")
        .bind(id)
        .fetch_optional(&s.pool)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("no order {id} (not placed, or not indexed yet)"))
        })?;
    let mut o = Order::from_row(&row)?;
    if let Some(tx) = &o.settle_tx {
        o.settle_gas = tx_gas(&s, tx).await?;
    }
    Ok(Json(o))
}

/// An account's record: what it listed and sold, what it bought.
#[utoipa::path(get, path = "/api/v1/accounts/{address}", params(("address" = String, Path, description = "0x address")),
    responses((status = 200, body = Account), (status = 400, body = ErrorBody)))]
async fn account(
    State(s): State<AppState>,
    addr: Result<Path<String>, PathRejection>,
) -> ApiResult<Account> {
    let Path(addr) = addr?;
    let a: alloy::primitives::Address = addr
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{addr:?} is not a 0x address")))?;
    let a = format!("{a:#x}");
    let (listings, active): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(active), 0) AS BIGINT) FROM listings WHERE seller = $1",
    )
    .bind(&a)
    .fetch_one(&s.pool)
    .await?;
    let sold = sqlx::query(
        "SELECT o.status AS status, o.amount AS amount FROM orders o \
         JOIN listings l ON l.id = o.listing_id WHERE l.seller = $1",
    )
    .bind(&a)
    .fetch_all(&s.pool)
    .await?;
    let bought = sqlx::query("SELECT status, amount FROM orders WHERE buyer = $1")
        .bind(&a)
        .fetch_all(&s.pool)
        .await?;
    let tally = |rows: &[AnyRow],
                 only: Option<&str>|
     -> Result<(BTreeMap<String, i64>, String), sqlx::Error> {
        let mut by = BTreeMap::new();
        let mut sum = alloy::primitives::U256::ZERO;
        for r in rows {
            let st: String = r.try_get("status")?;
            if only.is_none_or(|o| o == st) {
                sum += r
                    .try_get::<String, _>("amount")?
                    .parse::<alloy::primitives::U256>()
                    .unwrap_or_default();
            }
            *by.entry(st).or_insert(0) += 1;
        }
        Ok((by, sum.to_string()))
    };
    let (sold_by, volume) = tally(&sold, Some("delivered"))?;
    let (bought_by, spent) = tally(&bought, None)?;
    Ok(Json(Account {
        address: a,
        seller: SellerStats {
            listings,
            active_listings: active,
            orders: sold_by,
            volume,
        },
        buyer: BuyerStats {
            orders: bought_by,
            spent,
        },
    }))
}

/// `GET /audits` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Audits of this registry model id.
    model: Option<String>,
    /// `created`, `accepted`, `proving` or `finalized`.
    status: Option<String>,
}

/// Audits, newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/audits", params(AuditQuery), responses(
    (status = 200, body = AuditList), (status = 400, body = ErrorBody)))]
async fn audits(
    State(s): State<AppState>,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> ApiResult<AuditList> {
    let Query(q) = q?;
    let mut sql = String::from("SELECT * FROM audits WHERE 1 = 1");
    let mut binds = vec![];
    if let Some(m) = &q.model {
        if m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::bad_request(format!(
                "model {m:?} is not a decimal model id"
            )));
        }
        binds.push(Bind::Text(m.clone()));
        sql += &format!(" AND model_id = ${}", binds.len());
    }
    if let Some(st) = &q.status {
        binds.push(Bind::Text(status_param(
            st,
            &["created", "accepted", "proving", "finalized"],
        )?));
        sql += &format!(" AND status = ${}", binds.len());
    }
    sql += " ORDER BY id DESC LIMIT 200";
    let rows = fetch(&s.pool, sql, binds).await?;
    let items = rows
        .iter()
        .map(Audit::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(AuditList { items }))
}

/// One audit with its proven batches.
#[utoipa::path(get, path = "/api/v1/audits/{id}", params(("id" = i64, Path, description = "audit id")),
    responses((status = 200, body = Audit), (status = 404, body = ErrorBody)))]
async fn audit(
    State(s): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult<Audit> {
    let Path(id) = id?;
    let row = sqlx::query("SELECT * FROM audits WHERE id = $1")
        .bind(id)
        .fetch_optional(&s.pool)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("no audit {id} (not created, or not indexed yet)"))
        })?;
    let mut a = Audit::from_row(&row)?;
    let batches = sqlx::query(
        "SELECT batch_idx, count, submitter, tx FROM audit_batches WHERE audit_id = $1 \
         ORDER BY batch_idx",
    )
    .bind(id)
    .fetch_all(&s.pool)
    .await?;
    a.batches = Some(
        batches
            .iter()
            .map(|r| {
                Ok(AuditBatch {
                    index: r.try_get("batch_idx")?,
                    count: r.try_get("count")?,
                    submitter: r.try_get("submitter")?,
                    tx: r.try_get("tx")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?,
    );
    Ok(Json(a))
}

/// The OpenAPI document: every route above, with its parameters and bodies.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "trustml-server",
        description = "The trustml dApp's API: the indexed marketplace and audit escrow, content-addressed artifacts, Sign-In With Ethereum and proving jobs."
    ),
    paths(
        config,
        indexer,
        listings,
        listing,
        orders,
        order,
        account,
        audits,
        audit,
        events,
        artifacts::put,
        artifacts::get,
        auth::nonce,
        auth::login,
        auth::me,
        auth::logout,
        jobs::models,
        jobs::model_file,
        jobs::create,
        jobs::get,
        jobs::cancel,
        jobs::input,
        jobs::secret,
        jobs::events
    )
)]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/v1/events",
    params(("Last-Event-ID" = Option<String>, Header, description = "resume after this id (block-logIndex)")),
    responses((status = 200, description = "text/event-stream: one event per applied chain event, its data a StreamEvent",
        content_type = "text/event-stream", body = StreamEvent), (status = 400, body = ErrorBody)))]
/// `GET /api/v1/events`: Server-Sent Events, one per applied chain event (`event:` its name,
/// `id:` `block-logIndex`, `data:` the [`StreamEvent`] as JSON). With `Last-Event-ID` (what
/// `EventSource` sends on reconnect) the stored events after that id come first, then live
/// ones; nothing is sent twice. A `Reorg` event (`args.to`: the block the index rewound to)
/// says that events after that block were retracted: refetch what was shown.
async fn events(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<
    axum::response::Sse<
        impl futures_util::Stream<Item = Result<SseEvent, std::convert::Infallible>>,
    >,
    ApiError,
> {
    // Subscribe before reading the backlog, so no event falls between the two.
    let live = s.events.subscribe();
    let after = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(parse_event_id(v.to_str().unwrap_or("")).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Last-Event-ID {v:?} is not an id of this stream (block-logIndex)"
            ))
        })?),
    };
    let mut backlog = vec![];
    if let Some((b, i)) = after {
        let rows = sqlx::query(
            "SELECT tx_hash, log_index, block_number, contract, name, args FROM chain_events \
             WHERE block_number > $1 OR (block_number = $1 AND log_index > $2) \
             ORDER BY block_number, log_index LIMIT 10000",
        )
        .bind(b as i64)
        .bind(i as i64)
        .fetch_all(&s.pool)
        .await?;
        for r in rows {
            let block = r.try_get::<i64, _>("block_number")? as u64;
            let idx = r.try_get::<i64, _>("log_index")?;
            backlog.push(StreamEvent {
                id: format!("{block}-{idx}"),
                contract: r.try_get("contract")?,
                name: r.try_get("name")?,
                tx: r.try_get("tx_hash")?,
                block,
                args: serde_json::from_str(&r.try_get::<String, _>("args")?).unwrap_or(Value::Null),
            });
        }
    }
    let last = backlog.last().and_then(|e| parse_event_id(&e.id)).or(after);
    let stream = futures_util::stream::unfold(
        (backlog.into_iter(), live, last),
        |(mut backlog, mut live, mut last)| async move {
            if let Some(e) = backlog.next() {
                return Some((Ok(sse(&e)), (backlog, live, last)));
            }
            loop {
                match live.recv().await {
                    Ok(e) => {
                        let id = parse_event_id(&e.id);
                        // A reorg notice always goes out (and later ids restart from it).
                        if e.name != "Reorg" && id.is_some() && last.is_some() && id <= last {
                            continue; // already sent from the backlog
                        }
                        last = id;
                        return Some((Ok(sse(&e)), (backlog, live, last)));
                    }
                    // A slow client missed events: it reconnects with its Last-Event-ID.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return None,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(axum::response::Sse::new(stream).keep_alive(
        axum::response::sse::KeepAlive::new().interval(std::time::Duration::from_secs(15)),
    ))
}

type SseEvent = axum::response::sse::Event;

fn sse(e: &StreamEvent) -> SseEvent {
    SseEvent::default()
        .id(e.id.clone())
        .event(e.name.clone())
        .json_data(e)
        .unwrap_or_default()
}

/// `"block-logIndex"` as a comparable pair.
fn parse_event_id(s: &str) -> Option<(u64, u64)> {
    let (b, i) = s.split_once('-')?;
    Some((b.parse().ok()?, i.parse().ok()?))
}

#[cfg(test)]
mod param_tests {
    use super::*;

    #[test]
    fn addresses_and_statuses_are_checked_and_explained() {
        assert_eq!(
            address_param("seller", "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266").unwrap(),
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
        let e = address_param("buyer", "0x12").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.message, "buyer \"0x12\" is not a 0x address");
        assert_eq!(status_param("paid", &["paid", "refunded"]).unwrap(), "paid");
        let e = status_param("lost", &["paid", "committed", "refunded"]).unwrap_err();
        assert_eq!(
            e.message,
            "status \"lost\": use paid, committed or refunded"
        );
    }
}
