// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IProofVerifier} from "./interfaces/IProofVerifier.sol";
import {IVerifierRegistry} from "./interfaces/IVerifierRegistry.sol";

/// @title ImageProvenance
/// @notice Where a published image came from: signed captures and proven edits, as a tree of
///         image commitments (trustml's `H`, a Poseidon hash of the packed pixels) that anyone
///         walks from an image back to the capture a registered camera signed.
/// @dev Rules:
///      - a camera is a secp256k1 key the owner registers; {registerCapture} accepts `H_0` only
///        with that key's EIP-191 signature over {captureDigest}`(H_0)` (chain-independent: a
///        capture is a fact about the image, not about a deployment);
///      - an edit circuit is a circuit id of the {VerifierRegistry} (its verifier and vk pinned
///        there) that the owner names here with the edit it proves, e.g. "crop:0,0,640,480 of
///        1280x720x3"; its public inputs are `[H_in, H_out, params…]`;
///      - {submitEdit} records `child` under a recorded `parent` after the pinned verifier
///        accepts the proof for `[parent, child, params…]`, built here; the first record of a
///        hash is final (an image has one provenance);
///      - a deprecated circuit records no new edits; a revoked camera signs no new captures.
///        Neither rewrites history.
contract ImageProvenance is Ownable2Step {
    /// @notice How an image was recorded.
    struct Record {
        /// The image it was edited from (0 for a capture).
        uint256 parent;
        /// The edit circuit (0 for a capture).
        bytes32 circuitId;
        /// The camera that signed a capture (0 for an edit).
        address camera;
        /// Who recorded it.
        address submitter;
        /// When.
        uint64 recordedAt;
    }

    /// @notice Signed by cameras, with `H_0`: `keccak256(CAPTURE_TAG ‖ H_0)`, EIP-191 prefixed.
    bytes32 public constant CAPTURE_TAG = keccak256("trustml.img.capture.v1");
    /// @notice The BN254 scalar field's modulus: every image hash is below it.
    uint256 public constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @notice Longest walk {provenance} takes.
    uint256 public constant MAX_DEPTH = 256;

    /// @notice Where edit circuits' verifiers are pinned.
    IVerifierRegistry public immutable registry;

    mapping(address => bool) private _cameras;
    mapping(bytes32 => string) private _edits;
    mapping(uint256 => Record) private _records;
    mapping(uint256 => uint256[]) private _params;

    /// @notice `camera` may sign captures.
    event CameraRegistered(address indexed camera);
    /// @notice `camera` may no longer sign captures (its earlier ones stay).
    event CameraRevoked(address indexed camera);
    /// @notice `circuitId` proves `edit`.
    event EditCircuitAdded(bytes32 indexed circuitId, string edit);
    /// @notice A capture by `camera` was recorded.
    event CaptureRecorded(uint256 indexed imageHash, address indexed camera, address submitter);
    /// @notice `child` was proven to be `parent` edited by `circuitId` with `params`.
    event EditRecorded(
        uint256 indexed parent, uint256 indexed child, bytes32 indexed circuitId, uint256[] params, address submitter
    );

    /// @notice The signature is not by a registered camera (`recovered` signed it).
    error NotACamera(address recovered);
    /// @notice The camera is already registered.
    error CameraAlreadyRegistered(address camera);
    /// @notice The camera is not registered.
    error UnknownCamera(address camera);
    /// @notice `imageHash` already has a record.
    error AlreadyRecorded(uint256 imageHash);
    /// @notice `imageHash` has no record (an edit needs a recorded parent).
    error UnknownImage(uint256 imageHash);
    /// @notice `imageHash` is not a field element (or is zero).
    error InvalidImageHash(uint256 imageHash);
    /// @notice `circuitId` is not an edit circuit here, or is deprecated in the registry.
    error UnknownEditCircuit(bytes32 circuitId);
    /// @notice The circuit is already named.
    error EditCircuitAlreadyAdded(bytes32 circuitId);
    /// @notice The registry's circuit has fewer than two public inputs: not an edit circuit.
    error NotAnEditCircuit(bytes32 circuitId);
    /// @notice The edit takes `expected` parameters.
    error WrongParamCount(uint256 expected, uint256 given);
    /// @notice The proof does not verify for `[parent, child, params…]`.
    error InvalidProof();
    /// @notice {renounceOwnership} is disabled.
    error RenounceOwnershipDisabled();

    /// @param initialOwner The owner (registers cameras and names edit circuits).
    /// @param registry_    The registry pinning the edit circuits' verifiers.
    constructor(address initialOwner, IVerifierRegistry registry_) Ownable(initialOwner) {
        registry = registry_;
    }

    /// @notice Lets `camera` sign captures.
    function registerCamera(address camera) external onlyOwner {
        if (_cameras[camera]) revert CameraAlreadyRegistered(camera);
        _cameras[camera] = true;
        emit CameraRegistered(camera);
    }

    /// @notice Stops `camera` from signing new captures.
    function revokeCamera(address camera) external onlyOwner {
        if (!_cameras[camera]) revert UnknownCamera(camera);
        _cameras[camera] = false;
        emit CameraRevoked(camera);
    }

    /// @notice Names registry circuit `circuitId` as an edit circuit proving `edit`.
    function addEditCircuit(bytes32 circuitId, string calldata edit) external onlyOwner {
        IVerifierRegistry.Entry memory e = registry.get(circuitId);
        if (e.verifier == address(0)) revert UnknownEditCircuit(circuitId);
        if (e.numPublicInputs < 2) revert NotAnEditCircuit(circuitId);
        if (bytes(_edits[circuitId]).length != 0) revert EditCircuitAlreadyAdded(circuitId);
        _edits[circuitId] = edit;
        emit EditCircuitAdded(circuitId, edit);
    }

    /// @notice The digest a camera signs (EIP-191 `personal_sign` of `keccak256(CAPTURE_TAG ‖ H)`).
    function captureDigest(uint256 imageHash) public pure returns (bytes32) {
        // EIP-191 version 0x45 over a 32-byte message, as `personal_sign` and OpenZeppelin's
        // MessageHashUtils.toEthSignedMessageHash(bytes32) compute it (that library needs
        // Cancun's mcopy; this contract targets paris).
        bytes32 message = keccak256(abi.encodePacked(CAPTURE_TAG, imageHash));
        return keccak256(abi.encodePacked("\x19Ethereum Signed Message:\n32", message));
    }

    /// @notice Records a capture signed by a registered camera.
    function registerCapture(uint256 imageHash, bytes calldata signature) external {
        _checkHash(imageHash);
        address camera = ECDSA.recover(captureDigest(imageHash), signature);
        if (!_cameras[camera]) revert NotACamera(camera);
        if (_records[imageHash].recordedAt != 0) revert AlreadyRecorded(imageHash);
        _records[imageHash] = Record({
            parent: 0,
            circuitId: bytes32(0),
            camera: camera,
            submitter: msg.sender,
            recordedAt: SafeCast.toUint64(block.timestamp)
        });
        emit CaptureRecorded(imageHash, camera, msg.sender);
    }

    /// @notice Records `child` as `parent` edited by `circuitId` with `params`, once the pinned
    ///         verifier accepts `proof` for `[parent, child, params…]`.
    function submitEdit(
        uint256 parent,
        uint256 child,
        bytes32 circuitId,
        uint256[] calldata params,
        bytes calldata proof
    ) external {
        _checkHash(child);
        if (_records[parent].recordedAt == 0) revert UnknownImage(parent);
        if (_records[child].recordedAt != 0) revert AlreadyRecorded(child);
        if (bytes(_edits[circuitId]).length == 0) revert UnknownEditCircuit(circuitId);
        IVerifierRegistry.Entry memory e = registry.get(circuitId);
        if (e.deprecated) revert UnknownEditCircuit(circuitId);
        if (params.length + 2 != e.numPublicInputs) revert WrongParamCount(e.numPublicInputs - 2, params.length);
        uint256[] memory inputs = new uint256[](params.length + 2);
        inputs[0] = parent;
        inputs[1] = child;
        for (uint256 i = 0; i < params.length; ++i) {
            inputs[i + 2] = params[i];
        }
        // A view call: nothing is written before it, and it cannot re-enter a write.
        if (!IProofVerifier(e.verifier).verifyProof(proof, inputs)) revert InvalidProof();
        _records[child] = Record({
            parent: parent,
            circuitId: circuitId,
            camera: address(0),
            submitter: msg.sender,
            recordedAt: SafeCast.toUint64(block.timestamp)
        });
        _params[child] = params;
        emit EditRecorded(parent, child, circuitId, params, msg.sender);
    }

    /// @notice Disabled: always reverts {RenounceOwnershipDisabled}.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceOwnershipDisabled();
    }

    /// @notice Whether `camera` may sign captures.
    function isCamera(address camera) external view returns (bool) {
        return _cameras[camera];
    }

    /// @notice The edit `circuitId` proves ("" if it is not an edit circuit).
    function editOf(bytes32 circuitId) external view returns (string memory) {
        return _edits[circuitId];
    }

    /// @notice The record of `imageHash` (all zero if none) and its edit's parameters.
    function record(uint256 imageHash) external view returns (Record memory r, uint256[] memory params) {
        return (_records[imageHash], _params[imageHash]);
    }

    /// @notice The hashes from `imageHash` back to its capture (`imageHash` first) and the
    ///         camera that signed it. Reverts {UnknownImage} for an unrecorded image.
    function provenance(uint256 imageHash) external view returns (uint256[] memory chain, address camera) {
        uint256[] memory walk = new uint256[](MAX_DEPTH);
        uint256 n = 0;
        uint256 h = imageHash;
        while (n < MAX_DEPTH) {
            Record storage r = _records[h];
            if (r.recordedAt == 0) revert UnknownImage(h);
            walk[n++] = h;
            if (r.parent == 0) {
                camera = r.camera;
                break;
            }
            h = r.parent;
        }
        chain = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            chain[i] = walk[i];
        }
    }

    function _checkHash(uint256 imageHash) private pure {
        if (imageHash == 0 || imageHash >= FIELD_MODULUS) revert InvalidImageHash(imageHash);
    }
}
