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

/// Seconds a nonce stays valid.
pub const NONCE_TTL: i64 = 600;
/// Longest session, seconds (shorter when the message's expiration time is sooner).
pub const MAX_SESSION: i64 = 24 * 3600;
/// Tolerated clock skew between the page and the server, seconds.
const SKEW: i64 = 300;
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

/// The fields of an EIP-4361 message that the server checks.
#[derive(Debug, PartialEq)]
pub struct SiweMessage {
    pub domain: String,
    pub address: Address,
    pub uri: String,
    pub version: String,
    pub chain_id: u64,
    pub nonce: String,
    pub issued_at: i64,
    pub expiration: Option<i64>,
    pub not_before: Option<i64>,
}

const PREAMBLE: &str = " wants you to sign in with your Ethereum account:";

impl SiweMessage {
    /// Parses the message (the EIP's layout: a preamble with the domain, the address, an
    /// optional statement, then `Key: value` lines).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines();
        let domain = lines
            .next()
            .and_then(|l| l.strip_suffix(PREAMBLE))
            .filter(|d| !d.is_empty())
            .ok_or("the first line must be \"<domain> wants you to sign in with your Ethereum account:\"")?
            .to_string();
        let address: Address = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or("the second line must be the 0x address")?;
        let mut fields = std::collections::BTreeMap::new();
        for l in lines {
            if let Some((k, v)) = l.split_once(": ") {
                if [
                    "URI",
                    "Version",
                    "Chain ID",
                    "Nonce",
                    "Issued At",
                    "Expiration Time",
                    "Not Before",
                    "Request ID",
                ]
                .contains(&k)
                    && fields.insert(k, v.to_string()).is_some()
                {
                    return Err(format!("{k} appears twice"));
                }
            }
        }
        let get = |k: &str| fields.get(k).cloned().ok_or(format!("no \"{k}:\" line"));
        let time = |k: &str| -> Result<Option<i64>, String> {
            fields
                .get(k)
                .map(|v| parse_rfc3339(v).ok_or(format!("{k} {v:?} is not an RFC 3339 time")))
                .transpose()
        };
        let nonce = get("Nonce")?;
        if nonce.len() < 8 || !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("the nonce must be at least 8 alphanumeric characters".into());
        }
        Ok(Self {
            domain,
            address,
            uri: get("URI")?,
            version: get("Version")?,
            chain_id: get("Chain ID")?
                .parse()
                .map_err(|_| "Chain ID is not a number".to_string())?,
            nonce,
            issued_at: time("Issued At")?.ok_or("no \"Issued At:\" line")?,
            expiration: time("Expiration Time")?,
            not_before: time("Not Before")?,
        })
    }

    /// The server's checks at time `t` (everything but the signature and the nonce's use).
    pub fn check(&self, domain: &str, chain_id: u64, t: i64) -> Result<(), String> {
        if self.domain != domain {
            return Err(format!(
                "the message is for {}, this server is {domain}: sign in from this site",
                self.domain
            ));
        }
        if self.version != "1" {
            return Err(format!("version {} is not 1", self.version));
        }
        if self.chain_id != chain_id {
            return Err(format!(
                "the message names chain {}, this server serves chain {chain_id}: switch networks and sign again",
                self.chain_id
            ));
        }
        if self.expiration.is_some_and(|e| e <= t) {
            return Err("the message has expired: sign a new one".into());
        }
        if self.issued_at > t + SKEW || self.issued_at < t - NONCE_TTL - SKEW {
            return Err("Issued At is not now: check the clock and sign again".into());
        }
        if self.not_before.is_some_and(|nb| nb > t + SKEW) {
            return Err("the message is not valid yet (Not Before)".into());
        }
        Ok(())
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` → Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        t.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| t.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &r[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(4..6)?.parse().ok()?;
            let o = oh * 3600 + om * 60;
            if rest.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    // Days from the civil date (proleptic Gregorian).
    let (y2, m2) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "localhost:8080 wants you to sign in with your Ethereum account:\n\
0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\n\nSign in to trustml.\n\nURI: http://localhost:8080\n\
Version: 1\nChain ID: 31337\nNonce: abcdefgh12345678\nIssued At: 2026-12-06T08:00:00.000Z\n\
Expiration Time: 2026-12-06T09:00:00Z";

    #[test]
    fn parses_the_eip_layout() {
        let m = SiweMessage::parse(MSG).unwrap();
        assert_eq!(m.domain, "localhost:8080");
        assert_eq!(m.chain_id, 31337);
        assert_eq!(m.nonce, "abcdefgh12345678");
        assert_eq!(m.issued_at, 1_796_544_000);
        assert_eq!(m.expiration, Some(1_796_547_600));
        let t = m.issued_at + 10;
        m.check("localhost:8080", 31337, t).unwrap();
        assert!(m
            .check("evil.example", 31337, t)
            .unwrap_err()
            .contains("is for"));
        assert!(m
            .check("localhost:8080", 1, t)
            .unwrap_err()
            .contains("chain"));
        assert!(m
            .check("localhost:8080", 31337, t + 7200)
            .unwrap_err()
            .contains("expired"));
        assert!(m.check("localhost:8080", 31337, t - 3600).is_err());
        // No statement (viem leaves three newlines).
        let bare = MSG.replace("\n\nSign in to trustml.\n", "\n\n");
        assert_eq!(SiweMessage::parse(&bare).unwrap(), m);
        assert!(SiweMessage::parse(&MSG.replace("Nonce: abcdefgh12345678", "Nonce: x")).is_err());
        assert!(SiweMessage::parse(&MSG.replace(" wants you", " would like you")).is_err());
    }

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2000-03-01T00:00:00+01:00"),
            Some(951_865_200)
        );
        assert_eq!(
            parse_rfc3339("2026-12-06T08:00:00.123456Z"),
            Some(1_796_544_000)
        );
        assert_eq!(parse_rfc3339("2026-13-06T08:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-12-06 08:00:00"), None);
    }
}
