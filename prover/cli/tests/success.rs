//! The `trustml` binary's success paths that need more than one command: `srs import` of a
//! real snarkjs ceremony then setup/prove/verify with it, a proof under one SRS rejected with
//! another SRS of the same k (`verify` and on chain), `evm gen-verifier | deploy | verify` on
//! Anvil, and the seller's and buyer's `prompt` commands. Small circuits only.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn trustml(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trustml"))
        .args(args)
        .output()
        .expect("run trustml")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real snarkjs ceremony file (power 8) committed for the SRS tests.
fn ceremony_ptau() -> String {
    repo_root()
        .join("prover/srs/tests/data/ceremony_8.ptau")
        .display()
        .to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    o
}

/// A real circuit small enough for the committed ceremony (k = 8): a constant MatMul and a
/// Sigmoid at scale 2^3. Compiled into `dir`, proving input `op_input()`.
fn compile_tiny(dir: &Path) {
    let data = repo_root().join("prover/onnx/tests/data");
    ok(trustml(&[
        "compile",
        data.join("matmul_const.onnx").to_str().unwrap(),
        "--calibrate",
        &op_input(),
        "-o",
        dir.to_str().unwrap(),
        "--scale",
        "3",
    ]));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("settings.json")).unwrap()).unwrap();
    assert_eq!(s["k"], 8, "the tiny circuit must fit the power-8 ceremony");
}

fn op_input() -> String {
    repo_root()
        .join("prover/onnx/tests/data/matmul_const.json")
        .display()
        .to_string()
}

/// The same tiny model set up twice at the same k: `a` with the imported ceremony SRS, `b`
/// with a development SRS; each has proven the same input.
struct TwoSetups {
    _tmp: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
}

fn two_setups() -> TwoSetups {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (ceremony, dev) = (tmp.path().join("c8.srs"), tmp.path().join("dev8.srs"));
    // srs import: a real snarkjs file, labelled as the ceremony, not INSECURE.
    let o = ok(trustml(&[
        "srs",
        "import",
        &ceremony_ptau(),
        "--k",
        "8",
        "-o",
        ceremony.to_str().unwrap(),
    ]));
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        said.contains("ceremony file ceremony_8.ptau (power 8") && !said.contains("INSECURE"),
        "{said}"
    );
    // Too large a k for the file: a clear error, nothing written.
    let big = tmp.path().join("c9.srs");
    let o = trustml(&[
        "srs",
        "import",
        &ceremony_ptau(),
        "--k",
        "9",
        "-o",
        big.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("power 8"), "{}", stderr(&o));
    assert!(!big.exists());
    ok(trustml(&[
        "srs",
        "gen",
        "--k",
        "8",
        "-o",
        dev.to_str().unwrap(),
        "--seed",
        "8",
    ]));
    for (dir, srs) in [(&a, &ceremony), (&b, &dev)] {
        compile_tiny(dir);
        let o = ok(trustml(&[
            "setup",
            dir.to_str().unwrap(),
            "--srs",
            srs.to_str().unwrap(),
        ]));
        assert_eq!(
            stderr(&o).contains("INSECURE"),
            srs == &dev,
            "{}",
            stderr(&o)
        );
        ok(trustml(&["prove", dir.to_str().unwrap(), &op_input()]));
    }
    TwoSetups { _tmp: tmp, a, b }
}

fn verify(dir: &Path, proof: &Path) -> Output {
    trustml(&["verify", dir.to_str().unwrap(), proof.to_str().unwrap()])
}

/// `srs import` of a real ceremony, then setup, prove and verify with it; a proof made under
/// one SRS is rejected with keys (or parameters) from another SRS of the same k.
#[test]
fn ceremony_srs_proves_and_other_srs_rejects() {
    let t = two_setups();
    let (pa, pb) = (t.a.join("proof.json"), t.b.join("proof.json"));
    for (dir, proof) in [(&t.a, &pa), (&t.b, &pb)] {
        let o = verify(dir, proof);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(stdout(&o).contains("valid proof"), "{}", stdout(&o));
    }
    // Same circuit, same k, same settings digest: only the SRS differs. Never accepted.
    for (dir, proof) in [(&t.a, &pb), (&t.b, &pa)] {
        let o = verify(dir, proof);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stdout(&o).contains("INVALID"), "{}", stdout(&o));
    }
    // The ceremony's keys with the other SRS's parameters (srs.bin swapped in): rejected.
    std::fs::copy(t.b.join("srs.bin"), t.a.join("srs.bin")).unwrap();
    let o = verify(&t.a, &pa);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

fn anvil() -> Option<trustml_chain::anvil::Anvil> {
    let a = trustml_chain::anvil::Anvil::start(&repo_root());
    if a.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: anvil did not start (is node_modules installed? `npm ci`)"
        );
        println!("NOTE: node_modules/@foundry-rs/anvil-linux-amd64 is missing (run `npm ci` at the repo root); skipping the Anvil test");
    }
    a
}

/// `trustml evm gen-verifier | deploy | verify` on Anvil: the proof verifies on chain (call
/// and transaction); a verifier generated under SRS A refuses the same circuit's proof made
/// under SRS B (same k).
#[test]
fn evm_commands_on_anvil_and_other_srs_rejected() {
    let Some(node) = anvil() else { return };
    let t = two_setups();
    let a = t.a.to_str().unwrap();
    let o = ok(trustml(&["evm", "gen-verifier", a]));
    assert!(stdout(&o).contains("runtime bytecode"), "{}", stdout(&o));
    for f in [
        "Verifier.sol",
        "verifier.bin",
        "verifier.bin-runtime",
        "evm.json",
    ] {
        assert!(t.a.join(f).exists(), "{f}");
    }
    ok(trustml(&["evm", "deploy", a, "--rpc-url", &node.url]));
    assert!(t.a.join("deployment.json").exists());
    let pa = t.a.join("proof.json");
    let o = ok(trustml(&[
        "evm",
        "verify",
        a,
        pa.to_str().unwrap(),
        "--rpc-url",
        &node.url,
        "--send",
    ]));
    let out = stdout(&o);
    assert!(
        out.contains("valid proof") && out.contains("status success"),
        "{out}"
    );
    let pb = t.b.join("proof.json");
    let o = trustml(&[
        "evm",
        "verify",
        a,
        pb.to_str().unwrap(),
        "--rpc-url",
        &node.url,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("INVALID"), "{}", stdout(&o));
}

fn k_of(dir: &Path) -> String {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("settings.json")).unwrap()).unwrap();
    s["k"].as_u64().unwrap().to_string()
}

/// The marketplace's file and proof commands as a seller and a buyer run them (the chain
/// side, `trustml market …`, is tested on Anvil in `market.rs`): a listing proof for the
/// committed prompt generator, a buyer key, a delivery circuit and a delivery proof for one
/// order, both verified by `trustml verify`, and the buyer decrypting the prompt.
#[test]
fn prompt_seller_and_buyer_commands() {
    const SELLER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    const MARKETPLACE: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    let fx = repo_root().join("prover/fixtures/prompt_generator");
    let prompt = fx.join("generator.input.json");
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).display().to_string();
    let (gen, deliv) = (p("gen"), p("deliv"));
    ok(trustml(&[
        "compile",
        fx.join("generator.onnx").to_str().unwrap(),
        "--calibrate",
        fx.join("generator_calibration.json").to_str().unwrap(),
        "-o",
        &gen,
        "--listing",
    ]));
    let k = k_of(Path::new(&gen));
    ok(trustml(&[
        "srs",
        "gen",
        "--k",
        &k,
        "-o",
        &p("gen.srs"),
        "--seed",
        "1",
    ]));
    ok(trustml(&["setup", &gen, "--srs", &p("gen.srs")]));

    // Seller: the listing proof and its secret.
    let o = ok(trustml(&[
        "prompt",
        "prove-listing",
        &gen,
        prompt.to_str().unwrap(),
        "--seller",
        SELLER,
        "-o",
        &p("listing.json"),
    ]));
    assert!(stdout(&o).contains("output hash H"), "{}", stdout(&o));
    assert!(tmp.path().join("listing.secret.json").exists());
    let o = ok(trustml(&["verify", &gen, &p("listing.json")]));
    assert!(stdout(&o).contains("valid proof"), "{}", stdout(&o));

    // Buyer: a key pair.
    let o = ok(trustml(&["prompt", "keygen", "-o", &p("buyer.json")]));
    assert!(stdout(&o).contains("public key"), "{}", stdout(&o));

    // Seller: the delivery circuit for this model's prompts, and a delivery for order 7.
    ok(trustml(&[
        "srs",
        "gen",
        "--k",
        "12",
        "-o",
        &p("d.srs"),
        "--seed",
        "2",
    ]));
    let o = ok(trustml(&[
        "prompt",
        "setup-delivery",
        &deliv,
        "--model",
        &gen,
        "--srs",
        &p("d.srs"),
    ]));
    assert!(stdout(&o).contains("delivery keys"), "{}", stdout(&o));
    let o = ok(trustml(&[
        "prompt",
        "prove-delivery",
        &deliv,
        "--secret",
        &p("listing.secret.json"),
        "--buyer-key",
        &p("buyer.json"),
        "--order",
        "7",
        "--chain-id",
        "31337",
        "--marketplace",
        MARKETPLACE,
    ]));
    assert!(stdout(&o).contains("order 7"), "{}", stdout(&o));
    let delivery = tmp.path().join("deliv/delivery-7.json");
    let delivery = delivery.to_str().unwrap();
    let o = ok(trustml(&["verify", &deliv, delivery]));
    assert!(stdout(&o).contains("valid proof"), "{}", stdout(&o));

    // Buyer: the prompt back, as the model's input.
    let o = ok(trustml(&[
        "prompt",
        "decrypt",
        "--key",
        &p("buyer.json"),
        delivery,
        "--model",
        &gen,
    ]));
    let got: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&prompt).unwrap()).unwrap();
    assert_eq!(got["input_data"], want["input_data"], "{}", stdout(&o));
    // Another key does not get it.
    ok(trustml(&["prompt", "keygen", "-o", &p("other.json")]));
    let o = trustml(&[
        "prompt",
        "decrypt",
        "--key",
        &p("other.json"),
        delivery,
        "--model",
        &gen,
    ]);
    let out = stdout(&o);
    assert!(
        !o.status.success()
            || serde_json::from_str::<serde_json::Value>(out.trim())
                .map_or(true, |v| v["input_data"] != want["input_data"]),
        "another key decrypted the prompt: {out}"
    );
}
