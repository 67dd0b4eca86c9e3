//! The API's response bodies: one Rust type each, serialized as the JSON the API sends and
//! described by the OpenAPI document (`/api/v1/openapi.json`) from the same definitions.
//! Amounts and uint256 values are decimal strings; addresses and hashes 0x-hex. Fields whose
//! names say it all carry no doc comment.
#![allow(missing_docs)]

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// An error: a stable `code` (`not_found`, `bad_request`, `database_unavailable`) and what to
/// do.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// [`ErrorBody`]'s content.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable.
    pub code: String,
    /// For people: what is wrong and what to do.
    pub message: String,
}

/// The indexer's position.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndexerStatus {
    /// Last block applied.
    pub cursor: u64,
    /// The chain's head at the last step.
    pub head: u64,
    /// `head − cursor`.
    pub lag: u64,
    /// Blocks the indexer waits before applying one.
    pub confirmations: u64,
}

/// A listing of the prompt marketplace.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub id: i64,
    pub seller: String,
    pub listing_circuit_id: String,
    pub delivery_circuit_id: String,
    /// C: the prompt commitment.
    pub commitment: String,
    /// H: the hash of the published example output.
    pub output_hash: String,
    /// Wei.
    pub price: String,
    /// Open for purchase (not cancelled).
    pub active: bool,
    pub sales: i64,
    pub listed_block: i64,
    pub listed_tx: String,
    /// The listing proof was verified by the contract in `listed_tx` (always true: `list`
    /// reverts otherwise).
    pub verified: bool,
    /// sha256 of the metadata document the seller bound on chain (absent: listed without).
    pub metadata_hash: Option<String>,
    /// `none` (listed without metadata), `missing` (the document is not on this server),
    /// `matches` (the stored document hashes to `metadata_hash` and its example output hashes
    /// to `output_hash`) or `output_mismatch` (the document is the seller's, but its example
    /// output is not the proven one).
    pub metadata_status: String,
    /// The document's content, when stored.
    pub metadata: Option<ListingMetadata>,
    /// Orders by status (on `GET /listings/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<BTreeMap<String, i64>>,
    /// The proof panel (on `GET /listings/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<ProofPanel>,
}

/// What a listing's metadata says (the full document, with its example output, is the
/// artifact `GET /api/v1/artifacts/{metadataHash}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingMetadata {
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
}

/// Why a listing can be trusted: the statement its proof was checked for, where and at what
/// cost. Chain reads that fail (RPC down) leave their fields absent.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProofPanel {
    pub listing_circuit_id: String,
    pub delivery_circuit_id: String,
    /// The vk digest pinned with the listing (from the contract).
    pub listing_vk_digest: Option<String>,
    pub delivery_vk_digest: Option<String>,
    /// The verifier contract pinned with the listing.
    pub listing_verifier: Option<String>,
    /// Public inputs of the listing proof: `[C, H, seller]`.
    pub public_inputs: Vec<String>,
    /// Whether the stored example output hashes to H (absent without a stored document).
    pub example_output_matches: Option<bool>,
    /// The transaction whose `list` call verified the proof, and its gas.
    pub verify_tx: String,
    pub verify_gas: Option<i64>,
}

impl Listing {
    /// The columns [`Listing::from_row`] reads: the listing and its stored metadata, if any.
    pub const SELECT: &'static str = "SELECT listings.*, title, description, tags, example_hash \
         FROM listings LEFT JOIN listing_metadata ON listing_metadata.sha256 = metadata_hash";

    /// From a row of [`Listing::SELECT`].
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let metadata_hash: String = r.try_get("metadata_hash")?;
        let title: Option<String> = r.try_get("title")?;
        let example: Option<String> = r.try_get("example_hash")?;
        let output_hash: String = r.try_get("output_hash")?;
        let metadata_status = match (&title, example) {
            _ if zero_hash(&metadata_hash) => "none",
            (None, _) => "missing",
            (Some(_), Some(e)) if e == output_hash => "matches",
            _ => "output_mismatch",
        };
        Ok(Self {
            id: r.try_get("id")?,
            seller: r.try_get("seller")?,
            listing_circuit_id: r.try_get("listing_circuit")?,
            delivery_circuit_id: r.try_get("delivery_circuit")?,
            commitment: r.try_get("commitment")?,
            output_hash: r.try_get("output_hash")?,
            price: r.try_get("price")?,
            active: r.try_get::<i64, _>("active")? == 1,
            sales: r.try_get("sales")?,
            listed_block: r.try_get("listed_block")?,
            listed_tx: r.try_get("listed_tx")?,
            verified: true,
            metadata_hash: (!zero_hash(&metadata_hash)).then_some(metadata_hash),
            metadata_status: metadata_status.into(),
            metadata: title.map(|title| ListingMetadata {
                title,
                description: r.try_get("description").unwrap_or_default(),
                tags: serde_json::from_str(&r.try_get::<String, _>("tags").unwrap_or_default())
                    .unwrap_or_default(),
            }),
            orders: None,
            proof: None,
        })
    }
}

/// An all-zero (or empty) hash: no metadata.
fn zero_hash(h: &str) -> bool {
    h.trim_start_matches("0x").bytes().all(|b| b == b'0')
}

/// A page of listings.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingPage {
    pub items: Vec<Listing>,
    /// The `cursor` of the next page; absent on the last.
    pub next: Option<String>,
}

/// A buyer's Baby Jubjub public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct BuyerKey {
    pub x: String,
    pub y: String,
}

/// An order: `paid` → `committed` (delivery committed) → `delivered`, or `refunded`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: i64,
    pub listing_id: i64,
    pub buyer: String,
    pub buyer_key: BuyerKey,
    /// Wei escrowed.
    pub amount: String,
    /// Unix time before which the seller must commit a delivery.
    pub deadline: i64,
    pub status: String,
    pub delivery_digest: Option<String>,
    pub reveal_deadline: Option<i64>,
    pub purchase_tx: String,
    /// The delivery or refund transaction.
    pub settle_tx: Option<String>,
    /// Gas of `settle_tx` (the delivery proof's verification, for a delivery; on
    /// `GET /orders/{id}` only, when the chain answers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settle_gas: Option<i64>,
}

impl Order {
    /// From an `orders` row.
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            listing_id: r.try_get("listing_id")?,
            buyer: r.try_get("buyer")?,
            buyer_key: BuyerKey {
                x: r.try_get("pk_x")?,
                y: r.try_get("pk_y")?,
            },
            amount: r.try_get("amount")?,
            deadline: r.try_get("deadline")?,
            status: r.try_get("status")?,
            delivery_digest: r.try_get("delivery_digest")?,
            reveal_deadline: r.try_get("reveal_deadline")?,
            purchase_tx: r.try_get("purchase_tx")?,
            settle_tx: r.try_get("settle_tx")?,
            settle_gas: None,
        })
    }
}

/// Orders, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<Order>,
}

/// θ = num / den.
#[derive(Debug, Serialize, ToSchema)]
pub struct Theta {
    pub num: i64,
    pub den: i64,
}

/// One proven batch of an audit.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditBatch {
    pub index: i64,
    /// Correct predictions among its b samples.
    pub count: i64,
    pub submitter: String,
    pub tx: String,
}

/// An accuracy audit of the audit escrow: `created` → `accepted` → `proving` (seed
/// revealed) → `finalized` with an `outcome`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    pub id: i64,
    pub model_id: String,
    pub requester: String,
    pub provider: String,
    pub bounty: String,
    pub fee: String,
    pub bond: String,
    /// R_D.
    pub dataset_root: String,
    /// N.
    pub dataset_size: String,
    /// n.
    pub num_samples: i64,
    /// m = ⌈n / b⌉.
    pub num_batches: i64,
    pub theta: Theta,
    pub accept_deadline: i64,
    pub prove_window: i64,
    pub status: String,
    pub accept_block: Option<i64>,
    pub seed: Option<String>,
    pub prove_deadline: Option<i64>,
    pub batches_submitted: i64,
    pub total_correct: i64,
    /// `Passed`, `Failed`, `NotAccepted`, `NotRevealed` or `NotProven`.
    pub outcome: Option<String>,
    pub samples_proven: Option<String>,
    pub created_tx: String,
    pub finalize_tx: Option<String>,
    /// Its proven batches (on `GET /audits/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches: Option<Vec<AuditBatch>>,
}

impl Audit {
    /// From an `audits` row.
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            model_id: r.try_get("model_id")?,
            requester: r.try_get("requester")?,
            provider: r.try_get("provider")?,
            bounty: r.try_get("bounty")?,
            fee: r.try_get("fee")?,
            bond: r.try_get("bond")?,
            dataset_root: r.try_get("dataset_root")?,
            dataset_size: r.try_get("dataset_size")?,
            num_samples: r.try_get("num_samples")?,
            num_batches: r.try_get("num_batches")?,
            theta: Theta {
                num: r.try_get("theta_num")?,
                den: r.try_get("theta_den")?,
            },
            accept_deadline: r.try_get("accept_deadline")?,
            prove_window: r.try_get("prove_window")?,
            status: r.try_get("status")?,
            accept_block: r.try_get("accept_block")?,
            seed: r.try_get("seed")?,
            prove_deadline: r.try_get("prove_deadline")?,
            batches_submitted: r.try_get("batches_submitted")?,
            total_correct: r.try_get("total_correct")?,
            outcome: r.try_get("outcome")?,
            samples_proven: r.try_get("samples_proven")?,
            created_tx: r.try_get("created_tx")?,
            finalize_tx: r.try_get("finalize_tx")?,
            batches: None,
        })
    }
}

/// Audits, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<Audit>,
}

/// An account's record on the marketplace, from the indexed events.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub address: String,
    pub seller: SellerStats,
    pub buyer: BuyerStats,
}

/// What an account sold.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SellerStats {
    pub listings: i64,
    pub active_listings: i64,
    /// Orders of its listings by status.
    pub orders: BTreeMap<String, i64>,
    /// Wei paid for its delivered orders (before the fee).
    pub volume: String,
}

/// What an account bought.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuyerStats {
    /// Its orders by status.
    pub orders: BTreeMap<String, i64>,
    /// Wei it escrowed in all its orders.
    pub spent: String,
}
