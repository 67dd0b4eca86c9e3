//! The prompt marketplace's proofs and files, with no chain access:
//!
//! * [`listing`] — the listing proof ("proof of prompt") and the seller's secret;
//! * [`delivery`] — delivery circuit directories and delivery proofs; the circuit itself is
//!   [`delivery_circuit`];
//! * here — buyer key files, ciphertext files and decryption.
//!
//! The curve, the encryption and the ECC chip are `trustml-babyjubjub`'s; the contract calls
//! are `trustml-chain`'s.

use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;
use trustml_babyjubjub::{decode_tokens, decrypt, Ciphertext, Fr, Point};
use trustml_kit::field::{from_hex as fr_from_hex, to_hex as fr_to_hex};

pub mod delivery;
pub mod delivery_circuit;
pub mod listing;

#[cfg(test)]
mod tests_delivery_circuit;

/// Errors of the marketplace's proofs and files.
#[derive(Debug, Error)]
pub enum MarketError {
    /// Proving or verifying a model (the listing).
    #[error(transparent)]
    Proof(#[from] crate::proof::ProofError),
    /// The listing's model directory.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// Keys, headers, proof files.
    #[error(transparent)]
    Kit(#[from] trustml_kit::KitError),
    /// A model or circuit that does not fit the marketplace's statement.
    #[error("{0}")]
    WrongModel(String),
    /// A secret file would be overwritten.
    #[error("{0} exists; refusing to overwrite it (move it away first)")]
    WouldOverwrite(String),
    /// A file could not be read.
    #[error("{path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not what it should be.
    #[error("{path} is not a valid {what} file: {msg}")]
    Format {
        /// The file.
        path: String,
        /// What it should be.
        what: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// The ciphertext's ephemeral key is not a point.
    #[error("the ciphertext's ephemeral key R is not a valid Baby Jubjub point")]
    BadPoint,
    /// The buyer's key is not a valid key: the same test as the marketplace's `buy` (on the
    /// curve, not of small order). Neither side requires the prime-order subgroup: a key with
    /// a small-order component only keeps its own buyer from decrypting.
    #[error(
        "the buyer's public key is not a valid Baby Jubjub key (off the curve or of small order)"
    )]
    BadBuyerKey,
    /// Decryption failed.
    #[error("decryption failed: {0}")]
    Decrypt(String),
}

/// A point as JSON: two field elements in hex.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PointJson {
    /// x, hex.
    pub x: String,
    /// y, hex.
    pub y: String,
}

impl PointJson {
    /// The JSON form of `p`.
    pub fn of(p: &Point) -> Self {
        Self {
            x: fr_to_hex(&p.x),
            y: fr_to_hex(&p.y),
        }
    }

    /// A public key from a key file (its `public`) or a bare `{"x", "y"}`.
    pub fn read_public_key(path: &Path) -> Result<Self, MarketError> {
        let text = std::fs::read_to_string(path).map_err(|source| MarketError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if let Ok(k) = serde_json::from_str::<KeyFile>(&text) {
            return Ok(k.public);
        }
        serde_json::from_str::<PointJson>(&text).map_err(|_| MarketError::Format {
            path: path.display().to_string(),
            what: "public key",
            msg: "it holds neither a key file nor {\"x\": \"0x…\", \"y\": \"0x…\"}".into(),
        })
    }

    /// The point, when both coordinates are field elements and it is a valid public key.
    pub fn point(&self) -> Option<Point> {
        let p = Point {
            x: fr_from_hex(&self.x)?,
            y: fr_from_hex(&self.y)?,
        };
        p.is_valid_public_key().then_some(p)
    }
}

/// A buyer's key file. The secret decrypts every prompt bought with the key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyFile {
    /// The secret scalar, hex.
    pub secret: String,
    /// The public key: what a purchase names.
    pub public: PointJson,
}

/// A delivered prompt, as read from the marketplace's `Delivered` event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CiphertextFile {
    /// The order (the encryption nonce).
    pub order_id: u64,
    /// The ephemeral key `R`.
    pub r: PointJson,
    /// The encrypted blocks, hex.
    pub blocks: Vec<String>,
}

pub(crate) fn read<T: for<'de> Deserialize<'de>>(
    path: &Path,
    what: &'static str,
) -> Result<T, MarketError> {
    let text = std::fs::read_to_string(path).map_err(|source| MarketError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| MarketError::Format {
        path: path.display().to_string(),
        what,
        msg: e.to_string(),
    })
}

/// A fresh key pair.
pub fn keygen() -> KeyFile {
    let (sk, pk) = trustml_babyjubjub::keygen(rand::rngs::OsRng);
    KeyFile {
        secret: fr_to_hex(&sk),
        public: PointJson::of(&pk),
    }
}

/// Field elements as signed integers (`p − x` is `−x`), when all are below 2^62 in size.
pub fn small_ints(v: &[Fr]) -> Option<Vec<i64>> {
    v.iter()
        .map(|f| trustml_kit::field::to_signed(f, 62).map(|x| x as i64))
        .collect()
}

/// Decrypted blocks as model input values (a block is a quantized input `round(x·2^scale)`).
pub fn blocks_to_input(ints: &[i64], scale_bits: u32) -> Vec<f64> {
    let scale = (1u64 << scale_bits) as f64;
    ints.iter().map(|&v| v as f64 / scale).collect()
}

impl CiphertextFile {
    /// Reads a ciphertext file, or the ciphertext in a delivery proof file's public inputs.
    pub fn read(path: &Path) -> Result<Self, MarketError> {
        if let Ok(pf) = read::<trustml_kit::ProofFile>(path, "delivery proof") {
            return Self::from_instances(&pf.instances).ok_or_else(|| MarketError::Format {
                path: path.display().to_string(),
                what: "ciphertext",
                msg: "this proof file is not a delivery proof".into(),
            });
        }
        read(path, "ciphertext")
    }

    /// The file form of a ciphertext for `order_id`.
    pub fn of(ct: &Ciphertext, order_id: u64) -> Self {
        Self {
            order_id,
            r: PointJson::of(&ct.r_point),
            blocks: ct.blocks.iter().map(fr_to_hex).collect(),
        }
    }
}

/// Decrypts a delivered prompt with the buyer's key file: the plaintext field elements,
/// and the tokens when every element is a 16-bit token.
pub fn decrypt_files(
    key: &Path,
    ciphertext: &Path,
) -> Result<(Vec<Fr>, Option<Vec<u16>>), MarketError> {
    let c = CiphertextFile::read(ciphertext)?;
    decrypt_with_key_file(key, &c, ciphertext)
}

/// Decrypts `c` with the key file at `key`; `source` names where `c` came from in errors.
pub fn decrypt_with_key_file(
    key: &Path,
    c: &CiphertextFile,
    source: &Path,
) -> Result<(Vec<Fr>, Option<Vec<u16>>), MarketError> {
    let k: KeyFile = read(key, "key")?;
    let bad = |what: &'static str, path: &Path, v: &str| MarketError::Format {
        path: path.display().to_string(),
        what,
        msg: format!("{v} is not a field element"),
    };
    let sk = fr_from_hex(&k.secret).ok_or_else(|| bad("key", key, &k.secret))?;
    let r_point = c.r.point().ok_or(MarketError::BadPoint)?;
    let blocks = c
        .blocks
        .iter()
        .map(|b| fr_from_hex(b).ok_or_else(|| bad("ciphertext", source, b)))
        .collect::<Result<Vec<_>, _>>()?;
    let plain = decrypt(&Ciphertext { r_point, blocks }, &sk, c.order_id)
        .map_err(|e| MarketError::Decrypt(e.to_string()))?;
    let tokens = decode_tokens(&plain);
    Ok((plain, tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_encrypt_decrypt_through_files() {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen();
        let kp = dir.path().join("buyer.json");
        std::fs::write(&kp, serde_json::to_string(&key).unwrap()).unwrap();
        let pk = key.public.point().unwrap();
        let tokens: Vec<u16> = vec![7, 300, 65535, 0, 12];
        let r = trustml_babyjubjub::random_scalar(rand::rngs::OsRng);
        let ct =
            trustml_babyjubjub::encrypt(&trustml_babyjubjub::encode_tokens(&tokens), &r, &pk, 42)
                .unwrap();
        let cp = dir.path().join("ct.json");
        std::fs::write(
            &cp,
            serde_json::to_string(&CiphertextFile::of(&ct, 42)).unwrap(),
        )
        .unwrap();
        let (_, got) = decrypt_files(&kp, &cp).unwrap();
        assert_eq!(got, Some(tokens.clone()));

        // Another order id (or another key) yields garbage, not the prompt.
        std::fs::write(
            &cp,
            serde_json::to_string(&CiphertextFile::of(&ct, 43)).unwrap(),
        )
        .unwrap();
        let (_, got) = decrypt_files(&kp, &cp).unwrap();
        assert_ne!(got, Some(tokens));
        std::fs::write(&cp, "{\"order_id\": 1}").unwrap();
        assert!(decrypt_files(&kp, &cp)
            .unwrap_err()
            .to_string()
            .contains("ciphertext"));
    }
}
