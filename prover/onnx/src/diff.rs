//! trustml's float evaluation compared, tensor by tensor, with onnxruntime's: the reference is
//! what `prover/scripts/ort_intermediates.py` writes (every intermediate tensor onnxruntime can
//! expose, by ONNX name). The first tensor that diverges names the node to look at.

use crate::{eval, Graph, Tensor};
use serde::Deserialize;
use std::collections::HashMap;

/// One tensor as onnxruntime computed it.
#[derive(Debug, Deserialize)]
pub struct RefTensor {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its first values (row-major).
    pub values: Vec<f64>,
    /// The largest |value| over all of it.
    pub abs_max: f64,
}

/// The script's output.
#[derive(Debug, Deserialize)]
pub struct Reference {
    /// The model inputs, flat.
    pub input: Vec<Vec<f32>>,
    /// Tensors by ONNX name.
    pub values: HashMap<String, RefTensor>,
}

/// How one of trustml's tensors compares with onnxruntime's.
#[derive(Debug, Clone)]
pub struct Row {
    /// The ONNX name.
    pub name: String,
    /// trustml's shape.
    pub shape: Vec<usize>,
    /// The largest |trustml − onnxruntime| over the values compared.
    pub max_abs_diff: f64,
    /// `max_abs_diff / (1 + |largest reference value|)`.
    pub relative: f64,
    /// trustml's largest |value|.
    pub abs_max: f64,
    /// The shapes differ (then nothing else is compared).
    pub shape_mismatch: bool,
}

impl Row {
    /// Whether this tensor is off by more than `tol` (relative), or has another shape.
    pub fn diverges(&self, tol: f64) -> bool {
        self.shape_mismatch || !self.relative.is_finite() || self.relative > tol
    }
}

/// Evaluates `g` on the reference's inputs and compares every tensor both have, in graph order.
pub fn compare(g: &Graph, r: &Reference) -> Result<Vec<Row>, String> {
    let inputs: Vec<Tensor<f32>> = g
        .inputs
        .iter()
        .zip(&r.input)
        .map(|(&id, data)| Tensor::new(g.values[id].shape.clone(), data.clone()))
        .collect();
    if inputs.len() != g.inputs.len() {
        return Err(format!(
            "the reference has {} inputs, the model {}",
            r.input.len(),
            g.inputs.len()
        ));
    }
    let all = eval(g, &inputs).map_err(|e| e.to_string())?;
    let squeeze = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
    Ok(g.values
        .iter()
        .zip(&all)
        .filter_map(|(v, t)| {
            let want = r.values.get(&v.name)?;
            let ours_max = t.data.iter().fold(0f64, |m, &x| m.max((x as f64).abs()));
            if squeeze(&t.shape) != squeeze(&want.shape) {
                return Some(Row {
                    name: v.name.clone(),
                    shape: t.shape.clone(),
                    max_abs_diff: f64::NAN,
                    relative: f64::NAN,
                    abs_max: ours_max,
                    shape_mismatch: true,
                });
            }
            let d = t
                .data
                .iter()
                .zip(&want.values)
                .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
            // Beyond the stored values only the magnitude can be compared.
            let d = d.max((ours_max - want.abs_max).abs());
            Some(Row {
                name: v.name.clone(),
                shape: t.shape.clone(),
                max_abs_diff: d,
                relative: d / (1.0 + want.abs_max),
                abs_max: ours_max,
                shape_mismatch: false,
            })
        })
        .collect())
}
