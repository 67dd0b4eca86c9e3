// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {MarketFixture} from "./utils/MarketFixture.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {Vm} from "./utils/TestBase.sol";
import {PromptMarketplace} from "../src/PromptMarketplace.sol";
import {IPromptMarketplace} from "../src/interfaces/IPromptMarketplace.sol";

/// @dev An actor whose receive() always reverts: it can never withdraw to itself (only
///      {PromptMarketplace.withdrawTo} elsewhere), and nobody can withdraw to it.
contract RejectingActor {
    receive() external payable {
        revert("no ether");
    }
}

/// @dev An actor whose receive() re-enters the market (withdraw, withdrawTo, refund, commit,
///      deliver) and swallows the failures; counts any re-entry that got through.
contract ReenteringActor {
    PromptMarketplace public immutable market;
    uint256 public reentrySuccesses;
    uint256 public reentryAttempts;

    constructor(PromptMarketplace market_) {
        market = market_;
    }

    receive() external payable {
        uint256 n = market.orderCount();
        bytes[5] memory calls = [
            abi.encodeCall(market.withdraw, ()),
            abi.encodeCall(market.withdrawTo, (payable(address(0x3000)))),
            abi.encodeCall(market.refund, (n)),
            abi.encodeCall(market.commitDelivery, (n, bytes32(uint256(1)))),
            abi.encodeCall(market.cancel, (market.listingCount()))
        ];
        for (uint256 i = 0; i < calls.length; ++i) {
            reentryAttempts++;
            (bool ok,) = address(market).call(calls[i]);
            if (ok) reentrySuccesses++;
        }
    }
}

/// @dev Drives the market with random list / cancel / buy / commit / reveal / refund /
///      withdraw / withdrawTo / warp calls. Every expectation comes from the handler's own
///      model (ghost listings, orders, clock, credits), never from the contract's state: a call
///      the model accepts is made directly (with `fail_on_revert`, any revert fails the run), a
///      call the model rejects is made in try/catch and must revert with the error the model
///      names (an unexpected success or another error reverts the handler, failing the run).
///
///      Roles overlap: any actor may list or buy (a seller buys its own listing, the fee
///      recipient sells and buys), and two actors are contracts — one rejects ether, one
///      re-enters the market from receive().
contract MarketHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant OUT = 42;
    bytes32 internal constant META = bytes32(uint256(7));

    PromptMarketplace public immutable market;
    bytes32 public immutable listingId_;
    bytes32 public immutable deliveryId_;
    bytes32 public immutable listingVk;
    bytes32 public immutable deliveryVk;
    uint256 public immutable ctLen;
    address public immutable feeRecipient;
    uint256 public immutable feeBps;
    uint256 public immutable window;
    uint256 public immutable revealWindow;
    RejectingActor public immutable rejecter;
    ReenteringActor public immutable reenterer;

    // Baby Jubjub B8 and 2·B8 (buyer key, seller ephemeral key).
    uint256 internal constant PKX = 5299619240641551281634865583518297030282874472190772894086521144482721001553;
    uint256 internal constant PKY = 16950150798460657717958625567821834550301663161624707787222815936182638968203;
    uint256 internal constant EPHX = 10031262171927540148667355526369034398030886437092045105752248699557385197826;
    uint256 internal constant EPHY = 633281375905621697187330766174974863687049529291089048651929454608812697683;

    /// Reveal variants: what the seller commits to / reveals.
    uint8 internal constant VALID = 0; // a valid delivery
    uint8 internal constant PLAIN_ID = 1; // proof made for the plain order id (not the tag)
    uint8 internal constant IDENTITY_R = 2; // R = identity (with a "proof" for it)
    uint8 internal constant VARIANTS = 3;

    struct GListing {
        address seller;
        uint256 price;
        uint256 commitment;
        bool active;
    }

    struct GOrder {
        uint256 listingId;
        address buyer;
        uint256 amount;
        uint256 deadline;
        IPromptMarketplace.OrderStatus status;
        bool committed;
        uint8 committedVariant;
        uint256 revealDeadline;
        uint256 settlements;
    }

    address[] public actors; // 0..2 sellers, 3..5 buyers, fee recipient, rejecter, re-enterer
    address[] public sinks; // withdrawTo destinations (EOAs)
    GListing[] internal _gl; // listing id i+1
    GOrder[] internal _go; // order id i+1
    uint256 public currentTime;

    // ---- ghosts
    uint256 public ghostDeposited; // Σ msg.value of successful buys
    uint256 public ghostWithdrawn; // Σ paid out by withdraw / withdrawTo
    uint256 public ghostEscrowed; // Σ amount of orders the model considers open
    mapping(address => uint256) public ghostCredited; // Σ credits per account
    mapping(address => uint256) public ghostWithdrawnBy;
    mapping(address => uint256) public ghostReceived; // Σ ether received by sinks and actors
    uint256 public ghostDeliveredAmount; // Σ amount of delivered orders
    uint256 public ghostRefundedAmount; // Σ amount of refunded orders
    mapping(bytes32 => uint256) public calls;

    error UnexpectedSuccess(string what);
    error UnexpectedError(string what, bytes4 expected, bytes err);
    error Diverged(string what);

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
        feeBps = market_.feeBps();
        window = market_.deliveryWindow();
        revealWindow = market_.revealWindow();
        rejecter = new RejectingActor();
        reenterer = new ReenteringActor(market_);
        for (uint160 i = 0; i < 3; ++i) {
            actors.push(address(0x1000 + i)); // sellers
        }
        for (uint160 i = 0; i < 3; ++i) {
            actors.push(address(0x2000 + i)); // buyers
        }
        actors.push(feeRecipient);
        actors.push(address(rejecter));
        actors.push(address(reenterer));
        for (uint160 i = 0; i < 2; ++i) {
            sinks.push(address(0x3000 + i));
        }
        currentTime = startTime;
    }

    // ------------------------------------------------------------------ views for invariants

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function orderCount() external view returns (uint256) {
        return _go.length;
    }

    function ghostOrder(uint256 id) external view returns (GOrder memory) {
        return _go[id - 1];
    }

    // ------------------------------------------------------------------ helpers

    modifier syncTime(bytes32 name) {
        vm.warp(currentTime);
        calls[name]++;
        _;
    }

    function _proof(bytes32 vk, uint256[] memory xs) internal pure returns (bytes memory) {
        return abi.encode(keccak256(abi.encode(vk, xs)));
    }

    function _tag(uint256 orderId) internal view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(market), orderId))) % R;
    }

    function _fee(uint256 amount) internal view returns (uint256) {
        return amount * feeBps / 10_000; // amounts here are far too small to overflow
    }

    function _check(bytes memory err, bytes4 expected, string memory what) internal pure {
        // casting to 'bytes4' is safe because only the selector (first 4 bytes) is wanted
        // forge-lint: disable-next-line(unsafe-typecast)
        if (err.length < 4 || bytes4(err) != expected) revert UnexpectedError(what, expected, err);
    }

    /// @dev The reveal arguments of `variant` for order `id` (deterministic).
    function _reveal(uint256 id, uint8 variant)
        internal
        view
        returns (uint256 ephX, uint256 ephY, uint256[] memory ct, bytes memory proof)
    {
        GOrder storage o = _go[id - 1];
        ct = new uint256[](ctLen);
        for (uint256 i = 0; i < ctLen; ++i) {
            ct[i] = uint256(keccak256(abi.encode(id, i))) % R;
        }
        (ephX, ephY) = variant == IDENTITY_R ? (uint256(0), uint256(1)) : (EPHX, EPHY);
        uint256[] memory xs = new uint256[](6 + ctLen);
        xs[0] = _gl[o.listingId - 1].commitment;
        xs[1] = PKX;
        xs[2] = PKY;
        xs[3] = ephX;
        xs[4] = ephY;
        xs[5] = variant == PLAIN_ID ? id : _tag(id);
        for (uint256 i = 0; i < ctLen; ++i) {
            xs[6 + i] = ct[i];
        }
        proof = _proof(deliveryVk, xs);
    }

    function _digest(uint256 id, uint8 variant) internal view returns (bytes32) {
        (uint256 ephX, uint256 ephY, uint256[] memory ct, bytes memory proof) = _reveal(id, variant);
        return keccak256(abi.encode(id, ephX, ephY, ct, proof));
    }

    function _credit(address a, uint256 amount) internal {
        ghostCredited[a] += amount;
    }

    function _settle(GOrder storage o, IPromptMarketplace.OrderStatus to) internal {
        o.status = to;
        o.settlements++;
        ghostEscrowed -= o.amount;
    }

    // ------------------------------------------------------------------ actions

    function warp(uint256 dt) external syncTime("warp") {
        currentTime += dt % 90 minutes;
        vm.warp(currentTime);
    }

    function list(uint256 sellerSeed, uint256 price, uint256 commitment, bool validProof) external syncTime("list") {
        address seller = actors[sellerSeed % actors.length];
        price = 1 + price % 100 ether;
        commitment = commitment % R;
        // An invalid listing proof: a valid one, made for another seller (a copied proof).
        address provenFor = validProof ? seller : actors[(sellerSeed % actors.length + 1) % actors.length];
        uint256[] memory xs = new uint256[](3);
        xs[0] = commitment;
        xs[1] = OUT;
        xs[2] = uint256(uint160(provenFor));
        bytes memory proof = _proof(listingVk, xs);
        vm.prank(seller);
        if (validProof) {
            uint256 id = market.list(listingId_, deliveryId_, commitment, OUT, price, META, proof);
            _gl.push(GListing(seller, price, commitment, true));
            if (id != _gl.length) revert Diverged("listing id");
        } else {
            try market.list(listingId_, deliveryId_, commitment, OUT, price, META, proof) {
                revert UnexpectedSuccess("list with another seller's proof");
            } catch (bytes memory err) {
                _check(err, IPromptMarketplace.InvalidProof.selector, "list invalid proof");
            }
        }
    }

    function cancel(uint256 listingSeed, bool bySeller, uint256 otherSeed) external syncTime("cancel") {
        if (_gl.length == 0) return;
        uint256 id = 1 + listingSeed % _gl.length;
        GListing storage l = _gl[id - 1];
        address caller = bySeller ? l.seller : actors[otherSeed % actors.length];
        vm.prank(caller);
        if (caller == l.seller && l.active) {
            market.cancel(id);
            l.active = false;
        } else {
            try market.cancel(id) {
                revert UnexpectedSuccess("cancel");
            } catch (bytes memory err) {
                _check(
                    err,
                    caller != l.seller
                        ? IPromptMarketplace.NotSeller.selector
                        : IPromptMarketplace.ListingNotActive.selector,
                    "cancel"
                );
            }
        }
    }

    function buy(uint256 buyerSeed, uint256 listingSeed) external syncTime("buy") {
        if (_gl.length == 0) return;
        address buyer = actors[buyerSeed % actors.length];
        uint256 id = 1 + listingSeed % _gl.length;
        GListing storage l = _gl[id - 1];
        vm.deal(buyer, buyer.balance + l.price);
        vm.prank(buyer);
        if (l.active) {
            uint256 orderId = market.buy{value: l.price}(id, PKX, PKY);
            _go.push(
                GOrder({
                    listingId: id,
                    buyer: buyer,
                    amount: l.price,
                    deadline: currentTime + window,
                    status: IPromptMarketplace.OrderStatus.Open,
                    committed: false,
                    committedVariant: 0,
                    revealDeadline: 0,
                    settlements: 0
                })
            );
            if (orderId != _go.length) revert Diverged("order id");
            ghostDeposited += l.price;
            ghostEscrowed += l.price;
        } else {
            try market.buy{value: l.price}(id, PKX, PKY) {
                revert UnexpectedSuccess("bought an inactive listing");
            } catch (bytes memory err) {
                _check(err, IPromptMarketplace.ListingNotActive.selector, "buy inactive");
            }
            vm.deal(buyer, buyer.balance - l.price);
        }
    }

    function commit(uint256 orderSeed, uint8 variant, bool bySeller) external syncTime("commit") {
        if (_go.length == 0) return;
        uint256 id = 1 + orderSeed % _go.length;
        GOrder storage o = _go[id - 1];
        variant = variant % VARIANTS;
        address seller = _gl[o.listingId - 1].seller;
        address caller = bySeller ? seller : o.buyer;
        bytes32 d = _digest(id, variant);
        bytes4 err;
        if (caller != seller) err = IPromptMarketplace.NotSeller.selector;
        else if (o.status != IPromptMarketplace.OrderStatus.Open) err = IPromptMarketplace.OrderNotOpen.selector;
        else if (currentTime >= o.deadline) err = IPromptMarketplace.DeadlinePassed.selector;
        vm.prank(caller);
        if (err == bytes4(0)) {
            market.commitDelivery(id, d);
            o.committed = true;
            o.committedVariant = variant;
            o.revealDeadline = currentTime + revealWindow;
        } else {
            try market.commitDelivery(id, d) {
                revert UnexpectedSuccess("commit");
            } catch (bytes memory e) {
                _check(e, err, "commit");
            }
        }
    }

    function reveal(uint256 orderSeed, uint8 variant, bool bySeller) external syncTime("reveal") {
        if (_go.length == 0) return;
        uint256 id = 1 + orderSeed % _go.length;
        GOrder storage o = _go[id - 1];
        variant = variant % VARIANTS;
        address seller = _gl[o.listingId - 1].seller;
        address caller = bySeller ? seller : o.buyer;
        bytes4 err;
        if (caller != seller) err = IPromptMarketplace.NotSeller.selector;
        else if (o.status != IPromptMarketplace.OrderStatus.Open) err = IPromptMarketplace.OrderNotOpen.selector;
        else if (!o.committed) err = IPromptMarketplace.NoCommitment.selector;
        else if (currentTime >= o.revealDeadline) err = IPromptMarketplace.RevealDeadlinePassed.selector;
        else if (variant != o.committedVariant) err = IPromptMarketplace.DigestMismatch.selector;
        else if (variant == IDENTITY_R) err = IPromptMarketplace.InvalidEphemeralKey.selector;
        else if (variant == PLAIN_ID) err = IPromptMarketplace.InvalidProof.selector;
        (uint256 ephX, uint256 ephY, uint256[] memory ct, bytes memory proof) = _reveal(id, variant);
        vm.prank(caller);
        if (err == bytes4(0)) {
            market.deliver(id, ephX, ephY, ct, proof);
            _settle(o, IPromptMarketplace.OrderStatus.Delivered);
            uint256 fee = _fee(o.amount);
            _credit(seller, o.amount - fee);
            _credit(feeRecipient, fee);
            ghostDeliveredAmount += o.amount;
        } else {
            try market.deliver(id, ephX, ephY, ct, proof) {
                revert UnexpectedSuccess("reveal");
            } catch (bytes memory e) {
                _check(e, err, "reveal");
            }
        }
    }

    function refund(uint256 orderSeed, uint256 callerSeed) external syncTime("refund") {
        if (_go.length == 0) return;
        uint256 id = 1 + orderSeed % _go.length;
        GOrder storage o = _go[id - 1];
        // Anyone may trigger a refund; it always credits the buyer.
        address caller = actors[callerSeed % actors.length];
        bytes4 err;
        if (o.status != IPromptMarketplace.OrderStatus.Open) err = IPromptMarketplace.OrderNotOpen.selector;
        else if (currentTime < o.deadline) err = IPromptMarketplace.DeadlineNotReached.selector;
        else if (o.committed && currentTime < o.revealDeadline) err = IPromptMarketplace.RevealPending.selector;
        vm.prank(caller);
        if (err == bytes4(0)) {
            market.refund(id);
            _settle(o, IPromptMarketplace.OrderStatus.Refunded);
            _credit(o.buyer, o.amount);
            ghostRefundedAmount += o.amount;
        } else {
            try market.refund(id) {
                revert UnexpectedSuccess("refund");
            } catch (bytes memory e) {
                _check(e, err, "refund");
            }
        }
    }

    function withdraw(uint256 actorSeed) external syncTime("withdraw") {
        address a = actors[actorSeed % actors.length];
        _withdraw(a, a, false);
    }

    function withdrawTo(uint256 actorSeed, uint256 toSeed) external syncTime("withdrawTo") {
        address a = actors[actorSeed % actors.length];
        // Mostly EOA sinks; sometimes the rejecting actor (the transfer must then fail).
        address to = toSeed % 4 == 0 ? address(rejecter) : sinks[toSeed % sinks.length];
        _withdraw(a, to, true);
    }

    function _withdraw(address a, address to, bool viaTo) internal {
        uint256 owed = ghostCredited[a] - ghostWithdrawnBy[a];
        bytes4 err;
        if (owed == 0) err = IPromptMarketplace.NothingToWithdraw.selector;
        else if (to == address(rejecter)) err = IPromptMarketplace.TransferFailed.selector;
        uint256 balBefore = to.balance;
        vm.prank(a);
        if (err == bytes4(0)) {
            uint256 amount = viaTo ? market.withdrawTo(payable(to)) : market.withdraw();
            if (amount != owed || to.balance - balBefore != owed) revert Diverged("withdrew other than owed");
            ghostWithdrawnBy[a] += amount;
            ghostWithdrawn += amount;
            ghostReceived[to] += amount;
        } else if (viaTo) {
            try market.withdrawTo(payable(to)) {
                revert UnexpectedSuccess("withdrawTo");
            } catch (bytes memory e) {
                _check(e, err, "withdrawTo");
            }
        } else {
            try market.withdraw() {
                revert UnexpectedSuccess("withdraw");
            } catch (bytes memory e) {
                _check(e, err, "withdraw");
            }
        }
    }
}

/// forge-config: default.invariant.runs = 64
/// forge-config: default.invariant.depth = 64
/// forge-config: default.invariant.fail-on-revert = true
contract PromptMarketplaceInvariantTest is MarketFixture, InvariantBase {
    MarketHandler handler;

    function setUp() public override {
        super.setUp();
        // Short windows, so that a run's warps cross deadlines and reveal deadlines often.
        market = new PromptMarketplace(address(registry), FEES, FEE_BPS, 4 hours, 3 hours);
        handler = new MarketHandler(market, LISTING_ID, DELIVERY_ID, LISTING_VK, DELIVERY_VK, CT_LEN, T0);
        targetContract(address(handler));
        bytes4[] memory sels = new bytes4[](10);
        sels[0] = MarketHandler.warp.selector;
        sels[1] = MarketHandler.list.selector;
        sels[2] = MarketHandler.cancel.selector;
        sels[3] = MarketHandler.buy.selector;
        sels[4] = MarketHandler.commit.selector;
        sels[5] = MarketHandler.reveal.selector;
        sels[6] = MarketHandler.refund.selector;
        sels[7] = MarketHandler.withdraw.selector;
        sels[8] = MarketHandler.withdrawTo.selector;
        sels[9] = MarketHandler.warp.selector; // time moves twice as often
        targetSelector(FuzzSelector(address(handler), sels));
    }

    /// The market holds exactly the model's escrow of open orders plus every outstanding
    /// credit; deposits == withdrawals + balance.
    function invariant_balanceEqualsModelEscrowPlusCredits() public view {
        uint256 owed;
        uint256 k = handler.actorCount();
        for (uint256 i = 0; i < k; ++i) {
            address a = handler.actors(i);
            owed += handler.ghostCredited(a) - handler.ghostWithdrawnBy(a);
        }
        assertEq(address(market).balance, handler.ghostEscrowed() + owed, "balance != model escrow + credits");
        assertEq(
            handler.ghostDeposited(), handler.ghostWithdrawn() + address(market).balance, "deposits != out + balance"
        );
        uint256 open;
        uint256 n = market.orderCount();
        assertEq(n, handler.orderCount(), "order count");
        for (uint256 id = 1; id <= n; ++id) {
            IPromptMarketplace.Order memory o = market.getOrder(id);
            if (o.status == IPromptMarketplace.OrderStatus.Open) open += o.amount;
        }
        assertEq(open, handler.ghostEscrowed(), "contract escrow differs from model");
    }

    /// Every order settles at most once, and the contract agrees with the model on its status,
    /// deadline and commitment.
    function invariant_ordersMatchModel() public view {
        uint256 n = handler.orderCount();
        for (uint256 id = 1; id <= n; ++id) {
            MarketHandler.GOrder memory g = handler.ghostOrder(id);
            IPromptMarketplace.Order memory o = market.getOrder(id);
            assertLe(g.settlements, 1, "order settled twice");
            assertTrue(o.status == g.status, "status differs from model");
            assertEq(o.deadline, g.deadline, "deadline");
            assertEq(o.revealDeadline, g.revealDeadline, "reveal deadline");
            assertEq(o.deliveryDigest != bytes32(0), g.committed, "commitment");
            assertEq(o.buyer, g.buyer, "buyer");
            assertEq(o.amount, g.amount, "amount");
        }
    }

    /// Each account's withdrawable balance is the model's credits minus its withdrawals;
    /// credits arise only from settled orders; no re-entry ever got through.
    function invariant_creditsMatchModel() public view {
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
        assertEq(handler.reenterer().reentrySuccesses(), 0, "a re-entrant call got through");
    }
}
