//! Sign-In With Ethereum (EIP-4361) messages: written by the CLI and tests as viem's
//! `createSiweMessage` writes them, parsed and checked by the server.

use alloy::primitives::Address;

/// Seconds a nonce (and so a freshly issued message) stays valid.
pub const NONCE_TTL: i64 = 600;
/// Tolerated clock skew between the signer and the server, seconds.
const SKEW: i64 = 300;

/// The fields of an EIP-4361 message that the server checks.
#[derive(Debug, PartialEq)]
#[allow(missing_docs)] // the EIP's field names
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

/// A message for `address` to sign in to `domain` on `chain_id` with `nonce`, issued now,
/// laid out as viem's `createSiweMessage` writes it.
pub fn message(
    domain: &str,
    address: Address,
    chain_id: u64,
    nonce: &str,
    statement: &str,
) -> String {
    let issued = format_rfc3339(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    );
    format!(
        "{domain} wants you to sign in with your Ethereum account:\n{address}\n\n{statement}\n\n\
         URI: http://{domain}\nVersion: 1\nChain ID: {chain_id}\nNonce: {nonce}\nIssued At: {issued}"
    )
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
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
        for t in [0, 951_865_200, 1_796_544_000, 4_102_444_800 + 86_399] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
        }
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
