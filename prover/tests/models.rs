//! Whole models beyond the digits classifiers: the trained character transformer and the
//! original zkml project's MNIST model, each compiled, proven and verified for real.

mod common;

use std::path::{Path, PathBuf};
use trustml::circuit::{Salts, Visibilities};
use trustml::data::{read_input, read_samples, InputData};
use trustml::model::{CompileOptions, CompiledModel};
use trustml::proof;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

fn setup_and_prove(
    model: &CompiledModel,
    input: &InputData,
    path: &Path,
) -> trustml::kit::ProofFile {
    let srs = trustml_srs::generate_insecure(model.settings.k, Some(3));
    let keys = proof::setup(model, &srs, |_| {}).unwrap();
    let pf = proof::prove(model, &keys, input, path, Salts::default()).unwrap();
    assert!(proof::verify(model, &keys, &pf, Path::new("proof.json")).unwrap());
    pf
}

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold(0, |b, (i, &x)| if x > v[b] { i } else { b })
}

/// A 2-layer causal transformer (d = 32, 16 tokens) trained on Python's standard-library
/// sources: attention with a causal `Where` mask, LayerNorm, GELU, residuals.
#[test]
fn transformer_proves_and_tracks_the_float_model() {
    let dir = tempfile::tempdir().unwrap();
    let samples = read_samples(&fixture("transformer/transformer.calibration.json")).unwrap();
    let model = CompiledModel::compile(
        &fixture("transformer/transformer.onnx"),
        &samples,
        &CompileOptions {
            vis: Visibilities::default(),
            ..Default::default()
        },
        dir.path(),
    )
    .unwrap();
    eprintln!(
        "transformer: k = {}, scale 2^{}, lookup bits {}",
        model.settings.k, model.settings.quant.scale_bits, model.settings.quant.lookup_bits
    );
    // An ONNX model has its float version: the calibration report compares with it.
    let c = model.settings.calibration.as_ref().unwrap();
    assert!(!c.no_float_reference && c.argmax_matches > 0, "{c:?}");

    // Next-character argmax of the quantized model against the float model's, on 32
    // held-out windows × 16 positions (near-ties in the float logits may flip).
    let test: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("transformer/transformer.test.json")).unwrap(),
    )
    .unwrap();
    let (inputs, argmaxes) = (
        test["inputs"].as_array().unwrap(),
        test["float_argmax"].as_array().unwrap(),
    );
    assert_eq!(inputs.len(), 32);
    assert_eq!(argmaxes.len(), inputs.len());
    let (mut agree, mut total) = (0, 0);
    for (x, want) in inputs.iter().zip(argmaxes) {
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
            .witness(&data, Path::new("transformer.test.json"), Salts::default())
            .unwrap();
        let logits = &model.outputs(&w)[0].values;
        let want = want.as_array().unwrap();
        assert_eq!((logits.len(), want.len()), (16 * 48, 16));
        for (t, want) in want.iter().enumerate() {
            agree +=
                (argmax(&logits[t * 48..(t + 1) * 48]) as u64 == want.as_u64().unwrap()) as usize;
            total += 1;
        }
    }
    eprintln!("transformer: argmax agrees with the float model at {agree}/{total} positions");
    assert!(agree as f64 >= 0.9 * total as f64, "{agree}/{total}");

    let path = fixture("transformer/transformer.input.json");
    let input = read_input(&path).unwrap();
    // The circuit against the float model on the grid (inputs and parameters rounded to
    // 2^-s): only the circuit's own rounding is left.
    let qp = model.settings.quant;
    let w = model.witness(&input, &path, Salts::default()).unwrap();
    let got: Vec<Vec<f64>> = model.outputs(&w).into_iter().map(|o| o.values).collect();
    let grid = common::worst_ulps(
        "transformer",
        &got,
        &common::grid_reference(&model, &input),
        qp,
    );
    eprintln!("transformer: {grid:.2} ulp from the float model on the grid");
    // Each of the 2 blocks rounds ~20 times on a logit's path (attention ~8, 2 LayerNorms
    // ~6 each, GELU ~2, the dense layers 1 each), 0.5 ulp apiece, and LayerNorm and the
    // residuals carry errors forward with a gain of ~1.5: 2·20·0.5·1.5 = 30..60 ulp (48
    // measured). Tables that floor instead of rounding to nearest land at 90.
    assert!(
        grid <= 64.0,
        "transformer: {grid:.1} ulp from the float model on the grid"
    );
    let pf = setup_and_prove(&model, &input, &path);
    let want = input.output_data.unwrap();
    // The proven logits against onnxruntime's, all 16 × 48 of them.
    let proven: Vec<Vec<f64>> = pf.outputs.iter().map(|o| o.values.clone()).collect();
    assert_eq!(proven, got);
    let ort = common::worst_ulps("transformer", &proven, &want, qp);
    eprintln!(
        "transformer: max abs error of the proven logits {:.4} ({ort:.1} ulp)",
        ort / qp.scale()
    );
    // Plus the quantization of the weights and inputs (2^-(s+1) each, through d = 32 sums):
    // 1/8 (128 ulp).
    assert!(ort <= 128.0, "transformer: {ort:.1} ulp from onnxruntime");
}

/// zkml's own MNIST model (`model.msgpack`): proven with zkml's integer semantics.
#[test]
fn zkml_mnist_proves_with_its_integer_semantics() {
    let (m, i) = (
        fixture("zkml-mnist/model.msgpack"),
        fixture("zkml-mnist/inp.msgpack"),
    );
    // Committed (prover/fixtures/zkml-mnist): never skipped.
    assert!(m.exists(), "{} is missing", m.display());
    let zm =
        trustml::zkml::ZkmlModel::from_bytes(&std::fs::read(&m).unwrap(), "model.msgpack").unwrap();
    let input = trustml::zkml::input_data(&i, zm.scale_bits().unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model = CompiledModel::compile(
        &m,
        std::slice::from_ref(&input),
        &CompileOptions::default(),
        dir.path(),
    )
    .unwrap();
    // Reloading from the directory gives the same program.
    let reloaded = CompiledModel::load(dir.path()).unwrap();
    assert_eq!(reloaded.program.instrs.len(), model.program.instrs.len());
    // No float model exists to compare with: the report says so instead of "error 0, argmax 0/1".
    let c = reloaded.settings.calibration.as_ref().unwrap();
    assert!(c.no_float_reference && c.max_lookup_input > 0, "{c:?}");
    let pf = setup_and_prove(&model, &input, &i);
    // The proven logits are zkml's integers: class 5 for this image.
    assert_eq!(argmax(&pf.outputs[0].values), 5);
    let want = [
        -5312i64, -8056, -8186, -1669, -4260, 6614, -5131, -6862, -3047, -805,
    ];
    let got: Vec<i64> = pf.outputs[0]
        .values
        .iter()
        .map(|v| (v * 512.0).round() as i64)
        .collect();
    assert_eq!(got, want);
}
