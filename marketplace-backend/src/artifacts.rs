//! Content-addressed artifacts: `PUT /artifacts` streams the body through a size limit into
//! sha256 and stores it under that hash (idempotent: the same bytes are the same artifact);
//! `GET /artifacts/{sha256}` serves it immutable, with the hash as its `ETag`. An artifact that
//! parses as listing metadata is also indexed for listing search, and binds to every listing
//! whose on-chain `metadataHash` it equals — the server cannot show any other document for it.
#![allow(missing_docs)] // request/response fields are named for what they hold

use crate::api::{ApiError, AppState};
use crate::auth::{now, session};
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use trustml::market::metadata::ListingMetadata;

/// Media type stored for listing metadata documents.
pub const METADATA_MEDIA_TYPE: &str = "application/vnd.trustml.listing-metadata+json";

/// A stored artifact.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactInfo {
    /// `0x` + the sha256 of the bytes: the artifact's address.
    pub sha256: String,
    pub size: i64,
    pub media_type: String,
    /// Whether the bytes are a listing metadata document (then listings whose
    /// `metadataHash` is `sha256` show it).
    pub listing_metadata: bool,
}

/// Stores the request body (at most `--max-artifact-bytes`; signed-in accounts only).
#[utoipa::path(put, path = "/api/v1/artifacts", request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ArtifactInfo), (status = 200, body = ArtifactInfo, description = "already stored"),
    (status = 400, body = crate::schema::ErrorBody), (status = 401, body = crate::schema::ErrorBody),
    (status = 413, body = crate::schema::ErrorBody)))]
pub async fn put(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    session(&s, &headers).await?;
    let limit = s.settings.max_artifact_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("artifacts are at most {limit} bytes"),
        )
    };
    if let Some(n) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if n > limit as u64 {
            return Err(too_large());
        }
    }
    let mut bytes = Vec::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if bytes.len() + chunk.len() > limit {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "the body is empty: PUT the artifact's bytes",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 100 && v.is_ascii())
        .unwrap_or("application/octet-stream")
        .to_string();
    let (info, inserted) = store_info(&s.pool, &bytes, &content_type).await?;
    let status = if inserted {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(info)).into_response())
}

/// Stores `bytes` (idempotent); returns its address.
pub async fn store(pool: &sqlx::AnyPool, bytes: &[u8], media_type: &str) -> sqlx::Result<String> {
    Ok(store_info(pool, bytes, media_type).await?.0.sha256)
}

/// Stores `bytes` under their sha256 (and as listing metadata when they parse as such);
/// whether they were new.
async fn store_info(
    pool: &sqlx::AnyPool,
    bytes: &[u8],
    content_type: &str,
) -> sqlx::Result<(ArtifactInfo, bool)> {
    let sha = format!("0x{}", hex::encode(Sha256::digest(bytes)));
    let metadata = ListingMetadata::parse(bytes).ok();
    let media_type = if metadata.is_some() {
        METADATA_MEDIA_TYPE
    } else {
        content_type
    };
    let info = ArtifactInfo {
        sha256: sha.clone(),
        size: bytes.len() as i64,
        media_type: media_type.to_string(),
        listing_metadata: metadata.is_some(),
    };
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO artifacts (sha256, size, media_type, created_at, body) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(&sha)
    .bind(bytes.len() as i64)
    .bind(media_type)
    .bind(now())
    .bind(bytes.to_vec())
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if let (true, Some(m)) = (inserted, metadata) {
        let example = example_hash(&m);
        let search = format!("{}\n{}\n{}", m.title, m.description, m.tags.join(" ")).to_lowercase();
        sqlx::query(
            "INSERT INTO listing_metadata (sha256, title, description, tags, example_hash, search) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&sha)
        .bind(m.title.trim())
        .bind(&m.description)
        .bind(serde_json::to_string(&m.tags).unwrap_or_default())
        .bind(example)
        .bind(search)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok((info, inserted))
}

/// Poseidon(example output ‖ 0) in decimal, the form the indexer stores output hashes in
/// (empty when an element is not a field element: it then matches no listing).
fn example_hash(m: &ListingMetadata) -> String {
    let fields: Option<Vec<_>> = m
        .example_output
        .iter()
        .flat_map(|o| o.field.iter())
        .map(|f| trustml_kit::field::parse(f))
        .collect();
    fields
        .map(|f| trustml_kit::field::to_dec(&trustml_poseidon::commit(&f, Default::default())))
        .unwrap_or_default()
}

/// An artifact's bytes. `If-None-Match` with its `ETag` answers 304.
#[utoipa::path(get, path = "/api/v1/artifacts/{sha256}", params(("sha256" = String, Path, description = "0x + 64 hex digits")),
    responses((status = 200, description = "the bytes"), (status = 304), (status = 400, body = crate::schema::ErrorBody),
    (status = 404, body = crate::schema::ErrorBody)))]
pub async fn get(
    State(s): State<AppState>,
    headers: HeaderMap,
    sha: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(sha) = sha?;
    let sha = normalize(&sha).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{sha:?} is not a sha256 (64 hex digits, 0x optional)"
        ))
    })?;
    let etag = format!("\"{sha}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        let exists = sqlx::query("SELECT 1 AS one FROM artifacts WHERE sha256 = $1")
            .bind(&sha)
            .fetch_optional(&s.pool)
            .await?
            .is_some();
        if exists {
            return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
        }
    }
    let row = sqlx::query("SELECT media_type, body FROM artifacts WHERE sha256 = $1")
        .bind(&sha)
        .fetch_optional(&s.pool)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no artifact {sha}; PUT it to /api/v1/artifacts first"
            ))
        })?;
    let media: String = row.try_get("media_type")?;
    let body: Vec<u8> = row.try_get("body")?;
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a header value"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&media)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(r)
}

/// `0x` + lowercase hex of a sha256 given with or without `0x`.
fn normalize(s: &str) -> Option<String> {
    let h = s.strip_prefix("0x").unwrap_or(s).to_ascii_lowercase();
    (h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("0x{h}"))
}
