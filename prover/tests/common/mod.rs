//! The float reference on the fixed-point grid, shared by the model tests.
#![allow(dead_code)]

use trustml::data::InputData;
use trustml::model::CompiledModel;
use trustml::quant::QuantParams;
use trustml_onnx::{Graph, Op, Tensor};

/// Rounds to the grid the program puts it on: 2^-s.
fn on_grid_s(qp: QuantParams, v: f32) -> f32 {
    qp.dequantize(qp.quantize(v)) as f32
}

/// The float graph with every constant rounded to the grid the program puts it on
/// (weights and other constants to 2^-s, biases, which are added to products, to 2^-2s;
/// masks beyond ±1e4 are left alone: the program clamps them to a value that saturates the
/// same way).
fn on_grid(graph: &Graph, qp: QuantParams) -> Graph {
    let s = |t: &mut Tensor<f32>| {
        for v in &mut t.data {
            if v.abs() < 1e4 {
                *v = on_grid_s(qp, *v);
            }
        }
    };
    let s2 = |t: &mut Option<Tensor<f32>>| {
        for v in t.iter_mut().flat_map(|t| t.data.iter_mut()) {
            *v = (qp.quantize_double(*v) as f64 / (qp.scale() * qp.scale())) as f32;
        }
    };
    let mut g = graph.clone();
    for n in &mut g.nodes {
        match &mut n.op {
            Op::Dense { weight, bias }
            | Op::Conv { weight, bias, .. }
            | Op::ConvTranspose { weight, bias, .. } => {
                s(weight);
                s2(bias);
            }
            Op::AddConst { c } | Op::SubConst { c, .. } | Op::MulConst { c } => s(c),
            Op::LayerNorm { scale, bias, .. } => {
                s(scale);
                s2(bias);
            }
            Op::Where {
                a_const, b_const, ..
            } => {
                a_const.iter_mut().for_each(s);
                b_const.iter_mut().for_each(s);
            }
            _ => {}
        }
    }
    g
}

/// The float model (f32, `trustml_onnx::eval`) with its constants and its input rounded to
/// the circuit's grid: the float model minus the quantization of what goes in. What remains
/// between it and the circuit's outputs is the circuit's own rounding (rescales, tables,
/// divisions), 2^-(s+1) per rounding when it rounds to nearest, up to 2^-s when it floors.
pub fn grid_reference(model: &CompiledModel, input: &InputData) -> Vec<Vec<f32>> {
    let qp = model.settings.quant;
    let graph = model.graph.as_ref().expect("an ONNX model");
    assert_eq!(graph.inputs.len(), input.input_data.len(), "model inputs");
    let x: Vec<Tensor<f32>> = graph
        .inputs
        .iter()
        .zip(&input.input_data)
        .map(|(&id, x)| Tensor {
            shape: graph.shape(id).to_vec(),
            data: x.iter().map(|&v| on_grid_s(qp, v)).collect(),
        })
        .collect();
    trustml_onnx::eval::outputs(&on_grid(graph, qp), &x)
        .unwrap()
        .into_iter()
        .map(|t| t.data)
        .collect()
}

/// Largest |got − want| in units of 2^-s (ulps), after checking that there are as many
/// outputs, each as long, as in `want` (a zip would stop silently at the shorter one).
pub fn worst_ulps(what: &str, got: &[Vec<f64>], want: &[Vec<f32>], qp: QuantParams) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: number of outputs");
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.len(), w.len(), "{what}: output {i} has the wrong length");
        for (a, b) in g.iter().zip(w) {
            worst = worst.max((a - *b as f64).abs() * qp.scale());
        }
    }
    worst
}
