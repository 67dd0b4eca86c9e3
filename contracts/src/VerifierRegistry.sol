// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IVerifierRegistry} from "./interfaces/IVerifierRegistry.sol";

/// @title VerifierRegistry
/// @notice Owner-curated, append-only map from circuit ids to proof verifiers, and the list of
///         (listing circuit, delivery circuit) pairs a marketplace listing may combine.
/// @dev Rules:
///      - a circuit id is registered AT MOST ONCE; its verifier, vk digest and public-input
///        count can never change afterwards (a new circuit version gets a new id);
///      - {deprecate} only stops NEW uses (consumers such as {PromptMarketplace} refuse to
///        create listings with a deprecated id, and to sell listings that pinned it); it never
///        affects orders already placed, and it cannot be undone;
///      - {allowPair}/{disallowPair}: a listing pairs a listing circuit with a delivery circuit,
///        and the two must agree on what they prove (the same commitment scheme, the same
///        prompt length); the owner vouches for that per pair. Disallowing a pair only stops
///        new listings (listings pin their circuits);
///      - ownership is OpenZeppelin's {Ownable2Step} ({transferOwnership} then
///        {acceptOwnership}); {renounceOwnership} is disabled (a registry without an owner could
///        never deprecate a broken circuit).
contract VerifierRegistry is IVerifierRegistry, Ownable2Step {
    mapping(bytes32 => Entry) private _entries;
    mapping(bytes32 => mapping(bytes32 => bool)) private _pairAllowed;

    /// @notice Emitted once per circuit id, when it is registered.
    event CircuitRegistered(
        bytes32 indexed circuitId, address indexed verifier, bytes32 vkDigest, uint256 numPublicInputs
    );
    /// @notice Emitted when a circuit id is deprecated.
    event CircuitDeprecated(bytes32 indexed circuitId);
    /// @notice Emitted when listings may pair these two circuits.
    event PairAllowed(bytes32 indexed listingCircuitId, bytes32 indexed deliveryCircuitId);
    /// @notice Emitted when new listings may no longer pair these two circuits.
    event PairDisallowed(bytes32 indexed listingCircuitId, bytes32 indexed deliveryCircuitId);

    /// @notice Circuit id zero is reserved (it is what an unset id looks like).
    error ZeroCircuitId();
    /// @notice `verifier` has no code, so calls to it would "succeed" with empty data.
    error VerifierHasNoCode(address verifier);
    /// @notice A circuit must have at least one public input.
    error ZeroPublicInputs();
    /// @notice `circuitId` is already registered (to `verifier`); entries are immutable.
    error AlreadyRegistered(bytes32 circuitId, address verifier);
    /// @notice `circuitId` has never been registered.
    error UnknownCircuit(bytes32 circuitId);
    /// @notice `circuitId` is already deprecated.
    error AlreadyDeprecated(bytes32 circuitId);
    /// @notice The pair is already allowed.
    error PairAlreadyAllowed(bytes32 listingCircuitId, bytes32 deliveryCircuitId);
    /// @notice The pair is not allowed (nothing to disallow).
    error PairNotAllowed(bytes32 listingCircuitId, bytes32 deliveryCircuitId);
    /// @notice {renounceOwnership} is disabled.
    error RenounceOwnershipDisabled();

    /// @param initialOwner The first owner (non-zero, else OpenZeppelin's `OwnableInvalidOwner`).
    constructor(address initialOwner) Ownable(initialOwner) {}

    /// @notice Registers `circuitId` once and for all.
    /// @param circuitId       Non-zero id (e.g. keccak256 of a circuit name and version).
    /// @param verifier        Contract implementing {IProofVerifier} for this circuit.
    /// @param vkDigest        Keccak-256 of the verifying key the verifier embeds.
    /// @param numPublicInputs Number of public inputs the circuit has (> 0).
    function register(bytes32 circuitId, address verifier, bytes32 vkDigest, uint256 numPublicInputs)
        external
        onlyOwner
    {
        if (circuitId == bytes32(0)) revert ZeroCircuitId();
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        if (numPublicInputs == 0) revert ZeroPublicInputs();
        Entry storage e = _entries[circuitId];
        if (e.verifier != address(0)) revert AlreadyRegistered(circuitId, e.verifier);
        e.verifier = verifier;
        e.registeredAt = SafeCast.toUint64(block.timestamp);
        e.vkDigest = vkDigest;
        e.numPublicInputs = numPublicInputs;
        emit CircuitRegistered(circuitId, verifier, vkDigest, numPublicInputs);
    }

    /// @notice Marks `circuitId` deprecated: no new listing may use it, and listings that
    ///         pinned it can no longer be bought. Irreversible. Open orders are unaffected.
    function deprecate(bytes32 circuitId) external onlyOwner {
        Entry storage e = _entries[circuitId];
        if (e.verifier == address(0)) revert UnknownCircuit(circuitId);
        if (e.deprecated) revert AlreadyDeprecated(circuitId);
        e.deprecated = true;
        emit CircuitDeprecated(circuitId);
    }

    /// @notice Lets new listings pair listing circuit `listingCircuitId` with delivery circuit
    ///         `deliveryCircuitId`. Both must be registered.
    function allowPair(bytes32 listingCircuitId, bytes32 deliveryCircuitId) external onlyOwner {
        if (_entries[listingCircuitId].verifier == address(0)) revert UnknownCircuit(listingCircuitId);
        if (_entries[deliveryCircuitId].verifier == address(0)) revert UnknownCircuit(deliveryCircuitId);
        mapping(bytes32 => bool) storage allowed = _pairAllowed[listingCircuitId];
        if (allowed[deliveryCircuitId]) revert PairAlreadyAllowed(listingCircuitId, deliveryCircuitId);
        allowed[deliveryCircuitId] = true;
        emit PairAllowed(listingCircuitId, deliveryCircuitId);
    }

    /// @notice Stops new listings from pairing these circuits (existing listings keep them).
    function disallowPair(bytes32 listingCircuitId, bytes32 deliveryCircuitId) external onlyOwner {
        mapping(bytes32 => bool) storage allowed = _pairAllowed[listingCircuitId];
        if (!allowed[deliveryCircuitId]) revert PairNotAllowed(listingCircuitId, deliveryCircuitId);
        allowed[deliveryCircuitId] = false;
        emit PairDisallowed(listingCircuitId, deliveryCircuitId);
    }

    /// @notice Disabled: always reverts {RenounceOwnershipDisabled}.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceOwnershipDisabled();
    }

    /// @inheritdoc IVerifierRegistry
    function get(bytes32 circuitId) external view returns (Entry memory entry) {
        entry = _entries[circuitId];
    }

    /// @inheritdoc IVerifierRegistry
    function isDeprecated(bytes32 circuitId) external view returns (bool) {
        return _entries[circuitId].deprecated;
    }

    /// @inheritdoc IVerifierRegistry
    function isPairAllowed(bytes32 listingCircuitId, bytes32 deliveryCircuitId) external view returns (bool) {
        return _pairAllowed[listingCircuitId][deliveryCircuitId];
    }

    /// @notice True iff `circuitId` is registered and not deprecated.
    function isActive(bytes32 circuitId) external view returns (bool) {
        Entry storage e = _entries[circuitId];
        return e.verifier != address(0) && !e.deprecated;
    }
}
