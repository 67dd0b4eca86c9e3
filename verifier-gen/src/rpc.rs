//! Deploying verifiers and checking proofs over JSON-RPC (Anvil or any node), with alloy.
//! Functions are blocking (each runs a small tokio runtime).

use crate::{CompiledContract, Error, Result};
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use alloy::sol_types::{SolCall, SolError, SolValue};
use serde::{Deserialize, Serialize};
use std::future::Future;

pub use alloy::primitives::{Address as EvmAddress, U256 as EvmU256};

/// Anvil's first development account (only used when the chain id is 31337).
pub const ANVIL_DEV_KEY: &str =
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub const ANVIL_CHAIN_ID: u64 = 31337;

sol! {
    interface IProofVerifier {
        function verifyProof(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool);
    }
    error VerifierHasNoCode(address verifier);
    error ZeroGasLimit();
    error PublicInputCountMismatch(uint256 expected, uint256 got);
    error PublicInputNotInField(uint256 index, uint256 value);
    error InsufficientGasForVerifier(uint256 gasLimit);
}

pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}

pub(crate) fn rpc_err(e: impl std::fmt::Display) -> Error {
    Error::Rpc(e.to_string())
}

pub(crate) fn parse_url(url: &str) -> Result<reqwest_url::Url> {
    url.parse()
        .map_err(|e| Error::Invalid(format!("bad RPC URL {url}: {e}")))
}
mod reqwest_url {
    pub use alloy::transports::http::reqwest::Url;
}

/// Decodes the adapter's custom errors in revert data, for messages.
pub fn describe_revert(data: &[u8]) -> String {
    if let Ok(e) = PublicInputNotInField::abi_decode(data) {
        return format!("PublicInputNotInField(index {}, value {}): public inputs must be < the BN254 scalar modulus", e.index, e.value);
    }
    if let Ok(e) = PublicInputCountMismatch::abi_decode(data) {
        return format!(
            "PublicInputCountMismatch(expected {}, got {})",
            e.expected, e.got
        );
    }
    if let Ok(e) = InsufficientGasForVerifier::abi_decode(data) {
        return format!(
            "InsufficientGasForVerifier({}): give the call more gas",
            e.gasLimit
        );
    }
    if let Ok(e) = VerifierHasNoCode::abi_decode(data) {
        return format!("VerifierHasNoCode({})", e.verifier);
    }
    if data.is_empty() {
        "reverted without data".into()
    } else {
        format!("reverted with 0x{}", hex::encode(data))
    }
}

/// ABI-encoded `verifyProof(proof, publicInputs)` call.
pub fn encode_verify_proof(proof: &[u8], public_inputs: &[U256]) -> Vec<u8> {
    IProofVerifier::verifyProofCall {
        proof: Bytes::copy_from_slice(proof),
        publicInputs: public_inputs.to_vec(),
    }
    .abi_encode()
}

/// The adapter's creation code with constructor arguments appended.
pub fn adapter_deploy_code(
    adapter: &CompiledContract,
    verifier: Address,
    num_public_inputs: usize,
    vk_digest: [u8; 32],
    verifier_gas_limit: u64,
) -> Vec<u8> {
    let mut code = adapter.creation.clone();
    code.extend(
        (
            verifier,
            U256::from(num_public_inputs),
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
    pub chain_id: u64,
    pub deployer: Address,
    /// Raw verifier (contract `Halo2Verifier` from Verifier.sol).
    pub verifier: Address,
    /// `ProofVerifierAdapter` (implements IProofVerifier): what applications call.
    pub adapter: Address,
    pub verifier_code_size: usize,
    pub adapter_code_size: usize,
    pub num_public_inputs: usize,
    pub vk_digest: String,
    pub verifier_gas_limit: u64,
    pub verifier_tx: B256,
    pub adapter_tx: B256,
    pub verifier_deploy_gas: u64,
    pub adapter_deploy_gas: u64,
}

/// Resolves the signing key: the given one, else Anvil's dev key when the chain is 31337.
pub fn resolve_key(rpc_url: &str, key: Option<&str>) -> Result<PrivateKeySigner> {
    let key = match key {
        Some(k) => k.to_string(),
        None => {
            let chain = chain_id(rpc_url)?;
            if chain != ANVIL_CHAIN_ID {
                return Err(Error::Invalid(format!("chain id {chain} is not Anvil's (31337): pass --private-key or set TRUSTML_PRIVATE_KEY")));
            }
            ANVIL_DEV_KEY.to_string()
        }
    };
    key.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|e| Error::Invalid(format!("bad private key: {e}")))
}

pub fn chain_id(rpc_url: &str) -> Result<u64> {
    let url = parse_url(rpc_url)?;
    block_on(async move {
        ProviderBuilder::new()
            .connect_http(url)
            .get_chain_id()
            .await
            .map_err(rpc_err)
    })
}

/// Runtime code size at `addr`.
pub fn code_size(rpc_url: &str, addr: Address) -> Result<usize> {
    let url = parse_url(rpc_url)?;
    block_on(async move {
        Ok(ProviderBuilder::new()
            .connect_http(url)
            .get_code_at(addr)
            .await
            .map_err(rpc_err)?
            .len())
    })
}

/// Deploys `code`; returns the address, tx hash, gas used and runtime code size (checked > 0).
pub(crate) async fn deploy_code<P: Provider>(
    p: &P,
    code: Vec<u8>,
    what: &str,
) -> Result<(Address, B256, u64, usize)> {
    let tx = TransactionRequest::default().with_deploy_code(code);
    let receipt = p
        .send_transaction(tx)
        .await
        .map_err(rpc_err)?
        .get_receipt()
        .await
        .map_err(rpc_err)?;
    if !receipt.status() {
        return Err(Error::Rpc(format!(
            "deploying the {what} reverted (tx {})",
            receipt.transaction_hash
        )));
    }
    let addr = receipt
        .contract_address
        .ok_or_else(|| Error::Rpc(format!("no contract address in the {what}'s receipt")))?;
    let size = p.get_code_at(addr).await.map_err(rpc_err)?.len();
    if size == 0 {
        return Err(Error::Rpc(format!(
            "the {what} at {addr} has no code after deployment"
        )));
    }
    Ok((addr, receipt.transaction_hash, receipt.gas_used, size))
}

/// Deploys the raw verifier and an adapter for it; checks both have code.
pub fn deploy(
    rpc_url: &str,
    key: Option<&str>,
    verifier: &CompiledContract,
    adapter: &CompiledContract,
    num_public_inputs: usize,
    vk_digest: [u8; 32],
    verifier_gas_limit: u64,
) -> Result<Deployment> {
    let signer = resolve_key(rpc_url, key)?;
    let deployer = signer.address();
    let url = parse_url(rpc_url)?;
    block_on(async move {
        let p = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url);
        let chain_id = p.get_chain_id().await.map_err(rpc_err)?;
        let (v, vtx, vgas, vsize) =
            deploy_code(&p, verifier.creation.clone(), "raw verifier").await?;
        let code =
            adapter_deploy_code(adapter, v, num_public_inputs, vk_digest, verifier_gas_limit);
        let (a, atx, agas, asize) = deploy_code(&p, code, "adapter").await?;
        Ok(Deployment {
            chain_id,
            deployer,
            verifier: v,
            adapter: a,
            verifier_code_size: vsize,
            adapter_code_size: asize,
            num_public_inputs,
            vk_digest: crate::to_hex(&vk_digest),
            verifier_gas_limit,
            verifier_tx: vtx,
            adapter_tx: atx,
            verifier_deploy_gas: vgas,
            adapter_deploy_gas: agas,
        })
    })
}

/// Outcome of an `eth_call`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// Returned normally with this data.
    Returned(Vec<u8>),
    /// Reverted with this data.
    Reverted(Vec<u8>),
}

async fn call<P: Provider>(
    p: &P,
    to: Address,
    data: Vec<u8>,
    gas: Option<u64>,
) -> Result<CallOutcome> {
    let mut tx = TransactionRequest::default().with_to(to).with_input(data);
    if let Some(g) = gas {
        tx = tx.with_gas_limit(g);
    }
    match p.call(tx).await {
        Ok(b) => Ok(CallOutcome::Returned(b.to_vec())),
        Err(e) => match e.as_error_resp() {
            Some(resp) => Ok(CallOutcome::Reverted(
                resp.as_revert_data()
                    .map(|b| b.to_vec())
                    .unwrap_or_default(),
            )),
            None => Err(rpc_err(e)),
        },
    }
}

/// `eth_call` of arbitrary calldata (e.g. the raw verifier's), with a gas cap.
pub fn eth_call(
    rpc_url: &str,
    to: Address,
    data: Vec<u8>,
    gas: Option<u64>,
) -> Result<CallOutcome> {
    let url = parse_url(rpc_url)?;
    block_on(async move { call(&ProviderBuilder::new().connect_http(url), to, data, gas).await })
}

/// True iff the RAW verifier at `verifier` accepts: it has code, the call succeeded and
/// returned empty data.
pub fn raw_verify(rpc_url: &str, verifier: Address, calldata: Vec<u8>, gas: u64) -> Result<bool> {
    if code_size(rpc_url, verifier)? == 0 {
        return Ok(false);
    }
    Ok(
        matches!(eth_call(rpc_url, verifier, calldata, Some(gas))?, CallOutcome::Returned(d) if d.is_empty()),
    )
}

/// `adapter.verifyProof(proof, publicInputs)` by `eth_call`: Ok(true/false), or an error
/// describing the revert (e.g. a non-canonical public input).
pub fn verify_call(
    rpc_url: &str,
    adapter: Address,
    proof: &[u8],
    public_inputs: &[U256],
) -> Result<bool> {
    if code_size(rpc_url, adapter)? == 0 {
        return Err(Error::Rpc(format!(
            "no contract at {adapter} (wrong --address or chain?)"
        )));
    }
    match eth_call(
        rpc_url,
        adapter,
        encode_verify_proof(proof, public_inputs),
        None,
    )? {
        CallOutcome::Returned(d) => IProofVerifier::verifyProofCall::abi_decode_returns(&d)
            .map_err(|e| Error::Rpc(format!("bad return data 0x{}: {e}", hex::encode(&d)))),
        CallOutcome::Reverted(d) => Err(Error::Rpc(format!(
            "verifyProof reverted: {}",
            describe_revert(&d)
        ))),
    }
}

/// Result of a `verifyProof` transaction.
#[derive(Clone, Debug)]
pub struct SentVerify {
    pub tx: B256,
    pub status: bool,
    /// The receipt's gasUsed (includes the 21,000 base cost and calldata).
    pub gas_used: u64,
    pub calldata_bytes: usize,
}

/// Sends `verifyProof` as a transaction (for its gas; the result comes from [`verify_call`]).
pub fn verify_send(
    rpc_url: &str,
    key: Option<&str>,
    adapter: Address,
    proof: &[u8],
    public_inputs: &[U256],
) -> Result<SentVerify> {
    let signer = resolve_key(rpc_url, key)?;
    let url = parse_url(rpc_url)?;
    let data = encode_verify_proof(proof, public_inputs);
    let calldata_bytes = data.len();
    block_on(async move {
        let p = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(url);
        let tx = TransactionRequest::default()
            .with_to(adapter)
            .with_input(data);
        let r = p
            .send_transaction(tx)
            .await
            .map_err(rpc_err)?
            .get_receipt()
            .await
            .map_err(rpc_err)?;
        Ok(SentVerify {
            tx: r.transaction_hash,
            status: r.status(),
            gas_used: r.gas_used,
            calldata_bytes,
        })
    })
}

/// A field element's 32-byte big-endian word as a U256.
pub fn word_to_u256(w: [u8; 32]) -> U256 {
    U256::from_be_bytes(w)
}

/// Parses `0x…` as an address.
pub fn parse_address(s: &str) -> Result<Address> {
    s.parse()
        .map_err(|e| Error::Invalid(format!("bad address {s}: {e}")))
}
