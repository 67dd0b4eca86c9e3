//! zkml import: the lowered program must reproduce zkml's own integer semantics exactly.
//!
//! The reference below is written independently of `trustml::zkml`, from zkml's source
//! (ddkang/zkml `src/layers/*.rs`, `src/gadgets/{var_div,bias_div_round_relu6}.rs`): it
//! reads the msgpack with serde structs mirroring zkml's `utils/loader.rs` and runs each
//! layer as plain loops over `i64` tensors.

use rmpv::Value;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use trustml::zkml::{load_zkml, ZkmlError, ZkmlModel};

// ---------------------------------------------------------------- reference --------------

#[derive(Clone, Debug, Deserialize)]
struct TensorMsgpack {
    idx: i64,
    shape: Vec<i64>,
    data: Vec<i64>,
}

#[derive(Clone, Debug, Deserialize)]
struct LayerMsgpack {
    layer_type: String,
    params: Vec<i64>,
    inp_idxes: Vec<i64>,
    #[allow(dead_code)]
    inp_shapes: Vec<Vec<i64>>,
    out_idxes: Vec<i64>,
    out_shapes: Vec<Vec<i64>>,
}

#[derive(Clone, Debug, Deserialize)]
struct ModelMsgpack {
    global_sf: i64,
    out_idxes: Vec<i64>,
    tensors: Vec<TensorMsgpack>,
    layers: Vec<LayerMsgpack>,
}

#[derive(Clone, Debug, PartialEq)]
struct T {
    shape: Vec<usize>,
    data: Vec<i64>,
}

impl T {
    fn new(shape: Vec<usize>, data: Vec<i64>) -> T {
        assert_eq!(shape.iter().product::<usize>(), data.len());
        T { shape, data }
    }
    fn flat(&self, idx: &[usize]) -> usize {
        assert_eq!(idx.len(), self.shape.len());
        let mut f = 0;
        for (d, &i) in idx.iter().enumerate() {
            assert!(i < self.shape[d], "index {idx:?} out of {:?}", self.shape);
            f = f * self.shape[d] + i;
        }
        f
    }
    fn at(&self, idx: &[usize]) -> i64 {
        self.data[self.flat(idx)]
    }
}

/// Every multi-index of `shape`, row-major.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &d in shape {
        out = out
            .into_iter()
            .flat_map(|p| {
                (0..d).map(move |i| {
                    let mut q = p.clone();
                    q.push(i);
                    q
                })
            })
            .collect();
    }
    out
}

/// zkml's VarDivRound / BiasDivRound: `(2a + b) / (2b)` rounded down (a half rounds up).
fn div_round(a: i64, b: i64) -> i64 {
    (2 * a + b).div_euclid(2 * b)
}

/// numpy broadcasting of two tensors to a common shape.
fn bcast(a: &T, b: &T) -> (T, T) {
    let n = a.shape.len().max(b.shape.len());
    let lift = |t: &T| {
        let mut s = vec![1; n - t.shape.len()];
        s.extend(&t.shape);
        T::new(s, t.data.clone())
    };
    let (a, b) = (lift(a), lift(b));
    let shape: Vec<usize> = (0..n).map(|d| a.shape[d].max(b.shape[d])).collect();
    let get = |t: &T, idx: &[usize]| {
        let src: Vec<usize> = idx
            .iter()
            .zip(&t.shape)
            .map(|(&i, &d)| if d == 1 { 0 } else { i })
            .collect();
        t.at(&src)
    };
    let ids = indices(&shape);
    (
        T::new(shape.clone(), ids.iter().map(|i| get(&a, i)).collect()),
        T::new(shape, ids.iter().map(|i| get(&b, i)).collect()),
    )
}

fn activation(v: i64, act: i64, sf: i64) -> i64 {
    match act {
        0 => v,
        1 => v.max(0),
        3 => v.clamp(0, 6 * sf),
        a => panic!("activation {a}"),
    }
}

fn ref_conv(x: &T, w: &T, bias: Option<&T>, p: &[i64], sf: i64) -> T {
    let (conv_type, same, act) = (p[0], p[1] == 0, p[2]);
    let (si, sj) = (p[3] as usize, p[4] as usize);
    let (bsz, h, wd, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
    let (kh, kw) = (w.shape[1], w.shape[2]);
    // conv2d.rs get_padding (the height term really uses sj).
    let (pt, pb, pl, pr) = if same {
        let ph = if h % si == 0 {
            kh as i64 - sj as i64
        } else {
            kh as i64 - (h % si) as i64
        }
        .max(0) as usize;
        let pw = if wd % sj == 0 {
            kw as i64 - sj as i64
        } else {
            kw as i64 - (wd % sj) as i64
        }
        .max(0) as usize;
        (ph / 2, ph - ph / 2, pw / 2, pw - pw / 2)
    } else {
        (0, 0, 0, 0)
    };
    let (ph, pw) = (h + pt + pb, wd + pl + pr);
    let mut xp = T::new(vec![bsz, ph, pw, c], vec![0; bsz * ph * pw * c]);
    for idx in indices(&x.shape) {
        let f = xp.flat(&[idx[0], idx[1] + pt, idx[2] + pl, idx[3]]);
        xp.data[f] = x.at(&idx);
    }
    let (oh, ow) = if same {
        (h.div_ceil(si), wd.div_ceil(sj))
    } else {
        ((h - kh) / si + 1, (wd - kw) / sj + 1)
    };
    let oc = if conv_type == 0 {
        w.shape[0]
    } else {
        w.shape[3]
    };
    let mut out = vec![];
    for b in 0..bsz {
        for i in 0..oh {
            for j in 0..ow {
                for co in 0..oc {
                    let mut sum = 0i64;
                    for a in 0..kh {
                        for e in 0..kw {
                            if conv_type == 0 {
                                for k in 0..c {
                                    sum += xp.at(&[b, i * si + a, j * sj + e, k])
                                        * w.at(&[co, a, e, k]);
                                }
                            } else {
                                sum +=
                                    xp.at(&[b, i * si + a, j * sj + e, co]) * w.at(&[0, a, e, co]);
                            }
                        }
                    }
                    let bias = bias.map_or(0, |t| t.data[co]);
                    out.push(activation(div_round(sum, sf) + bias, act, sf));
                }
            }
        }
    }
    T::new(vec![bsz, oh, ow, oc], out)
}

fn ref_pool(x: &T, p: &[i64], max: bool) -> T {
    let (fh, fw, sh, sw) = (p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize);
    let (h, w, c) = (x.shape[1], x.shape[2], x.shape[3]);
    let (oh, ow) = ((h - fh) / sh + 1, (w - fw) / sw + 1);
    let mut out = vec![];
    for i in 0..oh {
        for j in 0..ow {
            for k in 0..c {
                let win: Vec<i64> = (0..fh)
                    .flat_map(|a| (0..fw).map(move |b| (i * sh + a, j * sw + b)))
                    .map(|(y, z)| x.at(&[0, y, z, k]))
                    .collect();
                out.push(if max {
                    *win.iter().max().unwrap()
                } else {
                    div_round(win.iter().sum(), (fh * fw) as i64)
                });
            }
        }
    }
    T::new(vec![1, oh, ow, c], out)
}

fn ref_fc(x: &T, w: &T, bias: Option<&T>, act: i64, sf: i64) -> T {
    let (m, k) = if x.shape.len() == 2 {
        (x.shape[0], x.shape[1])
    } else {
        (x.shape[1], x.shape[2])
    };
    let n = w.shape[0];
    let mut out = vec![];
    for r in 0..m {
        for j in 0..n {
            let mut sum = 0;
            for i in 0..k {
                sum += x.data[r * k + i] * w.at(&[j, i]);
            }
            let b = bias.map_or(0, |b| b.data[if b.data.len() == n { j } else { r * n + j }]);
            out.push(activation(div_round(sum, sf) + b, act, sf));
        }
    }
    T::new(vec![m, n], out)
}

fn ref_mean(x: &T, axes: &[i64], out_shape: Vec<usize>) -> T {
    let keep: Vec<usize> = (1..x.shape.len())
        .filter(|&d| !axes.contains(&(d as i64)))
        .collect();
    assert_eq!(keep.len(), 1);
    let ka = keep[0];
    let count = x.data.len() / x.shape[ka];
    let mut sums = vec![0i64; x.shape[ka]];
    for idx in indices(&x.shape) {
        sums[idx[ka]] += x.at(&idx);
    }
    T::new(
        out_shape,
        sums.into_iter()
            .map(|s| div_round(s, count as i64))
            .collect(),
    )
}

fn ref_transpose(x: &T, p: &[i64]) -> T {
    let nd = p.len() / 2;
    let shape: Vec<usize> = p[..nd].iter().map(|&d| d as usize).collect();
    let perm: Vec<usize> = p[nd..].iter().map(|&d| d as usize).collect();
    let src = T::new(shape.clone(), x.data.clone());
    let out_shape: Vec<usize> = perm.iter().map(|&q| shape[q]).collect();
    let data = indices(&out_shape)
        .iter()
        .map(|oi| {
            let mut si = vec![0; nd];
            for d in 0..nd {
                si[perm[d]] = oi[d];
            }
            src.at(&si)
        })
        .collect();
    T::new(out_shape, data)
}

fn ref_pad(x: &T, p: &[i64]) -> T {
    let pads: Vec<(usize, usize)> = p
        .chunks(2)
        .map(|c| (c[0] as usize, c[1] as usize))
        .collect();
    let shape: Vec<usize> = x
        .shape
        .iter()
        .zip(&pads)
        .map(|(&d, &(a, b))| d + a + b)
        .collect();
    let mut out = T::new(shape.clone(), vec![0; shape.iter().product()]);
    for idx in indices(&x.shape) {
        let o: Vec<usize> = idx.iter().zip(&pads).map(|(&i, &(a, _))| i + a).collect();
        let f = out.flat(&o);
        out.data[f] = x.at(&idx);
    }
    out
}

fn ref_concat(xs: &[&T], axis: usize) -> T {
    let mut shape = xs[0].shape.clone();
    shape[axis] = xs.iter().map(|t| t.shape[axis]).sum();
    let data = indices(&shape)
        .iter()
        .map(|idx| {
            let mut i = idx[axis];
            for t in xs {
                if i < t.shape[axis] {
                    let mut j = idx.clone();
                    j[axis] = i;
                    return t.at(&j);
                }
                i -= t.shape[axis];
            }
            unreachable!()
        })
        .collect();
    T::new(shape, data)
}

/// Runs the model in zkml's integer semantics; returns the output tensors.
fn reference(model_bytes: &[u8], inputs: &[(i64, Vec<i64>)]) -> Vec<T> {
    let m: ModelMsgpack = rmp_serde::from_slice(model_bytes).unwrap();
    let sf = m.global_sf;
    let mut vals: HashMap<i64, T> = HashMap::new();
    for t in &m.tensors {
        if !t.data.is_empty() {
            vals.insert(
                t.idx,
                T::new(
                    t.shape.iter().map(|&d| d as usize).collect(),
                    t.data.clone(),
                ),
            );
        }
    }
    for (idx, data) in inputs {
        let shape = m
            .layers
            .iter()
            .find_map(|l| {
                l.inp_idxes
                    .iter()
                    .position(|i| i == idx)
                    .map(|p| l.inp_shapes[p].clone())
            })
            .unwrap();
        vals.insert(
            *idx,
            T::new(shape.iter().map(|&d| d as usize).collect(), data.clone()),
        );
    }
    for l in &m.layers {
        let ins: Vec<&T> = l.inp_idxes.iter().map(|i| &vals[i]).collect();
        let p = &l.params;
        let out_shape: Vec<usize> = l.out_shapes[0].iter().map(|&d| d as usize).collect();
        let out = match l.layer_type.as_str() {
            "Conv2D" => ref_conv(ins[0], ins[1], ins.get(2).copied(), p, sf),
            "AveragePool2D" => ref_pool(ins[0], p, false),
            "MaxPool2D" => ref_pool(ins[0], p, true),
            "FullyConnected" => ref_fc(ins[0], ins[1], ins.get(2).copied(), p[0], sf),
            "Mean" => ref_mean(ins[0], p, out_shape.clone()),
            "Add" | "Sub" | "Mul" => {
                let (a, b) = bcast(ins[0], ins[1]);
                let data = a
                    .data
                    .iter()
                    .zip(&b.data)
                    .map(|(&x, &y)| match l.layer_type.as_str() {
                        "Add" => activation(x + y, p.first().copied().unwrap_or(0), sf),
                        "Sub" => x - y,
                        _ => div_round(x * y, sf),
                    })
                    .collect();
                T::new(a.shape, data)
            }
            "Reshape" => T::new(out_shape.clone(), ins[0].data.clone()),
            "Transpose" => ref_transpose(ins[0], p),
            "Pad" => ref_pad(ins[0], p),
            "Concatenation" => ref_concat(&ins, p[0] as usize),
            other => panic!("reference has no {other}"),
        };
        assert_eq!(
            out.data.len(),
            out_shape.iter().product::<usize>(),
            "{}",
            l.layer_type
        );
        vals.insert(l.out_idxes[0], T::new(out_shape, out.data));
    }
    m.out_idxes.iter().map(|o| vals[o].clone()).collect()
}

// ---------------------------------------------------------------- helpers ----------------

/// The zkml MNIST fixture, committed in `prover/fixtures/zkml-mnist`: never skipped.
fn fixture_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/zkml-mnist");
    assert!(
        d.join("model.msgpack").exists() && d.join("inp.msgpack").exists(),
        "{} is committed but missing",
        d.display()
    );
    d
}

fn program_outputs(model: &ZkmlModel, lookup_bits: u32, inputs: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let program = model.to_program(lookup_bits).unwrap();
    let w = program.eval(inputs).unwrap();
    program
        .output_values(&w)
        .into_iter()
        .map(|o| o.into_iter().map(|v| v as i64).collect())
        .collect()
}

fn check(model_bytes: &[u8], model: &ZkmlModel, lookup_bits: u32, inputs: &[Vec<i64>]) -> Vec<i64> {
    let named: Vec<(i64, Vec<i64>)> = model
        .inp_idxes
        .iter()
        .copied()
        .zip(inputs.iter().cloned())
        .collect();
    let want = reference(model_bytes, &named);
    let got = program_outputs(model, lookup_bits, inputs);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, &w.data);
    }
    got.into_iter().next().unwrap()
}

fn argmax(v: &[i64]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

/// A deterministic generator (no RNG dependency needed for a few perturbations).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: i64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as i64
    }
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect(),
    )
}

fn ints(v: &[i64]) -> Value {
    Value::Array(v.iter().map(|&x| Value::from(x)).collect())
}

fn encode(v: &Value) -> Vec<u8> {
    let mut out = vec![];
    rmpv::encode::write_value(&mut out, v).unwrap();
    out
}

fn set_field(v: &mut Value, key: &str, new: Value) {
    let Value::Map(m) = v else { panic!() };
    for (k, x) in m.iter_mut() {
        if k.as_str() == Some(key) {
            *x = new;
            return;
        }
    }
    m.push((Value::from(key), new));
}

fn field<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
    let Value::Map(m) = v else { panic!() };
    &mut m
        .iter_mut()
        .find(|(k, _)| k.as_str() == Some(key))
        .unwrap()
        .1
}

// ---------------------------------------------------------------- tests ------------------

#[test]
fn mnist_fixture_matches_zkml_semantics() {
    let dir = fixture_dir();
    let bytes = std::fs::read(dir.join("model.msgpack")).unwrap();
    let model = load_zkml(&dir.join("model.msgpack"), Some(&dir.join("inp.msgpack"))).unwrap();
    assert_eq!(model.global_sf, 512);
    assert_eq!(model.scale_bits().unwrap(), 9);
    let input = model.input_values().unwrap();
    assert_eq!(input[0].len(), 784);

    // The smallest lookup domain the fixture input needs (ReLU6 alone needs 6·512 < 2^12).
    let program = model.to_program(16).unwrap();
    let fits = |b: u32| model.to_program(b).unwrap().eval(&input).is_ok();
    let min_bits = (2..=24).find(|&b| fits(b)).unwrap();
    eprintln!(
        "zkml mnist: {} instrs, {} wires, {} weights, smallest lookup_bits for the fixture input: {min_bits}",
        program.instrs.len(),
        program.num_wires,
        program.weights.len()
    );
    assert_eq!(program.qp.scale_bits, 9);

    let out = check(&bytes, &model, 16, &input);
    eprintln!(
        "zkml mnist logits (×1/512): {out:?} → class {}",
        argmax(&out)
    );

    // Perturbed inputs: noise, a shifted image, blank and saturated images.
    let mut rng = Lcg(7);
    let base = &input[0];
    let mut cases = vec![];
    for _ in 0..3 {
        cases.push(
            base.iter()
                .map(|&x| (x + rng.next(257) - 128).clamp(0, 1024))
                .collect::<Vec<_>>(),
        );
    }
    cases.push(
        (0..784)
            .map(|i| if i % 28 >= 2 { base[i - 2] } else { 0 })
            .collect(),
    );
    cases.push(vec![0; 784]);
    cases.push((0..784).map(|_| rng.next(1025)).collect());
    for c in cases {
        check(&bytes, &model, 20, &[c]);
    }
}

#[test]
fn mnist_fixture_has_the_expected_layers_and_rejects_a_config_file() {
    let dir = fixture_dir();
    let model = load_zkml(&dir.join("model.msgpack"), None).unwrap();
    let kinds: Vec<&str> = model.layers.iter().map(|l| l.layer_type.as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "Conv2D").count(), 6);
    assert!(kinds.contains(&"AveragePool2D") && kinds.contains(&"Mul") && kinds.contains(&"Add"));
    // Without inp.msgpack the program still builds (the input shape comes from the layers).
    let p = model.to_program(16).unwrap();
    assert_eq!(p.inputs[0].0, vec![1, 28, 28, 1]);
    assert_eq!(p.outputs[0].0, vec![1, 1, 1, 10]);
    assert!(matches!(model.input_values(), Err(ZkmlError::Input(_))));

    let cfg = dir.join("config.msgpack");
    if cfg.exists() {
        let m = load_zkml(&cfg, None).unwrap();
        let e = m.to_program(16).unwrap_err().to_string();
        assert!(e.contains("no data"), "{e}");
    }
}

#[test]
fn unknown_layer_type_is_named_with_its_index() {
    let dir = fixture_dir();
    let bytes = std::fs::read(dir.join("model.msgpack")).unwrap();
    let mut v = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
    let Value::Array(layers) = field(&mut v, "layers") else {
        panic!()
    };
    set_field(&mut layers[3], "layer_type", Value::from("Frobnicate"));
    let e = ZkmlModel::from_bytes(&encode(&v), "m.msgpack").unwrap_err();
    assert!(
        matches!(&e, ZkmlError::UnknownLayer { index: 3, layer_type } if layer_type == "Frobnicate"),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("layer 3") && msg.contains("Frobnicate"),
        "{msg}"
    );

    // A known zkml layer that trustml cannot reproduce is named too.
    let mut v = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
    let Value::Array(layers) = field(&mut v, "layers") else {
        panic!()
    };
    set_field(&mut layers[5], "layer_type", Value::from("Softmax"));
    let m = ZkmlModel::from_bytes(&encode(&v), "m.msgpack").unwrap();
    let msg = m.to_program(16).unwrap_err().to_string();
    assert!(msg.contains("layer 5 (Softmax)"), "{msg}");
}

#[test]
fn bad_bytes_are_errors_not_panics() {
    let dir = fixture_dir();
    let bytes = std::fs::read(dir.join("model.msgpack")).unwrap();
    for cut in [0, 1, 10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let e = ZkmlModel::from_bytes(&bytes[..cut], "cut.msgpack").unwrap_err();
        assert!(matches!(e, ZkmlError::Msgpack { .. }), "cut at {cut}: {e}");
        assert!(e.to_string().contains("cut.msgpack"));
    }
    // Arbitrary bytes: any error, no panic.
    let mut rng = Lcg(3);
    for _ in 0..200 {
        let mut b = bytes.clone();
        for _ in 0..4 {
            let i = rng.next(b.len() as i64) as usize;
            b[i] = rng.next(256) as u8;
        }
        if let Ok(m) = ZkmlModel::from_bytes(&b, "fuzz") {
            let _ = m.to_program(16).map(|p| p.eval(&[vec![0; 784]]));
        }
    }
    // A field of the wrong type is named.
    let mut v = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
    let Value::Array(layers) = field(&mut v, "layers") else {
        panic!()
    };
    set_field(&mut layers[2], "params", Value::from("oops"));
    let msg = ZkmlModel::from_bytes(&encode(&v), "m.msgpack")
        .unwrap_err()
        .to_string();
    assert!(msg.contains("layers[2].params"), "{msg}");
    // A non-power-of-two scale factor is refused with an explanation.
    let mut v = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
    set_field(&mut v, "global_sf", Value::from(500));
    let m = ZkmlModel::from_bytes(&encode(&v), "m.msgpack").unwrap();
    assert!(matches!(m.to_program(16), Err(ZkmlError::Scale(500))));
    // Truncated input file.
    let inp = std::fs::read(dir.join("inp.msgpack")).unwrap();
    let e = trustml::zkml::parse_input_bytes(&inp[..inp.len() / 2], "inp").unwrap_err();
    assert!(matches!(e, ZkmlError::Msgpack { .. }), "{e}");
}

fn tensor(idx: i64, shape: &[i64], data: Vec<i64>) -> Value {
    map(vec![
        ("idx", Value::from(idx)),
        ("shape", ints(shape)),
        ("data", ints(&data)),
    ])
}

fn layer(kind: &str, params: &[i64], ins: &[(i64, &[i64])], out: (i64, &[i64])) -> Value {
    map(vec![
        ("layer_type", Value::from(kind)),
        ("params", ints(params)),
        (
            "inp_idxes",
            ints(&ins.iter().map(|i| i.0).collect::<Vec<_>>()),
        ),
        (
            "inp_shapes",
            Value::Array(ins.iter().map(|i| ints(i.1)).collect()),
        ),
        ("out_idxes", ints(&[out.0])),
        ("out_shapes", Value::Array(vec![ints(out.1)])),
        ("mask", ints(&[])),
    ])
}

fn random(rng: &mut Lcg, n: usize, lo: i64, hi: i64) -> Vec<i64> {
    (0..n).map(|_| lo + rng.next(hi - lo + 1)).collect()
}

/// A synthetic model using every other supported layer, checked on random inputs.
#[test]
fn synthetic_layers_match_zkml_semantics() {
    let mut rng = Lcg(11);
    let sf = 64;
    let r = &mut rng;
    let tensors = vec![
        tensor(10, &[1, 3, 3, 3], random(r, 27, -40, 40)), // depthwise weights
        tensor(11, &[3], random(r, 3, -30, 30)),
        tensor(12, &[4, 2, 2, 3], random(r, 48, -40, 40)), // conv weights
        tensor(13, &[4], random(r, 4, -30, 30)),
        tensor(14, &[5, 16], random(r, 80, -40, 40)), // fc weights
        tensor(15, &[5], random(r, 5, -30, 30)),
        tensor(16, &[4], random(r, 4, -50, 50)),
        tensor(17, &[1, 1, 1, 4], random(r, 4, -80, 80)),
    ];
    let layers = vec![
        // x0: [1,6,6,3]
        layer(
            "Conv2D",
            &[1, 0, 3, 1, 1],
            &[(0, &[1, 6, 6, 3]), (10, &[1, 3, 3, 3]), (11, &[3])],
            (20, &[1, 6, 6, 3]),
        ),
        layer(
            "Conv2D",
            &[0, 0, 1, 2, 2],
            &[(20, &[1, 6, 6, 3]), (12, &[4, 2, 2, 3]), (13, &[4])],
            (21, &[1, 3, 3, 4]),
        ),
        layer(
            "Pad",
            &[0, 0, 1, 0, 0, 1, 0, 0],
            &[(21, &[1, 3, 3, 4])],
            (22, &[1, 4, 4, 4]),
        ),
        layer(
            "MaxPool2D",
            &[2, 2, 1, 1],
            &[(22, &[1, 4, 4, 4])],
            (23, &[1, 3, 3, 4]),
        ),
        layer(
            "AveragePool2D",
            &[3, 3, 1, 1],
            &[(22, &[1, 4, 4, 4])],
            (24, &[1, 2, 2, 4]),
        ),
        layer(
            "Sub",
            &[],
            &[(24, &[1, 2, 2, 4]), (16, &[4])],
            (25, &[1, 2, 2, 4]),
        ),
        layer(
            "Mul",
            &[],
            &[(25, &[1, 2, 2, 4]), (24, &[1, 2, 2, 4])],
            (26, &[1, 2, 2, 4]),
        ),
        layer(
            "Add",
            &[1],
            &[(26, &[1, 2, 2, 4]), (17, &[1, 1, 1, 4])],
            (27, &[1, 2, 2, 4]),
        ),
        layer(
            "Transpose",
            &[1, 2, 2, 4, 0, 3, 1, 2],
            &[(27, &[1, 2, 2, 4])],
            (28, &[1, 4, 2, 2]),
        ),
        layer("Reshape", &[], &[(28, &[1, 4, 2, 2])], (29, &[1, 16])),
        layer(
            "FullyConnected",
            &[1],
            &[(29, &[1, 16]), (14, &[5, 16]), (15, &[5])],
            (30, &[1, 5]),
        ),
        layer("Mean", &[1, 2], &[(23, &[1, 3, 3, 4])], (31, &[1, 4])),
        layer("Sub", &[], &[(16, &[4]), (31, &[1, 4])], (32, &[1, 4])),
        layer(
            "Concatenation",
            &[1],
            &[(30, &[1, 5]), (32, &[1, 4])],
            (33, &[1, 9]),
        ),
    ];
    let model = map(vec![
        ("global_sf", Value::from(sf)),
        ("k", Value::from(12)),
        ("num_cols", Value::from(6)),
        ("inp_idxes", ints(&[0])),
        ("out_idxes", ints(&[33])),
        ("tensors", Value::Array(tensors)),
        ("layers", Value::Array(layers)),
    ]);
    let bytes = encode(&model);
    let m = ZkmlModel::from_bytes(&bytes, "synthetic").unwrap();
    let p = m.to_program(20).unwrap();
    // The 3×3 average (9 does not divide 64) takes the constrained division.
    assert!(p
        .instrs
        .iter()
        .any(|i| matches!(i, trustml::program::Instr::DivRound { .. })));
    for _ in 0..20 {
        let x = random(&mut rng, 108, -2 * sf, 2 * sf);
        check(&bytes, &m, 20, &[x]);
    }
}
