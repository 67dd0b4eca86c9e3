// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @dev The few forge cheatcodes these tests use (forge-std is not vendored).
///      Cheatcode contract address: 0x7109709ECfa91a80626fF3989D68f67F5b1DD12D.
interface Vm {
    function expectRevert(bytes calldata revertData) external;
    function expectRevert() external;
    function assume(bool condition) external pure;
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    function prank(address msgSender) external;
    function startPrank(address msgSender) external;
    function stopPrank() external;
    function deal(address account, uint256 newBalance) external;
    function warp(uint256 newTimestamp) external;
    function chainId(uint256 newChainId) external;
    /// @dev Checks topic 1, topic 2, topic 3 and data of the next event against the one emitted next here.
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
    function label(address account, string calldata newLabel) external;
    function roll(uint256 newHeight) external;
    function setBlockhash(uint256 blockNumber, bytes32 blockHash) external;
    function expectCall(address callee, bytes calldata data) external;
    function expectCall(address callee, bytes calldata data, uint64 count) external;
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external pure returns (address);
}

/// @dev Minimal assertion helpers in place of forge-std's Test.
abstract contract TestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function assertTrue(bool c, string memory what) internal pure {
        require(c, what);
    }

    function assertFalse(bool c, string memory what) internal pure {
        require(!c, what);
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        require(a == b, what);
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        require(a == b, what);
    }

    function assertEq(address a, address b, string memory what) internal pure {
        require(a == b, what);
    }

    function assertEq(bool a, bool b, string memory what) internal pure {
        require(a == b, what);
    }

    function assertEq(uint256[] memory a, uint256[] memory b, string memory what) internal pure {
        require(keccak256(abi.encode(a)) == keccak256(abi.encode(b)), what);
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        require(a <= b, what);
    }

    function assertGe(uint256 a, uint256 b, string memory what) internal pure {
        require(a >= b, what);
    }

    /// @dev `x` as a uint64 (deadlines in expected events and errors), checked.
    function u64(uint256 x) internal pure returns (uint64) {
        require(x <= type(uint64).max, "u64: overflow");
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(x);
    }

    /// @dev Maps any `x` into [min, max] (inclusive): values already inside are kept,
    ///      others wrap around by modular arithmetic. Requires min ≤ max.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }
}
