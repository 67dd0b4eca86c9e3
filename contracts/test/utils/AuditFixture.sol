// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {TestBase} from "./TestBase.sol";
import {AuditModelRegistry} from "../../src/AuditModelRegistry.sol";
import {AuditEscrow} from "../../src/AuditEscrow.sol";
import {IAuditEscrow} from "../../src/interfaces/IAuditEscrow.sol";
import {HashVerifier} from "../mocks/MarketMocks.sol";

/// @dev Shared deployment for audit tests: a registry with one audit circuit (b = 4, d = 10)
///      backed by a {HashVerifier}, one model registered by PROVIDER, and the escrow. Expected
///      seeds, commitments and public inputs are computed here, independently of the contract.
abstract contract AuditFixture is TestBase {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    bytes32 internal constant CIRCUIT_ID = keccak256("audit/digits/b4/d10");
    bytes32 internal constant AUDIT_VK = keccak256("audit vk");
    uint32 internal constant B = 4;
    uint8 internal constant D = 10;

    uint256 internal constant C_W = 0xC0FFEE;
    uint256 internal constant R_D = 0xDA7A;
    uint256 internal constant N_DATA = 1000;
    uint64 internal constant N_SAMPLES = 10; // m = 3 batches, m·b = 12
    uint64 internal constant M = 3;
    uint64 internal constant THETA_NUM = 9;
    uint64 internal constant THETA_DEN = 10; // pass iff total ≥ 10.8, i.e. ≥ 11 of 12
    uint256 internal constant BOUNTY = 10 ether;
    uint256 internal constant FEE = 1 ether;
    uint256 internal constant BOND = 2 ether;
    uint256 internal constant ACCEPT_IN = 1 days;
    uint64 internal constant PROVE_WINDOW = 2 days;
    uint256 internal constant T0 = 1_700_000_000;
    uint256 internal constant B0 = 1_000;

    address internal constant PROVIDER = address(0x9807);
    address internal constant REQUESTER = address(0x8E0);
    address internal constant STRANGER = address(0x57A4);
    bytes32 internal constant SECRET = keccak256("requester secret");
    bytes32 internal constant SHARE = keccak256("provider share");

    AuditModelRegistry internal registry;
    HashVerifier internal verifier;
    AuditEscrow internal escrow;
    uint256 internal modelId;
    /// @dev Block of each audit's accept, recorded by {doAccept}.
    mapping(uint256 => uint256) internal acceptBlockOf;

    function setUp() public virtual {
        vm.warp(T0);
        vm.roll(B0);
        registry = new AuditModelRegistry(address(this));
        verifier = new HashVerifier(AUDIT_VK);
        registry.registerCircuit(CIRCUIT_ID, address(verifier), AUDIT_VK, B, D);
        vm.prank(PROVIDER);
        modelId = registry.registerModel(CIRCUIT_ID, C_W);
        escrow = new AuditEscrow(address(registry));
    }

    // ---------------------------------------------------------------- formulas, written out

    function commitmentOf(address requester, bytes32 secret) internal pure returns (bytes32) {
        return keccak256(abi.encode(requester, secret));
    }

    function seedFor(AuditEscrow e, uint256 auditId, bytes32 secret, bytes32 share, bytes32 blockHash)
        internal
        view
        returns (uint256)
    {
        return uint256(keccak256(abi.encode(block.chainid, address(e), auditId, secret, share, blockHash))) % R;
    }

    /// @dev The seed audit `auditId` of {escrow} gets when revealed with SECRET and SHARE.
    function expectedSeed(uint256 auditId) internal view returns (uint256) {
        return seedFor(escrow, auditId, SECRET, SHARE, blockhash(acceptBlockOf[auditId] + 1));
    }

    function inputs(uint256 cw, uint256 rd, uint256 n, uint256 seed, uint256 j0, uint256 count)
        internal
        pure
        returns (uint256[] memory xs)
    {
        xs = new uint256[](6);
        xs[0] = cw;
        xs[1] = rd;
        xs[2] = n;
        xs[3] = seed;
        xs[4] = j0;
        xs[5] = count;
    }

    /// @dev The only proof {HashVerifier}(vk) accepts for `xs`.
    function proofFor(bytes32 vk, uint256[] memory xs) internal pure returns (bytes memory) {
        return abi.encode(keccak256(abi.encode(vk, xs)));
    }

    /// @dev A valid proof of batch `batchIdx` with `count` for the default terms and `seed`.
    function batchProof(uint256 seed, uint256 batchIdx, uint256 count) internal pure returns (bytes memory) {
        return proofFor(AUDIT_VK, inputs(C_W, R_D, N_DATA, seed, batchIdx * B, count));
    }

    // ---------------------------------------------------------------- steps

    function defaultTerms() internal view returns (IAuditEscrow.AuditTerms memory t) {
        t.modelId = modelId;
        t.datasetRoot = R_D;
        t.datasetSize = N_DATA;
        t.numSamples = N_SAMPLES;
        t.thetaNum = THETA_NUM;
        t.thetaDen = THETA_DEN;
        t.fee = FEE;
        t.providerBond = BOND;
        t.acceptDeadline = u64(block.timestamp + ACCEPT_IN);
        t.proveWindow = PROVE_WINDOW;
        t.seedCommitment = commitmentOf(REQUESTER, SECRET);
    }

    function create(IAuditEscrow.AuditTerms memory t, uint256 bounty) internal returns (uint256 id) {
        vm.deal(REQUESTER, REQUESTER.balance + bounty);
        vm.prank(REQUESTER);
        id = escrow.createAudit{value: bounty}(t);
    }

    function createDefault() internal returns (uint256) {
        return create(defaultTerms(), BOUNTY);
    }

    function doAccept(uint256 id, uint256 bond) internal {
        vm.deal(PROVIDER, PROVIDER.balance + bond);
        vm.prank(PROVIDER);
        escrow.accept{value: bond}(id, SHARE);
        acceptBlockOf[id] = block.number;
    }

    /// @dev Mines past the seed's block (acceptBlock + 1), then reveals SECRET.
    function doReveal(uint256 id) internal returns (uint256 seed) {
        vm.roll(acceptBlockOf[id] + 2);
        seed = expectedSeed(id);
        vm.prank(REQUESTER);
        escrow.revealSeed(id, SECRET);
    }

    /// @dev Creates, accepts and reveals the default audit; returns its id and seed.
    function toProving() internal returns (uint256 id, uint256 seed) {
        id = createDefault();
        doAccept(id, BOND);
        seed = doReveal(id);
    }

    function submit(uint256 id, uint256 seed, uint256 batchIdx, uint256 count) internal {
        bytes memory proof = batchProof(seed, batchIdx, count);
        vm.prank(STRANGER);
        escrow.submitBatch(id, batchIdx, count, proof);
    }

    /// @dev Proves every batch of a default audit with these counts (length M).
    function submitAll(uint256 id, uint256 seed, uint256[3] memory counts) internal {
        for (uint256 i = 0; i < M; ++i) {
            submit(id, seed, i, counts[i]);
        }
    }
}
