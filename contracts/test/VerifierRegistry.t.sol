// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {TestBase} from "./utils/TestBase.sol";
import {VerifierRegistry} from "../src/VerifierRegistry.sol";
import {IVerifierRegistry} from "../src/interfaces/IVerifierRegistry.sol";
import {ConstVerifier} from "./mocks/MarketMocks.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract VerifierRegistryTest is TestBase {
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferStarted(address indexed owner, address indexed pendingOwner);
    event CircuitRegistered(
        bytes32 indexed circuitId, address indexed verifier, bytes32 vkDigest, uint256 numPublicInputs
    );
    event CircuitDeprecated(bytes32 indexed circuitId);
    event PairAllowed(bytes32 indexed listingCircuitId, bytes32 indexed deliveryCircuitId);
    event PairDisallowed(bytes32 indexed listingCircuitId, bytes32 indexed deliveryCircuitId);

    bytes32 constant ID = keccak256("circuit/v1");
    bytes32 constant VK = keccak256("vk");
    address constant OTHER = address(0xA11CE);

    VerifierRegistry reg;
    address verifier;

    function setUp() public {
        reg = new VerifierRegistry(address(this));
        verifier = address(new ConstVerifier(true));
    }

    function test_registerStoresEntry() public {
        vm.warp(1234);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CircuitRegistered(ID, verifier, VK, 10);
        reg.register(ID, verifier, VK, 10);
        IVerifierRegistry.Entry memory e = reg.get(ID);
        assertEq(e.verifier, verifier, "verifier");
        assertEq(e.vkDigest, VK, "vk");
        assertEq(e.numPublicInputs, 10, "inputs");
        assertEq(e.registeredAt, 1234, "time");
        assertFalse(e.deprecated, "deprecated");
        assertTrue(reg.isActive(ID), "active");
    }

    function test_getUnknownIsZero() public view {
        IVerifierRegistry.Entry memory e = reg.get(ID);
        assertEq(e.verifier, address(0), "verifier");
        assertEq(e.numPublicInputs, 0, "inputs");
        assertFalse(reg.isActive(ID), "active");
    }

    function test_deprecateKeepsEntry() public {
        reg.register(ID, verifier, VK, 10);
        assertFalse(reg.isDeprecated(ID), "not yet");
        vm.expectEmit(true, true, true, true, address(reg));
        emit CircuitDeprecated(ID);
        reg.deprecate(ID);
        IVerifierRegistry.Entry memory e = reg.get(ID);
        assertTrue(e.deprecated, "deprecated");
        assertTrue(reg.isDeprecated(ID), "isDeprecated");
        assertEq(e.verifier, verifier, "verifier kept");
        assertFalse(reg.isActive(ID), "inactive");
    }

    function test_twoStepOwnershipTransfer() public {
        vm.expectEmit(true, true, true, true, address(reg));
        emit OwnershipTransferStarted(address(this), OTHER);
        reg.transferOwnership(OTHER);
        assertEq(reg.owner(), address(this), "owner unchanged until accepted");
        assertEq(reg.pendingOwner(), OTHER, "pending");
        vm.expectEmit(true, true, true, true, address(reg));
        emit OwnershipTransferred(address(this), OTHER);
        vm.prank(OTHER);
        reg.acceptOwnership();
        assertEq(reg.owner(), OTHER, "new owner");
        assertEq(reg.pendingOwner(), address(0), "pending cleared");
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        reg.register(ID, verifier, VK, 1);
        vm.prank(OTHER);
        reg.register(ID, verifier, VK, 1);
    }

    function test_transferCanBeCancelled() public {
        reg.transferOwnership(OTHER);
        reg.transferOwnership(address(0));
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OTHER));
        reg.acceptOwnership();
    }

    function test_RevertWhen_constructorZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new VerifierRegistry(address(0));
    }

    function test_RevertWhen_registerByNonOwner() public {
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OTHER));
        reg.register(ID, verifier, VK, 1);
    }

    function test_RevertWhen_registerTwice() public {
        reg.register(ID, verifier, VK, 1);
        address other = address(new ConstVerifier(false));
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.AlreadyRegistered.selector, ID, verifier));
        reg.register(ID, other, keccak256("vk2"), 2);
        assertEq(reg.get(ID).verifier, verifier, "entry unchanged");
    }

    function test_RevertWhen_registerAfterDeprecation() public {
        reg.register(ID, verifier, VK, 1);
        reg.deprecate(ID);
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.AlreadyRegistered.selector, ID, verifier));
        reg.register(ID, verifier, VK, 1);
    }

    function test_RevertWhen_registerZeroId() public {
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.ZeroCircuitId.selector));
        reg.register(bytes32(0), verifier, VK, 1);
    }

    function test_RevertWhen_registerVerifierWithoutCode() public {
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.VerifierHasNoCode.selector, OTHER));
        reg.register(ID, OTHER, VK, 1);
    }

    function test_RevertWhen_registerZeroPublicInputs() public {
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.ZeroPublicInputs.selector));
        reg.register(ID, verifier, VK, 0);
    }

    function test_RevertWhen_deprecateUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.UnknownCircuit.selector, ID));
        reg.deprecate(ID);
    }

    function test_RevertWhen_deprecateTwice() public {
        reg.register(ID, verifier, VK, 1);
        reg.deprecate(ID);
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.AlreadyDeprecated.selector, ID));
        reg.deprecate(ID);
    }

    function test_RevertWhen_deprecateByNonOwner() public {
        reg.register(ID, verifier, VK, 1);
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OTHER));
        reg.deprecate(ID);
    }

    function test_RevertWhen_transferOwnershipByNonOwner() public {
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OTHER));
        reg.transferOwnership(OTHER);
    }

    function test_RevertWhen_acceptOwnershipByNonPending() public {
        reg.transferOwnership(OTHER);
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(0xBAD)));
        reg.acceptOwnership();
    }

    function testFuzz_registerOnceOnly(bytes32 id, bytes32 vk, uint256 n) public {
        vm.assume(id != bytes32(0));
        n = bound(n, 1, 1000);
        reg.register(id, verifier, vk, n);
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.AlreadyRegistered.selector, id, verifier));
        reg.register(id, verifier, vk, n);
        assertEq(reg.get(id).numPublicInputs, n, "n");
        assertEq(reg.get(id).vkDigest, vk, "vk");
    }
    // ================================================================ circuit pairs

    bytes32 constant DID = keccak256("delivery/v1");

    function _registerPair() internal {
        reg.register(ID, verifier, VK, 3);
        reg.register(DID, verifier, VK, 10);
    }

    function test_allowAndDisallowPair() public {
        _registerPair();
        assertFalse(reg.isPairAllowed(ID, DID), "not allowed by default");
        vm.expectEmit(true, true, true, true, address(reg));
        emit PairAllowed(ID, DID);
        reg.allowPair(ID, DID);
        assertTrue(reg.isPairAllowed(ID, DID), "allowed");
        assertFalse(reg.isPairAllowed(DID, ID), "a pair is ordered: (listing, delivery)");
        vm.expectEmit(true, true, true, true, address(reg));
        emit PairDisallowed(ID, DID);
        reg.disallowPair(ID, DID);
        assertFalse(reg.isPairAllowed(ID, DID), "disallowed");
    }

    function test_RevertWhen_allowPairOfUnknownCircuit() public {
        reg.register(ID, verifier, VK, 3);
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.UnknownCircuit.selector, DID));
        reg.allowPair(ID, DID);
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.UnknownCircuit.selector, DID));
        reg.allowPair(DID, ID);
    }

    function test_RevertWhen_allowPairTwiceOrDisallowUnallowed() public {
        _registerPair();
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.PairNotAllowed.selector, ID, DID));
        reg.disallowPair(ID, DID);
        reg.allowPair(ID, DID);
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.PairAlreadyAllowed.selector, ID, DID));
        reg.allowPair(ID, DID);
    }

    function test_RevertWhen_pairChangedByNonOwner() public {
        _registerPair();
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OTHER));
        reg.allowPair(ID, DID);
        reg.allowPair(ID, DID);
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OTHER));
        reg.disallowPair(ID, DID);
    }

    function test_RevertWhen_renounceOwnership() public {
        vm.expectRevert(abi.encodeWithSelector(VerifierRegistry.RenounceOwnershipDisabled.selector));
        reg.renounceOwnership();
        assertEq(reg.owner(), address(this), "still owned");
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OTHER));
        reg.renounceOwnership();
    }

    /// The pendingOwner, not the owner, completes a transfer; ownership then really moves (the
    /// old owner loses every right, including the pairs).
    function testFuzz_onlyThePendingOwnerAccepts(address who) public {
        vm.assume(who != OTHER && who != address(0));
        reg.transferOwnership(OTHER);
        vm.prank(who);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, who));
        reg.acceptOwnership();
        vm.prank(OTHER);
        reg.acceptOwnership();
        _registerPairAs(OTHER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        reg.allowPair(ID, DID);
    }

    function _registerPairAs(address owner) internal {
        vm.startPrank(owner);
        reg.register(ID, verifier, VK, 3);
        reg.register(DID, verifier, VK, 10);
        vm.stopPrank();
    }
}
