// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {MarketEvents} from "./utils/MarketEvents.sol";
import {PromptMarketplace} from "../src/PromptMarketplace.sol";
import {VerifierRegistry} from "../src/VerifierRegistry.sol";
import {IPromptMarketplace} from "../src/interfaces/IPromptMarketplace.sol";
import {ConstVerifier, HashVerifier, ExpectInputsVerifier, MutableRegistry} from "./mocks/MarketMocks.sol";

/// @dev Rejects every ether transfer.
contract RejectsEther {
    receive() external payable {
        revert("no ether");
    }
}

contract PromptMarketplaceTest is MarketFixture, MarketEvents {
    // ================================================================ happy paths

    function test_listBuyCommitRevealWithdraw() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        assertEq(listingId, 1, "first listing id");

        uint256 orderId = doBuy(BUYER, listingId, PRICE);
        assertEq(orderId, 1, "first order id");
        assertEq(address(market).balance, PRICE, "escrowed");
        assertEq(BUYER.balance, 0, "buyer paid");

        uint256[] memory ct = ciphertext(orderId);
        bytes memory proof = deliveryProof(C, B8X, B8Y, orderId, ct);
        bytes32 d = digestOf(orderId, B8X2, B8Y2, ct, proof);
        vm.expectEmit(true, true, true, true, address(market));
        emit DeliveryCommitted(orderId, d, u64(T0 + REVEAL));
        vm.prank(SELLER);
        market.commitDelivery(orderId, d);
        IPromptMarketplace.Order memory o = market.getOrder(orderId);
        assertEq(o.deliveryDigest, d, "digest stored");
        assertEq(o.revealDeadline, T0 + REVEAL, "reveal deadline");
        assertTrue(o.status == IPromptMarketplace.OrderStatus.Open, "still open");

        vm.warp(T0 + 10);
        vm.expectEmit(true, true, true, true, address(market));
        emit Delivered(orderId, B8X2, B8Y2, ct);
        vm.prank(SELLER);
        market.deliver(orderId, B8X2, B8Y2, ct, proof);

        o = market.getOrder(orderId);
        assertTrue(o.status == IPromptMarketplace.OrderStatus.Delivered, "status");
        uint256 fee = PRICE * FEE_BPS / 10_000;
        assertEq(market.withdrawable(SELLER), PRICE - fee, "seller credit");
        assertEq(market.withdrawable(FEES), fee, "fee credit");
        assertEq(market.withdrawable(BUYER), 0, "buyer credit");

        vm.prank(SELLER);
        assertEq(market.withdraw(), PRICE - fee, "seller withdrew");
        vm.prank(FEES);
        market.withdraw();
        assertEq(SELLER.balance, PRICE - fee, "seller paid");
        assertEq(FEES.balance, fee, "fees paid");
        assertEq(address(market).balance, 0, "market empty");
        assertEq(market.withdrawable(SELLER), 0, "seller credit cleared");
    }

    function test_listPinsCircuitsAndStoresSeller() public {
        vm.expectEmit(true, true, true, true, address(market));
        emit Listed(1, SELLER, LISTING_ID, DELIVERY_ID, C, OUT, PRICE, META);
        uint256 id = doList(SELLER, C, PRICE);
        IPromptMarketplace.Listing memory l = market.getListing(id);
        assertEq(l.seller, SELLER, "seller");
        assertTrue(l.active, "active");
        assertEq(l.listingVerifier, address(listingVerifier), "listing verifier");
        assertEq(l.deliveryVerifier, address(deliveryVerifier), "delivery verifier");
        assertEq(l.listingVkDigest, LISTING_VK, "listing vk");
        assertEq(l.deliveryVkDigest, DELIVERY_VK, "delivery vk");
        assertEq(l.listingCircuitId, LISTING_ID, "listing circuit");
        assertEq(l.deliveryCircuitId, DELIVERY_ID, "delivery circuit");
        assertEq(l.deliveryNumPublicInputs, 6 + CT_LEN, "delivery arity");
        assertEq(l.commitment, C, "commitment");
        assertEq(l.outputHash, OUT, "output hash");
        assertEq(l.metadataHash, META, "metadata hash");
        assertEq(l.price, PRICE, "price");
    }

    function test_buyRecordsOrder() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        vm.deal(BUYER, PRICE);
        vm.expectEmit(true, true, true, true, address(market));
        emit Purchased(1, listingId, BUYER, B8X, B8Y, PRICE, u64(T0 + WINDOW));
        vm.prank(BUYER);
        uint256 orderId = market.buy{value: PRICE}(listingId, B8X, B8Y);
        IPromptMarketplace.Order memory o = market.getOrder(orderId);
        assertEq(o.listingId, listingId, "listing");
        assertEq(o.buyer, BUYER, "buyer");
        assertTrue(o.status == IPromptMarketplace.OrderStatus.Open, "open");
        assertEq(o.deadline, T0 + WINDOW, "deadline");
        assertEq(o.revealDeadline, 0, "no reveal deadline");
        assertEq(o.deliveryDigest, bytes32(0), "no commitment");
        assertEq(o.amount, PRICE, "amount");
        assertEq(o.pkX, B8X, "pkX");
        assertEq(o.pkY, B8Y, "pkY");
    }

    function test_buyAcceptsFullGroupPoint() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        vm.deal(BUYER, PRICE);
        vm.prank(BUYER);
        market.buy{value: PRICE}(listingId, GX, GY);
    }

    /// The exact array the verifier sees is [C, pkX, pkY, ephX, ephY, orderTag, ct...], with C,
    /// PK_B and the order tag taken from storage / computed.
    function test_deliveryPublicInputsAreRebuiltFromStorage() public {
        ExpectInputsVerifier ev = new ExpectInputsVerifier();
        bytes32 id = keccak256("expect-delivery");
        registry.register(id, address(ev), bytes32(0), 6 + CT_LEN);
        registry.allowPair(LISTING_ID, id);
        vm.prank(SELLER);
        uint256 listingId = market.list(LISTING_ID, id, C, OUT, PRICE, META, listingProof(C, OUT, SELLER));
        doBuy(BUYER, listingId, PRICE); // order 1, unused
        uint256 orderId = doBuy(BUYER, listingId, PRICE); // order 2
        vm.deal(BUYER, PRICE);
        vm.prank(BUYER);
        market.buy{value: PRICE}(listingId, GX, GY); // order 3, another key

        uint256[] memory ct = ciphertext(7);
        uint256[] memory expected = deliveryInputs(C, B8X, B8Y, B8X2, B8Y2, tag(orderId), ct);
        assertEq(market.deliveryPublicInputs(orderId, B8X2, B8Y2, ct), expected, "view layout");
        ev.expect(expected);

        // Same seller arguments, other orders: different (order tag / key) inputs → rejected.
        doCommit(SELLER, 1, B8X2, B8Y2, ct, "");
        doCommit(SELLER, 3, B8X2, B8Y2, ct, "");
        doCommit(SELLER, orderId, B8X2, B8Y2, ct, "");
        vm.startPrank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, id));
        market.deliver(1, B8X2, B8Y2, ct, "");
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, id));
        market.deliver(3, B8X2, B8Y2, ct, "");
        market.deliver(orderId, B8X2, B8Y2, ct, "");
        vm.stopPrank();
        assertTrue(market.getOrder(orderId).status == IPromptMarketplace.OrderStatus.Delivered, "delivered");
    }

    /// [C, H, seller]: the seller input is msg.sender, never an argument.
    function test_listingPublicInputsAreCommitmentOutputSeller() public {
        ExpectInputsVerifier ev = new ExpectInputsVerifier();
        bytes32 id = keccak256("expect-listing");
        registry.register(id, address(ev), bytes32(0), 3);
        registry.allowPair(id, DELIVERY_ID);
        ev.expect(listingInputs(C, OUT, SELLER));
        vm.startPrank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, id));
        market.list(id, DELIVERY_ID, OUT, C, PRICE, META, ""); // swapped
        market.list(id, DELIVERY_ID, C, OUT, PRICE, META, "");
        vm.stopPrank();
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, id));
        market.list(id, DELIVERY_ID, C, OUT, PRICE, META, ""); // same arguments, another sender
    }

    /// A listing proof copied from the mempool (or from another listing) cannot be listed by
    /// anyone but the seller it was made for.
    function testFuzz_RevertWhen_listingProofListedByAnotherSeller(address copycat) public {
        vm.assume(copycat != SELLER);
        bytes memory proof = listingProof(C, OUT, SELLER);
        vm.prank(copycat);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, LISTING_ID));
        market.list(LISTING_ID, DELIVERY_ID, C, OUT, PRICE, META, proof);
        vm.prank(SELLER);
        market.list(LISTING_ID, DELIVERY_ID, C, OUT, PRICE, META, proof);
    }

    function test_RevertWhen_deliveryProofMadeForAnotherOrder() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        uint256 o1 = doBuy(BUYER, listingId, PRICE);
        uint256 o2 = doBuy(BUYER, listingId, PRICE);
        uint256[] memory ct = ciphertext(1);
        bytes memory proofFor1 = deliveryProof(C, B8X, B8Y, o1, ct);
        doCommit(SELLER, o2, B8X2, B8Y2, ct, proofFor1);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, DELIVERY_ID));
        market.deliver(o2, B8X2, B8Y2, ct, proofFor1);
    }

    function test_RevertWhen_deliveryProofMadeForAnotherKeyOrCommitment() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        uint256 o = doBuy(BUYER, listingId, PRICE);
        uint256[] memory ct = ciphertext(1);
        bytes memory otherKey = deliveryProof(C, GX, GY, o, ct);
        bytes memory otherCommitment = deliveryProof(C + 1, B8X, B8Y, o, ct);
        // the listing verifier's proof for the same inputs is not a delivery proof
        bytes memory wrongVk = proofFor(LISTING_VK, deliveryInputs(C, B8X, B8Y, B8X2, B8Y2, tag(o), ct));
        bytes[3] memory bad = [otherKey, otherCommitment, wrongVk];
        for (uint256 i = 0; i < 3; ++i) {
            doCommit(SELLER, o, B8X2, B8Y2, ct, bad[i]);
            vm.prank(SELLER);
            vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, DELIVERY_ID));
            market.deliver(o, B8X2, B8Y2, ct, bad[i]);
        }
    }

    // ================================================================ order tag

    function test_orderTagIsKeccakOfChainMarketOrderModR() public {
        assertEq(market.orderTag(1), uint256(keccak256(abi.encode(block.chainid, address(market), 1))) % R, "tag");
        assertTrue(market.orderTag(1) != market.orderTag(2), "orders differ");
        PromptMarketplace other = newMarket(address(registry), FEE_BPS);
        assertTrue(market.orderTag(1) != other.orderTag(1), "deployments differ");
        uint256 here = market.orderTag(1);
        vm.chainId(block.chainid + 1);
        assertTrue(market.orderTag(1) != here, "chains differ");
    }

    function testFuzz_orderTagBelowModulus(uint256 orderId, uint64 chain) public {
        vm.chainId(bound(chain, 1, type(uint64).max));
        uint256 t = market.orderTag(orderId);
        assertTrue(t < R, "tag >= r");
        assertEq(t, tag(orderId), "tag differs from keccak(chainid, market, id) mod r");
    }

    /// A delivery proof made for order 1 of one deployment does not settle order 1 of another
    /// (same registry, listing, commitment, buyer key and order id).
    function test_RevertWhen_deliveryProofReplayedOnAnotherDeployment() public {
        PromptMarketplace first = market;
        uint256 o = doBuy(BUYER, doList(SELLER, C, PRICE), PRICE);
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        doCommit(SELLER, o, B8X2, B8Y2, ct, proof);
        vm.prank(SELLER);
        first.deliver(o, B8X2, B8Y2, ct, proof); // seen in calldata: now replay it elsewhere

        market = newMarket(address(registry), FEE_BPS);
        uint256 o2 = doBuy(BUYER, doList(SELLER, C, PRICE), PRICE);
        assertEq(o2, o, "same order id");
        doCommit(SELLER, o2, B8X2, B8Y2, ct, proof);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, DELIVERY_ID));
        market.deliver(o2, B8X2, B8Y2, ct, proof);
    }

    // ================================================================ commit / reveal

    function test_deliveryDigestIsKeccakOfAbiEncode() public view {
        uint256[] memory ct = ciphertext(3);
        bytes memory proof = hex"c0ffee";
        assertEq(market.deliveryDigest(3, 4, 5, ct, proof), digestOf(3, 4, 5, ct, proof), "digest");
        assertTrue(market.deliveryDigest(3, 4, 5, ct, proof) != market.deliveryDigest(4, 4, 5, ct, proof), "id bound");
    }

    /// Committed just before the deadline, revealed after it: the reveal settles, and the buyer
    /// cannot refund in between (the point of committing).
    function test_commitBeforeDeadlineRevealAfterIt() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        vm.warp(T0 + WINDOW - 1);
        doCommit(SELLER, o, B8X2, B8Y2, ct, proof);
        uint64 rd = u64(T0 + WINDOW - 1 + REVEAL);
        assertEq(market.getOrder(o).revealDeadline, rd, "reveal deadline");
        vm.warp(T0 + WINDOW + REVEAL / 2);
        vm.prank(BUYER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.RevealPending.selector, o, rd, T0 + WINDOW + REVEAL / 2)
        );
        market.refund(o);
        vm.warp(rd - 1);
        vm.prank(SELLER);
        market.deliver(o, B8X2, B8Y2, ct, proof);
        assertTrue(market.getOrder(o).status == IPromptMarketplace.OrderStatus.Delivered, "delivered");
        assertEq(market.withdrawable(BUYER), 0, "no refund");
    }

    /// A commitment never revealed: anyone may refund once its reveal deadline has passed.
    function test_unrevealedCommitmentRefundableAtRevealDeadline() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        vm.warp(T0 + WINDOW - 1);
        doCommit(SELLER, o, B8X2, B8Y2, ct, proof);
        uint64 rd = u64(T0 + WINDOW - 1 + REVEAL);
        vm.warp(rd - 1);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.RevealPending.selector, o, rd, rd - 1));
        market.refund(o);
        vm.warp(rd);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.RevealDeadlinePassed.selector, o, rd, rd));
        market.deliver(o, B8X2, B8Y2, ct, proof);
        vm.expectEmit(true, true, true, true, address(market));
        emit Refunded(o, BUYER, PRICE);
        vm.prank(address(0xBEEF));
        market.refund(o);
        assertEq(market.withdrawable(BUYER), PRICE, "buyer refunded");
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.OrderNotOpen.selector, o, IPromptMarketplace.OrderStatus.Refunded)
        );
        market.deliver(o, B8X2, B8Y2, ct, proof);
    }

    /// An early commitment whose reveal window ends before the deadline never brings the refund
    /// forward; the seller may commit again until the deadline.
    function test_earlyExpiredCommitmentCanBeReplacedBeforeDeadline() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        doCommit(SELLER, o, B8X2, B8Y2, ct, proof);
        vm.warp(T0 + REVEAL + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.DeadlineNotReached.selector, o, u64(T0 + WINDOW), T0 + REVEAL + 1)
        );
        market.refund(o);
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPromptMarketplace.RevealDeadlinePassed.selector, o, u64(T0 + REVEAL), T0 + REVEAL + 1
            )
        );
        market.deliver(o, B8X2, B8Y2, ct, proof);
        doCommit(SELLER, o, B8X2, B8Y2, ct, proof);
        assertEq(market.getOrder(o).revealDeadline, T0 + 2 * REVEAL + 1, "window restarted");
        vm.prank(SELLER);
        market.deliver(o, B8X2, B8Y2, ct, proof);
    }

    function test_newCommitmentReplacesPending() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        bytes memory good = deliveryProof(C, B8X, B8Y, o, ct);
        bytes memory bad = hex"00";
        doCommit(SELLER, o, B8X2, B8Y2, ct, bad);
        bytes32 d = digestOf(o, B8X2, B8Y2, ct, good);
        vm.warp(T0 + 5);
        vm.expectEmit(true, true, true, true, address(market));
        emit DeliveryCommitted(o, d, u64(T0 + 5 + REVEAL));
        vm.prank(SELLER);
        market.commitDelivery(o, d);
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.DigestMismatch.selector, o, d, digestOf(o, B8X2, B8Y2, ct, bad))
        );
        market.deliver(o, B8X2, B8Y2, ct, bad);
        vm.prank(SELLER);
        market.deliver(o, B8X2, B8Y2, ct, good);
        assertEq(market.getOrder(o).deliveryDigest, d, "revealed digest kept");
    }

    /// The reveal must be exactly what was committed: every argument is bound.
    function test_RevertWhen_revealDiffersFromCommitment() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        bytes32 d = digestOf(o, B8X2, B8Y2, ct, proof);
        doCommit(SELLER, o, B8X2, B8Y2, ct, proof);
        uint256[] memory ct2 = ciphertext(o + 1);
        bytes memory proof2 = bytes.concat(proof, hex"00");
        vm.startPrank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.DigestMismatch.selector, o, d, digestOf(o, B8X, B8Y2, ct, proof))
        );
        market.deliver(o, B8X, B8Y2, ct, proof);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.DigestMismatch.selector, o, d, digestOf(o, B8X2, B8Y, ct, proof))
        );
        market.deliver(o, B8X2, B8Y, ct, proof);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPromptMarketplace.DigestMismatch.selector, o, d, digestOf(o, B8X2, B8Y2, ct2, proof)
            )
        );
        market.deliver(o, B8X2, B8Y2, ct2, proof);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPromptMarketplace.DigestMismatch.selector, o, d, digestOf(o, B8X2, B8Y2, ct, proof2)
            )
        );
        market.deliver(o, B8X2, B8Y2, ct, proof2);
        market.deliver(o, B8X2, B8Y2, ct, proof);
        vm.stopPrank();
    }

    /// Without a commitment nothing settles, even a valid delivery (it would leak on failure).
    function test_RevertWhen_deliverWithoutCommitment() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.NoCommitment.selector, o));
        market.deliver(o, B8X2, B8Y2, ct, proof);
    }

    function test_RevertWhen_commitUnknownOrder() public {
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.OrderNotFound.selector, 5));
        market.commitDelivery(5, bytes32(uint256(1)));
    }

    function test_RevertWhen_commitByNonSeller() public {
        uint256 o = _order();
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.NotSeller.selector, BUYER, SELLER));
        market.commitDelivery(o, bytes32(uint256(1)));
    }

    function test_RevertWhen_commitZeroDigest() public {
        uint256 o = _order();
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.ZeroDigest.selector));
        market.commitDelivery(o, bytes32(0));
    }

    function test_RevertWhen_commitAtDeadline() public {
        uint256 o = _order();
        vm.warp(T0 + WINDOW); // the deadline itself is already too late
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.DeadlinePassed.selector, o, u64(T0 + WINDOW), T0 + WINDOW)
        );
        market.commitDelivery(o, bytes32(uint256(1)));
    }

    function test_RevertWhen_commitAfterSettlement() public {
        uint256 o = _order();
        doDeliver(SELLER, o, C);
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPromptMarketplace.OrderNotOpen.selector, o, IPromptMarketplace.OrderStatus.Delivered
            )
        );
        market.commitDelivery(o, bytes32(uint256(1)));
    }

    function test_refundAfterDeadlineThenWithdraw() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        uint256 o = doBuy(BUYER, listingId, PRICE);
        vm.warp(T0 + WINDOW);
        vm.expectEmit(true, true, true, true, address(market));
        emit Refunded(o, BUYER, PRICE);
        vm.prank(BUYER);
        market.refund(o);
        assertTrue(market.getOrder(o).status == IPromptMarketplace.OrderStatus.Refunded, "refunded");
        assertEq(market.withdrawable(BUYER), PRICE, "credited");
        assertEq(market.withdrawable(SELLER), 0, "seller nothing");
        assertEq(market.withdrawable(FEES), 0, "no fee on refund");
        vm.prank(BUYER);
        market.withdraw();
        assertEq(BUYER.balance, PRICE, "buyer repaid");
        assertEq(address(market).balance, 0, "market empty");
    }

    function test_cancelKeepsOpenOrdersDeliverableAndRefundable() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        uint256 o1 = doBuy(BUYER, listingId, PRICE);
        uint256 o2 = doBuy(BUYER, listingId, PRICE);
        vm.expectEmit(true, true, true, true, address(market));
        emit ListingCancelled(listingId);
        vm.prank(SELLER);
        market.cancel(listingId);
        assertFalse(market.getListing(listingId).active, "inactive");
        doDeliver(SELLER, o1, C);
        vm.warp(T0 + WINDOW);
        vm.prank(BUYER);
        market.refund(o2);
        assertEq(market.withdrawable(BUYER), PRICE, "refund credited");
    }

    function test_zeroFeeMarket() public {
        market = newMarket(address(registry), 0);
        uint256 listingId = doList(SELLER, C, PRICE);
        uint256 o = doBuy(BUYER, listingId, PRICE);
        doDeliver(SELLER, o, C);
        assertEq(market.withdrawable(SELLER), PRICE, "all to seller");
        assertEq(market.withdrawable(FEES), 0, "no fee");
    }

    /// One account as seller, buyer (of its own listing) and fee recipient: it is credited the
    /// whole price, as two credits, and withdraws it once.
    function test_sellerWhoIsAlsoBuyerAndFeeRecipient() public {
        market = new PromptMarketplace(address(registry), SELLER, FEE_BPS, WINDOW, REVEAL);
        uint256 o = doBuy(SELLER, doList(SELLER, C, PRICE), PRICE);
        uint256 o2 = doBuy(SELLER, 1, PRICE);
        doDeliver(SELLER, o, C);
        assertEq(market.withdrawable(SELLER), PRICE, "seller part + fee");
        vm.warp(T0 + WINDOW);
        market.refund(o2);
        assertEq(market.withdrawable(SELLER), 2 * PRICE, "and the refund");
        vm.prank(SELLER);
        assertEq(market.withdraw(), 2 * PRICE, "withdrawn once");
        assertEq(address(market).balance, 0, "empty");
    }

    function test_withdrawTo() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        uint256 o = doBuy(BUYER, listingId, PRICE);
        doDeliver(SELLER, o, C);
        uint256 owed = market.withdrawable(SELLER);
        vm.expectEmit(true, true, true, true, address(market));
        emit Withdrawn(SELLER, address(0xCAFE), owed);
        vm.prank(SELLER);
        market.withdrawTo(payable(address(0xCAFE)));
        assertEq(address(0xCAFE).balance, owed, "paid to other address");
        assertEq(SELLER.balance, 0, "not to seller");
    }

    // ================================================================ pinning, registry rules

    /// Overwriting the registry entries (other verifiers, digests, arity, deprecation) after a
    /// listing exists changes nothing for that listing.
    function test_registryChangeAfterListingDoesNotChangePinnedVerifier() public {
        MutableRegistry mreg = new MutableRegistry();
        mreg.set(LISTING_ID, address(listingVerifier), LISTING_VK, 3, false);
        mreg.set(DELIVERY_ID, address(deliveryVerifier), DELIVERY_VK, 6 + CT_LEN, false);
        market = newMarket(address(mreg), FEE_BPS);
        uint256 listingId = doList(SELLER, C, PRICE);
        // Bought before the registry changes: a deprecation blocks new purchases only.
        uint256 o = doBuy(BUYER, listingId, PRICE);

        ConstVerifier accepting = new ConstVerifier(true);
        mreg.set(LISTING_ID, address(accepting), bytes32(uint256(1)), 3, true);
        mreg.set(DELIVERY_ID, address(accepting), bytes32(uint256(2)), 7, true);

        IPromptMarketplace.Listing memory l = market.getListing(listingId);
        assertEq(l.deliveryVerifier, address(deliveryVerifier), "delivery verifier pinned");
        assertEq(l.listingVerifier, address(listingVerifier), "listing verifier pinned");
        assertEq(l.deliveryVkDigest, DELIVERY_VK, "vk pinned");
        assertEq(l.deliveryNumPublicInputs, 6 + CT_LEN, "arity pinned");

        // The now-registered accept-all verifier is NOT used: a junk proof still fails...
        uint256[] memory ct = ciphertext(o);
        doCommit(SELLER, o, B8X2, B8Y2, ct, hex"00");
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, DELIVERY_ID));
        market.deliver(o, B8X2, B8Y2, ct, hex"00");
        // ... and the pinned verifier's valid proof, for the pinned arity, still settles.
        doDeliver(SELLER, o, C);
        assertTrue(market.getOrder(o).status == IPromptMarketplace.OrderStatus.Delivered, "delivered");
        // New listings, however, see the deprecation.
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.CircuitDeprecated.selector, LISTING_ID));
        market.list(LISTING_ID, DELIVERY_ID, C, OUT, PRICE, META, "");
    }

    function test_deprecationBlocksNewPurchasesButNotOpenOrders() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        uint256 delivered = doBuy(BUYER, listingId, PRICE);
        uint256 refunded = doBuy(BUYER, listingId, PRICE);
        registry.deprecate(DELIVERY_ID);
        vm.deal(BUYER, PRICE);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.CircuitDeprecated.selector, DELIVERY_ID));
        market.buy{value: PRICE}(listingId, B8X, B8Y);
        // Orders opened before the deprecation settle as they would have.
        doDeliver(SELLER, delivered, C);
        assertEq(market.withdrawable(SELLER), PRICE - PRICE * FEE_BPS / 10_000, "seller paid");
        vm.warp(T0 + WINDOW);
        market.refund(refunded);
        assertEq(market.withdrawable(BUYER), PRICE, "buyer refunded");
    }

    function test_RevertWhen_buyListingOfDeprecatedListingCircuit() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        registry.deprecate(LISTING_ID);
        vm.deal(BUYER, PRICE);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.CircuitDeprecated.selector, LISTING_ID));
        market.buy{value: PRICE}(listingId, B8X, B8Y);
    }

    /// Both circuits registered and active, each fine alone, but not allowed together.
    function test_RevertWhen_listPairNotAllowed() public {
        bytes32 otherDelivery = keccak256("prompt-delivery/other");
        registry.register(otherDelivery, address(deliveryVerifier), DELIVERY_VK, 6 + CT_LEN);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.PairNotAllowed.selector, LISTING_ID, otherDelivery));
        market.list(LISTING_ID, otherDelivery, C, OUT, PRICE, META, listingProof(C, OUT, SELLER));
        registry.allowPair(LISTING_ID, otherDelivery);
        doList(SELLER, C, PRICE);
    }

    /// Disallowing a pair stops new listings; existing listings stay on sale and settle.
    function test_disallowPairStopsNewListingsOnly() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        registry.disallowPair(LISTING_ID, DELIVERY_ID);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.PairNotAllowed.selector, LISTING_ID, DELIVERY_ID));
        market.list(LISTING_ID, DELIVERY_ID, C, OUT, PRICE, META, listingProof(C, OUT, SELLER));
        uint256 o = doBuy(BUYER, listingId, PRICE);
        doDeliver(SELLER, o, C);
    }

    // ================================================================ constructor errors

    function test_RevertWhen_constructorRegistryHasNoCode() public {
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidAddress.selector, address(0x1234)));
        newMarket(address(0x1234), FEE_BPS);
    }

    function test_RevertWhen_constructorFeeRecipientZero() public {
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidAddress.selector, address(0)));
        new PromptMarketplace(address(registry), address(0), FEE_BPS, WINDOW, REVEAL);
    }

    function test_RevertWhen_constructorFeeTooHigh() public {
        newMarket(address(registry), 1000); // the maximum is fine
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.FeeTooHigh.selector, 1001, 1000));
        newMarket(address(registry), 1001);
    }

    function test_RevertWhen_constructorDeliveryWindowOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.DeliveryWindowOutOfRange.selector, 0, 365 days));
        new PromptMarketplace(address(registry), FEES, FEE_BPS, 0, REVEAL);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.DeliveryWindowOutOfRange.selector, 365 days + 1, 365 days)
        );
        new PromptMarketplace(address(registry), FEES, FEE_BPS, 365 days + 1, REVEAL);
    }

    function test_RevertWhen_constructorRevealWindowOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.RevealWindowOutOfRange.selector, 0, 365 days));
        new PromptMarketplace(address(registry), FEES, FEE_BPS, WINDOW, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.RevealWindowOutOfRange.selector, 365 days + 1, 365 days)
        );
        new PromptMarketplace(address(registry), FEES, FEE_BPS, WINDOW, 365 days + 1);
        assertEq(
            new PromptMarketplace(address(registry), FEES, FEE_BPS, WINDOW, 365 days).revealWindow(), 365 days, "max"
        );
    }

    // ================================================================ list errors

    function test_RevertWhen_listZeroPrice() public {
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.ZeroPrice.selector));
        market.list(LISTING_ID, DELIVERY_ID, C, OUT, 0, META, listingProof(C, OUT, SELLER));
    }

    function test_RevertWhen_listUnknownCircuit() public {
        bytes32 unknown = keccak256("nope");
        vm.startPrank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.UnknownCircuit.selector, unknown));
        market.list(unknown, DELIVERY_ID, C, OUT, PRICE, META, listingProof(C, OUT, SELLER));
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.UnknownCircuit.selector, unknown));
        market.list(LISTING_ID, unknown, C, OUT, PRICE, META, listingProof(C, OUT, SELLER));
        vm.stopPrank();
    }

    function test_RevertWhen_listDeprecatedCircuit() public {
        registry.deprecate(LISTING_ID);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.CircuitDeprecated.selector, LISTING_ID));
        market.list(LISTING_ID, DELIVERY_ID, C, OUT, PRICE, META, listingProof(C, OUT, SELLER));
    }

    function test_RevertWhen_listDeprecatedDeliveryCircuit() public {
        registry.deprecate(DELIVERY_ID);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.CircuitDeprecated.selector, DELIVERY_ID));
        market.list(LISTING_ID, DELIVERY_ID, C, OUT, PRICE, META, listingProof(C, OUT, SELLER));
    }

    function test_RevertWhen_listCircuitArityMismatch() public {
        bytes32 two = keccak256("two-inputs");
        bytes32 six = keccak256("six-inputs");
        registry.register(two, address(listingVerifier), LISTING_VK, 2);
        registry.register(six, address(deliveryVerifier), DELIVERY_VK, 6);
        registry.allowPair(two, DELIVERY_ID);
        registry.allowPair(LISTING_ID, six);
        vm.startPrank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.CircuitArityMismatch.selector, two, 2));
        market.list(two, DELIVERY_ID, C, OUT, PRICE, META, listingProof(C, OUT, SELLER));
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.CircuitArityMismatch.selector, six, 6));
        market.list(LISTING_ID, six, C, OUT, PRICE, META, listingProof(C, OUT, SELLER));
        vm.stopPrank();
    }

    function test_RevertWhen_listInvalidProof() public {
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, LISTING_ID));
        market.list(LISTING_ID, DELIVERY_ID, C, OUT, PRICE, META, listingProof(C, OUT + 1, SELLER));
    }

    function test_RevertWhen_listCommitmentNotInField() public {
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.PublicInputNotInField.selector, LISTING_ID, 0, R));
        market.list(LISTING_ID, DELIVERY_ID, R, OUT, PRICE, META, listingProof(R, OUT, SELLER));
    }

    function test_RevertWhen_listOutputHashNotInField() public {
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.PublicInputNotInField.selector, LISTING_ID, 1, OUT + R)
        );
        market.list(LISTING_ID, DELIVERY_ID, C, OUT + R, PRICE, META, listingProof(C, OUT + R, SELLER));
    }
    // ================================================================ cancel errors

    function test_RevertWhen_cancelByNonSeller() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.NotSeller.selector, BUYER, SELLER));
        market.cancel(listingId);
    }

    function test_RevertWhen_cancelTwice() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        vm.startPrank(SELLER);
        market.cancel(listingId);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.ListingNotActive.selector, listingId));
        market.cancel(listingId);
        vm.stopPrank();
    }

    function test_RevertWhen_cancelUnknownListing() public {
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.ListingNotFound.selector, 9));
        market.cancel(9);
    }

    // ================================================================ buy errors

    function test_RevertWhen_buyUnknownListing() public {
        vm.deal(BUYER, PRICE);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.ListingNotFound.selector, 1));
        market.buy{value: PRICE}(1, B8X, B8Y);
    }

    function test_RevertWhen_buyAfterCancel() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        vm.prank(SELLER);
        market.cancel(listingId);
        vm.deal(BUYER, PRICE);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.ListingNotActive.selector, listingId));
        market.buy{value: PRICE}(listingId, B8X, B8Y);
    }

    function test_RevertWhen_buyWrongPrice() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        vm.deal(BUYER, 2 * PRICE);
        vm.startPrank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.IncorrectPayment.selector, PRICE, PRICE - 1));
        market.buy{value: PRICE - 1}(listingId, B8X, B8Y);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.IncorrectPayment.selector, PRICE, PRICE + 1));
        market.buy{value: PRICE + 1}(listingId, B8X, B8Y);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.IncorrectPayment.selector, PRICE, 0));
        market.buy(listingId, B8X, B8Y);
        vm.stopPrank();
    }

    function test_RevertWhen_buyKeyNotOnCurve() public {
        _expectBadKey(B8X, B8Y + 1);
        _expectBadKey(0, 0);
        _expectBadKey(1, 1);
    }

    function test_RevertWhen_buyKeyHasSmallOrder() public {
        _expectBadKey(0, 1); // identity: the "ciphertext" would be readable by anyone
        _expectBadKey(0, R - 1); // order 2
        uint256 x4 = 18930368022820495955728484915491405972470733850014661777449844430438130630919;
        _expectBadKey(x4, 0); // order 4
        _expectBadKey(R - x4, 0); // order 4
        _expectBadKey( // order 8
            17545522957889784193459637215142187266023652151580582754000402781682644312291,
            17061719626832259898845741003733890968968767993363194771977168648564009544074
        );
    }

    function test_RevertWhen_buyKeyNotCanonical() public {
        _expectBadKey(B8X + R, B8Y);
        _expectBadKey(B8X, B8Y + R);
    }

    function _expectBadKey(uint256 x, uint256 y) internal {
        uint256 listingId = market.listingCount() == 0 ? doList(SELLER, C, PRICE) : 1;
        vm.deal(BUYER, PRICE);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidPublicKey.selector, x, y));
        market.buy{value: PRICE}(listingId, x, y);
    }

    // ================================================================ deliver (reveal) errors

    function _order() internal returns (uint256 orderId) {
        orderId = doBuy(BUYER, doList(SELLER, C, PRICE), PRICE);
    }

    function test_RevertWhen_deliverUnknownOrder() public {
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.OrderNotFound.selector, 5));
        market.deliver(5, B8X2, B8Y2, ciphertext(5), "");
    }

    function test_RevertWhen_deliverByNonSeller() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        doCommit(SELLER, o, B8X2, B8Y2, ct, proof);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.NotSeller.selector, BUYER, SELLER));
        market.deliver(o, B8X2, B8Y2, ct, proof);
    }

    function test_RevertWhen_deliverTwice() public {
        uint256 o = _order();
        doDeliver(SELLER, o, C);
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPromptMarketplace.OrderNotOpen.selector, o, IPromptMarketplace.OrderStatus.Delivered
            )
        );
        market.deliver(o, B8X2, B8Y2, ct, proof);
    }

    function test_RevertWhen_deliverAfterRefund() public {
        uint256 o = _order();
        vm.warp(T0 + WINDOW);
        vm.prank(BUYER);
        market.refund(o);
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.OrderNotOpen.selector, o, IPromptMarketplace.OrderStatus.Refunded)
        );
        market.deliver(o, B8X2, B8Y2, ct, proof);
    }

    function test_RevertWhen_deliverInvalidProof() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        proof[0] ^= 0x01;
        doCommit(SELLER, o, B8X2, B8Y2, ct, proof);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, DELIVERY_ID));
        market.deliver(o, B8X2, B8Y2, ct, proof);
        assertTrue(market.getOrder(o).status == IPromptMarketplace.OrderStatus.Open, "still open");
    }

    /// A proof whose order input is the plain order id (as before order tags) does not verify.
    function test_RevertWhen_deliveryProofUsesPlainOrderId() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = proofFor(DELIVERY_VK, deliveryInputs(C, B8X, B8Y, B8X2, B8Y2, o, ct));
        doCommit(SELLER, o, B8X2, B8Y2, ct, proof);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidProof.selector, DELIVERY_ID));
        market.deliver(o, B8X2, B8Y2, ct, proof);
    }

    function test_RevertWhen_deliverCiphertextLengthMismatch() public {
        uint256 o = _order();
        uint256[] memory shortCt = new uint256[](CT_LEN - 1);
        doCommit(SELLER, o, B8X2, B8Y2, shortCt, "");
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.CiphertextLengthMismatch.selector, CT_LEN, CT_LEN - 1)
        );
        market.deliver(o, B8X2, B8Y2, shortCt, "");
        uint256[] memory longCt = new uint256[](CT_LEN + 1);
        doCommit(SELLER, o, B8X2, B8Y2, longCt, "");
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.CiphertextLengthMismatch.selector, CT_LEN, CT_LEN + 1)
        );
        market.deliver(o, B8X2, B8Y2, longCt, "");
    }

    function test_RevertWhen_deliverInputNotInField() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        doCommit(SELLER, o, R, B8Y2, ct, "");
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.PublicInputNotInField.selector, DELIVERY_ID, 3, R));
        market.deliver(o, R, B8Y2, ct, "");
        doCommit(SELLER, o, B8X2, B8Y2 + R, ct, "");
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.PublicInputNotInField.selector, DELIVERY_ID, 4, B8Y2 + R)
        );
        market.deliver(o, B8X2, B8Y2 + R, ct, "");
        ct[CT_LEN - 1] = type(uint256).max;
        doCommit(SELLER, o, B8X2, B8Y2, ct, "");
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPromptMarketplace.PublicInputNotInField.selector, DELIVERY_ID, 6 + CT_LEN - 1, type(uint256).max
            )
        );
        market.deliver(o, B8X2, B8Y2, ct, "");
    }

    function test_RevertWhen_deliverWithIdentityEphemeralKey() public {
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        // A proof that would verify for R = (0, 1): the contract refuses before verifying.
        bytes memory proof = proofFor(DELIVERY_VK, deliveryInputs(C, B8X, B8Y, 0, 1, tag(o), ct));
        doCommit(SELLER, o, 0, 1, ct, proof);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidEphemeralKey.selector, 0, 1));
        market.deliver(o, 0, 1, ct, proof);
        assertTrue(market.getOrder(o).status == IPromptMarketplace.OrderStatus.Open, "still open");
    }

    // ================================================================ refund errors

    function test_RevertWhen_refundUnknownOrder() public {
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.OrderNotFound.selector, 1));
        market.refund(1);
    }

    function test_RevertWhen_refundBeforeDeadline() public {
        uint256 o = _order();
        vm.warp(T0 + WINDOW - 1);
        vm.prank(BUYER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.DeadlineNotReached.selector, o, u64(T0 + WINDOW), T0 + WINDOW - 1)
        );
        market.refund(o);
    }

    function test_refundByAnyoneCreditsTheBuyer() public {
        uint256 o = _order();
        vm.warp(T0 + WINDOW);
        address stranger = address(0xBEEF);
        vm.expectEmit(true, true, true, true, address(market));
        emit Refunded(o, BUYER, PRICE);
        vm.prank(stranger);
        market.refund(o);
        assertEq(market.withdrawable(BUYER), PRICE, "the buyer is credited");
        assertEq(market.withdrawable(stranger), 0, "the caller is not");
        assertEq(market.withdrawable(SELLER), 0, "nor the seller");
    }

    function test_RevertWhen_refundAfterDeliver() public {
        uint256 o = _order();
        doDeliver(SELLER, o, C);
        vm.warp(T0 + WINDOW + REVEAL);
        vm.prank(BUYER);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPromptMarketplace.OrderNotOpen.selector, o, IPromptMarketplace.OrderStatus.Delivered
            )
        );
        market.refund(o);
    }

    function test_RevertWhen_refundTwice() public {
        uint256 o = _order();
        vm.warp(T0 + WINDOW);
        vm.startPrank(BUYER);
        market.refund(o);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.OrderNotOpen.selector, o, IPromptMarketplace.OrderStatus.Refunded)
        );
        market.refund(o);
        vm.stopPrank();
        assertEq(market.withdrawable(BUYER), PRICE, "credited once");
    }

    // ================================================================ withdraw errors

    function test_RevertWhen_withdrawNothing() public {
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.NothingToWithdraw.selector, BUYER));
        market.withdraw();
    }

    function test_RevertWhen_withdrawTwice() public {
        uint256 o = _order();
        doDeliver(SELLER, o, C);
        vm.startPrank(SELLER);
        market.withdraw();
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.NothingToWithdraw.selector, SELLER));
        market.withdraw();
        vm.stopPrank();
    }

    function test_RevertWhen_withdrawToZero() public {
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.InvalidAddress.selector, address(0)));
        market.withdrawTo(payable(address(0)));
    }

    function test_RevertWhen_withdrawRecipientRejects() public {
        uint256 o = _order();
        doDeliver(SELLER, o, C);
        address rejecter = address(new RejectsEther());
        uint256 owed = market.withdrawable(SELLER);
        vm.prank(SELLER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.TransferFailed.selector, rejecter, owed));
        market.withdrawTo(payable(rejecter));
        assertEq(market.withdrawable(SELLER), owed, "credit kept after failed transfer");
    }

    function test_RevertWhen_etherSentDirectly() public {
        vm.deal(BUYER, 1 ether);
        vm.prank(BUYER);
        (bool ok,) = address(market).call{value: 1 ether}("");
        assertFalse(ok, "market accepted plain ether");
    }

    // ================================================================ fuzz

    /// seller + fee == price for every price and fee rate; fee is floor(price·bps/10⁴).
    function testFuzz_feeSplitSumsToPrice(uint256 price, uint256 bps) public {
        price = bound(price, 1, 1e30);
        bps = bound(bps, 0, 1000);
        market = newMarket(address(registry), bps);
        uint256 listingId = doList(SELLER, C, price);
        uint256 o = doBuy(BUYER, listingId, price);
        doDeliver(SELLER, o, C);
        uint256 s = market.withdrawable(SELLER);
        uint256 f = market.withdrawable(FEES);
        assertEq(s + f, price, "seller + fee != price");
        assertEq(f, price * bps / 10_000, "fee not floor(price*bps/1e4)");
        assertEq(address(market).balance, price, "balance");
    }

    /// feeOf never overflows and is the exact floor, even for amounts where amount·bps overflows.
    function testFuzz_feeOfExactFloor(uint256 amount, uint256 bps) public {
        bps = bound(bps, 0, 1000);
        PromptMarketplace m = newMarket(address(registry), bps);
        uint256 fee = m.feeOf(amount);
        assertLe(fee, amount, "fee > amount");
        // floor(a·b/B) == (a/B)·b + floor((a%B)·b/B) — check against a 512-bit-free identity:
        // fee·B ≤ a·b < (fee+1)·B, evaluated as a·b − fee·B ∈ [0, B) using wrapping arithmetic.
        unchecked {
            uint256 rem = amount * bps - fee * 10_000;
            assertLe(rem, 9_999, "not the floor");
        }
    }

    /// Commit at any time, reveal and/or refund at any later time: the commit succeeds iff
    /// before the deadline; the reveal iff committed and before the reveal deadline; the refund
    /// iff at/after the deadline and (if committed) the reveal deadline; never both.
    function testFuzz_commitRevealRefundAcrossDeadlines(uint256 commitAt, uint256 laterBy, bool refundFirst) public {
        commitAt = bound(commitAt, 0, WINDOW + REVEAL);
        laterBy = bound(laterBy, 0, 2 * REVEAL);
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        bytes memory proof = deliveryProof(C, B8X, B8Y, o, ct);
        bytes32 d = digestOf(o, B8X2, B8Y2, ct, proof);

        vm.warp(T0 + commitAt);
        bool committed = commitAt < WINDOW;
        vm.prank(SELLER);
        if (!committed) {
            vm.expectRevert(
                abi.encodeWithSelector(IPromptMarketplace.DeadlinePassed.selector, o, u64(T0 + WINDOW), T0 + commitAt)
            );
        }
        market.commitDelivery(o, d);

        uint256 t = T0 + commitAt + laterBy;
        vm.warp(t);
        uint256 rd = T0 + commitAt + REVEAL;
        bool mayReveal = committed && t < rd;
        bool mayRefund = t >= T0 + WINDOW && (!committed || t >= rd);
        assertFalse(mayReveal && mayRefund, "model: both possible");

        bool refunded;
        if (refundFirst) {
            if (!mayRefund) vm.expectRevert();
            market.refund(o);
            refunded = mayRefund;
        }
        vm.prank(SELLER);
        if (!mayReveal || refunded) vm.expectRevert();
        market.deliver(o, B8X2, B8Y2, ct, proof);
        bool delivered = mayReveal && !refunded;
        if (!refundFirst && !delivered) {
            if (!mayRefund) vm.expectRevert();
            market.refund(o);
            refunded = mayRefund;
        }

        IPromptMarketplace.OrderStatus st = market.getOrder(o).status;
        if (delivered) {
            assertTrue(st == IPromptMarketplace.OrderStatus.Delivered, "should be delivered");
            assertEq(market.withdrawable(BUYER), 0, "buyer credited");
        } else if (refunded) {
            assertTrue(st == IPromptMarketplace.OrderStatus.Refunded, "should be refunded");
            assertEq(market.withdrawable(SELLER), 0, "seller credited");
        } else {
            assertTrue(st == IPromptMarketplace.OrderStatus.Open, "should be open");
        }
    }

    function testFuzz_RevertWhen_buyWrongPayment(uint256 price, uint256 sent) public {
        price = bound(price, 1, 1e30);
        sent = bound(sent, 0, 2e30);
        vm.assume(sent != price);
        uint256 listingId = doList(SELLER, C, price);
        vm.deal(BUYER, sent);
        vm.prank(BUYER);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.IncorrectPayment.selector, price, sent));
        market.buy{value: sent}(listingId, B8X, B8Y);
    }

    function testFuzz_RevertWhen_listInputNotInField(uint256 x, bool second) public {
        vm.assume(x >= R);
        uint256 c = second ? C : x;
        uint256 out = second ? x : OUT;
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.PublicInputNotInField.selector, LISTING_ID, second ? 1 : 0, x)
        );
        market.list(LISTING_ID, DELIVERY_ID, c, out, PRICE, META, listingProof(c, out, SELLER));
    }

    function testFuzz_RevertWhen_deliveryInputNotInField(uint256 x, uint256 slot) public {
        vm.assume(x >= R);
        slot = bound(slot, 0, 1 + CT_LEN); // 0: ephX, 1: ephY, 2..: ciphertext
        uint256 o = _order();
        uint256[] memory ct = ciphertext(o);
        uint256 ephX = B8X2;
        uint256 ephY = B8Y2;
        if (slot == 0) ephX = x;
        else if (slot == 1) ephY = x;
        else ct[slot - 2] = x;
        bytes memory proof = proofFor(DELIVERY_VK, deliveryInputs(C, B8X, B8Y, ephX, ephY, tag(o), ct));
        doCommit(SELLER, o, ephX, ephY, ct, proof);
        vm.prank(SELLER);
        vm.expectRevert(
            abi.encodeWithSelector(
                IPromptMarketplace.PublicInputNotInField.selector, DELIVERY_ID, slot < 2 ? 3 + slot : 4 + slot, x
            )
        );
        market.deliver(o, ephX, ephY, ct, proof);
    }

    function testFuzz_RevertWhen_buyKeyNotInField(uint256 x, bool second) public {
        vm.assume(x >= R);
        _expectBadKey(second ? B8X : x, second ? x : B8Y);
    }

    /// Any canonical ciphertext/ephemeral key is passed through verbatim and settles once.
    function testFuzz_deliverPassesSellerValuesThrough(uint256 ephX, uint256 ephY, uint256 seed) public {
        ephX = ephX % R;
        ephY = ephY % R;
        vm.assume(!(ephX == 0 && ephY == 1));
        uint256 o = _order();
        uint256[] memory ct = ciphertext(seed);
        bytes memory proof = proofFor(DELIVERY_VK, deliveryInputs(C, B8X, B8Y, ephX, ephY, tag(o), ct));
        doCommit(SELLER, o, ephX, ephY, ct, proof);
        vm.expectEmit(true, true, true, true, address(market));
        emit Delivered(o, ephX, ephY, ct);
        vm.prank(SELLER);
        market.deliver(o, ephX, ephY, ct, proof);
    }
}
