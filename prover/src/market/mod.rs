//! The prompt marketplace's proofs and files, with no chain access:
//!
//! * [`listing`] — the listing proof ("proof of prompt") and the seller's secret;
//! * [`delivery`] — delivery circuit directories and delivery proofs; the circuit itself is
//!   [`delivery_circuit`];
//! * here — buyer key files, ciphertext files and decryption, and [`order_tag`] (the order
//!   input of a delivery proof).
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
pub mod metadata;

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
    /// A text prompt or completion that the model's vocabulary cannot read.
    #[error(transparent)]
    Text(#[from] crate::text::TextError),
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
    /// The work was cancelled (a cancelled server job).
    #[error("cancelled")]
    Cancelled,
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

/// The order input of a delivery proof, which is also the encryption nonce: what the
/// marketplace's `orderTag(orderId)` view returns,
/// `uint256(keccak256(abi.encode(chainid, market, orderId))) mod r`. It binds a delivery proof
/// to one order of one marketplace deployment on one chain.
pub fn order_tag(chain_id: u64, market: [u8; 20], order_id: u64) -> Fr {
    // abi.encode(uint256, address, uint256): three 32-byte big-endian words.
    let mut words = [0u8; 96];
    words[24..32].copy_from_slice(&chain_id.to_be_bytes());
    words[44..64].copy_from_slice(&market);
    words[88..96].copy_from_slice(&order_id.to_be_bytes());
    let h = trustml_kit::artifact::keccak(&words);
    // The 256-bit big-endian hash, reduced mod r (little-endian, zero-extended to 512 bits).
    let mut wide = [0u8; 64];
    for (i, b) in h.iter().rev().enumerate() {
        wide[i] = *b;
    }
    <Fr as halo2_proofs::halo2curves::ff::FromUniformBytes<64>>::from_uniform_bytes(&wide)
}

/// An order of a marketplace deployment: what a delivery proof is made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRef {
    /// The chain id.
    pub chain_id: u64,
    /// The `PromptMarketplace` address.
    pub market: [u8; 20],
    /// The order id.
    pub order_id: u64,
}

impl OrderRef {
    /// [`order_tag`] of this order.
    pub fn tag(&self) -> Fr {
        order_tag(self.chain_id, self.market, self.order_id)
    }
}

/// A delivered prompt, as read from the marketplace's `Delivered` event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CiphertextFile {
    /// The order id, when known (a ciphertext read from a delivery proof only knows its tag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<u64>,
    /// The order's tag ([`order_tag`]): the encryption nonce, hex.
    pub order_tag: String,
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

/// The message a buyer's wallet signs (EIP-191) to derive its Baby Jubjub key for one
/// marketplace: [`key_from_signature`] of the signature. The same wallet gets the same key on
/// every device (wallets sign deterministically, RFC 6979), so nothing secret is stored.
pub fn key_message(chain_id: u64, market: [u8; 20]) -> String {
    format!(
        "trustml: derive my buyer decryption key\n\nChain ID: {chain_id}\nMarketplace: 0x{}\n\n\
         Signing this sends no transaction. Sign it only on the trustml site: anyone with this \
         signature can decrypt the prompts you buy.",
        hex::encode(market)
    )
}

/// The buyer key derived from a wallet's signature of [`key_message`]:
/// `sk = keccak256("trustml/buyer-key/v1" ‖ signature ‖ counter)` with its top 5 bits cleared,
/// for the first counter `0, 1, …` that gives `0 < sk < l`; `PK = sk·B8`. The browser does the
/// same (checked against `frontend/vectors/crypto.json`).
pub fn key_from_signature(signature: &[u8]) -> KeyFile {
    use sha3::{Digest, Keccak256};
    let l = trustml_kit::field::to_be_bytes(&trustml_babyjubjub::curve::subgroup_order());
    for counter in 0u8..=255 {
        let mut h: [u8; 32] = Keccak256::new()
            .chain_update(b"trustml/buyer-key/v1")
            .chain_update(signature)
            .chain_update([counter])
            .finalize()
            .into();
        h[0] &= 0x07;
        if h.iter().any(|&b| b != 0) && h < l {
            let sk = trustml_kit::field::from_be_bytes(&h).expect("251 bits are below r");
            return KeyFile {
                secret: fr_to_hex(&sk),
                public: PointJson::of(&Point::generator().mul(&sk)),
            };
        }
    }
    unreachable!("each try succeeds with probability l / 2^251 ≈ 0.76")
}

/// The prompt of a listing of `model` from its decrypted blocks (the packed words of its
/// quantized inputs, [`crate::packing`]); `None` when they are not such words (a wrong key
/// or order decrypts to other field elements).
pub fn unpack_prompt(plain: &[Fr], model: &crate::model::CompiledModel) -> Option<Vec<i64>> {
    let n: usize = model.program.inputs.iter().map(|(_, w)| w.len()).sum();
    crate::packing::InputPacking::of(&model.program)
        .unpack(plain, n)
        .map(|v| v.into_iter().map(|x| x as i64).collect())
}

/// Quantized inputs as model input values (a value is `round(x·2^scale)`).
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

    /// The file form of a ciphertext for the order with this tag (and id, if known).
    pub fn of(ct: &Ciphertext, order_tag: Fr, order_id: Option<u64>) -> Self {
        Self {
            order_id,
            order_tag: fr_to_hex(&order_tag),
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
    let nonce = fr_from_hex(&c.order_tag).ok_or_else(|| bad("ciphertext", source, &c.order_tag))?;
    let r_point = c.r.point().ok_or(MarketError::BadPoint)?;
    let blocks = c
        .blocks
        .iter()
        .map(|b| fr_from_hex(b).ok_or_else(|| bad("ciphertext", source, b)))
        .collect::<Result<Vec<_>, _>>()?;
    let plain = decrypt(&Ciphertext { r_point, blocks }, &sk, nonce)
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
        let tag = order_tag(31337, [7; 20], 42);
        let ct =
            trustml_babyjubjub::encrypt(&trustml_babyjubjub::encode_tokens(&tokens), &r, &pk, tag)
                .unwrap();
        let cp = dir.path().join("ct.json");
        std::fs::write(
            &cp,
            serde_json::to_string(&CiphertextFile::of(&ct, tag, Some(42))).unwrap(),
        )
        .unwrap();
        let (_, got) = decrypt_files(&kp, &cp).unwrap();
        assert_eq!(got, Some(tokens.clone()));

        // Another order (or deployment, or key) yields garbage, not the prompt.
        for other in [
            order_tag(31337, [7; 20], 43),
            order_tag(31337, [8; 20], 42),
            order_tag(1, [7; 20], 42),
        ] {
            std::fs::write(
                &cp,
                serde_json::to_string(&CiphertextFile::of(&ct, other, Some(42))).unwrap(),
            )
            .unwrap();
            let (_, got) = decrypt_files(&kp, &cp).unwrap();
            assert_ne!(got, Some(tokens.clone()));
        }
        std::fs::write(&cp, "{\"order_id\": 1}").unwrap();
        assert!(decrypt_files(&kp, &cp)
            .unwrap_err()
            .to_string()
            .contains("ciphertext"));
    }

    /// `cast keccak $(cast abi-encode "f(uint256,address,uint256)" 31337 0x1111…1111 1)`,
    /// reduced mod r.
    const TAG_31337_11_1: &str =
        "0x08318ce76ce08adb3b81d5da5d0d9e7b890534783947e02a4b5cc45f0e7e163f";

    /// The tag is keccak256(abi.encode(chainid, market, orderId)) mod r (vector computed with
    /// Foundry's cast; the Anvil sale checks it against the contract's `orderTag`).
    #[test]
    fn order_tag_is_keccak_of_abi_encode_mod_r() {
        let t = order_tag(31337, [0x11; 20], 1);
        assert_eq!(fr_to_hex(&t), TAG_31337_11_1);
        assert_ne!(order_tag(31337, [0x11; 20], 2), t);
        assert_ne!(order_tag(1, [0x11; 20], 1), t);
        assert_ne!(order_tag(31337, [0x12; 20], 1), t);
    }
}
