// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {IProofVerifier} from "../../src/interfaces/IProofVerifier.sol";
import {IAuditModelRegistry} from "../../src/interfaces/IAuditModelRegistry.sol";

/// @dev Records what it was handed. The escrow calls verifiers through STATICCALL (the
///      interface is `view`), so no storage write or event is possible: the mock "records" by
///      reverting with `Seen(proof, publicInputs)`, which bubbles up through the escrow, and a
///      test compares those bytes with the array it expects.
contract RecordingVerifier is IProofVerifier {
    error Seen(bytes proof, uint256[] publicInputs);

    function verifyProof(bytes calldata proof, uint256[] calldata publicInputs) external pure returns (bool) {
        revert Seen(proof, publicInputs);
    }
}

/// @dev A model registry whose entries a test rewrites at will: shows that an audit's pinned
///      copy survives later changes, and feeds the escrow entries the real registry refuses.
contract MutableAuditRegistry is IAuditModelRegistry {
    mapping(uint256 => AuditModel) private _models;

    function set(uint256 modelId, AuditModel calldata m) external {
        _models[modelId] = m;
    }

    function auditModel(uint256 modelId) external view returns (AuditModel memory) {
        return _models[modelId];
    }
}
