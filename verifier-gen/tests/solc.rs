//! The solcjs shim as verifier-gen uses it.

use verifier_gen::solc::Solc;

#[test]
fn shim_reports_a_native_style_version() {
    let v = Solc::find().unwrap().version().unwrap();
    assert!(v.starts_with("0.8.") && v.contains("+commit."), "{v}");
}

#[test]
fn adapter_compiles_to_nonempty_code() {
    // A real two-file project through the shim (the chain crate deploys forge's build).
    let a = Solc::find()
        .unwrap()
        .compile(
            &[
                (
                    "src/ProofVerifierAdapter.sol",
                    include_str!("../../contracts/src/ProofVerifierAdapter.sol"),
                ),
                (
                    "src/interfaces/IProofVerifier.sol",
                    include_str!("../../contracts/src/interfaces/IProofVerifier.sol"),
                ),
            ],
            "src/ProofVerifierAdapter.sol",
            "ProofVerifierAdapter",
        )
        .unwrap();
    assert!(!a.runtime.is_empty() && a.creation.len() > a.runtime.len());
}

#[test]
fn compile_errors_are_errors_not_empty_bytecode() {
    let solc = Solc::find().unwrap();
    let e = solc
        .compile(
            &[(
                "Bad.sol",
                "pragma solidity ^0.8.19; contract Bad { function f( }",
            )],
            "Bad.sol",
            "Bad",
        )
        .unwrap_err();
    assert!(e.to_string().contains("ParserError"), "{e}");
    // An interface compiles to empty bytecode: must be refused, never deployed.
    let e = solc
        .compile(
            &[(
                "I.sol",
                "pragma solidity ^0.8.19; interface I { function f() external; }",
            )],
            "I.sol",
            "I",
        )
        .unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
}
