//! Ops lowered onto ones the circuit already proves: LogSoftmax (Softmax, then a Log table),
//! PRelu (Relu twice and a per-channel scale, or a LeakyRelu table for a scalar slope),
//! DepthToSpace / SpaceToDepth (reshape, transpose, reshape), Tile (copies, concatenated) and
//! CumSum (a constant triangular Dense layer, exact).

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
}
