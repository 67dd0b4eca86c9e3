//! The artifact header every circuit directory carries (`DIR/circuit.json`).
//!
//! It says which circuit a directory's keys belong to — kind, settings format version,
//! settings digest, k and the number of public inputs — so generic tools (`verify`, the
//! Solidity verifier generator, deployment) handle any circuit without knowing its kind's
//! settings. The kind's own settings file (e.g. `settings.json`) stays the source of truth:
//! its digest is the header's, and loading a directory checks that they agree.

use crate::{fs::write_json, KitError};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::Path;

/// The header's file name inside a circuit directory.
pub const HEADER_FILE: &str = "circuit.json";

/// What a circuit directory is (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactHeader {
    /// The circuit kind (e.g. `model`, `delivery`): which loader reads the directory.
    pub kind: String,
    /// Format version of the kind's settings.
    pub format_version: u32,
    /// `0x` + Keccak-256 of what the keys depend on; keys and proofs carry it.
    pub settings_digest: String,
    /// log2 of the number of rows.
    pub k: u32,
    /// Public inputs (one instance column).
    pub num_instances: usize,
}

impl ArtifactHeader {
    /// A header for `kind` with the given settings digest.
    pub fn new(
        kind: &str,
        format_version: u32,
        digest: [u8; 32],
        k: u32,
        num_instances: usize,
    ) -> Self {
        Self {
            kind: kind.into(),
            format_version,
            settings_digest: digest_hex(&digest),
            k,
            num_instances,
        }
    }

    /// The digest as bytes.
    pub fn digest(&self) -> [u8; 32] {
        digest_from_hex(&self.settings_digest).unwrap_or([0; 32])
    }

    /// Reads `DIR/circuit.json`.
    pub fn read(dir: &Path) -> Result<Self, KitError> {
        let path = dir.join(HEADER_FILE);
        let text = std::fs::read_to_string(&path).map_err(KitError::io(&path))?;
        let h: Self = serde_json::from_str(&text).map_err(|e| KitError::BadHeader {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        if h.settings_digest.len() != 66 || hex::decode(&h.settings_digest[2..]).is_err() {
            return Err(KitError::BadHeader {
                path: path.display().to_string(),
                msg: format!(
                    "settings_digest {} is not 0x + 64 hex digits",
                    h.settings_digest
                ),
            });
        }
        Ok(h)
    }

    /// Whether `dir` has a header.
    pub fn exists(dir: &Path) -> bool {
        dir.join(HEADER_FILE).is_file()
    }

    /// Writes `DIR/circuit.json`.
    pub fn write(&self, dir: &Path) -> Result<(), KitError> {
        write_json(&dir.join(HEADER_FILE), self)
    }
}

/// `0x` + hex of a digest.
pub fn digest_hex(d: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(d))
}

/// The 32 bytes of a [`digest_hex`] string (`0x` optional); `None` if it is not one.
pub fn digest_from_hex(s: &str) -> Option<[u8; 32]> {
    hex::decode(s.trim_start_matches("0x"))
        .ok()
        .and_then(|b| b.try_into().ok())
}

/// Keccak-256 of `bytes`.
pub fn keccak(bytes: &[u8]) -> [u8; 32] {
    Keccak256::digest(bytes).into()
}
