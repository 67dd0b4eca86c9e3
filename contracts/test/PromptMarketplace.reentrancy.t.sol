// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {PromptMarketplace} from "../src/PromptMarketplace.sol";
import {IPromptMarketplace} from "../src/interfaces/IPromptMarketplace.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @dev A seller/buyer contract whose receive() re-enters the market. In `swallow` mode every
///      re-entrant call is wrapped in try/catch (so the outer withdrawal can still succeed and
///      we can see whether any re-entry got through); otherwise failures propagate.
contract Attacker {
    PromptMarketplace public immutable market;
    bool public swallow = true;
    uint256 public reentryAttempts;
    uint256 public reentrySuccesses;
    bytes4 public lastReentryError;
    uint256 public orderToRefund;
    uint256 public orderToDeliver;
    bytes public deliverProof;
    uint256[] internal deliverCt;

    constructor(PromptMarketplace market_) {
        market = market_;
    }

    function setSwallow(bool s) external {
        swallow = s;
    }

    function list(bytes32 lid, bytes32 did, uint256 c, uint256 out, uint256 price, bytes calldata proof)
        external
        returns (uint256)
    {
        return market.list(lid, did, c, out, price, bytes32(uint256(1)), proof);
    }

    function buy(uint256 listingId, uint256 pkX, uint256 pkY) external payable returns (uint256 id) {
        id = market.buy{value: msg.value}(listingId, pkX, pkY);
        orderToRefund = id;
    }

    function commit(uint256 orderId, bytes32 digest) external {
        market.commitDelivery(orderId, digest);
    }

    function deliver(uint256 orderId, uint256 ephX, uint256 ephY, uint256[] calldata ct, bytes calldata proof)
        external
    {
        market.commitDelivery(orderId, market.deliveryDigest(orderId, ephX, ephY, ct, proof));
        market.deliver(orderId, ephX, ephY, ct, proof);
    }

    function armDeliver(uint256 orderId, uint256[] calldata ct, bytes calldata proof) external {
        orderToDeliver = orderId;
        deliverCt = ct;
        deliverProof = proof;
    }

    function refund(uint256 orderId) external {
        market.refund(orderId);
    }

    function withdraw() external returns (uint256) {
        return market.withdraw();
    }

    receive() external payable {
        if (reentryAttempts >= 3) return;
        _try(abi.encodeCall(market.withdraw, ()));
        _try(abi.encodeCall(market.refund, (orderToRefund)));
        if (orderToDeliver != 0) {
            _try(abi.encodeCall(market.commitDelivery, (orderToDeliver, bytes32(uint256(1)))));
            _try(abi.encodeCall(market.deliver, (orderToDeliver, B8X2, B8Y2, deliverCt, deliverProof)));
        }
    }

    uint256 internal constant B8X2 = 10031262171927540148667355526369034398030886437092045105752248699557385197826;
    uint256 internal constant B8Y2 = 633281375905621697187330766174974863687049529291089048651929454608812697683;

    function _try(bytes memory data) internal {
        reentryAttempts++;
        (bool ok, bytes memory ret) = address(market).call(data);
        if (ok) {
            reentrySuccesses++;
        } else {
            // casting to 'bytes4' is safe because only the selector (first 4 bytes) is wanted
            // forge-lint: disable-next-line(unsafe-typecast)
            lastReentryError = bytes4(ret);
            if (!swallow) {
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
    }
}

contract PromptMarketplaceReentrancyTest is MarketFixture {
    Attacker attacker;

    function setUp() public override {
        super.setUp();
        attacker = new Attacker(market);
    }

    /// A malicious seller re-enters withdraw/refund/commit/deliver from receive(): every
    /// re-entry is stopped by the guard (even a reveal that would settle: committed, valid),
    /// and it gets exactly its credit, while other credits stay put.
    function test_maliciousSellerCannotWithdrawMoreThanOwed() public {
        uint256 listingId =
            attacker.list(LISTING_ID, DELIVERY_ID, C, OUT, PRICE, listingProof(C, OUT, address(attacker)));
        uint256 o1 = doBuy(BUYER, listingId, PRICE);
        uint256 o2 = doBuy(BUYER, listingId, PRICE);
        uint256[] memory ct1 = ciphertext(o1);
        attacker.deliver(o1, B8X2, B8Y2, ct1, deliveryProof(C, B8X, B8Y, o1, ct1));
        // o2 stays open; the attacker tries to deliver it (with a valid proof) while re-entering.
        uint256[] memory ct2 = ciphertext(o2);
        bytes memory proof2 = deliveryProof(C, B8X, B8Y, o2, ct2);
        attacker.armDeliver(o2, ct2, proof2);
        attacker.commit(o2, digestOf(o2, B8X2, B8Y2, ct2, proof2));

        uint256 owed = market.withdrawable(address(attacker));
        uint256 fee = market.withdrawable(FEES);
        assertEq(owed + fee, PRICE, "split");
        assertEq(attacker.withdraw(), owed, "returned amount");

        assertEq(address(attacker).balance, owed, "attacker got more or less than owed");
        assertEq(attacker.reentrySuccesses(), 0, "a re-entrant call succeeded");
        assertEq(attacker.reentryAttempts(), 4, "attempts");
        assertEq(attacker.lastReentryError(), ReentrancyGuard.ReentrancyGuardReentrantCall.selector, "guard error");
        assertEq(address(market).balance, PRICE + fee, "escrow of o2 + fee remain");
        assertEq(market.withdrawable(address(attacker)), 0, "credit cleared");
        assertTrue(market.getOrder(o2).status == IPromptMarketplace.OrderStatus.Open, "o2 untouched");
    }

    /// A malicious buyer refunds, then re-enters refund and withdraw while being paid.
    function test_maliciousBuyerCannotRefundTwice() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        uint256 other = doBuy(BUYER, listingId, PRICE); // someone else's escrow, must survive
        vm.deal(address(this), PRICE);
        uint256 o = attacker.buy{value: PRICE}(listingId, B8X, B8Y);
        vm.warp(T0 + WINDOW);
        attacker.refund(o);
        assertEq(market.withdrawable(address(attacker)), PRICE, "credited");

        attacker.withdraw();
        assertEq(address(attacker).balance, PRICE, "attacker got more or less than owed");
        assertEq(attacker.reentrySuccesses(), 0, "a re-entrant call succeeded");
        assertEq(attacker.lastReentryError(), ReentrancyGuard.ReentrancyGuardReentrantCall.selector, "guard error");
        assertEq(address(market).balance, PRICE, "other buyer's escrow intact");
        assertTrue(market.getOrder(other).status == IPromptMarketplace.OrderStatus.Open, "other open");
        vm.expectRevert(
            abi.encodeWithSelector(IPromptMarketplace.OrderNotOpen.selector, o, IPromptMarketplace.OrderStatus.Refunded)
        );
        attacker.refund(o);
    }

    /// When the re-entry's revert propagates, the whole withdrawal reverts and the credit is kept.
    function test_propagatedReentryRevertsWholeWithdrawal() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        vm.deal(address(this), PRICE);
        uint256 o = attacker.buy{value: PRICE}(listingId, B8X, B8Y);
        vm.warp(T0 + WINDOW);
        attacker.refund(o);
        attacker.setSwallow(false);
        vm.expectRevert(abi.encodeWithSelector(IPromptMarketplace.TransferFailed.selector, address(attacker), PRICE));
        attacker.withdraw();
        assertEq(market.withdrawable(address(attacker)), PRICE, "credit kept");
        assertEq(address(market).balance, PRICE, "nothing left");
    }

    /// Several credits (refunds of several orders) are paid once, in one withdrawal.
    function test_multipleCreditsPaidOnce() public {
        uint256 listingId = doList(SELLER, C, PRICE);
        vm.deal(address(this), 3 * PRICE);
        attacker.buy{value: PRICE}(listingId, B8X, B8Y);
        attacker.buy{value: PRICE}(listingId, B8X, B8Y);
        attacker.buy{value: PRICE}(listingId, B8X, B8Y);
        vm.warp(T0 + WINDOW);
        attacker.refund(1);
        attacker.refund(2);
        // order 3 is left open: the re-entrant refund(3) attempt inside receive() must fail
        assertEq(attacker.withdraw(), 2 * PRICE, "amount");
        assertEq(address(attacker).balance, 2 * PRICE, "paid once");
        assertEq(attacker.reentrySuccesses(), 0, "a re-entrant call succeeded");
        assertTrue(market.getOrder(3).status == IPromptMarketplace.OrderStatus.Open, "order 3 still open");
        assertEq(address(market).balance, PRICE, "order 3 escrow remains");
    }
}
