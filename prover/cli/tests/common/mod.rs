//! What the CLI tests share: the repository root and running `trustml`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trustml"))
        .args(args)
        .output()
        .expect("run trustml")
}

/// Runs `trustml`; panics with its stderr on failure; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs `trustml`, expects a failure whose output mentions `what`.
pub fn fails(args: &[&str], what: &str) {
    let o = run(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{args:?} succeeded: {text}");
    assert!(
        text.contains(what),
        "{args:?}: expected {what:?} in: {text}"
    );
    assert!(!text.contains("panicked"), "{args:?} panicked: {text}");
}
