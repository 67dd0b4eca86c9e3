//! The committed artifacts are what `forge build` makes of `contracts/src` today: a fresh
//! build into a temporary directory, trimmed the same way, must equal them byte for byte.
//! `TRUSTML_BLESS=1 cargo test -p trustml-chain --test artifacts` rewrites them.
//! Without node_modules (no forge) the check is skipped with a note, except in CI.

use std::path::{Path, PathBuf};
use std::process::Command;
use trustml_chain::bindings::ARTIFACTS;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `{abi, bytecode.object, deployedBytecode.object}` of a forge artifact, pretty-printed.
fn trim(forge_json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(forge_json).expect("forge artifact JSON");
    let t = serde_json::json!({
        "abi": v["abi"],
        "bytecode": {"object": v["bytecode"]["object"]},
        "deployedBytecode": {"object": v["deployedBytecode"]["object"]},
    });
    serde_json::to_string_pretty(&t).unwrap() + "\n"
}

#[test]
fn artifacts_match_a_fresh_forge_build() {
    let root = repo_root();
    let forge = root.join("node_modules/.bin/forge");
    if !forge.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run `npm ci` first: node_modules/.bin/forge is missing"
        );
        println!("NOTE: no forge in node_modules (run `npm ci`); artifact check skipped");
        return;
    }
    let out = tempfile_dir();
    let status = Command::new(&forge)
        .args(["build", "--out"])
        .arg(&out)
        .current_dir(root.join("contracts"))
        .status()
        .expect("running forge");
    assert!(status.success(), "forge build failed");
    let bless = std::env::var("TRUSTML_BLESS").is_ok_and(|v| v == "1");
    for (name, committed) in ARTIFACTS {
        let fresh = std::fs::read_to_string(out.join(format!("{name}.sol/{name}.json")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let fresh = trim(&fresh);
        if bless {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("artifacts/{name}.json"));
            std::fs::write(&p, &fresh).unwrap();
        } else {
            assert!(
                fresh == *committed,
                "contracts/chain/artifacts/{name}.json is stale: run \
                 `TRUSTML_BLESS=1 cargo test -p trustml-chain --test artifacts` and rebuild"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

fn tempfile_dir() -> PathBuf {
    let p = std::env::temp_dir().join(format!("trustml-forge-out-{}", std::process::id()));
    std::fs::create_dir_all(&p).unwrap();
    p
}
