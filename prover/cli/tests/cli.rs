//! The `trustml` binary as a user runs it: exit codes and messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn trustml(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustml"))
        .args(args)
        .output()
        .expect("run trustml")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name)
        .display()
        .to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `trustml compile` of the digits MLP into `dir` (default visibilities, unless `extra` flags).
fn compile_mlp(dir: &str, extra: &[&str]) {
    let (onnx, cal) = (
        fixture("digits_mlp.onnx"),
        fixture("digits_calibration.json"),
    );
    let mut args = vec!["compile", &onnx, "--calibrate", &cal, "-o", dir];
    args.extend_from_slice(extra);
    let o = trustml(&args);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn whole_flow_and_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mlp");
    let d = dir.to_str().unwrap();
    compile_mlp(d, &[]);
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("settings.json")).unwrap()).unwrap();
    let k = settings["k"].as_u64().unwrap().to_string();
    let srs: PathBuf = tmp.path().join("dev.srs");
    let o = trustml(&[
        "srs",
        "gen",
        "--k",
        &k,
        "-o",
        srs.to_str().unwrap(),
        "--seed",
        "5",
    ]);
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("INSECURE"),
        "a dev SRS must be labelled insecure"
    );
    let o = trustml(&["setup", d, "--srs", srs.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("INSECURE"));
    let o = trustml(&["prove", d, &fixture("digits_mlp.input.json")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let proof = dir.join("proof.json");
    let o = trustml(&["verify", d, proof.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = trustml(&["inspect", d]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("k  "));

    // A changed public output: exit 1, "INVALID".
    let mut pf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    pf["instances"][0] = serde_json::Value::String(format!("0x{:064x}", 12345));
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, pf.to_string()).unwrap();
    let o = trustml(&["verify", d, bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("INVALID"));

    // A valid proof whose readable output was edited: refused (exit 2), not "valid".
    let mut pf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).unwrap()).unwrap();
    pf["outputs"][0]["values"][3] = serde_json::json!(99.0);
    std::fs::write(&bad, pf.to_string()).unwrap();
    let o = trustml(&["verify", d, bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("readable outputs"), "{}", stderr(&o));

    // An input of the wrong size: exit 2 naming the problem; the old proof is untouched.
    let short = tmp.path().join("short.json");
    std::fs::write(&short, r#"{"input_data": [[0.5, 0.25]]}"#).unwrap();
    let before = std::fs::read(&proof).unwrap();
    let o = trustml(&["prove", d, short.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("64 values"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&proof).unwrap(), before);

    // Recompiled with other settings: the old keys are refused and the CLI says what to run.
    compile_mlp(d, &["--input-visibility", "public"]);
    let o = trustml(&["prove", d, &fixture("digits_mlp.input.json")]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("other circuit settings") && e.contains("hint: run `trustml setup"),
        "{e}"
    );
}

#[test]
fn bad_files_give_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage = tmp.path().join("garbage.onnx");
    std::fs::write(&garbage, b"this is not a protobuf \xff\xfe").unwrap();
    let out = tmp.path().join("x");
    let o = trustml(&[
        "compile",
        garbage.to_str().unwrap(),
        "--calibrate",
        &fixture("digits_calibration.json"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.starts_with("error:") && !e.contains("panicked"), "{e}");

    let bad_json = tmp.path().join("bad.json");
    std::fs::write(&bad_json, "{\"input_data\": [[1, 2,").unwrap();
    let o = trustml(&[
        "compile",
        &fixture("digits_mlp.onnx"),
        "--calibrate",
        bad_json.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("input_data"), "{}", stderr(&o));

    let o = trustml(&["verify", out.to_str().unwrap(), "nope.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("settings.json"), "{}", stderr(&o));
}

/// Marketplace commands refuse what cannot work, saying what to do, and write nothing.
#[test]
fn prompt_commands_refuse_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mlp");
    let d = dir.to_str().unwrap();
    compile_mlp(d, &[]);
    // A model with a private input and a public output cannot back a listing.
    let o = trustml(&[
        "prompt",
        "prove-listing",
        d,
        &fixture("digits_mlp.input.json"),
        "--seller",
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not compiled for listings") && stderr(&o).contains("--listing"),
        "{}",
        stderr(&o)
    );
    // A seller that is not an address.
    let o = trustml(&[
        "prompt",
        "prove-listing",
        d,
        &fixture("digits_mlp.input.json"),
        "--seller",
        "alice",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is not an address"), "{}", stderr(&o));
    assert!(!dir.join("listing.json").exists());
    assert!(!dir.join("listing.secret.json").exists());
    // Delivery circuits: 1..=MAX_BLOCKS blocks, checked before anything is read or written.
    let deliv = tmp.path().join("deliv");
    for blocks in ["0", "100000"] {
        let o = trustml(&[
            "prompt",
            "setup-delivery",
            deliv.to_str().unwrap(),
            "--blocks",
            blocks,
            "--srs",
            "missing.srs",
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("prompt blocks"), "{}", stderr(&o));
        assert!(!deliv.exists());
    }
    // A buyer key that is not a Baby Jubjub point.
    let key = tmp.path().join("bad-key.json");
    std::fs::write(&key, r#"{"x": "0x01", "y": "0x02"}"#).unwrap();
    let secret = tmp.path().join("s.json");
    std::fs::write(&secret, "{}").unwrap();
    let o = trustml(&[
        "prompt",
        "prove-delivery",
        deliv.to_str().unwrap(),
        "--secret",
        secret.to_str().unwrap(),
        "--buyer-key",
        key.to_str().unwrap(),
        "--order",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("Baby Jubjub"), "{}", stderr(&o));
    // Keys are never overwritten.
    let k = tmp.path().join("buyer.json");
    assert!(trustml(&["prompt", "keygen", "-o", k.to_str().unwrap()])
        .status
        .success());
    let before = std::fs::read(&k).unwrap();
    let o = trustml(&["prompt", "keygen", "-o", k.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(&k).unwrap(), before);
    // A delivery proof is bound to an order of a deployment: without market.json (or
    // --chain-id with --marketplace) there is no order tag to prove for.
    let prove_delivery = |extra: &[&str]| {
        let mut args = vec![
            "prompt",
            "prove-delivery",
            deliv.to_str().unwrap(),
            "--secret",
            secret.to_str().unwrap(),
            "--buyer-key",
            k.to_str().unwrap(),
            "--order",
            "1",
        ];
        args.extend_from_slice(extra);
        trustml(&args)
    };
    let missing = tmp.path().join("market.json");
    let o = prove_delivery(&["--market", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("market deploy"), "{}", stderr(&o));
    let o = prove_delivery(&["--chain-id", "31337"]);
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("--marketplace"), "{}", stderr(&o));
    let o = prove_delivery(&["--chain-id", "31337", "--marketplace", "0x12"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("bad address"), "{}", stderr(&o));
}
