//! Delivery circuit directories: keys of [`DeliveryCircuit`] for prompts of a fixed number
//! of blocks, and delivery proofs with the EVM transcript.
//!
//! A directory holds `delivery.json` (the settings below), `circuit.json` (the artifact
//! header), `srs.bin`, `vk.bin`, `pk.bin`; the Solidity verifier generator takes it like any
//! circuit directory.

use super::delivery_circuit::{DeliveryCircuit, IDX_CT, IDX_ORDER, IDX_R, MAX_BLOCKS};
use super::listing::ListingSecret;
use super::{read, CiphertextFile, MarketError, OrderRef, PointJson};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trustml_babyjubjub::{Fr, Point};
use trustml_kit::artifact::keccak;
use trustml_kit::field::{from_hex as fr_from_hex, to_hex as fr_to_hex};
use trustml_kit::fs::write_json;
use trustml_kit::{keys, ArtifactHeader, Keys, ProofFile};
use trustml_srs::Srs;

/// Names the relation, so keys of an older circuit are never taken for this one.
pub const CIRCUIT: &str = "trustml-delivery/babyjubjub-poseidon/v1";
/// The artifact kind of a delivery directory.
pub const KIND: &str = "delivery";
/// Version of `delivery.json`.
pub const FORMAT_VERSION: u32 = 1;
/// Public inputs before the ciphertext: C, PK.x, PK.y, R.x, R.y, order id.
pub const HEADER: usize = IDX_CT;

/// `delivery.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliverySettings {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// [`CIRCUIT`].
    pub circuit: String,
    /// Prompt blocks (the listing model's number of inputs).
    pub blocks: usize,
    /// log2 of the rows.
    pub k: u32,
    /// Public inputs: [`HEADER`] + blocks.
    pub num_instances: usize,
}

impl DeliverySettings {
    /// The settings of a circuit for `blocks` blocks.
    pub fn new(blocks: usize) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            circuit: CIRCUIT.into(),
            blocks,
            k: DeliveryCircuit::min_k(blocks),
            num_instances: HEADER + blocks,
        }
    }

    /// Keccak-256 of the settings JSON: what keys and proofs carry.
    pub fn digest(&self) -> [u8; 32] {
        keccak(serde_json::to_string(self).expect("serialize").as_bytes())
    }

    /// [`Self::digest`] as `0x` hex.
    pub fn digest_hex(&self) -> String {
        trustml_kit::artifact::digest_hex(&self.digest())
    }
}

/// A delivery circuit directory.
#[derive(Clone, Debug)]
pub struct DeliveryDir {
    /// The directory.
    pub dir: PathBuf,
    /// Its settings.
    pub settings: DeliverySettings,
}

/// The file that marks a delivery directory.
pub const SETTINGS_FILE: &str = "delivery.json";

impl DeliveryDir {
    /// Creates `dir` (or reuses it) for prompts of `blocks` blocks.
    pub fn create(dir: &Path, blocks: usize) -> Result<Self, MarketError> {
        if blocks == 0 || blocks > MAX_BLOCKS {
            return Err(MarketError::WrongModel(format!(
                "a delivery circuit takes 1 to {MAX_BLOCKS} prompt blocks, not {blocks}"
            )));
        }
        std::fs::create_dir_all(dir).map_err(|source| MarketError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let d = Self {
            dir: dir.to_path_buf(),
            settings: DeliverySettings::new(blocks),
        };
        write_json(&dir.join(SETTINGS_FILE), &d.settings)?;
        d.header().write(dir)?;
        Ok(d)
    }

    /// Whether `dir` is a delivery directory.
    pub fn is_delivery_dir(dir: &Path) -> bool {
        dir.join(SETTINGS_FILE).is_file()
    }

    /// Loads `dir`, refusing settings of another version of the circuit.
    pub fn load(dir: &Path) -> Result<Self, MarketError> {
        let p = dir.join(SETTINGS_FILE);
        let settings: DeliverySettings = read(&p, "delivery settings")?;
        if settings != DeliverySettings::new(settings.blocks) {
            return Err(MarketError::Format {
                path: p.display().to_string(),
                what: "delivery settings",
                msg: format!(
                    "made for another version of the circuit (this build makes `{CIRCUIT}`); the \
                     delivery circuit must be set up again"
                ),
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
        })
    }

    /// The artifact header of this directory's circuit.
    pub fn header(&self) -> ArtifactHeader {
        ArtifactHeader::new(
            KIND,
            FORMAT_VERSION,
            self.settings.digest(),
            self.settings.k,
            self.settings.num_instances,
        )
    }

    fn shape_circuit(&self) -> DeliveryCircuit {
        // Keygen reads only the shape (the number of blocks); the values are placeholders.
        DeliveryCircuit {
            prompt: vec![Fr::zero(); self.settings.blocks],
            salt: Fr::zero(),
            r: Fr::one(),
            pk: Point::generator(),
            order_tag: Fr::zero(),
        }
    }

    /// Key generation into the directory.
    pub fn setup(&self, srs: &Srs, step: impl FnMut(&str)) -> Result<Keys, MarketError> {
        Ok(keys::setup(
            &self.dir,
            &self.header(),
            srs,
            &self.shape_circuit(),
            step,
        )?)
    }

    /// The directory's keys.
    pub fn keys(&self, with_pk: bool) -> Result<Keys, MarketError> {
        Ok(keys::load::<DeliveryCircuit>(
            &self.dir,
            &self.header(),
            (),
            with_pk,
        )?)
    }

    /// Proves the delivery of the listed prompt in `secret` to `buyer` for the order whose tag
    /// is `order_tag` ([`super::order_tag`]), with a fresh ephemeral key. Returns the proof
    /// file (its instances hold the ciphertext).
    pub fn prove(
        &self,
        keys: &Keys,
        secret: &ListingSecret,
        secret_path: &Path,
        buyer: &Point,
        order_tag: Fr,
    ) -> Result<ProofFile, MarketError> {
        let (blocks, salt, _) = secret.opening(secret_path)?;
        if blocks.len() != self.settings.blocks {
            return Err(MarketError::WrongModel(format!(
                "{} holds a prompt of {} blocks but {} proves deliveries of {} blocks; set up a \
                 delivery circuit of {} blocks",
                secret_path.display(),
                blocks.len(),
                self.dir.display(),
                self.settings.blocks,
                blocks.len()
            )));
        }
        if !buyer.is_valid_public_key() {
            return Err(MarketError::BadBuyerKey);
        }
        let circuit = DeliveryCircuit {
            prompt: blocks,
            salt,
            r: trustml_babyjubjub::random_scalar(rand::rngs::OsRng),
            pk: *buyer,
            order_tag,
        };
        let instances = circuit.public_inputs();
        let proof = keys::prove(keys, circuit, &instances)?;
        Ok(ProofFile::new(
            &self.header(),
            &instances,
            &proof,
            vec![],
            keys.insecure_srs,
        ))
    }

    /// Checks a delivery proof file against the directory's keys.
    pub fn verify(&self, keys: &Keys, pf: &ProofFile, path: &Path) -> Result<bool, MarketError> {
        Ok(pf.verify(&self.header(), keys, path)?)
    }
}

/// A delivery proved from files: loads the directory's keys and the listing secret at
/// `secret`, proves for `buyer` and `order` (its tag: chain, marketplace and id), writes the
/// proof to `output` (default `DIR/delivery-ORDER.json`). Returns the proof and where it was
/// written.
pub fn prove_delivery(
    dir: &Path,
    secret: &Path,
    buyer: &Point,
    order: &OrderRef,
    output: Option<PathBuf>,
) -> Result<(ProofFile, PathBuf), MarketError> {
    let d = DeliveryDir::load(dir)?;
    let s = ListingSecret::read(secret)?;
    let keys = d.keys(true)?;
    let pf = d.prove(&keys, &s, secret, buyer, order.tag())?;
    let out = output.unwrap_or_else(|| dir.join(format!("delivery-{}.json", order.order_id)));
    write_json(&out, &pf)?;
    Ok((pf, out))
}

impl CiphertextFile {
    /// The ciphertext of a delivery proof for `order` to the buyer key `buyer`; an error when
    /// the proof is not a delivery proof or was made for another order (or marketplace, or
    /// chain) or buyer (so no gas is spent on a delivery the contract would refuse).
    pub fn for_order(
        pf: &ProofFile,
        path: &Path,
        order: &OrderRef,
        buyer: &PointJson,
    ) -> Result<Self, MarketError> {
        let inst = &pf.instances;
        let mut ct = Self::from_instances(inst).ok_or_else(|| MarketError::Format {
            path: path.display().to_string(),
            what: "delivery proof",
            msg: "its public inputs are not a delivery's".into(),
        })?;
        let pk = super::delivery_circuit::IDX_PK;
        let same = |a: &str, b: &str| fr_from_hex(a).is_some() && fr_from_hex(a) == fr_from_hex(b);
        if !same(&ct.order_tag, &fr_to_hex(&order.tag())) {
            return Err(MarketError::WrongModel(format!(
                "{} was made for another order: its order tag is {}, but order {} of the \
                 marketplace 0x{} on chain {} has the tag {}",
                path.display(),
                ct.order_tag,
                order.order_id,
                hex::encode(order.market),
                order.chain_id,
                fr_to_hex(&order.tag())
            )));
        }
        if !same(&inst[pk], &buyer.x) || !same(&inst[pk + 1], &buyer.y) {
            return Err(MarketError::WrongModel(format!(
                "{} was made for another buyer key; order {}'s buyer key is ({}, {})",
                path.display(),
                order.order_id,
                buyer.x,
                buyer.y
            )));
        }
        ct.order_id = Some(order.order_id);
        Ok(ct)
    }

    /// The ciphertext a delivery proof's public inputs carry (the order id is unknown: only
    /// its tag is in the proof).
    pub fn from_instances(instances: &[String]) -> Option<Self> {
        if instances.len() <= HEADER {
            return None;
        }
        let tag = fr_from_hex(&instances[IDX_ORDER])?;
        Some(Self {
            order_id: None,
            order_tag: fr_to_hex(&tag),
            r: PointJson {
                x: instances[IDX_R].clone(),
                y: instances[IDX_R + 1].clone(),
            },
            blocks: instances[HEADER..].to_vec(),
        })
    }
}
