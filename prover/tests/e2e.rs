//! End to end on the committed digits fixtures: compile → setup → prove → verify, accuracy
//! on the held-out digits, every visibility, and the tampering that must be rejected.

use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trustml::circuit::{Salts, Visibilities, Visibility};
use trustml::data::{read_input, read_samples, InputData};
use trustml::kit::field::{from_hex as fr_from_hex, to_hex as fr_to_hex};
use trustml::kit::ProofFile;
use trustml::model::{CompileOptions, CompiledModel};
use trustml::program::Instr;
use trustml::proof;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn compile(model: &str, vis: Visibilities, dir: &Path) -> CompiledModel {
    let samples = read_samples(&fixture("digits_calibration.json")).unwrap();
    let opts = CompileOptions {
        vis,
        ..Default::default()
    };
    CompiledModel::compile(&fixture(model), &samples, &opts, dir).unwrap()
}

fn setup(model: &CompiledModel) -> proof::Keys {
    let srs = trustml_srs::generate_insecure(model.settings.k, Some(7));
    proof::setup(model, &srs, |_| {}).unwrap()
}

fn prove(model: &CompiledModel, keys: &proof::Keys, input: &str, salts: Salts) -> ProofFile {
    let path = fixture(input);
    proof::prove(model, keys, &read_input(&path).unwrap(), &path, salts).unwrap()
}

fn with_instance(pf: &ProofFile, i: usize, f: impl Fn(Fr) -> Fr) -> ProofFile {
    let mut bad = pf.clone();
    bad.instances[i] = fr_to_hex(&f(fr_from_hex(&pf.instances[i]).unwrap()));
    bad
}

const P: &str = "proof.json";

#[test]
fn mlp_proof_verifies_and_tampering_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let model = compile("digits_mlp.onnx", Visibilities::default(), dir.path());
    let keys = setup(&model);
    let pf = prove(&model, &keys, "digits_mlp.input.json", Salts::default());
    // Keys as reloaded from disk, as `trustml verify` does.
    let keys = proof::load_keys(&model, false).unwrap();
    let p = Path::new(P);
    assert!(proof::verify(&model, &keys, &pf, p).unwrap());
    assert_eq!(pf.instances.len(), 10, "only the 10 logits are public");

    // The proven outputs are the float model's within quantization error.
    let want = read_input(&fixture("digits_mlp.input.json"))
        .unwrap()
        .output_data
        .unwrap();
    for (a, b) in pf.outputs[0].values.iter().zip(&want[0]) {
        assert!((a - *b as f64).abs() < 0.25, "{a} vs {b}");
    }

    // A changed public output, one at a time.
    for i in [0, 3, 9] {
        assert!(
            !proof::verify(&model, &keys, &with_instance(&pf, i, |v| v + Fr::one()), p).unwrap()
        );
    }
    // Flipped proof bytes, in a commitment and in an evaluation.
    for at in [5, 100, 700] {
        let mut bad = pf.clone();
        let mut bytes = bad.proof_bytes(p).unwrap();
        bytes[at] ^= 1;
        bad.proof = format!("0x{}", hex::encode(bytes));
        assert!(!proof::verify(&model, &keys, &bad, p).unwrap(), "byte {at}");
    }
    // A truncated proof.
    let mut bad = pf.clone();
    bad.proof.truncate(bad.proof.len() - 64);
    assert!(!proof::verify(&model, &keys, &bad, p).unwrap());
}

#[test]
fn proof_does_not_verify_under_another_models_key() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mlp = compile("digits_mlp.onnx", Visibilities::default(), d1.path());
    let cnn = compile("digits_cnn.onnx", Visibilities::default(), d2.path());
    let mlp_keys = setup(&mlp);
    let cnn_keys = setup(&cnn);
    let pf = prove(&mlp, &mlp_keys, "digits_mlp.input.json", Salts::default());
    let p = Path::new(P);
    // The settings digest catches it first...
    assert!(proof::verify(&cnn, &cnn_keys, &pf, p).is_err());
    // ...and the cryptography on its own rejects it too.
    let instances = pf.instances_fr(p).unwrap();
    let bytes = pf.proof_bytes(p).unwrap();
    assert!(proof::verify_raw(
        &mlp_keys.params,
        &mlp_keys.vk,
        &instances,
        &bytes
    ));
    assert!(!proof::verify_raw(
        &cnn_keys.params,
        &cnn_keys.vk,
        &instances,
        &bytes
    ));
}

/// Float argmax agreement of the quantized program on all 360 held-out digits, and real
/// proofs of a few of them whose proven outputs equal the program's.
fn held_out_accuracy(model_file: &str, float_key: &str) {
    let dir = tempfile::tempdir().unwrap();
    let model = compile(model_file, Visibilities::default(), dir.path());
    let test: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("digits_test.json")).unwrap())
            .unwrap();
    let inputs = test["inputs"].as_array().unwrap();
    let float_argmax = test[float_key].as_array().unwrap();
    let mut agree = 0;
    let mut witnesses = vec![];
    for (x, want) in inputs.iter().zip(float_argmax) {
        let data = InputData {
            input_data: vec![x
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()],
            input_shapes: None,
            output_data: None,
        };
        let w = model
            .witness(&data, Path::new("digits_test.json"), Salts::default())
            .unwrap();
        let out = &model.outputs(&w)[0].values;
        let arg = out
            .iter()
            .enumerate()
            .fold(0, |b, (i, &v)| if v > out[b] { i } else { b });
        agree += (arg as u64 == want.as_u64().unwrap()) as usize;
        if witnesses.len() < 2 {
            witnesses.push((data, model.outputs(&w)));
        }
    }
    let rate = agree as f64 / inputs.len() as f64;
    eprintln!(
        "{model_file}: quantized argmax equals float argmax on {agree}/{} held-out digits",
        inputs.len()
    );
    assert!(rate >= 0.98, "{model_file}: {rate:.4} < 0.98");

    let keys = setup(&model);
    for (data, outputs) in witnesses {
        let pf = proof::prove(
            &model,
            &keys,
            &data,
            Path::new("digits_test.json"),
            Salts::default(),
        )
        .unwrap();
        assert_eq!(pf.outputs, outputs);
        assert!(proof::verify(&model, &keys, &pf, Path::new(P)).unwrap());
    }
}

#[test]
fn cnn_matches_float_argmax_on_held_out_digits() {
    held_out_accuracy("digits_cnn.onnx", "cnn_float_argmax");
}

#[test]
fn mlp_matches_float_argmax_on_held_out_digits() {
    held_out_accuracy("digits_mlp.onnx", "mlp_float_argmax");
}

#[test]
fn hashed_input_and_output_bind_their_salts() {
    let dir = tempfile::tempdir().unwrap();
    let vis = Visibilities::LISTING;
    let model = compile("digits_mlp.onnx", vis, dir.path());
    let keys = setup(&model);
    let salts = Salts {
        input: Fr::from(11),
        weights: Fr::zero(),
        output: Fr::from(13),
    };
    let pf = prove(&model, &keys, "digits_mlp.input.json", salts);
    let p = Path::new(P);
    assert_eq!(
        pf.instances.len(),
        2,
        "one commitment each for input and output"
    );
    assert!(proof::verify(&model, &keys, &pf, p).unwrap());

    // The input commitment is Poseidon(packed values ‖ salt) (trustml::packing),
    // recomputable outside the circuit.
    let input = read_input(&fixture("digits_mlp.input.json")).unwrap();
    let ints: Vec<i128> = model.program.quantize_inputs(&input.input_data)[0]
        .iter()
        .map(|&v| v as i128)
        .collect();
    let q = trustml::packing::InputPacking::of(&model.program)
        .pack(&ints)
        .unwrap();
    assert!(
        q.len() * 10 <= ints.len(),
        "{} words for {} values",
        q.len(),
        ints.len()
    );
    let c = trustml_poseidon::commit(&q, salts.input);
    assert_eq!(fr_to_hex(&c), pf.instances[0]);

    // Opening with the wrong salt: the commitment of the same input under another salt.
    let wrong = trustml_poseidon::commit(&q, Fr::from(12));
    assert!(!proof::verify(&model, &keys, &with_instance(&pf, 0, |_| wrong), p).unwrap());
    // And a proof made with another salt does not match the first commitment.
    let other = prove(
        &model,
        &keys,
        "digits_mlp.input.json",
        Salts {
            input: Fr::from(12),
            ..salts
        },
    );
    assert_ne!(other.instances[0], pf.instances[0]);
    let mut mixed = other.clone();
    mixed.instances[0] = pf.instances[0].clone();
    assert!(!proof::verify(&model, &keys, &mixed, p).unwrap());
    // A changed output commitment.
    assert!(!proof::verify(&model, &keys, &with_instance(&pf, 1, |v| v + Fr::one()), p).unwrap());

    // Readable outputs under a secret salt are the prover's word; with salt 0 they open H,
    // and an edited preview no longer does.
    use trustml::proof::{check_outputs, OutputsStatus};
    assert_eq!(
        check_outputs(&model, &pf).unwrap(),
        OutputsStatus::NotCovered
    );
    let open = prove(
        &model,
        &keys,
        "digits_mlp.input.json",
        Salts {
            output: Fr::zero(),
            ..salts
        },
    );
    assert_eq!(
        check_outputs(&model, &open).unwrap(),
        OutputsStatus::HashOpened
    );
    let mut edited = open.clone();
    edited.outputs[0].field[0] = "7".into();
    edited.outputs[0].values[0] = 7.0 / model.program.qp.scale();
    assert_eq!(
        check_outputs(&model, &edited).unwrap(),
        OutputsStatus::NotCovered
    );
}

#[test]
fn readable_outputs_must_match_the_public_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let model = compile("digits_mlp.onnx", Visibilities::default(), dir.path());
    let keys = setup(&model);
    let pf = prove(&model, &keys, "digits_mlp.input.json", Salts::default());
    let p = Path::new(P);
    assert!(proof::verify(&model, &keys, &pf, p).unwrap());
    // The float and the field element edited together: still not what the proof fixes.
    let mut bad = pf.clone();
    bad.outputs[0].field[2] = "12345".into();
    bad.outputs[0].values[2] = 12345.0 / model.program.qp.scale();
    let e = proof::verify(&model, &keys, &bad, p)
        .unwrap_err()
        .to_string();
    assert!(e.contains("readable outputs"), "{e}");
    // The float alone.
    let mut bad = pf.clone();
    bad.outputs[0].values[2] += 1.0;
    assert!(proof::verify(&model, &keys, &bad, p).is_err());
    // Dropped outputs.
    let mut bad = pf.clone();
    bad.outputs.clear();
    assert!(proof::verify(&model, &keys, &bad, p).is_err());
}

#[test]
fn public_input_and_hashed_weights() {
    let dir = tempfile::tempdir().unwrap();
    let vis = Visibilities {
        input: Visibility::Public,
        weights: Visibility::Hashed,
        output: Visibility::Public,
    };
    let model = compile("digits_cnn.onnx", vis, dir.path());
    let keys = setup(&model);
    let salts = Salts {
        input: Fr::zero(),
        weights: Fr::from(99),
        output: Fr::zero(),
    };
    let pf = prove(&model, &keys, "digits_cnn.input.json", salts);
    let p = Path::new(P);
    assert_eq!(pf.instances.len(), 64 + 1 + 10);
    assert!(proof::verify(&model, &keys, &pf, p).unwrap());
    // Another public input, another weights commitment, another output: all rejected.
    for i in [0, 40, 64, 70] {
        assert!(
            !proof::verify(&model, &keys, &with_instance(&pf, i, |v| v + Fr::one()), p).unwrap(),
            "instance {i}"
        );
    }
    let weights: Vec<Fr> = model
        .program
        .weights
        .iter()
        .map(|&w| trustml::chips::fe(w as i128))
        .collect();
    assert_eq!(
        fr_to_hex(&trustml_poseidon::commit(&weights, Fr::from(99))),
        pf.instances[64]
    );
}

/// MockProver on the whole model: the honest witness passes, and changing any one
/// intermediate value (each kind of instruction's output) is caught.
#[test]
fn tampered_model_witness_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let model = compile("digits_cnn.onnx", Visibilities::default(), dir.path());
    let path = fixture("digits_cnn.input.json");
    let w = model
        .witness(&read_input(&path).unwrap(), &path, Salts::default())
        .unwrap();
    let k = model.settings.k;
    let honest = model.circuit(Some(w.clone()));
    let instances = honest.instances().unwrap();
    MockProver::run(k, &honest, vec![instances.clone()])
        .unwrap()
        .assert_satisfied();

    let p = &model.program;
    let mut picks = vec![];
    for kind in ["dot", "lookup", "arith"] {
        let out = p.instrs.iter().find_map(|i| match (kind, i) {
            ("dot", Instr::Dot { out, .. }) => Some(*out),
            // A lookup output some later instruction reads (not a scratch range check).
            ("lookup", Instr::Lookup { out, input, .. }) if out != input && p.instrs.iter().any(|j| matches!(j, Instr::Dot { terms, .. } if terms.iter().any(|t| t.0 == *out))) => Some(*out),
            ("arith", Instr::Arith { out, .. }) => Some(*out),
            _ => None,
        });
        picks.push((kind, out.expect(kind)));
    }
    picks.push(("input", p.inputs[0].1[10]));
    for (kind, wire) in picks {
        let mut bad = w.clone();
        bad.wires[wire as usize] += 1;
        let c = model.circuit(Some(bad));
        // The prover claims whatever the tampered witness says, public values included
        // (for the private input: the honest output, which it no longer produces).
        let claimed = if kind == "input" {
            instances.clone()
        } else {
            c.instances().unwrap()
        };
        let r = MockProver::run(k, &c, vec![claimed]).unwrap();
        assert!(r.verify().is_err(), "a tampered {kind} wire was accepted");
    }
}

#[test]
fn out_of_range_input_names_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let model = compile("digits_mlp.onnx", Visibilities::default(), dir.path());
    let data = InputData {
        input_data: vec![vec![40.0; 64]],
        input_shapes: None,
        output_data: None,
    };
    let e = model
        .witness(&data, Path::new("x.json"), Salts::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("outside the lookup range") && e.contains("--calibrate"),
        "{e}"
    );
    let data = InputData {
        input_data: vec![vec![0.5; 63]],
        input_shapes: None,
        output_data: None,
    };
    let e = model
        .witness(&data, Path::new("x.json"), Salts::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("64 values") && e.contains("63"), "{e}");
    let _ = Arc::new(());
}

#[test]
fn keys_of_other_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = compile("digits_mlp.onnx", Visibilities::default(), dir.path());
    setup(&model);
    // Recompile into the same directory with other visibilities: the old keys no longer fit.
    let vis = Visibilities {
        input: Visibility::Public,
        ..Default::default()
    };
    let model = compile("digits_mlp.onnx", vis, dir.path());
    let e = proof::load_keys(&model, true)
        .err()
        .expect("stale keys")
        .to_string();
    // The library says what is wrong; the CLI adds what to run (tests/cli.rs).
    assert!(e.contains("other circuit settings"), "{e}");
}
