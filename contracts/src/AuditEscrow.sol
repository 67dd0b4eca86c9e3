// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IProofVerifier} from "./interfaces/IProofVerifier.sol";
import {IAuditModelRegistry} from "./interfaces/IAuditModelRegistry.sol";
import {IAuditEscrow} from "./interfaces/IAuditEscrow.sol";
import {BabyJubjub} from "./libraries/BabyJubjub.sol";

/// @title AuditEscrow
/// @notice Escrow for trustless accuracy audits of a committed model on a committed dataset.
///
///         1. A requester {createAudit}s: model id, dataset root R_D and size N, sample count
///            n, threshold θ, a commitment h_R to a secret s_R, a proving fee (part of the
///            bounty), the provider's bond and two deadlines; msg.value is the bounty. The
///            model's provider, audit verifier, vk digest, b, d and C_W are copied from the
///            registry (pinned). The audit has m = ⌈n/b⌉ batches, so m·b ≥ n.
///         2. The pinned provider {accept}s before the accept deadline, posting the bond and a
///            seed share s_P in the clear; the block number is recorded.
///         3. The requester {revealSeed}s s_R after block acceptBlock + 1 is mined and while
///            its hash is available (256 blocks): seed = keccak256(chainid, this, auditId, s_R,
///            s_P, blockhash(acceptBlock + 1)) mod r. The provider then has `proveWindow`
///            seconds to prove every batch.
///         4. Anyone {submitBatch}es batch i with its count of correct predictions; the
///            contract rebuilds [C_W, R_D, N, seed, i·b, count] and verifies it with the pinned
///            verifier; each batch counts once.
///         5. Anyone {finalize}s once every batch is in (pass or fail) or once a deadline of
///            the step that is due has passed; the parties are credited, and withdraw.
///
/// @dev Design notes:
///      - The seed is never derived from the commitments (a provider could re-salt C_W for
///        free until the sample set suits it); neither party alone controls it: h_R is fixed
///        before s_P is known, s_P before s_R is revealed, and blockhash(acceptBlock + 1) is
///        unknown to both when s_P is posted. The requester's only choice left is not to
///        reveal, which costs it the proving fee.
///      - h_R binds the requester's address, not the audit id: an audit id is only known once
///        the creation is mined (a concurrent creation would take a predicted one), and binding
///        the address keeps one requester from copying another's commitment.
///      - Reveal window = the blockhash window: blocks acceptBlock + 2 … acceptBlock + 257.
///        Once it closes the seed can never be computed; the audit ends as NotRevealed (the
///        requester's failure). On a chain whose blockhash is zero the reveal always fails:
///        deploy only where blockhash works (any L1, Anvil).
///      - Money: the bounty and the bond stay in escrow until {finalize}, which only credits
///        balances; ether leaves only through {withdraw}/{withdrawTo} (pull payments). An
///        audit is finalized once, so every wei of it is credited exactly once.
///      - A failing model is not slashed: a provider who proves every batch honestly gets its
///        bond back and the fee whatever the accuracy, so it always has a reason to prove.
///        Only a provider who accepted and did not prove in time loses its bond.
///      - Every state-changing entry point is `nonReentrant` and follows
///        checks-effects-interactions; registry and verifier are only called via `view`
///        (STATICCALL).
contract AuditEscrow is IAuditEscrow, ReentrancyGuard {
    /// @notice The BN254 scalar field modulus r; every public input must be below it.
    uint256 public constant SNARK_SCALAR_FIELD = BabyJubjub.Q;
    /// @notice Public inputs of the audit circuit: [C_W, R_D, N, seed, j0, count].
    uint256 public constant NUM_PUBLIC_INPUTS = 6;
    /// @notice Blocks after which blockhash returns zero.
    uint256 public constant BLOCKHASH_WINDOW = 256;
    /// @notice Deepest dataset tree accepted (the circuit's index derivation needs N ≤ 2^64).
    uint8 public constant MAX_TREE_DEPTH = 64;
    /// @notice Largest n (far above the 14,979 samples of ε = 1 %, δ = 0.1); keeps m·b < 2^64.
    uint64 public constant MAX_SAMPLES = type(uint32).max;
    /// @notice Longest accept window (from creation) and proving window (from the reveal).
    uint256 public constant MAX_WINDOW = 365 days;

    /// @notice Where model ids are resolved (only at {createAudit}).
    IAuditModelRegistry public immutable registry;

    /// @notice Number of audits created; audit ids are 1..auditCount.
    uint256 public auditCount;
    /// @notice Wei each account may withdraw.
    mapping(address => uint256) public withdrawable;

    mapping(uint256 => Audit) private _audits;
    /// @dev auditId → word → bitmap of proven batches (bit i of word w is batch 256·w + i).
    mapping(uint256 => mapping(uint256 => uint256)) private _proven;

    /// @param registry_ The {IAuditModelRegistry} (must have code).
    constructor(address registry_) {
        if (registry_.code.length == 0) revert InvalidAddress(registry_);
        registry = IAuditModelRegistry(registry_);
    }

    // ================================================================== lifecycle

    /// @inheritdoc IAuditEscrow
    /// @dev Reverts `UnknownModel`, `ModelNotActive`, `VerifierHasNoCode`, `InvalidAuditCircuit`,
    ///      `PublicInputNotInField` (index 0 for C_W, 1 for R_D), `DatasetSizeOutOfRange` unless
    ///      0 < N ≤ 2^d, `SampleCountOutOfRange` unless 0 < n ≤ {MAX_SAMPLES}, `InvalidThreshold`
    ///      unless thetaDen > 0 and thetaNum ≤ thetaDen, `ZeroBounty`, `FeeExceedsBounty`,
    ///      `AcceptDeadlineOutOfRange` unless now < acceptDeadline ≤ now + {MAX_WINDOW},
    ///      `ProveWindowOutOfRange` unless 0 < proveWindow ≤ {MAX_WINDOW}, `ZeroSeedCommitment`.
    function createAudit(AuditTerms calldata terms) external payable nonReentrant returns (uint256 auditId) {
        IAuditModelRegistry.AuditModel memory model = _activeModel(terms.modelId);
        _checkTerms(terms, model.treeDepth);
        // m ≤ n ≤ MAX_SAMPLES < 2^32.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 numBatches = uint64((uint256(terms.numSamples) + model.batchSize - 1) / model.batchSize);

        auditId = ++auditCount;
        Audit storage a = _audits[auditId];
        a.requester = msg.sender;
        a.status = Status.Created;
        a.acceptDeadline = terms.acceptDeadline;
        a.provider = model.provider;
        a.verifier = model.verifier;
        a.batchSize = model.batchSize;
        a.treeDepth = model.treeDepth;
        a.numSamples = terms.numSamples;
        a.numBatches = numBatches;
        a.thetaNum = terms.thetaNum;
        a.thetaDen = terms.thetaDen;
        a.proveWindow = terms.proveWindow;
        a.modelId = terms.modelId;
        a.vkDigest = model.vkDigest;
        a.weightsCommitment = model.weightsCommitment;
        a.datasetRoot = terms.datasetRoot;
        a.datasetSize = terms.datasetSize;
        a.seedCommitment = terms.seedCommitment;
        a.bounty = msg.value;
        a.fee = terms.fee;
        a.providerBond = terms.providerBond;
        emit AuditCreated(auditId, terms.modelId, msg.sender, model.provider, msg.value, numBatches, terms);
    }

    /// @inheritdoc IAuditEscrow
    /// @dev Reverts `AuditNotFound`, `NotProvider` (only the pinned provider: the payout
    ///      address cannot be redirected by a front-runner), `UnexpectedStatus` unless Created,
    ///      `AcceptDeadlinePassed` at/after the accept deadline, `IncorrectBond` unless
    ///      msg.value is exactly the bond. s_P may be any value (it is public anyway).
    function accept(uint256 auditId, bytes32 providerShare) external payable nonReentrant {
        Audit storage a = _existing(auditId);
        if (msg.sender != a.provider) revert NotProvider(msg.sender, a.provider);
        if (a.status != Status.Created) revert UnexpectedStatus(auditId, a.status);
        // Deadlines are minutes to days long; validator timestamp drift (seconds) is immaterial.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= a.acceptDeadline) {
            revert AcceptDeadlinePassed(auditId, a.acceptDeadline, block.timestamp);
        }
        if (msg.value != a.providerBond) revert IncorrectBond(a.providerBond, msg.value);
        uint64 acceptBlock = SafeCast.toUint64(block.number);
        a.status = Status.Accepted;
        a.acceptBlock = acceptBlock;
        a.providerShare = providerShare;
        emit AuditAccepted(auditId, msg.sender, providerShare, msg.value, acceptBlock);
    }

    /// @inheritdoc IAuditEscrow
    /// @dev Reverts `AuditNotFound`, `NotRequester`, `UnexpectedStatus` unless Accepted,
    ///      `RevealTooEarly` while block.number ≤ acceptBlock + 1 (the seed's block is not
    ///      mined: on an automining node, mine one block after the accept first),
    ///      `BlockhashUnavailable` if blockhash(acceptBlock + 1) is zero (more than 256 blocks
    ///      ago: the audit can then only be finalized as NotRevealed), `SecretMismatch` unless
    ///      {seedCommitment}(requester, requesterSecret) is h_R.
    function revealSeed(uint256 auditId, bytes32 requesterSecret) external nonReentrant {
        Audit storage a = _existing(auditId);
        if (msg.sender != a.requester) revert NotRequester(msg.sender, a.requester);
        if (a.status != Status.Accepted) revert UnexpectedStatus(auditId, a.status);
        uint256 seedBlock = uint256(a.acceptBlock) + 1;
        if (block.number <= seedBlock) revert RevealTooEarly(auditId, seedBlock + 1, block.number);
        bytes32 blockHash = blockhash(seedBlock);
        if (blockHash == bytes32(0)) revert BlockhashUnavailable(auditId, seedBlock, block.number);
        if (seedCommitment(msg.sender, requesterSecret) != a.seedCommitment) revert SecretMismatch(auditId);

        uint256 seed = seedOf(auditId, requesterSecret, a.providerShare, blockHash);
        uint64 proveDeadline = SafeCast.toUint64(block.timestamp + a.proveWindow);
        a.status = Status.Proving;
        a.seed = seed;
        a.proveDeadline = proveDeadline;
        emit SeedRevealed(auditId, requesterSecret, seed, proveDeadline);
    }

    /// @inheritdoc IAuditEscrow
    /// @dev Reverts `AuditNotFound`, `UnexpectedStatus` unless Proving, `ProveDeadlinePassed`
    ///      at/after the proving deadline, `BatchIndexOutOfRange` unless batchIdx < m,
    ///      `BatchAlreadySubmitted`, `CountAboveBatchSize` unless count ≤ b, and `InvalidProof`
    ///      unless the pinned verifier accepts `proof` for [C_W, R_D, N, seed, batchIdx·b,
    ///      count] (a verifier's own revert, e.g. an adapter's `ProofLengthMismatch`, bubbles
    ///      up). All six inputs are < r by construction (C_W and R_D checked at creation,
    ///      N ≤ 2^64, seed reduced mod r, j0 < 2^64, count ≤ b < 2^32).
    function submitBatch(uint256 auditId, uint256 batchIdx, uint256 count, bytes calldata proof) external nonReentrant {
        Audit storage a = _existing(auditId);
        if (a.status != Status.Proving) revert UnexpectedStatus(auditId, a.status);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= a.proveDeadline) revert ProveDeadlinePassed(auditId, a.proveDeadline, block.timestamp);
        if (batchIdx >= a.numBatches) revert BatchIndexOutOfRange(auditId, batchIdx, a.numBatches);
        uint256 word = batchIdx >> 8;
        // forge-lint: disable-next-line(incorrect-shift)
        uint256 bit = 1 << (batchIdx & 0xff);
        uint256 bits = _proven[auditId][word];
        if (bits & bit != 0) revert BatchAlreadySubmitted(auditId, batchIdx);
        if (count > a.batchSize) revert CountAboveBatchSize(count, a.batchSize);
        if (!IProofVerifier(a.verifier).verifyProof(proof, _inputs(a, batchIdx, count))) {
            revert InvalidProof(auditId, batchIdx);
        }

        _proven[auditId][word] = bits | bit;
        uint64 submitted = a.batchesSubmitted + 1;
        // casting to 'uint64' is safe because count ≤ b < 2^32, and totalCorrect ≤ m·b < 2^33
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 total = a.totalCorrect + uint64(count);
        a.batchesSubmitted = submitted;
        a.totalCorrect = total;
        emit BatchSubmitted(auditId, batchIdx, msg.sender, count, submitted, total);
    }

    /// @inheritdoc IAuditEscrow
    /// @dev Anyone may call it; the money only goes to the audit's two parties.
    ///      - Created: needs now ≥ acceptDeadline (else `AcceptDeadlineNotReached`) →
    ///        NotAccepted: the bounty to the requester.
    ///      - Accepted: needs block.number > acceptBlock + 257, the last block a reveal could
    ///        land in (else `RevealWindowOpen`) → NotRevealed: fee + bond to the provider,
    ///        bounty − fee to the requester.
    ///      - Proving with all m batches in (at any time): Passed if totalCorrect·θ_den ≥
    ///        θ_num·m·b (bounty + bond to the provider), else Failed (fee + bond to the
    ///        provider, bounty − fee to the requester).
    ///      - Proving with batches missing: needs now ≥ proveDeadline (else
    ///        `ProvingNotFinished`) → NotProven: bounty + bond to the requester.
    ///      - Finalized: `UnexpectedStatus`.
    function finalize(uint256 auditId) external nonReentrant {
        Audit storage a = _existing(auditId);
        Status status = a.status;
        Outcome outcome;
        if (status == Status.Created) {
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < a.acceptDeadline) {
                revert AcceptDeadlineNotReached(auditId, a.acceptDeadline, block.timestamp);
            }
            outcome = Outcome.NotAccepted;
        } else if (status == Status.Accepted) {
            uint256 lastRevealBlock = lastRevealBlockOf(a.acceptBlock);
            if (block.number <= lastRevealBlock) revert RevealWindowOpen(auditId, lastRevealBlock, block.number);
            outcome = Outcome.NotRevealed;
        } else if (status == Status.Proving) {
            if (a.batchesSubmitted == a.numBatches) {
                outcome = passes(a.totalCorrect, uint256(a.numBatches) * a.batchSize, a.thetaNum, a.thetaDen)
                    ? Outcome.Passed
                    : Outcome.Failed;
                // forge-lint: disable-next-line(block-timestamp)
            } else if (block.timestamp < a.proveDeadline) {
                revert ProvingNotFinished(auditId, a.batchesSubmitted, a.numBatches, a.proveDeadline, block.timestamp);
            } else {
                outcome = Outcome.NotProven;
            }
        } else {
            revert UnexpectedStatus(auditId, status);
        }

        a.status = Status.Finalized;
        a.outcome = outcome;
        emit AuditFinalized(
            auditId,
            outcome,
            a.totalCorrect,
            uint256(a.batchesSubmitted) * a.batchSize,
            uint256(a.numBatches) * a.batchSize,
            a.numSamples
        );
        _settle(auditId, a, outcome);
    }

    /// @inheritdoc IAuditEscrow
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _withdraw(payable(msg.sender));
    }

    /// @inheritdoc IAuditEscrow
    function withdrawTo(address payable to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert InvalidAddress(to);
        amount = _withdraw(to);
    }

    // ================================================================== views

    /// @notice Audit `auditId` (all zero, status None, if it does not exist).
    function getAudit(uint256 auditId) external view returns (Audit memory) {
        return _audits[auditId];
    }

    /// @notice Whether batch `batchIdx` of `auditId` has been proven.
    function isBatchSubmitted(uint256 auditId, uint256 batchIdx) external view returns (bool) {
        // forge-lint: disable-next-line(incorrect-shift)
        return _proven[auditId][batchIdx >> 8] & (1 << (batchIdx & 0xff)) != 0;
    }

    /// @notice The pass rule: `totalCorrect`·`thetaDen` ≥ `thetaNum`·`samples` (exact, no
    ///         rounding; `samples` = m·b = n_eff).
    function passes(uint256 totalCorrect, uint256 samples, uint64 thetaNum, uint64 thetaDen)
        public
        pure
        returns (bool)
    {
        return totalCorrect * thetaDen >= uint256(thetaNum) * samples;
    }

    /// @notice The last block in which a reveal can land for an audit accepted in block
    ///         `acceptBlock`: acceptBlock + 1 + {BLOCKHASH_WINDOW}.
    function lastRevealBlockOf(uint64 acceptBlock) public pure returns (uint256) {
        return uint256(acceptBlock) + 1 + BLOCKHASH_WINDOW;
    }

    /// @inheritdoc IAuditEscrow
    function seedCommitment(address requester, bytes32 requesterSecret) public pure returns (bytes32) {
        return keccak256(abi.encode(requester, requesterSecret));
    }

    /// @inheritdoc IAuditEscrow
    function seedOf(uint256 auditId, bytes32 requesterSecret, bytes32 providerShare, bytes32 blockHash)
        public
        view
        returns (uint256)
    {
        return uint256(
            keccak256(abi.encode(block.chainid, address(this), auditId, requesterSecret, providerShare, blockHash))
        ) % SNARK_SCALAR_FIELD;
    }

    /// @inheritdoc IAuditEscrow
    /// @dev Reverts `AuditNotFound`, `SeedNotRevealed` (status Created/Accepted, or an audit
    ///      finalized without a seed), `BatchIndexOutOfRange`, `CountAboveBatchSize`.
    function batchPublicInputs(uint256 auditId, uint256 batchIdx, uint256 count)
        external
        view
        returns (uint256[] memory)
    {
        Audit storage a = _existing(auditId);
        if (a.proveDeadline == 0) revert SeedNotRevealed(auditId);
        if (batchIdx >= a.numBatches) revert BatchIndexOutOfRange(auditId, batchIdx, a.numBatches);
        if (count > a.batchSize) revert CountAboveBatchSize(count, a.batchSize);
        return _inputs(a, batchIdx, count);
    }

    // ================================================================== internal

    function _activeModel(uint256 modelId) private view returns (IAuditModelRegistry.AuditModel memory model) {
        model = registry.auditModel(modelId);
        if (model.provider == address(0)) revert UnknownModel(modelId);
        if (!model.active) revert ModelNotActive(modelId);
        if (model.verifier.code.length == 0) revert VerifierHasNoCode(model.verifier);
        if (model.batchSize == 0 || model.treeDepth > MAX_TREE_DEPTH) {
            revert InvalidAuditCircuit(model.batchSize, model.treeDepth);
        }
        if (model.weightsCommitment >= SNARK_SCALAR_FIELD) revert PublicInputNotInField(0, model.weightsCommitment);
    }

    function _checkTerms(AuditTerms calldata t, uint8 treeDepth) private view {
        if (t.datasetRoot >= SNARK_SCALAR_FIELD) revert PublicInputNotInField(1, t.datasetRoot);
        uint256 maxSize = uint256(1) << treeDepth;
        if (t.datasetSize == 0 || t.datasetSize > maxSize) revert DatasetSizeOutOfRange(t.datasetSize, maxSize);
        if (t.numSamples == 0 || t.numSamples > MAX_SAMPLES) revert SampleCountOutOfRange(t.numSamples, MAX_SAMPLES);
        if (t.thetaDen == 0 || t.thetaNum > t.thetaDen) revert InvalidThreshold(t.thetaNum, t.thetaDen);
        if (msg.value == 0) revert ZeroBounty();
        if (t.fee > msg.value) revert FeeExceedsBounty(t.fee, msg.value);
        // forge-lint: disable-next-line(block-timestamp)
        if (t.acceptDeadline <= block.timestamp || t.acceptDeadline > block.timestamp + MAX_WINDOW) {
            revert AcceptDeadlineOutOfRange(t.acceptDeadline, block.timestamp, MAX_WINDOW);
        }
        if (t.proveWindow == 0 || t.proveWindow > MAX_WINDOW) revert ProveWindowOutOfRange(t.proveWindow, MAX_WINDOW);
        if (t.seedCommitment == bytes32(0)) revert ZeroSeedCommitment();
    }

    /// @dev [C_W, R_D, N, seed, batchIdx·b, count].
    function _inputs(Audit storage a, uint256 batchIdx, uint256 count) private view returns (uint256[] memory xs) {
        xs = new uint256[](NUM_PUBLIC_INPUTS);
        xs[0] = a.weightsCommitment;
        xs[1] = a.datasetRoot;
        xs[2] = a.datasetSize;
        xs[3] = a.seed;
        xs[4] = batchIdx * a.batchSize;
        xs[5] = count;
    }

    /// @dev Credits the audit's bounty and (once accepted) bond according to `outcome`.
    function _settle(uint256 auditId, Audit storage a, Outcome outcome) private {
        uint256 bounty = a.bounty;
        uint256 fee = a.fee;
        uint256 bond = a.providerBond;
        address requester = a.requester;
        address provider = a.provider;
        if (outcome == Outcome.Passed) {
            _credit(provider, auditId, bounty + bond);
        } else if (outcome == Outcome.Failed || outcome == Outcome.NotRevealed) {
            _credit(provider, auditId, fee + bond);
            _credit(requester, auditId, bounty - fee);
        } else if (outcome == Outcome.NotAccepted) {
            _credit(requester, auditId, bounty);
        } else {
            // NotProven: the bond is slashed to the requester.
            _credit(requester, auditId, bounty + bond);
        }
    }

    function _credit(address account, uint256 auditId, uint256 amount) private {
        if (amount == 0) return;
        withdrawable[account] += amount;
        emit Credited(account, auditId, amount);
    }

    function _withdraw(address payable to) private returns (uint256 amount) {
        amount = withdrawable[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        withdrawable[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }

    function _existing(uint256 auditId) private view returns (Audit storage a) {
        a = _audits[auditId];
        if (a.status == Status.None) revert AuditNotFound(auditId);
    }
}
