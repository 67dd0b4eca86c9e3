//! Image provenance on chain: `ImageProvenance` (registered cameras sign captures; proven
//! edits link an image hash to the one it was edited from) over a `VerifierRegistry` that
//! pins each edit circuit's verifier.
//!
//! * deploy: [`Client::deploy_provenance`] (registry + provenance, both owned by the sender),
//!   then per edit circuit [`Client::add_edit_circuit`] (generated verifier, adapter pinned
//!   to `2 + params` public inputs and the proof length, registered with circuit id = vk
//!   digest, named with its edit);
//! * the owner: [`Client::register_camera`];
//! * a camera: [`sign_capture`] (EIP-191 over [`capture_message`]`(H_0)`), anyone then
//!   [`Client::register_capture`];
//! * anyone: [`Client::submit_edit`] (`[parent, child, params…]` are rebuilt by the
//!   contract from the call); views [`Client::image_record`] and [`Client::provenance`].

use crate::bindings::{ImageProvenance as P, VerifierRegistry as R};
use crate::market::{event, sent, tx_to, view_err, CircuitArtifacts};
use crate::verifier::Deployment;
use crate::{ChainError, Client, Result};
use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use alloy::providers::DynProvider;
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync as _;
use alloy::sol_types::{SolCall, SolValue};
use serde::{Deserialize, Serialize};

pub use crate::bindings::ImageProvenance::Record;
pub use crate::market::Sent;

/// What [`Client::deploy_provenance`] made (written to a JSON file by the CLI).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProvenanceDeployment {
    /// The chain.
    pub chain_id: u64,
    /// Owner of both contracts.
    pub deployer: Address,
    /// The `VerifierRegistry`.
    pub registry: Address,
    /// The `ImageProvenance`.
    pub provenance: Address,
    /// Edit circuits added since: (circuit id, edit, verifier deployment).
    #[serde(default)]
    pub edits: Vec<EditCircuit>,
}

/// An edit circuit on chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EditCircuit {
    /// Its id (the vk digest).
    pub circuit_id: B256,
    /// The edit it proves, in words.
    pub edit: String,
    /// Its verifier and adapter.
    pub verifier: Deployment,
}

/// `keccak256(CAPTURE_TAG ‖ H)`: what a camera signs with EIP-191 (`personal_sign`).
pub fn capture_message(image_hash: U256) -> B256 {
    let tag = keccak256("trustml.img.capture.v1");
    keccak256((tag, image_hash).abi_encode_packed())
}

/// A camera's signature of a capture (65 bytes `r ‖ s ‖ v`).
pub fn sign_capture(camera: &PrivateKeySigner, image_hash: U256) -> Result<Bytes> {
    let sig = camera
        .sign_message_sync(capture_message(image_hash).as_slice())
        .map_err(|e| ChainError::Invalid(format!("signing the capture: {e}")))?;
    Ok(Bytes::from(sig.as_bytes().to_vec()))
}

impl Client {
    /// Deploys a `VerifierRegistry` and an `ImageProvenance` over it, both owned by the
    /// sender.
    pub async fn deploy_provenance(&self) -> Result<ProvenanceDeployment> {
        let me = self.sender()?;
        let mut code = R::BYTECODE.to_vec();
        code.extend(me.abi_encode());
        let registry = self.deploy_code(code, "VerifierRegistry").await?.address;
        let mut code = P::BYTECODE.to_vec();
        code.extend((me, registry).abi_encode_params());
        let provenance = self.deploy_code(code, "ImageProvenance").await?.address;
        Ok(ProvenanceDeployment {
            chain_id: self.chain_id(),
            deployer: me,
            registry,
            provenance,
            edits: vec![],
        })
    }

    /// Deploys an edit circuit's verifier and adapter, registers it (circuit id = vk digest)
    /// and names it as an edit circuit proving `edit` (owner of both contracts only).
    pub async fn add_edit_circuit(
        &self,
        d: &mut ProvenanceDeployment,
        circuit: CircuitArtifacts<'_>,
        edit: &str,
        verifier_gas_limit: u64,
    ) -> Result<EditCircuit> {
        if circuit.num_public_inputs < 2 {
            return Err(ChainError::Invalid(format!(
                "an edit circuit has public inputs [H_in, H_out, params…], not {}",
                circuit.num_public_inputs
            )));
        }
        let (id, v) = self
            .deploy_and_register(d.registry, &circuit, verifier_gas_limit)
            .await?;
        let call = P::addEditCircuitCall {
            circuitId: id,
            edit: edit.to_string(),
        };
        self.send(
            tx_to(d.provenance, call.abi_encode(), U256::ZERO),
            "addEditCircuit",
        )
        .await?;
        let e = EditCircuit {
            circuit_id: id,
            edit: edit.to_string(),
            verifier: v,
        };
        d.edits.push(e.clone());
        Ok(e)
    }

    /// `registerCamera` (owner only).
    pub async fn register_camera(&self, d: &ProvenanceDeployment, camera: Address) -> Result<Sent> {
        let call = P::registerCameraCall { camera };
        let r = self
            .send(
                tx_to(d.provenance, call.abi_encode(), U256::ZERO),
                "registerCamera",
            )
            .await?;
        Ok(sent(&r, None))
    }

    /// `registerCapture`: records `image_hash` signed by a registered camera.
    pub async fn register_capture(
        &self,
        d: &ProvenanceDeployment,
        image_hash: U256,
        signature: Bytes,
    ) -> Result<Sent> {
        let call = P::registerCaptureCall {
            imageHash: image_hash,
            signature,
        };
        let r = self
            .send(
                tx_to(d.provenance, call.abi_encode(), U256::ZERO),
                "registerCapture",
            )
            .await?;
        event::<P::CaptureRecorded>(&r).ok_or_else(|| {
            ChainError::Invalid(format!(
                "no CaptureRecorded event in {}",
                r.transaction_hash
            ))
        })?;
        Ok(sent(&r, None))
    }

    /// `submitEdit`: records `child` as `parent` edited by `circuit_id` with `params`, proven
    /// by `proof` (the contract verifies `[parent, child, params…]` through the pinned
    /// verifier).
    pub async fn submit_edit(
        &self,
        d: &ProvenanceDeployment,
        parent: U256,
        child: U256,
        circuit_id: B256,
        params: Vec<U256>,
        proof: Vec<u8>,
    ) -> Result<Sent> {
        let call = P::submitEditCall {
            parent,
            child,
            circuitId: circuit_id,
            params,
            proof: proof.into(),
        };
        let r = self
            .send(
                tx_to(d.provenance, call.abi_encode(), U256::ZERO),
                "submitEdit",
            )
            .await?;
        event::<P::EditRecorded>(&r).ok_or_else(|| {
            ChainError::Invalid(format!("no EditRecorded event in {}", r.transaction_hash))
        })?;
        Ok(sent(&r, None))
    }

    fn prov(&self, d: &ProvenanceDeployment) -> P::ImageProvenanceInstance<&DynProvider> {
        P::new(d.provenance, self.provider())
    }

    /// The record of `image_hash` (`recordedAt == 0`: none) and its edit's parameters.
    pub async fn image_record(
        &self,
        d: &ProvenanceDeployment,
        image_hash: U256,
    ) -> Result<(Record, Vec<U256>)> {
        let r = self
            .prov(d)
            .record(image_hash)
            .call()
            .await
            .map_err(|e| view_err("record", e))?;
        Ok((r.r, r.params))
    }

    /// The hashes from `image_hash` back to its capture and the camera that signed it.
    pub async fn provenance(
        &self,
        d: &ProvenanceDeployment,
        image_hash: U256,
    ) -> Result<(Vec<U256>, Address)> {
        let r = self
            .prov(d)
            .provenance(image_hash)
            .call()
            .await
            .map_err(|e| view_err("provenance", e))?;
        Ok((r.chain, r.camera))
    }

    /// The edit circuit `circuit_id` proves ("" if it is not one).
    pub async fn edit_of(&self, d: &ProvenanceDeployment, circuit_id: B256) -> Result<String> {
        self.prov(d)
            .editOf(circuit_id)
            .call()
            .await
            .map_err(|e| view_err("editOf", e))
    }
}
