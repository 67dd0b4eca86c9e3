//! Trustless audits end to end on a local Anvil with the real generated audit verifier:
//! the `trustml audit` chain verbs take a passing audit from registration to withdrawal, a
//! second one fails its threshold and pays as the rules say; rejected on chain: batch proofs
//! made for another seed, another model commitment, another dataset root, another batch
//! index or another count, a batch submitted twice, `count > b`; and both timeouts: the
//! requester who never reveals pays the proving fee, the provider who never proves loses the
//! bond.
//!
//! Skipped, with a note, only when node_modules is absent (CI runs `npm ci` first).

use std::path::{Path, PathBuf};
use std::process::Command;
use trustml::audit::dataset::{self, DatasetCommitment, LabelledData, Tree};
use trustml::audit::dir::AuditDir;
use trustml::model::CompiledModel;
use trustml_chain::anvil::Anvil;
use trustml_chain::audit::{AuditDeployment, Outcome};
use trustml_chain::{Client, U256};
use trustml_kit::field::{parse as parse_fr, Fr};

/// Anvil's second dev account: the requester (the first deploys and provides).
const REQUESTER: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const ETH: u128 = 1_000_000_000_000_000_000;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ops(name: &str) -> String {
    repo_root()
        .join("prover/onnx/tests/data")
        .join(name)
        .display()
        .to_string()
}

/// Runs `trustml`; panics with its stderr on failure; returns stdout.
fn ok(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_trustml"))
        .args(args)
        .output()
        .expect("run trustml");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The number after `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> u64 {
    let i = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix:?} in {text}"));
    text[i + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// The model's predicted class for `x` (argmax, lowest index on ties).
fn predict(m: &CompiledModel, x: &[f32]) -> u64 {
    let q = m.program.quantize_inputs(&[x.to_vec()]);
    let w = m.program.eval(&q).unwrap();
    let o: Vec<i128> = m.program.outputs[0]
        .1
        .iter()
        .map(|&w_| w[w_ as usize])
        .collect();
    let best = o.iter().max().unwrap();
    o.iter().position(|v| v == best).unwrap() as u64
}

fn expect_revert<T: std::fmt::Debug>(r: Result<T, trustml_chain::ChainError>, error: &str) {
    let e = r.expect_err("the escrow accepted it").to_string();
    assert!(e.contains(error), "expected {error}, got: {e}");
}

#[test]
fn audits_on_anvil() {
    let Some(node) = Anvil::for_test(&repo_root()) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).display().to_string();
    let url = node.url.clone();
    let escrow = p("escrow.json");
    let chain = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--rpc-url", &url, "--escrow", &escrow]);
        ok(&a)
    };

    // The gemm op model (5 inputs → 2 logits), hashed weights; 16 samples labelled with the
    // model's own prediction (accuracy 1) and the same samples labelled wrong (accuracy 0),
    // so every seed gives a known count.
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
    let m = CompiledModel::load(Path::new(&p("m"))).unwrap();
    let inputs: Vec<Vec<f32>> = (0..16)
        .map(|i| {
            (0..5)
                .map(|k| ((i * 7 + k * 3) % 11) as f32 / 11.0 - 0.5)
                .collect()
        })
        .collect();
    let right: Vec<u64> = inputs.iter().map(|x| predict(&m, x)).collect();
    let wrong: Vec<u64> = right.iter().map(|&c| 1 - c).collect();
    for (name, labels) in [("good", &right), ("bad", &wrong)] {
        std::fs::write(
            p(&format!("{name}.json")),
            serde_json::json!({"inputs": inputs, "labels": labels}).to_string(),
        )
        .unwrap();
        ok(&[
            "audit",
            "commit-dataset",
            &p(&format!("{name}.json")),
            "--model",
            &p("m"),
            "-o",
            &p(&format!("ds-{name}")),
        ]);
    }
    std::fs::write(p("ws.json"), r#"{"weights": "0x05"}"#).unwrap();
    ok(&["srs", "gen", "--k", "15", "-o", &p("s.srs"), "--seed", "3"]);
    ok(&[
        "audit",
        "setup",
        &p("m"),
        "--dataset",
        &p("ds-good"),
        "--data",
        &p("good.json"),
        "--batch",
        "2",
        "--srs",
        &p("s.srs"),
        "-o",
        &p("aud"),
    ]);

    // Deploy, register the circuit (real verifier) and the model.
    chain(&["audit", "deploy"]);
    let out = chain(&[
        "audit",
        "register",
        &p("aud"),
        "--weights-salts",
        &p("ws.json"),
    ]);
    assert!(out.contains("circuit 0x"), "{out}");
    let model = number_after(&out, "model id ");

    // Audit 1 passes: θ = 1, every label is the model's prediction.
    let create = |ds: &str, theta: &str, secret: &str| {
        let out = chain(&[
            "audit",
            "create",
            "--model",
            &model.to_string(),
            "--dataset",
            &p(ds),
            "--samples",
            "4",
            "--theta",
            theta,
            "--bounty",
            "1eth",
            "--fee",
            "0.1eth",
            "--bond",
            "0.5eth",
            "--prove-window",
            "3600",
            "--secret",
            &p(secret),
            "--private-key",
            REQUESTER,
        ]);
        number_after(&out, "audit ")
    };
    let a1 = create("ds-good", "1", "s1.json");
    chain(&["audit", "accept", "--audit", &a1.to_string()]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let d: AuditDeployment =
        serde_json::from_str(&std::fs::read_to_string(p("escrow.json")).unwrap()).unwrap();
    let provider = rt.block_on(Client::connect_with_key(&url, None)).unwrap();
    let requester = rt
        .block_on(Client::connect_with_key(&url, Some(REQUESTER)))
        .unwrap();
    rt.block_on(provider.anvil_mine(1)).unwrap(); // the seed block
    let out = chain(&[
        "audit",
        "reveal",
        "--audit",
        &a1.to_string(),
        "--secret",
        &p("s1.json"),
        "--private-key",
        REQUESTER,
    ]);
    let seed_hex = out
        .split_whitespace()
        .skip_while(|w| *w != "seed")
        .nth(1)
        .unwrap()
        .to_string();
    let prove = |data: &str, ds: &str, ws: &str, seed: &str, out: &str| {
        ok(&[
            "audit",
            "prove",
            &p("aud"),
            "--data",
            &p(data),
            "--dataset",
            &p(ds),
            "--weights-salts",
            &p(ws),
            "--seed",
            seed,
            "--samples",
            "4",
            "-o",
            &p(out),
        ])
    };
    let out = prove("good.json", "ds-good", "ws.json", &seed_hex, "proofs1");
    assert!(out.contains("4/4 correct"), "{out}");

    // Rejected on chain (the client is called directly: the CLI would refuse these before
    // sending). Proofs for another seed, model commitment, dataset root:
    let aud = AuditDir::load(Path::new(&p("aud"))).unwrap();
    let keys = aud.keys(true).unwrap();
    let good = LabelledData::read(Path::new(&p("good.json"))).unwrap();
    let ds = DatasetCommitment::read(Path::new(&p("ds-good"))).unwrap();
    let salts = ds.salts(Path::new(&p("ds-good"))).unwrap();
    let (_, tree) = dataset::commit(&m, &good, &salts).unwrap();
    let seed = parse_fr(&seed_hex).unwrap();
    let batch = |data: &LabelledData, tree: &Tree, salts: &[Fr], ws: u64, seed: Fr, i: u64| {
        let pf = aud
            .prove_batch(&keys, data, tree, salts, Fr::from(ws), seed, i)
            .unwrap();
        let path = Path::new("batch");
        let count = trustml_kit::field::to_u128(&pf.instances_fr(path).unwrap()[5]).unwrap();
        (count as u64, pf.proof_bytes(path).unwrap())
    };
    let id1 = U256::from(a1);
    let submit = |i: u64, (count, proof): &(u64, Vec<u8>)| {
        rt.block_on(provider.submit_batch(&d, id1, i, *count, proof))
    };
    expect_revert(
        submit(0, &batch(&good, &tree, &salts, 5, seed + Fr::one(), 0)),
        "InvalidProof",
    );
    expect_revert(
        submit(0, &batch(&good, &tree, &salts, 6, seed, 0)),
        "InvalidProof",
    );
    let public_salts = vec![Fr::zero(); good.inputs.len()];
    let (_, other_tree) = dataset::commit(&m, &good, &public_salts).unwrap();
    expect_revert(
        submit(0, &batch(&good, &other_tree, &public_salts, 5, seed, 0)),
        "InvalidProof",
    );
    // … another batch index, another count, count > b:
    let b1 = batch(&good, &tree, &salts, 5, seed, 1);
    expect_revert(submit(0, &b1), "InvalidProof");
    let b0 = batch(&good, &tree, &salts, 5, seed, 0);
    assert_eq!(b0.0, 2);
    expect_revert(submit(0, &(1, b0.1.clone())), "InvalidProof");
    expect_revert(submit(0, &(3, b0.1.clone())), "CountAboveBatchSize");
    // The CLI submits both batches; a second submission is refused.
    let out = chain(&["audit", "submit", "--audit", &a1.to_string(), &p("proofs1")]);
    assert!(out.contains("all batches proven"), "{out}");
    expect_revert(submit(0, &b0), "BatchAlreadySubmitted");
    let before = rt
        .block_on(provider.audit_withdrawable(&d, provider.sender().unwrap()))
        .unwrap();
    let out = chain(&["audit", "finalize", "--audit", &a1.to_string()]);
    assert!(out.contains("Passed, 4 correct of 4 proven"), "{out}");
    let after = rt
        .block_on(provider.audit_withdrawable(&d, provider.sender().unwrap()))
        .unwrap();
    assert_eq!(
        after - before,
        U256::from(3 * ETH / 2),
        "bounty + bond to the provider"
    );
    let out = chain(&["audit", "show", "--audit", &a1.to_string()]);
    assert!(out.contains("Passed"), "{out}");

    // Audit 2 fails: every label is wrong, θ = 1/2: fee + bond to the provider, the rest back.
    let a2 = create("ds-bad", "1/2", "s2.json");
    chain(&["audit", "accept", "--audit", &a2.to_string()]);
    rt.block_on(provider.anvil_mine(1)).unwrap();
    let out = chain(&[
        "audit",
        "reveal",
        "--audit",
        &a2.to_string(),
        "--secret",
        &p("s2.json"),
        "--private-key",
        REQUESTER,
    ]);
    let seed2 = out
        .split_whitespace()
        .skip_while(|w| *w != "seed")
        .nth(1)
        .unwrap()
        .to_string();
    // The CLI refuses proofs of audit 1 for audit 2 before spending gas.
    let o = Command::new(env!("CARGO_BIN_EXE_trustml"))
        .args(["audit", "submit", "--audit", &a2.to_string(), &p("proofs1")])
        .args(["--rpc-url", &url, "--escrow", &p("escrow.json")])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("proven for other public inputs"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = prove("bad.json", "ds-bad", "ws.json", &seed2, "proofs2");
    assert!(out.contains("0/4 correct"), "{out}");
    chain(&["audit", "submit", "--audit", &a2.to_string(), &p("proofs2")]);
    let req = |c: &Client| {
        rt.block_on(c.audit_withdrawable(&d, c.sender().unwrap()))
            .unwrap()
    };
    let (p0, r0) = (req(&provider), req(&requester));
    let out = chain(&["audit", "finalize", "--audit", &a2.to_string()]);
    assert!(out.contains("Failed, 0 correct of 4 proven"), "{out}");
    assert_eq!(req(&provider) - p0, U256::from(6 * ETH / 10), "fee + bond");
    assert_eq!(
        req(&requester) - r0,
        U256::from(9 * ETH / 10),
        "bounty − fee"
    );

    // Audit 3: the requester never reveals: after the blockhash window, fee + bond to the
    // provider, the rest back.
    let a3 = create("ds-good", "1", "s3.json");
    chain(&["audit", "accept", "--audit", &a3.to_string()]);
    expect_revert(
        rt.block_on(provider.finalize_audit(&d, U256::from(a3))),
        "RevealWindowOpen",
    );
    rt.block_on(provider.anvil_mine(300)).unwrap();
    let (p0, r0) = (req(&provider), req(&requester));
    let out = chain(&["audit", "finalize", "--audit", &a3.to_string()]);
    assert!(out.contains("NotRevealed"), "{out}");
    assert_eq!(req(&provider) - p0, U256::from(6 * ETH / 10));
    assert_eq!(req(&requester) - r0, U256::from(9 * ETH / 10));

    // Audit 4: the provider never proves: after the prove window, bounty + bond back.
    let a4 = create("ds-good", "1", "s4.json");
    chain(&["audit", "accept", "--audit", &a4.to_string()]);
    rt.block_on(provider.anvil_mine(1)).unwrap();
    chain(&[
        "audit",
        "reveal",
        "--audit",
        &a4.to_string(),
        "--secret",
        &p("s4.json"),
        "--private-key",
        REQUESTER,
    ]);
    expect_revert(
        rt.block_on(provider.finalize_audit(&d, U256::from(a4))),
        "ProvingNotFinished",
    );
    rt.block_on(provider.anvil_increase_time(3601)).unwrap();
    let (p0, r0) = (req(&provider), req(&requester));
    let s = rt
        .block_on(requester.finalize_audit(&d, U256::from(a4)))
        .unwrap();
    assert_eq!(s.outcome, Outcome::NotProven);
    assert_eq!(req(&provider), p0, "the provider's bond is slashed");
    assert_eq!(req(&requester) - r0, U256::from(3 * ETH / 2));

    // Withdrawals move the credits out.
    let out = chain(&["audit", "withdraw", "--private-key", REQUESTER]);
    assert!(out.contains("withdrew"), "{out}");
    assert_eq!(req(&requester), U256::ZERO);
}
