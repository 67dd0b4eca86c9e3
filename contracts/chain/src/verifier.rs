//! Generated verifiers on chain: deploy the raw verifier (bytecode from `verifier-gen`) and
//! a `ProofVerifierAdapter` in front of it, and check proofs through either.
//!
//! The raw verifier takes `instances ‖ proof` with no selector and returns empty data when
//! the proof is valid; applications call the adapter's
//! `verifyProof(bytes proof, uint256[] publicInputs)`, which rejects non-canonical inputs and
//! never reports success for an empty account.

use crate::bindings::ProofVerifierAdapter;
use crate::{CallOutcome, ChainError, Client, Result};
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolValue};
use serde::{Deserialize, Serialize};

/// Default gas the adapter gives the raw verifier (bounds what an invalid proof can burn).
pub const DEFAULT_VERIFIER_GAS_LIMIT: u64 = 3_000_000;

/// ABI-encoded `verifyProof(proof, publicInputs)` call.
pub fn encode_verify_proof(proof: &[u8], public_inputs: &[U256]) -> Vec<u8> {
    ProofVerifierAdapter::verifyProofCall {
        proof: Bytes::copy_from_slice(proof),
        publicInputs: public_inputs.to_vec(),
    }
    .abi_encode()
}

/// Decodes `verifyProof`'s return data.
pub fn decode_verify_proof(data: &[u8]) -> Result<bool> {
    ProofVerifierAdapter::verifyProofCall::abi_decode_returns(data)
        .map_err(|e| ChainError::Invalid(format!("bad return data 0x{}: {e}", hex::encode(data))))
}

/// The adapter's creation code (from forge's build output) with constructor arguments.
/// `proof_len` is the length of every proof of the circuit (verifier-gen's `proof_len`): the
/// adapter refuses any other length.
pub fn adapter_deploy_code(
    verifier: Address,
    num_public_inputs: usize,
    proof_len: usize,
    vk_digest: [u8; 32],
    verifier_gas_limit: u64,
) -> Vec<u8> {
    let mut code = ProofVerifierAdapter::BYTECODE.to_vec();
    code.extend(
        (
            verifier,
            U256::from(num_public_inputs),
            U256::from(proof_len),
            B256::from(vk_digest),
            U256::from(verifier_gas_limit),
        )
            .abi_encode_params(),
    );
    code
}

/// Where a verifier and its adapter were deployed (`DIR/deployment.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Deployment {
    /// The chain.
    pub chain_id: u64,
    /// Who deployed.
    pub deployer: Address,
    /// Raw verifier (contract `Halo2Verifier` from Verifier.sol).
    pub verifier: Address,
    /// `ProofVerifierAdapter` (implements IProofVerifier): what applications call.
    pub adapter: Address,
    /// Runtime code size of the raw verifier.
    pub verifier_code_size: usize,
    /// Runtime code size of the adapter.
    pub adapter_code_size: usize,
    /// Public inputs the adapter expects.
    pub num_public_inputs: usize,
    /// Proof length the adapter expects (bytes); 0 in records of adapters deployed before
    /// the length was pinned (their `verifyProof` is otherwise the same).
    #[serde(default)]
    pub proof_len: usize,
    /// The verifying key's digest the adapter reports (`vkDigest()`).
    pub vk_digest: String,
    /// Gas the adapter gives the raw verifier.
    pub verifier_gas_limit: u64,
    /// The raw verifier's deployment.
    pub verifier_tx: B256,
    /// The adapter's deployment.
    pub adapter_tx: B256,
    /// Gas of the raw verifier's deployment.
    pub verifier_deploy_gas: u64,
    /// Gas of the adapter's deployment.
    pub adapter_deploy_gas: u64,
}

/// Result of a `verifyProof` transaction.
#[derive(Clone, Debug)]
pub struct SentVerify {
    /// The transaction.
    pub tx: B256,
    /// Whether it succeeded.
    pub status: bool,
    /// The receipt's gasUsed (includes the 21,000 base cost and calldata).
    pub gas_used: u64,
    /// Calldata length.
    pub calldata_bytes: usize,
}

impl Client {
    /// Deploys the raw verifier (`creation` code) and an adapter for it (proofs of `proof_len`
    /// bytes, `num_public_inputs` inputs); checks both have code.
    pub async fn deploy_verifier(
        &self,
        creation: &[u8],
        num_public_inputs: usize,
        proof_len: usize,
        vk_digest: [u8; 32],
        verifier_gas_limit: u64,
    ) -> Result<Deployment> {
        let v = self.deploy_code(creation.to_vec(), "raw verifier").await?;
        let code = adapter_deploy_code(
            v.address,
            num_public_inputs,
            proof_len,
            vk_digest,
            verifier_gas_limit,
        );
        let a = self.deploy_code(code, "adapter").await?;
        Ok(Deployment {
            chain_id: self.chain_id(),
            deployer: self.sender()?,
            verifier: v.address,
            adapter: a.address,
            verifier_code_size: v.code_size,
            adapter_code_size: a.code_size,
            num_public_inputs,
            proof_len,
            vk_digest: format!("0x{}", hex::encode(vk_digest)),
            verifier_gas_limit,
            verifier_tx: v.tx,
            adapter_tx: a.tx,
            verifier_deploy_gas: v.gas_used,
            adapter_deploy_gas: a.gas_used,
        })
    }

    /// True iff the RAW verifier at `verifier` accepts: it has code, the call succeeded and
    /// returned empty data.
    pub async fn raw_verify(&self, verifier: Address, calldata: Vec<u8>, gas: u64) -> Result<bool> {
        if self.code_size(verifier).await? == 0 {
            return Ok(false);
        }
        Ok(matches!(
            self.eth_call(verifier, calldata, Some(gas)).await?,
            CallOutcome::Returned(d) if d.is_empty()
        ))
    }

    /// `adapter.verifyProof(proof, publicInputs)` by `eth_call`: Ok(true/false), or an error
    /// naming the revert (e.g. a non-canonical public input).
    pub async fn verify_call(
        &self,
        adapter: Address,
        proof: &[u8],
        public_inputs: &[U256],
    ) -> Result<bool> {
        if self.code_size(adapter).await? == 0 {
            return Err(ChainError::Invalid(format!(
                "no contract at {adapter} on chain {}",
                self.chain_id()
            )));
        }
        let data = encode_verify_proof(proof, public_inputs);
        match self.eth_call(adapter, data, None).await? {
            CallOutcome::Returned(d) => decode_verify_proof(&d),
            CallOutcome::Reverted(d) => Err(ChainError::Reverted {
                what: "verifyProof".into(),
                reason: crate::revert::describe(&d),
            }),
        }
    }

    /// Sends `verifyProof` as a transaction (for its gas; the result comes from
    /// [`Client::verify_call`]).
    pub async fn verify_send(
        &self,
        adapter: Address,
        proof: &[u8],
        public_inputs: &[U256],
    ) -> Result<SentVerify> {
        let data = encode_verify_proof(proof, public_inputs);
        let calldata_bytes = data.len();
        let tx = TransactionRequest::default()
            .with_to(adapter)
            .with_input(data);
        // Sent as is: a failed verification is a receipt with status 0, not an error.
        let pending = self
            .provider()
            .send_transaction(tx.with_from(self.sender()?))
            .await
            .map_err(|e| crate::revert::classify("verifyProof", e))?;
        let r = pending.get_receipt().await.map_err(|e| ChainError::Rpc {
            what: "receipt of verifyProof".into(),
            source: Box::new(e),
        })?;
        Ok(SentVerify {
            tx: r.transaction_hash,
            status: r.status(),
            gas_used: r.gas_used,
            calldata_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Deployment;

    /// `deployment.json` written before the adapter pinned the proof length still reads.
    #[test]
    fn old_deployment_records_read() {
        let old = r#"{"chain_id":31337,"deployer":"0x0000000000000000000000000000000000000001",
            "verifier":"0x0000000000000000000000000000000000000002",
            "adapter":"0x0000000000000000000000000000000000000003","verifier_code_size":1,
            "adapter_code_size":1,"num_public_inputs":2,"vk_digest":"0x00","verifier_gas_limit":1,
            "verifier_tx":"0x0000000000000000000000000000000000000000000000000000000000000000",
            "adapter_tx":"0x0000000000000000000000000000000000000000000000000000000000000000",
            "verifier_deploy_gas":1,"adapter_deploy_gas":1}"#;
        let d: Deployment = serde_json::from_str(old).unwrap();
        assert_eq!(d.proof_len, 0);
    }
}
