//! Ops lowered onto ones the circuit already proves: LogSoftmax (Softmax, then a Log table),
//! PRelu (Relu twice and a per-channel scale, or a LeakyRelu table for a scalar slope),
//! DepthToSpace / SpaceToDepth (reshape, transpose, reshape), Tile (copies, concatenated) and
//! CumSum (a constant triangular Dense layer, exact), InstanceNormalization (a layer norm over
//! the spatial axes, then the per-channel scale and bias) and Einsum's matrix-product patterns
//! (transposes around one MatMul or Dense).

use super::ops_tf::{act, cst};
use super::{attr_str, Ctx, Importer, Val, R};
use crate::fold::attr_i;
use crate::graph::{Op, ValueId};
use crate::tensor::Tensor;
use crate::Unary;

impl Importer {
    /// `log(softmax(x))`: probabilities below one fixed-point step are 0 there, so their log
    /// saturates at the bottom of the lookup domain (onnxruntime gives the exact value).
    pub(super) fn log_softmax(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let sm = self.softmax(cx, ins, &format!("{out}::softmax"))?;
        let s = self.shape(sm);
        self.emit(cx, out, Op::Unary(Unary::Log), vec![sm], s)
    }

    /// `x` for `x > 0`, else `slope · x`, with a constant slope broadcast to `x`.
    pub(super) fn prelu(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let slope = cst(cx, ins, 1)?
            .ok_or_else(|| cx.err("PRelu needs its slope (input #1) as a constant"))?
            .to_f32();
        if slope.data.len() == 1 {
            let op = Op::LeakyRelu {
                alpha: slope.data[0],
            };
            return self.emit(cx, out, op, vec![x], s);
        }
        // relu(x) − slope · relu(−x).
        let neg = Op::MulConst {
            c: Tensor::new(vec![], vec![-1.0]),
        };
        let pos = self.emit(cx, &format!("{out}::pos"), Op::Relu, vec![x], s.clone())?;
        let nx = self.emit(cx, &format!("{out}::negx"), neg, vec![x], s.clone())?;
        let rn = self.emit(
            cx,
            &format!("{out}::relu_neg"),
            Op::Relu,
            vec![nx],
            s.clone(),
        )?;
        let scaled = self.emit(
            cx,
            &format!("{out}::scaled"),
            Op::MulConst { c: slope },
            vec![rn],
            s.clone(),
        )?;
        self.emit(cx, out, Op::Sub, vec![pos, scaled], s)
    }

    /// Reshape → Transpose → Reshape, named after `out`.
    fn regroup(
        &mut self,
        cx: &Ctx,
        x: ValueId,
        mid: Vec<usize>,
        perm: Vec<usize>,
        shape: Vec<usize>,
        out: &str,
    ) -> R<ValueId> {
        let r = self.emit(
            cx,
            &format!("{out}::split"),
            Op::Reshape,
            vec![x],
            mid.clone(),
        )?;
        let tshape = perm.iter().map(|&p| mid[p]).collect();
        let t = self.emit(
            cx,
            &format!("{out}::move"),
            Op::Transpose { perm },
            vec![r],
            tshape,
        )?;
        self.emit(cx, out, Op::Reshape, vec![t], shape)
    }

    /// DepthToSpace (modes DCR and CRD) and SpaceToDepth on NCHW.
    pub(super) fn depth_space(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let b = usize::try_from(attr_i(cx.n, "blocksize", 0)).unwrap_or(0);
        let [n, c, h, w] = s[..] else {
            return Err(cx.err(format!("needs a 4-D NCHW input, got {s:?}")));
        };
        if b == 0 {
            return Err(cx.err("blocksize must be a positive integer"));
        }
        if cx.n.op_type == "DepthToSpace" {
            if c % (b * b) != 0 {
                return Err(cx.err(format!("{c} channels do not split into blocks of {b}×{b}")));
            }
            let cb = c / (b * b);
            let shape = vec![n, cb, h * b, w * b];
            match attr_str(cx.n, "mode", "DCR").as_str() {
                "DCR" => self.regroup(
                    cx,
                    x,
                    vec![n, b, b, cb, h, w],
                    vec![0, 3, 4, 1, 5, 2],
                    shape,
                    out,
                ),
                "CRD" => self.regroup(
                    cx,
                    x,
                    vec![n, cb, b, b, h, w],
                    vec![0, 1, 4, 2, 5, 3],
                    shape,
                    out,
                ),
                m => Err(cx.err(format!("mode \"{m}\" is not DCR or CRD"))),
            }
        } else {
            if h % b != 0 || w % b != 0 {
                return Err(cx.err(format!("{h}×{w} does not split into blocks of {b}×{b}")));
            }
            let shape = vec![n, c * b * b, h / b, w / b];
            self.regroup(
                cx,
                x,
                vec![n, c, h / b, b, w / b, b],
                vec![0, 3, 5, 1, 2, 4],
                shape,
                out,
            )
        }
    }

    /// Tile with constant repeats: copies concatenated along each repeated axis.
    pub(super) fn tile(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let mut x = act(cx, ins, 0)?;
        let reps = cst(cx, ins, 1)?
            .ok_or_else(|| cx.err("Tile needs its repeats (input #1) as a constant"))?
            .ints()
            .map_err(|m| cx.err(m))?;
        let mut s = self.shape(x);
        if reps.len() != s.len() || reps.iter().any(|&r| r < 1) {
            return Err(cx.err(format!(
                "repeats {reps:?} must be one positive count per axis of {s:?}"
            )));
        }
        let axes: Vec<usize> = (0..s.len()).filter(|&a| reps[a] > 1).collect();
        if axes.is_empty() {
            return self.emit(cx, out, Op::Reshape, vec![x], s);
        }
        for (j, &a) in axes.iter().enumerate() {
            s[a] *= reps[a] as usize;
            let name = if j + 1 == axes.len() {
                out.to_string()
            } else {
                format!("{out}::axis{a}")
            };
            x = self.emit(
                cx,
                &name,
                Op::Concat { axis: a },
                vec![x; reps[a] as usize],
                s.clone(),
            )?;
        }
        Ok(x)
    }

    /// CumSum along a constant axis: the axis moved last, a Dense layer with a triangular
    /// 0/1 weight (inclusive or exclusive, forward or reverse), moved back.
    pub(super) fn cumsum(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let axis = cst(cx, ins, 1)?
            .ok_or_else(|| cx.err("CumSum needs its axis (input #1) as a constant"))?
            .ints()
            .map_err(|m| cx.err(m))?;
        let r = s.len() as i64;
        let axis = match axis[..] {
            [a] if (-r..r).contains(&a) => ((a + r) % r) as usize,
            _ => return Err(cx.err(format!("axis {axis:?} is not one axis of {s:?}"))),
        };
        let (exclusive, reverse) = (
            attr_i(cx.n, "exclusive", 0) != 0,
            attr_i(cx.n, "reverse", 0) != 0,
        );
        let n = s[axis];
        // weight[i, k] = 1 when output i sums input k.
        let mut w = vec![0f32; n * n];
        for i in 0..n {
            for k in 0..n {
                let take = match (reverse, exclusive) {
                    (false, false) => k <= i,
                    (false, true) => k < i,
                    (true, false) => k >= i,
                    (true, true) => k > i,
                };
                w[i * n + k] = f32::from(u8::from(take));
            }
        }
        let dense = Op::Dense {
            weight: Tensor::new(vec![n, n], w),
            bias: None,
        };
        let last = s.len() - 1;
        if axis == last {
            return self.emit(cx, out, dense, vec![x], s);
        }
        let mut perm: Vec<usize> = (0..s.len()).collect();
        perm.swap(axis, last);
        let ts: Vec<usize> = perm.iter().map(|&p| s[p]).collect();
        let t = self.emit(
            cx,
            &format!("{out}::last"),
            Op::Transpose { perm: perm.clone() },
            vec![x],
            ts.clone(),
        )?;
        let d = self.emit(cx, &format!("{out}::sum"), dense, vec![t], ts)?;
        self.emit(cx, out, Op::Transpose { perm }, vec![d], s)
    }

    /// InstanceNormalization on `[N, C, …]`: each (n, c) normalized over the spatial axes,
    /// then `· scale[c] + bias[c]`.
    pub(super) fn instance_norm(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        if s.len() < 3 {
            return Err(cx.err(format!("needs [N, C, spatial…], got {s:?}")));
        }
        let c = s[1];
        let per_channel = |i: usize, what: &str| -> R<Tensor<f32>> {
            let t = cst(cx, ins, i)?
                .ok_or_else(|| {
                    cx.err(format!(
                        "InstanceNormalization needs its {what} (input #{i}) as a constant"
                    ))
                })?
                .to_f32();
            if t.data.len() != c {
                return Err(cx.err(format!(
                    "{what} has {} values for {c} channels",
                    t.data.len()
                )));
            }
            let mut shape = vec![c];
            shape.extend(std::iter::repeat_n(1, s.len() - 2));
            Ok(Tensor::new(shape, t.data))
        };
        let (scale, bias) = (per_channel(1, "scale")?, per_channel(2, "bias")?);
        let spatial: Vec<usize> = s[2..].to_vec();
        let norm = Op::LayerNorm {
            axis: 2,
            epsilon: crate::fold::attr_f(cx.n, "epsilon", 1e-5),
            scale: Tensor::new(spatial.clone(), vec![1.0; spatial.iter().product()]),
            bias: None,
        };
        let y = self.emit(cx, &format!("{out}::norm"), norm, vec![x], s.clone())?;
        let y = self.emit(
            cx,
            &format!("{out}::scale"),
            Op::MulConst { c: scale },
            vec![y],
            s.clone(),
        )?;
        self.emit(cx, out, Op::AddConst { c: bias }, vec![y], s)
    }

    /// Einsum of two operands that is one matrix product: exactly one summed index, at most
    /// one index of the right operand's own, and either batch indices in both operands with
    /// at most one own index on the left (`bij,bjk->bik`, `bhqd,bhkd->bhqk`) or no batch
    /// index and any own indices on the left (`bij,jk->bik`: a dense layer). The operands are
    /// transposed to `[batch…, m…, k]` and `[batch…, k, n]`, multiplied, and the result
    /// transposed to the output's order.
    pub(super) fn einsum(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let eq = attr_str(cx.n, "equation", "").replace(' ', "");
        let unsupported = |why: &str| {
            cx.unsupported(format!(
                "Einsum \"{eq}\": {why}; only single matrix products (e.g. ij,jk->ik, bij,bjk->bik) are supported"
            ))
        };
        let (lhs, rhs) = eq
            .split_once("->")
            .ok_or_else(|| unsupported("no explicit output"))?;
        let terms: Vec<Vec<char>> = lhs.split(',').map(|t| t.chars().collect()).collect();
        let outc: Vec<char> = rhs.chars().collect();
        let [a, b] = &terms[..] else {
            return Err(unsupported("not two operands"));
        };
        if [a, b, &outc].iter().any(|t| {
            t.iter().any(|c| !c.is_ascii_alphabetic()) || {
                let mut u = t.to_vec();
                u.sort_unstable();
                u.dedup();
                u.len() != t.len()
            }
        }) {
            return Err(unsupported("repeated or non-letter indices"));
        }
        let summed: Vec<char> = a
            .iter()
            .filter(|c| b.contains(c) && !outc.contains(c))
            .copied()
            .collect();
        let batch: Vec<char> = a
            .iter()
            .filter(|c| b.contains(c) && outc.contains(c))
            .copied()
            .collect();
        let own_a: Vec<char> = a.iter().filter(|c| !b.contains(c)).copied().collect();
        let own_b: Vec<char> = b.iter().filter(|c| !a.contains(c)).copied().collect();
        if summed.len() != 1 || own_b.len() > 1 || (own_a.len() > 1 && !batch.is_empty()) {
            return Err(unsupported(
                "not one summed index with at most one own index per operand",
            ));
        }
        if own_a.iter().chain(&own_b).any(|c| !outc.contains(c))
            || outc.len() != batch.len() + own_a.len() + own_b.len()
        {
            return Err(unsupported("an index summed over one operand only"));
        }
        let k = summed[0];
        let want_a: Vec<char> = batch.iter().chain(&own_a).chain([&k]).copied().collect();
        let want_b: Vec<char> = batch.iter().chain([&k]).chain(&own_b).copied().collect();
        // Moves `v` (indices `have`) into the order `want`.
        let arrange = |me: &mut Self, v: &Val, have: &[char], want: &[char], tag: &str| -> R<Val> {
            let perm: Vec<usize> = want
                .iter()
                .filter_map(|c| have.iter().position(|h| h == c))
                .collect();
            match v {
                Val::A(id) => {
                    let s = me.shape(*id);
                    let mut cur = *id;
                    if perm.iter().enumerate().any(|(i, &p)| i != p) {
                        let ts = perm.iter().map(|&p| s[p]).collect();
                        cur = me.emit(
                            cx,
                            &format!("{out}::{tag}"),
                            Op::Transpose { perm: perm.clone() },
                            vec![cur],
                            ts,
                        )?;
                    }
                    Ok(Val::A(cur))
                }
                Val::C(c) => {
                    let t = crate::eval::transpose(&c.t, &perm).map_err(|m| cx.err(m))?;
                    Ok(Val::C(crate::fold::Const { t, kind: c.kind }))
                }
            }
        };
        let (va, vb) = match (ins.first(), ins.get(1)) {
            (Some(Some(x)), Some(Some(y))) => (x.clone(), y.clone()),
            _ => return Err(cx.err("needs two inputs")),
        };
        let va = arrange(self, &va, a, &want_a, "lhs")?;
        let vb = arrange(self, &vb, b, &want_b, "rhs")?;
        // The product in [batch…, m, n] order; then to the output's order.
        let prod: Vec<char> = batch.iter().chain(&own_a).chain(&own_b).copied().collect();
        let mm = format!("{out}::matmul");
        let direct = prod == outc;
        let name = if direct { out.to_string() } else { mm };
        let id = self.matmul(cx, &[Some(va), Some(vb)], &name)?;
        if direct {
            return Ok(id);
        }
        let s = self.shape(id);
        let perm: Vec<usize> = outc
            .iter()
            .map(|c| prod.iter().position(|p| p == c).unwrap_or(0))
            .collect();
        let shape = perm.iter().map(|&p| s[p]).collect();
        self.emit(cx, out, Op::Transpose { perm }, vec![id], shape)
    }

    /// The slices of `x` along `axis`, one per index (the axis kept, of size 1).
    fn unstack(&mut self, cx: &Ctx, x: ValueId, axis: usize, out: &str) -> R<Vec<ValueId>> {
        let s = self.shape(x);
        let mut one = s.clone();
        one[axis] = 1;
        (0..s[axis])
            .map(|i| {
                let op = Op::Slice {
                    axes: vec![axis],
                    starts: vec![i],
                    ends: vec![i + 1],
                    steps: vec![1],
                };
                self.emit(cx, &format!("{out}::at{i}"), op, vec![x], one.clone())
            })
            .collect()
    }

    /// `max(a, b)` (or min) of two equally shaped activations.
    fn pair_extreme(
        &mut self,
        cx: &Ctx,
        a: ValueId,
        b: ValueId,
        max: bool,
        name: &str,
    ) -> R<ValueId> {
        let s = self.shape(a);
        self.emit(cx, name, Op::Extreme { max }, vec![a, b], s)
    }

    /// The axis and keepdims of a one-axis reduction (`axes` attribute or input, or `axis`).
    fn one_axis(&self, cx: &Ctx, ins: &[Option<Val>], rank: usize) -> R<(usize, bool)> {
        let n = cx.n;
        let axes: Vec<i64> = if n.op_type.starts_with("Arg") {
            vec![attr_i(n, "axis", 0)]
        } else if let Some(c) = cst(cx, ins, 1)? {
            c.ints().map_err(|m| cx.err(m))?
        } else {
            crate::fold::attr_ints(n, "axes").unwrap_or_else(|| (0..rank as i64).collect())
        };
        let r = rank as i64;
        match axes[..] {
            [a] if (-r..r).contains(&a) => {
                Ok((((a + r) % r) as usize, attr_i(n, "keepdims", 1) != 0))
            }
            _ => Err(cx.unsupported(format!(
                "{} over axes {axes:?} of a rank-{rank} input: only one axis is supported",
                n.op_type
            ))),
        }
    }

    /// ReduceMax / ReduceMin over one axis: a tree of pairwise maxima (one Relu lookup each);
    /// ReduceProd: a tree of products.
    pub(super) fn reduce_extreme(
        &mut self,
        cx: &Ctx,
        ins: &[Option<Val>],
        out: &str,
    ) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let (axis, keep) = self.one_axis(cx, ins, s.len())?;
        let m = match cx.n.op_type.as_str() {
            "ReduceProd" => self.product(cx, x, axis, &format!("{out}::tree"))?,
            op => self.extreme(cx, x, axis, op == "ReduceMax", &format!("{out}::tree"))?,
        };
        let mut shape = s.clone();
        shape[axis] = 1;
        if !keep {
            shape.remove(axis);
        }
        self.emit(cx, out, Op::Reshape, vec![m], shape)
    }

    /// The product of `x` along `axis`, keeping the axis (size 1): a tree of products
    /// (one rescale each).
    fn product(&mut self, cx: &Ctx, x: ValueId, axis: usize, name: &str) -> R<ValueId> {
        let mut level = self.unstack(cx, x, axis, name)?;
        let mut round = 0;
        while level.len() > 1 {
            let mut next = vec![];
            for (j, pair) in level.chunks(2).enumerate() {
                next.push(match pair {
                    [a, b] => {
                        let s = self.shape(*a);
                        let nm = format!("{name}::r{round}_{j}");
                        self.emit(cx, &nm, Op::Mul, vec![*a, *b], s)?
                    }
                    [a] => *a,
                    _ => unreachable!(),
                });
            }
            level = next;
            round += 1;
        }
        Ok(level[0])
    }

    /// The max (or min) of `x` along `axis`, keeping the axis (size 1).
    fn extreme(&mut self, cx: &Ctx, x: ValueId, axis: usize, max: bool, name: &str) -> R<ValueId> {
        let mut level = self.unstack(cx, x, axis, name)?;
        let mut round = 0;
        while level.len() > 1 {
            let mut next = vec![];
            for (j, pair) in level.chunks(2).enumerate() {
                next.push(match pair {
                    [a, b] => {
                        self.pair_extreme(cx, *a, *b, max, &format!("{name}::r{round}_{j}"))?
                    }
                    [a] => *a,
                    _ => unreachable!(),
                });
            }
            level = next;
            round += 1;
        }
        Ok(level[0])
    }

    /// ArgMax / ArgMin over one axis, first index on ties (or last with
    /// `select_last_index`): the extreme `m`; `e_i = [x_i ≥ m]` (a step lookup, exact on the
    /// grid); the first hit `f_i = e_i · (1 − seen_{i−1})`, `seen_i = seen_{i−1} + f_i`; the
    /// index `Σ i · f_i`. An index is a number like any activation (`i` at the model's scale).
    pub(super) fn arg_extreme(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let (axis, keep) = self.one_axis(cx, ins, s.len())?;
        let max = cx.n.op_type == "ArgMax";
        let last = attr_i(cx.n, "select_last_index", 0) != 0;
        let m = self.extreme(cx, x, axis, max, &format!("{out}::extreme"))?;
        let mut items = self.unstack(cx, x, axis, &format!("{out}::item"))?;
        let mut index: Vec<usize> = (0..items.len()).collect();
        if last {
            items.reverse();
            index.reverse();
        }
        let mut one = s.clone();
        one[axis] = 1;
        let unit = || Tensor::new(vec![], vec![1.0f32]);
        let mut seen: Option<ValueId> = None;
        let mut acc: Option<ValueId> = None;
        for (t, (&xi, &i)) in items.iter().zip(&index).enumerate() {
            let nm = |part: &str| format!("{out}::{t}{part}");
            // e = [x_i ≥ m] for a max (x_i − m ≥ 0), [m ≥ x_i] for a min.
            let (p, q) = if max { (xi, m) } else { (m, xi) };
            let d = self.emit(cx, &nm("::d"), Op::Sub, vec![p, q], one.clone())?;
            let e = self.emit(
                cx,
                &nm("::hit"),
                Op::Unary(Unary::NonNegative),
                vec![d],
                one.clone(),
            )?;
            let f = match seen {
                None => e,
                Some(sn) => {
                    let not = Op::SubConst {
                        c: unit(),
                        reversed: true,
                    };
                    let fresh = self.emit(cx, &nm("::fresh"), not, vec![sn], one.clone())?;
                    self.emit(cx, &nm("::first"), Op::Mul, vec![e, fresh], one.clone())?
                }
            };
            seen = Some(match seen {
                None => f,
                Some(sn) => self.emit(cx, &nm("::seen"), Op::Add, vec![sn, f], one.clone())?,
            });
            if i > 0 {
                let term = Op::MulConst {
                    c: Tensor::new(vec![], vec![i as f32]),
                };
                let v = self.emit(cx, &nm("::term"), term, vec![f], one.clone())?;
                acc = Some(match acc {
                    None => v,
                    Some(a) => self.emit(cx, &nm("::sum"), Op::Add, vec![a, v], one.clone())?,
                });
            }
        }
        let mut shape = one;
        if !keep {
            shape.remove(axis);
        }
        match acc {
            Some(a) => self.emit(cx, out, Op::Reshape, vec![a], shape),
            // One element: the index is 0 everywhere.
            None => {
                let zero = Op::MulConst {
                    c: Tensor::new(vec![], vec![0.0]),
                };
                self.emit(cx, out, zero, vec![m], shape)
            }
        }
    }

    /// GatherElements and GatherND with constant indices: the flat positions they pick,
    /// gathered from the flattened input (values move; nothing is computed).
    pub(super) fn gather_flat(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let idx = match ins.get(1) {
            Some(Some(Val::C(c))) => c,
            Some(Some(Val::A(ids))) if cx.n.op_type == "GatherElements" => {
                return self.gather_elements_computed(cx, x, *ids, out)
            }
            Some(Some(Val::A(ids))) if attr_i(cx.n, "batch_dims", 0) == 0 => {
                return self.gather_nd_computed(cx, x, *ids, out)
            }
            Some(Some(Val::A(_))) => {
                return Err(cx.unsupported(format!(
                    "{} with indices computed from the model input is not supported; the indices must be constants",
                    cx.n.op_type
                )))
            }
            _ => return Err(cx.err("needs inputs data and indices")),
        };
        let ints = idx.ints().map_err(|m| cx.err(m))?;
        let strides: Vec<usize> = (0..s.len()).map(|d| s[d + 1..].iter().product()).collect();
        let norm = |i: i64, d: usize| -> R<usize> {
            let dim = s[d] as i64;
            let j = if i < 0 { i + dim } else { i };
            usize::try_from(j)
                .ok()
                .filter(|&j| j < s[d])
                .ok_or_else(|| cx.err(format!("index {i} is out of range for axis {d} of {s:?}")))
        };
        let (flat, shape): (Vec<i64>, Vec<usize>) = if cx.n.op_type == "GatherElements" {
            let axis =
                crate::fold::norm_axis(attr_i(cx.n, "axis", 0), s.len()).map_err(|m| cx.err(m))?;
            let ishape = idx.t.shape.clone();
            if ishape.len() != s.len()
                || ishape
                    .iter()
                    .zip(&s)
                    .enumerate()
                    .any(|(d, (&a, &b))| d != axis && a > b)
            {
                return Err(cx.err(format!("indices of shape {ishape:?} do not fit data {s:?}")));
            }
            let mut flat = Vec::with_capacity(ints.len());
            for (n, &i) in ints.iter().enumerate() {
                // The position of element n of the indices, with axis `axis` replaced.
                let mut rem = n;
                let mut pos = 0;
                for d in 0..s.len() {
                    let istride: usize = ishape[d + 1..].iter().product();
                    let coord = rem / istride;
                    rem %= istride;
                    pos += if d == axis { norm(i, d)? } else { coord } * strides[d];
                }
                flat.push(pos as i64);
            }
            (flat, ishape)
        } else {
            if attr_i(cx.n, "batch_dims", 0) != 0 {
                return Err(cx.unsupported("GatherND with batch_dims > 0 is not supported"));
            }
            let ishape = &idx.t.shape;
            let q = *ishape
                .last()
                .ok_or_else(|| cx.err("indices must have rank >= 1"))?;
            if q == 0 || q > s.len() {
                return Err(cx.err(format!(
                    "index tuples of length {q} for data of rank {}",
                    s.len()
                )));
            }
            let slab: usize = s[q..].iter().product();
            let mut flat = vec![];
            for tuple in ints.chunks(q) {
                let mut base = 0;
                for (d, &i) in tuple.iter().enumerate() {
                    base += norm(i, d)? * strides[d];
                }
                flat.extend((0..slab).map(|k| (base + k) as i64));
            }
            let mut shape = ishape[..ishape.len() - 1].to_vec();
            shape.extend_from_slice(&s[q..]);
            (flat, shape)
        };
        self.pick(cx, &[x], flat, shape, out)
    }

    /// The values at flat positions `flat` of the concatenated, flattened `xs`, shaped
    /// `shape`: values only move.
    fn pick(
        &mut self,
        cx: &Ctx,
        xs: &[ValueId],
        flat: Vec<i64>,
        shape: Vec<usize>,
        out: &str,
    ) -> R<ValueId> {
        let mut lines = vec![];
        for (i, &x) in xs.iter().enumerate() {
            let n = self.shape(x).iter().product();
            let nm = format!("{out}::flat{i}");
            lines.push(self.emit(cx, &nm, Op::Reshape, vec![x], vec![n])?);
        }
        let total: usize = xs
            .iter()
            .map(|&x| self.shape(x).iter().product::<usize>())
            .sum();
        let line = match lines[..] {
            [l] => l,
            _ => self.emit(
                cx,
                &format!("{out}::all"),
                Op::Concat { axis: 0 },
                lines,
                vec![total],
            )?,
        };
        let len = flat.len();
        let indices = Tensor::new(vec![len], flat);
        let picked = self.emit(
            cx,
            &format!("{out}::pick"),
            Op::Gather { axis: 0, indices },
            vec![line],
            vec![len],
        )?;
        self.emit(cx, out, Op::Reshape, vec![picked], shape)
    }

    /// ReverseSequence with constant lengths: each batch entry's first `len` steps along
    /// the time axis in reverse order, the rest as they are (values only move).
    pub(super) fn reverse_sequence(
        &mut self,
        cx: &Ctx,
        ins: &[Option<Val>],
        out: &str,
    ) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        let lens = cst(cx, ins, 1)?
            .ok_or_else(|| cx.unsupported("ReverseSequence needs constant sequence_lens"))?
            .ints()
            .map_err(|m| cx.err(m))?;
        let (b_ax, t_ax) = (
            attr_i(cx.n, "batch_axis", 1) as usize,
            attr_i(cx.n, "time_axis", 0) as usize,
        );
        if s.len() < 2 || b_ax.max(t_ax) > 1 || b_ax == t_ax || lens.len() != s[b_ax] {
            return Err(cx.err(format!(
                "batch_axis {b_ax}, time_axis {t_ax} (0 and 1) and {} lengths for an input of shape {s:?}",
                lens.len()
            )));
        }
        let strides: Vec<usize> = (0..s.len()).map(|d| s[d + 1..].iter().product()).collect();
        let n: usize = s.iter().product();
        let mut flat = Vec::with_capacity(n);
        for pos in 0..n {
            let mut idx: Vec<usize> = (0..s.len()).map(|d| pos / strides[d] % s[d]).collect();
            let len = lens[idx[b_ax]];
            if len < 0 || len as usize > s[t_ax] {
                return Err(cx.err(format!("sequence length {len} outside 0..={}", s[t_ax])));
            }
            if idx[t_ax] < len as usize {
                idx[t_ax] = len as usize - 1 - idx[t_ax];
            }
            flat.push(
                idx.iter()
                    .zip(&strides)
                    .map(|(i, st)| i * st)
                    .sum::<usize>() as i64,
            );
        }
        self.pick(cx, &[x], flat, s, out)
    }

    /// ScatterND with constant indices (reduction none): `data` with the addressed slices
    /// replaced by `updates` (data and updates may be computed; values only move).
    pub(super) fn scatter_nd(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        if attr_str(cx.n, "reduction", "none") != "none" {
            return Err(cx.unsupported("ScatterND with a reduction is not supported (none only)"));
        }
        let idx =
            cst(cx, ins, 1)?.ok_or_else(|| cx.unsupported("ScatterND needs constant indices"))?;
        let ints = idx.ints().map_err(|m| cx.err(m))?;
        let as_act = |i: usize| -> R<ValueId> {
            match ins.get(i) {
                Some(Some(Val::A(a))) => Ok(*a),
                Some(Some(Val::C(_))) => Err(cx.unsupported(format!(
                    "ScatterND with a constant input #{i}: only computed data and updates are supported"
                ))),
                _ => Err(cx.err(format!("required input #{i} is missing"))),
            }
        };
        let (data, updates) = (as_act(0)?, as_act(2)?);
        let s = self.shape(data);
        let ishape = &idx.t.shape;
        let q = *ishape
            .last()
            .ok_or_else(|| cx.err("indices must have rank >= 1"))?;
        if q == 0 || q > s.len() {
            return Err(cx.err(format!(
                "index tuples of length {q} for data of rank {}",
                s.len()
            )));
        }
        let strides: Vec<usize> = (0..s.len()).map(|d| s[d + 1..].iter().product()).collect();
        let slab: usize = s[q..].iter().product();
        let n: usize = s.iter().product();
        let mut flat: Vec<i64> = (0..n as i64).collect();
        for (u, tuple) in ints.chunks(q).enumerate() {
            let mut base = 0;
            for (d, &i) in tuple.iter().enumerate() {
                let dim = s[d] as i64;
                if !(-dim..dim).contains(&i) {
                    return Err(
                        cx.err(format!("index {i} out of range for axis {d} of size {dim}"))
                    );
                }
                base += ((i + dim) % dim) as usize * strides[d];
            }
            for k in 0..slab {
                // Position n + j of the concatenation is update value j.
                flat[base + k] = (n + u * slab + k) as i64;
            }
        }
        if self.shape(updates).iter().product::<usize>() != ints.len() / q * slab {
            return Err(cx.err("updates do not have the shape the indices address"));
        }
        self.pick(cx, &[data, updates], flat, s, out)
    }

    /// LRN on `[N, C, …]`: `x / (bias + alpha/size · Σ x²)^beta`, the sum over the `size`
    /// channels around each one (a constant 0/1 band matrix on the channel axis).
    pub(super) fn lrn(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        if s.len() < 3 {
            return Err(cx.err(format!("needs [N, C, spatial…], got {s:?}")));
        }
        let size = usize::try_from(attr_i(cx.n, "size", 0))
            .ok()
            .filter(|&v| v >= 1)
            .ok_or_else(|| cx.err("size must be a positive integer"))?;
        let f = |name: &str, d: f32| crate::fold::attr_f(cx.n, name, d);
        let (alpha, beta, bias) = (f("alpha", 1e-4), f("beta", 0.75), f("bias", 1.0));
        let c = s[1];
        // Channel c sums channels c − ⌊(size−1)/2⌋ ..= c + ⌈(size−1)/2⌉.
        let (lo, hi) = ((size - 1) / 2, (size - 1).div_ceil(2));
        let mut band = vec![0f32; c * c];
        for i in 0..c {
            for k in i.saturating_sub(lo)..=(i + hi).min(c - 1) {
                band[i * c + k] = 1.0;
            }
        }
        let sq = self.emit(cx, &format!("{out}::sq"), Op::Mul, vec![x, x], s.clone())?;
        let last = s.len() - 1;
        let mut perm: Vec<usize> = (0..s.len()).collect();
        perm.swap(1, last);
        let ts: Vec<usize> = perm.iter().map(|&p| s[p]).collect();
        let t = self.emit(
            cx,
            &format!("{out}::clast"),
            Op::Transpose { perm: perm.clone() },
            vec![sq],
            ts.clone(),
        )?;
        let dense = Op::Dense {
            weight: Tensor::new(vec![c, c], band),
            bias: None,
        };
        let sum = self.emit(cx, &format!("{out}::window"), dense, vec![t], ts)?;
        let sum = self.emit(
            cx,
            &format!("{out}::cfirst"),
            Op::Transpose { perm },
            vec![sum],
            s.clone(),
        )?;
        let scaled = Op::MulConst {
            c: Tensor::new(vec![], vec![alpha / size as f32]),
        };
        let d = self.emit(cx, &format!("{out}::scaled"), scaled, vec![sum], s.clone())?;
        let d = self.emit(
            cx,
            &format!("{out}::biased"),
            Op::AddConst {
                c: Tensor::new(vec![], vec![bias]),
            },
            vec![d],
            s.clone(),
        )?;
        let p = self.emit(
            cx,
            &format!("{out}::pow"),
            Op::Unary(Unary::Pow { e: -beta }),
            vec![d],
            s.clone(),
        )?;
        self.emit(cx, out, Op::Mul, vec![x, p], s)
    }

    /// `Gather(x, ids)` with both computed: a one-hot row per id (`[id = k]` for each k < V,
    /// exact on the grid, the row sum checked to be exactly 1, so every id is an integer in
    /// `0..V` — negative ids are refused, not wrapped) times `x` with the gathered axis first
    /// (a product of activations), moved back into place.
    pub(super) fn gather_computed(
        &mut self,
        cx: &Ctx,
        x: ValueId,
        ids: ValueId,
        out: &str,
    ) -> R<ValueId> {
        let s = self.shape(x);
        let axis =
            crate::fold::norm_axis(attr_i(cx.n, "axis", 0), s.len()).map_err(|m| cx.err(m))?;
        let v = s[axis];
        if v > 4096 {
            return Err(cx.unsupported(format!(
                "Gather at computed indices along an axis of {v}: up to 4096 (each value costs a comparison per index)"
            )));
        }
        let is = self.shape(ids);
        let n: usize = is.iter().product();
        let flat_ids = self.emit(
            cx,
            &format!("{out}::ids"),
            Op::Reshape,
            vec![ids],
            vec![n, 1],
        )?;
        let (hot, ok) = self.one_hot(cx, flat_ids, v, out)?;
        // x with the gathered axis first: [V, rest].
        let mut perm = vec![axis];
        perm.extend((0..s.len()).filter(|&d| d != axis));
        let moved: Vec<usize> = perm.iter().map(|&d| s[d]).collect();
        let rest: usize = moved[1..].iter().product();
        let xt = self.emit(
            cx,
            &format!("{out}::axis_first"),
            Op::Transpose { perm },
            vec![x],
            moved.clone(),
        )?;
        let x2 = self.emit(
            cx,
            &format!("{out}::rows"),
            Op::Reshape,
            vec![xt],
            vec![v, rest],
        )?;
        let picked = self.emit(
            cx,
            &format!("{out}::picked"),
            Op::MatMul,
            vec![hot, x2],
            vec![n, rest],
        )?;
        // ·1: the range check is on the output's path, so no pass can drop it as unused.
        let picked = self.emit(
            cx,
            &format!("{out}::checked"),
            Op::Mul,
            vec![picked, ok],
            vec![n, rest],
        )?;
        // [ids…, outer…, inner…] → [outer…, ids…, inner…].
        let mut grouped = is.clone();
        grouped.extend_from_slice(&moved[1..]);
        let g = self.emit(
            cx,
            &format!("{out}::grouped"),
            Op::Reshape,
            vec![picked],
            grouped.clone(),
        )?;
        let (ni, no) = (is.len(), axis);
        let mut perm: Vec<usize> = (ni..ni + no).collect();
        perm.extend(0..ni);
        perm.extend(ni + no..grouped.len());
        let shape: Vec<usize> = perm.iter().map(|&d| grouped[d]).collect();
        self.emit(cx, out, Op::Transpose { perm }, vec![g], shape)
    }

    /// `[ids = k]` for k in `0..v` as 0/1 columns of `[n, v]` (exact on the grid), and the
    /// check that each row sums to exactly 1 (so every id is an integer in `0..v`).
    fn one_hot(&mut self, cx: &Ctx, ids: ValueId, v: usize, out: &str) -> R<(ValueId, ValueId)> {
        let n = self.shape(ids)[0];
        let mut hits = vec![];
        for k in 0..v {
            let nm = |p: &str| format!("{out}::id{k}{p}");
            let d = self.emit(
                cx,
                &nm("::d"),
                Op::SubConst {
                    c: Tensor::new(vec![], vec![k as f32]),
                    reversed: false,
                },
                vec![ids],
                vec![n, 1],
            )?;
            hits.push(self.is_zero(cx, d, &nm("::eq"))?);
        }
        let hot = match hits[..] {
            [h] => h,
            _ => self.emit(
                cx,
                &format!("{out}::onehot"),
                Op::Concat { axis: 1 },
                hits,
                vec![n, v],
            )?,
        };
        let ones = Op::Dense {
            weight: Tensor::new(vec![1, v], vec![1.0; v]),
            bias: None,
        };
        let sum = self.emit(cx, &format!("{out}::rowsum"), ones, vec![hot], vec![n, 1])?;
        let ok = self.emit(
            cx,
            &format!("{out}::in_range"),
            Op::RequireOne,
            vec![sum],
            vec![n, 1],
        )?;
        Ok((hot, ok))
    }

    /// GatherND at computed index tuples (batch_dims 0): each component checked to be an
    /// integer in its axis's range (a one-hot row summing to 1), the tuple's flat position
    /// one-hot over the addressed axes, times the data's slabs (a product of activations).
    fn gather_nd_computed(&mut self, cx: &Ctx, x: ValueId, ids: ValueId, out: &str) -> R<ValueId> {
        let s = self.shape(x);
        let is = self.shape(ids);
        let q = *is
            .last()
            .ok_or_else(|| cx.err("indices must have rank >= 1"))?;
        if q == 0 || q > s.len() {
            return Err(cx.err(format!(
                "index tuples of length {q} for data of rank {}",
                s.len()
            )));
        }
        let f: usize = s[..q].iter().product();
        if f > 4096 {
            return Err(cx.unsupported(format!(
                "GatherND at computed indices over {f} positions: up to 4096 (each costs a comparison per tuple)"
            )));
        }
        let n: usize = is[..is.len() - 1].iter().product();
        let slab: usize = s[q..].iter().product();
        let tuples = self.emit(
            cx,
            &format!("{out}::tuples"),
            Op::Reshape,
            vec![ids],
            vec![n, q],
        )?;
        let mut checks = vec![];
        let mut flat: Option<ValueId> = None;
        for d in 0..q {
            let comp = self.emit(
                cx,
                &format!("{out}::c{d}"),
                Op::Slice {
                    axes: vec![1],
                    starts: vec![d],
                    ends: vec![d + 1],
                    steps: vec![1],
                },
                vec![tuples],
                vec![n, 1],
            )?;
            checks.push(self.one_hot(cx, comp, s[d], &format!("{out}::c{d}"))?.1);
            let stride: usize = s[d + 1..q].iter().product();
            let term = self.emit(
                cx,
                &format!("{out}::c{d}::pos"),
                Op::MulConst {
                    c: Tensor::new(vec![], vec![stride as f32]),
                },
                vec![comp],
                vec![n, 1],
            )?;
            flat = Some(match flat {
                None => term,
                Some(a) => self.emit(
                    cx,
                    &format!("{out}::c{d}::flat"),
                    Op::Add,
                    vec![a, term],
                    vec![n, 1],
                )?,
            });
        }
        let (hot, ok) = self.one_hot(cx, flat.expect("q > 0"), f, &format!("{out}::at"))?;
        checks.push(ok);
        let rows = self.emit(
            cx,
            &format!("{out}::slabs"),
            Op::Reshape,
            vec![x],
            vec![f, slab],
        )?;
        let mut picked = self.emit(
            cx,
            &format!("{out}::picked"),
            Op::MatMul,
            vec![hot, rows],
            vec![n, slab],
        )?;
        // ·1 per check: they are on the output's path, so no pass can drop them as unused.
        for (i, c) in checks.into_iter().enumerate() {
            let nm = format!("{out}::checked{i}");
            picked = self.emit(cx, &nm, Op::Mul, vec![picked, c], vec![n, slab])?;
        }
        let mut shape = is[..is.len() - 1].to_vec();
        shape.extend_from_slice(&s[q..]);
        self.emit(cx, out, Op::Reshape, vec![picked], shape)
    }

    /// GatherElements at computed indices: `Σ_k [idx = k] · x[…, k, …]` (the one-hot terms
    /// exact on the grid and checked to sum to exactly 1; each slice of `x` along the axis
    /// broadcast over the indices).
    fn gather_elements_computed(
        &mut self,
        cx: &Ctx,
        x: ValueId,
        ids: ValueId,
        out: &str,
    ) -> R<ValueId> {
        let s = self.shape(x);
        let is = self.shape(ids);
        let axis =
            crate::fold::norm_axis(attr_i(cx.n, "axis", 0), s.len()).map_err(|m| cx.err(m))?;
        if is.len() != s.len() || (0..s.len()).any(|d| d != axis && is[d] != s[d]) {
            return Err(cx.unsupported(format!(
                "GatherElements at computed indices of shape {is:?} into {s:?}: the indices must match the data on every axis but {axis}"
            )));
        }
        let v = s[axis];
        if v > 4096 {
            return Err(cx.unsupported(format!(
                "GatherElements at computed indices along an axis of {v}: up to 4096"
            )));
        }
        let slices = self.unstack(cx, x, axis, &format!("{out}::x"))?;
        let (mut acc, mut count) = (None, None);
        for (k, &xk) in slices.iter().enumerate() {
            let nm = |p: &str| format!("{out}::id{k}{p}");
            let d = self.emit(
                cx,
                &nm("::d"),
                Op::SubConst {
                    c: Tensor::new(vec![], vec![k as f32]),
                    reversed: false,
                },
                vec![ids],
                is.clone(),
            )?;
            let eq = self.is_zero(cx, d, &nm("::eq"))?;
            let term = self.emit(cx, &nm("::term"), Op::Mul, vec![eq, xk], is.clone())?;
            let add = |me: &mut Self, a: Option<ValueId>, b: ValueId, what: &str| -> R<ValueId> {
                Ok(match a {
                    None => b,
                    Some(a) => me.emit(cx, &nm(what), Op::Add, vec![a, b], is.clone())?,
                })
            };
            acc = Some(add(self, acc, term, "::sum")?);
            count = Some(add(self, count, eq, "::hits")?);
        }
        let (acc, count) = (acc.expect("v > 0"), count.expect("v > 0"));
        let ok = self.emit(
            cx,
            &format!("{out}::in_range"),
            Op::RequireOne,
            vec![count],
            is.clone(),
        )?;
        // ·1: the range check is on the output's path, so no pass can drop it as unused.
        self.emit(cx, out, Op::Mul, vec![acc, ok], is)
    }

    /// `Gather(table, ids)` with a constant `[V, …]` table and computed (private) ids, axis 0:
    /// an [`Op::Embedding`] (a lookup of `(id, row)` in the circuit; see the lowering).
    pub(super) fn embedding(
        &mut self,
        cx: &Ctx,
        table: &crate::fold::Const,
        ids: ValueId,
        out: &str,
    ) -> R<ValueId> {
        if attr_i(cx.n, "axis", 0) != 0 || table.t.rank() < 1 {
            return Err(cx.unsupported(
                "Gather at computed indices works on axis 0 of a constant table (an embedding)",
            ));
        }
        let v = table.t.shape[0];
        let row: usize = table.t.shape[1..].iter().product();
        if v == 0 || v * row > 1 << 20 {
            return Err(cx.unsupported(format!(
                "an embedding table of {v} × {row} values: up to 2^20 are supported (each is a row of the circuit's lookup table)"
            )));
        }
        let mut shape = self.shape(ids);
        shape.extend_from_slice(&table.t.shape[1..]);
        let op = Op::Embedding {
            table: table.to_f32(),
        };
        self.emit(cx, out, op, vec![ids], shape)
    }
}
