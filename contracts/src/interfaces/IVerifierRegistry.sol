// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title IVerifierRegistry
/// @notice Read interface of the registry mapping circuit ids to {IProofVerifier} deployments.
/// @dev {PromptMarketplace} only reads entries; it copies ("pins") the verifier address and
///      vk digest into each listing, so nothing an implementation of this interface does
///      after a listing exists can change how that listing's proofs are checked.
interface IVerifierRegistry {
    /// @notice One registered circuit.
    /// @param verifier        The {IProofVerifier} (usually a {ProofVerifierAdapter}); zero iff unregistered.
    /// @param deprecated      True once the owner has deprecated the circuit: no NEW listing may use it.
    /// @param registeredAt    Block timestamp of registration.
    /// @param vkDigest        Keccak-256 of the circuit's verifying key (informational; pinned into listings).
    /// @param numPublicInputs Number of public inputs (instance cells) the circuit exposes.
    struct Entry {
        address verifier;
        bool deprecated;
        uint64 registeredAt;
        bytes32 vkDigest;
        uint256 numPublicInputs;
    }

    /// @notice The entry registered under `circuitId`; all fields zero if none.
    function get(bytes32 circuitId) external view returns (Entry memory entry);

    /// @notice Whether `circuitId` was deprecated (one storage read: what a purchase checks).
    function isDeprecated(bytes32 circuitId) external view returns (bool);

    /// @notice Whether the owner allows a listing to pair listing circuit `listingCircuitId`
    ///         with delivery circuit `deliveryCircuitId` (both must open the same commitment
    ///         of a prompt of the same length: only the owner can vouch for that).
    function isPairAllowed(bytes32 listingCircuitId, bytes32 deliveryCircuitId) external view returns (bool);
}
