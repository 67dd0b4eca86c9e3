// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {IAuditEscrow} from "../../src/interfaces/IAuditEscrow.sol";

/// @dev Copies of {IAuditEscrow}'s and {AuditModelRegistry}'s events, for `vm.expectEmit`.
abstract contract AuditEvents {
    event AuditCreated(
        uint256 indexed auditId,
        uint256 indexed modelId,
        address indexed requester,
        address provider,
        uint256 bounty,
        uint64 numBatches,
        IAuditEscrow.AuditTerms terms
    );
    event AuditAccepted(
        uint256 indexed auditId, address indexed provider, bytes32 providerShare, uint256 bond, uint64 acceptBlock
    );
    event SeedRevealed(uint256 indexed auditId, bytes32 requesterSecret, uint256 seed, uint64 proveDeadline);
    event BatchSubmitted(
        uint256 indexed auditId,
        uint256 indexed batchIdx,
        address indexed submitter,
        uint256 count,
        uint64 batchesSubmitted,
        uint64 totalCorrect
    );
    event AuditFinalized(
        uint256 indexed auditId,
        IAuditEscrow.Outcome outcome,
        uint64 totalCorrect,
        uint256 samplesProven,
        uint256 samplesRequired,
        uint64 numSamples
    );
    event Credited(address indexed account, uint256 indexed auditId, uint256 amount);
    event Withdrawn(address indexed account, address indexed to, uint256 amount);

    event CircuitRegistered(
        bytes32 indexed circuitId, address indexed verifier, bytes32 vkDigest, uint32 batchSize, uint8 treeDepth
    );
    event CircuitDeprecated(bytes32 indexed circuitId);
    event ModelRegistered(
        uint256 indexed modelId, address indexed provider, bytes32 indexed circuitId, uint256 weightsCommitment
    );
    event ModelRetired(uint256 indexed modelId);
}
