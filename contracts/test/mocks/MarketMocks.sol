// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {IProofVerifier} from "../../src/interfaces/IProofVerifier.sol";
import {IVerifierRegistry} from "../../src/interfaces/IVerifierRegistry.sol";

/// @dev Returns a fixed answer for every proof.
contract ConstVerifier is IProofVerifier {
    bool public immutable result;

    constructor(bool result_) {
        result = result_;
    }

    function verifyProof(bytes calldata, uint256[] calldata) external view returns (bool) {
        return result;
    }
}

/// @dev Stand-in for a real verifier with verifying key `vk`: the only "valid proof" for
///      public inputs `xs` is `proofFor(vk, xs)`. A test can therefore produce valid proofs
///      only for the exact public inputs it expects, which proves the contract under test
///      built those very inputs (any other order, value or length makes the proof invalid).
contract HashVerifier is IProofVerifier {
    bytes32 public immutable vk;

    constructor(bytes32 vk_) {
        vk = vk_;
    }

    function proofFor(uint256[] memory publicInputs) public view returns (bytes memory) {
        return abi.encode(keccak256(abi.encode(vk, publicInputs)));
    }

    function verifyProof(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool) {
        return keccak256(proof) == keccak256(proofFor(publicInputs));
    }
}

/// @dev Accepts only when the public inputs equal an array fixed by the test.
contract ExpectInputsVerifier is IProofVerifier {
    bytes32 public expectedHash;

    function expect(uint256[] calldata publicInputs) external {
        expectedHash = keccak256(abi.encode(publicInputs));
    }

    function verifyProof(bytes calldata, uint256[] calldata publicInputs) external view returns (bool) {
        return keccak256(abi.encode(publicInputs)) == expectedHash;
    }
}

/// @dev A registry whose entries can be overwritten at will: used to show that a listing's
///      pinned verifier survives any later registry change. Every pair is allowed.
contract MutableRegistry is IVerifierRegistry {
    mapping(bytes32 => Entry) private _entries;

    function isPairAllowed(bytes32, bytes32) external pure returns (bool) {
        return true;
    }

    function set(bytes32 circuitId, address verifier, bytes32 vkDigest, uint256 numPublicInputs, bool deprecated)
        external
    {
        _entries[circuitId] = Entry(verifier, deprecated, uint64(block.timestamp), vkDigest, numPublicInputs);
    }

    function get(bytes32 circuitId) external view returns (Entry memory) {
        return _entries[circuitId];
    }

    function isDeprecated(bytes32 circuitId) external view returns (bool) {
        return _entries[circuitId].deprecated;
    }
}
