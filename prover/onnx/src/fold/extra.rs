//! Folding of the less common constant-only ops: elementwise math, comparisons and logic
//! (causal masks), Where, Expand, Range, Trilu, reductions, Softmax, MatMul.

use super::{attr_i, axes_of, norm_axis, tensor_checked, unary, Const, Kind, FOLD_MAX};
use crate::eval::{binary, nn, numel};
use crate::proto::NodeProto;
use crate::tensor::{broadcast_shape, Tensor};

fn arg<'a>(ins: &[Option<&'a Const>], i: usize) -> Result<&'a Const, String> {
    ins.get(i)
        .copied()
        .flatten()
        .ok_or_else(|| format!("missing input #{i}"))
}

fn check_size(shape: &[usize]) -> Result<(), String> {
    numel(shape)
        .filter(|&c| c <= FOLD_MAX)
        .map(|_| ())
        .ok_or_else(|| format!("cannot fold: result shape {shape:?} is too large"))
}

fn bool_op(a: &Const, b: &Const, f: impl Fn(f64, f64) -> bool) -> Result<Const, String> {
    let shape = broadcast_shape(&a.t.shape, &b.t.shape).ok_or_else(|| {
        format!(
            "shapes {:?} and {:?} do not broadcast",
            a.t.shape, b.t.shape
        )
    })?;
    check_size(&shape)?;
    let t = binary(&a.t, &b.t, |p, q| f(p, q) as u8 as f64)?;
    Ok(Const {
        t,
        kind: Kind::Bool,
    })
}

/// Folds `n` (all inputs constant) for the ops [`super::fold`] does not handle itself.
pub(super) fn fold_more(
    n: &NodeProto,
    ins: &[Option<&Const>],
    opset: i64,
) -> Result<Const, String> {
    let x = || arg(ins, 0);
    let y = || arg(ins, 1);
    if let Some(u) = crate::Unary::from_node(n) {
        return Ok(unary(x()?, move |v| u.eval(v)));
    }
    match n.op_type.as_str() {
        "Exp" => Ok(unary(x()?, f64::exp)),
        "Erf" => Ok(unary(x()?, nn::erf)),
        "Tanh" => Ok(unary(x()?, f64::tanh)),
        "Sigmoid" => Ok(unary(x()?, |v| 1.0 / (1.0 + (-v).exp()))),
        "Not" => Ok(unary(x()?, |v| (v == 0.0) as u8 as f64)),
        "Equal" => bool_op(x()?, y()?, |p, q| p == q),
        "Less" => bool_op(x()?, y()?, |p, q| p < q),
        "Greater" => bool_op(x()?, y()?, |p, q| p > q),
        "LessOrEqual" => bool_op(x()?, y()?, |p, q| p <= q),
        "GreaterOrEqual" => bool_op(x()?, y()?, |p, q| p >= q),
        "And" => bool_op(x()?, y()?, |p, q| p != 0.0 && q != 0.0),
        "Or" => bool_op(x()?, y()?, |p, q| p != 0.0 || q != 0.0),
        "Xor" => bool_op(x()?, y()?, |p, q| (p != 0.0) != (q != 0.0)),
        "Min" | "Max" => {
            let mut acc = x()?.clone();
            for c in ins.iter().skip(1).flatten() {
                let shape = broadcast_shape(&acc.t.shape, &c.t.shape).ok_or("no broadcast")?;
                check_size(&shape)?;
                acc.t = if n.op_type == "Min" {
                    binary(&acc.t, &c.t, f64::min)?
                } else {
                    binary(&acc.t, &c.t, f64::max)?
                };
            }
            Ok(acc)
        }
        "Where" => {
            let (c, a, b) = (x()?, y()?, arg(ins, 2)?);
            let shape = broadcast_shape(&c.t.shape, &a.t.shape)
                .and_then(|s| broadcast_shape(&s, &b.t.shape))
                .ok_or("Where operands do not broadcast")?;
            check_size(&shape)?;
            let (c, at, bt) = (
                nn::broadcast_to(&c.t, &shape)?,
                nn::broadcast_to(&a.t, &shape)?,
                nn::broadcast_to(&b.t, &shape)?,
            );
            let data = (0..c.data.len())
                .map(|i| {
                    if c.data[i] != 0.0 {
                        at.data[i]
                    } else {
                        bt.data[i]
                    }
                })
                .collect();
            Ok(Const {
                t: Tensor { shape, data },
                kind: a.kind,
            })
        }
        "Expand" => {
            let c = x()?;
            let spec = y()?
                .ints()?
                .iter()
                .map(|&d| usize::try_from(d).map_err(|_| format!("negative dim {d}")))
                .collect::<Result<Vec<_>, _>>()?;
            let shape = broadcast_shape(&c.t.shape, &spec)
                .ok_or_else(|| format!("cannot expand {:?} to {spec:?}", c.t.shape))?;
            check_size(&shape)?;
            Ok(Const {
                t: nn::broadcast_to(&c.t, &shape)?,
                kind: c.kind,
            })
        }
        "Range" => {
            let (s, l, d) = (x()?, y()?, arg(ins, 2)?);
            let v = |c: &Const| c.t.data.first().copied().ok_or("empty Range operand");
            let (s0, l0, d0) = (v(s)?, v(l)?, v(d)?);
            let count = ((l0 - s0) / d0).ceil().max(0.0);
            if !count.is_finite() || count > FOLD_MAX as f64 {
                return Err(format!("Range({s0}, {l0}, {d0}) is invalid or too large"));
            }
            let data = (0..count as usize).map(|i| s0 + i as f64 * d0).collect();
            Ok(Const {
                t: Tensor {
                    shape: vec![count as usize],
                    data,
                },
                kind: s.kind,
            })
        }
        "Trilu" => {
            let c = x()?;
            let k = match ins.get(1).copied().flatten() {
                Some(k) => *k.ints()?.first().ok_or("empty k")?,
                None => 0,
            };
            let upper = attr_i(n, "upper", 1) != 0;
            let r = c.t.rank();
            if r < 2 {
                return Err("Trilu needs rank >= 2".into());
            }
            let (rows, cols) = (c.t.shape[r - 2], c.t.shape[r - 1]);
            let mut out = c.clone();
            for (i, v) in out.t.data.iter_mut().enumerate() {
                let (row, col) = (((i / cols) % rows.max(1)) as i64, (i % cols.max(1)) as i64);
                let keep = if upper {
                    col - row >= k
                } else {
                    col - row <= k
                };
                if !keep {
                    *v = 0.0;
                }
            }
            Ok(out)
        }
        "ReduceMean" | "ReduceSum" => {
            let c = x()?;
            // The `axes` attribute (older opsets) or the constant input #1.
            let axes = axes_of(n, ins, 1)?;
            let r = c.t.rank();
            let mut axes = match axes {
                Some(a) if !a.is_empty() => a
                    .iter()
                    .map(|&a| norm_axis(a, r))
                    .collect::<Result<Vec<_>, _>>()?,
                _ if attr_i(n, "noop_with_empty_axes", 0) != 0 => return Ok(c.clone()),
                _ => (0..r).collect(),
            };
            axes.sort_unstable();
            axes.dedup();
            let keep = attr_i(n, "keepdims", 1) != 0;
            let t = nn::reduce(&c.t, &axes, keep, n.op_type == "ReduceMean")?;
            Ok(Const { t, kind: c.kind }.round())
        }
        "Softmax" => {
            let c = x()?;
            let axis = norm_axis(attr_i(n, "axis", -1), c.t.rank())?;
            if opset < 13 && c.t.shape[axis + 1..].iter().product::<usize>() != 1 {
                return Err("opset < 13 Softmax of a constant: use the last axis".into());
            }
            let t = crate::eval::softmax(&c.to_f32(), axis)?;
            Ok(Const {
                t: t.map(|&v| v as f64),
                kind: Kind::F32,
            })
        }
        "MatMul" => {
            let (a, b) = (x()?.to_f32(), y()?.to_f32());
            let (ra, rb) = (a.rank(), b.rank());
            if ra >= 2 && rb >= 2 {
                let mut shape = broadcast_shape(&a.shape[..ra - 2], &b.shape[..rb - 2])
                    .ok_or("MatMul batch dims do not broadcast")?;
                shape.extend([a.shape[ra - 2], b.shape[rb - 1]]);
                check_size(&shape)?;
            }
            let t = nn::matmul(&a, &b)?;
            Ok(Const {
                t: tensor_checked(t.shape.clone(), t.data.iter().map(|&v| v as f64).collect())?,
                kind: Kind::F32,
            })
        }
        op => Err(format!(
            "{op} on constant inputs cannot be folded at import"
        )),
    }
}
