//! trustml's float evaluator against onnxruntime, every intermediate tensor of every committed
//! model with an input: the references in `data/ort/` are what onnxruntime computed
//! (`data/make_ort_cases.py` → `prover/scripts/ort_intermediates.py`; onnxruntime 1.32). A
//! wrong broadcast, axis default, transpose or opset rule shows as the first tensor that
//! diverges, by name.

use std::path::{Path, PathBuf};
use trustml_onnx::diff::{compare, Reference};

const TOLERANCE: f64 = 1e-5;

fn model_of(name: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root.join("../fixtures");
    [
        root.join("tests/data").join(format!("{name}.onnx")),
        fixtures.join(format!("{name}.onnx")),
        fixtures
            .join("prompt_generator")
            .join(format!("{name}.onnx")),
        fixtures.join("transformer").join(format!("{name}.onnx")),
        fixtures.join("text_lm").join(format!("{name}.onnx")),
    ]
    .into_iter()
    .find(|p| p.exists())
}

#[test]
fn every_intermediate_tensor_matches_onnxruntime() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ort");
    let mut models = 0;
    let mut tensors = 0;
    let mut worst = (0f64, String::new());
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let model = model_of(&name).unwrap_or_else(|| panic!("no model for {}", path.display()));
        let g = trustml_onnx::load_onnx(&model).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r: Reference = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let rows = compare(&g, &r).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !rows.is_empty(),
            "{name}: no tensor in common with onnxruntime"
        );
        if let Some(bad) = rows.iter().find(|row| row.diverges(TOLERANCE)) {
            panic!(
                "{name}: {} diverges from onnxruntime (relative {:.2e}, shape {:?}, mismatch {})",
                bad.name, bad.relative, bad.shape, bad.shape_mismatch
            );
        }
        for row in &rows {
            if row.relative > worst.0 {
                worst = (row.relative, format!("{name}/{}", row.name));
            }
        }
        models += 1;
        tensors += rows.len();
    }
    eprintln!(
        "{models} models, {tensors} tensors agree with onnxruntime; worst relative error {:.2e} at {}",
        worst.0, worst.1
    );
    assert!(models >= 30, "only {models} references");
}

#[test]
fn a_wrong_tensor_is_caught_and_named() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let g = trustml_onnx::load_onnx(&dir.join("attention4d_o13.onnx")).unwrap();
    let text = std::fs::read_to_string(dir.join("ort/attention4d_o13.json")).unwrap();
    let mut r: Reference = serde_json::from_str(&text).unwrap();
    // The second layer's scores, as if our MatMul were wrong there.
    r.values.get_mut("s1").unwrap().values[3] += 0.01;
    let rows = compare(&g, &r).unwrap();
    let first = rows.iter().find(|row| row.diverges(TOLERANCE)).unwrap();
    assert_eq!(first.name, "s1");
}
