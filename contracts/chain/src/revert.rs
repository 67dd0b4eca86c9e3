//! Revert data → words: the custom errors of every trustml contract, in one place.

use crate::bindings::{PromptMarketplace as M, ProofVerifierAdapter as A, VerifierRegistry as R};
use crate::ChainError;
use alloy::sol_types::SolInterface;

/// Names the custom error in `data` (with its arguments), trying every trustml contract.
pub fn describe(data: &[u8]) -> String {
    if let Ok(e) = A::ProofVerifierAdapterErrors::abi_decode(data) {
        return match e {
            A::ProofVerifierAdapterErrors::PublicInputNotInField(e) => format!(
                "PublicInputNotInField(index {}, value {}): public inputs must be < the BN254 scalar modulus",
                e.index, e.value
            ),
            A::ProofVerifierAdapterErrors::ProofLengthMismatch(e) => format!(
                "ProofLengthMismatch(expected {} bytes, got {}): not a proof of this circuit",
                e.expected, e.got
            ),
            A::ProofVerifierAdapterErrors::PublicInputCountMismatch(e) => format!(
                "PublicInputCountMismatch(expected {}, got {})",
                e.expected, e.got
            ),
            A::ProofVerifierAdapterErrors::InsufficientGasForVerifier(e) => format!(
                "InsufficientGasForVerifier({}): give the call more gas",
                e.gasLimit
            ),
            other => format!("{other:?}"),
        };
    }
    if let Ok(e) = M::PromptMarketplaceErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = R::VerifierRegistryErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if data.is_empty() {
        "reverted without data".into()
    } else {
        format!("reverted with 0x{}", hex::encode(data))
    }
}

/// A failed `eth_sendTransaction` / `eth_estimateGas`: a revert with its reason, or an RPC
/// error.
pub(crate) fn classify(what: &str, e: alloy::transports::TransportError) -> ChainError {
    match e.as_error_resp().and_then(|r| r.as_revert_data()) {
        Some(d) => ChainError::Reverted {
            what: what.into(),
            reason: describe(&d),
        },
        None => ChainError::Rpc {
            what: what.into(),
            source: Box::new(e),
        },
    }
}
