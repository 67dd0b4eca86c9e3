//! Models built directly as `ModelProto` messages in Rust (no files): attribute forms and
//! error paths that are awkward to produce with the Python generator.

use prost::Message;
use trustml_onnx::proto::*;
use trustml_onnx::{load_onnx_bytes, outputs, Op, Tensor};

fn dims(shape: &[i64]) -> Option<TypeProto> {
    let dim = shape
        .iter()
        .map(|&d| Dimension {
            value: Some(if d < 0 {
                dimension::Value::DimParam("batch".into())
            } else {
                dimension::Value::DimValue(d)
            }),
        })
        .collect();
    Some(TypeProto {
        tensor_type: Some(TypeProtoTensor {
            elem_type: data_type::FLOAT,
            shape: Some(TensorShapeProto { dim }),
        }),
    })
}

fn vi(name: &str, shape: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: dims(shape),
    }
}

fn node(op: &str, name: &str, ins: &[&str], out: &str, attrs: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        input: ins.iter().map(|s| s.to_string()).collect(),
        output: vec![out.into()],
        name: name.into(),
        op_type: op.into(),
        attribute: attrs,
        ..Default::default()
    }
}

fn attr(name: &str, f: impl FnOnce(&mut AttributeProto)) -> AttributeProto {
    let mut a = AttributeProto {
        name: name.into(),
        ..Default::default()
    };
    f(&mut a);
    a
}

fn tensor(name: &str, shape: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: shape.to_vec(),
        data_type: data_type::FLOAT,
        float_data: data.to_vec(),
        ..Default::default()
    }
}

fn model(
    nodes: Vec<NodeProto>,
    inputs: Vec<ValueInfoProto>,
    out: &str,
    inits: Vec<TensorProto>,
) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        producer_name: "test".into(),
        graph: Some(GraphProto {
            node: nodes,
            name: "g".into(),
            initializer: inits,
            input: inputs,
            output: vec![ValueInfoProto {
                name: out.into(),
                r#type: None,
            }],
            value_info: vec![],
        }),
    }
    .encode_to_vec()
}

#[test]
fn constant_attribute_forms() {
    let bytes = model(
        vec![
            node(
                "Constant",
                "shape",
                &[],
                "s",
                vec![attr("value_ints", |a| a.ints = vec![1, -1])],
            ),
            node("Reshape", "reshape", &["x", "s"], "r", vec![]),
            node(
                "Constant",
                "two",
                &[],
                "k",
                vec![attr("value_float", |a| a.f = 2.0)],
            ),
            node("Mul", "mul", &["k", "r"], "m", vec![]),
            node(
                "Constant",
                "one",
                &[],
                "i",
                vec![attr("value_int", |a| a.i = 1)],
            ),
            node(
                "Cast",
                "cast",
                &["i"],
                "f",
                vec![attr("to", |a| a.i = data_type::FLOAT as i64)],
            ),
            node("Sub", "rsub", &["f", "m"], "y", vec![]),
        ],
        vec![vi("x", &[-1, 2, 3])],
        "y",
        vec![],
    );
    let g = load_onnx_bytes(&bytes).unwrap();
    let kinds: Vec<_> = g.nodes.iter().map(|n| n.op.kind()).collect();
    assert_eq!(kinds, ["Reshape", "MulConst", "SubConst"]);
    assert!(matches!(g.nodes[2].op, Op::SubConst { reversed: true, .. }));
    let x = Tensor::new(vec![1, 2, 3], vec![0., 1., 2., 3., 4., 5.]);
    let y = outputs(&g, &[x]).unwrap();
    assert_eq!(y[0].shape, [1, 6]);
    assert_eq!(y[0].data, [1., -1., -3., -5., -7., -9.]);
}

#[test]
fn batch_norm_folds_into_dense() {
    let bn = ["scale", "bias", "mean", "var"];
    let bytes = model(
        vec![
            node("MatMul", "mm", &["x", "w"], "h", vec![]),
            node(
                "BatchNormalization",
                "bn",
                &["h", bn[0], bn[1], bn[2], bn[3]],
                "y",
                vec![],
            ),
        ],
        vec![vi("x", &[1, 2])],
        "y",
        vec![
            tensor("w", &[2, 2], &[1., 2., 3., 4.]),
            tensor(bn[0], &[2], &[2., 0.5]),
            tensor(bn[1], &[2], &[1., -1.]),
            tensor(bn[2], &[2], &[0.5, 1.]),
            tensor(bn[3], &[2], &[4., 0.25]),
        ],
    );
    let g = load_onnx_bytes(&bytes).unwrap();
    assert_eq!(g.nodes.len(), 1);
    let y = outputs(&g, &[Tensor::new(vec![1, 2], vec![1., 1.])]).unwrap();
    // h = [4, 6]; y = scale (h - mean) / sqrt(var + 1e-5) + bias.
    let want = [
        2. * 3.5 / (4f64 + 1e-5).sqrt() + 1.,
        0.5 * 5. / (0.25f64 + 1e-5).sqrt() - 1.,
    ];
    for (a, b) in y[0].data.iter().zip(want) {
        assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
    }
}

fn err_of(bytes: &[u8]) -> String {
    load_onnx_bytes(bytes).expect_err("should fail").to_string()
}

#[test]
fn gemm_errors() {
    let w = || vec![tensor("w", &[2, 2], &[1., 2., 3., 4.])];
    let e = err_of(&model(
        vec![node("Gemm", "g1", &["w", "x"], "y", vec![])],
        vec![vi("x", &[2, 2])],
        "y",
        w(),
    ));
    assert!(e.contains("g1") && e.contains("constant A"), "{e}");
    let ta = vec![attr("transA", |a| a.i = 1)];
    let e = err_of(&model(
        vec![node("Gemm", "g2", &["x", "w"], "y", ta)],
        vec![vi("x", &[2, 2])],
        "y",
        w(),
    ));
    assert!(e.contains("g2") && e.contains("transA"), "{e}");
    let e = err_of(&model(
        vec![node("Gemm", "g3", &["x", "w"], "y", vec![])],
        vec![vi("x", &[1, 3])],
        "y",
        w(),
    ));
    assert!(e.contains("g3") && e.contains("does not match"), "{e}");
}

#[test]
fn other_errors() {
    // Strides out of range.
    let st = vec![
        attr("strides", |a| a.ints = vec![0, 1]),
        attr("kernel_shape", |a| a.ints = vec![2, 2]),
    ];
    let e = err_of(&model(
        vec![node("MaxPool", "mp", &["x"], "y", st)],
        vec![vi("x", &[1, 1, 4, 4])],
        "y",
        vec![],
    ));
    assert!(e.contains("mp") && e.contains("strides"), "{e}");
    // External data.
    let mut t = tensor("c", &[1], &[]);
    t.data_location = 1;
    let e = err_of(&model(
        vec![node("Add", "add", &["x", "c"], "y", vec![])],
        vec![vi("x", &[1])],
        "y",
        vec![t],
    ));
    assert!(e.contains("externally"), "{e}");
    // A graph output that does not depend on the input.
    let e = err_of(&model(
        vec![node("Identity", "id", &["c"], "y", vec![])],
        vec![vi("x", &[1])],
        "y",
        vec![tensor("c", &[1], &[1.])],
    ));
    assert!(e.contains("constant"), "{e}");
    // Concat with a constant operand.
    let e = err_of(&model(
        vec![node(
            "Concat",
            "cat",
            &["x", "c"],
            "y",
            vec![attr("axis", |a| a.i = 0)],
        )],
        vec![vi("x", &[1])],
        "y",
        vec![tensor("c", &[1], &[1.])],
    ));
    assert!(e.contains("cat") && e.contains("constant operand"), "{e}");
    // No graph at all.
    let e = err_of(&ModelProto::default().encode_to_vec());
    assert!(e.contains("no graph"), "{e}");
}

#[test]
fn clip_min_max_and_unary_ops_import() {
    // Clip's bounds as inputs (opset 11+), and one open bound; Max of two activations; Min
    // with a constant; an Elu with its attribute.
    let bytes = model(
        vec![
            node("Clip", "clip", &["x", "lo", ""], "c", vec![]),
            node(
                "Elu",
                "elu",
                &["x"],
                "e",
                vec![attr("alpha", |a| a.f = 0.5)],
            ),
            node("Max", "max", &["c", "e"], "m", vec![]),
            node("Min", "min", &["m", "k"], "y", vec![]),
        ],
        vec![vi("x", &[1, 4])],
        "y",
        vec![tensor("lo", &[], &[-0.25]), tensor("k", &[], &[1.5])],
    );
    let g = load_onnx_bytes(&bytes).unwrap();
    let kinds: Vec<_> = g.nodes.iter().map(|n| n.op.kind()).collect();
    // Clip, Elu, Max of two activations, Min with a scalar (a clip).
    assert_eq!(kinds, ["Unary", "Unary", "Max", "Unary"]);
    let x = Tensor::new(vec![1, 4], vec![-2., -0.1, 1., 3.]);
    let y = outputs(&g, &[x]).unwrap();
    let elu = |v: f64| if v > 0. { v } else { 0.5 * v.exp_m1() };
    let want: Vec<f64> = [-2f64, -0.1, 1., 3.]
        .iter()
        .map(|&v| v.max(-0.25).max(elu(v)).min(1.5))
        .collect();
    for (a, b) in y[0].data.iter().zip(&want) {
        assert!((*a as f64 - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
fn clip_refuses_crossed_bounds_by_name() {
    let bytes = model(
        vec![node(
            "Clip",
            "clip",
            &["x"],
            "y",
            vec![attr("min", |a| a.f = 2.0), attr("max", |a| a.f = 1.0)],
        )],
        vec![vi("x", &[1, 2])],
        "y",
        vec![],
    );
    let e = load_onnx_bytes(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("clip") && e.contains("min 2 is above its max 1"),
        "{e}"
    );
}

#[test]
fn an_unsupported_op_is_named_with_its_node() {
    let bytes = model(
        vec![node("Hardmax", "my_hardmax", &["x"], "y", vec![])],
        vec![vi("x", &[1, 3])],
        "y",
        vec![],
    );
    let e = load_onnx_bytes(&bytes).unwrap_err().to_string();
    assert!(
        e.contains("my_hardmax") && e.contains("Hardmax") && e.contains("supported ops"),
        "{e}"
    );
}

#[test]
fn ops_that_cannot_be_a_circuit_say_why() {
    for (op, why) in [
        ("Loop", "control flow"),
        ("NonZero", "depends on the data"),
        ("TopK", "ArgMax"),
        ("QuantizeLinear", "float32 model"),
    ] {
        let bytes = model(
            vec![node(op, "n", &["x"], "y", vec![])],
            vec![vi("x", &[1, 3])],
            "y",
            vec![],
        );
        let e = load_onnx_bytes(&bytes).unwrap_err().to_string();
        assert!(e.contains(op) && e.contains(why), "{op}: {e}");
    }
}

#[test]
fn einsum_beyond_one_matrix_product_is_refused_by_name() {
    for eq in ["ij,jk,kl->il", "ij,ij->ij", "ii,ij->j"] {
        let ins = eq.split("->").next().unwrap().split(',').count();
        let names = ["x", "x", "x"];
        let bytes = model(
            vec![node(
                "Einsum",
                "my_einsum",
                &names[..ins],
                "y",
                vec![attr("equation", |a| a.s = eq.as_bytes().to_vec())],
            )],
            vec![vi("x", &[3, 3])],
            "y",
            vec![],
        );
        let e = load_onnx_bytes(&bytes).unwrap_err().to_string();
        assert!(
            e.contains("my_einsum") && e.contains(eq) && e.contains("single matrix products"),
            "{eq}: {e}"
        );
    }
}

#[test]
fn a_string_input_is_refused_with_the_types_that_work() {
    let mut x = vi("x", &[1, 2]);
    x.r#type
        .as_mut()
        .unwrap()
        .tensor_type
        .as_mut()
        .unwrap()
        .elem_type = 8; // STRING
    let bytes = model(
        vec![node("Relu", "r", &["x"], "y", vec![])],
        vec![x],
        "y",
        vec![],
    );
    let e = load_onnx_bytes(&bytes).unwrap_err().to_string();
    assert!(e.contains("float32, int64 and int32"), "{e}");
}
