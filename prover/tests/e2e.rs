//! End to end on the committed digits fixtures: compile → setup → prove → verify, and the
//! tampering that must be rejected.

use std::path::{Path, PathBuf};
use trustml::circuit::{Salts, Visibilities};
use trustml::data::{read_input, read_samples};
use trustml::model::{CompileOptions, CompiledModel};
use trustml::proof::{self, fr_from_hex, fr_to_hex};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

fn compile(model: &str, vis: Visibilities, dir: &Path) -> CompiledModel {
    let samples = read_samples(&fixture("digits_calibration.json")).unwrap();
    let opts = CompileOptions { vis, ..Default::default() };
    CompiledModel::compile(&fixture(model), &samples, &opts, dir).unwrap()
}

fn setup(model: &CompiledModel) -> proof::Keys {
    let srs = trustml_srs::generate_insecure(model.settings.k, Some(7));
    proof::setup(model, &srs, |_| {}).unwrap()
}

#[test]
fn mlp_proof_verifies_and_tampering_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let model = compile("digits_mlp.onnx", Visibilities::default(), dir.path());
    eprintln!("settings: k={} rows={:?} shape={:?} quant={:?}", model.settings.k, model.settings.rows, model.settings.shape, model.settings.quant);
    let keys = setup(&model);
    let input_path = fixture("digits_mlp.input.json");
    let input = read_input(&input_path).unwrap();
    let t = std::time::Instant::now();
    let pf = proof::prove(&model, &keys, &input, &input_path, Salts::default()).unwrap();
    eprintln!("prove {:?}", t.elapsed());
    let keys = proof::load_keys(&model, false).unwrap();
    let p = Path::new("proof.json");
    assert!(proof::verify(&model, &keys, &pf, p).unwrap());

    // A changed public output.
    let mut bad = pf.clone();
    let v = fr_from_hex(&bad.instances[3]).unwrap();
    bad.instances[3] = fr_to_hex(&(v + halo2_proofs::halo2curves::bn256::Fr::one()));
    assert!(!proof::verify(&model, &keys, &bad, p).unwrap());

    // A flipped proof byte.
    let mut bad = pf.clone();
    let mut bytes = bad.proof_bytes(p).unwrap();
    bytes[100] ^= 1;
    bad.proof = format!("0x{}", hex::encode(bytes));
    assert!(!proof::verify(&model, &keys, &bad, p).unwrap());
}
