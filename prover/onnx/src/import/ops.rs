//! Mappings of the ONNX ops that need more than a shape rule.

use super::{attr_str, bcast, Ctx, Importer, Val, R};
use crate::eval::window_out;
use crate::fold::{self, attr_f, attr_i, attr_ints, Const};
use crate::graph::{Op, ValueId};
use crate::tensor::Tensor;

/// Converts `ints` to a fixed-size array of values `>= min`, or errors naming `what`.
pub(super) fn fixed<const K: usize>(
    cx: &Ctx,
    what: &str,
    v: Option<Vec<i64>>,
    default: [usize; K],
    min: i64,
) -> R<[usize; K]> {
    let Some(v) = v else { return Ok(default) };
    let ok = v.len() == K && v.iter().all(|&x| x >= min && x <= 1 << 20);
    if !ok {
        return Err(cx.err(format!(
            "attribute {what} = {v:?} must be {K} values >= {min} (2-D ops only)"
        )));
    }
    let mut out = [0; K];
    out.iter_mut().zip(&v).for_each(|(o, &x)| *o = x as usize);
    Ok(out)
}

impl Importer {
    /// Element-wise `Max`/`Min` of two or more inputs: activations pairwise (`Op::Extreme`:
    /// one Relu lookup per element), a scalar constant as a clip (one lookup), a constant
    /// tensor through `c + relu(x − c)` (`x − relu(x − c)`).
    pub(super) fn min_max(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let max = cx.n.op_type == "Max";
        let vals: Vec<&Val> = ins.iter().flatten().collect();
        let Some(first) = vals.iter().position(|v| matches!(v, Val::A(_))) else {
            return Err(cx.err("no activation input"));
        };
        let Val::A(mut acc) = *vals[first] else {
            unreachable!()
        };
        let rest: Vec<&Val> = vals
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != first)
            .map(|(_, v)| *v)
            .collect();
        if rest.is_empty() {
            let s = self.shape(acc);
            return self.emit(cx, out, Op::Reshape, vec![acc], s);
        }
        for (j, v) in rest.iter().enumerate() {
            let name = |part: &str| format!("{out}::{j}{part}");
            let last = j + 1 == rest.len();
            let dst = if last { out.to_string() } else { name("") };
            acc = match v {
                Val::A(b) => {
                    let s = bcast(cx, &self.shape(acc), &self.shape(*b))?;
                    self.emit(cx, &dst, Op::Extreme { max }, vec![acc, *b], s)?
                }
                // A scalar bound is a clip: one exact lookup.
                Val::C(c) if c.t.data.len() == 1 => {
                    let s = bcast(cx, &self.shape(acc), &c.t.shape)?;
                    let v = c.t.data[0] as f32;
                    let (min, max_v) = if max { (v, f32::MAX) } else { (f32::MIN, v) };
                    let op = Op::Unary(crate::Unary::Clip { min, max: max_v });
                    self.emit(cx, &dst, op, vec![acc], s)?
                }
                Val::C(c) => {
                    let s = bcast(cx, &self.shape(acc), &c.t.shape)?;
                    let c32 = c.to_f32();
                    let d = self.emit(
                        cx,
                        &name("::diff"),
                        Op::SubConst {
                            c: c32.clone(),
                            reversed: false,
                        },
                        vec![acc],
                        s.clone(),
                    )?;
                    let r = self.emit(cx, &name("::relu"), Op::Relu, vec![d], s.clone())?;
                    if max {
                        self.emit(cx, &dst, Op::AddConst { c: c32 }, vec![r], s)?
                    } else {
                        self.emit(cx, &dst, Op::Sub, vec![acc, r], s)?
                    }
                }
            };
        }
        Ok(acc)
    }

    /// `a − b` for an activation and an activation or a constant (either order).
    fn sub_vals(&mut self, cx: &Ctx, a: &Val, b: &Val, name: &str) -> R<ValueId> {
        match (a, b) {
            (Val::A(x), Val::A(y)) => {
                let s = bcast(cx, &self.shape(*x), &self.shape(*y))?;
                self.emit(cx, name, Op::Sub, vec![*x, *y], s)
            }
            (Val::A(x), Val::C(c)) | (Val::C(c), Val::A(x)) => {
                let s = bcast(cx, &self.shape(*x), &c.t.shape)?;
                let reversed = matches!(a, Val::C(_));
                let op = Op::SubConst {
                    c: c.to_f32(),
                    reversed,
                };
                self.emit(cx, name, op, vec![*x], s)
            }
            _ => Err(cx.err("no activation input")),
        }
    }

    /// Comparisons of computed values, as 0/1 activations: `a > b` is `Positive(a − b)`,
    /// `a ≥ b` is `NonNegative(a − b)` (one subtraction and one lookup, exact on the
    /// fixed-point grid), `a = b` is their difference.
    pub(super) fn compare(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let op = cx.n.op_type.as_str();
        let (Some(Some(a)), Some(Some(b))) = (ins.first(), ins.get(1)) else {
            return Err(cx.err("needs two inputs"));
        };
        let (p, q) = if matches!(op, "Less" | "LessOrEqual") {
            (b, a)
        } else {
            (a, b)
        };
        let d = self.sub_vals(cx, p, q, &format!("{out}::diff"))?;
        let s = self.shape(d);
        let step = |strict: bool| {
            Op::Unary(if strict {
                crate::Unary::Positive
            } else {
                crate::Unary::NonNegative
            })
        };
        match op {
            "Greater" | "Less" => self.emit(cx, out, step(true), vec![d], s),
            "GreaterOrEqual" | "LessOrEqual" => self.emit(cx, out, step(false), vec![d], s),
            _ => self.is_zero(cx, d, out),
        }
    }

    /// `[d = 0]` as a 0/1 activation: `NonNegative(d) − Positive(d)`, exact on the grid.
    pub(super) fn is_zero(&mut self, cx: &Ctx, d: ValueId, out: &str) -> R<ValueId> {
        let s = self.shape(d);
        let ge = Op::Unary(crate::Unary::NonNegative);
        let ge = self.emit(cx, &format!("{out}::ge"), ge, vec![d], s.clone())?;
        let gt = Op::Unary(crate::Unary::Positive);
        let gt = self.emit(cx, &format!("{out}::gt"), gt, vec![d], s.clone())?;
        self.emit(cx, out, Op::Sub, vec![ge, gt], s)
    }

    /// `Not`, `And`, `Or` of 0/1 activations (comparison results): `1 − a`, `a·b`,
    /// `a + b − a·b`.
    pub(super) fn logic(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let one = || crate::Tensor::new(vec![], vec![1.0f32]);
        let act = |i: usize| match ins.get(i) {
            Some(Some(Val::A(id))) => Ok(*id),
            _ => Err(cx.unsupported(format!(
                "{} with a constant operand: fold it before export, or compare activations only",
                cx.n.op_type
            ))),
        };
        let a = act(0)?;
        let s = self.shape(a);
        if cx.n.op_type == "Not" {
            let op = Op::SubConst {
                c: one(),
                reversed: true,
            };
            return self.emit(cx, out, op, vec![a], s);
        }
        let b = act(1)?;
        let s = bcast(cx, &s, &self.shape(b))?;
        if cx.n.op_type == "And" {
            return self.emit(cx, out, Op::Mul, vec![a, b], s);
        }
        let sum = self.emit(cx, &format!("{out}::sum"), Op::Add, vec![a, b], s.clone())?;
        let both = self.emit(cx, &format!("{out}::both"), Op::Mul, vec![a, b], s.clone())?;
        self.emit(cx, out, Op::Sub, vec![sum, both], s)
    }

    /// `Where(c, x, y)` with a computed 0/1 condition: `y + c·(x − y)`, or `c·x + (1 − c)·y`
    /// when both branches are constants.
    pub(super) fn where_computed(
        &mut self,
        cx: &Ctx,
        cond: ValueId,
        x: &Val,
        y: &Val,
        out: &str,
    ) -> R<ValueId> {
        let cs = self.shape(cond);
        if let (Val::C(xc), Val::C(yc)) = (x, y) {
            let s = bcast(cx, &bcast(cx, &cs, &xc.t.shape)?, &yc.t.shape)?;
            let not = Op::SubConst {
                c: crate::Tensor::new(vec![], vec![1.0f32]),
                reversed: true,
            };
            let nc = self.emit(cx, &format!("{out}::not"), not, vec![cond], cs.clone())?;
            let mx = Op::MulConst { c: xc.to_f32() };
            let a = self.emit(cx, &format!("{out}::x"), mx, vec![cond], s.clone())?;
            let my = Op::MulConst { c: yc.to_f32() };
            let b = self.emit(cx, &format!("{out}::y"), my, vec![nc], s.clone())?;
            return self.emit(cx, out, Op::Add, vec![a, b], s);
        }
        let d = self.sub_vals(cx, x, y, &format!("{out}::diff"))?;
        let s = bcast(cx, &cs, &self.shape(d))?;
        let m = self.emit(
            cx,
            &format!("{out}::pick"),
            Op::Mul,
            vec![cond, d],
            s.clone(),
        )?;
        match y {
            Val::A(yid) => self.emit(cx, out, Op::Add, vec![*yid, m], s),
            Val::C(yc) => self.emit(cx, out, Op::AddConst { c: yc.to_f32() }, vec![m], s),
        }
    }

    pub(super) fn arith(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let op = cx.n.op_type.as_str();
        let (Some(Some(a)), Some(Some(b))) = (ins.first(), ins.get(1)) else {
            return Err(cx.err("needs two inputs"));
        };
        match (a, b) {
            (Val::A(x), Val::A(y)) => {
                let shape = bcast(cx, &self.shape(*x), &self.shape(*y))?;
                let op = match op {
                    "Add" => Op::Add,
                    "Sub" => Op::Sub,
                    "Mul" => Op::Mul,
                    _ => Op::Div,
                };
                self.emit(cx, out, op, vec![*x, *y], shape)
            }
            (Val::A(x), Val::C(c)) | (Val::C(c), Val::A(x)) => {
                let const_first = matches!(a, Val::C(_));
                let shape = bcast(cx, &self.shape(*x), &c.t.shape)?;
                let c32 = c.to_f32();
                let op = match (op, const_first) {
                    ("Add", _) => Op::AddConst { c: c32 },
                    ("Mul", _) => Op::MulConst { c: c32 },
                    ("Sub", r) => Op::SubConst {
                        c: c32,
                        reversed: r,
                    },
                    ("Div", false) => {
                        if c32.data.contains(&0.0) {
                            return Err(cx.err("division by a constant that contains zero"));
                        }
                        Op::MulConst {
                            c: c32.map(|&v| 1.0 / v),
                        }
                    }
                    _ => {
                        // c / x = c · (1 / x).
                        let s = self.shape(*x);
                        let r =
                            self.emit(cx, &format!("{out}::recip"), Op::Reciprocal, vec![*x], s)?;
                        return self.emit(cx, out, Op::MulConst { c: c32 }, vec![r], shape);
                    }
                };
                self.emit(cx, out, op, vec![*x], shape)
            }
            _ => Err(cx.err("no activation input")),
        }
    }

    /// `Sum` and `Mean` of any number of inputs (broadcast): a chain of additions, then
    /// `·1/n` for a mean.
    pub(super) fn sum_mean(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let vals: Vec<&Val> = ins.iter().flatten().collect();
        let n = vals.len();
        let Some((fi, first)) = vals.iter().enumerate().find_map(|(i, v)| match v {
            Val::A(id) => Some((i, *id)),
            Val::C(_) => None,
        }) else {
            return Err(cx.err("no activation input"));
        };
        let mean = cx.n.op_type == "Mean";
        let mut acc = first;
        let mut k = 0;
        for v in vals
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != fi)
            .map(|(_, v)| v)
        {
            k += 1;
            let last = k == n - 1 && !mean;
            let name = if last {
                out.to_string()
            } else {
                format!("{out}::sum{k}")
            };
            let (op, inputs, shape) = match v {
                Val::A(y) => (
                    Op::Add,
                    vec![acc, *y],
                    bcast(cx, &self.shape(acc), &self.shape(*y))?,
                ),
                Val::C(c) => (
                    Op::AddConst { c: c.to_f32() },
                    vec![acc],
                    bcast(cx, &self.shape(acc), &c.t.shape)?,
                ),
            };
            acc = self.emit(cx, &name, op, inputs, shape)?;
        }
        if !mean && n > 1 {
            return Ok(acc);
        }
        let s = self.shape(acc);
        let scale = Op::MulConst {
            c: Tensor::new(vec![], vec![1.0 / n as f32]),
        };
        self.emit(cx, out, scale, vec![acc], s)
    }

    pub(super) fn gemm(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let n = cx.n;
        if attr_i(n, "transA", 0) != 0 {
            return Err(cx.unsupported(
                "Gemm with transA = 1 is not supported; export with the activation untransposed",
            ));
        }
        let (x, b) = match (ins.first(), ins.get(1)) {
            (Some(Some(Val::A(x))), Some(Some(Val::C(b)))) => (*x, b),
            (Some(Some(Val::C(_))), Some(Some(Val::A(_)))) => {
                return Err(
                    cx.unsupported("Gemm with a constant A and an activation B is not supported")
                )
            }
            (Some(Some(Val::A(_))), Some(Some(Val::A(_)))) => {
                return Err(cx.unsupported(
                    "Gemm of two activations is not supported (B must be a constant)",
                ))
            }
            _ => return Err(cx.err("needs inputs A and B")),
        };
        let s = self.shape(x);
        if s.len() != 2 || b.t.rank() != 2 {
            return Err(cx.err(format!("A {s:?} and B {:?} must both be 2-D", b.t.shape)));
        }
        let (alpha, beta) = (attr_f(n, "alpha", 1.0), attr_f(n, "beta", 1.0));
        let w = if attr_i(n, "transB", 0) != 0 {
            b.to_f32()
        } else {
            crate::eval::transpose(&b.to_f32(), &[1, 0]).map_err(|m| cx.err(m))?
        };
        let (nn, k) = (w.shape[0], w.shape[1]);
        if s[1] != k {
            return Err(cx.err(format!(
                "A {s:?} does not match B {:?} (transB = {})",
                b.t.shape,
                attr_i(n, "transB", 0)
            )));
        }
        let bias = match ins.get(2) {
            Some(Some(Val::C(c))) if beta != 0.0 => {
                // C broadcasts to [M, N]; per-column bias only (shape [N], [1, N] or scalar).
                let mut core: &[usize] = &c.t.shape;
                while core.first() == Some(&1) && core.len() > 1 {
                    core = &core[1..];
                }
                let data: Vec<f32> = match core {
                    [] | [1] if c.t.data.len() == 1 => vec![c.t.data[0] as f32 * beta; nn],
                    [d] if *d == nn => c.t.data.iter().map(|&v| v as f32 * beta).collect(),
                    _ => {
                        return Err(cx.err(format!(
                            "bias C of shape {:?} must broadcast to [{nn}]",
                            c.t.shape
                        )))
                    }
                };
                Some(Tensor {
                    shape: vec![nn],
                    data,
                })
            }
            Some(Some(Val::A(_))) => return Err(cx.unsupported("Gemm bias C must be a constant")),
            _ => None,
        };
        let weight = if alpha == 1.0 {
            w
        } else {
            w.map(|&v| v * alpha)
        };
        self.emit(cx, out, Op::Dense { weight, bias }, vec![x], vec![s[0], nn])
    }

    /// Strides and pads `[top, left, bottom, right]` of a 2-D window op, `auto_pad` resolved.
    pub(super) fn window(
        &self,
        cx: &Ctx,
        hw: [usize; 2],
        k: [usize; 2],
        dil: [usize; 2],
    ) -> R<([usize; 2], [usize; 4])> {
        let n = cx.n;
        let st = fixed(cx, "strides", attr_ints(n, "strides"), [1, 1], 1)?;
        let pads = match attr_str(n, "auto_pad", "NOTSET").as_str() {
            "NOTSET" => fixed(cx, "pads", attr_ints(n, "pads"), [0; 4], 0)?,
            "VALID" => [0; 4],
            mode @ ("SAME_UPPER" | "SAME_LOWER") => {
                let mut p = [0; 4];
                for a in 0..2 {
                    let o = hw[a].div_ceil(st[a]);
                    let eff = (k[a] - 1) * dil[a] + 1;
                    let total = (o.saturating_sub(1) * st[a] + eff).saturating_sub(hw[a]);
                    let small = total / 2;
                    (p[a], p[a + 2]) = if mode == "SAME_UPPER" {
                        (small, total - small)
                    } else {
                        (total - small, small)
                    };
                }
                p
            }
            other => return Err(cx.err(format!("auto_pad \"{other}\" is invalid"))),
        };
        Ok((st, pads))
    }

    pub(super) fn conv(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let n = cx.n;
        let x = match ins.first() {
            Some(Some(Val::A(x))) => *x,
            _ => return Err(cx.err("input X must be an activation")),
        };
        let w = match ins.get(1) {
            Some(Some(Val::C(w))) => w.to_f32(),
            _ => return Err(cx.unsupported("Conv weights must be a constant initializer")),
        };
        let s = self.shape(x);
        let (Ok([bn, c, h, wd]), Ok([o, cg, kh, kw])) = (
            <[usize; 4]>::try_from(s.clone()),
            <[usize; 4]>::try_from(w.shape.clone()),
        ) else {
            return Err(cx.unsupported(format!(
                "only 2-D convolution (NCHW input, 4-D weight) is supported; input {s:?}, weight {:?}",
                w.shape
            )));
        };
        let group = usize::try_from(attr_i(n, "group", 1))
            .ok()
            .filter(|&g| g >= 1)
            .ok_or_else(|| cx.err("group must be >= 1"))?;
        if cg == 0 || cg * group != c || o % group != 0 {
            return Err(cx.err(format!(
                "weight {:?} with group {group} does not fit {c} input channels",
                w.shape
            )));
        }
        if let Some(ks) = attr_ints(n, "kernel_shape") {
            if ks != [kh as i64, kw as i64] {
                return Err(cx.err(format!(
                    "kernel_shape {ks:?} does not match weight {:?}",
                    w.shape
                )));
            }
        }
        let dil = fixed(cx, "dilations", attr_ints(n, "dilations"), [1, 1], 1)?;
        let (strides, pads) = self.window(cx, [h, wd], [kh, kw], dil)?;
        let bias = match ins.get(2) {
            Some(Some(Val::C(b))) if b.t.data.len() == o => Some(Tensor {
                shape: vec![o],
                data: b.to_f32().data,
            }),
            Some(Some(_)) => return Err(cx.err(format!("bias must be a constant of {o} values"))),
            _ => None,
        };
        let oh = window_out(h, pads[0], pads[2], kh, strides[0], dil[0]).map_err(|m| cx.err(m))?;
        let ow = window_out(wd, pads[1], pads[3], kw, strides[1], dil[1]).map_err(|m| cx.err(m))?;
        let op = Op::Conv {
            weight: w,
            bias,
            strides,
            pads,
            dilations: dil,
            group,
        };
        self.emit(cx, out, op, vec![x], vec![bn, o, oh, ow])
    }

    pub(super) fn pool(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let n = cx.n;
        let x = match ins.first() {
            Some(Some(Val::A(x))) => *x,
            _ => return Err(cx.err("input must be an activation")),
        };
        let s = self.shape(x);
        let Ok([bn, c, h, w]) = <[usize; 4]>::try_from(s.clone()) else {
            return Err(cx.unsupported(format!(
                "only 2-D pooling of NCHW inputs is supported, got {s:?}"
            )));
        };
        if attr_i(n, "ceil_mode", 0) != 0 {
            return Err(
                cx.unsupported("ceil_mode = 1 is not supported; export with ceil_mode=False")
            );
        }
        if attr_ints(n, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
            return Err(cx.unsupported("pooling with dilations != 1 is not supported"));
        }
        let k = fixed(
            cx,
            "kernel_shape",
            Some(attr_ints(n, "kernel_shape").unwrap_or_default()),
            [1, 1],
            1,
        )?;
        let (strides, pads) = self.window(cx, [h, w], k, [1, 1])?;
        if (0..4).any(|i| pads[i] >= k[i % 2]) {
            return Err(cx.err(format!(
                "pads {pads:?} must be smaller than the kernel {k:?}"
            )));
        }
        let oh = window_out(h, pads[0], pads[2], k[0], strides[0], 1).map_err(|m| cx.err(m))?;
        let ow = window_out(w, pads[1], pads[3], k[1], strides[1], 1).map_err(|m| cx.err(m))?;
        let op = if n.op_type == "MaxPool" {
            Op::MaxPool {
                kernel: k,
                strides,
                pads,
            }
        } else {
            Op::AvgPool {
                kernel: k,
                strides,
                pads,
                count_include_pad: attr_i(n, "count_include_pad", 0) != 0,
            }
        };
        self.emit(cx, out, op, vec![x], vec![bn, c, oh, ow])
    }

    pub(super) fn pad(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let n = cx.n;
        let x = match ins.first() {
            Some(Some(Val::A(x))) => *x,
            _ => return Err(cx.err("input must be an activation")),
        };
        let s = self.shape(x);
        let r = s.len();
        let mode = attr_str(n, "mode", "constant");
        if mode != "constant" {
            return Err(cx.unsupported(format!(
                "Pad mode \"{mode}\" is not supported (constant only)"
            )));
        }
        let konst = |i: usize| -> R<Option<&Const>> {
            match ins.get(i) {
                Some(Some(Val::C(c))) => Ok(Some(c)),
                Some(Some(Val::A(_))) => {
                    Err(cx.unsupported(format!("Pad input #{i} must be a constant")))
                }
                _ => Ok(None),
            }
        };
        let (raw, value, axes) = if self.opset < 11 {
            let p = attr_ints(n, "pads")
                .or_else(|| attr_ints(n, "paddings"))
                .ok_or_else(|| cx.err("missing pads"))?;
            (p, attr_f(n, "value", 0.0), None)
        } else {
            let p = konst(1)?
                .ok_or_else(|| cx.err("missing pads input"))?
                .ints()
                .map_err(|m| cx.err(m))?;
            let v = konst(2)?
                .and_then(|c| c.t.data.first().copied())
                .unwrap_or(0.0) as f32;
            let axes = konst(3)?
                .map(|c| c.ints())
                .transpose()
                .map_err(|m| cx.err(m))?;
            (p, v, axes)
        };
        let axes: Vec<usize> = match axes {
            Some(a) => a
                .iter()
                .map(|&a| fold::norm_axis(a, r))
                .collect::<Result<_, _>>()
                .map_err(|m| cx.err(m))?,
            None => (0..r).collect(),
        };
        if raw.len() != 2 * axes.len() {
            return Err(cx.err(format!("{} pads for {} axes", raw.len(), axes.len())));
        }
        if raw.iter().any(|&p| !(0..=1 << 20).contains(&p)) {
            return Err(cx.unsupported(format!(
                "pads {raw:?}: negative pads (cropping) or huge pads are not supported"
            )));
        }
        let mut pads = vec![0usize; 2 * r];
        for (k, &a) in axes.iter().enumerate() {
            pads[a] = raw[k] as usize;
            pads[a + r] = raw[k + axes.len()] as usize;
        }
        let shape = (0..r).map(|d| s[d] + pads[d] + pads[d + r]).collect();
        self.emit(cx, out, Op::Pad { pads, value }, vec![x], shape)
    }

    /// Inference-mode BatchNormalization: folded into the producing Conv/Dense when that
    /// output feeds only this node, else MulConst + AddConst per channel.
    pub(super) fn batch_norm(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let n = cx.n;
        if attr_i(n, "training_mode", 0) != 0 {
            return Err(cx.unsupported("training_mode = 1; export the model in eval mode"));
        }
        let x = match ins.first() {
            Some(Some(Val::A(x))) => *x,
            _ => return Err(cx.err("input X must be an activation")),
        };
        let s = self.shape(x);
        let c = *s
            .get(1)
            .ok_or_else(|| cx.err(format!("input {s:?} has no channel axis")))?;
        let mut p = Vec::new();
        for i in 1..5 {
            match ins.get(i) {
                Some(Some(Val::C(t))) if t.t.data.len() == c => p.push(&t.t.data),
                _ => return Err(cx.err(format!("input #{i} must be a constant with {c} values"))),
            }
        }
        let eps = attr_f(n, "epsilon", 1e-5) as f64;
        let scale: Vec<f64> = (0..c).map(|i| p[0][i] / (p[3][i] + eps).sqrt()).collect();
        let shift: Vec<f64> = (0..c).map(|i| p[1][i] - p[2][i] * scale[i]).collect();
        let xname = n.input.first().cloned().unwrap_or_default();
        let sole_use = self.uses.get(&xname).copied() == Some(1);
        if let Some(&ni) = self.producer.get(&x).filter(|_| sole_use) {
            let node = &mut self.g.nodes[ni];
            let foldable = match &node.op {
                Op::Conv { weight, .. } => {
                    weight.shape.first() == Some(&c) && weight.data.len() >= c
                }
                Op::Dense { weight, .. } => {
                    s.len() == 2 && weight.shape.first() == Some(&c) && weight.data.len() >= c
                }
                _ => false,
            };
            if let (true, Op::Conv { weight, bias, .. } | Op::Dense { weight, bias }) =
                (foldable, &mut node.op)
            {
                let per = weight.data.len() / c;
                for (i, w) in weight.data.iter_mut().enumerate() {
                    *w = (*w as f64 * scale[i / per]) as f32;
                }
                let b: Vec<f32> = (0..c)
                    .map(|i| {
                        (bias.as_ref().map_or(0.0, |b| b.data[i] as f64) * scale[i] + shift[i])
                            as f32
                    })
                    .collect();
                *bias = Some(Tensor {
                    shape: vec![c],
                    data: b,
                });
                self.g.values[x].name = out.to_string();
                return Ok(x);
            }
        }
        let mut cshape = vec![c];
        cshape.resize(s.len() - 1, 1);
        let to = |v: &[f64]| Tensor {
            shape: cshape.clone(),
            data: v.iter().map(|&f| f as f32).collect(),
        };
        let mid = self.emit(
            cx,
            &format!("{out}::bn_scaled"),
            Op::MulConst { c: to(&scale) },
            vec![x],
            s.clone(),
        )?;
        self.emit(cx, out, Op::AddConst { c: to(&shift) }, vec![mid], s)
    }
}
