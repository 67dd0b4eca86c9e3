// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.20;

/// @dev The target/exclude configuration forge's invariant runner reads from a test contract
///      (the same external view functions and return types forge-std's StdInvariant exposes;
///      forge calls them by selector after setUp). Only the subset these tests need can be
///      set; the rest return empty arrays, which forge treats as "no restriction".
abstract contract InvariantBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    struct FuzzArtifactSelector {
        string artifact;
        bytes4[] selectors;
    }

    struct FuzzInterface {
        address addr;
        string[] artifacts;
    }

    address[] private _targetContracts;
    address[] private _targetSenders;
    address[] private _excludeContracts;
    address[] private _excludeSenders;
    FuzzSelector[] private _targetSelectors;

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function targetSender(address sender) internal {
        _targetSenders.push(sender);
    }

    function excludeContract(address target) internal {
        _excludeContracts.push(target);
    }

    function excludeSender(address sender) internal {
        _excludeSenders.push(sender);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetSelectors.push(selector);
    }

    // ---- read by forge

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetSenders;
    }

    function excludeContracts() public view returns (address[] memory) {
        return _excludeContracts;
    }

    function excludeSenders() public view returns (address[] memory) {
        return _excludeSenders;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    function excludeSelectors() public pure returns (FuzzSelector[] memory none) {}

    function targetArtifacts() public pure returns (string[] memory none) {}

    function excludeArtifacts() public pure returns (string[] memory none) {}

    function targetArtifactSelectors() public pure returns (FuzzArtifactSelector[] memory none) {}

    function targetInterfaces() public pure returns (FuzzInterface[] memory none) {}
}
