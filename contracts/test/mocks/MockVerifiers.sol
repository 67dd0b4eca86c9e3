// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @dev Behaves like a generated raw verifier: accepts exactly `expected` calldata with empty
///      return data, reverts with empty data otherwise.
contract MockRawVerifier {
    bytes32 public immutable expectedHash;

    constructor(bytes memory expected) {
        expectedHash = keccak256(expected);
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        if (keccak256(input) != expectedHash) {
            assembly {
                revert(0, 0)
            }
        }
        assembly {
            return(0, 0)
        }
    }
}

/// @dev Like the generated verifier, reads its input at fixed offsets: accepts any calldata
///      that STARTS with `expected` (trailing bytes are never read).
contract PrefixRawVerifier {
    bytes32 public immutable expectedHash;
    uint256 public immutable expectedLength;

    constructor(bytes memory expected) {
        expectedHash = keccak256(expected);
        expectedLength = expected.length;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        if (input.length < expectedLength || keccak256(input[:expectedLength]) != expectedHash) {
            assembly {
                revert(0, 0)
            }
        }
        assembly {
            return(0, 0)
        }
    }
}

/// @dev Never reverts but returns data: must NOT count as success (the real verifier returns nothing).
contract ReturnsTrueVerifier {
    fallback(bytes calldata) external returns (bytes memory) {
        return abi.encode(true);
    }
}

/// @dev Always reverts.
contract RevertingVerifier {
    fallback(bytes calldata) external returns (bytes memory) {
        revert("no");
    }
}

/// @dev Burns all gas it is given (like a BN254 precompile fed an invalid point).
contract GasBurningVerifier {
    fallback(bytes calldata) external returns (bytes memory) {
        assembly {
            invalid()
        }
    }
}
