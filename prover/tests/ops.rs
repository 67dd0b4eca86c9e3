//! Every supported op, through the whole circuit: for each small ONNX test model (made by
//! `prover/onnx/tests/data/make_test_models.py`, with onnxruntime's outputs), the quantized
//! outputs track the float ones, `MockProver` accepts the honest witness, and changing the
//! output of any kind of instruction is rejected.

use halo2_proofs::dev::MockProver;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use trustml::circuit::{Salts, Visibilities, Witness};
use trustml::data::read_samples;
use trustml::model::{CompileOptions, CompiledModel};
use trustml::program::{Instr, Program, WRef, Wire};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("onnx/tests/data")
        .join(name)
}

/// Wires some instruction reads, or that the model outputs.
fn read_wires(p: &Program) -> HashSet<Wire> {
    let mut s = HashSet::new();
    for i in &p.instrs {
        match i {
            Instr::Dot { terms, .. } => {
                for &(x, w) in terms {
                    s.insert(x);
                    if let WRef::Wire(w) = w {
                        s.insert(w);
                    }
                }
            }
            Instr::Lookup { input, .. } => {
                s.insert(*input);
            }
            Instr::Arith { a, b, .. } => {
                s.insert(*a);
                s.insert(*b);
            }
            Instr::DivRound { num, den, .. } => {
                s.insert(*num);
                s.insert(*den);
            }
        }
    }
    s.extend(p.outputs.iter().flat_map(|(_, w)| w.iter().copied()));
    s
}

/// One used output wire per kind of instruction present.
fn tamper_targets(p: &Program) -> Vec<(&'static str, Wire)> {
    let used = read_wires(p);
    let mut out: Vec<(&'static str, Wire)> = vec![];
    for i in &p.instrs {
        let (kind, w) = match i {
            Instr::Dot { terms, out } if terms.iter().any(|t| matches!(t.1, WRef::Wire(_))) => {
                ("dot of activations", *out)
            }
            Instr::Dot { out, .. } => ("dot", *out),
            Instr::Lookup { out, input, .. } if out == input => continue,
            Instr::Lookup {
                out, wide: true, ..
            } => ("wide rescale", *out),
            Instr::Lookup { out, .. } => ("lookup", *out),
            Instr::Arith { out, .. } => ("arith", *out),
            Instr::DivRound { out, .. } => ("division", *out),
        };
        if used.contains(&w) && !out.iter().any(|(k, _)| *k == kind) {
            out.push((kind, w));
        }
    }
    // An input the output copies: for shape-only models (Gather, Slice…) the only thing
    // to change. (Checked against the honest public output.)
    let inputs: HashSet<Wire> = p
        .inputs
        .iter()
        .flat_map(|(_, w)| w.iter().copied())
        .collect();
    if let Some(&w) = p
        .outputs
        .iter()
        .flat_map(|(_, w)| w.iter())
        .find(|w| inputs.contains(w))
    {
        out.push(("input", w));
    }
    out
}

fn check_model(name: &str, tolerance: f64) {
    let onnx = data(&format!("{name}.onnx"));
    let json = data(&format!("{name}.json"));
    let samples = read_samples(&json).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model = CompiledModel::compile(
        &onnx,
        &samples,
        &CompileOptions {
            vis: Visibilities::default(),
            ..Default::default()
        },
        dir.path(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let w = model.witness(&samples[0], &json, Salts::default()).unwrap();

    // Outputs track onnxruntime's.
    let want = samples[0].output_data.clone().expect("output_data");
    let got = model.outputs(&w);
    let mut worst = 0.0f64;
    for (g, t) in got.iter().zip(&want) {
        for (a, b) in g.values.iter().zip(t) {
            let err = (a - *b as f64).abs() / (1.0 + (*b as f64).abs());
            worst = worst.max(err);
        }
    }
    eprintln!(
        "{name}: k = {}, scale 2^{}, worst relative error {worst:.4}",
        model.settings.k, model.settings.quant.scale_bits
    );
    assert!(worst <= tolerance, "{name}: error {worst} > {tolerance}");

    // The honest witness satisfies the circuit...
    let k = model.settings.k;
    let honest = model.circuit(Some(w.clone()));
    let instances = honest.instances().unwrap();
    MockProver::run(k, &honest, vec![instances.clone()])
        .unwrap()
        .assert_satisfied();
    // ...and no kind of instruction can have its result changed.
    let targets = tamper_targets(&model.program);
    assert!(!targets.is_empty(), "{name}: nothing to tamper with");
    for (kind, wire) in targets {
        let mut bad = w.wires.clone();
        bad[wire as usize] += 1;
        let c = model.circuit(Some(Witness {
            wires: bad,
            salts: w.salts,
        }));
        // The prover claims whatever the tampered witness says, public values included
        // (for a copied input: the honest public output, which no longer matches).
        let claimed = if kind == "input" {
            instances.clone()
        } else {
            c.instances().unwrap()
        };
        let r = MockProver::run(k, &c, vec![claimed]).unwrap();
        assert!(
            r.verify().is_err(),
            "{name}: a tampered {kind} result was accepted"
        );
    }
}

macro_rules! op_tests {
    ($($test:ident: $model:literal, $tol:expr;)*) => {
        $(
            #[test]
            fn $test() {
                check_model($model, $tol);
            }
        )*
    };
}

op_tests! {
    attention_causal_where: "attention", 0.08;
    attention_additive_mask: "attention_addmask", 0.05;
    layer_normalization: "layernorm_op", 0.05;
    layer_norm_decomposed: "layernorm_decomposed", 0.05;
    gelu_from_erf: "gelu_erf", 0.03;
    gelu_op: "gelu_op", 0.03;
    reduce_mean_sum: "reduce", 0.03;
    split_and_slice: "split_slice", 0.02;
    split_opset18: "split18", 0.02;
    slice_opset9: "slice_opset9", 0.02;
    gather_constant_indices: "gather_const", 0.02;
    resize_nearest: "resize", 0.02;
    upsample: "upsample9", 0.02;
    conv_transpose: "conv_transpose", 0.03;
    pow_div_where_misc: "elementwise_misc", 0.1;
    pools: "pools", 0.03;
    grouped_conv: "conv_groups", 0.03;
    broadcast_arith: "broadcast", 0.03;
    pad_transpose_concat: "pad_transpose_concat", 0.02;
    matmul_constant: "matmul_const", 0.03;
    conv_pads_stride: "conv_pads_stride", 0.03;
    gemm: "gemm", 0.03;
}
