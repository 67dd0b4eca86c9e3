// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {IVerifierRegistry} from "./interfaces/IVerifierRegistry.sol";

/// @title VerifierRegistry
/// @notice Owner-curated, append-only map from circuit ids to proof verifiers.
/// @dev Rules:
///      - a circuit id is registered AT MOST ONCE; its verifier, vk digest and public-input
///        count can never change afterwards (a new circuit version gets a new id);
///      - {deprecate} only stops NEW uses (consumers such as {PromptMarketplace} refuse to
///        create listings with a deprecated id); it never affects listings that already
///        pinned the entry, and it cannot be undone;
///      - ownership moves in two steps ({transferOwnership} then {acceptOwnership}).
contract VerifierRegistry is IVerifierRegistry {
    /// @notice Current owner: the only account allowed to register and deprecate circuits.
    address public owner;
    /// @notice Account that may call {acceptOwnership}; zero when no transfer is pending.
    address public pendingOwner;

    mapping(bytes32 => Entry) private _entries;

    /// @notice Emitted when ownership moves to `newOwner` (also at construction, from zero).
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice Emitted when the owner proposes `pendingOwner` (zero cancels a pending transfer).
    event OwnershipTransferStarted(address indexed owner, address indexed pendingOwner);
    /// @notice Emitted once per circuit id, when it is registered.
    event CircuitRegistered(
        bytes32 indexed circuitId, address indexed verifier, bytes32 vkDigest, uint256 numPublicInputs
    );
    /// @notice Emitted when a circuit id is deprecated.
    event CircuitDeprecated(bytes32 indexed circuitId);

    /// @notice `caller` is not the owner.
    error NotOwner(address caller);
    /// @notice `caller` is not the pending owner.
    error NotPendingOwner(address caller);
    /// @notice The constructor was given the zero address as owner.
    error ZeroOwner();
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

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @param initialOwner The first owner.
    constructor(address initialOwner) {
        if (initialOwner == address(0)) revert ZeroOwner();
        owner = initialOwner;
        emit OwnershipTransferred(address(0), initialOwner);
    }

    /// @notice Starts a two-step ownership transfer; `newOwner` must call {acceptOwnership}.
    /// @param newOwner The proposed owner; the zero address cancels a pending transfer.
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(msg.sender, newOwner);
    }

    /// @notice Completes a transfer started by {transferOwnership}; only the pending owner.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner(msg.sender);
        address previous = owner;
        owner = msg.sender;
        pendingOwner = address(0);
        emit OwnershipTransferred(previous, msg.sender);
    }

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
        // casting to 'uint64' is safe because block timestamps are ≪ 2^64
        // forge-lint: disable-next-line(unsafe-typecast)
        e.registeredAt = uint64(block.timestamp);
        e.vkDigest = vkDigest;
        e.numPublicInputs = numPublicInputs;
        emit CircuitRegistered(circuitId, verifier, vkDigest, numPublicInputs);
    }

    /// @notice Marks `circuitId` deprecated: no new listing may use it. Irreversible.
    ///         Listings that already pinned it keep working.
    function deprecate(bytes32 circuitId) external onlyOwner {
        Entry storage e = _entries[circuitId];
        if (e.verifier == address(0)) revert UnknownCircuit(circuitId);
        if (e.deprecated) revert AlreadyDeprecated(circuitId);
        e.deprecated = true;
        emit CircuitDeprecated(circuitId);
    }

    /// @inheritdoc IVerifierRegistry
    function get(bytes32 circuitId) external view returns (Entry memory entry) {
        entry = _entries[circuitId];
    }

    /// @inheritdoc IVerifierRegistry
    function isDeprecated(bytes32 circuitId) external view returns (bool) {
        return _entries[circuitId].deprecated;
    }

    /// @notice True iff `circuitId` is registered and not deprecated.
    function isActive(bytes32 circuitId) external view returns (bool) {
        Entry storage e = _entries[circuitId];
        return e.verifier != address(0) && !e.deprecated;
    }
}
