//! Trained weights as an ONNX model, so the inference pipeline (`trustml compile`, proofs,
//! listings, audits) takes the model a training run produced.
//!
//! The graph is `Gemm(x, W1/2^12, b1/2^12, transB) → Relu → Gemm(·, W2/2^12, b2/2^12,
//! transB)`, input `[1, 64]` (pixels / 16, as the digits fixtures), output the 10 logits.
//! Every weight is an integer over 2^12 (at most 24 bits), so its `f32` is exact: compiled at
//! scale 2^12 the quantized weights are the trained integers themselves (biases, at 2^24,
//! are them times 2^12). That is what lets a later proof link a run's `C_WT` to the
//! compiled model's weight commitment.

use super::sgd::{FixedMlp, WEIGHT_BITS};
use prost::Message;
use trustml_onnx::proto::{
    data_type, dimension, AttributeProto, Dimension, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, TypeProtoTensor, ValueInfoProto,
};

fn tensor(name: &str, dims: &[usize], ints: &[i64]) -> TensorProto {
    let scale = f64::from(1u32 << WEIGHT_BITS);
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: data_type::FLOAT,
        float_data: ints.iter().map(|&v| (v as f64 / scale) as f32).collect(),
        name: name.into(),
        ..Default::default()
    }
}

fn value(name: &str, dims: &[usize]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension {
                            value: Some(dimension::Value::DimValue(d as i64)),
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

fn gemm(name: &str, ins: [&str; 3], out: &str) -> NodeProto {
    NodeProto {
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: vec![out.into()],
        name: name.into(),
        op_type: "Gemm".into(),
        attribute: vec![AttributeProto {
            name: "transB".into(),
            r#type: 2,
            i: 1,
            ..Default::default()
        }],
        ..Default::default()
    }
}

impl FixedMlp {
    /// The MLP as an ONNX file's bytes (see the module docs).
    pub fn to_onnx(&self) -> Vec<u8> {
        let d = self.dims;
        let graph = GraphProto {
            node: vec![
                gemm("fc1", ["input", "W1", "b1"], "z1"),
                NodeProto {
                    input: vec!["z1".into()],
                    output: vec!["a1".into()],
                    name: "relu".into(),
                    op_type: "Relu".into(),
                    ..Default::default()
                },
                gemm("fc2", ["a1", "W2", "b2"], "logits"),
            ],
            name: "trustml-trained-mlp".into(),
            initializer: vec![
                tensor("W1", &[d.hidden, d.input], &self.w1),
                tensor("b1", &[d.hidden], &self.b1),
                tensor("W2", &[d.classes, d.hidden], &self.w2),
                tensor("b2", &[d.classes], &self.b2),
            ],
            input: vec![value("input", &[1, d.input])],
            output: vec![value("logits", &[1, d.classes])],
            value_info: vec![],
        };
        ModelProto {
            ir_version: 8,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: 13,
            }],
            producer_name: "trustml train export".into(),
            graph: Some(graph),
        }
        .encode_to_vec()
    }
}

#[cfg(test)]
mod tests {
    use crate::circuit::{Visibilities, Visibility};
    use crate::data::InputData;
    use crate::model::{CompileOptions, CompiledModel};
    use crate::train::{Digits, FixedMlp, Hyper, MlpDims};

    #[test]
    fn the_exported_model_computes_the_trained_mlp() {
        let data = Digits::train().unwrap();
        let mut w = FixedMlp::init(MlpDims::DIGITS, 7);
        let h = Hyper::new(0.1, 8).unwrap();
        for t in 0..40 {
            let (xs, ys) = data.batch(t, 8);
            w.step(&xs, &ys, h);
        }
        let g = trustml_onnx::load_onnx_bytes(&w.to_onnx()).unwrap();
        // The float graph's logits are the fixed-point ones up to their roundings.
        let pixels = |x: &[i64; 64]| x.iter().map(|&p| p as f32 / 16.0).collect::<Vec<_>>();
        for x in &data.pixels[..20] {
            let input = trustml_onnx::Tensor::new(vec![1, 64], pixels(x));
            let out = trustml_onnx::outputs(&g, &[input]).unwrap();
            let (_, z2) = w.forward(x);
            for (f, &z) in out[0].data.iter().zip(&z2) {
                assert!(
                    (f64::from(*f) - z as f64 / 256.0).abs() < 0.05,
                    "{f} vs {z}/256"
                );
            }
        }
        // Compiled at scale 2^12 with hashed weights, the model's weights are the trained
        // integers (biases at 2^24: times 2^12), each once.
        let dir = tempfile::tempdir().unwrap();
        let onnx = dir.path().join("mlp.onnx");
        std::fs::write(&onnx, w.to_onnx()).unwrap();
        let samples: Vec<InputData> = data.pixels[..8]
            .iter()
            .map(|x| InputData {
                input_data: vec![pixels(x)],
                input_shapes: None,
                output_data: None,
            })
            .collect();
        let opts = CompileOptions {
            vis: Visibilities {
                input: Visibility::Private,
                weights: Visibility::Hashed,
                output: Visibility::Public,
            },
            scale_bits: Some(12),
            ..Default::default()
        };
        let m = CompiledModel::compile(&onnx, &samples, &opts, &dir.path().join("m")).unwrap();
        assert_eq!(m.program.qp.scale_bits, 12);
        let mut got = m.program.weights.clone();
        assert_eq!(got.len(), 2410);
        let mut want: Vec<i64> = [&w.w1, &w.w2].into_iter().flatten().copied().collect();
        want.extend(w.b1.iter().chain(&w.b2).map(|b| b << 12));
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
    }
}
