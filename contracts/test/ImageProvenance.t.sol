// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {TestBase, Vm} from "./utils/TestBase.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";
import {ImageProvenance} from "../src/ImageProvenance.sol";
import {VerifierRegistry} from "../src/VerifierRegistry.sol";
import {HashVerifier} from "./mocks/MarketMocks.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @dev Shared set-up: a registry with a crop circuit (no parameters) and a contrast circuit
///      (one), both named in the provenance contract, and one registered camera.
abstract contract ProvenanceFixture is TestBase {
    bytes32 internal constant CROP = keccak256("img:crop:0,0,640,480:1280x720x3");
    bytes32 internal constant CONTRAST = keccak256("img:contrast:640x480x3");
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant CAMERA_KEY = 0xC0FFEE;

    VerifierRegistry internal registry;
    HashVerifier internal verifier;
    ImageProvenance internal prov;
    address internal camera;

    function setUp() public virtual {
        registry = new VerifierRegistry(address(this));
        verifier = new HashVerifier(keccak256("vk"));
        registry.register(CROP, address(verifier), keccak256("vk"), 2);
        registry.register(CONTRAST, address(verifier), keccak256("vk"), 3);
        prov = new ImageProvenance(address(this), registry);
        prov.addEditCircuit(CROP, "crop:0,0,640,480 of 1280x720x3");
        prov.addEditCircuit(CONTRAST, "contrast of 640x480x3");
        camera = vm.addr(CAMERA_KEY);
        prov.registerCamera(camera);
    }

    function sig(uint256 key, uint256 h) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, prov.captureDigest(h));
        return abi.encodePacked(r, s, v);
    }

    function proof(uint256 parent, uint256 child, uint256[] memory params) internal view returns (bytes memory) {
        uint256[] memory inputs = new uint256[](params.length + 2);
        inputs[0] = parent;
        inputs[1] = child;
        for (uint256 i = 0; i < params.length; ++i) {
            inputs[i + 2] = params[i];
        }
        return verifier.proofFor(inputs);
    }

    function one(uint256 p) internal pure returns (uint256[] memory a) {
        a = new uint256[](1);
        a[0] = p;
    }
}

contract ImageProvenanceTest is ProvenanceFixture {
    event CaptureRecorded(uint256 indexed imageHash, address indexed camera, address submitter);
    event EditRecorded(
        uint256 indexed parent, uint256 indexed child, bytes32 indexed circuitId, uint256[] params, address submitter
    );

    function test_captureThenTwoEdits_walkBackToTheCamera() public {
        bytes memory s = sig(CAMERA_KEY, 100);
        vm.expectEmit(true, true, false, true, address(prov));
        emit CaptureRecorded(100, camera, address(this));
        prov.registerCapture(100, s);
        uint256[] memory none = new uint256[](0);
        prov.submitEdit(100, 200, CROP, none, proof(100, 200, none));
        bytes memory p = proof(200, 300, one(384));
        vm.expectEmit(true, true, true, true, address(prov));
        emit EditRecorded(200, 300, CONTRAST, one(384), address(0xBEEF));
        vm.prank(address(0xBEEF));
        prov.submitEdit(200, 300, CONTRAST, one(384), p);

        (uint256[] memory chain, address cam) = prov.provenance(300);
        assertEq(chain.length, 3, "three images");
        assertEq(chain[0], 300, "newest first");
        assertEq(chain[1], 200, "then the crop");
        assertEq(chain[2], 100, "then the capture");
        assertEq(cam, camera, "signed by the camera");
        (ImageProvenance.Record memory r, uint256[] memory params) = prov.record(300);
        assertEq(r.parent, 200, "parent");
        assertEq(r.circuitId, CONTRAST, "circuit");
        assertEq(r.submitter, address(0xBEEF), "submitter");
        assertEq(params, one(384), "params");
    }

    function test_registerCapture_revertsWithoutARegisteredCamera() public {
        uint256 other = 0xBAD;
        bytes memory bad = sig(other, 100);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.NotACamera.selector, vm.addr(other)));
        prov.registerCapture(100, bad);
        // A camera's signature over another hash recovers another address.
        bytes memory s = sig(CAMERA_KEY, 101);
        address recovered = ECDSA.recover(prov.captureDigest(100), s);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.NotACamera.selector, recovered));
        prov.registerCapture(100, s);
    }

    function test_registerCapture_revertsAfterRevocationAndOnRepeat() public {
        bytes memory s100 = sig(CAMERA_KEY, 100);
        prov.registerCapture(100, s100);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.AlreadyRecorded.selector, 100));
        prov.registerCapture(100, s100);
        prov.revokeCamera(camera);
        bytes memory s101 = sig(CAMERA_KEY, 101);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.NotACamera.selector, camera));
        prov.registerCapture(101, s101);
        // Its earlier capture stays.
        (, address cam) = prov.provenance(100);
        assertEq(cam, camera, "history kept");
    }

    function test_registerCapture_revertsOnHashesOutsideTheField() public {
        bytes memory sr = sig(CAMERA_KEY, R);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.InvalidImageHash.selector, R));
        prov.registerCapture(R, sr);
        bytes memory s0 = sig(CAMERA_KEY, 0);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.InvalidImageHash.selector, 0));
        prov.registerCapture(0, s0);
    }

    function test_submitEdit_revertsOnEveryBadInput() public {
        prov.registerCapture(100, sig(CAMERA_KEY, 100));
        uint256[] memory none = new uint256[](0);
        bytes memory good = proof(100, 200, none);
        // Unknown parent.
        bytes memory p = proof(99, 200, none);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.UnknownImage.selector, 99));
        prov.submitEdit(99, 200, CROP, none, p);
        // A proof of another child, another parameter, or another circuit's parameter count.
        p = proof(100, 201, none);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.InvalidProof.selector));
        prov.submitEdit(100, 200, CROP, none, p);
        p = proof(100, 200, one(385));
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.InvalidProof.selector));
        prov.submitEdit(100, 200, CONTRAST, one(384), p);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.WrongParamCount.selector, 1, 0));
        prov.submitEdit(100, 200, CONTRAST, none, good);
        // Unknown circuit.
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.UnknownEditCircuit.selector, bytes32(uint256(7))));
        prov.submitEdit(100, 200, bytes32(uint256(7)), none, good);
        // Recorded child.
        prov.submitEdit(100, 200, CROP, none, good);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.AlreadyRecorded.selector, 200));
        prov.submitEdit(100, 200, CROP, none, good);
        // Deprecated circuit.
        registry.deprecate(CROP);
        p = proof(200, 300, none);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.UnknownEditCircuit.selector, CROP));
        prov.submitEdit(200, 300, CROP, none, p);
    }

    function test_adminCalls_areOwnerOnlyAndChecked() public {
        vm.prank(address(0xBEEF));
        vm.expectRevert();
        prov.registerCamera(address(1));
        vm.prank(address(0xBEEF));
        vm.expectRevert();
        prov.addEditCircuit(bytes32(uint256(9)), "x");
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.CameraAlreadyRegistered.selector, camera));
        prov.registerCamera(camera);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.UnknownCamera.selector, address(1)));
        prov.revokeCamera(address(1));
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.EditCircuitAlreadyAdded.selector, CROP));
        prov.addEditCircuit(CROP, "again");
        bytes32 one_ = keccak256("one input");
        registry.register(one_, address(verifier), keccak256("vk"), 1);
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.NotAnEditCircuit.selector, one_));
        prov.addEditCircuit(one_, "not an edit");
        vm.expectRevert(abi.encodeWithSelector(ImageProvenance.RenounceOwnershipDisabled.selector));
        prov.renounceOwnership();
    }

    function testFuzz_captureAcceptsExactlyRegisteredKeys(uint256 key, uint256 h) public {
        key = bound(key, 1, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140);
        h = bound(h, 1, R - 1);
        address a = vm.addr(key);
        bytes memory s = sig(key, h);
        if (a != camera) {
            vm.expectRevert(abi.encodeWithSelector(ImageProvenance.NotACamera.selector, a));
            prov.registerCapture(h, s);
            prov.registerCamera(a);
        }
        prov.registerCapture(h, s);
        (, address cam) = prov.provenance(h);
        assertEq(cam, a, "the signer");
    }

    function testFuzz_submitEdit_bindsEveryPublicInput(uint256 which, uint256 delta) public {
        prov.registerCapture(100, sig(CAMERA_KEY, 100));
        delta = bound(delta, 1, 1000);
        which = bound(which, 0, 2);
        uint256[3] memory good = [uint256(100), 200, 384];
        uint256[3] memory bad = [good[0], good[1], good[2]];
        bad[which] += delta;
        // The proof is for `good`; the call claims `bad` (the contract rebuilds the inputs).
        bytes memory p = proof(good[0], good[1], one(good[2]));
        if (which == 0) {
            vm.expectRevert(abi.encodeWithSelector(ImageProvenance.UnknownImage.selector, bad[0]));
        } else {
            vm.expectRevert(abi.encodeWithSelector(ImageProvenance.InvalidProof.selector));
        }
        prov.submitEdit(bad[0], bad[1], CONTRAST, one(bad[2]), p);
        prov.submitEdit(good[0], good[1], CONTRAST, one(good[2]), p);
    }
}

/// @dev Random captures and edits; the ghost state is each recorded image's parent (0 for
///      captures), kept here, never read from the contract.
contract ProvenanceHandler is TestBase {
    ImageProvenance internal immutable prov;
    HashVerifier internal immutable verifier;
    bytes32 internal immutable circuit;
    uint256 internal immutable cameraKey;

    uint256[] public images;
    mapping(uint256 => uint256) public ghostParent;
    mapping(uint256 => bool) public ghostRecorded;
    uint256 public rejected;

    constructor(ImageProvenance prov_, HashVerifier verifier_, bytes32 circuit_, uint256 cameraKey_) {
        prov = prov_;
        verifier = verifier_;
        circuit = circuit_;
        cameraKey = cameraKey_;
    }

    function imageCount() external view returns (uint256) {
        return images.length;
    }

    function capture(uint256 h, bool forged) external {
        h = bound(h, 1, 1 << 40);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(forged ? cameraKey + 1 : cameraKey, prov.captureDigest(h));
        bool ok = !forged && !ghostRecorded[h];
        try prov.registerCapture(h, abi.encodePacked(r, s, v)) {
            require(ok, "a capture the model refuses was recorded");
            ghostRecorded[h] = true;
            images.push(h);
        } catch {
            require(!ok, "a capture the model accepts was refused");
            rejected++;
        }
    }

    function edit(uint256 parentIndex, uint256 child, bool tampered) external {
        if (images.length == 0) return;
        uint256 parent = images[parentIndex % images.length];
        child = bound(child, 1, 1 << 40);
        uint256[] memory inputs = new uint256[](2);
        inputs[0] = parent;
        inputs[1] = child;
        bytes memory p = verifier.proofFor(inputs);
        if (tampered) p[0] ^= 0x01;
        bool ok = !tampered && !ghostRecorded[child];
        try prov.submitEdit(parent, child, circuit, new uint256[](0), p) {
            require(ok, "an edit the model refuses was recorded");
            ghostRecorded[child] = true;
            ghostParent[child] = parent;
            images.push(child);
        } catch {
            require(!ok, "an edit the model accepts was refused");
            rejected++;
        }
    }
}

/// forge-config: default.invariant.runs = 64
/// forge-config: default.invariant.depth = 48
/// forge-config: default.invariant.fail-on-revert = true
contract ImageProvenanceInvariantTest is ProvenanceFixture, InvariantBase {
    ProvenanceHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new ProvenanceHandler(prov, verifier, CROP, CAMERA_KEY);
        targetContract(address(handler));
    }

    /// Every recorded image walks back, parent by parent as the ghost says, to a capture by
    /// the camera.
    function invariant_everyImageWalksBackToTheCamera() public view {
        uint256 n = handler.imageCount();
        for (uint256 i = 0; i < n; ++i) {
            uint256 h = handler.images(i);
            (uint256[] memory chain, address cam) = prov.provenance(h);
            assertEq(cam, camera, "ends at the camera");
            for (uint256 j = 0; j + 1 < chain.length; ++j) {
                assertEq(handler.ghostParent(chain[j]), chain[j + 1], "parents as recorded");
            }
            assertEq(handler.ghostParent(chain[chain.length - 1]), 0, "ends at a capture");
        }
    }
}
