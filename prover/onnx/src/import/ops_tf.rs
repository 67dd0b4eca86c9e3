//! Mappings of the transformer-style ops: MatMul of activations, Softmax, reductions,
//! Pow, LayerNormalization, Gelu, Cast, Slice, Split, Gather, Where, Expand.

use super::{attr_str, bcast, Ctx, Importer, Val, R};
use crate::eval::nn;
use crate::fold::{self, attr_f, attr_i, attr_ints, axes_of, Const};
use crate::graph::{Op, ValueId};
use crate::proto::data_type;
use crate::tensor::Tensor;

/// Input `i` as an activation.
pub(super) fn act(cx: &Ctx, ins: &[Option<Val>], i: usize) -> R<ValueId> {
    match ins.get(i) {
        Some(Some(Val::A(id))) => Ok(*id),
        Some(Some(Val::C(_))) => Err(cx.err(format!(
            "input #{i} is a constant; only an activation is supported there"
        ))),
        _ => Err(cx.err(format!("required input #{i} is missing"))),
    }
}

/// Optional input `i`, which must be a constant when present.
pub(super) fn cst<'a>(cx: &Ctx, ins: &'a [Option<Val>], i: usize) -> R<Option<&'a Const>> {
    match ins.get(i) {
        Some(Some(Val::C(c))) => Ok(Some(c)),
        Some(Some(Val::A(_))) => Err(cx.unsupported(format!(
            "input #{i} must be a constant (an initializer), not computed from the model input"
        ))),
        _ => Ok(None),
    }
}

fn need<'a>(cx: &Ctx, ins: &'a [Option<Val>], i: usize) -> R<&'a Const> {
    cst(cx, ins, i)?.ok_or_else(|| cx.err(format!("required input #{i} is missing")))
}

/// Largest constant (elements) a mapping materializes (broadcast Where operands, Expand).
const MATERIALIZE_MAX: usize = 1 << 24;

fn check_materialize(cx: &Ctx, shape: &[usize]) -> R<()> {
    match crate::eval::numel(shape) {
        Some(k) if k <= MATERIALIZE_MAX => Ok(()),
        _ => Err(cx.err(format!(
            "a constant of shape {shape:?} would be too large to materialize"
        ))),
    }
}

/// Normalized, sorted, deduplicated axes.
fn norm_axes(cx: &Ctx, axes: &[i64], rank: usize) -> R<Vec<usize>> {
    let mut v = axes
        .iter()
        .map(|&a| fold::norm_axis(a, rank))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|m| cx.err(m))?;
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

impl Importer {
    fn same_shape(&mut self, cx: &Ctx, x: ValueId, op: Op, out: &str) -> R<ValueId> {
        let s = self.shape(x);
        self.emit(cx, out, op, vec![x], s)
    }

    pub(super) fn matmul(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        match (ins.first(), ins.get(1)) {
            (Some(Some(Val::A(x))), Some(Some(Val::C(b)))) => {
                let s = self.shape(*x);
                if b.t.rank() != 2 || s.last() != Some(&b.t.shape[0]) {
                    return Err(cx.err(format!(
                        "cannot multiply {s:?} by a constant of shape {:?} (need a 2-D [K, N] constant)",
                        b.t.shape
                    )));
                }
                let w = crate::eval::transpose(&b.to_f32(), &[1, 0]).map_err(|m| cx.err(m))?;
                let mut shape = s[..s.len() - 1].to_vec();
                shape.push(b.t.shape[1]);
                let op = Op::Dense {
                    weight: w,
                    bias: None,
                };
                self.emit(cx, out, op, vec![*x], shape)
            }
            (Some(Some(Val::A(x))), Some(Some(Val::A(y)))) => {
                let (sa, sb) = (self.shape(*x), self.shape(*y));
                if sa.len() < 2 || sb.len() < 2 {
                    return Err(cx.unsupported(format!(
                        "MatMul of two activations needs rank >= 2 operands, got {sa:?} and {sb:?}; \
                         Unsqueeze/Reshape 1-D operands to 2-D"
                    )));
                }
                let (ra, rb) = (sa.len(), sb.len());
                if sa[ra - 1] != sb[rb - 2] {
                    return Err(cx.err(format!(
                        "cannot multiply {sa:?} by {sb:?}: inner dimensions differ"
                    )));
                }
                let mut shape = bcast(cx, &sa[..ra - 2], &sb[..rb - 2])?;
                shape.extend([sa[ra - 2], sb[rb - 1]]);
                self.emit(cx, out, Op::MatMul, vec![*x, *y], shape)
            }
            (Some(Some(Val::C(_))), Some(Some(Val::A(_)))) => Err(cx.unsupported(
                "MatMul with a constant left operand is not supported; rewrite W·x as (xᵀ·Wᵀ)ᵀ \
                 so the constant is the right operand (or use Gemm / nn.Linear)",
            )),
            _ => Err(cx.err("needs two inputs")),
        }
    }

    pub(super) fn softmax(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let default = if self.opset >= 13 { -1 } else { 1 };
        let axis =
            fold::norm_axis(attr_i(cx.n, "axis", default), s.len()).map_err(|m| cx.err(m))?;
        // Before opset 13 Softmax coerces the input to 2-D [..axis, axis..] and normalizes over
        // everything from `axis` on: a Reshape to [outer, inner], a softmax over the last axis,
        // and a Reshape back (nothing to do when the axes after `axis` are all 1).
        if self.opset < 13 && s[axis + 1..].iter().product::<usize>() != 1 {
            let outer: usize = s[..axis].iter().product();
            let inner: usize = s[axis..].iter().product();
            let flat = self.emit(
                cx,
                &format!("{out}::2d"),
                Op::Reshape,
                vec![x],
                vec![outer, inner],
            )?;
            let sm = self.emit(
                cx,
                &format!("{out}::softmax"),
                Op::Softmax { axis: 1 },
                vec![flat],
                vec![outer, inner],
            )?;
            return self.emit(cx, out, Op::Reshape, vec![sm], s);
        }
        self.same_shape(cx, x, Op::Softmax { axis }, out)
    }

    pub(super) fn reduce(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let n = cx.n;
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let cs = [None, cst(cx, ins, 1)?];
        // `axes` attribute (ReduceMean < 18, ReduceSum < 13) or constant input #1.
        let axes = axes_of(n, &cs, 1).map_err(|m| cx.err(m))?;
        let keepdims = attr_i(n, "keepdims", 1) != 0;
        let axes = match axes {
            Some(a) if !a.is_empty() => norm_axes(cx, &a, s.len())?,
            _ if attr_i(n, "noop_with_empty_axes", 0) != 0 => {
                return self.same_shape(cx, x, Op::Reshape, out)
            }
            _ => (0..s.len()).collect(),
        };
        let shape: Vec<usize> = (0..s.len())
            .filter_map(|d| match (axes.contains(&d), keepdims) {
                (false, _) => Some(s[d]),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect();
        let op = if n.op_type == "ReduceMean" {
            Op::ReduceMean { axes, keepdims }
        } else {
            Op::ReduceSum { axes, keepdims }
        };
        self.emit(cx, out, op, vec![x], shape)
    }

    /// `Pow(x, c)`: products and square roots for the exponents that have them, else a lookup
    /// of `x^c` (`Unary::Pow`).
    pub(super) fn pow(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let c = need(cx, ins, 1)?;
        let s = self.shape(x);
        let e = c.t.data.first().copied().unwrap_or(f64::NAN);
        if c.t.data.iter().any(|&v| v != e) || bcast(cx, &s, &c.t.shape)? != s {
            return Err(cx.unsupported(format!(
                "Pow needs a single constant exponent that does not change the shape {s:?}"
            )));
        }
        match e {
            2.0 => self.emit(cx, out, Op::Mul, vec![x, x], s),
            3.0 => {
                let sq = self.emit(cx, &format!("{out}::sq"), Op::Mul, vec![x, x], s.clone())?;
                self.emit(cx, out, Op::Mul, vec![sq, x], s)
            }
            1.0 => self.emit(cx, out, Op::Reshape, vec![x], s),
            0.5 => self.emit(cx, out, Op::Sqrt, vec![x], s),
            -1.0 => self.emit(cx, out, Op::Reciprocal, vec![x], s),
            -0.5 => {
                let r = self.emit(cx, &format!("{out}::sqrt"), Op::Sqrt, vec![x], s.clone())?;
                self.emit(cx, out, Op::Reciprocal, vec![r], s)
            }
            _ => self.emit(
                cx,
                out,
                Op::Unary(crate::Unary::Pow { e: e as f32 }),
                vec![x],
                s,
            ),
        }
    }

    pub(super) fn cast(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        match attr_i(cx.n, "to", 0) as i32 {
            data_type::FLOAT => self.same_shape(cx, x, Op::Reshape, out),
            t => Err(cx.unsupported(format!(
                "Cast of an activation to data type {t} is not supported (activations are float32; \
                 only Cast to float is a no-op)"
            ))),
        }
    }

    pub(super) fn gelu(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let tanh_approx = match attr_str(cx.n, "approximate", "none").as_str() {
            "none" => false,
            "tanh" => true,
            a => return Err(cx.err(format!("approximate = \"{a}\" is invalid"))),
        };
        self.same_shape(cx, x, Op::Gelu { tanh_approx }, out)
    }

    pub(super) fn layer_norm(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let n = cx.n;
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let axis = fold::norm_axis(attr_i(n, "axis", -1), s.len()).map_err(|m| cx.err(m))?;
        let epsilon = attr_f(n, "epsilon", 1e-5);
        let norm_shape = &s[axis..];
        check_materialize(cx, norm_shape)?;
        let fit = |c: &Const| {
            nn::broadcast_to(&c.to_f32(), norm_shape).map_err(|_| {
                cx.err(format!(
                    "scale/bias of shape {:?} must broadcast to the normalized shape {norm_shape:?}",
                    c.t.shape
                ))
            })
        };
        let scale = fit(need(cx, ins, 1)?)?;
        let bias = cst(cx, ins, 2)?.map(fit).transpose()?;
        let op = Op::LayerNorm {
            axis,
            epsilon,
            scale,
            bias,
        };
        self.emit(cx, out, op, vec![x], s)
    }

    pub(super) fn slice(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let n = cx.n;
        let x = act(cx, ins, 0)?;
        let mut shape = self.shape(x);
        let r = shape.len();
        let get = |i: usize, name: &str| -> R<Option<Vec<i64>>> {
            if self.opset < 10 {
                Ok(attr_ints(n, name))
            } else {
                cst(cx, ins, i)?
                    .map(|c| c.ints_sat())
                    .transpose()
                    .map_err(|m| cx.err(m))
            }
        };
        let starts = get(1, "starts")?.ok_or_else(|| cx.err("missing starts"))?;
        let ends = get(2, "ends")?.ok_or_else(|| cx.err("missing ends"))?;
        let k = starts.len();
        let axes = get(3, "axes")?.unwrap_or_else(|| (0..k as i64).collect());
        let steps = get(4, "steps")?.unwrap_or_else(|| vec![1; k]);
        if ends.len() != k || axes.len() != k || steps.len() != k {
            return Err(cx.err("starts/ends/axes/steps have different lengths"));
        }
        let mut e: Vec<(usize, usize, usize, usize)> = Vec::new();
        for i in 0..k {
            let a = fold::norm_axis(axes[i], r).map_err(|m| cx.err(m))?;
            if e.iter().any(|t| t.0 == a) {
                return Err(cx.err(format!("axis {a} is sliced twice")));
            }
            if steps[i] < 1 {
                return Err(cx.unsupported(format!(
                    "Slice step {} on axis {a}: only positive steps are supported (no reversal)",
                    steps[i]
                )));
            }
            let dim = shape[a] as i64;
            let norm = |v: i64| (if v < 0 { v.saturating_add(dim) } else { v }).clamp(0, dim);
            let (b, end) = (norm(starts[i]), norm(ends[i]));
            if end <= b {
                return Err(cx.err(format!(
                    "the slice [{}:{}] of axis {a} (size {dim}) is empty",
                    starts[i], ends[i]
                )));
            }
            let step = steps[i].min(dim.max(1));
            if (b, end, step) != (0, dim, 1) {
                e.push((a, b as usize, end as usize, step as usize));
            }
        }
        e.sort_unstable();
        if e.is_empty() {
            return self.same_shape(cx, x, Op::Reshape, out);
        }
        for &(a, b, end, step) in &e {
            shape[a] = (end - b).div_ceil(step);
        }
        let op = Op::Slice {
            axes: e.iter().map(|t| t.0).collect(),
            starts: e.iter().map(|t| t.1).collect(),
            ends: e.iter().map(|t| t.2).collect(),
            steps: e.iter().map(|t| t.3).collect(),
        };
        self.emit(cx, out, op, vec![x], shape)
    }

    /// Split into one Slice node per (used) output; constants are split in place.
    pub(super) fn split(&mut self, cx: &Ctx, ins: &[Option<Val>]) -> R<()> {
        let n = cx.n;
        let (shape, x) = match ins.first() {
            Some(Some(Val::A(id))) => (self.shape(*id), Some(*id)),
            Some(Some(Val::C(c))) => (c.t.shape.clone(), None),
            _ => return Err(cx.err("required input #0 is missing")),
        };
        let axis = fold::norm_axis(attr_i(n, "axis", 0), shape.len()).map_err(|m| cx.err(m))?;
        let dim = shape[axis];
        let outs = n.output.len();
        let spec = match attr_ints(n, "split") {
            Some(s) => Some(s),
            None => cst(cx, ins, 1)?
                .map(|c| c.ints())
                .transpose()
                .map_err(|m| cx.err(m))?,
        };
        let sizes: Vec<usize> = match spec {
            Some(s) => s
                .iter()
                .map(|&v| usize::try_from(v).unwrap_or(usize::MAX))
                .collect(),
            None => {
                let parts = attr_i(n, "num_outputs", outs as i64);
                if parts != outs as i64 {
                    return Err(cx.err(format!("num_outputs = {parts}, but {outs} outputs")));
                }
                let parts = outs;
                let chunk = dim.div_ceil(parts.max(1));
                (0..parts)
                    .map(|k| chunk.min(dim.saturating_sub(k * chunk)))
                    .collect()
            }
        };
        if sizes.len() != outs
            || sizes.iter().try_fold(0usize, |a, &b| a.checked_add(b)) != Some(dim)
        {
            return Err(cx.err(format!(
                "split sizes {sizes:?} do not divide axis {axis} of {shape:?} into {outs} outputs"
            )));
        }
        let mut start = 0;
        for (o, &size) in n.output.iter().zip(&sizes) {
            let end = start + size;
            let used = self.uses.get(o).copied().unwrap_or(0) > 0;
            let val = match (&ins[0], x) {
                _ if o.is_empty() => None,
                (Some(Val::C(c)), _) => Some(Val::C(Const {
                    t: nn::slice(&c.t, &[axis], &[start], &[end], &[1]).map_err(|m| cx.err(m))?,
                    kind: c.kind,
                })),
                (_, Some(x)) if used => {
                    let mut s = shape.clone();
                    s[axis] = size;
                    let op = Op::Slice {
                        axes: vec![axis],
                        starts: vec![start],
                        ends: vec![end],
                        steps: vec![1],
                    };
                    Some(Val::A(self.emit(cx, o, op, vec![x], s)?))
                }
                _ => None,
            };
            if let Some(v) = val {
                self.vals.insert(o.clone(), v);
            }
            start = end;
        }
        Ok(())
    }

    pub(super) fn gather(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let (x, idx) = match (ins.first(), ins.get(1)) {
            (Some(Some(Val::A(x))), Some(Some(Val::C(i)))) => (*x, i),
            (Some(Some(Val::C(table))), Some(Some(Val::A(ids)))) => {
                return self.embedding(cx, table, *ids, out)
            }
            (Some(Some(Val::A(x))), Some(Some(Val::A(ids)))) => {
                return self.gather_computed(cx, *x, *ids, out)
            }
            _ => return Err(cx.err("needs inputs data and indices")),
        };
        let s = self.shape(x);
        let axis = fold::norm_axis(attr_i(cx.n, "axis", 0), s.len()).map_err(|m| cx.err(m))?;
        let dim = s[axis] as i64;
        let data = idx
            .ints()
            .map_err(|m| cx.err(m))?
            .iter()
            .map(|&i| {
                let j = if i < 0 { i + dim } else { i };
                (0..dim).contains(&j).then_some(j).ok_or_else(|| {
                    cx.err(format!(
                        "index {i} is out of range for axis {axis} of {s:?}"
                    ))
                })
            })
            .collect::<R<Vec<i64>>>()?;
        let mut shape = s[..axis].to_vec();
        shape.extend_from_slice(&idx.t.shape);
        shape.extend_from_slice(&s[axis + 1..]);
        if dim == 1 && data.len() == 1 {
            // Picks the single element of a size-1 axis: a reshape.
            return self.emit(cx, out, Op::Reshape, vec![x], shape);
        }
        let indices = Tensor {
            shape: idx.t.shape.clone(),
            data,
        };
        self.emit(cx, out, Op::Gather { axis, indices }, vec![x], shape)
    }

    pub(super) fn where_op(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let cond = match ins.first() {
            Some(Some(Val::C(c))) => c,
            Some(Some(Val::A(c))) => {
                let branch = |i: usize| match ins.get(i) {
                    Some(Some(v)) => Ok(v.clone()),
                    _ => Err(cx.err(format!("required input #{i} is missing"))),
                };
                let (x, y) = (branch(1)?, branch(2)?);
                return self.where_computed(cx, *c, &x, &y, out);
            }
            _ => return Err(cx.err("required input #0 (condition) is missing")),
        };
        let mut shape = cond.t.shape.clone();
        let mut inputs = Vec::new();
        for i in [1, 2] {
            let s = match ins.get(i) {
                Some(Some(Val::A(id))) => {
                    inputs.push(*id);
                    self.shape(*id)
                }
                Some(Some(Val::C(c))) => c.t.shape.clone(),
                _ => return Err(cx.err(format!("required input #{i} is missing"))),
            };
            shape = bcast(cx, &shape, &s)?;
        }
        check_materialize(cx, &shape)?;
        let full = |c: &Const| nn::broadcast_to(&c.to_f32(), &shape).map_err(|m| cx.err(m));
        let konst = |i: usize| match ins.get(i) {
            Some(Some(Val::C(c))) => full(c).map(Some),
            _ => Ok(None),
        };
        let op = Op::Where {
            cond: full(cond)?.map(|&v| v != 0.0),
            a_const: konst(1)?,
            b_const: konst(2)?,
        };
        self.emit(cx, out, op, inputs, shape)
    }

    /// Expand of an activation: a no-op (Reshape) or a broadcast by adding zeros.
    pub(super) fn expand(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let spec = need(cx, ins, 1)?
            .ints()
            .map_err(|m| cx.err(m))?
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| cx.err(format!("negative dim {d}"))))
            .collect::<R<Vec<_>>>()?;
        let shape = bcast(cx, &s, &spec)?;
        if shape == s {
            return self.emit(cx, out, Op::Reshape, vec![x], shape);
        }
        check_materialize(cx, &shape)?;
        let c = Tensor::filled(shape.clone(), 0.0f32);
        self.emit(cx, out, Op::AddConst { c }, vec![x], shape)
    }
}
