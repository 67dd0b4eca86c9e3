//! Delivery circuit directories: keys of [`trustml_prompt::DeliveryCircuit`] for prompts of a
//! fixed number of blocks, and delivery proofs with the EVM transcript.
//!
//! A directory holds `delivery.json` (the settings below), `srs.bin`, `vk.bin`, `pk.bin`;
//! `trustml evm gen-verifier` turns it into a Solidity verifier like a model directory.

use super::listing::ListingSecret;
use super::{read, CiphertextFile, PointJson, PromptError};
use crate::model::{write_atomic, FORMAT_VERSION};
use crate::proof::{self, fr_to_hex, Keys, ProofFile};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::{Path, PathBuf};
use trustml_prompt::{DeliveryCircuit, Fr, Point};
use trustml_srs::Srs;

/// Names the relation, so keys of an older circuit are never taken for this one.
pub const CIRCUIT: &str = "trustml-delivery/babyjubjub-poseidon/v1";
/// Public inputs before the ciphertext: C, PK.x, PK.y, R.x, R.y, order id.
pub const HEADER: usize = trustml_prompt::delivery::IDX_CT;

/// `delivery.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliverySettings {
    pub format_version: u32,
    pub circuit: String,
    /// Prompt blocks (the listing model's number of inputs).
    pub blocks: usize,
    pub k: u32,
    pub num_instances: usize,
}

impl DeliverySettings {
    pub fn new(blocks: usize) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            circuit: CIRCUIT.into(),
            blocks,
            k: DeliveryCircuit::min_k(blocks),
            num_instances: HEADER + blocks,
        }
    }

    pub fn digest(&self) -> [u8; 32] {
        Keccak256::digest(serde_json::to_string(self).expect("serialize").as_bytes()).into()
    }

    pub fn digest_hex(&self) -> String {
        format!("0x{}", hex::encode(self.digest()))
    }
}

/// A delivery circuit directory.
#[derive(Clone, Debug)]
pub struct DeliveryDir {
    pub dir: PathBuf,
    pub settings: DeliverySettings,
}

/// The file that marks a delivery directory.
pub const SETTINGS_FILE: &str = "delivery.json";

impl DeliveryDir {
    /// Creates `dir` (or reuses it) for prompts of `blocks` blocks.
    pub fn create(dir: &Path, blocks: usize) -> Result<Self, PromptError> {
        if blocks == 0 || blocks > trustml_prompt::delivery::MAX_BLOCKS {
            return Err(PromptError::WrongModel(format!(
                "a delivery circuit takes 1 to {} prompt blocks, not {blocks}",
                trustml_prompt::delivery::MAX_BLOCKS
            )));
        }
        std::fs::create_dir_all(dir).map_err(|source| PromptError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let settings = DeliverySettings::new(blocks);
        let p = dir.join(SETTINGS_FILE);
        write_atomic(
            &p,
            serde_json::to_string_pretty(&settings)
                .expect("serialize")
                .as_bytes(),
        )?;
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
        })
    }

    pub fn is_delivery_dir(dir: &Path) -> bool {
        dir.join(SETTINGS_FILE).is_file()
    }

    pub fn load(dir: &Path) -> Result<Self, PromptError> {
        let p = dir.join(SETTINGS_FILE);
        let settings: DeliverySettings = read(&p, "delivery settings")?;
        if settings != DeliverySettings::new(settings.blocks) {
            return Err(PromptError::Format {
                path: p.display().to_string(),
                what: "delivery settings",
                msg: format!(
                    "made for another version of the circuit (this build makes `{CIRCUIT}`); run \
                     `trustml prompt setup-delivery` again"
                ),
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
        })
    }

    fn shape_circuit(&self) -> DeliveryCircuit {
        // Keygen reads only the shape (the number of blocks); the values are placeholders.
        DeliveryCircuit {
            prompt: vec![Fr::zero(); self.settings.blocks],
            salt: Fr::zero(),
            r: Fr::one(),
            pk: Point::generator(),
            order_id: 0,
        }
    }

    pub fn setup(&self, srs: &Srs, step: impl FnMut(&str)) -> Result<Keys, PromptError> {
        Ok(proof::setup_circuit(
            &self.dir,
            &self.settings.digest(),
            self.settings.k,
            srs,
            &self.shape_circuit(),
            step,
        )?)
    }

    pub fn keys(&self, with_pk: bool) -> Result<Keys, PromptError> {
        Ok(proof::load_circuit_keys::<DeliveryCircuit>(
            &self.dir,
            &self.settings.digest(),
            self.settings.k,
            (),
            with_pk,
        )?)
    }

    /// Proves the delivery of the listed prompt in `secret` to `buyer` for `order_id`,
    /// with a fresh ephemeral key. Returns the proof file (its instances hold the ciphertext).
    pub fn prove(
        &self,
        keys: &Keys,
        secret: &ListingSecret,
        secret_path: &Path,
        buyer: &Point,
        order_id: u64,
    ) -> Result<ProofFile, PromptError> {
        let (blocks, salt, _) = secret.opening(secret_path)?;
        if blocks.len() != self.settings.blocks {
            return Err(PromptError::WrongModel(format!(
                "{} holds a prompt of {} blocks but {} proves deliveries of {} blocks; run \
                 `trustml prompt setup-delivery --blocks {}`",
                secret_path.display(),
                blocks.len(),
                self.dir.display(),
                self.settings.blocks,
                blocks.len()
            )));
        }
        if !buyer.is_valid_public_key() {
            return Err(PromptError::BadBuyerKey);
        }
        let circuit = DeliveryCircuit {
            prompt: blocks,
            salt,
            r: trustml_prompt::random_scalar(rand::rngs::OsRng),
            pk: *buyer,
            order_id,
        };
        let instances = circuit.public_inputs();
        let proof = proof::prove_circuit(keys, circuit, &instances)?;
        Ok(ProofFile {
            format_version: FORMAT_VERSION,
            settings_digest: self.settings.digest_hex(),
            instances: instances.iter().map(fr_to_hex).collect(),
            proof: format!("0x{}", hex::encode(proof)),
            outputs: vec![],
            insecure_srs: keys.insecure_srs,
        })
    }

    pub fn verify(&self, keys: &Keys, pf: &ProofFile, path: &Path) -> Result<bool, PromptError> {
        Ok(proof::verify_file(
            &self.settings.digest_hex(),
            self.settings.num_instances,
            keys,
            pf,
            path,
        )?)
    }
}

impl CiphertextFile {
    /// The ciphertext a delivery proof's public inputs carry.
    pub fn from_instances(instances: &[String]) -> Option<Self> {
        if instances.len() <= HEADER {
            return None;
        }
        let order = crate::proof::fr_from_hex(&instances[trustml_prompt::delivery::IDX_ORDER])?;
        let order_id = u64::try_from(num_u128(&order)?).ok()?;
        Some(Self {
            order_id,
            r: PointJson {
                x: instances[trustml_prompt::delivery::IDX_R].clone(),
                y: instances[trustml_prompt::delivery::IDX_R + 1].clone(),
            },
            blocks: instances[HEADER..].to_vec(),
        })
    }
}

fn num_u128(f: &Fr) -> Option<u128> {
    use halo2_proofs::halo2curves::ff::PrimeField;
    let repr = f.to_repr();
    let b = repr.as_ref();
    b[16..]
        .iter()
        .all(|&x| x == 0)
        .then(|| u128::from_le_bytes(b[..16].try_into().expect("16 bytes")))
}
