// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @notice Stable interface for checking a trustml proof on chain.
/// @dev Implementations return true only for a proof that verifies against the
///      verifying key the implementation was deployed for.
interface IProofVerifier {
    /// @param proof        The raw halo2 (KZG, SHPLONK, Keccak transcript) proof bytes.
    /// @param publicInputs The circuit's public inputs in circuit order, each < the BN254 scalar modulus.
    /// @return True iff the proof is valid for these public inputs.
    function verifyProof(bytes calldata proof, uint256[] calldata publicInputs) external view returns (bool);
}
