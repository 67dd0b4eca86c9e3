// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {TestBase} from "./utils/TestBase.sol";
import {AuditEvents} from "./utils/AuditEvents.sol";
import {AuditModelRegistry} from "../src/AuditModelRegistry.sol";
import {IAuditModelRegistry} from "../src/interfaces/IAuditModelRegistry.sol";
import {ConstVerifier} from "./mocks/MarketMocks.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract AuditModelRegistryTest is TestBase, AuditEvents {
    uint256 constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    bytes32 constant ID = keccak256("audit/v1/b4/d10");
    bytes32 constant VK = keccak256("vk");
    address constant PROVIDER = address(0x9807);
    address constant OTHER = address(0xA11CE);

    AuditModelRegistry reg;
    address verifier;

    function setUp() public {
        reg = new AuditModelRegistry(address(this));
        verifier = address(new ConstVerifier(true));
    }

    function test_registerCircuitStoresEntry() public {
        vm.warp(1234);
        vm.expectEmit(true, true, true, true, address(reg));
        emit CircuitRegistered(ID, verifier, VK, 4, 10);
        reg.registerCircuit(ID, verifier, VK, 4, 10);
        AuditModelRegistry.Circuit memory c = reg.getCircuit(ID);
        assertEq(c.verifier, verifier, "verifier");
        assertEq(c.vkDigest, VK, "vk");
        assertEq(c.batchSize, 4, "b");
        assertEq(c.treeDepth, 10, "d");
        assertEq(c.registeredAt, 1234, "time");
        assertFalse(c.deprecated, "deprecated");
    }

    function test_registerModelByProvider() public {
        reg.registerCircuit(ID, verifier, VK, 4, 10);
        vm.expectEmit(true, true, true, true, address(reg));
        emit ModelRegistered(1, PROVIDER, ID, 77);
        vm.prank(PROVIDER);
        uint256 id = reg.registerModel(ID, 77);
        assertEq(id, 1, "first id");
        assertEq(reg.modelCount(), 1, "count");
        AuditModelRegistry.Model memory m = reg.getModel(id);
        assertEq(m.provider, PROVIDER, "provider = caller");
        assertEq(m.circuitId, ID, "circuit");
        assertEq(m.weightsCommitment, 77, "C_W");
        assertFalse(m.retired, "retired");
        IAuditModelRegistry.AuditModel memory a = reg.auditModel(id);
        assertEq(a.provider, PROVIDER, "provider");
        assertEq(a.verifier, verifier, "verifier");
        assertEq(a.vkDigest, VK, "vk");
        assertEq(a.weightsCommitment, 77, "C_W");
        assertEq(a.batchSize, 4, "b");
        assertEq(a.treeDepth, 10, "d");
        assertEq(a.circuitId, ID, "circuit id");
        assertTrue(a.active, "active");
        vm.prank(OTHER);
        assertEq(reg.registerModel(ID, 77), 2, "same C_W, another provider: another id");
    }

    function test_auditModelOfUnknownIsZero() public view {
        IAuditModelRegistry.AuditModel memory a = reg.auditModel(1);
        assertEq(a.provider, address(0), "provider");
        assertEq(a.verifier, address(0), "verifier");
        assertFalse(a.active, "active");
    }

    function test_retireAndDeprecateMakeInactive() public {
        reg.registerCircuit(ID, verifier, VK, 4, 10);
        vm.prank(PROVIDER);
        uint256 id1 = reg.registerModel(ID, 1);
        vm.prank(PROVIDER);
        uint256 id2 = reg.registerModel(ID, 2);
        vm.expectEmit(true, true, true, true, address(reg));
        emit ModelRetired(id1);
        vm.prank(PROVIDER);
        reg.retireModel(id1);
        assertFalse(reg.auditModel(id1).active, "retired");
        assertTrue(reg.auditModel(id2).active, "other model active");
        vm.expectEmit(true, true, true, true, address(reg));
        emit CircuitDeprecated(ID);
        reg.deprecateCircuit(ID);
        assertFalse(reg.auditModel(id2).active, "circuit deprecated");
        assertEq(reg.auditModel(id2).verifier, verifier, "entry kept");
    }

    function test_RevertWhen_registerCircuitNotOwner() public {
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OTHER));
        reg.registerCircuit(ID, verifier, VK, 4, 10);
    }

    function test_RevertWhen_registerCircuitBadArguments() public {
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.ZeroCircuitId.selector));
        reg.registerCircuit(bytes32(0), verifier, VK, 4, 10);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.VerifierHasNoCode.selector, OTHER));
        reg.registerCircuit(ID, OTHER, VK, 4, 10);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.ZeroBatchSize.selector));
        reg.registerCircuit(ID, verifier, VK, 0, 10);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.TreeDepthTooLarge.selector, 65, 64));
        reg.registerCircuit(ID, verifier, VK, 4, 65);
        reg.registerCircuit(ID, verifier, VK, 4, 64);
    }

    function test_RevertWhen_registerCircuitTwice() public {
        reg.registerCircuit(ID, verifier, VK, 4, 10);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.AlreadyRegistered.selector, ID, verifier));
        reg.registerCircuit(ID, verifier, keccak256("vk2"), 8, 10);
    }

    function test_RevertWhen_deprecateUnknownTwiceOrNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.UnknownCircuit.selector, ID));
        reg.deprecateCircuit(ID);
        reg.registerCircuit(ID, verifier, VK, 4, 10);
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OTHER));
        reg.deprecateCircuit(ID);
        reg.deprecateCircuit(ID);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.CircuitIsDeprecated.selector, ID));
        reg.deprecateCircuit(ID);
    }

    function test_RevertWhen_registerModelUnknownOrDeprecatedCircuit() public {
        vm.prank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.UnknownCircuit.selector, ID));
        reg.registerModel(ID, 1);
        reg.registerCircuit(ID, verifier, VK, 4, 10);
        reg.deprecateCircuit(ID);
        vm.prank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.CircuitIsDeprecated.selector, ID));
        reg.registerModel(ID, 1);
    }

    function testFuzz_RevertWhen_registerModelCommitmentNotInField(uint256 cw) public {
        cw = bound(cw, R, type(uint256).max);
        reg.registerCircuit(ID, verifier, VK, 4, 10);
        vm.prank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.WeightsCommitmentNotInField.selector, cw));
        reg.registerModel(ID, cw);
        vm.prank(PROVIDER);
        reg.registerModel(ID, R - 1);
    }

    function test_RevertWhen_retireUnknownByOtherOrTwice() public {
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.UnknownModel.selector, 1));
        reg.retireModel(1);
        reg.registerCircuit(ID, verifier, VK, 4, 10);
        vm.prank(PROVIDER);
        uint256 id = reg.registerModel(ID, 1);
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.NotProvider.selector, OTHER, PROVIDER));
        reg.retireModel(id);
        vm.prank(address(this)); // not even the owner
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.NotProvider.selector, address(this), PROVIDER));
        reg.retireModel(id);
        vm.prank(PROVIDER);
        reg.retireModel(id);
        vm.prank(PROVIDER);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.AlreadyRetired.selector, id));
        reg.retireModel(id);
    }

    function test_twoStepOwnershipAndNoRenounce() public {
        reg.transferOwnership(OTHER);
        assertEq(reg.owner(), address(this), "until accepted");
        vm.prank(OTHER);
        reg.acceptOwnership();
        assertEq(reg.owner(), OTHER, "new owner");
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(AuditModelRegistry.RenounceOwnershipDisabled.selector));
        reg.renounceOwnership();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        reg.renounceOwnership();
    }

    function test_RevertWhen_constructorZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new AuditModelRegistry(address(0));
    }
}
