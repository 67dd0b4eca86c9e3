// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title IPromptMarketplace
/// @notice Escrow for selling a hidden prompt whose effect on a public model is proven in
///         zero knowledge, with delivery of the prompt encrypted to the buyer's key.
/// @dev Public-input layouts (circuit instance order; every value < the BN254 scalar field r):
///
///      Listing circuit (exactly 3 public inputs):
///        [0] commitment  C = Poseidon(prompt tokens ‖ salt)
///        [1] outputHash  hash of the public output the hidden prompt produces with the model
///        [2] seller      uint256(uint160(msg.sender)) of {list}   (from the transaction)
///
///      Delivery circuit (6 + k public inputs, k = ciphertext length, k ≥ 1):
///        [0]      commitment  C of the listing            (from storage)
///        [1]      pkX         buyer's Baby Jubjub key x    (from storage, set at {buy})
///        [2]      pkY         buyer's Baby Jubjub key y    (from storage, set at {buy})
///        [3]      ephX        seller's ephemeral key R.x   (from the seller)
///        [4]      ephY        seller's ephemeral key R.y   (from the seller)
///        [5]      orderTag    {orderTag}(orderId) = keccak256(abi.encode(chainid, market,
///                             orderId)) mod r             (computed: chain, contract, order)
///        [6..6+k) ciphertext  encryption of the prompt     (from the seller)
///
///      The contract always builds these arrays itself; a seller never supplies C, PK_B, the
///      order tag or (for a listing) its own address, so a proof made for another commitment,
///      key, order, deployment, chain or seller cannot settle this one.
interface IPromptMarketplace {
    /// @notice A prompt offered for sale. Verifier data is copied from the registry at
    ///         {list} time ("pinned") and never re-read.
    struct Listing {
        address seller;
        bool active;
        address listingVerifier;
        address deliveryVerifier;
        bytes32 listingCircuitId;
        bytes32 deliveryCircuitId;
        bytes32 listingVkDigest;
        bytes32 deliveryVkDigest;
        uint256 deliveryNumPublicInputs;
        uint256 commitment;
        uint256 outputHash;
        uint256 price;
        bytes32 metadataHash;
    }

    /// @notice Lifecycle of an order. `None` means "no such order".
    ///         Open → Delivered (the seller committed before the deadline and revealed a
    ///         verifying delivery before the reveal deadline), or Open → Refunded (at/after the
    ///         deadline, and after the reveal deadline of a pending commitment). Both are final.
    enum OrderStatus {
        None,
        Open,
        Delivered,
        Refunded
    }

    /// @notice A purchase, escrowing `amount` wei until it settles.
    /// @param deliveryDigest The seller's pending (or, once Delivered, revealed) commitment
    ///                       {deliveryDigest}(…); zero until {commitDelivery}.
    /// @param revealDeadline The commitment's reveal deadline; zero until {commitDelivery}.
    struct Order {
        uint256 listingId;
        address buyer;
        OrderStatus status;
        uint64 deadline;
        uint64 revealDeadline;
        bytes32 deliveryDigest;
        uint256 amount;
        uint256 pkX;
        uint256 pkY;
    }

    // ------------------------------------------------------------------ events

    /// @notice A listing was created with its circuits pinned. `metadataHash` is the sha256 of
    ///         the seller's off-chain metadata document (title, description, example output);
    ///         an indexer serves that document only if it hashes to this value.
    event Listed(
        uint256 indexed listingId,
        address indexed seller,
        bytes32 listingCircuitId,
        bytes32 deliveryCircuitId,
        uint256 commitment,
        uint256 outputHash,
        uint256 price,
        bytes32 metadataHash
    );
    /// @notice The seller stopped new purchases of `listingId`.
    event ListingCancelled(uint256 indexed listingId);
    /// @notice `buyer` escrowed `amount` for `listingId`; the seller must deliver before `deadline`.
    event Purchased(
        uint256 indexed orderId,
        uint256 indexed listingId,
        address indexed buyer,
        uint256 pkX,
        uint256 pkY,
        uint256 amount,
        uint64 deadline
    );
    /// @notice The seller committed to a delivery (`digest` = {deliveryDigest} of what it
    ///         will reveal); refunds wait until `revealDeadline`.
    event DeliveryCommitted(uint256 indexed orderId, bytes32 digest, uint64 revealDeadline);
    /// @notice The delivery proof verified; the buyer decrypts `ciphertext` with the secret key
    ///         of PK_B and the ephemeral key R = (ephX, ephY).
    event Delivered(uint256 indexed orderId, uint256 ephX, uint256 ephY, uint256[] ciphertext);
    /// @notice An undelivered order was refunded to its buyer after its deadline.
    event Refunded(uint256 indexed orderId, address indexed buyer, uint256 amount);
    /// @notice `account`'s withdrawable balance grew by `amount` because order `orderId` settled.
    event Credited(address indexed account, uint256 indexed orderId, uint256 amount);
    /// @notice `account` withdrew its whole balance `amount` to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);

    // ------------------------------------------------------------------ errors

    /// @notice A constructor argument is the zero address or has no code.
    error InvalidAddress(address account);
    /// @notice `feeBps` exceeds the maximum `maxFeeBps`.
    error FeeTooHigh(uint256 feeBps, uint256 maxFeeBps);
    /// @notice The delivery window `window` is zero or above `maxWindow`.
    error DeliveryWindowOutOfRange(uint256 window, uint256 maxWindow);
    /// @notice The reveal window `window` is zero or above `maxWindow`.
    error RevealWindowOutOfRange(uint256 window, uint256 maxWindow);
    /// @notice `circuitId` is not in the registry.
    error UnknownCircuit(bytes32 circuitId);
    /// @notice `circuitId` is deprecated in the registry and cannot back a new listing.
    error CircuitDeprecated(bytes32 circuitId);
    /// @notice `circuitId` has `numPublicInputs` public inputs, which does not fit its role
    ///         (listing: exactly 3; delivery: at least 7).
    error CircuitArityMismatch(bytes32 circuitId, uint256 numPublicInputs);
    /// @notice The registry does not allow listings to pair these two circuits.
    error PairNotAllowed(bytes32 listingCircuitId, bytes32 deliveryCircuitId);
    /// @notice Public input `index` of `circuitId`'s layout has value `value` ≥ r.
    error PublicInputNotInField(bytes32 circuitId, uint256 index, uint256 value);
    /// @notice The pinned verifier rejected the proof for `circuitId`.
    error InvalidProof(bytes32 circuitId);
    /// @notice Listings must have a non-zero price.
    error ZeroPrice();
    /// @notice No listing has id `listingId`.
    error ListingNotFound(uint256 listingId);
    /// @notice `listingId` was cancelled by its seller.
    error ListingNotActive(uint256 listingId);
    /// @notice `caller` is not `seller`, the seller of the listing concerned.
    error NotSeller(address caller, address seller);
    /// @notice `msg.value` was `sent`, the listing's price is `price`.
    error IncorrectPayment(uint256 price, uint256 sent);
    /// @notice (pkX, pkY) is not a Baby Jubjub point, or has small order (e.g. the identity).
    error InvalidPublicKey(uint256 pkX, uint256 pkY);
    /// @notice The delivery's ephemeral key R = (x, y) is the identity: no secret is shared.
    error InvalidEphemeralKey(uint256 x, uint256 y);
    /// @notice No order has id `orderId`.
    error OrderNotFound(uint256 orderId);
    /// @notice `orderId` is not open (already `status`).
    error OrderNotOpen(uint256 orderId, OrderStatus status);
    /// @notice A delivery commitment attempted at `timestamp` ≥ the order's `deadline`.
    error DeadlinePassed(uint256 orderId, uint64 deadline, uint256 timestamp);
    /// @notice Refund attempted at `timestamp` < the order's `deadline`.
    error DeadlineNotReached(uint256 orderId, uint64 deadline, uint256 timestamp);
    /// @notice Refund attempted at `timestamp` < the `revealDeadline` of a pending commitment.
    error RevealPending(uint256 orderId, uint64 revealDeadline, uint256 timestamp);
    /// @notice A commitment of zero (zero means "no commitment").
    error ZeroDigest();
    /// @notice {deliver} on an order without a delivery commitment.
    error NoCommitment(uint256 orderId);
    /// @notice Reveal attempted at `timestamp` ≥ the commitment's `revealDeadline`.
    error RevealDeadlinePassed(uint256 orderId, uint64 revealDeadline, uint256 timestamp);
    /// @notice The revealed delivery hashes to `revealed`, not to the `committed` digest.
    error DigestMismatch(uint256 orderId, bytes32 committed, bytes32 revealed);
    /// @notice The ciphertext has `got` elements; the pinned delivery circuit needs `expected`.
    error CiphertextLengthMismatch(uint256 expected, uint256 got);
    /// @notice `account` has no withdrawable balance.
    error NothingToWithdraw(address account);
    /// @notice Sending `amount` wei to `to` failed.
    error TransferFailed(address to, uint256 amount);

    // ------------------------------------------------------------------ functions

    /// @notice Lists a prompt; the listing proof is verified on [commitment, outputHash,
    ///         msg.sender]. `metadataHash` (sha256 of the off-chain metadata document, or zero
    ///         for none) is stored and emitted so no one but the seller can change what the
    ///         listing says about itself. See the contract documentation for the layout.
    function list(
        bytes32 listingCircuitId,
        bytes32 deliveryCircuitId,
        uint256 commitment,
        uint256 outputHash,
        uint256 price,
        bytes32 metadataHash,
        bytes calldata listingProof
    ) external returns (uint256 listingId);

    /// @notice Buys `listingId`, escrowing exactly its price; PK_B = (pkX, pkY).
    function buy(uint256 listingId, uint256 pkX, uint256 pkY) external payable returns (uint256 orderId);

    /// @notice Seller, before the deadline: commits to the delivery it will reveal,
    ///         `digest` = {deliveryDigest}(orderId, ephX, ephY, ciphertext, proof). Nothing
    ///         secret is published; refunds wait until the reveal deadline. A new commitment
    ///         replaces a pending one (and restarts the reveal window).
    function commitDelivery(uint256 orderId, bytes32 digest) external;

    /// @notice Seller, before the reveal deadline: reveals the committed delivery (the prompt
    ///         encrypted to the order's PK_B and its proof); settles the order if it matches the
    ///         commitment and the proof verifies.
    function deliver(
        uint256 orderId,
        uint256 ephX,
        uint256 ephY,
        uint256[] calldata ciphertext,
        bytes calldata deliveryProof
    ) external;

    /// @notice Refunds an undelivered order at/after its deadline (and the reveal deadline of a
    ///         pending commitment) to its buyer (credited, then the buyer calls {withdraw});
    ///         anyone may call it.
    function refund(uint256 orderId) external;

    /// @notice Seller stops new purchases of `listingId`; open orders are unaffected.
    function cancel(uint256 listingId) external;

    /// @notice Sends the caller's whole withdrawable balance to the caller.
    function withdraw() external returns (uint256 amount);

    /// @notice Sends the caller's whole withdrawable balance to `to`.
    function withdrawTo(address payable to) external returns (uint256 amount);

    /// @notice Public input [5] of order `orderId`'s delivery proof:
    ///         uint256(keccak256(abi.encode(block.chainid, address(this), orderId))) mod r.
    function orderTag(uint256 orderId) external view returns (uint256);

    /// @notice What {commitDelivery} commits to: keccak256(abi.encode(orderId, ephX, ephY,
    ///         ciphertext, proof)).
    function deliveryDigest(
        uint256 orderId,
        uint256 ephX,
        uint256 ephY,
        uint256[] calldata ciphertext,
        bytes calldata proof
    ) external pure returns (bytes32);
}
