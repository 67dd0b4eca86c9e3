// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IProofVerifier} from "./interfaces/IProofVerifier.sol";
import {IVerifierRegistry} from "./interfaces/IVerifierRegistry.sol";

/// @title TrainingRegistry
/// @notice Verified training runs: a chain of SGD-step proofs that links a model commitment
///         `C_W0` to `C_WT`, each step on the batch a committed dataset's order fixes, and the
///         final commitment marked "trained on dataset `R_D`".
/// @dev Rules:
///      - a step circuit is a {VerifierRegistry} circuit the owner names here (other circuits
///        with six public inputs, such as audits, prove other statements); its public inputs
///        are `[C_W, C_W', R_D, N, t, c]` (trustml's `train::circuit`);
///      - {openRun} pins the step circuit's verifier and fixes `C_W0`, `R_D`, `N`, the
///        learning rate `c` (η = c/256) and the number of steps `T`;
///      - {submitStep} takes only `C_W'` and a proof: the contract builds the public inputs
///        from the run (`C_W` is the run's current commitment, `t` the number of steps already
///        verified), so steps are verified in order, none skipped, with the run's data and
///        learning rate. Anyone may submit (a proof is the same statement whoever sends it);
///      - after step `T − 1` the run is complete and its final commitment is marked as trained
///        on `R_D` (the first run to complete it keeps the mark);
///      - a deprecated step circuit verifies no new steps; nothing recorded is rewritten.
contract TrainingRegistry is Ownable2Step {
    /// @notice One training run.
    struct Run {
        /// Who opened it.
        address trainer;
        /// The step circuit (its registry id).
        bytes32 circuitId;
        /// Its verifier, pinned when the run was opened.
        address verifier;
        /// `R_D`: the training set's Merkle root.
        uint256 datasetRoot;
        /// `N`: the training set's size.
        uint64 datasetSize;
        /// `c` of the learning rate η = c/256.
        uint64 learningRate;
        /// `T`: steps the run has.
        uint64 steps;
        /// Steps verified so far (the next step's `t`).
        uint64 verified;
        /// `C_W0`.
        uint256 initial;
        /// The commitment after the verified steps.
        uint256 current;
    }

    /// @notice Where a model commitment was trained.
    struct Trained {
        /// The run that completed it (0: none).
        uint256 runId;
        /// The dataset it was trained on.
        uint256 datasetRoot;
    }

    /// @notice The BN254 scalar field's modulus: every commitment is below it.
    uint256 public constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Public inputs of a step circuit.
    uint256 public constant STEP_PUBLIC_INPUTS = 6;

    /// @notice Where step circuits' verifiers are registered.
    IVerifierRegistry public immutable registry;

    mapping(bytes32 => bool) private _stepCircuits;
    mapping(uint256 => Run) private _runs;
    mapping(uint256 => Trained) private _trained;
    uint256 private _nextRunId = 1;

    /// @notice `circuitId` proves SGD steps.
    event StepCircuitAdded(bytes32 indexed circuitId);
    /// @notice A run was opened.
    event RunOpened(
        uint256 indexed runId,
        address indexed trainer,
        bytes32 indexed circuitId,
        uint256 initial,
        uint256 datasetRoot,
        uint64 datasetSize,
        uint64 learningRate,
        uint64 steps
    );
    /// @notice Step `step` of run `runId` was verified: the weights are now `commitment`.
    event StepVerified(uint256 indexed runId, uint64 indexed step, uint256 commitment, address submitter);
    /// @notice Run `runId` verified all its steps: `commitment` was trained on `datasetRoot`.
    event RunCompleted(uint256 indexed runId, uint256 indexed commitment, uint256 datasetRoot);

    /// @notice `circuitId` is not a registered circuit with six public inputs.
    error NotAStepCircuit(bytes32 circuitId);
    /// @notice `circuitId` is already a step circuit here.
    error StepCircuitAlreadyAdded(bytes32 circuitId);
    /// @notice `circuitId` is not a step circuit here, or it is deprecated in the registry.
    error UnknownStepCircuit(bytes32 circuitId);
    /// @notice `value` is not a non-zero field element.
    error NotAFieldElement(uint256 value);
    /// @notice A run needs at least one step and one sample, and η > 0.
    error EmptyRun();
    /// @notice No run has this id.
    error UnknownRun(uint256 runId);
    /// @notice Every step of the run is already verified.
    error RunComplete(uint256 runId);
    /// @notice The proof does not verify for the run's next step.
    error InvalidProof();
    /// @notice {renounceOwnership} is disabled.
    error RenounceOwnershipDisabled();

    /// @param initialOwner The owner (names step circuits).
    /// @param registry_    The registry holding the step circuits' verifiers.
    constructor(address initialOwner, IVerifierRegistry registry_) Ownable(initialOwner) {
        registry = registry_;
    }

    /// @notice Names registry circuit `circuitId` as a step circuit.
    function addStepCircuit(bytes32 circuitId) external onlyOwner {
        IVerifierRegistry.Entry memory e = registry.get(circuitId);
        if (e.verifier == address(0) || e.numPublicInputs != STEP_PUBLIC_INPUTS) revert NotAStepCircuit(circuitId);
        if (_stepCircuits[circuitId]) revert StepCircuitAlreadyAdded(circuitId);
        _stepCircuits[circuitId] = true;
        emit StepCircuitAdded(circuitId);
    }

    /// @notice Opens a run of `steps` steps from `initial` on dataset (`datasetRoot`,
    ///         `datasetSize`) with η = `learningRate`/256; returns its id.
    function openRun(
        bytes32 circuitId,
        uint256 initial,
        uint256 datasetRoot,
        uint64 datasetSize,
        uint64 learningRate,
        uint64 steps
    ) external returns (uint256 runId) {
        if (!_stepCircuits[circuitId] || registry.isDeprecated(circuitId)) revert UnknownStepCircuit(circuitId);
        _checkField(initial);
        _checkField(datasetRoot);
        if (steps == 0 || datasetSize == 0 || learningRate == 0) revert EmptyRun();
        runId = _nextRunId++;
        _runs[runId] = Run({
            trainer: msg.sender,
            circuitId: circuitId,
            verifier: registry.get(circuitId).verifier,
            datasetRoot: datasetRoot,
            datasetSize: datasetSize,
            learningRate: learningRate,
            steps: steps,
            verified: 0,
            initial: initial,
            current: initial
        });
        emit RunOpened(runId, msg.sender, circuitId, initial, datasetRoot, datasetSize, learningRate, steps);
    }

    /// @notice Verifies the run's next step, `C_W → next`, with `proof`.
    function submitStep(uint256 runId, uint256 next, bytes calldata proof) external {
        Run storage r = _runs[runId];
        if (r.trainer == address(0)) revert UnknownRun(runId);
        if (r.verified == r.steps) revert RunComplete(runId);
        if (registry.isDeprecated(r.circuitId)) revert UnknownStepCircuit(r.circuitId);
        _checkField(next);
        uint64 t = r.verified;
        if (!IProofVerifier(r.verifier).verifyProof(proof, stepInputs(runId, next))) revert InvalidProof();
        // Effects after a view call to the pinned verifier (it cannot re-enter a write).
        r.current = next;
        r.verified = t + 1;
        emit StepVerified(runId, t, next, msg.sender);
        if (t + 1 == r.steps) {
            if (_trained[next].runId == 0) {
                _trained[next] = Trained({runId: runId, datasetRoot: r.datasetRoot});
            }
            emit RunCompleted(runId, next, r.datasetRoot);
        }
    }

    /// @notice The public inputs the run's next step is verified with:
    ///         `[C_W, next, R_D, N, t, c]`.
    function stepInputs(uint256 runId, uint256 next) public view returns (uint256[] memory inputs) {
        Run storage r = _runs[runId];
        inputs = new uint256[](STEP_PUBLIC_INPUTS);
        inputs[0] = r.current;
        inputs[1] = next;
        inputs[2] = r.datasetRoot;
        inputs[3] = r.datasetSize;
        inputs[4] = r.verified;
        inputs[5] = r.learningRate;
    }

    /// @notice Disabled: always reverts {RenounceOwnershipDisabled}.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceOwnershipDisabled();
    }

    /// @notice Whether `circuitId` is a step circuit here.
    function isStepCircuit(bytes32 circuitId) external view returns (bool) {
        return _stepCircuits[circuitId];
    }

    /// @notice Run `runId` (all fields zero if none).
    function run(uint256 runId) external view returns (Run memory) {
        return _runs[runId];
    }

    /// @notice Where `commitment` was trained (`runId` 0 if no completed run ends there).
    function trainedOn(uint256 commitment) external view returns (Trained memory) {
        return _trained[commitment];
    }

    /// @notice Runs opened so far.
    function runCount() external view returns (uint256) {
        return _nextRunId - 1;
    }

    function _checkField(uint256 v) private pure {
        if (v == 0 || v >= FIELD_MODULUS) revert NotAFieldElement(v);
    }
}
