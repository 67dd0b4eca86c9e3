// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {TestBase, Vm} from "./utils/TestBase.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {AuditModelRegistry} from "../src/AuditModelRegistry.sol";
import {AuditEscrow} from "../src/AuditEscrow.sol";
import {IAuditEscrow} from "../src/interfaces/IAuditEscrow.sol";
import {HashVerifier} from "./mocks/MarketMocks.sol";

/// @dev An actor whose receive() always reverts: it can only {AuditEscrow.withdrawTo} elsewhere.
contract RejectingAuditActor {
    receive() external payable {
        revert("no ether");
    }
}

/// @dev An actor whose receive() re-enters the escrow and swallows the failures; counts any
///      re-entry that got through.
contract ReenteringAuditActor {
    AuditEscrow public immutable escrow;
    uint256 public reentrySuccesses;
    uint256 public reentryAttempts;

    constructor(AuditEscrow escrow_) {
        escrow = escrow_;
    }

    receive() external payable {
        uint256 n = escrow.auditCount();
        bytes[5] memory calls = [
            abi.encodeCall(escrow.withdraw, ()),
            abi.encodeCall(escrow.withdrawTo, (payable(address(0x3000)))),
            abi.encodeCall(escrow.finalize, (n)),
            abi.encodeCall(escrow.accept, (n, bytes32(0))),
            abi.encodeCall(escrow.submitBatch, (n, 0, 0, ""))
        ];
        for (uint256 i = 0; i < calls.length; ++i) {
            reentryAttempts++;
            (bool ok,) = address(escrow).call(calls[i]);
            if (ok) reentrySuccesses++;
        }
    }
}

/// @dev Drives the escrow with random create / accept / reveal / submit / finalize / withdraw /
///      withdrawTo / warp / roll calls. Every expectation comes from the handler's own model
///      (ghost audits, batches, clock, block height, credits), never from the contract's state:
///      a call the model accepts is made directly (with `fail_on_revert`, any revert fails the
///      run); a call the model rejects must revert with the error the model names.
///
///      Roles overlap: every actor may request audits of any model, providers audit their own
///      models, two providers are contracts (one rejects ether, one re-enters from receive()).
///      Short windows (accept window up to 2 h, prove window up to 3 h, warps up to 45 min,
///      rolls up to 120 blocks against the 256-block reveal window) make runs cross every
///      deadline; actions mostly pick an audit in the status they need, so audits also get
///      through all their batches (every outcome occurs in a run).
contract AuditHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    AuditEscrow public immutable escrow;
    RejectingAuditActor public immutable rejecter;
    ReenteringAuditActor public immutable reenterer;

    struct GModel {
        uint256 id;
        address provider;
        bytes32 vk;
        uint32 b;
        uint8 d;
        uint256 cw;
    }

    struct GAudit {
        address requester;
        address provider;
        uint256 model; // index in _models
        uint64 m;
        uint256 bounty;
        uint256 fee;
        uint256 bond;
        uint64 thetaNum;
        uint64 thetaDen;
        uint256 acceptDeadline;
        uint256 proveWindow;
        uint256 rd;
        uint256 N;
        bytes32 secret;
        bytes32 share;
        IAuditEscrow.Status status;
        IAuditEscrow.Outcome outcome;
        uint256 acceptBlock;
        uint256 seed;
        uint256 proveDeadline;
        uint64 submitted;
        uint64 total;
        uint256 finalizations;
    }

    /// Submission variants.
    uint8 internal constant VALID = 0;
    uint8 internal constant WRONG_INDEX = 1; // a valid proof of another batch index
    uint8 internal constant ABOVE_B = 2; // count = b + 1 with a "proof" for it
    uint8 internal constant WRONG_COUNT = 3; // proof for count, another count submitted
    uint8 internal constant VARIANTS = 4;

    address[] public actors; // 0, 1 EOA providers; rejecter, reenterer (providers); 4, 5 requesters
    address[] public sinks;
    GModel[] internal _models;
    GAudit[] internal _ga; // audit id i + 1
    mapping(uint256 => mapping(uint256 => uint256)) public ghostBatchSubmissions; // audit → batch → times
    uint256 public currentTime;
    uint256 public currentBlock;

    // ---- ghosts
    uint256 public ghostDeposited; // Σ bounties and bonds received
    uint256 public ghostWithdrawn;
    uint256 public ghostOpenEscrow; // Σ bounty (+ bond once accepted) of unfinalized audits
    uint256 public ghostFinalizedAmount; // Σ bounty (+ bond if accepted) of finalized audits
    mapping(address => uint256) public ghostCredited;
    mapping(address => uint256) public ghostWithdrawnBy;
    mapping(bytes32 => uint256) public calls;
    mapping(bytes32 => uint256) public successes;
    mapping(uint8 => uint256) public outcomes;

    error UnexpectedSuccess(string what);
    error UnexpectedError(string what, bytes4 expected, bytes err);
    error Diverged(string what);

    constructor(
        AuditEscrow escrow_,
        AuditModelRegistry registry,
        bytes32[2] memory circuitIds,
        uint256 t0,
        uint256 b0
    ) {
        escrow = escrow_;
        rejecter = new RejectingAuditActor();
        reenterer = new ReenteringAuditActor(escrow_);
        actors.push(address(0x1000));
        actors.push(address(0x1001));
        actors.push(address(rejecter));
        actors.push(address(reenterer));
        actors.push(address(0x2000));
        actors.push(address(0x2001));
        sinks.push(address(0x3000));
        sinks.push(address(0x3001));
        // Four models, one per provider, alternating the two circuits.
        for (uint256 i = 0; i < 4; ++i) {
            bytes32 cid = circuitIds[i % 2];
            AuditModelRegistry.Circuit memory c = registry.getCircuit(cid);
            uint256 cw = uint256(keccak256(abi.encode("weights", i))) % R;
            vm.prank(actors[i]);
            uint256 id = registry.registerModel(cid, cw);
            _models.push(GModel(id, actors[i], c.vkDigest, c.batchSize, c.treeDepth, cw));
        }
        currentTime = t0;
        currentBlock = b0;
    }

    // ------------------------------------------------------------------ views for invariants

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function auditCount() external view returns (uint256) {
        return _ga.length;
    }

    function ghostAudit(uint256 id) external view returns (GAudit memory) {
        return _ga[id - 1];
    }

    // ------------------------------------------------------------------ helpers

    modifier sync(bytes32 name) {
        vm.warp(currentTime);
        vm.roll(currentBlock);
        calls[name]++;
        _;
    }

    function _u64(uint256 x) internal pure returns (uint64) {
        if (x > type(uint64).max) revert Diverged("u64 overflow");
        // casting to 'uint64' is safe because of the check above
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(x);
    }

    function _check(bytes memory err, bytes4 expected, string memory what) internal pure {
        // casting to 'bytes4' is safe because only the selector (first 4 bytes) is wanted
        // forge-lint: disable-next-line(unsafe-typecast)
        if (err.length < 4 || bytes4(err) != expected) revert UnexpectedError(what, expected, err);
    }

    function _proof(GAudit storage g, uint256 batchIdx, uint256 count) internal view returns (bytes memory) {
        GModel storage md = _models[g.model];
        uint256[] memory xs = new uint256[](6);
        xs[0] = md.cw;
        xs[1] = g.rd;
        xs[2] = g.N;
        xs[3] = g.seed;
        xs[4] = batchIdx * md.b;
        xs[5] = count;
        return abi.encode(keccak256(abi.encode(md.vk, xs)));
    }

    function _pick(uint256 seed) internal view returns (uint256 id, GAudit storage g) {
        id = 1 + seed % _ga.length;
        g = _ga[id - 1];
    }

    /// @dev Three times in four, the first audit in `status` from a random offset (so that
    ///      audits get through all their steps); otherwise (or if none) any audit.
    function _pickIn(uint256 seed, IAuditEscrow.Status status) internal view returns (uint256 id, GAudit storage g) {
        uint256 n = _ga.length;
        // Hashed: the fuzzer favours small and extreme raw values.
        seed = uint256(keccak256(abi.encode(seed)));
        if ((seed >> 128) % 4 != 0) {
            for (uint256 k = 0; k < n; ++k) {
                uint256 i = (seed % n + k) % n;
                if (_ga[i].status == status) return (i + 1, _ga[i]);
            }
        }
        return _pick(seed);
    }

    /// @dev Usually the first batch of `id` not yet proven from a random offset; sometimes any
    ///      index in [0, m] (duplicates and one out of range).
    function _batchIndex(uint256 id, uint64 m, uint256 seed) internal view returns (uint256) {
        seed = uint256(keccak256(abi.encode(seed)));
        if ((seed >> 128) % 4 != 0) {
            for (uint256 k = 0; k < m; ++k) {
                uint256 i = (seed % m + k) % m;
                if (ghostBatchSubmissions[id][i] == 0) return i;
            }
        }
        return seed % (uint256(m) + 1);
    }

    // ------------------------------------------------------------------ actions

    function warp(uint256 dt) external sync("warp") {
        currentTime += dt % 45 minutes;
    }

    function roll(uint256 dn) external sync("roll") {
        currentBlock += 1 + dn % 120;
    }

    function create(
        uint256 requesterSeed,
        uint256 modelSeed,
        uint256 n,
        uint256 theta,
        uint256 amounts,
        uint256 windows,
        bool feeTooHigh
    ) external sync("create") {
        address requester = actors[requesterSeed % actors.length];
        uint256 mi = modelSeed % _models.length;
        GModel storage md = _models[mi];
        IAuditEscrow.AuditTerms memory t;
        t.modelId = md.id;
        t.datasetRoot = uint256(keccak256(abi.encode("root", _ga.length))) % R;
        t.datasetSize = 1 + n % (2 ** uint256(md.d));
        t.numSamples = _u64(1 + n % 12);
        t.thetaDen = _u64(1 + theta % 10);
        // θ mostly high (θ = 1 a third of the time), so audits fail as well as pass.
        t.thetaNum = _u64(uint256(t.thetaDen) - (theta >> 8) % 3 % (uint256(t.thetaDen) + 1));
        uint256 bounty = 1 + amounts % 100 ether;
        t.fee = feeTooHigh ? bounty + 1 : (amounts >> 80) % (bounty + 1);
        t.providerBond = (amounts >> 160) % 10 ether;
        // Hashed: raw fuzz values are often tiny, which would expire every audit at once.
        windows = uint256(keccak256(abi.encode(windows)));
        t.acceptDeadline = _u64(currentTime + 10 minutes + windows % 2 hours);
        t.proveWindow = _u64(30 minutes + (windows >> 64) % 3 hours);
        bytes32 secret = keccak256(abi.encode("secret", _ga.length, requester));
        t.seedCommitment = keccak256(abi.encode(requester, secret));
        vm.deal(requester, requester.balance + bounty);
        vm.prank(requester);
        if (feeTooHigh) {
            try escrow.createAudit{value: bounty}(t) {
                revert UnexpectedSuccess("create with fee > bounty");
            } catch (bytes memory err) {
                _check(err, IAuditEscrow.FeeExceedsBounty.selector, "create");
            }
            return;
        }
        uint256 id = escrow.createAudit{value: bounty}(t);
        GAudit storage g = _ga.push();
        if (id != _ga.length) revert Diverged("audit id");
        g.requester = requester;
        g.provider = md.provider;
        g.model = mi;
        g.m = _u64((uint256(t.numSamples) + md.b - 1) / md.b);
        g.bounty = bounty;
        g.fee = t.fee;
        g.bond = t.providerBond;
        g.thetaNum = t.thetaNum;
        g.thetaDen = t.thetaDen;
        g.acceptDeadline = t.acceptDeadline;
        g.proveWindow = t.proveWindow;
        g.rd = t.datasetRoot;
        g.N = t.datasetSize;
        g.secret = secret;
        g.share = keccak256(abi.encode("share", id));
        g.status = IAuditEscrow.Status.Created;
        ghostDeposited += bounty;
        ghostOpenEscrow += bounty;
    }

    /// @param mode 0: a random actor calls; 1: the provider with a wrong bond; else the
    ///             provider with the bond.
    function accept(uint256 auditSeed, uint8 mode, uint256 otherSeed) external sync("accept") {
        if (_ga.length == 0) return;
        (uint256 id, GAudit storage g) = _pickIn(auditSeed, IAuditEscrow.Status.Created);
        mode = mode % 4;
        bool rightBond = mode != 1;
        address caller = mode != 0 ? g.provider : actors[otherSeed % actors.length];
        uint256 value = rightBond ? g.bond : g.bond + 1;
        bytes4 err;
        if (caller != g.provider) err = IAuditEscrow.NotProvider.selector;
        else if (g.status != IAuditEscrow.Status.Created) err = IAuditEscrow.UnexpectedStatus.selector;
        else if (currentTime >= g.acceptDeadline) err = IAuditEscrow.AcceptDeadlinePassed.selector;
        else if (!rightBond) err = IAuditEscrow.IncorrectBond.selector;
        vm.deal(caller, caller.balance + value);
        vm.prank(caller);
        if (err == bytes4(0)) {
            escrow.accept{value: value}(id, g.share);
            g.status = IAuditEscrow.Status.Accepted;
            g.acceptBlock = currentBlock;
            successes["accept"]++;
            ghostDeposited += value;
            ghostOpenEscrow += value;
        } else {
            try escrow.accept{value: value}(id, g.share) {
                revert UnexpectedSuccess("accept");
            } catch (bytes memory e) {
                _check(e, err, "accept");
            }
        }
    }

    /// @param mode 0: a random actor calls; 1: the requester with a wrong secret; else the
    ///             requester with its secret.
    function reveal(uint256 auditSeed, uint8 mode, uint256 otherSeed) external sync("reveal") {
        if (_ga.length == 0) return;
        (uint256 id, GAudit storage g) = _pickIn(auditSeed, IAuditEscrow.Status.Accepted);
        mode = mode % 4;
        bool rightSecret = mode != 1;
        address caller = mode != 0 ? g.requester : actors[otherSeed % actors.length];
        bytes32 secret = rightSecret ? g.secret : keccak256(abi.encode(g.secret));
        bytes4 err;
        if (caller != g.requester) err = IAuditEscrow.NotRequester.selector;
        else if (g.status != IAuditEscrow.Status.Accepted) err = IAuditEscrow.UnexpectedStatus.selector;
        else if (currentBlock <= g.acceptBlock + 1) err = IAuditEscrow.RevealTooEarly.selector;
        else if (currentBlock > g.acceptBlock + 257) err = IAuditEscrow.BlockhashUnavailable.selector;
        else if (!rightSecret) err = IAuditEscrow.SecretMismatch.selector;
        vm.prank(caller);
        if (err == bytes4(0)) {
            escrow.revealSeed(id, secret);
            bytes32 bh = blockhash(g.acceptBlock + 1);
            g.seed = uint256(keccak256(abi.encode(block.chainid, address(escrow), id, secret, g.share, bh))) % R;
            g.proveDeadline = currentTime + g.proveWindow;
            g.status = IAuditEscrow.Status.Proving;
            successes["reveal"]++;
        } else {
            try escrow.revealSeed(id, secret) {
                revert UnexpectedSuccess("reveal");
            } catch (bytes memory e) {
                _check(e, err, "reveal");
            }
        }
    }

    function submit(uint256 auditSeed, uint256 batchSeed, uint256 countSeed, uint8 variant, uint256 callerSeed)
        external
        sync("submit")
    {
        if (_ga.length == 0) return;
        (uint256 id, GAudit storage g) = _pickIn(auditSeed, IAuditEscrow.Status.Proving);
        uint32 b = _models[g.model].b;
        variant = variant % 8;
        if (variant >= VARIANTS) variant = VALID; // valid five times in eight
        uint256 idx = _batchIndex(id, g.m, batchSeed);
        // Half the time a full batch, so that audits pass as well as fail.
        uint256 count = countSeed % 2 == 0 ? countSeed % (uint256(b) + 1) : b;
        bytes memory proof;
        uint256 submitted = count;
        if (variant == WRONG_INDEX) {
            proof = _proof(g, idx + 1, count);
        } else if (variant == ABOVE_B) {
            submitted = uint256(b) + 1;
            proof = _proof(g, idx, submitted);
        } else if (variant == WRONG_COUNT) {
            submitted = (count + 1) % (uint256(b) + 1);
            proof = _proof(g, idx, count);
        } else {
            proof = _proof(g, idx, count);
        }
        bytes4 err;
        if (g.status != IAuditEscrow.Status.Proving) err = IAuditEscrow.UnexpectedStatus.selector;
        else if (currentTime >= g.proveDeadline) err = IAuditEscrow.ProveDeadlinePassed.selector;
        else if (idx >= g.m) err = IAuditEscrow.BatchIndexOutOfRange.selector;
        else if (ghostBatchSubmissions[id][idx] != 0) err = IAuditEscrow.BatchAlreadySubmitted.selector;
        else if (submitted > b) err = IAuditEscrow.CountAboveBatchSize.selector;
        else if (variant == WRONG_INDEX || variant == WRONG_COUNT) err = IAuditEscrow.InvalidProof.selector;
        vm.prank(actors[callerSeed % actors.length]);
        if (err == bytes4(0)) {
            escrow.submitBatch(id, idx, submitted, proof);
            ghostBatchSubmissions[id][idx]++;
            g.submitted++;
            g.total += _u64(submitted);
            successes["submit"]++;
        } else {
            try escrow.submitBatch(id, idx, submitted, proof) {
                revert UnexpectedSuccess("submit");
            } catch (bytes memory e) {
                _check(e, err, "submit");
            }
        }
    }

    function finalize(uint256 auditSeed, uint256 callerSeed) external sync("finalize") {
        if (_ga.length == 0) return;
        // Audits in Proving are the ones that take many steps to become final.
        (uint256 id, GAudit storage g) = _pickIn(auditSeed, IAuditEscrow.Status.Proving);
        bytes4 err;
        IAuditEscrow.Outcome outcome;
        if (g.status == IAuditEscrow.Status.Created) {
            if (currentTime < g.acceptDeadline) err = IAuditEscrow.AcceptDeadlineNotReached.selector;
            else outcome = IAuditEscrow.Outcome.NotAccepted;
        } else if (g.status == IAuditEscrow.Status.Accepted) {
            if (currentBlock <= g.acceptBlock + 257) err = IAuditEscrow.RevealWindowOpen.selector;
            else outcome = IAuditEscrow.Outcome.NotRevealed;
        } else if (g.status == IAuditEscrow.Status.Proving) {
            if (g.submitted == g.m) {
                bool pass = uint256(g.total) * g.thetaDen >= uint256(g.thetaNum) * g.m * _models[g.model].b;
                outcome = pass ? IAuditEscrow.Outcome.Passed : IAuditEscrow.Outcome.Failed;
            } else if (currentTime < g.proveDeadline) {
                err = IAuditEscrow.ProvingNotFinished.selector;
            } else {
                outcome = IAuditEscrow.Outcome.NotProven;
            }
        } else {
            err = IAuditEscrow.UnexpectedStatus.selector;
        }
        vm.prank(actors[callerSeed % actors.length]);
        if (err != bytes4(0)) {
            try escrow.finalize(id) {
                revert UnexpectedSuccess("finalize");
            } catch (bytes memory e) {
                _check(e, err, "finalize");
            }
            return;
        }
        // The model's split: every wei of bounty and (posted) bond to exactly one party.
        bool accepted = g.status != IAuditEscrow.Status.Created;
        uint256 bond = accepted ? g.bond : 0;
        uint256 toProvider;
        uint256 toRequester;
        if (outcome == IAuditEscrow.Outcome.Passed) toProvider = g.bounty + bond;
        else if (outcome == IAuditEscrow.Outcome.NotAccepted) toRequester = g.bounty;
        else if (outcome == IAuditEscrow.Outcome.NotProven) toRequester = g.bounty + bond;
        else (toProvider, toRequester) = (g.fee + bond, g.bounty - g.fee);
        if (toProvider + toRequester != g.bounty + bond) revert Diverged("split");

        uint256 pBefore = escrow.withdrawable(g.provider);
        uint256 rBefore = escrow.withdrawable(g.requester);
        escrow.finalize(id);
        uint256 pAfter = escrow.withdrawable(g.provider);
        uint256 rAfter = escrow.withdrawable(g.requester);
        if (g.provider == g.requester) {
            if (pAfter - pBefore != toProvider + toRequester) revert Diverged("self-audit credit");
        } else if (pAfter - pBefore != toProvider || rAfter - rBefore != toRequester) {
            revert Diverged("credits differ from the model's split");
        }
        ghostCredited[g.provider] += toProvider;
        ghostCredited[g.requester] += toRequester;
        g.status = IAuditEscrow.Status.Finalized;
        g.outcome = outcome;
        g.finalizations++;
        ghostOpenEscrow -= g.bounty + bond;
        ghostFinalizedAmount += g.bounty + bond;
        outcomes[uint8(outcome)]++;
    }

    function withdraw(uint256 actorSeed) external sync("withdraw") {
        address a = actors[actorSeed % actors.length];
        _withdraw(a, a, false);
    }

    function withdrawTo(uint256 actorSeed, uint256 toSeed) external sync("withdrawTo") {
        address a = actors[actorSeed % actors.length];
        address to = toSeed % 4 == 0 ? address(rejecter) : sinks[toSeed % sinks.length];
        _withdraw(a, to, true);
    }

    function _withdraw(address a, address to, bool viaTo) internal {
        uint256 owed = ghostCredited[a] - ghostWithdrawnBy[a];
        bytes4 err;
        if (owed == 0) err = IAuditEscrow.NothingToWithdraw.selector;
        else if (to == address(rejecter)) err = IAuditEscrow.TransferFailed.selector;
        uint256 balBefore = to.balance;
        vm.prank(a);
        if (err == bytes4(0)) {
            uint256 amount = viaTo ? escrow.withdrawTo(payable(to)) : escrow.withdraw();
            if (amount != owed || to.balance - balBefore != owed) revert Diverged("withdrew other than owed");
            ghostWithdrawnBy[a] += amount;
            ghostWithdrawn += amount;
        } else if (viaTo) {
            try escrow.withdrawTo(payable(to)) {
                revert UnexpectedSuccess("withdrawTo");
            } catch (bytes memory e) {
                _check(e, err, "withdrawTo");
            }
        } else {
            try escrow.withdraw() {
                revert UnexpectedSuccess("withdraw");
            } catch (bytes memory e) {
                _check(e, err, "withdraw");
            }
        }
    }
}

/// forge-config: default.invariant.runs = 64
/// forge-config: default.invariant.depth = 96
/// forge-config: default.invariant.fail-on-revert = true
contract AuditEscrowInvariantTest is TestBase, InvariantBase {
    uint256 internal constant T0 = 1_700_000_000;
    uint256 internal constant B0 = 1_000;

    AuditModelRegistry registry;
    AuditEscrow escrow;
    AuditHandler handler;

    function setUp() public {
        vm.warp(T0);
        vm.roll(B0);
        registry = new AuditModelRegistry(address(this));
        bytes32[2] memory ids = [keccak256("audit/b4/d5"), keccak256("audit/b3/d2")];
        registry.registerCircuit(ids[0], address(new HashVerifier(keccak256("vk b4"))), keccak256("vk b4"), 4, 5);
        registry.registerCircuit(ids[1], address(new HashVerifier(keccak256("vk b3"))), keccak256("vk b3"), 3, 2);
        escrow = new AuditEscrow(address(registry));
        handler = new AuditHandler(escrow, registry, ids, T0, B0);
        targetContract(address(handler));
        bytes4[] memory sels = new bytes4[](12);
        sels[0] = AuditHandler.warp.selector;
        sels[1] = AuditHandler.roll.selector;
        sels[2] = AuditHandler.create.selector;
        sels[3] = AuditHandler.accept.selector;
        sels[4] = AuditHandler.reveal.selector;
        sels[5] = AuditHandler.submit.selector;
        sels[6] = AuditHandler.submit.selector; // batches are the long part of an audit
        sels[7] = AuditHandler.submit.selector;
        sels[8] = AuditHandler.finalize.selector;
        sels[9] = AuditHandler.withdraw.selector;
        sels[10] = AuditHandler.withdrawTo.selector;
        sels[11] = AuditHandler.warp.selector;
        targetSelector(FuzzSelector(address(handler), sels));
    }

    /// The escrow holds exactly the model's open escrow plus every outstanding credit;
    /// deposits == withdrawals + balance; the contract's own open escrow equals the model's.
    function invariant_balanceEqualsOpenEscrowPlusCredits() public view {
        uint256 owed;
        uint256 k = handler.actorCount();
        for (uint256 i = 0; i < k; ++i) {
            address a = handler.actors(i);
            owed += handler.ghostCredited(a) - handler.ghostWithdrawnBy(a);
        }
        assertEq(address(escrow).balance, handler.ghostOpenEscrow() + owed, "balance != open escrow + credits");
        assertEq(handler.ghostDeposited(), handler.ghostWithdrawn() + address(escrow).balance, "deposits");
        uint256 open;
        uint256 n = escrow.auditCount();
        assertEq(n, handler.auditCount(), "audit count");
        for (uint256 id = 1; id <= n; ++id) {
            IAuditEscrow.Audit memory a = escrow.getAudit(id);
            if (a.status == IAuditEscrow.Status.Created) open += a.bounty;
            else if (a.status != IAuditEscrow.Status.Finalized) open += a.bounty + a.providerBond;
        }
        assertEq(open, handler.ghostOpenEscrow(), "contract open escrow differs from model");
    }

    /// Every audit is finalized at most once and agrees with the model; every batch counts
    /// at most once and the contract's bitmap, batch count and total equal the model's.
    function invariant_auditsAndBatchesMatchModel() public view {
        uint256 n = handler.auditCount();
        for (uint256 id = 1; id <= n; ++id) {
            AuditHandler.GAudit memory g = handler.ghostAudit(id);
            IAuditEscrow.Audit memory a = escrow.getAudit(id);
            assertLe(g.finalizations, 1, "finalized twice");
            assertTrue(a.status == g.status, "status");
            assertTrue(a.outcome == g.outcome, "outcome");
            assertEq(a.requester, g.requester, "requester");
            assertEq(a.provider, g.provider, "provider");
            assertEq(a.numBatches, g.m, "m");
            assertEq(a.acceptBlock, g.acceptBlock, "accept block");
            assertEq(a.seed, g.seed, "seed");
            assertEq(a.proveDeadline, g.proveDeadline, "prove deadline");
            assertEq(a.batchesSubmitted, g.submitted, "batches");
            assertEq(a.totalCorrect, g.total, "total");
            assertLe(a.totalCorrect, uint256(a.batchesSubmitted) * a.batchSize, "count <= b per batch");
            uint256 set;
            for (uint256 i = 0; i <= g.m; ++i) {
                uint256 times = handler.ghostBatchSubmissions(id, i);
                assertLe(times, 1, "a batch counted twice");
                assertEq(escrow.isBatchSubmitted(id, i), times == 1, "bitmap");
                set += times;
            }
            assertEq(set, g.submitted, "bitmap popcount");
        }
    }

    /// Credits arise only at finalize: each account's withdrawable + withdrawn equals what the
    /// model credited it at finalizations, and Σ credits is exactly Σ bounty + posted bond of
    /// the finalized audits (every wei to exactly one party, none before finalize).
    function invariant_creditsOnlyFromFinalize() public view {
        uint256 k = handler.actorCount();
        uint256 credited;
        for (uint256 i = 0; i < k; ++i) {
            address a = handler.actors(i);
            assertEq(escrow.withdrawable(a) + handler.ghostWithdrawnBy(a), handler.ghostCredited(a), "credits");
            credited += handler.ghostCredited(a);
        }
        assertEq(credited, handler.ghostFinalizedAmount(), "credits != finalized bounties and bonds");
        assertEq(handler.reenterer().reentrySuccesses(), 0, "a re-entrant call got through");
    }
}
