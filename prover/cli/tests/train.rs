//! Proof of training end to end through the CLI: a small run (64 → 4 → 10, batch 1, three
//! steps) is initialised, proven in two sittings (resumed), verified, and refused when a step
//! is missing, a proof byte is flipped or a step's proof is offered for another step; then on
//! a local Anvil with the real generated verifier the run is opened, its steps verified in
//! order and the final commitment marked as trained on the dataset.
//!
//! The chain part is skipped, with a note, only when node_modules is absent (CI runs
//! `npm ci` first).

mod common;
use common::{fails, ok, repo_root};
use std::path::Path;
use trustml_chain::anvil::Anvil;

#[test]
fn a_training_run_is_proven_verified_and_recorded_on_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).display().to_string();
    ok(&["srs", "gen", "--k", "16", "-o", &p("srs.bin")]);
    fails(
        &[
            "train",
            "init",
            &p("bad"),
            "--steps",
            "2",
            "--batch",
            "3",
            "--srs",
            &p("srs.bin"),
        ],
        "power of two",
    );
    fails(
        &[
            "train",
            "init",
            &p("bad"),
            "--batch",
            "1",
            "--srs",
            &p("srs.bin"),
        ],
        "--steps T or --epochs E",
    );
    let out = ok(&[
        "train",
        "init",
        &p("run"),
        "--steps",
        "3",
        "--batch",
        "1",
        "--hidden",
        "4",
        "--srs",
        &p("srs.bin"),
    ]);
    assert!(out.contains("3 steps of batch 1"), "{out}");
    assert!(Path::new(&p("run/train.secret.json")).exists());

    // Proven in two sittings: the second resumes after the first.
    let out = ok(&["train", "prove", &p("run"), "--steps", "1"]);
    assert!(
        out.contains("proved 1 steps") && out.contains("2 of 3 left"),
        "{out}"
    );
    fails(&["train", "verify", &p("run")], "step 1 has no proof");
    let out = ok(&["train", "prove", &p("run")]);
    assert!(
        out.contains("proved 2 steps") && out.contains("0 of 3 left"),
        "{out}"
    );
    let out = ok(&["train", "verify", &p("run")]);
    assert!(out.contains("VALID: 3 SGD steps"), "{out}");
    // One step alone verifies as any circuit's proof does.
    let step0 = p("run/proofs/step-000000.json");
    let step1 = p("run/proofs/step-000001.json");
    let out = ok(&["verify", &p("run"), &step1]);
    assert!(out.contains("valid proof"), "{out}");

    // A flipped proof byte; then step 0's proof offered as step 1.
    let honest = std::fs::read_to_string(&step1).unwrap();
    let mut pf: serde_json::Value = serde_json::from_str(&honest).unwrap();
    let proof = pf["proof"].as_str().unwrap().to_string();
    let i = proof.len() / 2;
    let flipped = if &proof[i..i + 1] == "0" { "1" } else { "0" };
    pf["proof"] = format!("{}{flipped}{}", &proof[..i], &proof[i + 1..]).into();
    std::fs::write(&step1, pf.to_string()).unwrap();
    fails(
        &["train", "verify", &p("run")],
        "step 1: the proof does not verify",
    );
    std::fs::copy(&step0, &step1).unwrap();
    fails(
        &["train", "verify", &p("run")],
        "step 1: the proof's public inputs",
    );
    std::fs::write(&step1, &honest).unwrap();
    ok(&["train", "verify", &p("run")]);

    // The trained model, for the inference pipeline: at scale 2^12 its weights are W_T's.
    let out = ok(&["train", "export", &p("run"), "-o", &p("mlp.onnx")]);
    assert!(
        out.contains("W_T of") && out.contains("test accuracy"),
        "{out}"
    );
    let calib = repo_root().join("prover/fixtures/digits_mlp.input.json");
    ok(&[
        "compile",
        &p("mlp.onnx"),
        "--calibrate",
        &calib.display().to_string(),
        "--scale",
        "12",
        "--weights-visibility",
        "hashed",
        "-o",
        &p("model"),
    ]);
    // The link: C_WT and the compiled model's weight commitment hold the same weights, and
    // the model's proofs made with the link's salt expose that commitment.
    let out = ok(&[
        "train",
        "link",
        &p("run"),
        "--model",
        &p("model"),
        "--srs",
        &p("srs.bin"),
    ]);
    assert!(out.contains("linked in"), "{out}");
    let out = ok(&["train", "verify", &p("run")]);
    let c_m = out
        .split("weight commitment C_W = ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no linked commitment in: {out}"))
        .to_string();
    ok(&["setup", &p("model"), "--srs", &p("srs.bin")]);
    ok(&[
        "prove",
        &p("model"),
        &calib.display().to_string(),
        "--salts",
        &p("run/link/model.salts.json"),
        "-o",
        &p("inference.json"),
    ]);
    let inf: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("inference.json")).unwrap()).unwrap();
    assert_eq!(inf["instances"][0].as_str().unwrap(), c_m, "one identity");
    // A link proof of another commitment is refused.
    let link = p("run/link/proof.json");
    let honest = std::fs::read_to_string(&link).unwrap();
    let mut pf: serde_json::Value = serde_json::from_str(&honest).unwrap();
    pf["instances"][1] = inf["instances"][1].clone();
    std::fs::write(&link, pf.to_string()).unwrap();
    fails(
        &["train", "verify", &p("run")],
        "the link proof does not verify",
    );
    std::fs::write(&link, &honest).unwrap();

    let Some(node) = Anvil::for_test(&repo_root()) else {
        return;
    };
    let url = node.url.clone();
    let training = p("training.json");
    let chain = |args: &[&str]| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--rpc-url", &url, "--training", &training]);
        ok(&a)
    };
    chain(&["train", "deploy"]);
    let out = chain(&["train", "register-circuit", &p("run")]);
    assert!(out.contains("step circuit 0x"), "{out}");
    let out = chain(&["train", "submit", &p("run")]);
    assert!(out.contains("run 1 opened"), "{out}");
    assert!(out.contains("step 2 verified on chain"), "{out}");
    assert!(out.contains("run 1 complete"), "{out}");
    let last = {
        let c: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p("run/chain.json")).unwrap()).unwrap();
        c["commitments"][3].as_str().unwrap().to_string()
    };
    let out = chain(&["train", "status", &last]);
    assert!(out.contains("trained by run 1 on R_D"), "{out}");
    let out = chain(&["train", "status", &p("run")]);
    assert!(out.contains("3/3 steps verified"), "{out}");
    // Submitting again sends nothing (every step is verified there).
    let out = chain(&["train", "submit", &p("run")]);
    assert!(!out.contains("verified on chain"), "{out}");
}
