//! Revert data → words: the custom errors of every trustml contract, in one place.

use crate::bindings::{
    AuditEscrow as AE, AuditModelRegistry as AR, ImageProvenance as IP, PromptMarketplace as M,
    ProofVerifierAdapter as A, TrainingRegistry as T, VerifierRegistry as R,
};
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
    if let Ok(e) = AE::AuditEscrowErrors::abi_decode(data) {
        return audit_escrow(e);
    }
    if let Ok(e) = AR::AuditModelRegistryErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = IP::ImageProvenanceErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = T::TrainingRegistryErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if data.is_empty() {
        "reverted without data".into()
    } else {
        format!("reverted with 0x{}", hex::encode(data))
    }
}

fn status_name(s: u8) -> String {
    match s {
        0 => "None".into(),
        1 => "Created".into(),
        2 => "Accepted".into(),
        3 => "Proving".into(),
        4 => "Finalized".into(),
        s => format!("status {s}"),
    }
}

/// `AuditEscrow`'s errors: the ones a user meets with what they mean, the rest by name.
fn audit_escrow(e: AE::AuditEscrowErrors) -> String {
    use AE::AuditEscrowErrors as X;
    match e {
        X::UnexpectedStatus(e) => format!(
            "UnexpectedStatus(audit {} is {}): not allowed in this state",
            e.auditId,
            status_name(e.status)
        ),
        X::RevealTooEarly(e) => format!(
            "RevealTooEarly(audit {}, block {}): the seed's block is not mined; a reveal can \
             land from block {} on",
            e.auditId, e.currentBlock, e.firstBlock
        ),
        X::BlockhashUnavailable(e) => format!(
            "BlockhashUnavailable(audit {}, block {} in block {}): the reveal window is closed",
            e.auditId, e.blockNumber, e.currentBlock
        ),
        X::SecretMismatch(e) => format!(
            "SecretMismatch(audit {}): the secret does not open the audit's seed commitment \
             (wrong secret, or not the requester's)",
            e.auditId
        ),
        X::IncorrectBond(e) => format!(
            "IncorrectBond(expected {} wei, sent {})",
            e.expected, e.sent
        ),
        X::CountAboveBatchSize(e) => format!(
            "CountAboveBatchSize(count {} > batch size {})",
            e.count, e.batchSize
        ),
        X::InvalidProof(e) => format!(
            "InvalidProof(audit {}, batch {}): the verifier rejected the proof for the inputs \
             the escrow built",
            e.auditId, e.batchIdx
        ),
        X::ProvingNotFinished(e) => format!(
            "ProvingNotFinished(audit {}: {} of {} batches, proving deadline {} > now {})",
            e.auditId, e.batchesSubmitted, e.numBatches, e.proveDeadline, e.timestamp
        ),
        X::RevealWindowOpen(e) => format!(
            "RevealWindowOpen(audit {}: the requester may reveal until block {}, now {})",
            e.auditId, e.lastRevealBlock, e.currentBlock
        ),
        other => format!("{other:?}"),
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
