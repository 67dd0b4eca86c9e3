// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {TestBase} from "./TestBase.sol";
import {VerifierRegistry} from "../../src/VerifierRegistry.sol";
import {PromptMarketplace} from "../../src/PromptMarketplace.sol";
import {HashVerifier} from "../mocks/MarketMocks.sol";

/// @dev Shared deployment for marketplace tests: a registry with a listing circuit (3 public
///      inputs) and a delivery circuit (6 + CT_LEN public inputs) backed by HashVerifiers,
///      allowed as a pair. Expected public inputs (order tags, digests) are computed here,
///      independently of the contract.
abstract contract MarketFixture is TestBase {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    bytes32 internal constant LISTING_ID = keccak256("prompt-listing/v1");
    bytes32 internal constant DELIVERY_ID = keccak256("prompt-delivery/v1");
    bytes32 internal constant LISTING_VK = keccak256("listing vk");
    bytes32 internal constant DELIVERY_VK = keccak256("delivery vk");
    uint256 internal constant CT_LEN = 4;
    uint256 internal constant FEE_BPS = 250;
    uint256 internal constant WINDOW = 1 days;
    uint256 internal constant REVEAL = 1 hours;
    uint256 internal constant T0 = 1_700_000_000;

    // Baby Jubjub (EIP-2494) points: B8 (prime-order subgroup generator), 2·B8, G (full group).
    uint256 internal constant B8X = 5299619240641551281634865583518297030282874472190772894086521144482721001553;
    uint256 internal constant B8Y = 16950150798460657717958625567821834550301663161624707787222815936182638968203;
    uint256 internal constant B8X2 = 10031262171927540148667355526369034398030886437092045105752248699557385197826;
    uint256 internal constant B8Y2 = 633281375905621697187330766174974863687049529291089048651929454608812697683;
    uint256 internal constant GX = 995203441582195749578291179787384436505546430278305826713579947235728471134;
    uint256 internal constant GY = 5472060717959818805561601436314318772137091100104008585924551046643952123905;

    address internal constant SELLER = address(0x5E11E4);
    address internal constant BUYER = address(0xB0B);
    address internal constant FEES = address(0xFEE5);

    uint256 internal constant C = 0x1234567890abcdef;
    uint256 internal constant OUT = 0xfeedbeef;
    uint256 internal constant PRICE = 1 ether;
    /// @dev sha256('{"title":"a prompt"}'), written out: a `sha256(...)` constant is a precompile
    ///      call at each use, which would consume a pending `vm.prank`.
    bytes32 internal constant META = 0x6631207c190d79596a31929e2f27d68962a7b12d39d1f563281482976f76545a;

    VerifierRegistry internal registry;
    HashVerifier internal listingVerifier;
    HashVerifier internal deliveryVerifier;
    PromptMarketplace internal market;

    function setUp() public virtual {
        vm.warp(T0);
        registry = new VerifierRegistry(address(this));
        listingVerifier = new HashVerifier(LISTING_VK);
        deliveryVerifier = new HashVerifier(DELIVERY_VK);
        registry.register(LISTING_ID, address(listingVerifier), LISTING_VK, 3);
        registry.register(DELIVERY_ID, address(deliveryVerifier), DELIVERY_VK, 6 + CT_LEN);
        registry.allowPair(LISTING_ID, DELIVERY_ID);
        market = newMarket(address(registry), FEE_BPS);
    }

    function newMarket(address reg, uint256 feeBps) internal returns (PromptMarketplace) {
        return new PromptMarketplace(reg, FEES, feeBps, WINDOW, REVEAL);
    }

    // ---------------------------------------------------------------- helpers

    function listingInputs(uint256 c, uint256 out, address seller) internal pure returns (uint256[] memory xs) {
        xs = new uint256[](3);
        xs[0] = c;
        xs[1] = out;
        xs[2] = uint256(uint160(seller));
    }

    /// @dev The only proof {HashVerifier}(vk) accepts for `xs`, computed locally (no external
    ///      call, so it can be an argument of a pranked call).
    function proofFor(bytes32 vk, uint256[] memory xs) internal pure returns (bytes memory) {
        return abi.encode(keccak256(abi.encode(vk, xs)));
    }

    function listingProof(uint256 c, uint256 out, address seller) internal pure returns (bytes memory) {
        return proofFor(LISTING_VK, listingInputs(c, out, seller));
    }

    /// @dev keccak256(abi.encode(chainid, market, orderId)) mod r, written out here.
    function tagOf(PromptMarketplace m, uint256 orderId) internal view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(m), orderId))) % R;
    }

    function tag(uint256 orderId) internal view returns (uint256) {
        return tagOf(market, orderId);
    }

    /// @dev keccak256(abi.encode(orderId, ephX, ephY, ct, proof)), written out here.
    function digestOf(uint256 orderId, uint256 ephX, uint256 ephY, uint256[] memory ct, bytes memory proof)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(orderId, ephX, ephY, ct, proof));
    }

    function ciphertext(uint256 seed) internal pure returns (uint256[] memory ct) {
        ct = new uint256[](CT_LEN);
        for (uint256 i = 0; i < CT_LEN; ++i) {
            ct[i] = uint256(keccak256(abi.encode(seed, i))) % R;
        }
    }

    /// @dev The delivery layout, written out independently of the contract.
    function deliveryInputs(
        uint256 c,
        uint256 pkX,
        uint256 pkY,
        uint256 ephX,
        uint256 ephY,
        uint256 orderTag,
        uint256[] memory ct
    ) internal pure returns (uint256[] memory xs) {
        xs = new uint256[](6 + ct.length);
        xs[0] = c;
        xs[1] = pkX;
        xs[2] = pkY;
        xs[3] = ephX;
        xs[4] = ephY;
        xs[5] = orderTag;
        for (uint256 i = 0; i < ct.length; ++i) {
            xs[6 + i] = ct[i];
        }
    }

    /// @dev A valid delivery proof for order `orderId` of {market} (ephemeral key 2·B8).
    function deliveryProof(uint256 c, uint256 pkX, uint256 pkY, uint256 orderId, uint256[] memory ct)
        internal
        view
        returns (bytes memory)
    {
        return proofFor(DELIVERY_VK, deliveryInputs(c, pkX, pkY, B8X2, B8Y2, tag(orderId), ct));
    }

    function doList(address seller, uint256 c, uint256 price) internal returns (uint256 id) {
        bytes memory proof = listingProof(c, OUT, seller);
        vm.prank(seller);
        id = market.list(LISTING_ID, DELIVERY_ID, c, OUT, price, META, proof);
    }

    function doBuy(address buyer, uint256 listingId, uint256 price) internal returns (uint256 id) {
        vm.deal(buyer, buyer.balance + price);
        vm.prank(buyer);
        id = market.buy{value: price}(listingId, B8X, B8Y);
    }

    /// @dev The seller commits to exactly these reveal arguments.
    function doCommit(
        address seller,
        uint256 orderId,
        uint256 ephX,
        uint256 ephY,
        uint256[] memory ct,
        bytes memory proof
    ) internal {
        bytes32 d = digestOf(orderId, ephX, ephY, ct, proof);
        vm.prank(seller);
        market.commitDelivery(orderId, d);
    }

    /// @dev Commits to, then reveals, these arguments (the reveal in the same block).
    function commitAndDeliver(
        address seller,
        uint256 orderId,
        uint256 ephX,
        uint256 ephY,
        uint256[] memory ct,
        bytes memory proof
    ) internal {
        doCommit(seller, orderId, ephX, ephY, ct, proof);
        vm.prank(seller);
        market.deliver(orderId, ephX, ephY, ct, proof);
    }

    /// @dev Delivers order `orderId` (bought with key B8, listing commitment `c`) with ephemeral
    ///      key 2·B8: commit, then reveal.
    function doDeliver(address seller, uint256 orderId, uint256 c) internal {
        uint256[] memory ct = ciphertext(orderId);
        commitAndDeliver(seller, orderId, B8X2, B8Y2, ct, deliveryProof(c, B8X, B8Y, orderId, ct));
    }
}
