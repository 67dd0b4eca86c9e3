// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @dev Copies of {IPromptMarketplace}'s events, for `vm.expectEmit`. Same signatures, so the
///      same topics.
abstract contract MarketEvents {
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
    event ListingCancelled(uint256 indexed listingId);
    event Purchased(
        uint256 indexed orderId,
        uint256 indexed listingId,
        address indexed buyer,
        uint256 pkX,
        uint256 pkY,
        uint256 amount,
        uint64 deadline
    );
    event DeliveryCommitted(uint256 indexed orderId, bytes32 digest, uint64 revealDeadline);
    event Delivered(uint256 indexed orderId, uint256 ephX, uint256 ephY, uint256[] ciphertext);
    event Refunded(uint256 indexed orderId, address indexed buyer, uint256 amount);
    event Credited(address indexed account, uint256 indexed orderId, uint256 amount);
    event Withdrawn(address indexed account, address indexed to, uint256 amount);
}
