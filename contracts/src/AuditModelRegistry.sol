// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAuditModelRegistry} from "./interfaces/IAuditModelRegistry.sol";

/// @title AuditModelRegistry
/// @notice Audit circuits, curated by the owner, and the models audited with them, registered
///         by their providers.
/// @dev Two kinds of entries, because two different parties can vouch for them:
///      - an **audit circuit** (`registerCircuit`, owner only, once per id, never changed):
///        the verifier of the audit statement for one model architecture, batch size b and
///        tree depth d. A verifier that accepted anything would pass every audit, so somebody
///        who can rebuild it from the circuit must vouch for it — like {VerifierRegistry}.
///        {deprecateCircuit} (irreversible) stops new models and new audits from using it;
///      - a **model** (`registerModel`, anyone): a circuit id and a weights commitment C_W; the
///        caller becomes the model's provider (its payout address). Nobody but the provider
///        can vouch for C_W, and needing the owner for each model would make the owner a
///        gatekeeper of who may be audited. A model id is sequential (nobody can squat one).
///        Registering somebody else's C_W gains nothing: an audit is paid only for proofs,
///        and only the holder of the weights can make them (an impostor who accepts an audit
///        loses its bond). A provider may {retireModel} (irreversible; no new audits).
///      Open audits pinned their copy of the model ({AuditEscrow}): retiring a model or
///      deprecating a circuit never affects them.
///      Ownership is OpenZeppelin's {Ownable2Step}; {renounceOwnership} is disabled (a registry
///      without an owner could never deprecate a broken circuit).
contract AuditModelRegistry is IAuditModelRegistry, Ownable2Step {
    /// @notice The BN254 scalar field modulus r; C_W is a public input, so it must be below it.
    uint256 public constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Deepest dataset tree: the circuit derives a sample index as
    ///         ⌊lo64(h)·N / 2^64⌋, so N ≤ 2^64.
    uint8 public constant MAX_TREE_DEPTH = 64;

    /// @notice One audit circuit.
    /// @param verifier     {IProofVerifier} (usually a {ProofVerifierAdapter}); zero iff unregistered.
    /// @param deprecated   True once deprecated: no new model or audit may use it.
    /// @param batchSize    b, samples per proof.
    /// @param treeDepth    d, dataset tree depth.
    /// @param registeredAt Block timestamp of registration.
    /// @param vkDigest     Keccak-256 of the verifying key.
    struct Circuit {
        address verifier;
        bool deprecated;
        uint32 batchSize;
        uint8 treeDepth;
        uint64 registeredAt;
        bytes32 vkDigest;
    }

    /// @notice One model.
    /// @param provider          Who registered it; zero iff the model does not exist.
    /// @param retired           True once the provider retired it.
    /// @param circuitId         Its audit circuit.
    /// @param weightsCommitment C_W.
    struct Model {
        address provider;
        bool retired;
        bytes32 circuitId;
        uint256 weightsCommitment;
    }

    mapping(bytes32 => Circuit) private _circuits;
    mapping(uint256 => Model) private _models;
    /// @notice Number of models registered; model ids are 1..modelCount.
    uint256 public modelCount;

    /// @notice Emitted once per circuit id, when it is registered.
    event CircuitRegistered(
        bytes32 indexed circuitId, address indexed verifier, bytes32 vkDigest, uint32 batchSize, uint8 treeDepth
    );
    /// @notice Emitted when a circuit is deprecated.
    event CircuitDeprecated(bytes32 indexed circuitId);
    /// @notice Emitted when `provider` registers model `modelId`.
    event ModelRegistered(
        uint256 indexed modelId, address indexed provider, bytes32 indexed circuitId, uint256 weightsCommitment
    );
    /// @notice Emitted when a provider retires its model.
    event ModelRetired(uint256 indexed modelId);

    /// @notice Circuit id zero is reserved (it is what an unset id looks like).
    error ZeroCircuitId();
    /// @notice `verifier` has no code, so calls to it would "succeed" with empty data.
    error VerifierHasNoCode(address verifier);
    /// @notice A batch must hold at least one sample.
    error ZeroBatchSize();
    /// @notice `treeDepth` exceeds `maxDepth`.
    error TreeDepthTooLarge(uint8 treeDepth, uint8 maxDepth);
    /// @notice `circuitId` is already registered (to `verifier`); entries are immutable.
    error AlreadyRegistered(bytes32 circuitId, address verifier);
    /// @notice `circuitId` has never been registered.
    error UnknownCircuit(bytes32 circuitId);
    /// @notice `circuitId` is deprecated.
    error CircuitIsDeprecated(bytes32 circuitId);
    /// @notice C_W = `value` is not below r.
    error WeightsCommitmentNotInField(uint256 value);
    /// @notice No model has id `modelId`.
    error UnknownModel(uint256 modelId);
    /// @notice `caller` is not `provider`, the model's provider.
    error NotProvider(address caller, address provider);
    /// @notice Model `modelId` is already retired.
    error AlreadyRetired(uint256 modelId);
    /// @notice {renounceOwnership} is disabled.
    error RenounceOwnershipDisabled();

    /// @param initialOwner The first owner (non-zero, else OpenZeppelin's `OwnableInvalidOwner`).
    constructor(address initialOwner) Ownable(initialOwner) {}

    // ================================================================== circuits (owner)

    /// @notice Registers audit circuit `circuitId` once and for all.
    /// @param circuitId Non-zero id (e.g. keccak256 of the circuit's name, version, b and d).
    /// @param verifier  {IProofVerifier} of the circuit (must have code).
    /// @param vkDigest  Keccak-256 of the verifying key the verifier embeds.
    /// @param batchSize b > 0, samples per proof (a constant of the verifying key).
    /// @param treeDepth d ≤ {MAX_TREE_DEPTH}, depth of the dataset tree (a constant of the key).
    function registerCircuit(bytes32 circuitId, address verifier, bytes32 vkDigest, uint32 batchSize, uint8 treeDepth)
        external
        onlyOwner
    {
        if (circuitId == bytes32(0)) revert ZeroCircuitId();
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        if (batchSize == 0) revert ZeroBatchSize();
        if (treeDepth > MAX_TREE_DEPTH) revert TreeDepthTooLarge(treeDepth, MAX_TREE_DEPTH);
        Circuit storage c = _circuits[circuitId];
        if (c.verifier != address(0)) revert AlreadyRegistered(circuitId, c.verifier);
        c.verifier = verifier;
        c.batchSize = batchSize;
        c.treeDepth = treeDepth;
        c.registeredAt = SafeCast.toUint64(block.timestamp);
        c.vkDigest = vkDigest;
        emit CircuitRegistered(circuitId, verifier, vkDigest, batchSize, treeDepth);
    }

    /// @notice Marks `circuitId` deprecated: no new model may name it and no new audit may use
    ///         a model that does. Irreversible; open audits are unaffected.
    function deprecateCircuit(bytes32 circuitId) external onlyOwner {
        Circuit storage c = _circuits[circuitId];
        if (c.verifier == address(0)) revert UnknownCircuit(circuitId);
        if (c.deprecated) revert CircuitIsDeprecated(circuitId);
        c.deprecated = true;
        emit CircuitDeprecated(circuitId);
    }

    /// @notice Disabled: always reverts {RenounceOwnershipDisabled}.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceOwnershipDisabled();
    }

    // ================================================================== models (providers)

    /// @notice Registers a model audited with circuit `circuitId` whose weights commit to
    ///         `weightsCommitment`; the caller is its provider (and payout address).
    /// @return modelId The new model's id (sequential, from 1).
    function registerModel(bytes32 circuitId, uint256 weightsCommitment) external returns (uint256 modelId) {
        Circuit storage c = _circuits[circuitId];
        if (c.verifier == address(0)) revert UnknownCircuit(circuitId);
        if (c.deprecated) revert CircuitIsDeprecated(circuitId);
        if (weightsCommitment >= SNARK_SCALAR_FIELD) revert WeightsCommitmentNotInField(weightsCommitment);
        modelId = ++modelCount;
        Model storage m = _models[modelId];
        m.provider = msg.sender;
        m.circuitId = circuitId;
        m.weightsCommitment = weightsCommitment;
        emit ModelRegistered(modelId, msg.sender, circuitId, weightsCommitment);
    }

    /// @notice The provider stops new audits of `modelId`. Irreversible; open audits are unaffected.
    function retireModel(uint256 modelId) external {
        Model storage m = _models[modelId];
        if (m.provider == address(0)) revert UnknownModel(modelId);
        if (msg.sender != m.provider) revert NotProvider(msg.sender, m.provider);
        if (m.retired) revert AlreadyRetired(modelId);
        m.retired = true;
        emit ModelRetired(modelId);
    }

    // ================================================================== views

    /// @notice Circuit `circuitId` (all zero if unregistered).
    function getCircuit(bytes32 circuitId) external view returns (Circuit memory) {
        return _circuits[circuitId];
    }

    /// @notice Model `modelId` (all zero if it does not exist).
    function getModel(uint256 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    /// @inheritdoc IAuditModelRegistry
    function auditModel(uint256 modelId) external view returns (AuditModel memory a) {
        Model storage m = _models[modelId];
        if (m.provider == address(0)) return a;
        Circuit storage c = _circuits[m.circuitId];
        a.provider = m.provider;
        a.verifier = c.verifier;
        a.vkDigest = c.vkDigest;
        a.weightsCommitment = m.weightsCommitment;
        a.batchSize = c.batchSize;
        a.treeDepth = c.treeDepth;
        a.circuitId = m.circuitId;
        a.active = !m.retired && !c.deprecated;
    }
}
