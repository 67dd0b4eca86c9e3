// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title IAuditEscrow
/// @notice Escrow for trustless accuracy audits: a requester pays a bounty to learn whether a
///         committed model reaches accuracy ≥ θ on a committed dataset, measured on samples
///         drawn from a seed neither side controls, proven in batches of zero-knowledge proofs.
/// @dev Public inputs of the audit circuit (one batch of b samples per proof), in this order,
///      every value < the BN254 scalar field r:
///        [0] C_W    weights commitment            (pinned from the model registry)
///        [1] R_D    dataset Merkle root            (requester, at createAudit)
///        [2] N      dataset size                   (requester, at createAudit; 0 < N ≤ 2^d)
///        [3] seed   {seedOf}(…) of the audit       (computed at revealSeed)
///        [4] j0     batchIdx · b, first ordinal    (computed from the submitted batch index)
///        [5] count  correct predictions in batch   (the submitter; ≤ b)
///      The contract builds the array itself; only `count` (and the batch index it derives j0
///      from) comes from the submitter.
interface IAuditEscrow {
    /// @notice Lifecycle of an audit. `None` means "no such audit".
    ///         Created → Accepted ({accept}) → Proving ({revealSeed}) → Finalized ({finalize});
    ///         {finalize} also ends a Created audit (not accepted in time) and an Accepted one
    ///         (seed never revealed).
    enum Status {
        None,
        Created,
        Accepted,
        Proving,
        Finalized
    }

    /// @notice How a finalized audit ended.
    ///         Passed:      all batches proven, total·θ_den ≥ θ_num·m·b → bounty + bond to the provider.
    ///         Failed:      all batches proven, below θ → fee + bond to the provider, bounty − fee
    ///                      to the requester (an honest failing model is not slashed).
    ///         NotAccepted: no accept before the accept deadline → bounty to the requester.
    ///         NotRevealed: no seed reveal within the blockhash window → fee + bond to the
    ///                      provider, bounty − fee to the requester.
    ///         NotProven:   batches missing at the proving deadline → bounty + bond to the requester.
    enum Outcome {
        None,
        Passed,
        Failed,
        NotAccepted,
        NotRevealed,
        NotProven
    }

    /// @notice What a requester asks for ({createAudit}); the bounty is `msg.value`.
    /// @param modelId        The registry's model (its provider, verifier, b, d and C_W are pinned).
    /// @param datasetRoot    R_D, root of the dataset Merkle tree (< r).
    /// @param datasetSize    N, number of samples in the tree (0 < N ≤ 2^d).
    /// @param numSamples     n, samples the audit must cover (Hoeffding: ⌈ln(2/δ)/(2ε²)⌉);
    ///                       the audit has m = ⌈n/b⌉ batches, so m·b ≥ n.
    /// @param thetaNum       θ = thetaNum / thetaDen ∈ [0, 1], the accuracy to reach.
    /// @param thetaDen       (> 0).
    /// @param fee            The proving fee, part of the bounty (≤ bounty): what the provider
    ///                       earns when the model fails or the requester never reveals.
    /// @param providerBond   Exact wei the provider must post at {accept}; lost if it accepts
    ///                       and then does not prove every batch in time.
    /// @param acceptDeadline Unix time before which the provider must {accept}.
    /// @param proveWindow    Seconds the provider has, from the seed reveal, to prove every batch.
    /// @param seedCommitment h_R = {seedCommitment}(msg.sender, s_R), s_R the requester's secret.
    struct AuditTerms {
        uint256 modelId;
        uint256 datasetRoot;
        uint256 datasetSize;
        uint64 numSamples;
        uint64 thetaNum;
        uint64 thetaDen;
        uint256 fee;
        uint256 providerBond;
        uint64 acceptDeadline;
        uint64 proveWindow;
        bytes32 seedCommitment;
    }

    /// @notice An audit. Model fields are copied from the registry at creation ("pinned").
    /// @param acceptBlock    Block of {accept}; the seed uses blockhash(acceptBlock + 1).
    /// @param proveDeadline  Reveal time + proveWindow; zero until {revealSeed}.
    /// @param numBatches     m = ⌈numSamples / batchSize⌉.
    /// @param batchesSubmitted Batches whose proof verified.
    /// @param totalCorrect   Σ count of those batches.
    /// @param providerShare  s_P, posted in the clear at {accept}.
    /// @param seed           Zero until {revealSeed}.
    /// @param bounty         Wei escrowed by the requester at creation.
    /// @param providerBond   Wei the provider escrows at {accept} (held from then on).
    struct Audit {
        address requester;
        Status status;
        Outcome outcome;
        uint64 acceptDeadline;
        address provider;
        uint64 acceptBlock;
        address verifier;
        uint64 proveDeadline;
        uint32 batchSize;
        uint8 treeDepth;
        uint64 numSamples;
        uint64 numBatches;
        uint64 batchesSubmitted;
        uint64 thetaNum;
        uint64 thetaDen;
        uint64 proveWindow;
        uint64 totalCorrect;
        uint256 modelId;
        bytes32 vkDigest;
        uint256 weightsCommitment;
        uint256 datasetRoot;
        uint256 datasetSize;
        bytes32 seedCommitment;
        bytes32 providerShare;
        uint256 seed;
        uint256 bounty;
        uint256 fee;
        uint256 providerBond;
    }

    // ------------------------------------------------------------------ events

    /// @notice `requester` escrowed `bounty` for an audit of `modelId` on `terms`; `provider`
    ///         (pinned) may accept it; the audit has `numBatches` batches.
    event AuditCreated(
        uint256 indexed auditId,
        uint256 indexed modelId,
        address indexed requester,
        address provider,
        uint256 bounty,
        uint64 numBatches,
        AuditTerms terms
    );
    /// @notice The provider accepted, posting its seed share and `bond`, in block `acceptBlock`.
    event AuditAccepted(
        uint256 indexed auditId, address indexed provider, bytes32 providerShare, uint256 bond, uint64 acceptBlock
    );
    /// @notice The requester revealed `requesterSecret`; the samples are drawn from `seed`;
    ///         every batch must be proven before `proveDeadline`.
    event SeedRevealed(uint256 indexed auditId, bytes32 requesterSecret, uint256 seed, uint64 proveDeadline);
    /// @notice Batch `batchIdx` proved `count` correct predictions (submitted by `submitter`);
    ///         the audit now has `batchesSubmitted` batches and `totalCorrect` in total.
    event BatchSubmitted(
        uint256 indexed auditId,
        uint256 indexed batchIdx,
        address indexed submitter,
        uint256 count,
        uint64 batchesSubmitted,
        uint64 totalCorrect
    );
    /// @notice The audit ended with `outcome`: `totalCorrect` correct out of `samplesProven`
    ///         (batches proven · b) with `samplesRequired` = m·b = n_eff ≥ n = `numSamples`.
    event AuditFinalized(
        uint256 indexed auditId,
        Outcome outcome,
        uint64 totalCorrect,
        uint256 samplesProven,
        uint256 samplesRequired,
        uint64 numSamples
    );
    /// @notice `account`'s withdrawable balance grew by `amount` when audit `auditId` was finalized.
    event Credited(address indexed account, uint256 indexed auditId, uint256 amount);
    /// @notice `account` withdrew its whole balance `amount` to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);

    // ------------------------------------------------------------------ errors

    /// @notice A constructor argument has no code.
    error InvalidAddress(address account);
    /// @notice No model has id `modelId` in the registry.
    error UnknownModel(uint256 modelId);
    /// @notice Model `modelId` is retired or its circuit deprecated.
    error ModelNotActive(uint256 modelId);
    /// @notice The model's audit verifier has no code.
    error VerifierHasNoCode(address verifier);
    /// @notice The model's circuit has b = 0 or d > 64 (the registry should not allow it).
    error InvalidAuditCircuit(uint32 batchSize, uint8 treeDepth);
    /// @notice Public input `index` would be `value` ≥ r.
    error PublicInputNotInField(uint256 index, uint256 value);
    /// @notice N = `datasetSize` is zero or above `maxSize` = 2^d.
    error DatasetSizeOutOfRange(uint256 datasetSize, uint256 maxSize);
    /// @notice n = `numSamples` is zero or above `maxSamples`.
    error SampleCountOutOfRange(uint64 numSamples, uint64 maxSamples);
    /// @notice θ = `thetaNum`/`thetaDen` is not a number in [0, 1].
    error InvalidThreshold(uint64 thetaNum, uint64 thetaDen);
    /// @notice The bounty (msg.value) is zero.
    error ZeroBounty();
    /// @notice The proving fee exceeds the bounty.
    error FeeExceedsBounty(uint256 fee, uint256 bounty);
    /// @notice The accept deadline is not in (now, now + maxWindow].
    error AcceptDeadlineOutOfRange(uint64 acceptDeadline, uint256 timestamp, uint256 maxWindow);
    /// @notice The proving window is not in (0, maxWindow].
    error ProveWindowOutOfRange(uint64 proveWindow, uint256 maxWindow);
    /// @notice h_R is zero.
    error ZeroSeedCommitment();
    /// @notice No audit has id `auditId`.
    error AuditNotFound(uint256 auditId);
    /// @notice Audit `auditId` is `status`, which does not allow this call.
    error UnexpectedStatus(uint256 auditId, Status status);
    /// @notice `caller` is not `provider`, the audit's provider.
    error NotProvider(address caller, address provider);
    /// @notice `caller` is not `requester`, the audit's requester.
    error NotRequester(address caller, address requester);
    /// @notice Accept attempted at `timestamp` ≥ the accept deadline.
    error AcceptDeadlinePassed(uint256 auditId, uint64 acceptDeadline, uint256 timestamp);
    /// @notice {accept} sent `sent` wei; the audit asks for a bond of `expected`.
    error IncorrectBond(uint256 expected, uint256 sent);
    /// @notice Reveal in block `currentBlock`: the seed's block `acceptBlock + 1` is not
    ///         mined yet; the first block a reveal can land in is `firstBlock`.
    error RevealTooEarly(uint256 auditId, uint256 firstBlock, uint256 currentBlock);
    /// @notice blockhash(`blockNumber`) is zero in block `currentBlock`: more than 256 blocks
    ///         ago (the reveal window is closed for good) or unavailable on this chain.
    error BlockhashUnavailable(uint256 auditId, uint256 blockNumber, uint256 currentBlock);
    /// @notice The revealed secret does not open the audit's seed commitment h_R.
    error SecretMismatch(uint256 auditId);
    /// @notice Batch submitted at `timestamp` ≥ the proving deadline.
    error ProveDeadlinePassed(uint256 auditId, uint64 proveDeadline, uint256 timestamp);
    /// @notice `batchIdx` ≥ the audit's `numBatches`.
    error BatchIndexOutOfRange(uint256 auditId, uint256 batchIdx, uint64 numBatches);
    /// @notice Batch `batchIdx` was already proven.
    error BatchAlreadySubmitted(uint256 auditId, uint256 batchIdx);
    /// @notice `count` exceeds the batch size b.
    error CountAboveBatchSize(uint256 count, uint32 batchSize);
    /// @notice The pinned verifier rejected the proof of batch `batchIdx`.
    error InvalidProof(uint256 auditId, uint256 batchIdx);
    /// @notice {finalize} of a Created audit at `timestamp` < the accept deadline.
    error AcceptDeadlineNotReached(uint256 auditId, uint64 acceptDeadline, uint256 timestamp);
    /// @notice {finalize} of an Accepted audit in block `currentBlock` ≤ `lastRevealBlock`:
    ///         the requester may still reveal.
    error RevealWindowOpen(uint256 auditId, uint256 lastRevealBlock, uint256 currentBlock);
    /// @notice {finalize} of a Proving audit with `batchesSubmitted` < `numBatches` batches at
    ///         `timestamp` < the proving deadline.
    error ProvingNotFinished(
        uint256 auditId, uint64 batchesSubmitted, uint64 numBatches, uint64 proveDeadline, uint256 timestamp
    );
    /// @notice The audit's seed is not revealed yet.
    error SeedNotRevealed(uint256 auditId);
    /// @notice `account` has no withdrawable balance.
    error NothingToWithdraw(address account);
    /// @notice Sending `amount` wei to `to` failed.
    error TransferFailed(address to, uint256 amount);

    // ------------------------------------------------------------------ functions

    /// @notice Opens an audit of `terms.modelId`, escrowing the bounty (msg.value).
    function createAudit(AuditTerms calldata terms) external payable returns (uint256 auditId);

    /// @notice The audit's provider accepts before the accept deadline, posting its seed share
    ///         `providerShare` (s_P, public) and exactly the bond (msg.value).
    function accept(uint256 auditId, bytes32 providerShare) external payable;

    /// @notice The requester opens h_R with `requesterSecret` (s_R) in a block after
    ///         acceptBlock + 1 and at most 256 blocks after it; fixes the seed and starts the
    ///         proving window.
    function revealSeed(uint256 auditId, bytes32 requesterSecret) external;

    /// @notice Anyone submits the proof of batch `batchIdx` (samples j0 = batchIdx·b … j0+b−1)
    ///         with `count` correct predictions, before the proving deadline.
    function submitBatch(uint256 auditId, uint256 batchIdx, uint256 count, bytes calldata proof) external;

    /// @notice Anyone settles the audit: after every batch, or after the deadline of the
    ///         step that is due. Credits the parties (see {Outcome}).
    function finalize(uint256 auditId) external;

    /// @notice Sends the caller's whole withdrawable balance to the caller.
    function withdraw() external returns (uint256 amount);

    /// @notice Sends the caller's whole withdrawable balance to `to`.
    function withdrawTo(address payable to) external returns (uint256 amount);

    /// @notice h_R for `requester` and secret `requesterSecret`:
    ///         keccak256(abi.encode(requester, requesterSecret)).
    function seedCommitment(address requester, bytes32 requesterSecret) external pure returns (bytes32);

    /// @notice The seed formula: uint256(keccak256(abi.encode(block.chainid, address(this),
    ///         auditId, requesterSecret, providerShare, blockHash))) mod r, blockHash being
    ///         blockhash(acceptBlock + 1).
    function seedOf(uint256 auditId, bytes32 requesterSecret, bytes32 providerShare, bytes32 blockHash)
        external
        view
        returns (uint256);

    /// @notice The exact public inputs {submitBatch} verifies for batch `batchIdx` with `count`
    ///         (the seed must be revealed).
    function batchPublicInputs(uint256 auditId, uint256 batchIdx, uint256 count)
        external
        view
        returns (uint256[] memory);
}
