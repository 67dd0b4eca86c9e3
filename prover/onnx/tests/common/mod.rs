//! Shared helpers: read `{"input_data", "output_data"}` JSON, run a graph, compare.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use trustml_onnx::{Graph, Tensor};

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// The shared peer models (EZKL's examples), when present: `shared/` beside the checkout
/// (as CI lays it out), else the developers' `/work/shared`.
#[allow(dead_code)]
pub fn peer_dir() -> Option<PathBuf> {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/peer-onnx");
    [beside, PathBuf::from("/work/shared/fixtures/peer-onnx")]
        .into_iter()
        .find(|p| p.is_dir())
}

pub fn floats(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    r.as_array()
                        .map(|x| x.iter().filter_map(|f| f.as_f64()).collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read json")).expect("parse json")
}

/// Builds the model inputs from flat row-major lists, using the graph's static shapes.
pub fn inputs(g: &Graph, flat: &[Vec<f64>]) -> Result<Vec<Tensor<f32>>, String> {
    if flat.len() != g.inputs.len() {
        return Err(format!(
            "{} input lists for {} model inputs",
            flat.len(),
            g.inputs.len()
        ));
    }
    g.inputs
        .iter()
        .zip(flat)
        .map(|(&id, d)| {
            let shape = g.shape(id).to_vec();
            if d.len() != g.size(id) {
                return Err(format!(
                    "input {shape:?} needs {} values, got {}",
                    g.size(id),
                    d.len()
                ));
            }
            Ok(Tensor::new(shape, d.iter().map(|&v| v as f32).collect()))
        })
        .collect()
}

/// Max of |a - b| / (atol + rtol |b|): <= 1 means within tolerance.
pub fn mismatch(got: &[f32], want: &[f64], atol: f64, rtol: f64) -> Result<f64, String> {
    if got.len() != want.len() {
        return Err(format!("{} values, expected {}", got.len(), want.len()));
    }
    Ok(got
        .iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w).abs() / (atol + rtol * w.abs()))
        .fold(0.0, f64::max))
}
