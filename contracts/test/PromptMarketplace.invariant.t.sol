// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {Vm} from "./utils/TestBase.sol";
import {PromptMarketplace} from "../src/PromptMarketplace.sol";
import {IPromptMarketplace} from "../src/interfaces/IPromptMarketplace.sol";

/// @dev Drives the market with random list/buy/deliver/refund/withdraw/cancel/warp calls from
///      a fixed set of actors, keeps a model of what must happen (ghost variables), and counts
///      every divergence between model and contract in `violations`.
contract MarketHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    PromptMarketplace public immutable market;
    bytes32 public immutable listingId_;
    bytes32 public immutable deliveryId_;
    bytes32 public immutable listingVk;
    bytes32 public immutable deliveryVk;
    uint256 public immutable ctLen;
    address public immutable feeRecipient;

    // Baby Jubjub B8 and 2·B8 (buyer key, seller ephemeral key).
    uint256 internal constant PKX = 5299619240641551281634865583518297030282874472190772894086521144482721001553;
    uint256 internal constant PKY = 16950150798460657717958625567821834550301663161624707787222815936182638968203;
    uint256 internal constant EPHX = 10031262171927540148667355526369034398030886437092045105752248699557385197826;
    uint256 internal constant EPHY = 633281375905621697187330766174974863687049529291089048651929454608812697683;

    address[] public actors; // sellers 0..2, buyers 3..5, then the fee recipient
    uint256[] public listings;
    uint256[] public orders;
    uint256 public currentTime;

    // ---- ghosts
    uint256 public ghostDeposited; // Σ msg.value of successful buys
    uint256 public ghostWithdrawn; // Σ paid out by withdraw
    uint256 public ghostEscrowed; // Σ amount of orders the model considers open
    mapping(address => uint256) public ghostCredited; // Σ credits per account
    mapping(address => uint256) public ghostWithdrawnBy;
    mapping(uint256 => uint256) public ghostSettlements; // successful deliver + refund per order
    mapping(uint256 => IPromptMarketplace.OrderStatus) public ghostStatus;
    uint256 public ghostDeliveredAmount; // Σ amount of delivered orders
    uint256 public ghostRefundedAmount; // Σ amount of refunded orders
    uint256 public violations;
    string public lastViolation;
    mapping(bytes32 => uint256) public calls;

    constructor(
        PromptMarketplace market_,
        bytes32 lid,
        bytes32 did,
        bytes32 lvk,
        bytes32 dvk,
        uint256 ctLen_,
        uint256 startTime
    ) {
        market = market_;
        listingId_ = lid;
        deliveryId_ = did;
        listingVk = lvk;
        deliveryVk = dvk;
        ctLen = ctLen_;
        feeRecipient = market_.feeRecipient();
        for (uint160 i = 0; i < 3; ++i) {
            actors.push(address(0x1000 + i)); // sellers
        }
        for (uint160 i = 0; i < 3; ++i) {
            actors.push(address(0x2000 + i)); // buyers
        }
        actors.push(feeRecipient);
        currentTime = startTime;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function orderCount() external view returns (uint256) {
        return orders.length;
    }

    function _violation(string memory what) internal {
        violations++;
        lastViolation = what;
    }

    modifier syncTime(bytes32 name) {
        vm.warp(currentTime);
        calls[name]++;
        _;
    }

    function _proof(bytes32 vk, uint256[] memory xs) internal pure returns (bytes memory) {
        return abi.encode(keccak256(abi.encode(vk, xs)));
    }

    // ------------------------------------------------------------------ actions

    function warp(uint256 dt) external syncTime("warp") {
        currentTime += dt % 2 days;
        vm.warp(currentTime);
    }

    function list(uint256 sellerSeed, uint256 price, uint256 commitment) external syncTime("list") {
        address seller = actors[sellerSeed % 3];
        price = 1 + price % 100 ether;
        commitment = commitment % R;
        uint256[] memory xs = new uint256[](2);
        xs[0] = commitment;
        xs[1] = 42;
        bytes memory proof = _proof(listingVk, xs);
        vm.prank(seller);
        uint256 id = market.list(listingId_, deliveryId_, commitment, 42, price, proof);
        listings.push(id);
    }

    function cancel(uint256 listingSeed) external syncTime("cancel") {
        if (listings.length == 0) return;
        uint256 id = listings[listingSeed % listings.length];
        IPromptMarketplace.Listing memory l = market.getListing(id);
        vm.prank(l.seller);
        try market.cancel(id) {
            if (!l.active) _violation("cancelled an inactive listing");
        } catch {
            if (l.active) _violation("seller could not cancel an active listing");
        }
    }

    function buy(uint256 buyerSeed, uint256 listingSeed) external syncTime("buy") {
        if (listings.length == 0) return;
        address buyer = actors[3 + buyerSeed % 3];
        uint256 id = listings[listingSeed % listings.length];
        IPromptMarketplace.Listing memory l = market.getListing(id);
        vm.deal(buyer, buyer.balance + l.price);
        vm.prank(buyer);
        try market.buy{value: l.price}(id, PKX, PKY) returns (uint256 orderId) {
            if (!l.active) _violation("bought an inactive listing");
            orders.push(orderId);
            ghostStatus[orderId] = IPromptMarketplace.OrderStatus.Open;
            ghostDeposited += l.price;
            ghostEscrowed += l.price;
        } catch {
            if (l.active) _violation("could not buy an active listing");
            vm.deal(buyer, buyer.balance - l.price);
        }
    }

    function deliver(uint256 orderSeed, bool validProof, bool bySeller) external syncTime("deliver") {
        if (orders.length == 0) return;
        uint256 orderId = orders[orderSeed % orders.length];
        IPromptMarketplace.Order memory o = market.getOrder(orderId);
        IPromptMarketplace.Listing memory l = market.getListing(o.listingId);
        uint256[] memory ct = new uint256[](ctLen);
        for (uint256 i = 0; i < ctLen; ++i) {
            ct[i] = uint256(keccak256(abi.encode(orderId, i))) % R;
        }
        uint256[] memory xs = new uint256[](6 + ctLen);
        xs[0] = l.commitment;
        xs[1] = o.pkX;
        xs[2] = o.pkY;
        xs[3] = EPHX;
        xs[4] = EPHY;
        xs[5] = validProof ? orderId : orderId + 1; // a proof for another order is invalid here
        for (uint256 i = 0; i < ctLen; ++i) {
            xs[6 + i] = ct[i];
        }
        bytes memory proof = _proof(deliveryVk, xs);
        address caller = bySeller ? l.seller : o.buyer;

        bool mayDeliver = validProof && caller == l.seller
            && ghostStatus[orderId] == IPromptMarketplace.OrderStatus.Open && block.timestamp < o.deadline;
        uint256 sellerBefore = market.withdrawable(l.seller);
        uint256 feeBefore = market.withdrawable(feeRecipient);
        vm.prank(caller);
        try market.deliver(orderId, EPHX, EPHY, ct, proof) {
            if (!mayDeliver) _violation("delivery succeeded without a valid proof/seller/open order/time");
            uint256 fee = market.feeOf(o.amount);
            if (
                market.withdrawable(l.seller) - sellerBefore + market.withdrawable(feeRecipient) - feeBefore != o.amount
            ) {
                // (seller == feeRecipient never happens here)
                _violation("seller + fee != amount");
            }
            ghostCredited[l.seller] += o.amount - fee;
            ghostCredited[feeRecipient] += fee;
            ghostStatus[orderId] = IPromptMarketplace.OrderStatus.Delivered;
            ghostSettlements[orderId]++;
            ghostEscrowed -= o.amount;
            ghostDeliveredAmount += o.amount;
        } catch {
            if (mayDeliver) _violation("valid delivery rejected");
        }
    }

    function refund(uint256 orderSeed, bool byBuyer) external syncTime("refund") {
        if (orders.length == 0) return;
        uint256 orderId = orders[orderSeed % orders.length];
        IPromptMarketplace.Order memory o = market.getOrder(orderId);
        address caller = byBuyer ? o.buyer : market.getListing(o.listingId).seller;
        // Anyone may trigger a refund; it always credits the buyer.
        bool mayRefund = ghostStatus[orderId] == IPromptMarketplace.OrderStatus.Open && block.timestamp >= o.deadline;
        vm.prank(caller);
        try market.refund(orderId) {
            if (!mayRefund) _violation("refund succeeded before deadline / after settlement");
            ghostCredited[o.buyer] += o.amount;
            ghostStatus[orderId] = IPromptMarketplace.OrderStatus.Refunded;
            ghostSettlements[orderId]++;
            ghostEscrowed -= o.amount;
            ghostRefundedAmount += o.amount;
        } catch {
            if (mayRefund) _violation("due refund rejected");
        }
    }

    function withdraw(uint256 actorSeed) external syncTime("withdraw") {
        address a = actors[actorSeed % actors.length];
        uint256 owed = ghostCredited[a] - ghostWithdrawnBy[a];
        uint256 balBefore = a.balance;
        vm.prank(a);
        try market.withdraw() returns (uint256 amount) {
            if (amount != owed || a.balance - balBefore != owed) _violation("withdrew other than owed");
            ghostWithdrawnBy[a] += amount;
            ghostWithdrawn += amount;
        } catch {
            if (owed != 0) _violation("could not withdraw a credit");
        }
    }
}

contract PromptMarketplaceInvariantTest is MarketFixture, InvariantBase {
    MarketHandler handler;

    function setUp() public override {
        super.setUp();
        handler = new MarketHandler(market, LISTING_ID, DELIVERY_ID, LISTING_VK, DELIVERY_VK, CT_LEN, T0);
        targetContract(address(handler));
        bytes4[] memory sels = new bytes4[](7);
        sels[0] = MarketHandler.warp.selector;
        sels[1] = MarketHandler.list.selector;
        sels[2] = MarketHandler.cancel.selector;
        sels[3] = MarketHandler.buy.selector;
        sels[4] = MarketHandler.deliver.selector;
        sels[5] = MarketHandler.refund.selector;
        sels[6] = MarketHandler.withdraw.selector;
        targetSelector(FuzzSelector(address(handler), sels));
    }

    /// address(market).balance == Σ escrow of open orders + Σ withdrawable balances,
    /// computed from the contract's own state and cross-checked against the model.
    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 64
    function invariant_balanceEqualsEscrowPlusWithdrawable() public view {
        uint256 open;
        uint256 n = market.orderCount();
        for (uint256 id = 1; id <= n; ++id) {
            IPromptMarketplace.Order memory o = market.getOrder(id);
            if (o.status == IPromptMarketplace.OrderStatus.Open) open += o.amount;
        }
        uint256 credits;
        uint256 k = handler.actorCount();
        for (uint256 i = 0; i < k; ++i) {
            credits += market.withdrawable(handler.actors(i));
        }
        assertEq(address(market).balance, open + credits, "balance != escrow + withdrawable");
        assertEq(open, handler.ghostEscrowed(), "escrow differs from model");
        assertEq(
            handler.ghostDeposited(), handler.ghostWithdrawn() + address(market).balance, "deposits != out + balance"
        );
    }

    /// No order is ever both delivered and refunded (or settled twice), and the contract's
    /// status matches the model's.
    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 64
    function invariant_orderSettlesAtMostOnce() public view {
        uint256 n = handler.orderCount();
        for (uint256 i = 0; i < n; ++i) {
            uint256 id = handler.orders(i);
            assertLe(handler.ghostSettlements(id), 1, "order settled twice");
            assertTrue(market.getOrder(id).status == handler.ghostStatus(id), "status differs from model");
        }
    }

    /// Money leaves only through withdraw, and only up to credits created by valid deliveries
    /// (seller + fee) or refunds after the deadline; every handler expectation held.
    /// forge-config: default.invariant.runs = 64
    /// forge-config: default.invariant.depth = 64
    function invariant_moneyLeavesOnlyAfterSettlement() public view {
        assertEq(handler.violations(), 0, handler.lastViolation());
        uint256 k = handler.actorCount();
        uint256 credited;
        for (uint256 i = 0; i < k; ++i) {
            address a = handler.actors(i);
            assertEq(
                market.withdrawable(a) + handler.ghostWithdrawnBy(a), handler.ghostCredited(a), "credit accounting"
            );
            credited += handler.ghostCredited(a);
        }
        assertEq(credited, handler.ghostDeliveredAmount() + handler.ghostRefundedAmount(), "credits != settled");
        assertLe(handler.ghostWithdrawn(), credited, "withdrew more than credited");
    }
}
