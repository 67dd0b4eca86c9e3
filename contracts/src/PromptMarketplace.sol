// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IProofVerifier} from "./interfaces/IProofVerifier.sol";
import {IVerifierRegistry} from "./interfaces/IVerifierRegistry.sol";
import {IPromptMarketplace} from "./interfaces/IPromptMarketplace.sol";
import {BabyJubjub} from "./libraries/BabyJubjub.sol";

/// @title PromptMarketplace
/// @notice Escrow for zkML prompt sales.
///
///         1. A seller {list}s a prompt: a listing proof shows that the prompt committed to by
///            C = Poseidon(prompt tokens ‖ salt) makes the public model produce the output
///            hashed to `outputHash`, for this seller (its address is a public input the
///            contract supplies). The registry must allow the pair of circuits; both
///            verifiers are pinned into the listing.
///         2. A buyer {buy}s it, escrowing exactly `price` and naming a Baby Jubjub key PK_B.
///            The order's deadline is `block.timestamp + deliveryWindow`.
///         3. Before the deadline the seller {commitDelivery}s: a digest of the ephemeral key
///            R, the ciphertext and the delivery proof, and nothing else. From then on a refund
///            waits until the commitment's reveal deadline (`commit time + revealWindow`).
///         4. Before the reveal deadline — even after the deadline: that is the point — the
///            seller reveals with {deliver}: if R, the ciphertext and the proof hash to the
///            commitment and the proof verifies, `price − fee` is credited to the seller and
///            `fee` to the fee recipient; the ciphertext is published in {Delivered}.
///         5. At or after the deadline, and after the reveal deadline of a pending commitment,
///            anyone may {refund}: `price` is credited back to the buyer.
///         6. Credited balances leave only through {withdraw}/{withdrawTo} (pull payments).
///
/// @dev Design notes:
///      - Why commit-reveal: a transaction's calldata is public even when it reverts. With a
///        one-step delivery, a late (or starved, or bad-proof) delivery would show the buyer
///        R and the ciphertext — the prompt — and the buyer could still refund. Now the
///        secret only travels in the reveal, which the commitment protects: while it is
///        pending no refund is possible, so a reveal in time always settles. A reveal that
///        fails is the seller's own doing (late, not what it committed, or a proof that does
///        not verify: the client checks all three before sending).
///      - The delivery proof's order input is {orderTag}: a hash of the chain id, this
///        contract and the order id, so a proof cannot be replayed on another deployment.
///      - Pull payments everywhere: no function but {withdrawTo} sends ether, so a
///        reverting or re-entering recipient can only block its own withdrawal. Refunds are
///        credits too (a buyer contract that cannot receive can {withdrawTo} elsewhere).
///      - Every state-changing entry point is `nonReentrant` (OpenZeppelin's storage
///        ReentrancyGuard: the contracts target EVM `paris`, without transient storage) and
///        follows checks-effects-interactions; proof verifiers are only called through
///        `view` (STATICCALL), so they cannot re-enter state-changing code anyway.
///      - Time: {commitDelivery} needs `block.timestamp < deadline`; {deliver} needs a pending
///        commitment and `block.timestamp < revealDeadline`; {refund} needs
///        `block.timestamp >= deadline` and, with a commitment, `>= revealDeadline`. All three
///        need the order to be Open, so an order settles at most once, and a refund is
///        delayed by at most `revealWindow` past the deadline.
///      - Fee = floor(amount · feeBps / 10 000), computed without overflow; the seller gets
///        `amount − fee`, so seller + fee == amount exactly.
contract PromptMarketplace is IPromptMarketplace, ReentrancyGuard {
    /// @notice The BN254 scalar field modulus r; every public input must be below it.
    uint256 public constant SNARK_SCALAR_FIELD = BabyJubjub.Q;
    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Highest allowed fee: 10 %.
    uint256 public constant MAX_FEE_BPS = 1_000;
    /// @notice Longest allowed delivery window, and reveal window.
    uint256 public constant MAX_DELIVERY_WINDOW = 365 days;
    /// @notice Public inputs of the listing circuit: [commitment, outputHash, seller].
    uint256 public constant LISTING_NUM_PUBLIC_INPUTS = 3;
    /// @notice Public inputs of the delivery circuit before the ciphertext:
    ///         [commitment, pkX, pkY, ephX, ephY, orderTag].
    uint256 public constant DELIVERY_HEADER_LEN = 6;

    /// @notice Where circuit ids are resolved (only at {list} time).
    IVerifierRegistry public immutable registry;
    /// @notice Receives the fee of every delivered order (as a withdrawable credit).
    address public immutable feeRecipient;
    /// @notice Fee in basis points of the price, ≤ {MAX_FEE_BPS}.
    uint256 public immutable feeBps;
    /// @notice Seconds a seller has, from purchase, to commit to a delivery.
    uint256 public immutable deliveryWindow;
    /// @notice Seconds a seller has, from a commitment, to reveal it.
    uint256 public immutable revealWindow;

    /// @notice Number of listings created; listing ids are 1..listingCount.
    uint256 public listingCount;
    /// @notice Number of orders created; order ids are 1..orderCount.
    uint256 public orderCount;

    mapping(uint256 => Listing) private _listings;
    mapping(uint256 => Order) private _orders;
    /// @notice Wei each account may withdraw.
    mapping(address => uint256) public withdrawable;

    /// @param registry_       The {IVerifierRegistry} (must have code).
    /// @param feeRecipient_   Non-zero fee recipient.
    /// @param feeBps_         Fee in basis points, ≤ {MAX_FEE_BPS}.
    /// @param deliveryWindow_ Seconds to commit to a delivery after a purchase, in
    ///                        (0, {MAX_DELIVERY_WINDOW}].
    /// @param revealWindow_   Seconds to reveal a commitment, in (0, {MAX_DELIVERY_WINDOW}].
    constructor(
        address registry_,
        address feeRecipient_,
        uint256 feeBps_,
        uint256 deliveryWindow_,
        uint256 revealWindow_
    ) {
        if (registry_.code.length == 0) revert InvalidAddress(registry_);
        if (feeRecipient_ == address(0)) revert InvalidAddress(feeRecipient_);
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        if (deliveryWindow_ == 0 || deliveryWindow_ > MAX_DELIVERY_WINDOW) {
            revert DeliveryWindowOutOfRange(deliveryWindow_, MAX_DELIVERY_WINDOW);
        }
        if (revealWindow_ == 0 || revealWindow_ > MAX_DELIVERY_WINDOW) {
            revert RevealWindowOutOfRange(revealWindow_, MAX_DELIVERY_WINDOW);
        }
        revealWindow = revealWindow_;
        registry = IVerifierRegistry(registry_);
        feeRecipient = feeRecipient_;
        feeBps = feeBps_;
        deliveryWindow = deliveryWindow_;
    }

    // ================================================================== listing

    /// @inheritdoc IPromptMarketplace
    /// @dev Reverts `UnknownCircuit`/`CircuitDeprecated` for a bad circuit id,
    ///      `PairNotAllowed` unless the registry allows the two circuits together,
    ///      `CircuitArityMismatch` if the listing circuit does not have exactly 3 public
    ///      inputs or the delivery circuit has fewer than 7, `PublicInputNotInField` if
    ///      `commitment` or `outputHash` ≥ r, `ZeroPrice`, and `InvalidProof` if the pinned
    ///      listing verifier rejects `listingProof` for [commitment, outputHash, msg.sender].
    ///      The seller input is msg.sender, never an argument: a listing proof copied from
    ///      the mempool or from another listing cannot be listed by anyone but its prover.
    function list(
        bytes32 listingCircuitId,
        bytes32 deliveryCircuitId,
        uint256 commitment,
        uint256 outputHash,
        uint256 price,
        bytes32 metadataHash,
        bytes calldata listingProof
    ) external nonReentrant returns (uint256 listingId) {
        if (price == 0) revert ZeroPrice();
        IVerifierRegistry.Entry memory le = _activeEntry(listingCircuitId);
        IVerifierRegistry.Entry memory de = _activeEntry(deliveryCircuitId);
        if (!registry.isPairAllowed(listingCircuitId, deliveryCircuitId)) {
            revert PairNotAllowed(listingCircuitId, deliveryCircuitId);
        }
        if (le.numPublicInputs != LISTING_NUM_PUBLIC_INPUTS) {
            revert CircuitArityMismatch(listingCircuitId, le.numPublicInputs);
        }
        if (de.numPublicInputs <= DELIVERY_HEADER_LEN) {
            revert CircuitArityMismatch(deliveryCircuitId, de.numPublicInputs);
        }

        uint256[] memory inputs = new uint256[](LISTING_NUM_PUBLIC_INPUTS);
        inputs[0] = commitment;
        inputs[1] = outputHash;
        inputs[2] = uint256(uint160(msg.sender));
        _verify(listingCircuitId, le.verifier, listingProof, inputs);

        listingId = ++listingCount;
        Listing storage l = _listings[listingId];
        l.seller = msg.sender;
        l.active = true;
        l.listingVerifier = le.verifier;
        l.deliveryVerifier = de.verifier;
        l.listingCircuitId = listingCircuitId;
        l.deliveryCircuitId = deliveryCircuitId;
        l.listingVkDigest = le.vkDigest;
        l.deliveryVkDigest = de.vkDigest;
        l.deliveryNumPublicInputs = de.numPublicInputs;
        l.commitment = commitment;
        l.outputHash = outputHash;
        l.price = price;
        l.metadataHash = metadataHash;
        emit Listed(
            listingId, msg.sender, listingCircuitId, deliveryCircuitId, commitment, outputHash, price, metadataHash
        );
    }

    /// @inheritdoc IPromptMarketplace
    function cancel(uint256 listingId) external nonReentrant {
        Listing storage l = _existingListing(listingId);
        if (msg.sender != l.seller) revert NotSeller(msg.sender, l.seller);
        if (!l.active) revert ListingNotActive(listingId);
        l.active = false;
        emit ListingCancelled(listingId);
    }

    // ================================================================== orders

    /// @inheritdoc IPromptMarketplace
    /// @dev Reverts `ListingNotFound`, `ListingNotActive`, `CircuitDeprecated` when the
    ///      registry has deprecated either circuit the listing pinned (open orders stay
    ///      deliverable and refundable), `IncorrectPayment` unless `msg.value == price`, and
    ///      `InvalidPublicKey` unless (pkX, pkY) is a canonical Baby Jubjub point (EIP-2494 form)
    ///      not of small order.
    function buy(uint256 listingId, uint256 pkX, uint256 pkY) external payable nonReentrant returns (uint256 orderId) {
        Listing storage l = _existingListing(listingId);
        if (!l.active) revert ListingNotActive(listingId);
        _notDeprecated(l.listingCircuitId);
        _notDeprecated(l.deliveryCircuitId);
        if (msg.value != l.price) revert IncorrectPayment(l.price, msg.value);
        if (!BabyJubjub.isOnCurve(pkX, pkY) || BabyJubjub.hasSmallOrder(pkX, pkY)) {
            revert InvalidPublicKey(pkX, pkY);
        }
        uint64 deadline = SafeCast.toUint64(block.timestamp + deliveryWindow);

        orderId = ++orderCount;
        Order storage o = _orders[orderId];
        o.listingId = listingId;
        o.buyer = msg.sender;
        o.status = OrderStatus.Open;
        o.deadline = deadline;
        o.amount = msg.value;
        o.pkX = pkX;
        o.pkY = pkY;
        emit Purchased(orderId, listingId, msg.sender, pkX, pkY, msg.value, deadline);
    }

    /// @inheritdoc IPromptMarketplace
    /// @dev Reverts `OrderNotFound`, `NotSeller`, `OrderNotOpen`, `DeadlinePassed` if
    ///      `block.timestamp >= deadline`, and `ZeroDigest`. Checks nothing else: the digest
    ///      is opaque until the reveal.
    function commitDelivery(uint256 orderId, bytes32 digest) external nonReentrant {
        Order storage o = _existingOrder(orderId);
        address seller = _listings[o.listingId].seller;
        if (msg.sender != seller) revert NotSeller(msg.sender, seller);
        if (o.status != OrderStatus.Open) revert OrderNotOpen(orderId, o.status);
        // Deadlines are hours to days long; validator timestamp drift (seconds) is immaterial.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= o.deadline) revert DeadlinePassed(orderId, o.deadline, block.timestamp);
        if (digest == bytes32(0)) revert ZeroDigest();
        uint64 revealDeadline = SafeCast.toUint64(block.timestamp + revealWindow);
        o.deliveryDigest = digest;
        o.revealDeadline = revealDeadline;
        emit DeliveryCommitted(orderId, digest, revealDeadline);
    }

    /// @inheritdoc IPromptMarketplace
    /// @dev The reveal. Reverts `OrderNotFound`, `NotSeller`, `OrderNotOpen`, `NoCommitment`,
    ///      `RevealDeadlinePassed` if `block.timestamp >= revealDeadline` (the order's own
    ///      deadline does not matter any more: the commitment was made before it),
    ///      `DigestMismatch` unless {deliveryDigest} of the arguments is the commitment,
    ///      `InvalidEphemeralKey` for R = (0, 1) (r ≡ 0: the keystream would not depend on the
    ///      buyer's key, so anyone could decrypt), `CiphertextLengthMismatch`,
    ///      `PublicInputNotInField` (index in the delivery layout) and `InvalidProof`.
    ///      The public inputs are rebuilt here: C, PK_B and the order tag come from storage.
    function deliver(
        uint256 orderId,
        uint256 ephX,
        uint256 ephY,
        uint256[] calldata ciphertext,
        bytes calldata deliveryProof
    ) external nonReentrant {
        Order storage o = _existingOrder(orderId);
        Listing storage l = _listings[o.listingId];
        _checkReveal(orderId, o, l, ephX, ephY, ciphertext, deliveryProof);
        uint256[] memory inputs = _deliveryInputs(orderId, ephX, ephY, ciphertext);
        _verify(l.deliveryCircuitId, l.deliveryVerifier, deliveryProof, inputs);

        // Effects (no interactions follow: payouts are credits).
        o.status = OrderStatus.Delivered;
        emit Delivered(orderId, ephX, ephY, ciphertext);
        _creditSale(orderId, o.amount, l.seller);
    }

    /// @inheritdoc IPromptMarketplace
    /// @dev Pull refund: marks the order Refunded and credits `amount` to the buyer, who then
    ///      calls {withdraw} (or {withdrawTo}). Anyone may trigger it (a keeper, the seller, the
    ///      buyer's agent): the money only ever goes to the buyer. Reverts `OrderNotFound`,
    ///      `OrderNotOpen` (e.g. already delivered), `DeadlineNotReached`, and `RevealPending`
    ///      while a commitment may still be revealed (a commitment never revealed makes the
    ///      order refundable at its reveal deadline, if that is after the deadline).
    function refund(uint256 orderId) external nonReentrant {
        Order storage o = _existingOrder(orderId);
        if (o.status != OrderStatus.Open) revert OrderNotOpen(orderId, o.status);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < o.deadline) revert DeadlineNotReached(orderId, o.deadline, block.timestamp);
        // forge-lint: disable-next-line(block-timestamp)
        if (o.deliveryDigest != bytes32(0) && block.timestamp < o.revealDeadline) {
            revert RevealPending(orderId, o.revealDeadline, block.timestamp);
        }

        o.status = OrderStatus.Refunded;
        uint256 amount = o.amount;
        address buyer = o.buyer;
        withdrawable[buyer] += amount;
        emit Refunded(orderId, buyer, amount);
        emit Credited(buyer, orderId, amount);
    }

    // ================================================================== payouts

    /// @inheritdoc IPromptMarketplace
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _withdraw(payable(msg.sender));
    }

    /// @inheritdoc IPromptMarketplace
    function withdrawTo(address payable to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert InvalidAddress(to);
        amount = _withdraw(to);
    }

    // ================================================================== views

    /// @notice The fee taken from an order of `amount` wei: floor(amount · feeBps / 10 000).
    function feeOf(uint256 amount) public view returns (uint256) {
        // Split to avoid overflowing amount · feeBps; still the exact floor of the product.
        // forge-lint: disable-next-line(divide-before-multiply)
        return (amount / BPS) * feeBps + ((amount % BPS) * feeBps) / BPS;
    }

    /// @notice Listing `listingId` (all zero if it does not exist).
    function getListing(uint256 listingId) external view returns (Listing memory) {
        return _listings[listingId];
    }

    /// @notice Order `orderId` (all zero, status None, if it does not exist).
    function getOrder(uint256 orderId) external view returns (Order memory) {
        return _orders[orderId];
    }

    /// @inheritdoc IPromptMarketplace
    function orderTag(uint256 orderId) public view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), orderId))) % SNARK_SCALAR_FIELD;
    }

    /// @inheritdoc IPromptMarketplace
    function deliveryDigest(
        uint256 orderId,
        uint256 ephX,
        uint256 ephY,
        uint256[] calldata ciphertext,
        bytes calldata proof
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(orderId, ephX, ephY, ciphertext, proof));
    }

    /// @notice The exact public inputs {deliver} would pass to the verifier for these
    ///         seller-supplied values (useful to provers and for debugging).
    function deliveryPublicInputs(uint256 orderId, uint256 ephX, uint256 ephY, uint256[] calldata ciphertext)
        external
        view
        returns (uint256[] memory)
    {
        _existingOrder(orderId);
        return _deliveryInputs(orderId, ephX, ephY, ciphertext);
    }

    // ================================================================== internal

    function _withdraw(address payable to) private returns (uint256 amount) {
        amount = withdrawable[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        withdrawable[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }

    /// @dev Every check of a reveal but the proof (see {deliver}).
    function _checkReveal(
        uint256 orderId,
        Order storage o,
        Listing storage l,
        uint256 ephX,
        uint256 ephY,
        uint256[] calldata ciphertext,
        bytes calldata deliveryProof
    ) private view {
        if (msg.sender != l.seller) revert NotSeller(msg.sender, l.seller);
        if (o.status != OrderStatus.Open) revert OrderNotOpen(orderId, o.status);
        bytes32 committed = o.deliveryDigest;
        if (committed == bytes32(0)) revert NoCommitment(orderId);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= o.revealDeadline) {
            revert RevealDeadlinePassed(orderId, o.revealDeadline, block.timestamp);
        }
        bytes32 revealed = deliveryDigest(orderId, ephX, ephY, ciphertext, deliveryProof);
        if (revealed != committed) revert DigestMismatch(orderId, committed, revealed);
        if (ephX == 0 && ephY == 1) revert InvalidEphemeralKey(ephX, ephY);
        uint256 expectedLen = l.deliveryNumPublicInputs - DELIVERY_HEADER_LEN;
        if (ciphertext.length != expectedLen) revert CiphertextLengthMismatch(expectedLen, ciphertext.length);
    }

    /// @dev Credits a delivered order's `amount`: `amount − fee` to the seller, `fee` to the
    ///      fee recipient.
    function _creditSale(uint256 orderId, uint256 amount, address seller) private {
        uint256 fee = feeOf(amount);
        withdrawable[seller] += amount - fee;
        emit Credited(seller, orderId, amount - fee);
        if (fee != 0) {
            withdrawable[feeRecipient] += fee;
            emit Credited(feeRecipient, orderId, fee);
        }
    }

    function _activeEntry(bytes32 circuitId) private view returns (IVerifierRegistry.Entry memory e) {
        e = registry.get(circuitId);
        if (e.verifier == address(0)) revert UnknownCircuit(circuitId);
        if (e.deprecated) revert CircuitDeprecated(circuitId);
    }

    function _notDeprecated(bytes32 circuitId) private view {
        if (registry.isDeprecated(circuitId)) revert CircuitDeprecated(circuitId);
    }

    function _existingListing(uint256 listingId) private view returns (Listing storage l) {
        l = _listings[listingId];
        if (l.seller == address(0)) revert ListingNotFound(listingId);
    }

    function _existingOrder(uint256 orderId) private view returns (Order storage o) {
        o = _orders[orderId];
        if (o.status == OrderStatus.None) revert OrderNotFound(orderId);
    }

    /// @dev [commitment, pkX, pkY, ephX, ephY, orderTag(orderId), ciphertext...] of an
    ///      existing order.
    function _deliveryInputs(uint256 orderId, uint256 ephX, uint256 ephY, uint256[] calldata ciphertext)
        private
        view
        returns (uint256[] memory inputs)
    {
        Order storage o = _orders[orderId];
        uint256 n = ciphertext.length;
        inputs = new uint256[](DELIVERY_HEADER_LEN + n);
        inputs[0] = _listings[o.listingId].commitment;
        inputs[1] = o.pkX;
        inputs[2] = o.pkY;
        inputs[3] = ephX;
        inputs[4] = ephY;
        inputs[5] = orderTag(orderId);
        for (uint256 i = 0; i < n; ++i) {
            inputs[DELIVERY_HEADER_LEN + i] = ciphertext[i];
        }
    }

    /// @dev Checks every input is < r (whatever the verifier does), then verifies.
    function _verify(bytes32 circuitId, address verifier, bytes calldata proof, uint256[] memory inputs) private view {
        uint256 n = inputs.length;
        for (uint256 i = 0; i < n; ++i) {
            if (inputs[i] >= SNARK_SCALAR_FIELD) revert PublicInputNotInField(circuitId, i, inputs[i]);
        }
        if (!IProofVerifier(verifier).verifyProof(proof, inputs)) revert InvalidProof(circuitId);
    }
}
