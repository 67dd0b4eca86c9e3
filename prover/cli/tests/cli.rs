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

/// `trustml audit`: a dataset committed in the model's input format (public or salted, the
/// salts never overwritten), the Hoeffding sample size, the indices a seed selects.
#[test]
fn audit_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mlp");
    let d = dir.to_str().unwrap();
    compile_mlp(d, &["--weights-visibility", "hashed"]);
    let data = fixture("digits_test.json");
    let n = serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&data).unwrap())
        .unwrap()["labels"]
        .as_array()
        .unwrap()
        .len();
    let out = tmp.path().join("public");
    let o = trustml(&[
        "audit",
        "commit-dataset",
        &data,
        "--model",
        d,
        "-o",
        out.to_str().unwrap(),
        "--public",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("dataset.json")).unwrap()).unwrap();
    assert_eq!(c["size"].as_u64().unwrap() as usize, n);
    assert_eq!(c["leaves"].as_array().unwrap().len(), n);
    assert!(c["public"].as_bool().unwrap());
    assert!(!out.join("dataset.secret.json").exists());
    // Public: anyone recomputes the same root.
    let again = tmp.path().join("again");
    let o = trustml(&[
        "audit",
        "commit-dataset",
        &data,
        "--model",
        d,
        "-o",
        again.to_str().unwrap(),
        "--public",
    ]);
    assert!(o.status.success());
    let c2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(again.join("dataset.json")).unwrap())
            .unwrap();
    assert_eq!(c["root"], c2["root"]);
    // Salted: another root, a secret file, never overwritten.
    let salted = tmp.path().join("salted");
    let args = [
        "audit",
        "commit-dataset",
        &data,
        "--model",
        d,
        "-o",
        salted.to_str().unwrap(),
    ];
    let o = trustml(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(salted.join("dataset.secret.json").exists());
    let c3: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(salted.join("dataset.json")).unwrap())
            .unwrap();
    assert_ne!(c["root"], c3["root"]);
    let o = trustml(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("refusing to overwrite"),
        "{}",
        stderr(&o)
    );

    let o = trustml(&[
        "audit",
        "sample-size",
        "--epsilon",
        "0.05",
        "--delta",
        "0.1",
        "--batch",
        "50",
    ]);
    let s = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        s.starts_with("600 samples") && s.contains("12 batches of 50"),
        "{s}"
    );
    let o = trustml(&["audit", "sample-size", "--epsilon", "0"]);
    assert_eq!(o.status.code(), Some(2));

    let o = trustml(&[
        "audit",
        "samples",
        "--dataset",
        out.join("dataset.json").to_str().unwrap(),
        "--seed",
        "0x2a",
        "--count",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 5);
    for (j, l) in lines.iter().enumerate() {
        let (ord, idx) = l.split_once('\t').unwrap();
        assert_eq!(ord.parse::<usize>().unwrap(), j);
        assert!(idx.parse::<usize>().unwrap() < n);
    }
    // A file that is not a labelled dataset.
    let o = trustml(&[
        "audit",
        "commit-dataset",
        &fixture("digits_mlp.input.json"),
        "--model",
        d,
        "-o",
        "x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("labelled dataset"), "{}", stderr(&o));
}

/// `trustml audit setup | prove | verify` on the tiny gemm model: two batches proven, a
/// rerun resumes (nothing proven twice), the set verifies, a tampered count does not.
#[test]
fn audit_prove_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).display().to_string();
    let ops = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../onnx/tests/data")
            .join(name)
            .display()
            .to_string()
    };
    let ok = |args: &[&str]| {
        let o = trustml(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    ok(&[
        "compile",
        &ops("gemm.onnx"),
        "--calibrate",
        &ops("gemm.json"),
        "-o",
        &p("m"),
        "--weights-visibility",
        "hashed",
    ]);
    let inputs: Vec<Vec<f32>> = (0..10)
        .map(|i| {
            (0..5)
                .map(|k| ((i * 7 + k * 3) % 11) as f32 / 11.0 - 0.5)
                .collect()
        })
        .collect();
    let labels: Vec<u64> = (0..10).map(|i| i % 2).collect();
    std::fs::write(
        p("data.json"),
        serde_json::json!({"inputs": inputs, "labels": labels}).to_string(),
    )
    .unwrap();
    std::fs::write(p("ws.json"), r#"{"weights": "0x05"}"#).unwrap();
    ok(&[
        "audit",
        "commit-dataset",
        &p("data.json"),
        "--model",
        &p("m"),
        "-o",
        &p("ds"),
    ]);
    ok(&["srs", "gen", "--k", "15", "-o", &p("s.srs"), "--seed", "1"]);
    ok(&[
        "audit",
        "setup",
        &p("m"),
        "--dataset",
        &p("ds"),
        "--data",
        &p("data.json"),
        "--batch",
        "2",
        "--srs",
        &p("s.srs"),
        "-o",
        &p("aud"),
    ]);
    let prove = [
        "audit",
        "prove",
        &p("aud"),
        "--data",
        &p("data.json"),
        "--dataset",
        &p("ds"),
        "--weights-salts",
        &p("ws.json"),
        "--seed",
        "0x1234",
        "--samples",
        "4",
    ];
    let first = ok(&prove);
    assert!(
        first.contains("2 batches of 2") && first.contains("0 already there"),
        "{first}"
    );
    let again = ok(&prove);
    assert!(again.contains("2 already there"), "{again}");
    let v = ok(&["audit", "verify", &p("aud")]);
    assert!(v.contains("2 batches verified"), "{v}");
    // The generic verifier takes an audit batch too.
    ok(&["verify", &p("aud"), &p("aud/proofs/batch-0.json")]);
    // A tampered count.
    let path = p("aud/proofs/batch-1.json");
    let mut pf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    pf["instances"][5] = serde_json::json!(format!("0x{:064x}", 3));
    std::fs::write(&path, pf.to_string()).unwrap();
    let o = trustml(&["audit", "verify", &p("aud")]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("INVALID"), "{}", stderr(&o));
}
