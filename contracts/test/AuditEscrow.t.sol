// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {AuditFixture} from "./utils/AuditFixture.sol";
import {AuditEvents} from "./utils/AuditEvents.sol";
import {AuditEscrow} from "../src/AuditEscrow.sol";
import {IAuditEscrow} from "../src/interfaces/IAuditEscrow.sol";
import {IAuditModelRegistry} from "../src/interfaces/IAuditModelRegistry.sol";
import {IProofVerifier} from "../src/interfaces/IProofVerifier.sol";
import {ProofVerifierAdapter} from "../src/ProofVerifierAdapter.sol";
import {HashVerifier, ConstVerifier} from "./mocks/MarketMocks.sol";
import {MockRawVerifier} from "./mocks/MockVerifiers.sol";
import {RecordingVerifier, MutableAuditRegistry} from "./mocks/AuditMocks.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @dev Rejects every ether transfer.
contract RejectsEther {
    receive() external payable {
        revert("no ether");
    }
}

/// @dev A provider contract whose receive() re-enters the escrow (withdraw, finalize, accept)
///      and records the first re-entry's revert data.
contract ReenteringProvider {
    AuditEscrow public immutable escrow;
    bytes public lastError;
    uint256 public successes;

    constructor(AuditEscrow escrow_) {
        escrow = escrow_;
    }

    function accept(uint256 id, bytes32 share) external payable {
        escrow.accept{value: msg.value}(id, share);
    }

    function withdraw() external returns (uint256) {
        return escrow.withdraw();
    }

    receive() external payable {
        bytes[3] memory calls = [
            abi.encodeCall(escrow.withdraw, ()),
            abi.encodeCall(escrow.finalize, (1)),
            abi.encodeCall(escrow.accept, (1, bytes32(0)))
        ];
        for (uint256 i = 0; i < calls.length; ++i) {
            (bool ok, bytes memory err) = address(escrow).call(calls[i]);
            if (ok) successes++;
            else if (i == 0) lastError = err;
        }
    }
}

contract AuditEscrowTest is AuditFixture, AuditEvents {
    /// @dev 2^d, the largest dataset of the fixture's circuit.
    uint256 internal constant MAX_N = 2 ** D;

    // ================================================================ happy paths and outcomes

    function test_passPathCreditsBountyAndBondToProvider() public {
        (uint256 id, uint256 seed) = toProving();
        assertEq(address(escrow).balance, BOUNTY + BOND, "escrowed");
        submitAll(id, seed, [uint256(4), 4, 3]); // 11 of 12 ≥ 0.9·12
        assertEq(escrow.withdrawable(PROVIDER), 0, "no payout before finalize");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit AuditFinalized(id, IAuditEscrow.Outcome.Passed, 11, 12, 12, N_SAMPLES);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Credited(PROVIDER, id, BOUNTY + BOND);
        vm.prank(STRANGER);
        escrow.finalize(id);

        IAuditEscrow.Audit memory a = escrow.getAudit(id);
        assertTrue(a.status == IAuditEscrow.Status.Finalized, "finalized");
        assertTrue(a.outcome == IAuditEscrow.Outcome.Passed, "passed");
        assertEq(escrow.withdrawable(PROVIDER), BOUNTY + BOND, "provider credit");
        assertEq(escrow.withdrawable(REQUESTER), 0, "requester credit");
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Withdrawn(PROVIDER, PROVIDER, BOUNTY + BOND);
        vm.prank(PROVIDER);
        assertEq(escrow.withdraw(), BOUNTY + BOND, "withdrawn");
        assertEq(PROVIDER.balance, BOUNTY + BOND, "provider paid");
        assertEq(address(escrow).balance, 0, "escrow empty");
    }

    function test_failPathPaysFeeAndReturnsBond() public {
        (uint256 id, uint256 seed) = toProving();
        submitAll(id, seed, [uint256(4), 3, 3]); // 10 of 12 < 10.8
        vm.expectEmit(true, true, true, true, address(escrow));
        emit AuditFinalized(id, IAuditEscrow.Outcome.Failed, 10, 12, 12, N_SAMPLES);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Credited(PROVIDER, id, FEE + BOND);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Credited(REQUESTER, id, BOUNTY - FEE);
        escrow.finalize(id);
        assertTrue(escrow.getAudit(id).outcome == IAuditEscrow.Outcome.Failed, "failed");
        assertEq(escrow.withdrawable(PROVIDER), FEE + BOND, "provider: fee + bond");
        assertEq(escrow.withdrawable(REQUESTER), BOUNTY - FEE, "requester: the rest");
        vm.prank(REQUESTER);
        escrow.withdraw();
        vm.prank(PROVIDER);
        escrow.withdraw();
        assertEq(address(escrow).balance, 0, "escrow empty");
    }

    function test_notAcceptedRefundsBounty() public {
        uint256 id = createDefault();
        vm.warp(T0 + ACCEPT_IN);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit AuditFinalized(id, IAuditEscrow.Outcome.NotAccepted, 0, 0, 12, N_SAMPLES);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Credited(REQUESTER, id, BOUNTY);
        escrow.finalize(id);
        assertEq(escrow.withdrawable(REQUESTER), BOUNTY, "refund");
        assertEq(escrow.withdrawable(PROVIDER), 0, "provider");
    }

    function test_notRevealedPaysFeeAndBondToProvider() public {
        uint256 id = createDefault();
        doAccept(id, BOND);
        uint256 last = acceptBlockOf[id] + 257;
        assertEq(escrow.lastRevealBlockOf(u64(acceptBlockOf[id])), last, "last reveal block");
        vm.roll(last);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.RevealWindowOpen.selector, id, last, last));
        escrow.finalize(id);
        vm.roll(last + 1);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit AuditFinalized(id, IAuditEscrow.Outcome.NotRevealed, 0, 0, 12, N_SAMPLES);
        escrow.finalize(id);
        assertEq(escrow.withdrawable(PROVIDER), FEE + BOND, "provider: fee + bond");
        assertEq(escrow.withdrawable(REQUESTER), BOUNTY - FEE, "requester: the rest");
    }

    function test_notProvenSlashesBondToRequester() public {
        (uint256 id, uint256 seed) = toProving();
        submit(id, seed, 0, 4);
        submit(id, seed, 2, 4);
        uint64 deadline = escrow.getAudit(id).proveDeadline;
        vm.warp(deadline - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditEscrow.ProvingNotFinished.selector, id, 2, M, deadline, deadline - 1)
        );
        escrow.finalize(id);
        vm.warp(deadline);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit AuditFinalized(id, IAuditEscrow.Outcome.NotProven, 8, 8, 12, N_SAMPLES);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Credited(REQUESTER, id, BOUNTY + BOND);
        escrow.finalize(id);
        assertEq(escrow.withdrawable(REQUESTER), BOUNTY + BOND, "requester: bounty + bond");
        assertEq(escrow.withdrawable(PROVIDER), 0, "provider slashed");
    }

    /// A late finalize of a fully proven audit still judges the proofs.
    function test_allBatchesInThenDeadlinePassedStillPassOrFail() public {
        (uint256 id, uint256 seed) = toProving();
        submitAll(id, seed, [uint256(4), 4, 4]);
        vm.warp(T0 + 365 days);
        escrow.finalize(id);
        assertTrue(escrow.getAudit(id).outcome == IAuditEscrow.Outcome.Passed, "passed");
    }

    function test_zeroFeeZeroBondCreditsNothingEmpty() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.fee = 0;
        t.providerBond = 0;
        uint256 id = create(t, BOUNTY);
        doAccept(id, 0);
        uint256 seed = doReveal(id);
        submitAll(id, seed, [uint256(0), 0, 0]);
        escrow.finalize(id);
        assertEq(escrow.withdrawable(PROVIDER), 0, "nothing for the provider");
        assertEq(escrow.withdrawable(REQUESTER), BOUNTY, "whole bounty back");
    }

    /// θ = 0 passes with no correct prediction; θ = 1 needs all m·b.
    function test_thresholdExtremes() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.thetaNum = 0;
        uint256 id = create(t, BOUNTY);
        doAccept(id, BOND);
        uint256 seed = doReveal(id);
        submitAll(id, seed, [uint256(0), 0, 0]);
        escrow.finalize(id);
        assertTrue(escrow.getAudit(id).outcome == IAuditEscrow.Outcome.Passed, "theta 0 passes");

        t = defaultTerms();
        t.thetaNum = 7;
        t.thetaDen = 7;
        id = create(t, BOUNTY);
        doAccept(id, BOND);
        seed = doReveal(id);
        submitAll(id, seed, [uint256(4), 4, 3]);
        escrow.finalize(id);
        assertTrue(escrow.getAudit(id).outcome == IAuditEscrow.Outcome.Failed, "theta 1 needs all");
    }

    /// The pass rule counts n_eff = m·b, not n: with n = 10, b = 4, 9 correct of 12 is 75 %.
    function test_passRuleUsesMTimesB() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.thetaNum = 9;
        t.thetaDen = 10;
        uint256 id = create(t, BOUNTY);
        doAccept(id, BOND);
        uint256 seed = doReveal(id);
        submitAll(id, seed, [uint256(4), 4, 2]); // 10/10 of n would pass; 10/12 does not
        escrow.finalize(id);
        assertTrue(escrow.getAudit(id).outcome == IAuditEscrow.Outcome.Failed, "judged on m*b");
        assertTrue(escrow.passes(11, 12, 9, 10), "11/12 passes");
        assertFalse(escrow.passes(10, 12, 9, 10), "10/12 fails");
        assertTrue(escrow.passes(9, 10, 9, 10), "boundary is inclusive");
    }

    // ================================================================ creation and pinning

    function test_createPinsModelAndStoresTerms() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        vm.deal(REQUESTER, BOUNTY);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit AuditCreated(1, modelId, REQUESTER, PROVIDER, BOUNTY, M, t);
        vm.prank(REQUESTER);
        uint256 id = escrow.createAudit{value: BOUNTY}(t);
        assertEq(id, 1, "first id");
        assertEq(escrow.auditCount(), 1, "count");
        IAuditEscrow.Audit memory a = escrow.getAudit(id);
        assertEq(a.requester, REQUESTER, "requester");
        assertTrue(a.status == IAuditEscrow.Status.Created, "created");
        assertTrue(a.outcome == IAuditEscrow.Outcome.None, "no outcome");
        assertEq(a.acceptDeadline, T0 + ACCEPT_IN, "accept deadline");
        assertEq(a.provider, PROVIDER, "provider pinned");
        assertEq(a.verifier, address(verifier), "verifier pinned");
        assertEq(a.vkDigest, AUDIT_VK, "vk pinned");
        assertEq(a.weightsCommitment, C_W, "C_W pinned");
        assertEq(a.batchSize, B, "b pinned");
        assertEq(a.treeDepth, D, "d pinned");
        assertEq(a.modelId, modelId, "model");
        assertEq(a.datasetRoot, R_D, "R_D");
        assertEq(a.datasetSize, N_DATA, "N");
        assertEq(a.numSamples, N_SAMPLES, "n");
        assertEq(a.numBatches, M, "m = ceil(n/b)");
        assertEq(a.thetaNum, THETA_NUM, "theta num");
        assertEq(a.thetaDen, THETA_DEN, "theta den");
        assertEq(a.proveWindow, PROVE_WINDOW, "prove window");
        assertEq(a.seedCommitment, commitmentOf(REQUESTER, SECRET), "h_R");
        assertEq(a.bounty, BOUNTY, "bounty");
        assertEq(a.fee, FEE, "fee");
        assertEq(a.providerBond, BOND, "bond");
        assertEq(a.acceptBlock, 0, "not accepted");
        assertEq(a.proveDeadline, 0, "no prove deadline");
        assertEq(a.seed, 0, "no seed");
        assertEq(address(escrow).balance, BOUNTY, "bounty escrowed");
    }

    /// Registry changes after creation (another verifier, C_W, provider, b, d; retirement) do
    /// not touch an open audit: it settles with what it pinned.
    function test_registryChangesAfterCreationDoNotAffectAudit() public {
        MutableAuditRegistry mreg = new MutableAuditRegistry();
        AuditEscrow e = new AuditEscrow(address(mreg));
        mreg.set(7, IAuditModelRegistry.AuditModel(PROVIDER, address(verifier), AUDIT_VK, C_W, B, D, CIRCUIT_ID, true));
        escrow = e;
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.modelId = 7;
        uint256 id = create(t, BOUNTY);
        HashVerifier other = new HashVerifier(keccak256("other vk"));
        mreg.set(
            7,
            IAuditModelRegistry.AuditModel(STRANGER, address(other), keccak256("other vk"), 1, 8, 3, CIRCUIT_ID, false)
        );

        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.NotProvider.selector, STRANGER, PROVIDER));
        e.accept(id, SHARE);
        doAccept(id, BOND);
        uint256 seed = doReveal(id);
        submitAll(id, seed, [uint256(4), 4, 4]); // proofs for the pinned verifier, C_W and b
        e.finalize(id);
        assertEq(e.withdrawable(PROVIDER), BOUNTY + BOND, "pinned provider paid");
    }

    function test_retiredModelOrDeprecatedCircuitKeepsOpenAuditsGoing() public {
        uint256 id1 = createDefault();
        uint256 id2 = createDefault();
        vm.prank(PROVIDER);
        registry.retireModel(modelId);
        registry.deprecateCircuit(CIRCUIT_ID);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.ModelNotActive.selector, modelId));
        create(defaultTerms(), BOUNTY);
        doAccept(id1, BOND);
        doAccept(id2, BOND);
        uint256 seed = doReveal(id1);
        submitAll(id1, seed, [uint256(4), 4, 4]);
        escrow.finalize(id1);
        assertTrue(escrow.getAudit(id1).outcome == IAuditEscrow.Outcome.Passed, "still settles");
    }

    function testFuzz_numBatchesCoverSamples(uint64 n, uint32 b) public {
        n = uint64(bound(n, 1, escrow.MAX_SAMPLES()));
        b = uint32(bound(b, 1, type(uint32).max));
        MutableAuditRegistry mreg = new MutableAuditRegistry();
        escrow = new AuditEscrow(address(mreg));
        mreg.set(1, IAuditModelRegistry.AuditModel(PROVIDER, address(verifier), AUDIT_VK, C_W, b, D, CIRCUIT_ID, true));
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.modelId = 1;
        t.numSamples = n;
        uint256 id = create(t, BOUNTY);
        IAuditEscrow.Audit memory a = escrow.getAudit(id);
        uint256 m = a.numBatches;
        assertGe(m * b, n, "m*b >= n");
        assertTrue((m - 1) * b < n, "m is the least such");
    }

    // ================================================================ accept

    function test_acceptRecordsBlockShareAndBond() public {
        uint256 id = createDefault();
        vm.roll(B0 + 5);
        vm.deal(PROVIDER, BOND);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit AuditAccepted(id, PROVIDER, SHARE, BOND, u64(B0 + 5));
        vm.prank(PROVIDER);
        escrow.accept{value: BOND}(id, SHARE);
        IAuditEscrow.Audit memory a = escrow.getAudit(id);
        assertTrue(a.status == IAuditEscrow.Status.Accepted, "accepted");
        assertEq(a.acceptBlock, B0 + 5, "accept block");
        assertEq(a.providerShare, SHARE, "s_P");
        assertEq(address(escrow).balance, BOUNTY + BOND, "bond escrowed");
    }

    function test_RevertWhen_acceptUnknownAudit() public {
        vm.prank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.AuditNotFound.selector, 1));
        escrow.accept(1, SHARE);
    }

    function test_RevertWhen_acceptByNonProvider() public {
        uint256 id = createDefault();
        vm.deal(STRANGER, BOND);
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.NotProvider.selector, STRANGER, PROVIDER));
        escrow.accept{value: BOND}(id, SHARE);
    }

    function test_RevertWhen_acceptTwice() public {
        uint256 id = createDefault();
        doAccept(id, BOND);
        vm.deal(PROVIDER, BOND);
        vm.prank(PROVIDER);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditEscrow.UnexpectedStatus.selector, id, IAuditEscrow.Status.Accepted)
        );
        escrow.accept{value: BOND}(id, SHARE);
    }

    function test_RevertWhen_acceptAtDeadline() public {
        uint256 id = createDefault();
        vm.warp(T0 + ACCEPT_IN);
        vm.deal(PROVIDER, BOND);
        vm.prank(PROVIDER);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditEscrow.AcceptDeadlinePassed.selector, id, u64(T0 + ACCEPT_IN), T0 + ACCEPT_IN)
        );
        escrow.accept{value: BOND}(id, SHARE);
    }

    function test_RevertWhen_acceptAfterExpiry() public {
        uint256 id = createDefault();
        vm.warp(T0 + ACCEPT_IN);
        escrow.finalize(id);
        vm.prank(PROVIDER);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditEscrow.UnexpectedStatus.selector, id, IAuditEscrow.Status.Finalized)
        );
        escrow.accept(id, SHARE);
    }

    function testFuzz_RevertWhen_acceptWrongBond(uint256 sent) public {
        sent = bound(sent, 0, 100 ether);
        vm.assume(sent != BOND);
        uint256 id = createDefault();
        vm.deal(PROVIDER, sent);
        vm.prank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.IncorrectBond.selector, BOND, sent));
        escrow.accept{value: sent}(id, SHARE);
    }

    function testFuzz_acceptOnlyBeforeDeadline(uint256 dt) public {
        dt = bound(dt, 0, 2 * ACCEPT_IN);
        uint256 id = createDefault();
        vm.warp(T0 + dt);
        vm.deal(PROVIDER, BOND);
        vm.prank(PROVIDER);
        if (dt < ACCEPT_IN) {
            escrow.accept{value: BOND}(id, SHARE);
            assertTrue(escrow.getAudit(id).status == IAuditEscrow.Status.Accepted, "accepted");
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(IAuditEscrow.AcceptDeadlinePassed.selector, id, u64(T0 + ACCEPT_IN), T0 + dt)
            );
            escrow.accept{value: BOND}(id, SHARE);
        }
    }

    // ================================================================ seed

    function test_revealComputesSeedFromSecretsAndBlockhash() public {
        uint256 id = createDefault();
        doAccept(id, BOND);
        vm.roll(acceptBlockOf[id] + 2);
        vm.setBlockhash(acceptBlockOf[id] + 1, keccak256("the seed block"));
        uint256 seed = seedFor(escrow, id, SECRET, SHARE, keccak256("the seed block"));
        assertEq(escrow.seedOf(id, SECRET, SHARE, keccak256("the seed block")), seed, "seedOf view");
        vm.warp(T0 + 100);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit SeedRevealed(id, SECRET, seed, u64(T0 + 100 + PROVE_WINDOW));
        vm.prank(REQUESTER);
        escrow.revealSeed(id, SECRET);
        IAuditEscrow.Audit memory a = escrow.getAudit(id);
        assertTrue(a.status == IAuditEscrow.Status.Proving, "proving");
        assertEq(a.seed, seed, "seed stored");
        assertEq(a.proveDeadline, T0 + 100 + PROVE_WINDOW, "prove deadline from the reveal");
    }

    function test_seedCommitmentIsKeccakOfRequesterAndSecret() public view {
        assertEq(escrow.seedCommitment(REQUESTER, SECRET), keccak256(abi.encode(REQUESTER, SECRET)), "h_R");
    }

    /// The same secrets and block give another seed on another deployment or chain.
    function test_seedBindsChainContractAndAudit() public {
        AuditEscrow other = new AuditEscrow(address(registry));
        bytes32 bh = keccak256("bh");
        uint256 s = escrow.seedOf(1, SECRET, SHARE, bh);
        assertTrue(s != other.seedOf(1, SECRET, SHARE, bh), "deployment");
        assertTrue(s != escrow.seedOf(2, SECRET, SHARE, bh), "audit id");
        assertTrue(s != escrow.seedOf(1, SECRET, SHARE, keccak256("bh2")), "block hash");
        vm.chainId(999);
        assertTrue(s != escrow.seedOf(1, SECRET, SHARE, bh), "chain");
        assertEq(escrow.seedOf(1, SECRET, SHARE, bh), seedFor(escrow, 1, SECRET, SHARE, bh), "formula");
    }

    function testFuzz_seedBelowModulus(uint256 id, bytes32 sR, bytes32 sP, bytes32 bh) public view {
        uint256 s = escrow.seedOf(id, sR, sP, bh);
        assertTrue(s < R, "seed < r");
        assertEq(s, seedFor(escrow, id, sR, sP, bh), "formula");
    }

    function test_revealAtLastBlockOfWindow() public {
        uint256 id = createDefault();
        doAccept(id, BOND);
        vm.roll(acceptBlockOf[id] + 257);
        uint256 seed = expectedSeed(id);
        assertTrue(blockhash(acceptBlockOf[id] + 1) != bytes32(0), "hash still available");
        vm.prank(REQUESTER);
        escrow.revealSeed(id, SECRET);
        assertEq(escrow.getAudit(id).seed, seed, "seed");
    }

    function testFuzz_revealOnlyInsideBlockhashWindow(uint256 blocksAfter) public {
        blocksAfter = bound(blocksAfter, 0, 600);
        uint256 id = createDefault();
        doAccept(id, BOND);
        uint256 ab = acceptBlockOf[id];
        vm.roll(ab + blocksAfter);
        vm.prank(REQUESTER);
        if (blocksAfter < 2) {
            vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.RevealTooEarly.selector, id, ab + 2, ab + blocksAfter));
            escrow.revealSeed(id, SECRET);
        } else if (blocksAfter > 257) {
            vm.expectRevert(
                abi.encodeWithSelector(IAuditEscrow.BlockhashUnavailable.selector, id, ab + 1, ab + blocksAfter)
            );
            escrow.revealSeed(id, SECRET);
            escrow.finalize(id); // the window is closed for good
            assertTrue(escrow.getAudit(id).outcome == IAuditEscrow.Outcome.NotRevealed, "not revealed");
        } else {
            escrow.revealSeed(id, SECRET);
            assertTrue(escrow.getAudit(id).status == IAuditEscrow.Status.Proving, "revealed");
        }
    }

    function test_RevertWhen_revealInAcceptBlockOrNext() public {
        uint256 id = createDefault();
        doAccept(id, BOND);
        uint256 ab = acceptBlockOf[id];
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.RevealTooEarly.selector, id, ab + 2, ab));
        escrow.revealSeed(id, SECRET);
        vm.roll(ab + 1);
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.RevealTooEarly.selector, id, ab + 2, ab + 1));
        escrow.revealSeed(id, SECRET);
    }

    /// A chain that answers blockhash with zero inside the window: the reveal reverts clearly.
    function test_RevertWhen_revealBlockhashZero() public {
        uint256 id = createDefault();
        doAccept(id, BOND);
        uint256 ab = acceptBlockOf[id];
        vm.roll(ab + 10);
        vm.setBlockhash(ab + 1, bytes32(0));
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.BlockhashUnavailable.selector, id, ab + 1, ab + 10));
        escrow.revealSeed(id, SECRET);
    }

    function test_RevertWhen_revealWrongSecret() public {
        uint256 id = createDefault();
        doAccept(id, BOND);
        vm.roll(acceptBlockOf[id] + 2);
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.SecretMismatch.selector, id));
        escrow.revealSeed(id, keccak256("another secret"));
    }

    /// h_R binds the requester: a commitment copied from another requester cannot be opened
    /// by the copier, even once the secret is public.
    function test_RevertWhen_revealCommitmentCopiedFromAnotherRequester() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms(); // h_R of REQUESTER's secret
        vm.deal(STRANGER, BOUNTY);
        vm.prank(STRANGER);
        uint256 id = escrow.createAudit{value: BOUNTY}(t);
        doAccept(id, BOND);
        vm.roll(acceptBlockOf[id] + 2);
        vm.prank(STRANGER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.SecretMismatch.selector, id));
        escrow.revealSeed(id, SECRET);
    }

    function test_RevertWhen_revealByNonRequester() public {
        uint256 id = createDefault();
        doAccept(id, BOND);
        vm.roll(acceptBlockOf[id] + 2);
        vm.prank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.NotRequester.selector, PROVIDER, REQUESTER));
        escrow.revealSeed(id, SECRET);
    }

    function test_RevertWhen_revealBeforeAcceptOrTwice() public {
        uint256 id = createDefault();
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.UnexpectedStatus.selector, id, IAuditEscrow.Status.Created));
        escrow.revealSeed(id, SECRET);
        doAccept(id, BOND);
        doReveal(id);
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.UnexpectedStatus.selector, id, IAuditEscrow.Status.Proving));
        escrow.revealSeed(id, SECRET);
    }

    function test_RevertWhen_revealUnknownAudit() public {
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.AuditNotFound.selector, 5));
        escrow.revealSeed(5, SECRET);
    }

    // ================================================================ batches

    function test_submitBatchCountsAndEmits() public {
        (uint256 id, uint256 seed) = toProving();
        bytes memory proof = batchProof(seed, 1, 3);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit BatchSubmitted(id, 1, STRANGER, 3, 1, 3);
        vm.prank(STRANGER);
        escrow.submitBatch(id, 1, 3, proof);
        assertTrue(escrow.isBatchSubmitted(id, 1), "batch 1 in");
        assertFalse(escrow.isBatchSubmitted(id, 0), "batch 0 not");
        IAuditEscrow.Audit memory a = escrow.getAudit(id);
        assertEq(a.batchesSubmitted, 1, "one batch");
        assertEq(a.totalCorrect, 3, "total");
        assertEq(address(escrow).balance, BOUNTY + BOND, "no payout");
    }

    /// The verifier is handed exactly [C_W, R_D, N, seed, batchIdx·b, count], in this order,
    /// with the submitted proof bytes (checked by the call itself and by what it recorded).
    function test_verifierGetsExactlyTheSixInputsInOrder() public {
        RecordingVerifier rec = new RecordingVerifier();
        MutableAuditRegistry mreg = new MutableAuditRegistry();
        escrow = new AuditEscrow(address(mreg));
        mreg.set(3, IAuditModelRegistry.AuditModel(PROVIDER, address(rec), AUDIT_VK, C_W, B, D, CIRCUIT_ID, true));
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.modelId = 3;
        t.numSamples = 40; // m = 10
        uint256 id = create(t, BOUNTY);
        doAccept(id, BOND);
        uint256 seed = doReveal(id);

        uint256[] memory expected = inputs(C_W, R_D, N_DATA, seed, 7 * B, 2);
        assertEq(escrow.batchPublicInputs(id, 7, 2), expected, "view layout");
        bytes memory proof = hex"deadbeef";
        vm.expectCall(address(rec), abi.encodeCall(IProofVerifier.verifyProof, (proof, expected)), 1);
        vm.expectRevert(abi.encodeWithSelector(RecordingVerifier.Seen.selector, proof, expected));
        escrow.submitBatch(id, 7, 2, proof);
    }

    /// Proofs for any other statement than the rebuilt one are rejected: another seed,
    /// another C_W, another R_D, another N, another batch index, another count.
    function test_RevertWhen_proofMadeForAnotherStatement() public {
        (uint256 id, uint256 seed) = toProving();
        bytes[6] memory wrong = [
            proofFor(AUDIT_VK, inputs(C_W, R_D, N_DATA, (seed + 1) % R, B, 2)),
            proofFor(AUDIT_VK, inputs(C_W + 1, R_D, N_DATA, seed, B, 2)),
            proofFor(AUDIT_VK, inputs(C_W, R_D + 1, N_DATA, seed, B, 2)),
            proofFor(AUDIT_VK, inputs(C_W, R_D, N_DATA + 1, seed, B, 2)),
            proofFor(AUDIT_VK, inputs(C_W, R_D, N_DATA, seed, 2 * B, 2)),
            proofFor(AUDIT_VK, inputs(C_W, R_D, N_DATA, seed, B, 3))
        ];
        for (uint256 i = 0; i < wrong.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.InvalidProof.selector, id, 1));
            escrow.submitBatch(id, 1, 2, wrong[i]);
        }
        escrow.submitBatch(id, 1, 2, batchProof(seed, 1, 2));
    }

    /// A proof made for one audit's seed cannot settle another audit of the same model and
    /// dataset (a different seed).
    function test_RevertWhen_proofReplayedOnAnotherAudit() public {
        (uint256 id1, uint256 seed1) = toProving();
        (uint256 id2,) = toProving();
        bytes memory proof = batchProof(seed1, 0, 4);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.InvalidProof.selector, id2, 0));
        escrow.submitBatch(id2, 0, 4, proof);
        escrow.submitBatch(id1, 0, 4, proof);
    }

    function test_RevertWhen_batchSubmittedTwice() public {
        (uint256 id, uint256 seed) = toProving();
        submit(id, seed, 2, 1);
        bytes memory again = batchProof(seed, 2, 1);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.BatchAlreadySubmitted.selector, id, 2));
        escrow.submitBatch(id, 2, 1, again);
        bytes memory other = batchProof(seed, 2, 4);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.BatchAlreadySubmitted.selector, id, 2));
        escrow.submitBatch(id, 2, 4, other);
        assertEq(escrow.getAudit(id).totalCorrect, 1, "counted once");
    }

    function testFuzz_RevertWhen_countAboveBatchSize(uint256 count) public {
        count = bound(count, B + 1, type(uint256).max);
        (uint256 id, uint256 seed) = toProving();
        bytes memory proof = batchProof(seed, 0, count);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.CountAboveBatchSize.selector, count, B));
        escrow.submitBatch(id, 0, count, proof);
    }

    function testFuzz_RevertWhen_batchIndexOutOfRange(uint256 idx) public {
        idx = bound(idx, M, type(uint256).max);
        (uint256 id,) = toProving();
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.BatchIndexOutOfRange.selector, id, idx, M));
        escrow.submitBatch(id, idx, 0, "");
    }

    function test_RevertWhen_submitAtProveDeadline() public {
        (uint256 id, uint256 seed) = toProving();
        uint64 deadline = escrow.getAudit(id).proveDeadline;
        vm.warp(deadline);
        bytes memory proof = batchProof(seed, 0, 4);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.ProveDeadlinePassed.selector, id, deadline, deadline));
        escrow.submitBatch(id, 0, 4, proof);
        vm.warp(deadline - 1);
        escrow.submitBatch(id, 0, 4, proof);
    }

    function test_RevertWhen_submitBeforeRevealOrAfterFinalize() public {
        uint256 id = createDefault();
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.UnexpectedStatus.selector, id, IAuditEscrow.Status.Created));
        escrow.submitBatch(id, 0, 0, "");
        doAccept(id, BOND);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditEscrow.UnexpectedStatus.selector, id, IAuditEscrow.Status.Accepted)
        );
        escrow.submitBatch(id, 0, 0, "");
        uint256 seed = doReveal(id);
        submitAll(id, seed, [uint256(4), 4, 4]);
        escrow.finalize(id);
        bytes memory proof = batchProof(seed, 0, 4);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditEscrow.UnexpectedStatus.selector, id, IAuditEscrow.Status.Finalized)
        );
        escrow.submitBatch(id, 0, 4, proof);
    }

    function test_RevertWhen_submitUnknownAudit() public {
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.AuditNotFound.selector, 9));
        escrow.submitBatch(9, 0, 0, "");
    }

    function test_RevertWhen_verifierSaysNo() public {
        ConstVerifier no = new ConstVerifier(false);
        MutableAuditRegistry mreg = new MutableAuditRegistry();
        escrow = new AuditEscrow(address(mreg));
        mreg.set(1, IAuditModelRegistry.AuditModel(PROVIDER, address(no), AUDIT_VK, C_W, B, D, CIRCUIT_ID, true));
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.modelId = 1;
        uint256 id = create(t, BOUNTY);
        doAccept(id, BOND);
        doReveal(id);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.InvalidProof.selector, id, 0));
        escrow.submitBatch(id, 0, 0, "");
    }

    /// Behind a real {ProofVerifierAdapter}: a proof of the wrong length bubbles the adapter's
    /// error; the right bytes verify against the six inputs packed before the proof.
    function test_submitThroughAdapter() public {
        MutableAuditRegistry mreg = new MutableAuditRegistry();
        AuditEscrow e = new AuditEscrow(address(mreg));
        escrow = e;
        // The raw verifier expects fixed calldata, seed included, and is pinned at creation:
        // read blockhash(acceptBlock + 1) ahead (forge's block hashes depend on the number only).
        uint256 ab = block.number;
        vm.roll(ab + 2);
        bytes32 bh = blockhash(ab + 1);
        vm.roll(ab);
        uint256 seed = seedFor(e, 1, SECRET, SHARE, bh);
        bytes memory proof = hex"0102030405060708";
        MockRawVerifier raw = new MockRawVerifier(abi.encodePacked(inputs(C_W, R_D, N_DATA, seed, 0, 3), proof));
        ProofVerifierAdapter adapter = new ProofVerifierAdapter(address(raw), 6, proof.length, AUDIT_VK, 1_000_000);
        mreg.set(1, IAuditModelRegistry.AuditModel(PROVIDER, address(adapter), AUDIT_VK, C_W, B, D, CIRCUIT_ID, true));
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.modelId = 1;
        uint256 id = create(t, BOUNTY);
        assertEq(id, 1, "first audit");
        doAccept(id, BOND);
        assertEq(acceptBlockOf[id], ab, "accept block");
        assertEq(doReveal(id), seed, "seed");
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.ProofLengthMismatch.selector, 8, 9));
        e.submitBatch(id, 0, 3, bytes.concat(proof, hex"00"));
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.InvalidProof.selector, id, 0));
        e.submitBatch(id, 0, 2, proof);
        e.submitBatch(id, 0, 3, proof);
        assertEq(e.getAudit(id).totalCorrect, 3, "counted");
    }

    function test_RevertWhen_batchPublicInputsBeforeReveal() public {
        uint256 id = createDefault();
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.SeedNotRevealed.selector, id));
        escrow.batchPublicInputs(id, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.AuditNotFound.selector, 2));
        escrow.batchPublicInputs(2, 0, 0);
        doAccept(id, BOND);
        uint256 seed = doReveal(id);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.BatchIndexOutOfRange.selector, id, M, M));
        escrow.batchPublicInputs(id, M, 0);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.CountAboveBatchSize.selector, B + 1, B));
        escrow.batchPublicInputs(id, 0, B + 1);
        assertEq(escrow.batchPublicInputs(id, 2, 4), inputs(C_W, R_D, N_DATA, seed, 8, 4), "layout");
    }

    /// Batches past the first bitmap word (index ≥ 256) are tracked independently.
    function test_bitmapAcrossWords() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.numSamples = 300 * B; // m = 300
        uint256 id = create(t, BOUNTY);
        doAccept(id, BOND);
        uint256 seed = doReveal(id);
        submit(id, seed, 0, 1);
        submit(id, seed, 256, 2);
        submit(id, seed, 299, 3);
        assertTrue(escrow.isBatchSubmitted(id, 0) && escrow.isBatchSubmitted(id, 256), "set");
        assertFalse(escrow.isBatchSubmitted(id, 1) || escrow.isBatchSubmitted(id, 257), "unset");
        bytes memory p = batchProof(seed, 256, 2);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.BatchAlreadySubmitted.selector, id, 256));
        escrow.submitBatch(id, 256, 2, p);
        assertEq(escrow.getAudit(id).totalCorrect, 6, "total");
    }

    // ================================================================ finalize

    function test_RevertWhen_finalizeUnknownAudit() public {
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.AuditNotFound.selector, 1));
        escrow.finalize(1);
    }

    function test_RevertWhen_finalizeBeforeAcceptDeadline() public {
        uint256 id = createDefault();
        vm.warp(T0 + ACCEPT_IN - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAuditEscrow.AcceptDeadlineNotReached.selector, id, u64(T0 + ACCEPT_IN), T0 + ACCEPT_IN - 1
            )
        );
        escrow.finalize(id);
    }

    function test_RevertWhen_finalizeTwice() public {
        uint256 id = createDefault();
        vm.warp(T0 + ACCEPT_IN);
        escrow.finalize(id);
        vm.expectRevert(
            abi.encodeWithSelector(IAuditEscrow.UnexpectedStatus.selector, id, IAuditEscrow.Status.Finalized)
        );
        escrow.finalize(id);
        assertEq(escrow.withdrawable(REQUESTER), BOUNTY, "credited once");
    }

    /// An accepted audit waits for the reveal window whatever the time: the accept deadline
    /// no longer matters.
    function test_RevertWhen_finalizeAcceptedAuditAfterAcceptDeadline() public {
        uint256 id = createDefault();
        doAccept(id, BOND);
        vm.warp(T0 + 10 * ACCEPT_IN);
        uint256 last = acceptBlockOf[id] + 257;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.RevealWindowOpen.selector, id, last, block.number));
        escrow.finalize(id);
    }

    // ================================================================ payouts

    function testFuzz_everyWeiEndsWithOneParty(
        uint256 bounty,
        uint256 fee,
        uint256 bond,
        uint8 path,
        uint256 seedCounts
    ) public {
        bounty = bound(bounty, 1, 1e30);
        fee = bound(fee, 0, bounty);
        bond = bound(bond, 0, 1e30);
        path = uint8(bound(path, 0, 4));
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.fee = fee;
        t.providerBond = bond;
        uint256 id = create(t, bounty);
        uint256 expectProvider;
        uint256 expectRequester;
        if (path == 0) {
            vm.warp(T0 + ACCEPT_IN);
            expectRequester = bounty;
        } else {
            doAccept(id, bond);
            if (path == 1) {
                vm.roll(acceptBlockOf[id] + 258);
                (expectProvider, expectRequester) = (fee + bond, bounty - fee);
            } else {
                uint256 seed = doReveal(id);
                if (path == 2) {
                    submit(id, seed, 0, 4);
                    vm.warp(block.timestamp + PROVE_WINDOW);
                    expectRequester = bounty + bond;
                } else {
                    uint256 total;
                    for (uint256 i = 0; i < M; ++i) {
                        uint256 c = uint256(keccak256(abi.encode(seedCounts, i))) % (B + 1);
                        submit(id, seed, i, c);
                        total += c;
                    }
                    if (total * THETA_DEN >= THETA_NUM * M * B) (expectProvider, expectRequester) = (bounty + bond, 0);
                    else (expectProvider, expectRequester) = (fee + bond, bounty - fee);
                }
            }
        }
        escrow.finalize(id);
        assertEq(escrow.withdrawable(PROVIDER), expectProvider, "provider share");
        assertEq(escrow.withdrawable(REQUESTER), expectRequester, "requester share");
        assertEq(expectProvider + expectRequester, bounty + (path == 0 ? 0 : bond), "every wei to exactly one party");
        assertEq(address(escrow).balance, expectProvider + expectRequester, "balance == credits");
    }

    function testFuzz_passRuleMatchesThreshold(uint64 num, uint64 den, uint256 countsSeed) public {
        den = uint64(bound(den, 1, type(uint64).max));
        num = uint64(bound(num, 0, den));
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.thetaNum = num;
        t.thetaDen = den;
        uint256 id = create(t, BOUNTY);
        doAccept(id, BOND);
        uint256 seed = doReveal(id);
        uint256 total;
        for (uint256 i = 0; i < M; ++i) {
            uint256 c = uint256(keccak256(abi.encode(countsSeed, i))) % (B + 1);
            submit(id, seed, i, c);
            total += c;
        }
        escrow.finalize(id);
        // total/12 ≥ num/den, in exact rational arithmetic.
        bool pass = total * uint256(den) >= uint256(num) * 12;
        assertEq(escrow.getAudit(id).outcome == IAuditEscrow.Outcome.Passed, pass, "pass rule");
        assertEq(escrow.getAudit(id).totalCorrect, total, "total");
    }

    function test_withdrawTo() public {
        uint256 id = createDefault();
        vm.warp(T0 + ACCEPT_IN);
        escrow.finalize(id);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Withdrawn(REQUESTER, STRANGER, BOUNTY);
        vm.prank(REQUESTER);
        escrow.withdrawTo(payable(STRANGER));
        assertEq(STRANGER.balance, BOUNTY, "paid to");
        assertEq(escrow.withdrawable(REQUESTER), 0, "cleared");
    }

    function test_RevertWhen_withdrawNothingOrToZero() public {
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.NothingToWithdraw.selector, REQUESTER));
        escrow.withdraw();
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.InvalidAddress.selector, address(0)));
        escrow.withdrawTo(payable(address(0)));
    }

    function test_RevertWhen_withdrawRecipientRejects() public {
        RejectsEther sink = new RejectsEther();
        uint256 id = createDefault();
        vm.warp(T0 + ACCEPT_IN);
        escrow.finalize(id);
        vm.prank(REQUESTER);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.TransferFailed.selector, address(sink), BOUNTY));
        escrow.withdrawTo(payable(address(sink)));
        assertEq(escrow.withdrawable(REQUESTER), BOUNTY, "credit kept");
    }

    function test_reentrantProviderCannotReenter() public {
        ReenteringProvider p = new ReenteringProvider(escrow);
        vm.prank(address(p));
        uint256 mid = registry.registerModel(CIRCUIT_ID, C_W);
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.modelId = mid;
        uint256 id = create(t, BOUNTY);
        vm.deal(address(this), BOND);
        p.accept{value: BOND}(id, SHARE);
        vm.roll(block.number + 300);
        escrow.finalize(id); // NotRevealed: fee + bond to the provider contract
        uint256 owed = escrow.withdrawable(address(p));
        assertEq(owed, FEE + BOND, "credited");
        assertEq(p.withdraw(), owed, "withdrew once");
        assertEq(address(p).balance, owed, "received");
        assertEq(p.successes(), 0, "no re-entry got through");
        assertEq(
            keccak256(p.lastError()),
            keccak256(abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector)),
            "guarded"
        );
        assertEq(address(escrow).balance, BOUNTY - FEE, "requester's share left");
    }

    function test_RevertWhen_etherSentDirectly() public {
        vm.deal(address(this), 1 ether);
        (bool ok,) = address(escrow).call{value: 1 ether}("");
        assertFalse(ok, "plain transfer accepted");
    }

    // ================================================================ creation reverts

    function test_RevertWhen_constructorRegistryHasNoCode() public {
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.InvalidAddress.selector, STRANGER));
        new AuditEscrow(STRANGER);
    }

    function test_RevertWhen_createUnknownModel() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.modelId = 42;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.UnknownModel.selector, 42));
        create(t, BOUNTY);
    }

    function test_RevertWhen_createRetiredModel() public {
        vm.prank(PROVIDER);
        registry.retireModel(modelId);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.ModelNotActive.selector, modelId));
        create(defaultTerms(), BOUNTY);
    }

    function test_RevertWhen_createDeprecatedCircuit() public {
        registry.deprecateCircuit(CIRCUIT_ID);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.ModelNotActive.selector, modelId));
        create(defaultTerms(), BOUNTY);
    }

    /// Entries the real registry refuses, through a registry that allows anything.
    function test_RevertWhen_createWithBadRegistryEntry() public {
        MutableAuditRegistry mreg = new MutableAuditRegistry();
        escrow = new AuditEscrow(address(mreg));
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.modelId = 1;
        mreg.set(1, IAuditModelRegistry.AuditModel(PROVIDER, STRANGER, AUDIT_VK, C_W, B, D, CIRCUIT_ID, true));
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.VerifierHasNoCode.selector, STRANGER));
        create(t, BOUNTY);
        mreg.set(1, IAuditModelRegistry.AuditModel(PROVIDER, address(verifier), AUDIT_VK, C_W, 0, D, CIRCUIT_ID, true));
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.InvalidAuditCircuit.selector, 0, D));
        create(t, BOUNTY);
        mreg.set(1, IAuditModelRegistry.AuditModel(PROVIDER, address(verifier), AUDIT_VK, C_W, B, 65, CIRCUIT_ID, true));
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.InvalidAuditCircuit.selector, B, 65));
        create(t, BOUNTY);
        mreg.set(1, IAuditModelRegistry.AuditModel(PROVIDER, address(verifier), AUDIT_VK, R, B, D, CIRCUIT_ID, true));
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.PublicInputNotInField.selector, 0, R));
        create(t, BOUNTY);
    }

    function testFuzz_RevertWhen_createDatasetRootNotInField(uint256 rd) public {
        rd = bound(rd, R, type(uint256).max);
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.datasetRoot = rd;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.PublicInputNotInField.selector, 1, rd));
        create(t, BOUNTY);
    }

    function testFuzz_createDatasetSizeBounds(uint256 n) public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.datasetSize = n;
        if (n == 0 || n > MAX_N) {
            vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.DatasetSizeOutOfRange.selector, n, MAX_N));
        }
        create(t, BOUNTY);
    }

    function test_createDatasetSizeEdges() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.datasetSize = MAX_N;
        create(t, BOUNTY);
        t.datasetSize = 1;
        create(t, BOUNTY);
        t.datasetSize = MAX_N + 1;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.DatasetSizeOutOfRange.selector, MAX_N + 1, MAX_N));
        create(t, BOUNTY);
        t.datasetSize = 0;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.DatasetSizeOutOfRange.selector, 0, MAX_N));
        create(t, BOUNTY);
    }

    function test_RevertWhen_createSampleCountOutOfRange() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        uint64 max = escrow.MAX_SAMPLES();
        t.numSamples = 0;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.SampleCountOutOfRange.selector, 0, max));
        create(t, BOUNTY);
        t.numSamples = max + 1;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.SampleCountOutOfRange.selector, max + 1, max));
        create(t, BOUNTY);
        t.numSamples = max;
        uint256 id = create(t, BOUNTY);
        assertEq(escrow.getAudit(id).numBatches, (uint256(max) + B - 1) / B, "m at the maximum");
    }

    function testFuzz_RevertWhen_createInvalidThreshold(uint64 num, uint64 den) public {
        vm.assume(den == 0 || num > den);
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.thetaNum = num;
        t.thetaDen = den;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.InvalidThreshold.selector, num, den));
        create(t, BOUNTY);
    }

    function test_RevertWhen_createZeroBounty() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.fee = 0;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.ZeroBounty.selector));
        create(t, 0);
    }

    function testFuzz_RevertWhen_createFeeExceedsBounty(uint256 bounty, uint256 fee) public {
        bounty = bound(bounty, 1, 1e30);
        fee = bound(fee, bounty + 1, type(uint256).max);
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.fee = fee;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.FeeExceedsBounty.selector, fee, bounty));
        create(t, bounty);
    }

    function test_RevertWhen_createAcceptDeadlineOutOfRange() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        uint256 max = escrow.MAX_WINDOW();
        uint64[3] memory bad = [u64(T0), u64(T0 - 1), u64(T0 + max + 1)];
        for (uint256 i = 0; i < bad.length; ++i) {
            t.acceptDeadline = bad[i];
            vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.AcceptDeadlineOutOfRange.selector, bad[i], T0, max));
            create(t, BOUNTY);
        }
        t.acceptDeadline = u64(T0 + max);
        create(t, BOUNTY);
        t.acceptDeadline = u64(T0 + 1);
        create(t, BOUNTY);
    }

    function test_RevertWhen_createProveWindowOutOfRange() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        uint256 max = escrow.MAX_WINDOW();
        t.proveWindow = 0;
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.ProveWindowOutOfRange.selector, 0, max));
        create(t, BOUNTY);
        t.proveWindow = u64(max + 1);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.ProveWindowOutOfRange.selector, max + 1, max));
        create(t, BOUNTY);
    }

    function test_RevertWhen_createZeroSeedCommitment() public {
        IAuditEscrow.AuditTerms memory t = defaultTerms();
        t.seedCommitment = bytes32(0);
        vm.expectRevert(abi.encodeWithSelector(IAuditEscrow.ZeroSeedCommitment.selector));
        create(t, BOUNTY);
    }
}
