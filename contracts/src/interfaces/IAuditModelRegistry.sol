// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title IAuditModelRegistry
/// @notice Read interface of the registry of audit circuits and audited models, as
///         {AuditEscrow} consumes it.
/// @dev The escrow reads {auditModel} once, at `createAudit`, and copies ("pins") every field
///      into the audit: nothing an implementation does afterwards changes an open audit.
interface IAuditModelRegistry {
    /// @notice Everything an audit of model `modelId` pins.
    /// @param provider          The model's provider: the only account that may accept an
    ///                          audit of it, and where its payouts are credited. Zero iff the
    ///                          model does not exist.
    /// @param verifier          {IProofVerifier} of the audit circuit (one batch of
    ///                          `batchSize` samples from a Merkle tree of depth `treeDepth`),
    ///                          public inputs [C_W, R_D, N, seed, j0, count].
    /// @param vkDigest          Keccak-256 of the audit circuit's verifying key.
    /// @param weightsCommitment C_W, the commitment a model compiled with
    ///                          `--weights-visibility hashed` exposes (a BN254 field element).
    /// @param batchSize         b, samples per batch proof (> 0).
    /// @param treeDepth         d, depth of the dataset Merkle tree (datasets of N ≤ 2^d samples).
    /// @param circuitId         The audit circuit's id in the registry.
    /// @param active            False once the provider retired the model or the owner
    ///                          deprecated its circuit: no new audit may use it.
    struct AuditModel {
        address provider;
        address verifier;
        bytes32 vkDigest;
        uint256 weightsCommitment;
        uint32 batchSize;
        uint8 treeDepth;
        bytes32 circuitId;
        bool active;
    }

    /// @notice Model `modelId` with its circuit; all fields zero if there is no such model.
    function auditModel(uint256 modelId) external view returns (AuditModel memory);
}
