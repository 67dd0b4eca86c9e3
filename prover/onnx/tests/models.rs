//! Committed test models (tests/data/*.onnx, made by make_test_models.py) against the
//! onnxruntime outputs saved next to them, plus malformed-input tests.

mod common;

use common::*;
use trustml_onnx::{eval, load_onnx, load_onnx_bytes, outputs, Op, Tensor};

const MODELS: &[&str] = &[
    "conv_pads_stride",
    "conv_groups",
    "gemm",
    "matmul_const",
    "conv_bn",
    "conv_bn_shared",
    "broadcast",
    "pad_transpose_concat",
    "pools",
    "shape_arith",
    "opset10",
    "attention",
    "attention_addmask",
    "layernorm_op",
    "layernorm_decomposed",
    "gelu_erf",
    "gelu_op",
    "reduce",
    "split_slice",
    "split18",
    "slice_opset9",
    "gather_const",
    "resize",
    "upsample9",
    "conv_transpose",
    "elementwise_misc",
];

fn check_model(name: &str) -> trustml_onnx::Graph {
    let dir = data_dir();
    let g = load_onnx(&dir.join(format!("{name}.onnx"))).unwrap_or_else(|e| panic!("{name}: {e}"));
    let j = read_json(&dir.join(format!("{name}.json")));
    let ins = inputs(&g, &floats(&j["input_data"])).unwrap();
    let outs = outputs(&g, &ins).unwrap_or_else(|e| panic!("{name}: {e}"));
    let want = floats(&j["output_data"]);
    assert_eq!(outs.len(), want.len(), "{name}: output count");
    for (k, (o, w)) in outs.iter().zip(&want).enumerate() {
        let shape: Vec<usize> = j["output_shapes"][k]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(o.shape, shape, "{name}: output {k} shape");
        let m = mismatch(&o.data, w, 1e-4, 1e-4).unwrap();
        assert!(
            m <= 1.0,
            "{name}: output {k} differs from onnxruntime (ratio {m})"
        );
    }
    g
}

#[test]
fn committed_models_match_onnxruntime() {
    for name in MODELS {
        check_model(name);
    }
}

#[test]
fn batch_norm_folds_into_conv() {
    let g = check_model("conv_bn");
    assert_eq!(
        g.nodes.len(),
        1,
        "BN should be folded: {:?}",
        g.nodes.iter().map(|n| n.op.kind()).collect::<Vec<_>>()
    );
    assert!(matches!(g.nodes[0].op, Op::Conv { .. }));
    assert_eq!(g.values[g.outputs[0]].name, "y");
    // The conv output is also a model output: BN stays standalone (MulConst + AddConst),
    // and both outputs still match onnxruntime.
    let g = check_model("conv_bn_shared");
    let kinds: Vec<_> = g.nodes.iter().map(|n| n.op.kind()).collect();
    assert_eq!(kinds, ["Conv", "MulConst", "AddConst"]);
}

#[test]
fn shape_arithmetic_is_folded() {
    let g = check_model("shape_arith");
    // Only activation ops remain; the batch dim became 1.
    assert_eq!(g.shape(g.inputs[0]), [1, 4, 3]);
    assert!(g.nodes.iter().all(|n| !n.inputs.is_empty()));
    assert!(matches!(
        g.nodes.last().unwrap().op,
        Op::Softmax { axis: 2 }
    ));
}

fn kinds(g: &trustml_onnx::Graph) -> Vec<&'static str> {
    g.nodes.iter().map(|n| n.op.kind()).collect()
}

#[test]
fn transformer_ops_map_to_the_ir() {
    // The causal mask (Range/Unsqueeze/LessOrEqual) folds into one constant Where.
    let g = check_model("attention");
    let k = kinds(&g);
    assert_eq!(k.iter().filter(|&&k| k == "MatMul").count(), 2, "{k:?}");
    let w = g.nodes.iter().find(|n| n.name == "mask").unwrap();
    let Op::Where {
        cond,
        a_const: None,
        b_const: Some(b),
    } = &w.op
    else {
        panic!("{:?}", w.op)
    };
    assert_eq!(cond.shape, [1, 2, 4, 4]);
    assert_eq!(b.shape, [1, 2, 4, 4]);
    assert!(cond.data[..4] == [true, false, false, false] && cond.data[15]);
    assert_eq!(w.inputs.len(), 1);
    // Softmax may feed other nodes now; Div by a constant stays MulConst.
    assert!(matches!(
        g.nodes.iter().find(|n| n.name == "sm").unwrap().op,
        Op::Softmax { axis: 3 }
    ));
    assert_eq!(
        kinds(&check_model("layernorm_op")),
        ["LayerNorm", "LayerNorm"]
    );
    let k = kinds(&check_model("layernorm_decomposed"));
    for op in ["ReduceMean", "Mul", "Sqrt", "Div"] {
        assert!(k.contains(&op), "{k:?}");
    }
    assert_eq!(
        kinds(&check_model("gelu_erf")),
        ["MulConst", "Erf", "AddConst", "Mul", "MulConst"]
    );
    assert_eq!(kinds(&check_model("gelu_op")), ["Gelu", "Gelu"]);
    let g = check_model("split_slice");
    assert_eq!(
        kinds(&g),
        ["Slice", "Slice", "Slice", "Slice", "Slice", "Relu"]
    );
    assert!(matches!(
        &g.nodes[3].op,
        Op::Slice { axes, starts, ends, steps }
            if axes == &[1, 2] && starts == &[1, 1] && ends == &[6, 4] && steps == &[2, 1]
    ));
    assert_eq!(
        kinds(&check_model("gather_const")),
        ["Gather", "Gather", "Gather"]
    );
    assert_eq!(
        kinds(&check_model("resize")),
        ["ResizeNearest", "ResizeNearest"]
    );
    assert_eq!(kinds(&check_model("conv_transpose")), ["ConvTranspose"; 3]);
}

#[test]
fn eval_returns_every_value_and_checks_inputs() {
    let g = load_onnx(&data_dir().join("gemm.onnx")).unwrap();
    let x = Tensor::new(vec![1, 5], vec![0.5; 5]);
    let all = eval(&g, std::slice::from_ref(&x)).unwrap();
    assert_eq!(all.len(), g.values.len());
    for (v, t) in g.values.iter().zip(&all) {
        assert_eq!(v.shape, t.shape);
    }
    assert!(eval(&g, &[]).is_err());
    assert!(eval(&g, &[Tensor::new(vec![5], vec![0.5; 5])]).is_err());
}

fn load_err(name: &str) -> String {
    match load_onnx(&data_dir().join(format!("{name}.onnx"))) {
        Ok(_) => panic!("{name} should not load"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn clean_errors() {
    // Cos was this fixture's unsupported op; it is an element-wise lookup now (`Unary`).
    assert!(load_onnx(&data_dir().join("bad_unsupported_op.onnx")).is_ok());
    let e = load_err("bad_dynamic_dim");
    assert!(
        e.contains("\"x\"") && e.contains("dimension 1") && e.contains("static"),
        "{e}"
    );
    // Opset < 13 Softmax over a non-last axis is lowered now (reshape, softmax, reshape); its
    // values are checked against onnxruntime by `ort_diff.rs` (softmax_coerced).
    assert!(load_onnx(&data_dir().join("bad_softmax_inner.onnx")).is_ok());
    // Private token ids into an embedding are one-hot rows now (`token_embedding` checks the
    // values against onnxruntime and the vocabulary check in the circuit).
    assert!(load_onnx(&data_dir().join("bad_embedding.onnx")).is_ok());
    // A computed Where condition is lowered now (y + c·(x − y)); `compare_where` checks its
    // values against onnxruntime and through the circuit.
    assert!(load_onnx(&data_dir().join("bad_where_cond.onnx")).is_ok());
    let e = load_err("bad_matmul_const_left");
    assert!(
        e.contains("mm") && e.contains("constant left operand"),
        "{e}"
    );
    // Linear resize is supported now (interpolation matrices; `resize_linear` checks it
    // against onnxruntime); this fixture's mode loads.
    assert!(load_onnx(&data_dir().join("bad_resize_linear.onnx")).is_ok());
    let e = load_err("bad_slice_neg_step");
    assert!(e.contains("sl") && e.contains("positive steps"), "{e}");
    // Integer inputs are numbers now (token ids, class indices).
    assert!(load_onnx(&data_dir().join("bad_int_input.onnx")).is_ok());
    let e = load_err("bad_missing_input");
    assert!(e.contains("add") && e.contains("nowhere"), "{e}");
    let e = load_err("bad_ceil_mode");
    assert!(e.contains("mp") && e.contains("ceil_mode"), "{e}");
    let e = load_onnx(&data_dir().join("does_not_exist.onnx"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("does_not_exist"), "{e}");
}

/// A tiny xorshift: deterministic and dependency-free.
fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// Any bytes must give `Ok` or `Err`, never a panic; whatever loads must evaluate or error.
fn must_not_panic(bytes: &[u8]) {
    if let Ok(g) = load_onnx_bytes(bytes) {
        let ins: Vec<_> = g
            .inputs
            .iter()
            .map(|&i| Tensor::filled(g.shape(i).to_vec(), 0.25f32))
            .collect();
        if g.nodes.len() < 64
            && g.values
                .iter()
                .all(|v| v.shape.iter().product::<usize>() < 1 << 16)
        {
            let _ = eval(&g, &ins);
        }
    }
}

#[test]
fn garbage_truncated_and_mutated_files_do_not_panic() {
    assert!(load_onnx_bytes(b"").is_err());
    assert!(load_onnx_bytes(b"this is not an onnx file at all").is_err());
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for len in [1usize, 7, 100, 1000] {
        let junk: Vec<u8> = (0..len).map(|_| rng(&mut seed) as u8).collect();
        must_not_panic(&junk);
    }
    // Mutation count per file; raise with TRUSTML_FUZZ_ITERS for a longer local run.
    let iters: usize = std::env::var("TRUSTML_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let mut files: Vec<_> = MODELS
        .iter()
        .map(|n| data_dir().join(format!("{n}.onnx")))
        .collect();
    // The peer fixtures, when present, add more op variety (their loads may fail cleanly).
    if let Some(rd) = peer_dir().and_then(|d| std::fs::read_dir(d).ok()) {
        files.extend(
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("network.onnx"))
                .filter(|p| p.is_file()),
        );
    }
    for path in &files {
        let name = path.display();
        let bytes = std::fs::read(path).unwrap();
        let strict = path.starts_with(data_dir());
        for cut in 0..bytes.len() {
            let r = load_onnx_bytes(&bytes[..cut]);
            must_not_panic(&bytes[..cut]);
            if strict && cut + 1 < bytes.len() / 2 {
                assert!(r.is_err(), "{name} truncated at {cut} loaded");
            }
        }
        for _ in 0..iters {
            let mut m = bytes.clone();
            for _ in 0..1 + rng(&mut seed) % 4 {
                let i = (rng(&mut seed) as usize) % m.len();
                match rng(&mut seed) % 3 {
                    0 => m[i] = rng(&mut seed) as u8,
                    1 => m[i] ^= 1 << (rng(&mut seed) % 8),
                    _ => m[i] = [0, 1, 0x7f, 0x80, 0xff][(rng(&mut seed) % 5) as usize],
                }
            }
            must_not_panic(&m);
        }
    }
}
