// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {TestBase} from "./utils/TestBase.sol";
import {ProofVerifierAdapter} from "../src/ProofVerifierAdapter.sol";
import {IProofVerifier} from "../src/interfaces/IProofVerifier.sol";
import {
    MockRawVerifier,
    PrefixRawVerifier,
    ReturnsTrueVerifier,
    RevertingVerifier,
    GasBurningVerifier
} from "./mocks/MockVerifiers.sol";

contract ProofVerifierAdapterTest is TestBase {
    uint256 constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 constant GAS_CAP = 1_000_000;
    bytes32 constant VK = keccak256("vk");

    bytes proof = hex"0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20aabbcc";
    uint256[] inputs;
    MockRawVerifier raw;
    ProofVerifierAdapter adapter;

    function setUp() public {
        inputs.push(7);
        inputs.push(R - 1);
        raw = new MockRawVerifier(abi.encodePacked(inputs, proof));
        adapter = new ProofVerifierAdapter(address(raw), 2, proof.length, VK, GAS_CAP);
    }

    function test_exposesConfiguration() public view {
        assertEq(adapter.verifier(), address(raw), "verifier");
        assertEq(adapter.numPublicInputs(), 2, "numPublicInputs");
        assertEq(adapter.proofLength(), 35, "proofLength");
        assertEq(adapter.vkDigest(), VK, "vkDigest");
        assertEq(adapter.verifierGasLimit(), GAS_CAP, "gas limit");
        assertEq(adapter.SNARK_SCALAR_FIELD(), R, "modulus");
    }

    function test_acceptsValidProof() public view {
        assertTrue(IProofVerifier(address(adapter)).verifyProof(proof, inputs), "valid proof rejected");
    }

    function test_rejectsTamperedProof() public view {
        bytes memory bad = proof;
        bad[3] ^= 0x01;
        assertFalse(adapter.verifyProof(bad, inputs), "tampered proof accepted");
    }

    /// The raw verifier reads a proof at fixed offsets: like the generated one, this mock
    /// accepts any calldata that starts with the valid `inputs ‖ proof` (it ignores the rest).
    /// The adapter pins the length, so `proof ‖ junk` and truncated proofs never reach it.
    function test_RevertWhen_proofTruncatedOrExtended() public {
        PrefixRawVerifier prefix = new PrefixRawVerifier(abi.encodePacked(inputs, proof));
        ProofVerifierAdapter a = new ProofVerifierAdapter(address(prefix), 2, proof.length, VK, GAS_CAP);
        assertTrue(a.verifyProof(proof, inputs), "valid proof rejected");
        bytes memory junk = bytes.concat(proof, hex"00");
        (bool rawOk,) = address(prefix).staticcall(abi.encodePacked(inputs, junk));
        assertTrue(rawOk, "the raw verifier alone accepts proof || junk");
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.ProofLengthMismatch.selector, 35, 36));
        a.verifyProof(junk, inputs);
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.ProofLengthMismatch.selector, 35, 2));
        a.verifyProof(hex"0102", inputs);
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.ProofLengthMismatch.selector, 35, 0));
        a.verifyProof("", inputs);
    }

    function testFuzz_RevertWhen_proofLengthDiffers(bytes calldata p) public {
        vm.assume(p.length != proof.length);
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.ProofLengthMismatch.selector, 35, p.length));
        adapter.verifyProof(p, inputs);
    }

    function test_constructorRejectsZeroProofLength() public {
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.ZeroProofLength.selector));
        new ProofVerifierAdapter(address(raw), 2, 0, VK, GAS_CAP);
    }

    function test_rejectsChangedPublicInput() public view {
        uint256[] memory changed = inputs;
        changed[0] = 8;
        assertFalse(adapter.verifyProof(proof, changed), "changed input accepted");
    }

    function test_revertsOnWrongInputCount() public {
        uint256[] memory one = new uint256[](1);
        one[0] = 7;
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.PublicInputCountMismatch.selector, 2, 1));
        adapter.verifyProof(proof, one);
    }

    function test_revertsOnNonCanonicalInput() public {
        uint256[] memory big = inputs;
        big[0] = 7 + R; // ≡ 7 mod r: the raw verifier alone would accept it
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.PublicInputNotInField.selector, 0, 7 + R));
        adapter.verifyProof(proof, big);
    }

    function testFuzz_revertsOnAnyInputAtOrAboveModulus(uint256 x, bool second) public {
        vm.assume(x >= R);
        uint256[] memory big = inputs;
        uint256 i = second ? 1 : 0;
        big[i] = x;
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.PublicInputNotInField.selector, i, x));
        adapter.verifyProof(proof, big);
    }

    function testFuzz_canonicalInputsReachTheVerifier(uint256 a, uint256 b) public view {
        a = a % R;
        b = b % R;
        uint256[] memory xs = new uint256[](2);
        xs[0] = a;
        xs[1] = b;
        bool expected = (a == inputs[0] && b == inputs[1]);
        assertTrue(adapter.verifyProof(proof, xs) == expected, "canonical input mishandled");
    }

    function test_constructorRejectsAccountWithoutCode() public {
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.VerifierHasNoCode.selector, address(0xBEEF)));
        new ProofVerifierAdapter(address(0xBEEF), 2, 35, VK, GAS_CAP);
    }

    function test_constructorRejectsZeroGasLimit() public {
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.ZeroGasLimit.selector));
        new ProofVerifierAdapter(address(raw), 2, 35, VK, 0);
    }

    function test_codeRemovedAfterConstructionIsNotSuccess() public {
        vm.etch(address(raw), "");
        assertFalse(adapter.verifyProof(proof, inputs), "empty account counted as success");
    }

    function test_returnDataIsNotSuccess() public {
        ProofVerifierAdapter a = new ProofVerifierAdapter(address(new ReturnsTrueVerifier()), 2, 35, VK, GAS_CAP);
        assertFalse(a.verifyProof(proof, inputs), "non-empty return data counted as success");
    }

    function test_revertingVerifierIsFalse() public {
        ProofVerifierAdapter a = new ProofVerifierAdapter(address(new RevertingVerifier()), 2, 35, VK, GAS_CAP);
        assertFalse(a.verifyProof(proof, inputs), "revert counted as success");
    }

    function test_gasBurningVerifierIsCappedAndFalse() public {
        ProofVerifierAdapter a = new ProofVerifierAdapter(address(new GasBurningVerifier()), 2, 35, VK, GAS_CAP);
        uint256 before = gasleft();
        assertFalse(a.verifyProof(proof, inputs), "invalid() counted as success");
        assertTrue(before - gasleft() < GAS_CAP + 100_000, "gas cap not applied");
    }

    function test_starvedCallRevertsInsteadOfFalse() public {
        ProofVerifierAdapter a = new ProofVerifierAdapter(address(new GasBurningVerifier()), 2, 35, VK, GAS_CAP);
        vm.expectRevert(abi.encodeWithSelector(ProofVerifierAdapter.InsufficientGasForVerifier.selector, GAS_CAP));
        a.verifyProof{gas: GAS_CAP / 2}(proof, inputs);
    }
}
