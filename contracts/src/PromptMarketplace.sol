// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {IProofVerifier} from "./interfaces/IProofVerifier.sol";
import {IVerifierRegistry} from "./interfaces/IVerifierRegistry.sol";
import {IPromptMarketplace} from "./interfaces/IPromptMarketplace.sol";
import {BabyJubjub} from "./libraries/BabyJubjub.sol";

/// @title PromptMarketplace
/// @notice Escrow for zkML prompt sales.
///
///         1. A seller {list}s a prompt: a listing proof shows that the prompt committed to by
///            C = Poseidon(prompt tokens ‖ salt) makes the public model produce the output
///            hashed to `outputHash`. Both circuits' verifiers are pinned into the listing.
///         2. A buyer {buy}s it, escrowing exactly `price` and naming a Baby Jubjub key PK_B.
///            The order's deadline is `block.timestamp + deliveryWindow`.
///         3. Before the deadline the seller may {deliver}: an ephemeral key R, a ciphertext
///            and a delivery proof that the ciphertext encrypts the opening of C to PK_B.
///            If it verifies, `price − fee` is credited to the seller and `fee` to the fee
///            recipient; the ciphertext is published in the {Delivered} event.
///         4. At or after the deadline, if not delivered, the buyer may {refund}: `price` is
///            credited back to the buyer.
///         5. Credited balances leave only through {withdraw}/{withdrawTo} (pull payments).
///
/// @dev Design notes:
///      - Pull payments everywhere: no function but {withdrawTo} sends ether, so a
///        reverting or re-entering recipient can only block its own withdrawal. Refunds are
///        credits too (a buyer contract that cannot receive can {withdrawTo} elsewhere).
///      - Every state-changing entry point is `nonReentrant` and follows
///        checks-effects-interactions; proof verifiers are only called through `view`
///        (STATICCALL), so they cannot re-enter state-changing code anyway.
///      - The delivery window is split at the deadline: {deliver} needs
///        `block.timestamp < deadline`, {refund} needs `block.timestamp >= deadline`, and
///        both need the order to be Open, so an order settles at most once.
///      - Fee = floor(amount · feeBps / 10 000), computed without overflow; the seller gets
///        `amount − fee`, so seller + fee == amount exactly.
contract PromptMarketplace is IPromptMarketplace {
    /// @notice The BN254 scalar field modulus r; every public input must be below it.
    uint256 public constant SNARK_SCALAR_FIELD = BabyJubjub.Q;
    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Highest allowed fee: 10 %.
    uint256 public constant MAX_FEE_BPS = 1_000;
    /// @notice Longest allowed delivery window (keeps deadlines far inside uint64).
    uint256 public constant MAX_DELIVERY_WINDOW = 365 days;
    /// @notice Public inputs of the listing circuit: [commitment, outputHash].
    uint256 public constant LISTING_NUM_PUBLIC_INPUTS = 2;
    /// @notice Public inputs of the delivery circuit before the ciphertext:
    ///         [commitment, pkX, pkY, ephX, ephY, orderId].
    uint256 public constant DELIVERY_HEADER_LEN = 6;

    /// @notice Where circuit ids are resolved (only at {list} time).
    IVerifierRegistry public immutable registry;
    /// @notice Receives the fee of every delivered order (as a withdrawable credit).
    address public immutable feeRecipient;
    /// @notice Fee in basis points of the price, ≤ {MAX_FEE_BPS}.
    uint256 public immutable feeBps;
    /// @notice Seconds a seller has, from purchase, to deliver.
    uint256 public immutable deliveryWindow;

    /// @notice Number of listings created; listing ids are 1..listingCount.
    uint256 public listingCount;
    /// @notice Number of orders created; order ids are 1..orderCount.
    uint256 public orderCount;

    mapping(uint256 => Listing) private _listings;
    mapping(uint256 => Order) private _orders;
    /// @notice Wei each account may withdraw.
    mapping(address => uint256) public withdrawable;

    uint256 private constant _NOT_ENTERED = 1;
    uint256 private constant _ENTERED = 2;
    uint256 private _reentrancyStatus = _NOT_ENTERED;

    modifier nonReentrant() {
        if (_reentrancyStatus == _ENTERED) revert ReentrantCall();
        _reentrancyStatus = _ENTERED;
        _;
        _reentrancyStatus = _NOT_ENTERED;
    }

    /// @param registry_       The {IVerifierRegistry} (must have code).
    /// @param feeRecipient_   Non-zero fee recipient.
    /// @param feeBps_         Fee in basis points, ≤ {MAX_FEE_BPS}.
    /// @param deliveryWindow_ Seconds to deliver after a purchase, in (0, {MAX_DELIVERY_WINDOW}].
    constructor(address registry_, address feeRecipient_, uint256 feeBps_, uint256 deliveryWindow_) {
        if (registry_.code.length == 0) revert InvalidAddress(registry_);
        if (feeRecipient_ == address(0)) revert InvalidAddress(feeRecipient_);
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        if (deliveryWindow_ == 0 || deliveryWindow_ > MAX_DELIVERY_WINDOW) {
            revert DeliveryWindowOutOfRange(deliveryWindow_, MAX_DELIVERY_WINDOW);
        }
        registry = IVerifierRegistry(registry_);
        feeRecipient = feeRecipient_;
        feeBps = feeBps_;
        deliveryWindow = deliveryWindow_;
    }

    // ================================================================== listing

    /// @inheritdoc IPromptMarketplace
    /// @dev Reverts `UnknownCircuit`/`CircuitDeprecated` for a bad circuit id,
    ///      `CircuitArityMismatch` if the listing circuit does not have exactly 2 public
    ///      inputs or the delivery circuit has fewer than 7, `PublicInputNotInField` if
    ///      `commitment` or `outputHash` ≥ r, `ZeroPrice`, and `InvalidProof` if the pinned
    ///      listing verifier rejects `listingProof` for [commitment, outputHash].
    function list(
        bytes32 listingCircuitId,
        bytes32 deliveryCircuitId,
        uint256 commitment,
        uint256 outputHash,
        uint256 price,
        bytes calldata listingProof
    ) external nonReentrant returns (uint256 listingId) {
        if (price == 0) revert ZeroPrice();
        IVerifierRegistry.Entry memory le = _activeEntry(listingCircuitId);
        IVerifierRegistry.Entry memory de = _activeEntry(deliveryCircuitId);
        if (le.numPublicInputs != LISTING_NUM_PUBLIC_INPUTS) {
            revert CircuitArityMismatch(listingCircuitId, le.numPublicInputs);
        }
        if (de.numPublicInputs <= DELIVERY_HEADER_LEN) {
            revert CircuitArityMismatch(deliveryCircuitId, de.numPublicInputs);
        }

        uint256[] memory inputs = new uint256[](LISTING_NUM_PUBLIC_INPUTS);
        inputs[0] = commitment;
        inputs[1] = outputHash;
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
        emit Listed(listingId, msg.sender, listingCircuitId, deliveryCircuitId, commitment, outputHash, price);
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
        // casting to 'uint64' is safe because deliveryWindow ≤ 365 days and timestamps are ≪ 2^63
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 deadline = uint64(block.timestamp + deliveryWindow);

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
    ///      `block.timestamp >= deadline`, `InvalidEphemeralKey` for R = (0, 1) (r ≡ 0: the
    ///      keystream would not depend on the buyer's key, so anyone could decrypt),
    ///      `CiphertextLengthMismatch`, `PublicInputNotInField` (index in the delivery layout)
    ///      and `InvalidProof`.
    ///      The public inputs are rebuilt here: C, PK_B and the order id come from storage.
    function deliver(
        uint256 orderId,
        uint256 ephX,
        uint256 ephY,
        uint256[] calldata ciphertext,
        bytes calldata deliveryProof
    ) external nonReentrant {
        Order storage o = _existingOrder(orderId);
        Listing storage l = _listings[o.listingId];
        if (msg.sender != l.seller) revert NotSeller(msg.sender, l.seller);
        if (o.status != OrderStatus.Open) revert OrderNotOpen(orderId, o.status);
        // Deadlines are hours to days long; validator timestamp drift (seconds) is immaterial.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= o.deadline) revert DeadlinePassed(orderId, o.deadline, block.timestamp);
        if (ephX == 0 && ephY == 1) revert InvalidEphemeralKey(ephX, ephY);
        uint256 expectedLen = l.deliveryNumPublicInputs - DELIVERY_HEADER_LEN;
        if (ciphertext.length != expectedLen) revert CiphertextLengthMismatch(expectedLen, ciphertext.length);

        uint256[] memory inputs = _deliveryInputs(l.commitment, o, orderId, ephX, ephY, ciphertext);
        _verify(l.deliveryCircuitId, l.deliveryVerifier, deliveryProof, inputs);

        // Effects (no interactions follow: payouts are credits).
        o.status = OrderStatus.Delivered;
        uint256 amount = o.amount;
        uint256 fee = feeOf(amount);
        address seller = l.seller;
        withdrawable[seller] += amount - fee;
        emit Delivered(orderId, ephX, ephY, ciphertext);
        emit Credited(seller, orderId, amount - fee);
        if (fee != 0) {
            withdrawable[feeRecipient] += fee;
            emit Credited(feeRecipient, orderId, fee);
        }
    }

    /// @inheritdoc IPromptMarketplace
    /// @dev Pull refund: marks the order Refunded and credits `amount` to the buyer, who then
    ///      calls {withdraw} (or {withdrawTo}). Anyone may trigger it (a keeper, the seller, the
    ///      buyer's agent): the money only ever goes to the buyer. Reverts `OrderNotFound`,
    ///      `OrderNotOpen` (e.g. already delivered) and `DeadlineNotReached`.
    function refund(uint256 orderId) external nonReentrant {
        Order storage o = _existingOrder(orderId);
        if (o.status != OrderStatus.Open) revert OrderNotOpen(orderId, o.status);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < o.deadline) revert DeadlineNotReached(orderId, o.deadline, block.timestamp);

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

    /// @notice The exact public inputs {deliver} would pass to the verifier for these
    ///         seller-supplied values (useful to provers and for debugging).
    function deliveryPublicInputs(uint256 orderId, uint256 ephX, uint256 ephY, uint256[] calldata ciphertext)
        external
        view
        returns (uint256[] memory)
    {
        Order storage o = _existingOrder(orderId);
        return _deliveryInputs(_listings[o.listingId].commitment, o, orderId, ephX, ephY, ciphertext);
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

    /// @dev [commitment, pkX, pkY, ephX, ephY, orderId, ciphertext...]
    function _deliveryInputs(
        uint256 commitment,
        Order storage o,
        uint256 orderId,
        uint256 ephX,
        uint256 ephY,
        uint256[] calldata ciphertext
    ) private view returns (uint256[] memory inputs) {
        uint256 n = ciphertext.length;
        inputs = new uint256[](DELIVERY_HEADER_LEN + n);
        inputs[0] = commitment;
        inputs[1] = o.pkX;
        inputs[2] = o.pkY;
        inputs[3] = ephX;
        inputs[4] = ephY;
        inputs[5] = orderId;
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
