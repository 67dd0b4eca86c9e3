//! The free-cell detector (`trustml_kit::cells`) on every circuit: each advice cell the
//! layout assigns, and each unassigned cell a gate or lookup reads where it is on, is
//! changed alone and some constraint must notice. A cell that may legitimately be anything
//! is listed below with its reason; anything else fails the test.

use halo2_proofs::halo2curves::bn256::Fr;
use std::path::{Path, PathBuf};
use trustml::circuit::{Salts, Visibilities, Visibility};
use trustml::data::read_samples;
use trustml::model::{CompileOptions, CompiledModel};
use trustml_kit::cells::{free_cells, CellReport};

/// MockProver runs that confirm the local verdicts, per circuit.
const CONFIRM: usize = 12;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("onnx/tests/data")
        .join(name)
}

fn report(what: &str, r: &CellReport) {
    eprintln!(
        "{what}: {} cells checked, {} free, {} dead, {} verdicts confirmed by MockProver",
        r.checked,
        r.free.len(),
        r.dead.len(),
        r.confirmed
    );
    for f in r.free.iter().chain(&r.dead) {
        eprintln!("  {f}");
    }
}

/// Compiles op model `name` with `opts`, runs the detector on an honest witness and
/// requires that no cell is free.
fn model(name: &str, opts: CompileOptions) {
    let json = data(&format!("{name}.json"));
    let samples = read_samples(&json).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = CompiledModel::compile(&data(&format!("{name}.onnx")), &samples, &opts, dir.path())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let salts = Salts {
        input: Fr::from(11),
        weights: Fr::from(12),
        output: Fr::from(13),
    };
    let mut w = m.witness(&samples[0], &json, salts).unwrap();
    w.seller = Fr::from(0xabcdef_u64);
    let c = m.circuit(Some(w));
    let inst = c.instances().unwrap();
    let s = &m.settings.shape;
    let what = format!(
        "{name} (in/w/out {}/{}/{}, dot width {}, lanes {}{}, k {})",
        s.vis.input,
        s.vis.weights,
        s.vis.output,
        s.dot_width,
        s.lanes,
        if s.listing { ", listing" } else { "" },
        m.settings.k
    );
    let r = free_cells(m.settings.k, &c, vec![inst], CONFIRM);
    report(&what, &r);
    assert!(
        r.free.is_empty() && r.dead.is_empty(),
        "{what}: free or dead cells (see above)"
    );
}

fn vis(input: Visibility, weights: Visibility, output: Visibility) -> CompileOptions {
    CompileOptions {
        vis: Visibilities {
            input,
            weights,
            output,
        },
        ..Default::default()
    }
}

use Visibility::{Fixed, Hashed, Private, Public};

#[test]
fn model_circuit_fixed_weights() {
    // Dense layer, convolution, elementwise arithmetic and divisions, two dot layouts.
    model("gemm", vis(Private, Fixed, Public));
    model(
        "gemm",
        CompileOptions {
            dot_width: Some(4),
            lanes: Some(2),
            ..vis(Public, Fixed, Public)
        },
    );
    model("layernorm_op", vis(Private, Fixed, Public));
}

#[test]
fn model_circuit_advice_weights() {
    model("gemm", vis(Private, Private, Public));
    model("gemm", vis(Private, Public, Public));
    model(
        "gemm",
        CompileOptions {
            dot_width: Some(8),
            ..vis(Hashed, Hashed, Hashed)
        },
    );
}

#[test]
fn model_circuit_activation_products() {
    // Attention multiplies activations by activations (the dot gate's advice lanes).
    model("attention", vis(Private, Fixed, Public));
    model("attention", vis(Private, Hashed, Private));
}

#[test]
fn listing_circuit() {
    model(
        "gemm",
        CompileOptions {
            listing: true,
            ..vis(Hashed, Fixed, Hashed)
        },
    );
}

#[test]
fn delivery_circuit() {
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use trustml::market::delivery_circuit::DeliveryCircuit;
    use trustml_babyjubjub::{keygen, random_scalar};
    let mut rng = StdRng::seed_from_u64(5);
    let (_, pk) = keygen(&mut rng);
    let c = DeliveryCircuit {
        prompt: trustml_babyjubjub::encode_tokens(&[17, 65535, 0, 4242, 9, 1]),
        salt: trustml_poseidon::random_salt(&mut rng),
        r: random_scalar(&mut rng),
        pk,
        order_tag: Fr::from(0xdead_beef_cafe_u64),
    };
    let k = DeliveryCircuit::min_k(6);
    let r = free_cells(k, &c, vec![c.public_inputs()], CONFIRM);
    report("delivery (6 blocks)", &r);
    assert!(
        r.free.is_empty() && r.dead.is_empty(),
        "delivery: free or dead cells"
    );
}

#[test]
fn image_edit_circuits() {
    use trustml::img::circuit::{ImgCircuit, ImgShape, ImgWitness, Prank};
    use trustml::img::format::band_salts;
    use trustml::img::{Dims, Edit, Image};
    let image =
        |d: Dims| Image::new(d, (0..d.len()).map(|i| (i * 53 % 256) as u8).collect()).unwrap();
    // `shape`'s edit of `input` (a whole image), honest, salts from 3 and 4.
    let honest = |shape: ImgShape, input: Image, params: &str| {
        let out = shape.edit.output(input.dims).unwrap();
        ImgCircuit {
            witness: Some(ImgWitness {
                params: shape.edit.parse_params(params).unwrap(),
                salts_in: band_salts(Fr::from(3), input.dims.bands()),
                salts_out: band_salts(Fr::from(4), out.bands()),
                input,
                prank: Prank::None,
            }),
            shape,
        }
    };
    let no_free_cells = |c: &ImgCircuit, label: &str| {
        let r = free_cells(c.shape.k, c, vec![c.instances().unwrap()], CONFIRM);
        report(&format!("image edit {label}"), &r);
        assert!(
            r.free.is_empty() && r.dead.is_empty(),
            "{label}: free or dead cells"
        );
    };
    let d = Dims::new(5, 4, 3).unwrap();
    // A copy, a parameter with a clamp, nine taps, 16-bit divisions, and a resize whose
    // weights take many values (fixed coefficient columns).
    for (edit, params) in [
        ("crop:1,1,3,2", ""),
        ("contrast", "alpha=1.5"),
        ("blur", ""),
        ("rgb-to-ycbcr", ""),
        ("resize:4x3", ""),
    ] {
        let edit = Edit::parse(edit).unwrap();
        let c = honest(ImgShape::choose(&edit, d, false).unwrap(), image(d), params);
        no_free_cells(&c, &edit.name());
    }
    // The table layout (wide, a pointwise edit, bands of whole words): white balance's three
    // functions in one table, on a 10×3 image.
    let d = Dims::new(10, 3, 3).unwrap();
    let shape = ImgShape::choose(&Edit::WhiteBalance, d, true).unwrap();
    assert!(shape.table, "{shape:?}");
    let c = honest(shape, image(d), "gains=1.3,1.0,0.7");
    no_free_cells(&c, "white balance, table layout");
    // The fused layout (wide, a colour conversion, bands of whole words): each output byte's
    // quotient and remainder in its own grid row, clamped (YCbCr → RGB) or not (RGB → YCbCr).
    for edit in [Edit::YcbcrToRgb, Edit::RgbToYcbcr] {
        let shape = ImgShape::choose(&edit, d, true).unwrap();
        assert!(shape.fused, "{shape:?}");
        no_free_cells(
            &honest(shape.clone(), image(d), ""),
            &format!("{}, fused layout", edit.name()),
        );
        // At k = 16: split remainders (a top column, the half-pair lookups).
        let shape = ImgShape { k: 16, ..shape };
        let shape = ImgShape {
            split: shape.split_fits(),
            ..shape
        };
        assert!(shape.split, "{shape:?}");
        no_free_cells(
            &honest(shape, image(d), ""),
            &format!("{}, fused layout, split remainders", edit.name()),
        );
    }
    // Window lanes (a wide convolution): each lane row copies one input column, and the
    // gate reads the two before it; blur on three lanes, sharpen (clamped) on one.
    let d = Dims::new(12, 5, 3).unwrap();
    for (edit, lanes) in [("blur", 3), ("sharpen", 1)] {
        let edit = Edit::parse(edit).unwrap();
        let mut shape = ImgShape::choose(&edit, d, true).unwrap();
        assert!(shape.window, "{shape:?}");
        shape.lanes = lanes;
        no_free_cells(
            &honest(shape, image(d), ""),
            &format!("{}, window lanes", edit.name()),
        );
    }
    // A band proof: a blur strip of a six-band image, its D_in and D_out public.
    let d = Dims::new(200, 150, 3).unwrap();
    let img = image(d);
    let edit = Edit::parse("blur").unwrap();
    let shape = ImgShape::parts(&edit, d, 14).unwrap().remove(0);
    // Several dense Poseidon lanes, some filled in to the longest.
    assert!(shape.hash_lanes > 1, "{shape:?}");
    let (ins, outs) = shape.plan().unwrap().bands();
    let c = ImgCircuit {
        witness: Some(ImgWitness {
            input: Image::new(
                d.strip(ins.clone()),
                img.data[d.bands_range(ins.clone())].to_vec(),
            )
            .unwrap(),
            params: vec![],
            salts_in: band_salts(Fr::from(3), d.bands())[ins].to_vec(),
            salts_out: band_salts(Fr::from(4), 6)[outs].to_vec(),
            prank: Prank::None,
        }),
        shape,
    };
    no_free_cells(&c, "blur, one band strip");
}

/// The SGD step circuit (64 → 4 → 10, batch 2, a tree of 10 digits).
#[test]
fn train_step_has_no_free_cells() {
    use trustml::train::circuit::{Lanes, StepCircuit, StepShape, StepWitness};
    use trustml::train::commit::CommittedSet;
    use trustml::train::{Digits, FixedMlp, Hyper, MlpDims};
    let all = Digits::train().unwrap();
    let data = Digits {
        pixels: all.pixels[..10].to_vec(),
        labels: all.labels[..10].to_vec(),
    };
    let set = CommittedSet::new(&data, (0..10).map(|i| Fr::from(100 + i)).collect()).unwrap();
    let dims = MlpDims {
        hidden: 4,
        ..MlpDims::DIGITS
    };
    let h = Hyper {
        lr: 26,
        log_batch: 1,
    };
    let w = StepWitness::new(
        &data,
        &set,
        FixedMlp::init(dims, 7),
        [Fr::from(1), Fr::from(2)],
        4,
        h,
    );
    let inst = w.instances().unwrap();
    let shape = StepShape {
        dims,
        log_batch: 1,
        depth: set.tree.depth() as usize,
        lanes: Lanes::default(),
    };
    let c = StepCircuit::new(shape, Some(w));
    let r = free_cells(c.min_k().unwrap(), &c, vec![inst], CONFIRM);
    report("SGD step (64→4→10, batch 2)", &r);
    assert!(
        r.free.is_empty() && r.dead.is_empty(),
        "SGD step: free or dead cells"
    );
}

/// The link between a run's last commitment and a compiled model's (64 → 4 → 10).
#[test]
fn train_link_has_no_free_cells() {
    use std::sync::Arc;
    use trustml::quant::QuantParams;
    use trustml::train::link::{weight_map, LinkCircuit, LinkWitness};
    use trustml::train::{FixedMlp, MlpDims};
    let dims = MlpDims {
        hidden: 4,
        ..MlpDims::DIGITS
    };
    let w = FixedMlp::init(dims, 9);
    let qp = QuantParams {
        scale_bits: 12,
        lookup_bits: 14,
    };
    let map = weight_map(dims, qp).unwrap();
    let g = trustml::onnx::load_onnx_bytes(&w.to_onnx()).unwrap();
    let model = trustml::program::lower(&g, qp).unwrap().weights;
    let wit = LinkWitness::new(w, Fr::from(1), Fr::from(2), &map, &model).unwrap();
    let inst = wit.instances(&map).unwrap();
    let c = LinkCircuit {
        map: Arc::new(map),
        witness: Some(Arc::new(wit)),
    };
    let k = trustml_kit::rows::min_k(&c, 10).unwrap();
    let r = free_cells(k, &c, vec![inst], CONFIRM);
    report("training link (64→4→10)", &r);
    assert!(
        r.free.is_empty() && r.dead.is_empty(),
        "training link: free or dead cells"
    );
}

/// Every gate polynomial and lookup of the model circuit (all chips on), the delivery circuit,
/// the audit circuit, the image edit circuits and the SGD step circuit, one `MUTANT name` line each: what `prover/scripts/mutation-run.sh` removes in turn.
#[test]
fn mutation_catalog() {
    use halo2_proofs::plonk::{Circuit, ConstraintSystem};
    use trustml::circuit::{CircuitShape, ModelCircuit};
    use trustml::market::delivery_circuit::DeliveryCircuit;
    let shape = CircuitShape {
        dot_width: 4,
        lanes: 2,
        scale_bits: 6,
        vis: Visibilities {
            input: Hashed,
            weights: Fixed,
            output: Hashed,
        },
        act_dot: true,
        arith: true,
        div: true,
        listing: true,
    };
    let shape_for_audit = || CircuitShape {
        vis: Visibilities {
            input: Private,
            weights: Hashed,
            output: Private,
        },
        ..shape.clone()
    };
    let mut model = ConstraintSystem::default();
    let _ = ModelCircuit::configure_with_params(&mut model, shape.clone());
    let mut delivery = ConstraintSystem::default();
    let _ = DeliveryCircuit::configure(&mut delivery);
    let mut audit = ConstraintSystem::default();
    let mut audit_model = shape_for_audit();
    audit_model.listing = false;
    let _ = trustml::audit::circuit::AuditCircuit::configure_with_params(
        &mut audit,
        trustml::audit::circuit::AuditShape {
            model: audit_model,
            batch: 1,
            depth: 2,
        },
    );
    // Image edits: a clamped edit with a parameter, and a 16-bit one in coefficient columns.
    // A wide one hashes with the dense Poseidon chip.
    // `edit`'s chosen shape, changed by `reshape`.
    let img_cs = |edit: &str, wide: bool, reshape: &dyn Fn(&mut trustml::img::ImgShape)| {
        let mut cs = ConstraintSystem::default();
        let e = trustml::img::Edit::parse(edit).unwrap();
        // 10×4: bands of whole words (the table layout, for a wide pointwise edit).
        let d = trustml::img::Dims::new(10, 4, 3).unwrap();
        let mut shape = trustml::img::ImgShape::choose(&e, d, wide).unwrap();
        reshape(&mut shape);
        let _ = trustml::img::ImgCircuit::configure_with_params(&mut cs, shape);
        cs
    };
    let (img, img16) = (
        img_cs("contrast", false, &|_| {}),
        img_cs("resize:4x3", false, &|_| {}),
    );
    // Wide: the dense Poseidon chip, and at k = 17 the byte-pair lookups of a 10-byte grid
    // (room for the byte-pair table, and five pair lookups).
    let img_wide = img_cs("blur", true, &|s| {
        s.k = 17;
        s.grid = trustml::img::circuit::WIDER_GRID_BYTES;
    });
    // The table layout of white balance (a 6-byte grid: six table lookups).
    let img_table = img_cs("white-balance", true, &|_| {});
    // The fused layout of YCbCr → RGB at k = 17: both remainder bytes in one pair lookup.
    let img_fused = img_cs("ycbcr-to-rgb", true, &|s| s.k = 17);
    // RGB → YCbCr at k = 16: split remainders.
    let img_split = img_cs("rgb-to-ycbcr", true, &|s| {
        s.k = 16;
        s.split = s.split_fits();
        assert!(s.split);
    });
    // The SGD step circuit (its EXP table shares the byte lane's lookup).
    let mut train = ConstraintSystem::default();
    let _ =
        trustml::train::circuit::StepCircuit::configure_with_params(&mut train, Default::default());
    let mut names = std::collections::BTreeSet::new();
    for cs in [
        &model, &delivery, &audit, &img, &img16, &img_wide, &img_table, &img_fused, &img_split,
        &train,
    ] {
        for g in cs.gates() {
            for i in 0..g.polynomials().len() {
                names.insert(format!("{}#{i}", g.name()));
            }
        }
        for l in cs.lookups() {
            names.insert(l.name().to_string());
        }
    }
    for n in &names {
        println!("MUTANT {n}");
    }
    // Every chip is in the catalog.
    for gate in [
        "dot#0",
        "arith#0",
        "div_round#0",
        "rescale#2",
        "poseidon absorb#2",
        "babyjub step#0",
        "image word#0",
        "affine#0",
        "affine clamp",
        "affine remainder high",
        "dense poseidon partial pair#5",
        "dense poseidon zero#2",
        "image bytes 8-9",
        "edit table 5",
        "affine remainder",
    ] {
        assert!(names.contains(gate), "{gate} missing from {names:?}");
    }
}
