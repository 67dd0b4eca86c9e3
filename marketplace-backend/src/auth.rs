//! Sign-In With Ethereum (EIP-4361) for the writes that create server state (artifacts, jobs).
//! Reads stay public, and no key ever reaches the server: the wallet signs a message, the
//! server recovers the address from the signature.
//!
//! Flow: `GET /auth/nonce` → the page builds the message (viem's `createSiweMessage`) with that
//! nonce, this server's domain and the chain id → the wallet signs (EIP-191) → `POST
//! /auth/login` checks domain, version, chain id, the nonce (single use: deleted on first use,
//! so a replayed signature is refused), issue/expiry/not-before times, and that the signature
//! recovers to the message's address; it answers a session token (also as an HttpOnly cookie).
#![allow(missing_docs)] // request/response fields are named for what they hold

use crate::api::{ApiError, AppState};
use alloy::primitives::{Address, Signature};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trustml_chain::siwe::SiweMessage;

/// Seconds a nonce stays valid.
pub const NONCE_TTL: i64 = trustml_chain::siwe::NONCE_TTL;
/// Longest session, seconds (shorter when the message's expiration time is sooner).
pub const MAX_SESSION: i64 = 24 * 3600;
/// The session cookie.
pub const COOKIE: &str = "trustml_session";

/// Unix time, seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn unauthorized(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", msg)
}

/// A fresh SIWE nonce (alphanumeric, ≥ 8 characters as the EIP requires).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NonceBody {
    pub nonce: String,
    /// The domain and chain id the message must name.
    pub domain: String,
    pub chain_id: u64,
    pub expires_at: i64,
}

/// A signed-in account.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    pub address: String,
    pub expires_at: i64,
    /// The bearer token (also set as the `trustml_session` cookie).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `POST /auth/login` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// The EIP-4361 message, exactly as signed.
    pub message: String,
    /// The 65-byte signature, 0x-hex.
    pub signature: String,
}

/// A new single-use nonce for a SIWE message.
#[utoipa::path(get, path = "/api/v1/auth/nonce", responses((status = 200, body = NonceBody)))]
pub async fn nonce(State(s): State<AppState>) -> Result<Json<NonceBody>, ApiError> {
    let nonce: String = rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(16)
        .map(char::from)
        .collect();
    let expires_at = now() + NONCE_TTL;
    sqlx::query("DELETE FROM siwe_nonces WHERE expires_at < $1")
        .bind(now())
        .execute(&s.pool)
        .await?;
    sqlx::query("INSERT INTO siwe_nonces (nonce, expires_at) VALUES ($1, $2)")
        .bind(&nonce)
        .bind(expires_at)
        .execute(&s.pool)
        .await?;
    Ok(Json(NonceBody {
        nonce,
        domain: s.settings.siwe_domain.clone(),
        chain_id: s.config.chain_id,
        expires_at,
    }))
}

/// Signs in with a signed EIP-4361 message.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest, responses(
    (status = 200, body = SessionBody), (status = 400, body = crate::schema::ErrorBody),
    (status = 401, body = crate::schema::ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) =
        body.map_err(|e| ApiError::bad_request(format!("bad body: {}", e.body_text())))?;
    let msg = SiweMessage::parse(&req.message)
        .map_err(|e| ApiError::bad_request(format!("not an EIP-4361 message: {e}")))?;
    let t = now();
    msg.check(&s.settings.siwe_domain, s.config.chain_id, t)
        .map_err(unauthorized)?;
    let sig = hex::decode(req.signature.trim_start_matches("0x"))
        .ok()
        .and_then(|b| Signature::from_raw(&b).ok())
        .ok_or_else(|| ApiError::bad_request("signature is not 65 bytes of 0x-hex"))?;
    let signer = sig
        .recover_address_from_msg(req.message.as_bytes())
        .map_err(|_| unauthorized("the signature does not recover to any address"))?;
    if signer != msg.address {
        return Err(unauthorized(format!(
            "the message was signed by {signer}, not by {}",
            msg.address
        )));
    }
    // Single use: only the request that deletes the nonce signs in.
    let used = sqlx::query("DELETE FROM siwe_nonces WHERE nonce = $1 AND expires_at >= $2")
        .bind(&msg.nonce)
        .bind(t)
        .execute(&s.pool)
        .await?;
    if used.rows_affected() != 1 {
        return Err(unauthorized(
            "the nonce is unknown, expired or already used; get a new one from /api/v1/auth/nonce and sign again",
        ));
    }
    let expires_at = msg
        .expiration
        .map_or(t + MAX_SESSION, |e| e.min(t + MAX_SESSION));
    let token = hex::encode(rand::thread_rng().gen::<[u8; 32]>());
    sqlx::query(
        "INSERT INTO sessions (token_sha256, address, chain_id, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_key(&token))
    .bind(format!("{:#x}", msg.address))
    .bind(s.config.chain_id as i64)
    .bind(expires_at)
    .execute(&s.pool)
    .await?;
    let cookie = format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/api/v1; Max-Age={}",
        expires_at - t
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(SessionBody {
            address: format!("{:#x}", msg.address),
            expires_at,
            token: Some(token),
        }),
    )
        .into_response())
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/auth/me", responses((status = 200, body = SessionBody),
    (status = 401, body = crate::schema::ErrorBody)))]
pub async fn me(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SessionBody>, ApiError> {
    let (address, expires_at) = session(&s, &headers).await?;
    Ok(Json(SessionBody {
        address: format!("{address:#x}"),
        expires_at,
        token: None,
    }))
}

/// Ends the session.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)))]
pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = token_of(&headers) {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
            .bind(token_key(&token))
            .execute(&s.pool)
            .await?;
    }
    let clear = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/api/v1; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

fn token_key(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn token_of(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v.strip_prefix("Bearer ").map(|t| t.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            kv.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_string)
        })
}

/// The account of the request's session (bearer token or cookie), or 401.
pub async fn session(s: &AppState, headers: &HeaderMap) -> Result<(Address, i64), ApiError> {
    let token = token_of(headers).ok_or_else(|| {
        unauthorized("sign in first: POST /api/v1/auth/login with a signed EIP-4361 message")
    })?;
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT address, expires_at FROM sessions WHERE token_sha256 = $1 AND expires_at > $2",
    )
    .bind(token_key(&token))
    .bind(now())
    .fetch_optional(&s.pool)
    .await?;
    let (addr, exp) =
        row.ok_or_else(|| unauthorized("the session is unknown or expired; sign in again"))?;
    let a: Address = addr
        .parse()
        .map_err(|_| unauthorized("the session is corrupt; sign in again"))?;
    Ok((a, exp))
}
