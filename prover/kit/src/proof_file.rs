//! The proof file every circuit writes (`proof.json`, `delivery-N.json`, …).

use crate::artifact::ArtifactHeader;
use crate::field::{from_hex, to_hex, Fr};
use crate::keys::{verify_raw, Keys};
use crate::KitError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the proof file format.
pub const PROOF_FORMAT_VERSION: u32 = 1;

/// A proven tensor, readable: its dequantized values and the field elements the proof fixes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OutputTensor {
    /// The tensor's name (e.g. the ONNX output).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Dequantized values.
    pub values: Vec<f64>,
    /// The field elements, as decimal strings (negatives wrap mod r).
    pub field: Vec<String>,
}

/// A proof and its public inputs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProofFile {
    /// [`PROOF_FORMAT_VERSION`].
    pub format_version: u32,
    /// Digest of the circuit settings the proof is for.
    pub settings_digest: String,
    /// Public inputs, hex, in circuit order.
    pub instances: Vec<String>,
    /// The proof bytes, hex.
    pub proof: String,
    /// Readable proven outputs (models; empty for other circuits).
    pub outputs: Vec<OutputTensor>,
    /// Set when the keys came from an insecure development SRS.
    #[serde(default)]
    pub insecure_srs: bool,
}

impl ProofFile {
    /// A proof file for the circuit of `header`.
    pub fn new(
        header: &ArtifactHeader,
        instances: &[Fr],
        proof: &[u8],
        outputs: Vec<OutputTensor>,
        insecure_srs: bool,
    ) -> Self {
        Self {
            format_version: PROOF_FORMAT_VERSION,
            settings_digest: header.settings_digest.clone(),
            instances: instances.iter().map(to_hex).collect(),
            proof: format!("0x{}", hex::encode(proof)),
            outputs,
            insecure_srs,
        }
    }

    /// Reads and checks the format version.
    pub fn read(path: &Path) -> Result<Self, KitError> {
        let bad = |msg: String| KitError::BadProofFile {
            path: path.display().to_string(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(KitError::io(path))?;
        let pf: ProofFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if pf.format_version != PROOF_FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} (expected {PROOF_FORMAT_VERSION})",
                pf.format_version
            )));
        }
        Ok(pf)
    }

    /// The public inputs as field elements (`path` names the file in errors).
    pub fn instances_fr(&self, path: &Path) -> Result<Vec<Fr>, KitError> {
        self.instances
            .iter()
            .map(|s| {
                from_hex(s).ok_or_else(|| KitError::BadProofFile {
                    path: path.display().to_string(),
                    msg: format!(
                        "public input {s} is not a field element below the BN254 scalar modulus"
                    ),
                })
            })
            .collect()
    }

    /// The proof bytes.
    pub fn proof_bytes(&self, path: &Path) -> Result<Vec<u8>, KitError> {
        hex::decode(self.proof.trim_start_matches("0x")).map_err(|e| KitError::BadProofFile {
            path: path.display().to_string(),
            msg: format!("proof is not hex: {e}"),
        })
    }

    /// The public inputs and proof bytes, once the file is known to belong to the circuit
    /// described by `header` (its digest and instance count; errors otherwise).
    pub fn checked_parts(
        &self,
        header: &ArtifactHeader,
        path: &Path,
    ) -> Result<(Vec<Fr>, Vec<u8>), KitError> {
        if self.settings_digest != header.settings_digest {
            return Err(KitError::ProofForOtherCircuit {
                found: self.settings_digest.clone(),
                expected: header.settings_digest.clone(),
            });
        }
        let instances = self.instances_fr(path)?;
        if instances.len() != header.num_instances {
            return Err(KitError::InstanceCount {
                expected: header.num_instances,
                got: instances.len(),
            });
        }
        Ok((instances, self.proof_bytes(path)?))
    }

    /// Checks this proof against the keys of the circuit described by `header`: the digest
    /// and instance count first (errors), then the proof itself (`Ok(false)` if invalid).
    pub fn verify(
        &self,
        header: &ArtifactHeader,
        keys: &Keys,
        path: &Path,
    ) -> Result<bool, KitError> {
        let (instances, proof) = self.checked_parts(header, path)?;
        Ok(verify_raw(&keys.params, &keys.vk, &instances, &proof))
    }
}
