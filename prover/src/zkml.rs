//! Import of the original zkml project's model format (`model.msgpack` + `inp.msgpack`).
//!
//! zkml (github ddkang/zkml) ships models already quantized: every tensor is a list of
//! integers at scale `global_sf` (the scale factor itself, e.g. 512 — not its log), and each
//! layer fixes its own integer rounding. [`ZkmlModel::to_program`] builds a [`Program`]
//! whose [`Program::eval`] reproduces zkml's integer results exactly, so a model proven by
//! zkml is proven here with the same outputs.
//!
//! zkml's integer semantics (file references are to ddkang/zkml `src/`):
//! - Division by a positive `b` is always `floor((2a + b) / (2b))` — round half up:
//!   `gadgets/var_div.rs` (`rounded_div` on a shifted non-negative value, shift a multiple
//!   of `b`) and `gadgets/bias_div_round_relu6.rs` (`(2·inp + sf) / (2·sf)`, shift
//!   `sf²·2^17`). With `b = 2^s` that is exactly our rescale.
//! - Conv2D (`layers/conv2d.rs`): `params = [type (0 conv, 1 depthwise), padding (0 same,
//!   1 valid), activation (0 none, 1 relu, 3 relu6), stride_h, stride_w]`, NHWC input,
//!   weights `[O, KH, KW, C]` (depthwise `[1, KH, KW, C]`), bias at scale `sf`:
//!   `y = round(Σ x·w / sf) + bias`, then `clamp(y, 0, 6·sf)` (relu6) or `max(y, 0)`.
//!   "Same" padding uses zkml's own `get_padding`, reproduced as is.
//! - FullyConnected (`layers/fully_connected.rs`, normalize = true): weights `[N, K]`,
//!   `y = round(x·Wᵀ / sf) + bias`, `params[0]` = 0 none / 1 relu.
//! - AveragePool2D (`layers/avg_pool_2d.rs`, `averager.rs`, `max_pool_2d.rs::splat`):
//!   `params = [fh, fw, sh, sw]`, valid windows, `round(Σ window / (fh·fw))`.
//!   MaxPool2D: the window maximum. Mean (`layers/mean.rs`): `params` are the reduced axes,
//!   exactly one non-batch axis is kept, `round(Σ / count)`.
//! - Add / Sub (`layers/arithmetic/{add,sub}.rs`): plain sums with numpy broadcasting
//!   (`utils/helpers.rs::broadcast`); Add's `params[0]` = 1 fuses a relu.
//!   Mul (`arithmetic/mul.rs`): `round(a·b / sf)`.
//! - Reshape, Transpose (`params = input shape ++ permutation`), Pad (`params` = before/after
//!   pairs per axis, zero fill), Concatenation (`params[0]` = axis), Noop (`params[0]` =
//!   which input to pass on): wiring only.
//!
//! Softmax, Logistic, Tanh and the other lookup layers use zkml's own tables (e.g. Softmax's
//! `exp` is at scale `sf²`) which our function set does not hold: they are rejected with an
//! error saying so.

use crate::program::{Instr, Program, WRef, Wire, ONE, ZERO};
use crate::quant::QuantParams;
use crate::table::{Func, FuncSet};
use rmpv::Value;
use std::collections::HashMap;
use std::path::Path;
use thiserror::Error;

/// Every layer type zkml's `model.rs` knows (`match_layer`).
pub const ZKML_LAYER_TYPES: &[&str] = &[
    "AveragePool2D",
    "Add",
    "BatchMatMul",
    "Broadcast",
    "Concatenation",
    "Conv2D",
    "Div",
    "DivVar",
    "FullyConnected",
    "Gather",
    "Logistic",
    "MaskNegInf",
    "MaxPool2D",
    "Mean",
    "Mul",
    "Noop",
    "Pack",
    "Pad",
    "Pow",
    "Permute",
    "Reshape",
    "ResizeNearestNeighbor",
    "Rotate",
    "Rsqrt",
    "Slice",
    "Softmax",
    "Split",
    "Sqrt",
    "Square",
    "SquaredDifference",
    "Sub",
    "Tanh",
    "Transpose",
    "Update",
];

#[derive(Debug, Error)]
pub enum ZkmlError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not valid msgpack ({msg})")]
    Msgpack { path: String, msg: String },
    #[error("{path}: field `{field}`: {msg}")]
    Field {
        path: String,
        field: String,
        msg: String,
    },
    #[error("layer {index}: unknown layer type '{layer_type}' (zkml knows: {})", ZKML_LAYER_TYPES.join(", "))]
    UnknownLayer { index: usize, layer_type: String },
    #[error("layer {index} ({layer_type}): {msg}")]
    Unsupported {
        index: usize,
        layer_type: String,
        msg: String,
    },
    #[error("global_sf = {0}: trustml needs a power-of-two scale factor 2^s with 1 <= s <= 30 (zkml's rescale divides by sf; ours shifts by s bits)")]
    Scale(i64),
    #[error("model input: {0}")]
    Input(String),
}

/// One tensor: `data` holds `shape.product()` integers at scale `global_sf` (empty in a
/// `config.msgpack`, which keeps only shapes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkmlTensor {
    pub idx: i64,
    pub shape: Vec<usize>,
    pub data: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkmlLayer {
    pub layer_type: String,
    pub params: Vec<i64>,
    pub inp_idxes: Vec<i64>,
    pub inp_shapes: Vec<Vec<usize>>,
    pub out_idxes: Vec<i64>,
    pub out_shapes: Vec<Vec<usize>>,
    pub mask: Vec<i64>,
}

/// A parsed zkml model (and optionally its input).
#[derive(Clone, Debug)]
pub struct ZkmlModel {
    /// The scale factor: a real `x` is the integer `round(x · global_sf)`.
    pub global_sf: i64,
    /// zkml's circuit size (informational: trustml chooses its own).
    pub k: i64,
    pub num_cols: i64,
    pub inp_idxes: Vec<i64>,
    pub out_idxes: Vec<i64>,
    pub tensors: Vec<ZkmlTensor>,
    pub layers: Vec<ZkmlLayer>,
    pub use_selectors: Option<bool>,
    pub commit_before: Vec<Vec<i64>>,
    pub commit_after: Vec<Vec<i64>>,
    /// The input tensors read from `inp.msgpack`, if one was given.
    pub inputs: Vec<ZkmlTensor>,
}

/// Reads `model` (and `input`, zkml's `inp.msgpack`).
pub fn load_zkml(model: &Path, input: Option<&Path>) -> Result<ZkmlModel, ZkmlError> {
    let bytes = read(model)?;
    let mut m = ZkmlModel::from_bytes(&bytes, &model.display().to_string())?;
    if let Some(p) = input {
        m.inputs = load_zkml_input(p)?;
    }
    Ok(m)
}

/// Reads a zkml input file: a list of `{idx, shape, data}`.
pub fn load_zkml_input(path: &Path) -> Result<Vec<ZkmlTensor>, ZkmlError> {
    parse_input_bytes(&read(path)?, &path.display().to_string())
}

fn read(path: &Path) -> Result<Vec<u8>, ZkmlError> {
    std::fs::read(path).map_err(|source| ZkmlError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn decode(bytes: &[u8], path: &str) -> Result<Value, ZkmlError> {
    let mut rd = bytes;
    rmpv::decode::read_value(&mut rd).map_err(|e| ZkmlError::Msgpack {
        path: path.to_string(),
        msg: e.to_string(),
    })
}

/// Parses the bytes of a zkml input file (`path` names it in errors).
pub fn parse_input_bytes(bytes: &[u8], path: &str) -> Result<Vec<ZkmlTensor>, ZkmlError> {
    let v = decode(bytes, path)?;
    let p = Parser { path };
    let list = p.array(&v, "")?;
    list.iter()
        .enumerate()
        .map(|(i, t)| p.tensor(t, &format!("[{i}]")))
        .collect()
}

struct Parser<'a> {
    path: &'a str,
}

impl Parser<'_> {
    fn err(&self, field: &str, msg: impl Into<String>) -> ZkmlError {
        ZkmlError::Field {
            path: self.path.to_string(),
            field: if field.is_empty() {
                "<top level>".into()
            } else {
                field.to_string()
            },
            msg: msg.into(),
        }
    }

    fn get<'v>(
        &self,
        v: &'v Value,
        key: &str,
        field: &str,
    ) -> Result<Option<&'v Value>, ZkmlError> {
        let Value::Map(entries) = v else {
            return Err(self.err(field, format!("expected a map, found {}", kind(v))));
        };
        Ok(entries.iter().find_map(|(k, val)| {
            let matches = match k {
                Value::String(s) => s.as_str() == Some(key),
                Value::Binary(b) => b.as_slice() == key.as_bytes(),
                _ => false,
            };
            matches.then_some(val)
        }))
    }

    fn req<'v>(&self, v: &'v Value, key: &str, field: &str) -> Result<&'v Value, ZkmlError> {
        let f = join(field, key);
        self.get(v, key, field)?
            .filter(|x| !x.is_nil())
            .ok_or_else(|| self.err(&f, "missing"))
    }

    fn array<'v>(&self, v: &'v Value, field: &str) -> Result<&'v [Value], ZkmlError> {
        match v {
            Value::Array(a) => Ok(a),
            other => Err(self.err(field, format!("expected an array, found {}", kind(other)))),
        }
    }

    fn int(&self, v: &Value, field: &str) -> Result<i64, ZkmlError> {
        match v {
            Value::Integer(i) => i
                .as_i64()
                .ok_or_else(|| self.err(field, format!("integer {i} does not fit in i64"))),
            Value::F64(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
            Value::F32(f) if f.fract() == 0.0 && f.abs() < 1.6e7 => Ok(*f as i64),
            other => Err(self.err(field, format!("expected an integer, found {}", kind(other)))),
        }
    }

    fn ints(&self, v: &Value, field: &str) -> Result<Vec<i64>, ZkmlError> {
        self.array(v, field)?
            .iter()
            .enumerate()
            .map(|(i, x)| self.int(x, &format!("{field}[{i}]")))
            .collect()
    }

    fn shape(&self, v: &Value, field: &str) -> Result<Vec<usize>, ZkmlError> {
        let s = self.ints(v, field)?;
        if let Some(d) = s.iter().find(|&&d| !(0..=1 << 32).contains(&d)) {
            return Err(self.err(field, format!("invalid dimension {d}")));
        }
        let shape: Vec<usize> = s.into_iter().map(|d| d as usize).collect();
        if shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d).filter(|&n| n <= 1 << 32))
            .is_none()
        {
            return Err(self.err(field, "shape has too many elements"));
        }
        Ok(shape)
    }

    fn tensor(&self, v: &Value, field: &str) -> Result<ZkmlTensor, ZkmlError> {
        let idx = self.int(self.req(v, "idx", field)?, &join(field, "idx"))?;
        let shape = self.shape(self.req(v, "shape", field)?, &join(field, "shape"))?;
        let data = match self.get(v, "data", field)? {
            None | Some(Value::Nil) => vec![],
            Some(d) => self.ints(d, &join(field, "data"))?,
        };
        let n: usize = shape.iter().product();
        if !data.is_empty() && data.len() != n {
            return Err(self.err(
                &join(field, "data"),
                format!("{} values for shape {shape:?} ({n} elements)", data.len()),
            ));
        }
        Ok(ZkmlTensor { idx, shape, data })
    }

    fn shapes(&self, v: &Value, field: &str) -> Result<Vec<Vec<usize>>, ZkmlError> {
        self.array(v, field)?
            .iter()
            .enumerate()
            .map(|(i, s)| self.shape(s, &format!("{field}[{i}]")))
            .collect()
    }

    fn layer(&self, v: &Value, field: &str) -> Result<ZkmlLayer, ZkmlError> {
        let layer_type = match self.req(v, "layer_type", field)? {
            Value::String(s) => s
                .as_str()
                .ok_or_else(|| self.err(&join(field, "layer_type"), "not valid UTF-8"))?
                .to_string(),
            other => {
                return Err(self.err(
                    &join(field, "layer_type"),
                    format!("expected a string, found {}", kind(other)),
                ))
            }
        };
        let opt_ints = |key: &str| -> Result<Vec<i64>, ZkmlError> {
            match self.get(v, key, field)? {
                None | Some(Value::Nil) => Ok(vec![]),
                Some(x) => self.ints(x, &join(field, key)),
            }
        };
        Ok(ZkmlLayer {
            params: opt_ints("params")?,
            inp_idxes: self.ints(self.req(v, "inp_idxes", field)?, &join(field, "inp_idxes"))?,
            inp_shapes: self.shapes(
                self.req(v, "inp_shapes", field)?,
                &join(field, "inp_shapes"),
            )?,
            out_idxes: self.ints(self.req(v, "out_idxes", field)?, &join(field, "out_idxes"))?,
            out_shapes: self.shapes(
                self.req(v, "out_shapes", field)?,
                &join(field, "out_shapes"),
            )?,
            mask: opt_ints("mask")?,
            layer_type,
        })
    }

    fn nested(&self, v: &Value, key: &str) -> Result<Vec<Vec<i64>>, ZkmlError> {
        match self.get(v, key, "")? {
            None | Some(Value::Nil) => Ok(vec![]),
            Some(x) => self
                .array(x, key)?
                .iter()
                .enumerate()
                .map(|(i, l)| self.ints(l, &format!("{key}[{i}]")))
                .collect(),
        }
    }
}

fn join(field: &str, key: &str) -> String {
    if field.is_empty() {
        key.to_string()
    } else {
        format!("{field}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "a boolean",
        Value::Integer(_) => "an integer",
        Value::F32(_) | Value::F64(_) => "a float",
        Value::String(_) => "a string",
        Value::Binary(_) => "binary data",
        Value::Array(_) => "an array",
        Value::Map(_) => "a map",
        Value::Ext(..) => "an extension value",
    }
}

impl ZkmlModel {
    /// Parses the bytes of a `model.msgpack` (`path` names it in errors).
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self, ZkmlError> {
        let v = decode(bytes, path)?;
        let p = Parser { path };
        let int = |key: &str| p.int(p.req(&v, key, "")?, key);
        let global_sf = int("global_sf")?;
        let k = int("k")?;
        let num_cols = int("num_cols")?;
        let inp_idxes = p.ints(p.req(&v, "inp_idxes", "")?, "inp_idxes")?;
        let out_idxes = p.ints(p.req(&v, "out_idxes", "")?, "out_idxes")?;
        let tensors = p
            .array(p.req(&v, "tensors", "")?, "tensors")?
            .iter()
            .enumerate()
            .map(|(i, t)| p.tensor(t, &format!("tensors[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let layers = p
            .array(p.req(&v, "layers", "")?, "layers")?
            .iter()
            .enumerate()
            .map(|(i, l)| p.layer(l, &format!("layers[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some((index, l)) = layers
            .iter()
            .enumerate()
            .find(|(_, l)| !ZKML_LAYER_TYPES.contains(&l.layer_type.as_str()))
        {
            return Err(ZkmlError::UnknownLayer {
                index,
                layer_type: l.layer_type.clone(),
            });
        }
        let use_selectors = match p.get(&v, "use_selectors", "")? {
            Some(Value::Boolean(b)) => Some(*b),
            _ => None,
        };
        Ok(Self {
            global_sf,
            k,
            num_cols,
            inp_idxes,
            out_idxes,
            tensors,
            layers,
            use_selectors,
            commit_before: p.nested(&v, "commit_before")?,
            commit_after: p.nested(&v, "commit_after")?,
            inputs: vec![],
        })
    }

    /// `s` with `global_sf = 2^s`.
    pub fn scale_bits(&self) -> Result<u32, ZkmlError> {
        let sf = self.global_sf;
        if !(2..=1 << 30).contains(&sf) || sf & (sf - 1) != 0 {
            return Err(ZkmlError::Scale(sf));
        }
        Ok(sf.trailing_zeros())
    }

    /// The shape of each model input (in `inp_idxes` order).
    pub fn input_shapes(&self) -> Result<Vec<Vec<usize>>, ZkmlError> {
        self.inp_idxes
            .iter()
            .map(|&idx| {
                if let Some(t) = self.inputs.iter().find(|t| t.idx == idx) {
                    return Ok(t.shape.clone());
                }
                if let Some(t) = self.tensors.iter().find(|t| t.idx == idx) {
                    return Ok(t.shape.clone());
                }
                self.layers
                    .iter()
                    .find_map(|l| {
                        l.inp_idxes
                            .iter()
                            .position(|&i| i == idx)
                            .and_then(|p| l.inp_shapes.get(p).cloned())
                    })
                    .ok_or_else(|| {
                        ZkmlError::Input(format!("no shape known for input tensor {idx}"))
                    })
            })
            .collect()
    }

    /// The integer input values (scale `global_sf`) of `inp.msgpack`, one list per model
    /// input in `inp_idxes` order: what [`Program::eval`] takes.
    pub fn input_values(&self) -> Result<Vec<Vec<i64>>, ZkmlError> {
        let shapes = self.input_shapes()?;
        self.inp_idxes
            .iter()
            .zip(&shapes)
            .map(|(&idx, shape)| {
                let t = self
                    .inputs
                    .iter()
                    .chain(&self.tensors)
                    .find(|t| t.idx == idx && !t.data.is_empty())
                    .ok_or_else(|| {
                        ZkmlError::Input(format!(
                            "no data for input tensor {idx} (pass inp.msgpack)"
                        ))
                    })?;
                if t.shape.iter().product::<usize>() != shape.iter().product::<usize>() {
                    return Err(ZkmlError::Input(format!(
                        "input tensor {idx} has shape {:?}, the model expects {shape:?}",
                        t.shape
                    )));
                }
                Ok(t.data.clone())
            })
            .collect()
    }

    /// The inputs as reals (`value / global_sf`, exact in f32 for |value| < 2^24): quantizing
    /// them at scale `log2(global_sf)` gives back [`Self::input_values`] exactly.
    pub fn input_floats(&self) -> Result<Vec<Vec<f32>>, ZkmlError> {
        let sf = self.global_sf as f64;
        Ok(self
            .input_values()?
            .into_iter()
            .map(|v| v.into_iter().map(|x| (x as f64 / sf) as f32).collect())
            .collect())
    }

    /// Builds the circuit program. `lookup_bits` sizes the lookup domain as for ONNX models
    /// (ReLU6 needs `6·sf` inside it: at least `log2(sf) + 4` bits).
    pub fn to_program(&self, lookup_bits: u32) -> Result<Program, ZkmlError> {
        let scale_bits = self.scale_bits()?;
        let qp = QuantParams {
            scale_bits,
            lookup_bits,
        };
        Builder::new(self, qp).run()
    }
}

/// A value during the build: activations (wires) or a constant tensor of the model.
#[derive(Clone, Debug)]
enum Val {
    Wires(Vec<usize>, Vec<Wire>),
    Const(i64, Vec<usize>, Vec<i64>),
}

impl Val {
    fn shape(&self) -> &[usize] {
        match self {
            Val::Wires(s, _) | Val::Const(_, s, _) => s,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Act {
    None,
    Relu,
    Relu6,
}

struct Builder<'m> {
    m: &'m ZkmlModel,
    p: Program,
    vals: HashMap<i64, Val>,
    /// Parameter refs of constant tensors, by (tensor idx, multiplier).
    params: HashMap<(i64, i64), Vec<WRef>>,
    sf: i64,
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// numpy broadcasting as zkml's `utils/helpers.rs::broadcast` does it: the output shape
/// and, for each operand, the source index of every output element.
fn broadcast(a: &[usize], b: &[usize]) -> Option<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let n = a.len().max(b.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; n - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (pa, pb) = (pad(a), pad(b));
    let mut out = Vec::with_capacity(n);
    for (&x, &y) in pa.iter().zip(&pb) {
        if x != y && x != 1 && y != 1 {
            return None;
        }
        out.push(x.max(y));
    }
    let map = |s: &[usize]| -> Vec<usize> {
        let st = strides(s);
        let total: usize = out.iter().product();
        let ost = strides(&out);
        (0..total)
            .map(|flat| {
                (0..n)
                    .map(|d| {
                        let i = flat / ost[d] % out[d];
                        if s[d] == 1 {
                            0
                        } else {
                            i * st[d]
                        }
                    })
                    .sum()
            })
            .collect()
    };
    let (ma, mb) = (map(&pa), map(&pb));
    Some((out, ma, mb))
}

impl<'m> Builder<'m> {
    fn new(m: &'m ZkmlModel, qp: QuantParams) -> Self {
        let mut node_names: Vec<String> = m
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| format!("layer {i} ({})", l.layer_type))
            .collect();
        node_names.push("model input".into());
        Self {
            m,
            p: Program {
                qp,
                funcs: FuncSet::default(),
                num_wires: 2,
                inputs: vec![],
                outputs: vec![],
                weights: vec![],
                instrs: vec![],
                node_names,
            },
            vals: HashMap::new(),
            params: HashMap::new(),
            sf: m.global_sf,
        }
    }

    fn wire(&mut self) -> Wire {
        self.p.new_wire()
    }

    fn dot(&mut self, terms: Vec<(Wire, WRef)>) -> Wire {
        let out = self.wire();
        self.p.instrs.push(Instr::Dot { terms, out });
        out
    }

    fn arith(&mut self, a: Wire, b: Wire, k: [i64; 4]) -> Wire {
        let out = self.wire();
        self.p.instrs.push(Instr::Arith { a, b, k, out });
        out
    }

    fn lookup(&mut self, node: usize, input: Wire, rescale: bool, f: Func, wide: bool) -> Wire {
        let tag = self.p.funcs.tag(f) as u16;
        let out = self.wire();
        self.p.instrs.push(Instr::Lookup {
            input,
            rescale,
            tag,
            out,
            node: node as u32,
            wide,
        });
        out
    }

    /// Bounds `w` roughly to `[-2^(B+s-1), 2^(B+s-1))` (as lowering does for inputs and
    /// plain rescales).
    fn coarse_range_check(&mut self, node: usize, w: Wire) {
        self.lookup(node, w, true, Func::Identity, false);
    }

    /// `max(a, b) = b + relu(a - b)`.
    fn max(&mut self, node: usize, a: Wire, b: Wire) -> Wire {
        let d = self.arith(a, b, [0, 1, -1, 0]);
        let r = self.lookup(node, d, false, Func::Relu, false);
        self.arith(r, b, [0, 1, 1, 0])
    }

    /// zkml's `round(v / sf)` (`v` at scale `sf²`, round half up) followed by the activation.
    fn rescale(&mut self, node: usize, wide: Vec<Wire>, act: Act) -> Vec<Wire> {
        let six = 6 * self.sf;
        wide.into_iter()
            .map(|v| match act {
                Act::None => {
                    let out = self.lookup(node, v, true, Func::Identity, true);
                    self.coarse_range_check(node, out);
                    out
                }
                Act::Relu => self.lookup(node, v, true, Func::Relu, false),
                Act::Relu6 => {
                    // clamp(q, 0, 6·sf) = relu(q) - relu(relu(q) - 6·sf)
                    let y = self.lookup(node, v, true, Func::Relu, false);
                    let d = self.arith(y, y, [0, 1, 0, -six]);
                    let r = self.lookup(node, d, false, Func::Relu, false);
                    self.arith(y, r, [0, 1, -1, 0])
                }
            })
            .collect()
    }

    /// zkml's `round(sum / n)` (VarDivRound) for window sums at scale `sf`.
    fn average(&mut self, node: usize, windows: Vec<Vec<Wire>>, n: usize) -> Vec<Wire> {
        let n = n as i64;
        if self.sf % n == 0 {
            // round(sum · (sf/n) / sf) is exactly round(sum / n): one rescale.
            let w = WRef::Const(self.sf / n);
            let wide = windows
                .into_iter()
                .map(|win| self.dot(win.into_iter().map(|x| (x, w)).collect()))
                .collect();
            return self.rescale(node, wide, Act::None);
        }
        // round(sum · 2^s / (n · 2^s)) = floor((2·sum + n) / (2n)): a constrained division.
        let den = self.arith(ZERO, ZERO, [0, 0, 0, n * self.sf]);
        windows
            .into_iter()
            .map(|win| {
                let sum = self.dot(win.into_iter().map(|x| (x, WRef::Const(1))).collect());
                self.p.push_div_round(node as u32, sum, den)
            })
            .collect()
    }

    /// Parameter refs of constant tensor `idx`, each value times `mul`.
    fn param_refs(&mut self, idx: i64, data: &[i64], mul: i64) -> Vec<WRef> {
        if let Some(r) = self.params.get(&(idx, mul)) {
            return r.clone();
        }
        let refs: Vec<WRef> = data
            .iter()
            .map(|&v| {
                self.p.weights.push(v * mul);
                WRef::Param(self.p.weights.len() as u32 - 1)
            })
            .collect();
        self.params.insert((idx, mul), refs.clone());
        refs
    }

    /// The wires of a value (a constant tensor becomes parameter wires).
    fn wires_of(&mut self, v: &Val) -> Vec<Wire> {
        match v {
            Val::Wires(_, w) => w.clone(),
            Val::Const(idx, _, data) => {
                let refs = self.param_refs(*idx, data, 1);
                refs.into_iter().map(|r| self.dot(vec![(ONE, r)])).collect()
            }
        }
    }

    fn run(mut self) -> Result<Program, ZkmlError> {
        let m = self.m;
        let shapes = m.input_shapes()?;
        let input_node = m.layers.len();
        for (&idx, shape) in m.inp_idxes.iter().zip(&shapes) {
            let n: usize = shape.iter().product();
            let ws: Vec<Wire> = (0..n).map(|_| self.wire()).collect();
            for &w in &ws {
                self.coarse_range_check(input_node, w);
            }
            self.p.inputs.push((shape.clone(), ws.clone()));
            self.vals.insert(idx, Val::Wires(shape.clone(), ws));
        }
        for t in &m.tensors {
            if m.inp_idxes.contains(&t.idx) {
                continue;
            }
            self.vals
                .insert(t.idx, Val::Const(t.idx, t.shape.clone(), t.data.clone()));
        }
        for (i, layer) in m.layers.iter().enumerate() {
            self.layer(i, layer)?;
        }
        for &o in &m.out_idxes {
            let v =
                self.vals.get(&o).cloned().ok_or_else(|| {
                    ZkmlError::Input(format!("output tensor {o} is never computed"))
                })?;
            let ws = self.wires_of(&v);
            self.p.outputs.push((v.shape().to_vec(), ws));
        }
        Ok(self.p)
    }

    fn layer(&mut self, index: usize, l: &ZkmlLayer) -> Result<(), ZkmlError> {
        let err = |msg: String| ZkmlError::Unsupported {
            index,
            layer_type: l.layer_type.clone(),
            msg,
        };
        if !ZKML_LAYER_TYPES.contains(&l.layer_type.as_str()) {
            return Err(ZkmlError::UnknownLayer {
                index,
                layer_type: l.layer_type.clone(),
            });
        }
        let mut ins = Vec::with_capacity(l.inp_idxes.len());
        for &i in &l.inp_idxes {
            let v = self.vals.get(&i).cloned().ok_or_else(|| {
                err(format!(
                    "input tensor {i} is neither a model tensor nor computed by an earlier layer"
                ))
            })?;
            if let Val::Const(_, s, d) = &v {
                if d.is_empty() && s.iter().product::<usize>() > 0 {
                    return Err(err(format!(
                        "tensor {i} has no data (a config.msgpack without weights?)"
                    )));
                }
            }
            ins.push(v);
        }
        let need = |n: usize| -> Result<(), ZkmlError> {
            if ins.len() < n {
                Err(err(format!("expects {n} inputs, got {}", ins.len())))
            } else {
                Ok(())
            }
        };
        let param = |i: usize| -> Result<i64, ZkmlError> {
            l.params
                .get(i)
                .copied()
                .ok_or_else(|| err(format!("params[{i}] is missing (params = {:?})", l.params)))
        };
        let outs: Vec<Val> = match l.layer_type.as_str() {
            "Conv2D" => {
                need(2)?;
                vec![self.conv(index, &ins, &err, &param)?]
            }
            "FullyConnected" => {
                need(2)?;
                vec![self.fully_connected(index, &ins, &err, &param)?]
            }
            "AveragePool2D" | "MaxPool2D" => {
                need(1)?;
                let s = ins[0].shape().to_vec();
                if s.len() != 4 || s[0] != 1 {
                    return Err(err(format!("expects a 1×H×W×C input, got {s:?}")));
                }
                let (fh, fw, sh, sw) = (param(0)?, param(1)?, param(2)?, param(3)?);
                if fh < 1 || fw < 1 || sh < 1 || sw < 1 || fh as usize > s[1] || fw as usize > s[2]
                {
                    return Err(err(format!("invalid window/stride params {:?}", l.params)));
                }
                let (fh, fw, sh, sw) = (fh as usize, fw as usize, sh as usize, sw as usize);
                let (h, w, c) = (s[1], s[2], s[3]);
                let (oh, ow) = ((h - fh) / sh + 1, (w - fw) / sw + 1);
                let x = self.wires_of(&ins[0]);
                let mut windows = Vec::with_capacity(oh * ow * c);
                for i in 0..oh {
                    for j in 0..ow {
                        for k in 0..c {
                            let mut win = vec![];
                            for a in 0..fh {
                                for b in 0..fw {
                                    let (y, z) = (i * sh + a, j * sw + b);
                                    if y < h && z < w {
                                        win.push(x[(y * w + z) * c + k]);
                                    }
                                }
                            }
                            windows.push(win);
                        }
                    }
                }
                let shape = vec![1, oh, ow, c];
                let ws = if l.layer_type == "MaxPool2D" {
                    windows
                        .into_iter()
                        .map(|win| {
                            let mut m = win[0];
                            for &v in &win[1..] {
                                m = self.max(index, v, m);
                            }
                            m
                        })
                        .collect()
                } else {
                    self.average(index, windows, fh * fw)
                };
                vec![Val::Wires(shape, ws)]
            }
            "Mean" => {
                need(1)?;
                let s = ins[0].shape().to_vec();
                if s.first() != Some(&1) {
                    return Err(err(format!("expects batch size 1, got shape {s:?}")));
                }
                let mut keep: Vec<usize> = (1..s.len()).collect();
                for &a in &l.params {
                    keep.retain(|&k| k as i64 != a);
                }
                if keep.len() != 1 {
                    return Err(err(format!(
                        "zkml's Mean keeps exactly one non-batch axis; params {:?} on shape {s:?} keep {keep:?}",
                        l.params
                    )));
                }
                let ka = keep[0];
                let x = self.wires_of(&ins[0]);
                let st = strides(&s);
                let n: usize = s.iter().product::<usize>() / s[ka];
                let mut windows = vec![Vec::with_capacity(n); s[ka]];
                for (flat, &w) in x.iter().enumerate() {
                    windows[flat / st[ka] % s[ka]].push(w);
                }
                let ws = self.average(index, windows, n);
                let shape = l.out_shapes.first().cloned().unwrap_or(vec![1, s[ka]]);
                if shape.iter().product::<usize>() != ws.len() {
                    return Err(err(format!(
                        "out_shapes[0] {shape:?} does not hold {} values",
                        ws.len()
                    )));
                }
                vec![Val::Wires(shape, ws)]
            }
            "Add" | "Sub" | "Mul" => {
                need(2)?;
                let (a, b) = (&ins[0], &ins[1]);
                let (shape, ma, mb) = broadcast(a.shape(), b.shape()).ok_or_else(|| {
                    err(format!(
                        "shapes {:?} and {:?} do not broadcast",
                        a.shape(),
                        b.shape()
                    ))
                })?;
                let op = l.layer_type.as_str();
                let act = if op == "Add" {
                    match l.params.first().copied().unwrap_or(0) {
                        0 => Act::None,
                        1 => Act::Relu,
                        other => {
                            return Err(err(format!(
                                "unknown activation {other} (zkml's Add knows 0 none, 1 relu)"
                            )))
                        }
                    }
                } else {
                    Act::None
                };
                let ws = self.elementwise(op, a, b, &ma, &mb);
                let ws = match (op, act) {
                    ("Mul", _) => self.rescale(index, ws, Act::None),
                    (_, Act::Relu) => ws
                        .into_iter()
                        .map(|w| self.lookup(index, w, false, Func::Relu, false))
                        .collect(),
                    _ => ws,
                };
                vec![Val::Wires(shape, ws)]
            }
            "Reshape" => {
                need(1)?;
                let shape = l
                    .out_shapes
                    .first()
                    .cloned()
                    .ok_or_else(|| err("out_shapes is empty".into()))?;
                let v = reshape(&ins[0], shape)
                    .ok_or_else(|| err("out_shapes[0] does not match the input's size".into()))?;
                vec![v]
            }
            "Transpose" => {
                need(1)?;
                if !l.params.len().is_multiple_of(2) {
                    return Err(err(format!(
                        "params {:?}: expected shape ++ permutation",
                        l.params
                    )));
                }
                let nd = l.params.len() / 2;
                let shape: Vec<usize> = l.params[..nd].iter().map(|&d| d.max(0) as usize).collect();
                let perm: Vec<usize> = l.params[nd..].iter().map(|&d| d.max(0) as usize).collect();
                let mut sorted = perm.clone();
                sorted.sort();
                if sorted != (0..nd).collect::<Vec<_>>() {
                    return Err(err(format!("{perm:?} is not a permutation")));
                }
                if shape.iter().product::<usize>() != ins[0].shape().iter().product::<usize>() {
                    return Err(err(format!(
                        "params shape {shape:?} does not match the input {:?}",
                        ins[0].shape()
                    )));
                }
                let x = self.wires_of(&ins[0]);
                let st = strides(&shape);
                let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
                let ost = strides(&out_shape);
                let ws = (0..x.len())
                    .map(|flat| {
                        let src: usize = (0..nd)
                            .map(|d| (flat / ost[d] % out_shape[d]) * st[perm[d]])
                            .sum();
                        x[src]
                    })
                    .collect();
                vec![Val::Wires(out_shape, ws)]
            }
            "Pad" => {
                need(1)?;
                let s = ins[0].shape().to_vec();
                if l.params.len() != 2 * s.len() || l.params.iter().any(|&p| p < 0) {
                    return Err(err(format!(
                        "params {:?}: expected (before, after) for each of {} axes",
                        l.params,
                        s.len()
                    )));
                }
                let pads: Vec<(usize, usize)> = l
                    .params
                    .chunks(2)
                    .map(|c| (c[0] as usize, c[1] as usize))
                    .collect();
                let out_shape: Vec<usize> =
                    s.iter().zip(&pads).map(|(&d, &(a, b))| d + a + b).collect();
                let x = self.wires_of(&ins[0]);
                let mut ws = vec![ZERO; out_shape.iter().product()];
                let (st, ost) = (strides(&s), strides(&out_shape));
                for (flat, &w) in x.iter().enumerate() {
                    let dst: usize = (0..s.len())
                        .map(|d| (flat / st[d] % s[d] + pads[d].0) * ost[d])
                        .sum();
                    ws[dst] = w;
                }
                vec![Val::Wires(out_shape, ws)]
            }
            "Concatenation" => {
                need(1)?;
                let axis = param(0)?;
                let s0 = ins[0].shape().to_vec();
                if axis < 0 || axis as usize >= s0.len() {
                    return Err(err(format!("axis {axis} out of range for shape {s0:?}")));
                }
                let axis = axis as usize;
                for v in &ins[1..] {
                    let s = v.shape();
                    if s.len() != s0.len() || (0..s.len()).any(|d| d != axis && s[d] != s0[d]) {
                        return Err(err(format!(
                            "shapes {s0:?} and {s:?} cannot be concatenated on axis {axis}"
                        )));
                    }
                }
                let outer: usize = s0[..axis].iter().product();
                let mut out_shape = s0.clone();
                out_shape[axis] = ins.iter().map(|v| v.shape()[axis]).sum();
                let parts: Vec<(Vec<Wire>, usize)> = ins
                    .iter()
                    .map(|v| (self.wires_of(v), v.shape()[axis..].iter().product()))
                    .collect();
                let mut ws = Vec::with_capacity(out_shape.iter().product());
                for o in 0..outer {
                    for (x, inner) in &parts {
                        ws.extend_from_slice(&x[o * inner..(o + 1) * inner]);
                    }
                }
                vec![Val::Wires(out_shape, ws)]
            }
            "Noop" => {
                let k = param(0)?;
                let v = usize::try_from(k).ok().and_then(|k| ins.get(k)).cloned();
                vec![v.ok_or_else(|| err(format!("params[0] = {k} names no input")))?]
            }
            "Softmax" => {
                return Err(err(
                    "zkml's softmax uses its own exp table at scale sf² and two big divisions \
                 (round(e_i / round(Σe / sf))); trustml's function set has no such table"
                        .into(),
                ))
            }
            other => {
                return Err(err(format!(
                    "the {other} layer is not supported by trustml's zkml import (supported: \
                     Conv2D, FullyConnected, AveragePool2D, MaxPool2D, Mean, Add, Sub, Mul, \
                     Reshape, Transpose, Pad, Concatenation, Noop)"
                )))
            }
        };
        if outs.len() != l.out_idxes.len() {
            return Err(err(format!(
                "produces {} outputs but out_idxes lists {}",
                outs.len(),
                l.out_idxes.len()
            )));
        }
        for (j, (v, &o)) in outs.into_iter().zip(&l.out_idxes).enumerate() {
            if let Some(s) = l.out_shapes.get(j) {
                if s.as_slice() != v.shape()
                    && s.iter().product::<usize>() == v.shape().iter().product::<usize>()
                {
                    // zkml reshapes freely where sizes agree (e.g. FullyConnected's 2-D output).
                    let v = reshape(&v, s.clone()).expect("same size");
                    self.vals.insert(o, v);
                    continue;
                } else if s.as_slice() != v.shape() {
                    return Err(err(format!(
                        "computes shape {:?} but out_shapes[{j}] says {s:?}",
                        v.shape()
                    )));
                }
            }
            self.vals.insert(o, v);
        }
        Ok(())
    }

    /// Add / Sub / Mul before rescaling, keeping constant operands as parameters.
    fn elementwise(&mut self, op: &str, a: &Val, b: &Val, ma: &[usize], mb: &[usize]) -> Vec<Wire> {
        match (a, b) {
            (Val::Wires(_, x), Val::Wires(_, y)) => {
                let k = match op {
                    "Add" => [0, 1, 1, 0],
                    "Sub" => [0, 1, -1, 0],
                    _ => [1, 0, 0, 0],
                };
                (0..ma.len())
                    .map(|i| self.arith(x[ma[i]], y[mb[i]], k))
                    .collect()
            }
            (Val::Wires(_, x), Val::Const(idx, _, c))
            | (Val::Const(idx, _, c), Val::Wires(_, x)) => {
                let wires_first = matches!(a, Val::Wires(..));
                let (mx, mc) = if wires_first { (ma, mb) } else { (mb, ma) };
                // x - c: the parameter is stored negated; c - x: x enters with weight -1.
                let (xsign, cmul) = match (op, wires_first) {
                    ("Sub", true) => (1, -1),
                    ("Sub", false) => (-1, 1),
                    _ => (1, 1),
                };
                let refs = self.param_refs(*idx, c, cmul);
                (0..mx.len())
                    .map(|i| {
                        let terms = if op == "Mul" {
                            vec![(x[mx[i]], refs[mc[i]])]
                        } else {
                            vec![(x[mx[i]], WRef::Const(xsign)), (ONE, refs[mc[i]])]
                        };
                        self.dot(terms)
                    })
                    .collect()
            }
            (Val::Const(..), Val::Const(..)) => {
                let (x, y) = (self.wires_of(a), self.wires_of(b));
                self.elementwise(op, &Val::Wires(vec![], x), &Val::Wires(vec![], y), ma, mb)
            }
        }
    }

    fn conv(
        &mut self,
        index: usize,
        ins: &[Val],
        err: &dyn Fn(String) -> ZkmlError,
        param: &dyn Fn(usize) -> Result<i64, ZkmlError>,
    ) -> Result<Val, ZkmlError> {
        let depthwise = match param(0)? {
            0 => false,
            1 => true,
            t => return Err(err(format!("unknown conv type {t} (0 conv, 1 depthwise)"))),
        };
        let same = match param(1)? {
            0 => true,
            1 => false,
            p => return Err(err(format!("unknown padding {p} (0 same, 1 valid)"))),
        };
        let act = match param(2)? {
            0 => Act::None,
            1 => Act::Relu,
            3 => Act::Relu6,
            a => {
                return Err(err(format!(
                    "unknown activation {a} (0 none, 1 relu, 3 relu6)"
                )))
            }
        };
        let (si, sj) = (param(3)?, param(4)?);
        if si < 1 || sj < 1 {
            return Err(err(format!("invalid strides {si}, {sj}")));
        }
        let (si, sj) = (si as usize, sj as usize);
        let xs = ins[0].shape().to_vec();
        let Val::Const(widx, ws_shape, wdata) = &ins[1] else {
            return Err(err("weights must be a constant tensor of the model".into()));
        };
        if xs.len() != 4 || ws_shape.len() != 4 {
            return Err(err(format!(
                "expects NHWC input and 4-D weights, got {xs:?} and {ws_shape:?}"
            )));
        }
        let (batch, h, w, c) = (xs[0], xs[1], xs[2], xs[3]);
        let (o, kh, kw, wc) = (ws_shape[0], ws_shape[1], ws_shape[2], ws_shape[3]);
        if depthwise && (batch != 1 || o != 1 || wc != c) {
            return Err(err(format!("depthwise conv expects a 1×H×W×C input and 1×KH×KW×C weights, got {xs:?} and {ws_shape:?}")));
        }
        if !depthwise && wc != c {
            return Err(err(format!(
                "weights have {wc} input channels, the input has {c}"
            )));
        }
        let oc = if depthwise { wc } else { o };
        let bias: Option<Vec<WRef>> = match ins.get(2) {
            None => None,
            Some(Val::Const(bidx, bs, bdata)) => {
                if bdata.len() != oc {
                    return Err(err(format!(
                        "bias shape {bs:?} does not match {oc} output channels"
                    )));
                }
                Some(self.param_refs(*bidx, bdata, self.sf))
            }
            Some(Val::Wires(..)) => {
                return Err(err("bias must be a constant tensor of the model".into()))
            }
        };
        if depthwise && bias.is_none() {
            return Err(err("depthwise conv needs a bias".into()));
        }
        // zkml's get_padding (conv2d.rs), quirks included: the height uses `sj`.
        let ((pt, _), (pl, _)) = if same {
            let ph = if h % si == 0 {
                kh as i64 - sj as i64
            } else {
                kh as i64 - (h % si) as i64
            }
            .max(0) as usize;
            let pw = if w % sj == 0 {
                kw as i64 - sj as i64
            } else {
                kw as i64 - (w % sj) as i64
            }
            .max(0) as usize;
            ((ph / 2, ph - ph / 2), (pw / 2, pw - pw / 2))
        } else {
            ((0, 0), (0, 0))
        };
        let (oh, ow) = if same {
            (h.div_ceil(si), w.div_ceil(sj))
        } else {
            if kh > h || kw > w {
                return Err(err(format!(
                    "kernel {kh}×{kw} is larger than the input {h}×{w}"
                )));
            }
            ((h - kh) / si + 1, (w - kw) / sj + 1)
        };
        // zkml pads by (pt, pb) and reads rows up to (oh-1)·si + kh - 1: cells past the
        // padded input would make it panic; we treat them as zero like the padding.
        let x = self.wires_of(&ins[0]);
        let wr = self.param_refs(*widx, wdata, 1);
        let mut wide = Vec::with_capacity(batch * oh * ow * oc);
        for b in 0..batch {
            for i in 0..oh {
                for j in 0..ow {
                    for ch in 0..oc {
                        let mut terms =
                            Vec::with_capacity(kh * kw * if depthwise { 1 } else { c } + 1);
                        for a in 0..kh {
                            let y = (i * si + a) as isize - pt as isize;
                            if y < 0 || y >= h as isize {
                                continue;
                            }
                            for e in 0..kw {
                                let z = (j * sj + e) as isize - pl as isize;
                                if z < 0 || z >= w as isize {
                                    continue;
                                }
                                let base = ((b * h + y as usize) * w + z as usize) * c;
                                if depthwise {
                                    terms.push((x[base + ch], wr[(a * kw + e) * wc + ch]));
                                } else {
                                    for k in 0..c {
                                        terms.push((
                                            x[base + k],
                                            wr[((ch * kh + a) * kw + e) * wc + k],
                                        ));
                                    }
                                }
                            }
                        }
                        if let Some(br) = &bias {
                            terms.push((ONE, br[ch]));
                        }
                        if terms.is_empty() {
                            terms.push((ZERO, WRef::Const(0)));
                        }
                        wide.push(self.dot(terms));
                    }
                }
            }
        }
        let ws = self.rescale(index, wide, act);
        Ok(Val::Wires(vec![batch, oh, ow, oc], ws))
    }

    fn fully_connected(
        &mut self,
        index: usize,
        ins: &[Val],
        err: &dyn Fn(String) -> ZkmlError,
        param: &dyn Fn(usize) -> Result<i64, ZkmlError>,
    ) -> Result<Val, ZkmlError> {
        let act = match param(0)? {
            0 => Act::None,
            1 => Act::Relu,
            a => return Err(err(format!("unknown activation {a} (0 none, 1 relu)"))),
        };
        let xs = ins[0].shape().to_vec();
        // zkml takes a 2-D input as is and otherwise its first slice along axis 0.
        let (m, k) = match xs.len() {
            2 => (xs[0], xs[1]),
            3 => (xs[1], xs[2]),
            _ => return Err(err(format!("expects a 2-D (or 1×M×K) input, got {xs:?}"))),
        };
        let Val::Const(widx, wshape, wdata) = &ins[1] else {
            return Err(err("weights must be a constant tensor of the model".into()));
        };
        if wshape.len() != 2 || wshape[1] != k {
            return Err(err(format!(
                "weights {wshape:?} do not match an input of {k} features"
            )));
        }
        let n = wshape[0];
        let bias = match ins.get(2) {
            None => None,
            Some(Val::Const(bidx, bs, bdata)) => {
                let (_, _, mb) = broadcast(&[m, n], bs)
                    .filter(|(s, _, _)| s == &vec![m, n])
                    .ok_or_else(|| err(format!("bias {bs:?} does not broadcast to [{m}, {n}]")))?;
                Some((self.param_refs(*bidx, bdata, self.sf), mb))
            }
            Some(Val::Wires(..)) => {
                return Err(err("bias must be a constant tensor of the model".into()))
            }
        };
        let x = self.wires_of(&ins[0]);
        let wr = self.param_refs(*widx, wdata, 1);
        let mut wide = Vec::with_capacity(m * n);
        for r in 0..m {
            for j in 0..n {
                let mut terms: Vec<(Wire, WRef)> =
                    (0..k).map(|i| (x[r * k + i], wr[j * k + i])).collect();
                if let Some((br, mb)) = &bias {
                    terms.push((ONE, br[mb[r * n + j]]));
                }
                wide.push(self.dot(terms));
            }
        }
        let ws = self.rescale(index, wide, act);
        Ok(Val::Wires(vec![m, n], ws))
    }
}

fn reshape(v: &Val, shape: Vec<usize>) -> Option<Val> {
    if shape.iter().product::<usize>() != v.shape().iter().product::<usize>() {
        return None;
    }
    Some(match v {
        Val::Wires(_, w) => Val::Wires(shape, w.clone()),
        Val::Const(i, _, d) => Val::Const(*i, shape, d.clone()),
    })
}

/// A zkml input file (`inp.msgpack`) as input data for a model at scale `2^scale_bits`
/// (one tensor per model input, in file order; `value / 2^s` is exact in f32).
pub fn input_data(path: &Path, scale_bits: u32) -> Result<crate::data::InputData, ZkmlError> {
    let sf = (1u64 << scale_bits) as f64;
    let tensors = load_zkml_input(path)?;
    Ok(crate::data::InputData {
        input_data: tensors
            .iter()
            .map(|t| t.data.iter().map(|&x| (x as f64 / sf) as f32).collect())
            .collect(),
        input_shapes: Some(tensors.iter().map(|t| t.shape.clone()).collect()),
        output_data: None,
    })
}
