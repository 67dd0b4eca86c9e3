// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {TestBase, Vm} from "./utils/TestBase.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {TrainingRegistry} from "../src/TrainingRegistry.sol";
import {VerifierRegistry} from "../src/VerifierRegistry.sol";
import {HashVerifier} from "./mocks/MarketMocks.sol";

/// @dev A registry with a step circuit (six public inputs, named here) and an audit-like
///      circuit with six public inputs that is not a step circuit.
abstract contract TrainingFixture is TestBase {
    bytes32 internal constant STEP = keccak256("train-step:64-32-10:b8:d11");
    bytes32 internal constant AUDIT = keccak256("audit:b8");
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant ROOT = 0xD47A;
    uint64 internal constant N = 1437;
    uint64 internal constant LR = 26;

    VerifierRegistry internal registry;
    HashVerifier internal verifier;
    TrainingRegistry internal tr;

    function setUp() public virtual {
        registry = new VerifierRegistry(address(this));
        verifier = new HashVerifier(keccak256("vk"));
        registry.register(STEP, address(verifier), keccak256("vk"), 6);
        registry.register(AUDIT, address(verifier), keccak256("vk"), 6);
        tr = new TrainingRegistry(address(this), registry);
        tr.addStepCircuit(STEP);
    }

    /// @dev The mock proof of `[cw, next, root, n, t, lr]`.
    function stepProof(uint256 cw, uint256 next, uint256 root, uint64 n, uint64 t, uint64 lr)
        internal
        view
        returns (bytes memory)
    {
        uint256[] memory inputs = new uint256[](6);
        inputs[0] = cw;
        inputs[1] = next;
        inputs[2] = root;
        inputs[3] = n;
        inputs[4] = t;
        inputs[5] = lr;
        return verifier.proofFor(inputs);
    }
}

contract TrainingRegistryTest is TrainingFixture {
    function test_threeSteps_markTheFinalCommitmentTrainedOnTheDataset() public {
        vm.expectEmit(true, true, true, true, address(tr));
        emit TrainingRegistry.RunOpened(1, address(this), STEP, 100, ROOT, N, LR, 3);
        uint256 id = tr.openRun(STEP, 100, ROOT, N, LR, 3);
        assertEq(id, 1, "first run");
        bytes memory p0 = stepProof(100, 101, ROOT, N, 0, LR);
        vm.expectEmit(true, true, false, true, address(tr));
        emit TrainingRegistry.StepVerified(id, 0, 101, address(this));
        tr.submitStep(id, 101, p0);
        // Anyone may submit the next step.
        bytes memory p1 = stepProof(101, 102, ROOT, N, 1, LR);
        vm.prank(address(0xBEEF));
        tr.submitStep(id, 102, p1);
        assertEq(tr.trainedOn(102).runId, 0, "not complete yet");
        bytes memory p2 = stepProof(102, 103, ROOT, N, 2, LR);
        vm.expectEmit(true, true, false, true, address(tr));
        emit TrainingRegistry.RunCompleted(id, 103, ROOT);
        tr.submitStep(id, 103, p2);
        TrainingRegistry.Run memory r = tr.run(id);
        assertEq(r.verified, 3, "all steps");
        assertEq(r.current, 103, "final commitment");
        assertEq(r.initial, 100, "initial commitment");
        assertEq(r.verifier, address(verifier), "pinned verifier");
        TrainingRegistry.Trained memory t = tr.trainedOn(103);
        assertEq(t.runId, id, "trained by the run");
        assertEq(t.datasetRoot, ROOT, "on its dataset");
        bytes memory p3 = stepProof(103, 104, ROOT, N, 3, LR);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.RunComplete.selector, id));
        tr.submitStep(id, 104, p3);
    }

    function test_submitStep_revertsOnASkippedStepAnotherRateOrDataset() public {
        uint256 id = tr.openRun(STEP, 100, ROOT, N, LR, 3);
        // A proof of step 1 offered as step 0 (a skipped step).
        bytes memory skipped = stepProof(100, 101, ROOT, N, 1, LR);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.InvalidProof.selector));
        tr.submitStep(id, 101, skipped);
        // Another learning rate, another dataset, another size, another start.
        bytes memory rate = stepProof(100, 101, ROOT, N, 0, LR + 1);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.InvalidProof.selector));
        tr.submitStep(id, 101, rate);
        bytes memory data = stepProof(100, 101, ROOT + 1, N, 0, LR);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.InvalidProof.selector));
        tr.submitStep(id, 101, data);
        bytes memory size = stepProof(100, 101, ROOT, N - 1, 0, LR);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.InvalidProof.selector));
        tr.submitStep(id, 101, size);
        bytes memory start = stepProof(99, 101, ROOT, N, 0, LR);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.InvalidProof.selector));
        tr.submitStep(id, 101, start);
        // The proof for 101 does not prove 102.
        bytes memory honest = stepProof(100, 101, ROOT, N, 0, LR);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.InvalidProof.selector));
        tr.submitStep(id, 102, honest);
        tr.submitStep(id, 101, honest);
        assertEq(tr.run(id).verified, 1, "one step");
    }

    function test_openRun_revertsOnCircuitsThatAreNoStepCircuits() public {
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.UnknownStepCircuit.selector, AUDIT));
        tr.openRun(AUDIT, 100, ROOT, N, LR, 3);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.NotAStepCircuit.selector, keccak256("none")));
        tr.addStepCircuit(keccak256("none"));
        bytes32 five = keccak256("five");
        registry.register(five, address(verifier), keccak256("vk"), 5);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.NotAStepCircuit.selector, five));
        tr.addStepCircuit(five);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.StepCircuitAlreadyAdded.selector, STEP));
        tr.addStepCircuit(STEP);
        vm.prank(address(0xBEEF));
        vm.expectRevert();
        tr.addStepCircuit(AUDIT);
    }

    function test_deprecatedCircuit_opensNoRunAndVerifiesNoStep() public {
        uint256 id = tr.openRun(STEP, 100, ROOT, N, LR, 2);
        tr.submitStep(id, 101, stepProof(100, 101, ROOT, N, 0, LR));
        registry.deprecate(STEP);
        bytes memory p1 = stepProof(101, 102, ROOT, N, 1, LR);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.UnknownStepCircuit.selector, STEP));
        tr.submitStep(id, 102, p1);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.UnknownStepCircuit.selector, STEP));
        tr.openRun(STEP, 100, ROOT, N, LR, 2);
        assertEq(tr.run(id).verified, 1, "history kept");
    }

    function test_openRun_revertsOnEmptyRunsAndValuesOutsideTheField() public {
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.EmptyRun.selector));
        tr.openRun(STEP, 100, ROOT, N, LR, 0);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.EmptyRun.selector));
        tr.openRun(STEP, 100, ROOT, 0, LR, 1);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.EmptyRun.selector));
        tr.openRun(STEP, 100, ROOT, N, 0, 1);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.NotAFieldElement.selector, R));
        tr.openRun(STEP, R, ROOT, N, LR, 1);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.NotAFieldElement.selector, 0));
        tr.openRun(STEP, 100, 0, N, LR, 1);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.UnknownRun.selector, 7));
        tr.submitStep(7, 101, "");
    }

    function test_trainedOn_keepsTheFirstRunThatCompletedACommitment() public {
        uint256 a = tr.openRun(STEP, 100, ROOT, N, LR, 1);
        uint256 b = tr.openRun(STEP, 200, ROOT + 1, N, LR, 1);
        tr.submitStep(a, 300, stepProof(100, 300, ROOT, N, 0, LR));
        tr.submitStep(b, 300, stepProof(200, 300, ROOT + 1, N, 0, LR));
        assertEq(tr.trainedOn(300).runId, a, "first completer");
        assertEq(tr.trainedOn(300).datasetRoot, ROOT, "its dataset");
        assertEq(tr.run(b).verified, 1, "the second run is complete too");
    }

    function test_renounceOwnership_isDisabled() public {
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.RenounceOwnershipDisabled.selector));
        tr.renounceOwnership();
    }

    function testFuzz_stepInputs_areTheRunsOwn(uint256 initial, uint256 next, uint64 lr, uint64 steps) public {
        initial = 1 + (initial % (R - 1));
        next = 1 + (next % (R - 1));
        lr = uint64(1 + (lr % 1024));
        steps = uint64(1 + (steps % 1000));
        uint256 id = tr.openRun(STEP, initial, ROOT, N, lr, steps);
        uint256[] memory inputs = tr.stepInputs(id, next);
        assertEq(inputs.length, 6, "six inputs");
        assertEq(inputs[0], initial, "C_W");
        assertEq(inputs[1], next, "C_W'");
        assertEq(inputs[2], ROOT, "R_D");
        assertEq(inputs[3], N, "N");
        assertEq(inputs[4], 0, "t");
        assertEq(inputs[5], lr, "c");
        tr.submitStep(id, next, stepProof(initial, next, ROOT, N, 0, lr));
        assertEq(tr.run(id).current, next, "advanced");
        assertEq(tr.run(id).verified, 1, "one step");
    }

    function testFuzz_submitStep_refusesEveryOtherStepNumber(uint64 t) public {
        vm.assume(t != 0);
        uint256 id = tr.openRun(STEP, 100, ROOT, N, LR, 5);
        bytes memory p = stepProof(100, 101, ROOT, N, t, LR);
        vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.InvalidProof.selector));
        tr.submitStep(id, 101, p);
    }
}

/// @dev Drives the registry with random open / submit calls. Expectations come from the
///      handler's ghost runs, never from the contract: a step the model accepts is submitted
///      directly (any revert fails the run); a step it rejects must revert with the error the
///      model names.
contract TrainingHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    TrainingRegistry public immutable tr;
    HashVerifier public immutable verifier;
    bytes32 public immutable circuit;

    struct GRun {
        uint256 root;
        uint64 n;
        uint64 lr;
        uint64 steps;
        uint64 verified;
        uint256 current;
        uint256 initial;
    }

    GRun[] internal _runs;
    mapping(uint256 => uint256) public ghostTrained; // commitment → first completing run id
    uint256[] public finals;
    uint256 public submitted;
    uint256 public rejected;

    constructor(TrainingRegistry tr_, HashVerifier verifier_, bytes32 circuit_) {
        tr = tr_;
        verifier = verifier_;
        circuit = circuit_;
    }

    function runCount() external view returns (uint256) {
        return _runs.length;
    }

    function ghost(uint256 i) external view returns (GRun memory) {
        return _runs[i];
    }

    function _proof(GRun memory g, uint256 next, uint64 t) internal view returns (bytes memory) {
        uint256[] memory inputs = new uint256[](6);
        inputs[0] = g.current;
        inputs[1] = next;
        inputs[2] = g.root;
        inputs[3] = g.n;
        inputs[4] = t;
        inputs[5] = g.lr;
        return verifier.proofFor(inputs);
    }

    function open(uint256 initial, uint256 root, uint64 n, uint64 lr, uint8 steps) external {
        initial = 1 + (initial % 1000);
        root = 1 + (root % (R - 1));
        n = uint64(1 + (n % 5000));
        lr = uint64(1 + (lr % 1024));
        uint64 s = uint64(1 + (steps % 6));
        uint256 id = tr.openRun(circuit, initial, root, n, lr, s);
        require(id == _runs.length + 1, "ids are consecutive");
        _runs.push(GRun({root: root, n: n, lr: lr, steps: s, verified: 0, current: initial, initial: initial}));
    }

    /// @dev `mode` 0 honest, 1 a skipped step number, 2 another rate, 3 another next.
    function submit(uint256 which, uint256 next, uint8 mode) external {
        if (_runs.length == 0) return;
        uint256 i = which % _runs.length;
        GRun storage g = _runs[i];
        next = 1 + (next % 1000);
        if (g.verified == g.steps) {
            bytes memory any = _proof(g, next, g.verified);
            vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.RunComplete.selector, i + 1));
            tr.submitStep(i + 1, next, any);
            rejected++;
            return;
        }
        mode = mode % 4;
        GRun memory forged = g;
        uint64 t = g.verified;
        if (mode == 1) t = t + 1;
        if (mode == 2) forged.lr = g.lr + 1;
        bytes memory p = _proof(forged, mode == 3 ? next + 1 : next, t);
        if (mode != 0) {
            vm.expectRevert(abi.encodeWithSelector(TrainingRegistry.InvalidProof.selector));
            tr.submitStep(i + 1, next, p);
            rejected++;
            return;
        }
        tr.submitStep(i + 1, next, p);
        g.current = next;
        g.verified += 1;
        submitted++;
        if (g.verified == g.steps) {
            if (ghostTrained[next] == 0) {
                ghostTrained[next] = i + 1;
                finals.push(next);
            }
        }
    }

    function finalCount() external view returns (uint256) {
        return finals.length;
    }
}

/// forge-config: default.invariant.runs = 64
/// forge-config: default.invariant.depth = 48
/// forge-config: default.invariant.fail-on-revert = true
contract TrainingRegistryInvariantTest is TrainingFixture, InvariantBase {
    TrainingHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new TrainingHandler(tr, verifier, STEP);
        targetContract(address(handler));
    }

    /// @dev Every run is the handler's ghost run: same data, rate, steps, progress, weights.
    function invariant_runsAreTheGhostRuns() public view {
        uint256 n = handler.runCount();
        assertEq(tr.runCount(), n, "run count");
        for (uint256 i = 0; i < n; ++i) {
            TrainingHandler.GRun memory g = handler.ghost(i);
            TrainingRegistry.Run memory r = tr.run(i + 1);
            assertEq(r.datasetRoot, g.root, "root");
            assertEq(r.datasetSize, g.n, "size");
            assertEq(r.learningRate, g.lr, "rate");
            assertEq(r.steps, g.steps, "steps");
            assertEq(r.verified, g.verified, "verified");
            assertEq(r.current, g.current, "current");
            assertEq(r.initial, g.initial, "initial");
            assertTrue(r.verified <= r.steps, "never past the end");
        }
    }

    /// @dev A commitment is marked trained exactly when a ghost run completed it first.
    function invariant_trainedMarksAreTheFirstCompletions() public view {
        uint256 m = handler.finalCount();
        for (uint256 i = 0; i < m; ++i) {
            uint256 c = handler.finals(i);
            TrainingRegistry.Trained memory t = tr.trainedOn(c);
            assertEq(t.runId, handler.ghostTrained(c), "first completer");
            assertEq(t.datasetRoot, handler.ghost(t.runId - 1).root, "its dataset");
        }
    }
}
