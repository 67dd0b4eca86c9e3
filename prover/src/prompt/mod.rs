//! Buyer-side files of the prompt marketplace: a Baby Jubjub key pair and the decryption
//! of a delivered prompt (see `trustml-prompt` for the curve, the encryption and the
//! delivery circuit).

use crate::proof::{fr_from_hex, fr_to_hex};
use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;
use trustml_prompt::{decode_tokens, decrypt, Ciphertext, Fr, Point};

pub mod delivery;
pub mod listing;

#[derive(Debug, Error)]
pub enum PromptError {
    #[error(transparent)]
    Proof(#[from] crate::proof::ProofError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error("{0}")]
    WrongModel(String),
    #[error("{0} exists; refusing to overwrite it (move it away first)")]
    WouldOverwrite(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid {what} file: {msg}")]
    Format {
        path: String,
        what: &'static str,
        msg: String,
    },
    #[error("the ciphertext's ephemeral key R is not a valid Baby Jubjub point")]
    BadPoint,
    #[error("the buyer's public key is not a valid Baby Jubjub key (off the curve, small order or outside the prime-order subgroup); ask the buyer for the `public` of `trustml prompt keygen`")]
    BadBuyerKey,
    #[error("decryption failed: {0}")]
    Decrypt(String),
}

/// A point as JSON: two field elements in hex.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PointJson {
    pub x: String,
    pub y: String,
}

impl PointJson {
    pub fn of(p: &Point) -> Self {
        Self {
            x: fr_to_hex(&p.x),
            y: fr_to_hex(&p.y),
        }
    }

    pub fn point(&self) -> Option<Point> {
        let p = Point {
            x: fr_from_hex(&self.x)?,
            y: fr_from_hex(&self.y)?,
        };
        p.is_valid_public_key().then_some(p)
    }
}

/// `trustml prompt keygen`'s file. The secret decrypts every prompt bought with the key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyFile {
    pub secret: String,
    pub public: PointJson,
}

/// A delivered prompt, as read from the marketplace's `Delivered` event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CiphertextFile {
    pub order_id: u64,
    pub r: PointJson,
    pub blocks: Vec<String>,
}

pub(crate) fn read<T: for<'de> Deserialize<'de>>(
    path: &Path,
    what: &'static str,
) -> Result<T, PromptError> {
    let text = std::fs::read_to_string(path).map_err(|source| PromptError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| PromptError::Format {
        path: path.display().to_string(),
        what,
        msg: e.to_string(),
    })
}

/// A fresh key pair.
pub fn keygen() -> KeyFile {
    let (sk, pk) = trustml_prompt::keygen(rand::rngs::OsRng);
    KeyFile {
        secret: fr_to_hex(&sk),
        public: PointJson::of(&pk),
    }
}

/// Field elements as signed integers (`p − x` is `−x`), when all are below 2^62 in size.
pub fn small_ints(v: &[Fr]) -> Option<Vec<i64>> {
    use halo2_proofs::halo2curves::ff::PrimeField;
    let small = |f: &Fr| {
        let repr = f.to_repr();
        let b = repr.as_ref();
        (b[8..].iter().all(|&x| x == 0) && b[7] < 0x40)
            .then(|| u64::from_le_bytes(b[..8].try_into().expect("8 bytes")) as i64)
    };
    v.iter()
        .map(|f| small(f).or_else(|| small(&-*f).map(|x| -x)))
        .collect()
}

/// Decrypted blocks as model input values (a block is a quantized input `round(x·2^scale)`).
pub fn blocks_to_input(ints: &[i64], scale_bits: u32) -> Vec<f64> {
    let scale = (1u64 << scale_bits) as f64;
    ints.iter().map(|&v| v as f64 / scale).collect()
}

impl CiphertextFile {
    /// Reads a ciphertext file, or the ciphertext in a delivery proof file's public inputs.
    pub fn read(path: &Path) -> Result<Self, PromptError> {
        if let Ok(pf) = read::<crate::proof::ProofFile>(path, "delivery proof") {
            return Self::from_instances(&pf.instances).ok_or_else(|| PromptError::Format {
                path: path.display().to_string(),
                what: "ciphertext",
                msg: "this proof file is not a delivery proof".into(),
            });
        }
        read(path, "ciphertext")
    }

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
) -> Result<(Vec<Fr>, Option<Vec<u16>>), PromptError> {
    let c = CiphertextFile::read(ciphertext)?;
    decrypt_with_key_file(key, &c, ciphertext)
}

/// Decrypts `c` with the key file at `key`; `source` names where `c` came from in errors.
pub fn decrypt_with_key_file(
    key: &Path,
    c: &CiphertextFile,
    source: &Path,
) -> Result<(Vec<Fr>, Option<Vec<u16>>), PromptError> {
    let k: KeyFile = read(key, "key")?;
    let bad = |what: &'static str, path: &Path, v: &str| PromptError::Format {
        path: path.display().to_string(),
        what,
        msg: format!("{v} is not a field element"),
    };
    let sk = fr_from_hex(&k.secret).ok_or_else(|| bad("key", key, &k.secret))?;
    let r_point = c.r.point().ok_or(PromptError::BadPoint)?;
    let blocks = c
        .blocks
        .iter()
        .map(|b| fr_from_hex(b).ok_or_else(|| bad("ciphertext", source, b)))
        .collect::<Result<Vec<_>, _>>()?;
    let plain = decrypt(&Ciphertext { r_point, blocks }, &sk, c.order_id)
        .map_err(|e| PromptError::Decrypt(e.to_string()))?;
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
        let r = trustml_prompt::random_scalar(rand::rngs::OsRng);
        let ct =
            trustml_prompt::encrypt(&trustml_prompt::encode_tokens(&tokens), &r, &pk, 42).unwrap();
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
