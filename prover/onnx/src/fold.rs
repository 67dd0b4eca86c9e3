//! Import-time constants and their folding: initializers, `Constant` nodes, and any node
//! whose inputs are all constants (the shape arithmetic `torch.onnx.export` emits).
//! Also the shape rules (Reshape/Squeeze/...) shared with activation ops.

use crate::eval::{binary, concat, numel, transpose};
use crate::proto::{data_type as dt, AttributeProto, NodeProto, TensorProto};
use crate::tensor::Tensor;

// Folding of comparisons, Where, Expand, Range, reductions and more.
mod extra;

/// Largest constant (elements) import-time folding may create.
pub(crate) const FOLD_MAX: usize = 1 << 26;

/// Element kind of a constant: decides rounding after arithmetic and integer division.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    F32,
    F64,
    Int,
    Bool,
}

/// A constant tensor. Values are held as f64: exact for f32 and for any int64 < 2^53.
#[derive(Clone, Debug)]
pub(crate) struct Const {
    pub t: Tensor<f64>,
    pub kind: Kind,
}

impl Const {
    /// The values converted to f32.
    pub fn to_f32(&self) -> Tensor<f32> {
        self.t.map(|&v| v as f32)
    }

    /// The values as integers (shapes, axes, pads, indices).
    pub fn ints(&self) -> Result<Vec<i64>, String> {
        self.t
            .data
            .iter()
            .map(|&v| {
                if v.fract() == 0.0 && v.abs() <= 9.0e15 {
                    Ok(v as i64)
                } else {
                    Err(format!("expected integer values, found {v}"))
                }
            })
            .collect()
    }

    /// Like [`Const::ints`], but saturating huge values (`INT64_MAX` slice ends, which
    /// f64 cannot hold exactly) to `±i64::MAX`.
    pub fn ints_sat(&self) -> Result<Vec<i64>, String> {
        self.t
            .data
            .iter()
            .map(|&v| match v {
                v if v >= 9.0e15 => Ok(i64::MAX),
                v if v <= -9.0e15 => Ok(-i64::MAX),
                v if v.fract() == 0.0 => Ok(v as i64),
                v => Err(format!("expected integer values, found {v}")),
            })
            .collect()
    }

    pub(crate) fn round(mut self) -> Self {
        match self.kind {
            Kind::F32 => self.t.data.iter_mut().for_each(|v| *v = *v as f32 as f64),
            Kind::Int => self.t.data.iter_mut().for_each(|v| *v = v.trunc()),
            Kind::Bool => self
                .t
                .data
                .iter_mut()
                .for_each(|v| *v = (*v != 0.0) as u8 as f64),
            Kind::F64 => {}
        }
        self
    }
}

pub(crate) fn tensor_checked(shape: Vec<usize>, data: Vec<f64>) -> Result<Tensor<f64>, String> {
    if numel(&shape) != Some(data.len()) {
        return Err(format!(
            "tensor of shape {shape:?} has {} values",
            data.len()
        ));
    }
    Ok(Tensor { shape, data })
}

/// Reads a `TensorProto` (typed fields or little-endian `raw_data`).
pub(crate) fn from_proto(t: &TensorProto) -> Result<Const, String> {
    if t.data_location == 1 || !t.external_data.is_empty() {
        return Err(
            "its data is stored externally; re-export with the weights embedded \
                    (onnx.save(model, path, save_as_external_data=False))"
                .into(),
        );
    }
    let shape = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d}")))
        .collect::<Result<Vec<_>, _>>()?;
    let n = numel(&shape).ok_or_else(|| format!("shape {shape:?} is too large"))?;
    let raw = &t.raw_data;
    let (kind, data): (Kind, Vec<f64>) = match t.data_type {
        dt::FLOAT if !raw.is_empty() => (
            Kind::F32,
            le(raw, 4, |b| {
                f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64
            })?,
        ),
        dt::FLOAT => (Kind::F32, t.float_data.iter().map(|&v| v as f64).collect()),
        dt::DOUBLE if !raw.is_empty() => (Kind::F64, le(raw, 8, |b| f64::from_le_bytes(arr8(b)))?),
        dt::DOUBLE => (Kind::F64, t.double_data.clone()),
        dt::INT64 if !raw.is_empty() => (
            Kind::Int,
            le(raw, 8, |b| i64::from_le_bytes(arr8(b)) as f64)?,
        ),
        dt::INT64 => (Kind::Int, t.int64_data.iter().map(|&v| v as f64).collect()),
        dt::INT32 if !raw.is_empty() => (
            Kind::Int,
            le(raw, 4, |b| {
                i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64
            })?,
        ),
        dt::INT8 if !raw.is_empty() => (Kind::Int, raw.iter().map(|&b| b as i8 as f64).collect()),
        dt::UINT8 if !raw.is_empty() => (Kind::Int, raw.iter().map(|&b| b as f64).collect()),
        dt::BOOL if !raw.is_empty() => (
            Kind::Bool,
            raw.iter().map(|&b| (b != 0) as u8 as f64).collect(),
        ),
        dt::INT32 | dt::INT8 | dt::UINT8 => {
            (Kind::Int, t.int32_data.iter().map(|&v| v as f64).collect())
        }
        dt::BOOL => (
            Kind::Bool,
            t.int32_data
                .iter()
                .map(|&v| (v != 0) as u8 as f64)
                .collect(),
        ),
        other => {
            return Err(format!(
                "data type {other} is not supported (use float32 weights)"
            ))
        }
    };
    if data.len() != n {
        return Err(format!(
            "shape {shape:?} needs {n} values, the tensor holds {}",
            data.len()
        ));
    }
    Ok(Const {
        t: Tensor { shape, data },
        kind,
    })
}

fn arr8(b: &[u8]) -> [u8; 8] {
    [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]
}

fn le(raw: &[u8], w: usize, f: impl Fn(&[u8]) -> f64) -> Result<Vec<f64>, String> {
    if !raw.len().is_multiple_of(w) {
        return Err(format!(
            "raw_data length {} is not a multiple of {w}",
            raw.len()
        ));
    }
    Ok(raw.chunks_exact(w).map(f).collect())
}

pub(crate) fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}
pub(crate) fn attr_i(n: &NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}
pub(crate) fn attr_f(n: &NodeProto, name: &str, default: f32) -> f32 {
    attr(n, name).map_or(default, |a| a.f)
}
pub(crate) fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}
pub(crate) fn attr_s(n: &NodeProto, name: &str) -> Option<String> {
    attr(n, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

/// The value of a `Constant` node.
pub(crate) fn constant_node(n: &NodeProto) -> Result<Const, String> {
    let a = n
        .attribute
        .first()
        .ok_or("Constant node has no value attribute")?;
    let f = |shape: Vec<usize>, data: Vec<f64>, kind| {
        Ok(Const {
            t: tensor_checked(shape, data)?,
            kind,
        })
    };
    match a.name.as_str() {
        "value" => from_proto(a.t.as_ref().ok_or("`value` attribute holds no tensor")?),
        "value_float" => f(vec![], vec![a.f as f64], Kind::F32),
        "value_floats" => f(
            vec![a.floats.len()],
            a.floats.iter().map(|&v| v as f64).collect(),
            Kind::F32,
        ),
        "value_int" => f(vec![], vec![a.i as f64], Kind::Int),
        "value_ints" => f(
            vec![a.ints.len()],
            a.ints.iter().map(|&v| v as f64).collect(),
            Kind::Int,
        ),
        other => Err(format!(
            "Constant attribute `{other}` is not supported (use value/value_float(s)/value_int(s))"
        )),
    }
}

/// Normalizes a possibly negative axis against `rank`.
pub(crate) fn norm_axis(axis: i64, rank: usize) -> Result<usize, String> {
    let r = rank as i64;
    if axis < -r || axis >= r {
        return Err(format!("axis {axis} is out of range for rank {rank}"));
    }
    Ok((if axis < 0 { axis + r } else { axis }) as usize)
}

/// ONNX Reshape target: `0` copies the input dim (unless `allowzero`), one `-1` is inferred.
pub(crate) fn reshape_shape(
    input: &[usize],
    spec: &[i64],
    allowzero: bool,
) -> Result<Vec<usize>, String> {
    let total = numel(input).ok_or("input too large")?;
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &s) in spec.iter().enumerate() {
        out.push(match s {
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            0 if !allowzero => *input
                .get(i)
                .ok_or_else(|| format!("shape {spec:?}: 0 at axis {i} has no input dim to copy"))?,
            s if s >= 0 => s as usize,
            _ => return Err(format!("invalid target shape {spec:?}")),
        });
    }
    let known = numel(&out).ok_or("target shape too large")?;
    if let Some(i) = infer {
        if known == 0 || total % known != 0 {
            return Err(format!(
                "cannot infer -1 in {spec:?} for input shape {input:?}"
            ));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(format!(
            "cannot reshape {input:?} ({total} elements) to {spec:?}"
        ));
    }
    Ok(out)
}

pub(crate) fn flatten_shape(input: &[usize], axis: i64) -> Result<Vec<usize>, String> {
    let r = input.len() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a > r {
        return Err(format!("Flatten axis {axis} out of range for rank {r}"));
    }
    let (h, t) = input.split_at(a as usize);
    Ok(vec![h.iter().product(), t.iter().product()])
}

pub(crate) fn squeeze_shape(input: &[usize], axes: Option<&[i64]>) -> Result<Vec<usize>, String> {
    let Some(axes) = axes else {
        return Ok(input.iter().copied().filter(|&d| d != 1).collect());
    };
    let axes = axes
        .iter()
        .map(|&a| norm_axis(a, input.len()))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(&a) = axes.iter().find(|&&a| input[a] != 1) {
        return Err(format!(
            "cannot squeeze axis {a} of shape {input:?}: its size is not 1"
        ));
    }
    Ok(input
        .iter()
        .enumerate()
        .filter(|(i, _)| !axes.contains(i))
        .map(|(_, &d)| d)
        .collect())
}

pub(crate) fn unsqueeze_shape(input: &[usize], axes: &[i64]) -> Result<Vec<usize>, String> {
    let r = input.len() + axes.len();
    let mut axes = axes
        .iter()
        .map(|&a| norm_axis(a, r))
        .collect::<Result<Vec<_>, _>>()?;
    axes.sort_unstable();
    if axes.windows(2).any(|w| w[0] == w[1]) {
        return Err(format!("repeated axis in {axes:?}"));
    }
    let mut it = input.iter();
    Ok((0..r)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                *it.next().unwrap_or(&1)
            }
        })
        .collect())
}

/// Axes given as an attribute (older opsets) or as an optional constant input `idx`.
pub(crate) fn axes_of(
    n: &NodeProto,
    ins: &[Option<&Const>],
    idx: usize,
) -> Result<Option<Vec<i64>>, String> {
    if let Some(a) = attr_ints(n, "axes") {
        return Ok(Some(a));
    }
    ins.get(idx)
        .copied()
        .flatten()
        .map(|c| c.ints())
        .transpose()
}

pub(crate) fn unary(c: &Const, f: impl Fn(f64) -> f64) -> Const {
    Const {
        t: c.t.map(|&v| f(v)),
        kind: c.kind,
    }
    .round()
}

/// Folds `n` whose inputs (`None` for an absent optional input) are all constants.
pub(crate) fn fold(n: &NodeProto, ins: &[Option<&Const>], opset: i64) -> Result<Const, String> {
    let x = || {
        ins.first()
            .copied()
            .flatten()
            .ok_or_else(|| "missing first input".to_string())
    };
    let y = || {
        ins.get(1)
            .copied()
            .flatten()
            .ok_or_else(|| "missing second input".to_string())
    };
    let with = |c: &Const, shape: Vec<usize>| {
        Ok(Const {
            t: tensor_checked(shape, c.t.data.clone())?,
            kind: c.kind,
        })
    };
    match n.op_type.as_str() {
        "Identity" | "Dropout" => Ok(x()?.clone()),
        "Cast" => {
            let kind = match attr_i(n, "to", 0) as i32 {
                dt::FLOAT => Kind::F32,
                dt::DOUBLE => Kind::F64,
                dt::BOOL => Kind::Bool,
                dt::INT64 | dt::INT32 | dt::INT8 | dt::UINT8 => Kind::Int,
                t => return Err(format!("Cast to data type {t} is not supported")),
            };
            Ok(Const {
                t: x()?.t.clone(),
                kind,
            }
            .round())
        }
        "Add" | "Sub" | "Mul" | "Div" | "Pow" => {
            let (a, b) = (x()?, y()?);
            let shape = crate::tensor::broadcast_shape(&a.t.shape, &b.t.shape);
            if shape.and_then(|s| numel(&s)).is_none_or(|c| c > FOLD_MAX) {
                return Err(format!(
                    "cannot fold: shapes {:?} and {:?} broadcast to nothing or too much",
                    a.t.shape, b.t.shape
                ));
            }
            let int = a.kind == Kind::Int && b.kind == Kind::Int;
            let t = match n.op_type.as_str() {
                "Add" => binary(&a.t, &b.t, |p, q| p + q),
                "Sub" => binary(&a.t, &b.t, |p, q| p - q),
                "Mul" => binary(&a.t, &b.t, |p, q| p * q),
                "Pow" => binary(&a.t, &b.t, f64::powf),
                _ if int => binary(
                    &a.t,
                    &b.t,
                    |p, q| if q == 0.0 { 0.0 } else { (p / q).trunc() },
                ),
                _ => binary(&a.t, &b.t, |p, q| p / q),
            }?;
            Ok(Const { t, kind: a.kind }.round())
        }
        "Sqrt" => Ok(unary(x()?, f64::sqrt)),
        "Neg" => Ok(unary(x()?, |v| -v)),
        "Reciprocal" => Ok(unary(x()?, |v| 1.0 / v)),
        "Relu" => Ok(unary(x()?, |v| v.max(0.0))),
        "Floor" => Ok(unary(x()?, f64::floor)),
        "Ceil" => Ok(unary(x()?, f64::ceil)),
        "Gather" => {
            let (d, idx) = (x()?, y()?);
            let axis = norm_axis(attr_i(n, "axis", 0), d.t.rank())?;
            gather(d, &idx.ints()?, &idx.t.shape, axis)
        }
        "Reshape" => {
            let allow = attr_i(n, "allowzero", 0) != 0;
            let spec = if opset < 5 {
                attr_ints(n, "shape").unwrap_or_default()
            } else {
                y()?.ints()?
            };
            with(x()?, reshape_shape(&x()?.t.shape, &spec, allow)?)
        }
        "Flatten" => with(x()?, flatten_shape(&x()?.t.shape, attr_i(n, "axis", 1))?),
        "Squeeze" => with(
            x()?,
            squeeze_shape(&x()?.t.shape, axes_of(n, ins, 1)?.as_deref())?,
        ),
        "Unsqueeze" => {
            let axes = axes_of(n, ins, 1)?.ok_or("Unsqueeze needs axes")?;
            with(x()?, unsqueeze_shape(&x()?.t.shape, &axes)?)
        }
        "Concat" => {
            let cs = ins
                .iter()
                .map(|c| c.ok_or("absent Concat input"))
                .collect::<Result<Vec<_>, _>>()?;
            let first = cs.first().ok_or("Concat has no inputs")?;
            let axis = norm_axis(attr_i(n, "axis", 0), first.t.rank())?;
            let ts: Vec<&Tensor<f64>> = cs.iter().map(|c| &c.t).collect();
            Ok(Const {
                t: concat(&ts, axis)?,
                kind: first.kind,
            })
        }
        "Transpose" => {
            let c = x()?;
            let perm = match attr_ints(n, "perm") {
                Some(p) => p
                    .iter()
                    .map(|&a| usize::try_from(a).map_err(|_| format!("bad perm {p:?}")))
                    .collect::<Result<_, _>>()?,
                None => (0..c.t.rank()).rev().collect::<Vec<_>>(),
            };
            Ok(Const {
                t: transpose(&c.t, &perm)?,
                kind: c.kind,
            })
        }
        "Range" => {
            let scalar = |i: usize| -> Result<(f64, Kind), String> {
                let c = ins
                    .get(i)
                    .copied()
                    .flatten()
                    .ok_or("Range needs start, limit and delta")?;
                match c.t.data[..] {
                    [v] => Ok((v, c.kind)),
                    _ => Err("Range's start, limit and delta must be scalars".into()),
                }
            };
            let ((start, kind), (limit, _), (delta, _)) = (scalar(0)?, scalar(1)?, scalar(2)?);
            if delta == 0.0 {
                return Err("Range with delta 0".into());
            }
            let n = ((limit - start) / delta).ceil().max(0.0) as usize;
            if n > FOLD_MAX {
                return Err("Range result too large".into());
            }
            Ok(Const {
                t: Tensor {
                    shape: vec![n],
                    data: (0..n).map(|i| start + i as f64 * delta).collect(),
                },
                kind,
            })
        }
        "ConstantOfShape" => {
            let shape = x()?
                .ints()?
                .iter()
                .map(|&d| usize::try_from(d).map_err(|_| "negative dim".to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let v = match attr(n, "value").and_then(|a| a.t.as_ref()) {
                Some(t) => from_proto(t)?,
                None => Const {
                    t: Tensor {
                        shape: vec![1],
                        data: vec![0.0],
                    },
                    kind: Kind::F32,
                },
            };
            let fill = *v.t.data.first().ok_or("empty value")?;
            let count = numel(&shape)
                .filter(|&c| c <= FOLD_MAX)
                .ok_or("ConstantOfShape result too large")?;
            Ok(Const {
                t: Tensor {
                    shape,
                    data: vec![fill; count],
                },
                kind: v.kind,
            })
        }
        "Slice" => slice(n, ins, opset),
        _ => extra::fold_more(n, ins, opset),
    }
}

fn gather(d: &Const, idx: &[i64], idx_shape: &[usize], axis: usize) -> Result<Const, String> {
    let dim = d.t.shape[axis];
    let outer: usize = d.t.shape[..axis].iter().product();
    let inner: usize = d.t.shape[axis + 1..].iter().product();
    let mut shape = d.t.shape[..axis].to_vec();
    shape.extend_from_slice(idx_shape);
    shape.extend_from_slice(&d.t.shape[axis + 1..]);
    numel(&shape)
        .filter(|&c| c <= FOLD_MAX)
        .ok_or("Gather result too large")?;
    let mut data = Vec::new();
    for o in 0..outer {
        for &i in idx {
            let j = if i < 0 { i + dim as i64 } else { i };
            if j < 0 || j >= dim as i64 {
                return Err(format!(
                    "Gather index {i} out of range for axis of size {dim}"
                ));
            }
            let s = (o * dim + j as usize) * inner;
            data.extend_from_slice(&d.t.data[s..s + inner]);
        }
    }
    Ok(Const {
        t: tensor_checked(shape, data)?,
        kind: d.kind,
    })
}

fn slice(n: &NodeProto, ins: &[Option<&Const>], opset: i64) -> Result<Const, String> {
    let d = ins.first().copied().flatten().ok_or("missing data")?;
    let get = |i: usize, name: &str| -> Result<Option<Vec<i64>>, String> {
        if opset < 10 {
            Ok(attr_ints(n, name))
        } else {
            ins.get(i)
                .copied()
                .flatten()
                .map(|c| c.ints_sat())
                .transpose()
        }
    };
    let starts = get(1, "starts")?.ok_or("Slice needs starts")?;
    let ends = get(2, "ends")?.ok_or("Slice needs ends")?;
    let r = d.t.rank();
    let axes = match get(3, "axes")? {
        Some(a) => a
            .iter()
            .map(|&a| norm_axis(a, r))
            .collect::<Result<Vec<_>, _>>()?,
        None => (0..starts.len()).collect(),
    };
    let steps: Vec<i64> = get(4, "steps")?
        .unwrap_or_else(|| vec![1; starts.len()])
        .iter()
        .map(|&s| s.clamp(-(1 << 40), 1 << 40))
        .collect();
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err("Slice starts/ends/axes/steps lengths differ".into());
    }
    // Per axis, the list of selected indices (handles negative steps and clamping).
    let mut sel: Vec<Vec<usize>> = d.t.shape.iter().map(|&s| (0..s).collect()).collect();
    for k in 0..starts.len() {
        let (dim, step) = (d.t.shape[axes[k]] as i64, steps[k]);
        if step == 0 {
            return Err("Slice step 0".into());
        }
        let norm = |v: i64| if v < 0 { v + dim } else { v };
        let (lo, hi) = if step > 0 { (0, dim) } else { (-1, dim - 1) };
        let (s, e) = (norm(starts[k]).clamp(lo, hi), norm(ends[k]).clamp(lo, hi));
        let mut v = Vec::new();
        let mut i = s;
        while (step > 0 && i < e) || (step < 0 && i > e) {
            v.push(i as usize);
            i += step;
        }
        sel[axes[k]] = v;
    }
    let shape: Vec<usize> = sel.iter().map(|v| v.len()).collect();
    let st = Tensor::<f64>::strides(&d.t.shape);
    let mut data = Vec::new();
    let total = numel(&shape).ok_or("slice too large")?;
    let mut idx = vec![0usize; r];
    for _ in 0..total {
        data.push(d.t.data[(0..r).map(|a| sel[a][idx[a]] * st[a]).sum::<usize>()]);
        for a in (0..r).rev() {
            idx[a] += 1;
            if idx[a] < shape[a] {
                break;
            }
            idx[a] = 0;
        }
    }
    Ok(Const {
        t: tensor_checked(shape, data)?,
        kind: d.kind,
    })
}
