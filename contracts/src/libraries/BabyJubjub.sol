// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @title BabyJubjub
/// @notice Cheap sanity checks on Baby Jubjub points (EIP-2494 twisted Edwards form
///         a·x² + y² = 1 + d·x²·y² over the BN254 scalar field, a = 168700, d = 168696).
/// @dev Used by {PromptMarketplace} on a buyer's public key. Full prime-order-subgroup
///      membership ([l]·P = O) is NOT checked here (≈ 250 doublings); rejecting the points
///      of small order (those with [8]·P = O, including the identity) is enough to rule out
///      keys for which an encryption's shared secret takes one of at most 8 public values.
library BabyJubjub {
    /// @notice The BN254 scalar field modulus r (Baby Jubjub's base field).
    uint256 internal constant Q = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant A = 168700;
    uint256 internal constant D = 168696;

    /// @notice True iff (x, y) are canonical field elements (< Q) on the curve.
    function isOnCurve(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= Q || y >= Q) return false;
        uint256 x2 = mulmod(x, x, Q);
        uint256 y2 = mulmod(y, y, Q);
        uint256 lhs = addmod(mulmod(A, x2, Q), y2, Q);
        uint256 rhs = addmod(1, mulmod(mulmod(D, x2, Q), y2, Q), Q);
        return lhs == rhs;
    }

    /// @notice True iff the on-curve point (x, y) has order dividing the cofactor 8
    ///         (the identity (0, 1) included). Undefined for points not on the curve.
    /// @dev Three projective doublings (dbl-2008-bbjlp; complete on Baby Jubjub because a is
    ///      a square and d is not), then compares with the identity (X = 0, Y = Z).
    function hasSmallOrder(uint256 x, uint256 y) internal pure returns (bool) {
        uint256 X = x;
        uint256 Y = y;
        uint256 Z = 1;
        for (uint256 i = 0; i < 3; ++i) {
            uint256 b = mulmod(addmod(X, Y, Q), addmod(X, Y, Q), Q);
            uint256 c = mulmod(X, X, Q);
            uint256 d = mulmod(Y, Y, Q);
            uint256 e = mulmod(A, c, Q);
            uint256 f = addmod(e, d, Q);
            uint256 h = mulmod(Z, Z, Q);
            uint256 j = addmod(f, Q - addmod(h, h, Q), Q);
            X = mulmod(addmod(b, Q - addmod(c, d, Q), Q), j, Q);
            Y = mulmod(f, addmod(e, Q - d, Q), Q);
            Z = mulmod(f, j, Q);
        }
        return X == 0 && Y == Z;
    }
}
