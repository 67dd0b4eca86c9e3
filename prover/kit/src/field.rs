//! Field-element codecs: the one place where a BN254 scalar (`Fr`) becomes text, bytes or an
//! integer and back.
//!
//! * hex: `0x` + 64 big-endian digits, as Solidity, JSON-RPC and circomlibjs write uint256;
//! * decimal: as snarkjs and proof files' readable outputs write them;
//! * 32-byte big-endian words (EVM calldata);
//! * signed integers: `p − x` is read as `−x` (fixed-point values in a circuit).
//!
//! [`FrHex`] is the serde form used in every file trustml writes: hex out, hex or decimal in.

use halo2_proofs::halo2curves::ff::PrimeField;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use halo2_proofs::halo2curves::bn256::Fr;

/// A signed integer as a field element (negatives wrap mod r).
pub fn fe(v: i128) -> Fr {
    if v >= 0 {
        Fr::from_u128(v as u128)
    } else {
        -Fr::from_u128(v.unsigned_abs())
    }
}

/// The 32-byte big-endian word of `f` (Solidity's uint256).
pub fn to_be_bytes(f: &Fr) -> [u8; 32] {
    let mut b: [u8; 32] = f.to_repr();
    b.reverse();
    b
}

/// Reads a 32-byte big-endian word; `None` unless it is below the field modulus.
pub fn from_be_bytes(word: &[u8; 32]) -> Option<Fr> {
    let mut repr = *word;
    repr.reverse();
    Option::from(Fr::from_repr(repr))
}

/// `0x` + 64 hex digits, big-endian.
pub fn to_hex(f: &Fr) -> String {
    format!("0x{}", hex::encode(to_be_bytes(f)))
}

/// Parses hex (`0x` optional, at most 64 digits); `None` if malformed or not below the modulus.
pub fn from_hex(s: &str) -> Option<Fr> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    if h.is_empty() || h.len() > 64 {
        return None;
    }
    let b = hex::decode(format!("{h:0>64}")).ok()?;
    from_be_bytes(&b.try_into().ok()?)
}

/// The decimal digits of `f`.
pub fn to_dec(f: &Fr) -> String {
    let mut digits = vec![0u8];
    for &byte in to_be_bytes(f).iter() {
        let mut carry = byte as u32;
        for d in digits.iter_mut() {
            let v = *d as u32 * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| (b'0' + d) as char).collect()
}

/// Parses decimal digits; `None` if malformed or not below the modulus.
pub fn from_dec(s: &str) -> Option<Fr> {
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Big-endian base-256 accumulation, then a range check through `from_be_bytes`.
    let mut word = [0u8; 32];
    for c in s.bytes() {
        let mut carry = (c - b'0') as u32;
        for b in word.iter_mut().rev() {
            let v = *b as u32 * 10 + carry;
            *b = (v & 0xff) as u8;
            carry = v >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    from_be_bytes(&word)
}

/// Hex with a `0x` prefix, else decimal.
pub fn parse(s: &str) -> Option<Fr> {
    let s = s.trim();
    if s.starts_with("0x") {
        from_hex(s)
    } else {
        from_dec(s)
    }
}

/// `f` as an unsigned integer when it is below 2^128.
pub fn to_u128(f: &Fr) -> Option<u128> {
    let b = to_be_bytes(f);
    b[..16]
        .iter()
        .all(|&x| x == 0)
        .then(|| u128::from_be_bytes(b[16..].try_into().expect("16 bytes")))
}

/// `f` as a signed integer when `|f| < 2^bits` (`p − x` is `−x`); `bits` ≤ 127.
pub fn to_signed(f: &Fr, bits: u32) -> Option<i128> {
    debug_assert!(bits <= 127);
    let small = |x: &Fr| to_u128(x).filter(|&v| v < 1u128 << bits).map(|v| v as i128);
    small(f).or_else(|| small(&-*f).map(|v| -v))
}

/// A field element in files: written as [`to_hex`], read from hex (`0x…`) or decimal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FrHex(pub Fr);

impl From<Fr> for FrHex {
    fn from(f: Fr) -> Self {
        Self(f)
    }
}

impl std::fmt::Display for FrHex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

impl std::str::FromStr for FrHex {
    type Err = NotAFieldElement;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
            .map(Self)
            .ok_or_else(|| NotAFieldElement(s.to_string()))
    }
}

/// A string that is not a field element (its text).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a field element (0x + up to 64 hex digits, or decimal digits, below the BN254 scalar modulus)")]
pub struct NotAFieldElement(pub String);

impl Serialize for FrHex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(&self.0))
    }
}

impl<'de> Deserialize<'de> for FrHex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::ff::Field;

    #[test]
    fn round_trips() {
        let mut rng = rand::rngs::OsRng;
        for f in [Fr::ZERO, Fr::ONE, -Fr::ONE, Fr::random(&mut rng)] {
            assert_eq!(from_hex(&to_hex(&f)), Some(f));
            assert_eq!(from_dec(&to_dec(&f)), Some(f));
            assert_eq!(from_be_bytes(&to_be_bytes(&f)), Some(f));
            let j = serde_json::to_string(&FrHex(f)).unwrap();
            assert_eq!(serde_json::from_str::<FrHex>(&j).unwrap().0, f);
        }
        assert_eq!(to_dec(&Fr::from(1234567890u64)), "1234567890");
        assert_eq!(parse("0x10"), Some(Fr::from(16u64)));
        assert_eq!(parse("10"), Some(Fr::from(10u64)));
    }

    #[test]
    fn rejects_non_canonical_and_malformed() {
        // r itself, and r + 1, are not canonical.
        let r = "21888242871839275222246405745257275088548364400416034343698204186575808495617";
        let r_hex = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        assert_eq!(from_dec(r), None);
        assert_eq!(from_hex(r_hex), None);
        let below = "21888242871839275222246405745257275088548364400416034343698204186575808495616";
        assert_eq!(from_dec(below), Some(-Fr::ONE));
        for bad in [
            "",
            "0x",
            "0xzz",
            "12a",
            &"1".repeat(80),
            &format!("0x{}", "f".repeat(65)),
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(serde_json::from_str::<FrHex>("\"0xg\"")
            .unwrap_err()
            .to_string()
            .contains("not a field element"));
    }

    #[test]
    fn signed_and_small_integers() {
        assert_eq!(to_signed(&fe(-5), 62), Some(-5));
        assert_eq!(to_signed(&fe(1 << 61), 62), Some(1 << 61));
        assert_eq!(to_signed(&fe(1 << 62), 62), None);
        assert_eq!(to_signed(&fe(-(1 << 62)), 62), None);
        assert_eq!(to_u128(&fe(7)), Some(7));
        assert_eq!(to_u128(&-Fr::ONE), None);
    }
}
