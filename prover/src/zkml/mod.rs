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

use crate::program::Program;
use crate::quant::QuantParams;
use rmpv::Value;
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

/// An error reading or lowering a zkml model or input.
#[derive(Debug, Error)]
pub enum ZkmlError {
    /// A file could not be read.
    #[error("{path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid msgpack.
    #[error("{path}: not valid msgpack ({msg})")]
    Msgpack {
        /// The file (or the name given for the bytes).
        path: String,
        /// The decoder's error.
        msg: String,
    },
    /// A field is missing or has the wrong type or value.
    #[error("{path}: field `{field}`: {msg}")]
    Field {
        /// The file (or the name given for the bytes).
        path: String,
        /// Dotted path of the field, e.g. `layers[3].params`.
        field: String,
        /// What is wrong with it.
        msg: String,
    },
    /// A layer type that is not in [`ZKML_LAYER_TYPES`].
    #[error("layer {index}: unknown layer type '{layer_type}' (zkml knows: {})", ZKML_LAYER_TYPES.join(", "))]
    UnknownLayer {
        /// Position of the layer in `layers`.
        index: usize,
        /// Its layer type.
        layer_type: String,
    },
    /// A zkml layer (or layer configuration) that trustml cannot lower.
    #[error("layer {index} ({layer_type}): {msg}")]
    Unsupported {
        /// Position of the layer in `layers`.
        index: usize,
        /// Its layer type.
        layer_type: String,
        /// Why it is unsupported.
        msg: String,
    },
    /// `global_sf` is not `2^s` with `1 <= s <= 30`.
    #[error("global_sf = {0}: trustml needs a power-of-two scale factor 2^s with 1 <= s <= 30 (zkml's rescale divides by sf; ours shifts by s bits)")]
    Scale(i64),
    /// A model input or output tensor is missing, mis-shaped or never computed.
    #[error("model input: {0}")]
    Input(String),
}

/// One tensor: `data` holds `shape.product()` integers at scale `global_sf` (empty in a
/// `config.msgpack`, which keeps only shapes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkmlTensor {
    /// Tensor index, as referenced by `inp_idxes` and `out_idxes`.
    pub idx: i64,
    /// The tensor's shape.
    pub shape: Vec<usize>,
    /// Row-major values at scale `global_sf` (empty when only the shape is known).
    pub data: Vec<i64>,
}

/// One zkml layer: its type, integer parameters and the tensors it reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZkmlLayer {
    /// The layer type, one of [`ZKML_LAYER_TYPES`].
    pub layer_type: String,
    /// Layer parameters; their meaning depends on `layer_type` (empty when absent).
    pub params: Vec<i64>,
    /// Indices of the tensors the layer reads.
    pub inp_idxes: Vec<i64>,
    /// Shapes of the tensors the layer reads, in `inp_idxes` order.
    pub inp_shapes: Vec<Vec<usize>>,
    /// Indices of the tensors the layer writes.
    pub out_idxes: Vec<i64>,
    /// Shapes of the tensors the layer writes, in `out_idxes` order.
    pub out_shapes: Vec<Vec<usize>>,
    /// zkml's `mask` list, as read (empty when absent; unused by trustml).
    pub mask: Vec<i64>,
}

/// A parsed zkml model (and optionally its input).
#[derive(Clone, Debug)]
pub struct ZkmlModel {
    /// The scale factor: a real `x` is the integer `round(x · global_sf)`.
    pub global_sf: i64,
    /// zkml's circuit size (informational: trustml chooses its own).
    pub k: i64,
    /// zkml's advice column count (informational: trustml chooses its own).
    pub num_cols: i64,
    /// Indices of the model's input tensors, in input order.
    pub inp_idxes: Vec<i64>,
    /// Indices of the model's output tensors, in output order.
    pub out_idxes: Vec<i64>,
    /// The stored tensors: constants such as weights and biases (and possibly inputs).
    pub tensors: Vec<ZkmlTensor>,
    /// The layers, in evaluation order.
    pub layers: Vec<ZkmlLayer>,
    /// zkml's `use_selectors` flag, if present (informational).
    pub use_selectors: Option<bool>,
    /// zkml's `commit_before` tensor-index groups, as read (empty when absent; informational).
    pub commit_before: Vec<Vec<i64>>,
    /// zkml's `commit_after` tensor-index groups, as read (empty when absent; informational).
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
        lower::lower(self, qp)
    }
}

mod lower;

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
