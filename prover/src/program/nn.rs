//! Lowering of the transformer-era ops: activation products, reductions, normalization,
//! division, and the index ops (Slice, Gather, Where, Resize) that only move wires.

use super::{Lowering, ProgramError, WRef, Wire};
use crate::table::{EmbedTable, Func};
use trustml_onnx::tensor::{broadcast_index_map, broadcast_shape};
use trustml_onnx::{eval, Op, Tensor, Unary};

/// Where a mask constant (−1e9, −inf…) is clamped to: `exp(−16)` rounds to 0 at every
/// scale we use, and the value stays inside a modest lookup domain.
pub(super) const MASK_LIMIT: f32 = 16.0;

/// Constants this large are mask sentinels (−1e9, ±inf), not model values.
pub fn clamp_mask(v: f32) -> f32 {
    if v.abs() >= 1e4 || !v.is_finite() {
        v.clamp(-MASK_LIMIT, MASK_LIMIT)
    } else {
        v
    }
}

impl Lowering<'_> {
    /// A wire fixed to the quantized constant `q` (one per distinct value).
    /// An embedding's rows for the token-id wires `ids` (`id·2^s`). With public tables:
    /// one lookup per value, in a table of `(id·2^s, value)` rows (no row, no witness, for
    /// anything but an id in `0..V`); the result has scale `s`. Otherwise one-hot rows —
    /// `[x = k·2^s] = NonNegative(x − k·2^s) − Positive(x − k·2^s)`, exact, summing to exactly
    /// `1` (two `NonNeg` lookups, so `x` is an id of the vocabulary) — times a dense layer
    /// of parameters: scale `2s`, for `rescale_out`.
    pub(super) fn embedding(&mut self, idx: usize, ids: &[Wire], table: &Tensor<f32>) -> Vec<Wire> {
        let qp = self.b.qp();
        let v = table.shape[0];
        let d = table.data.len() / v;
        let mut out = Vec::with_capacity(ids.len() * d);
        if self.public_tables {
            let t = self.b.embed_table(EmbedTable {
                vocab: v,
                dim: d,
                values: table.data.iter().map(|&x| qp.quantize(x)).collect(),
            });
            for &x in ids {
                for col in 0..d as u32 {
                    out.push(self.b.lookup(idx, x, Func::Embed { table: t, col }));
                }
            }
            return out;
        }
        let w: Vec<WRef> = table
            .data
            .iter()
            .map(|&x| self.b.param(qp.quantize(x)))
            .collect();
        let one = qp.quantize(1.0);
        for &x in ids {
            let hot: Vec<Wire> = (0..v as i64)
                .map(|k| {
                    let dk = self.b.arith(x, x, [0, 1, 0, -(k << qp.scale_bits)]);
                    let ge = self.b.lookup(idx, dk, Func::Unary(Unary::NonNegative));
                    let gt = self.b.lookup(idx, dk, Func::Unary(Unary::Positive));
                    self.b.arith(ge, gt, [0, 1, -1, 0])
                })
                .collect();
            let sum = self
                .b
                .dot(hot.iter().map(|&h| (h, WRef::Const(1))).collect());
            let above = self.b.arith(sum, sum, [0, 1, 0, -one]);
            self.b.lookup(idx, above, Func::NonNeg);
            let below = self.b.arith(sum, sum, [0, -1, 0, one]);
            self.b.lookup(idx, below, Func::NonNeg);
            for j in 0..d {
                out.push(self.b.dot((0..v).map(|k| (hot[k], w[k * d + j])).collect()));
            }
        }
        out
    }

    fn constant(&mut self, q: i64) -> Wire {
        if let Some(&w) = self.consts.get(&q) {
            return w;
        }
        let w = self.b.arith(super::ZERO, super::ZERO, [0, 0, 0, q]);
        self.consts.insert(q, w);
        w
    }

    /// `Σ xs / n` at scale `2s`, ready for `rescale_out`. When `1/n` is not exact at scale
    /// `s` (n = 300: 2^s/300 loses ~10%), the weight gets `m·s` more fractional bits and
    /// the sum comes back through `m` extra (wide, coarse-checked) rescales, so the
    /// relative error of the weight stays below 2^-(s+2).
    pub(super) fn mean(&mut self, idx: usize, xs: &[Wire], n: usize) -> Wire {
        let s = self.b.qp().scale_bits;
        let mut m: u32 = 0;
        while m < 3 {
            let scale = (1u128 << ((m + 1) * s)) as f64;
            let w = (scale / n as f64).round();
            if w > 0.0 && (w * n as f64 / scale - 1.0).abs() <= 0.25 / (1u64 << s) as f64 {
                break;
            }
            m += 1;
        }
        let w = WRef::Const(((1u128 << ((m + 1) * s)) as f64 / n as f64).round() as i64);
        let mut v = self.b.dot(xs.iter().map(|&x| (x, w)).collect());
        for j in 0..m {
            // After this rescale `v` has scale (m + 1 − j)·s.
            v = self.b.wide_rescale_bounded(idx, v, (m + 1 - j) as usize);
        }
        v
    }

    pub(super) fn lower_nn(
        &mut self,
        idx: usize,
        ins: &[Vec<Wire>],
        in_shapes: &[Vec<usize>],
        out_shape: &[usize],
    ) -> Result<(), ProgramError> {
        let node = &self.g.nodes[idx];
        let op = node.op.clone();
        let output = node.output;
        let qp = self.b.qp();
        let outs: Vec<Wire> = match &op {
            Op::MatMul => {
                let wide = self.matmul(
                    idx,
                    &ins[0],
                    &in_shapes[0],
                    &ins[1],
                    &in_shapes[1],
                    out_shape,
                )?;
                self.rescale_out(idx, wide);
                return Ok(());
            }
            Op::ReduceMean { axes, .. } | Op::ReduceSum { axes, .. } => {
                let groups = reduce_groups(&in_shapes[0], axes);
                let x = &ins[0];
                if matches!(op, Op::ReduceMean { .. }) {
                    let means = groups
                        .iter()
                        .map(|g| {
                            let xs: Vec<Wire> = g.iter().map(|&i| x[i]).collect();
                            self.mean(idx, &xs, g.len())
                        })
                        .collect();
                    self.rescale_out(idx, means);
                    return Ok(());
                }
                groups
                    .iter()
                    .map(|g| {
                        self.b
                            .dot(g.iter().map(|&i| (x[i], WRef::Const(1))).collect())
                    })
                    .collect()
            }
            Op::Div => {
                let shape = broadcast_shape(&in_shapes[0], &in_shapes[1])
                    .ok_or_else(|| self.err(idx, "operand shapes do not broadcast"))?;
                let ma = broadcast_index_map(&in_shapes[0], &shape);
                let mb = broadcast_index_map(&in_shapes[1], &shape);
                // a / b = a · (1 / b): one reciprocal per distinct divisor wire.
                let mut recip = std::collections::HashMap::new();
                let mut wide = Vec::with_capacity(ma.len());
                for i in 0..ma.len() {
                    let b = ins[1][mb[i]];
                    let r = match recip.get(&b) {
                        Some(&r) => r,
                        None => {
                            let r = self.b.lookup(idx, b, Func::Reciprocal);
                            recip.insert(b, r);
                            r
                        }
                    };
                    wide.push(self.b.arith(ins[0][ma[i]], r, [1, 0, 0, 0]));
                }
                self.rescale_out(idx, wide);
                return Ok(());
            }
            Op::LayerNorm {
                axis,
                epsilon,
                scale,
                bias,
            } => self.layer_norm(
                idx,
                &ins[0],
                &in_shapes[0],
                *axis,
                *epsilon,
                scale,
                bias.as_ref(),
            )?,
            Op::Slice {
                axes,
                starts,
                ends,
                steps,
            } => {
                let t = self.tensor(ins, in_shapes, 0);
                super::shape_op(idx, self, eval::nn::slice(&t, axes, starts, ends, steps))?
            }
            Op::Gather { axis, indices } => {
                let t = self.tensor(ins, in_shapes, 0);
                super::shape_op(idx, self, eval::nn::gather(&t, *axis, indices))?
            }
            Op::Where {
                cond,
                a_const,
                b_const,
            } => {
                let mut it = ins.iter().zip(in_shapes);
                let mut operand = |c: &Option<Tensor<f32>>, s: &mut Self| -> Vec<Wire> {
                    match c {
                        Some(c) => c
                            .data
                            .iter()
                            .map(|&v| {
                                let q = qp.quantize(clamp_mask(v));
                                if v < 0.0 && clamp_mask(v) != v {
                                    // A wire of its own: a real constant of the same value
                                    // is not masked.
                                    *s.masked.entry(q).or_insert_with(|| {
                                        s.b.arith(super::ZERO, super::ZERO, [0, 0, 0, q])
                                    })
                                } else {
                                    s.constant(q)
                                }
                            })
                            .collect(),
                        None => {
                            let (w, sh) = it.next().expect("activation operand");
                            let map = broadcast_index_map(sh, out_shape);
                            map.iter().map(|&i| w[i]).collect()
                        }
                    }
                };
                let a = operand(a_const, self);
                let b = operand(b_const, self);
                cond.data
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| if c { a[i] } else { b[i] })
                    .collect()
            }
            Op::ResizeNearest { scales } => {
                let s = &in_shapes[0];
                let (h, w) = (s[2], s[3]);
                let (oh, ow) = (h * scales[0], w * scales[1]);
                let planes = s[0] * s[1];
                let mut v = Vec::with_capacity(planes * oh * ow);
                for p in 0..planes {
                    for y in 0..oh {
                        for x in 0..ow {
                            v.push(ins[0][(p * h + y / scales[0]) * w + x / scales[1]]);
                        }
                    }
                }
                v
            }
            Op::ConvTranspose {
                weight,
                bias,
                strides,
                pads,
                dilations,
                output_padding: _,
                group,
            } => {
                let wide = self.conv_transpose(
                    idx,
                    &ins[0],
                    &in_shapes[0],
                    out_shape,
                    weight,
                    bias.as_ref(),
                    *strides,
                    *pads,
                    *dilations,
                    *group,
                )?;
                self.rescale_out(idx, wide);
                return Ok(());
            }
            other => return Err(self.err(idx, format!("{} has no circuit lowering", other.kind()))),
        };
        self.wires.insert(output, outs);
        Ok(())
    }

    /// `[.., M, K] × [.., K, N]`: one dot product of two activations per output.
    fn matmul(
        &mut self,
        idx: usize,
        a: &[Wire],
        sa: &[usize],
        b: &[Wire],
        sb: &[usize],
        so: &[usize],
    ) -> Result<Vec<Wire>, ProgramError> {
        if sa.len() < 2 || sb.len() < 2 {
            return Err(self.err(idx, "MatMul of activations needs operands of rank ≥ 2"));
        }
        let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
        let (k2, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
        if k != k2 {
            return Err(self.err(idx, format!("inner dimensions differ ({k} vs {k2})")));
        }
        let batch = &so[..so.len() - 2];
        let ba = broadcast_index_map(&sa[..sa.len() - 2], batch);
        let bb = broadcast_index_map(&sb[..sb.len() - 2], batch);
        let mut outs = Vec::with_capacity(ba.len() * m * n);
        for bi in 0..ba.len() {
            let (oa, ob) = (ba[bi] * m * k, bb[bi] * k * n);
            for i in 0..m {
                for j in 0..n {
                    let terms = (0..k)
                        .map(|t| (a[oa + i * k + t], WRef::Wire(b[ob + t * n + j])))
                        .collect();
                    outs.push(self.b.dot(terms));
                }
            }
        }
        Ok(outs)
    }

    /// `(x − mean) / sqrt(var + eps) · γ + β` per group of trailing axes from `axis`.
    #[allow(clippy::too_many_arguments)]
    fn layer_norm(
        &mut self,
        idx: usize,
        x: &[Wire],
        xs: &[usize],
        axis: usize,
        eps: f32,
        scale: &Tensor<f32>,
        bias: Option<&Tensor<f32>>,
    ) -> Result<Vec<Wire>, ProgramError> {
        let qp = self.b.qp();
        let n: usize = xs[axis..].iter().product();
        if scale.len() != n || bias.is_some_and(|b| b.len() != n) {
            return Err(self.err(idx, "scale/bias do not match the normalized shape"));
        }
        let mut outs = Vec::with_capacity(x.len());
        for g in x.chunks(n) {
            let mean_wide = self.mean(idx, g, n);
            let mean = self.b.rescale(idx, mean_wide, Func::Identity);
            let d: Vec<Wire> = g
                .iter()
                .map(|&w| self.b.arith(w, mean, [0, 1, -1, 0]))
                .collect();
            let sq: Vec<Wire> = d
                .iter()
                .map(|&w| self.b.arith(w, w, [1, 0, 0, 0]))
                .collect();
            let sq_s: Vec<Wire> = sq
                .into_iter()
                .map(|w| self.b.rescale(idx, w, Func::Identity))
                .collect();
            let var_wide = self.mean(idx, &sq_s, n);
            let r = self.b.rescale(idx, var_wide, Func::Rsqrt { eps });
            for (i, &dw) in d.iter().enumerate() {
                let u = self.b.arith(dw, r, [1, 0, 0, 0]);
                let u = self.b.rescale(idx, u, Func::Identity);
                let gq = qp.quantize(scale.data[i]);
                let bq = bias.map_or(0, |b| qp.quantize_double(b.data[i]));
                let v = self.b.arith(u, u, [0, gq, 0, bq]);
                outs.push(self.b.rescale(idx, v, Func::Identity));
            }
        }
        Ok(outs)
    }

    /// Transposed convolution as a gather: each output sums the inputs that scatter to it.
    #[allow(clippy::too_many_arguments)]
    fn conv_transpose(
        &mut self,
        idx: usize,
        x: &[Wire],
        xs: &[usize],
        ys: &[usize],
        weight: &Tensor<f32>,
        bias: Option<&Tensor<f32>>,
        st: [usize; 2],
        pads: [usize; 4],
        dil: [usize; 2],
        group: usize,
    ) -> Result<Vec<Wire>, ProgramError> {
        if xs.len() != 4 || ys.len() != 4 || weight.shape.len() != 4 {
            return Err(self.err(idx, "only 2-D (NCHW) transposed convolutions are supported"));
        }
        let qp = self.b.qp();
        let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
        let (o, oh, ow) = (ys[1], ys[2], ys[3]);
        let (og, kh, kw) = (weight.shape[1], weight.shape[2], weight.shape[3]);
        let cg = c / group;
        let wr: Vec<WRef> = weight
            .data
            .iter()
            .map(|&v| self.b.param(qp.quantize(v)))
            .collect();
        let br: Option<Vec<WRef>> = bias.map(|b| {
            b.data
                .iter()
                .map(|&v| self.b.param(qp.quantize_double(v)))
                .collect()
        });
        let mut wide = Vec::with_capacity(n * o * oh * ow);
        for b in 0..n {
            for oc in 0..o {
                let g = oc / og;
                let ocg = oc % og;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut terms = vec![];
                        for icg in 0..cg {
                            let ic = g * cg + icg;
                            for ky in 0..kh {
                                let ty = oy as isize + pads[0] as isize - (ky * dil[0]) as isize;
                                if ty < 0
                                    || ty % st[0] as isize != 0
                                    || ty / st[0] as isize >= h as isize
                                {
                                    continue;
                                }
                                let iy = (ty / st[0] as isize) as usize;
                                for kx in 0..kw {
                                    let tx =
                                        ox as isize + pads[1] as isize - (kx * dil[1]) as isize;
                                    if tx < 0
                                        || tx % st[1] as isize != 0
                                        || tx / st[1] as isize >= w as isize
                                    {
                                        continue;
                                    }
                                    let ix = (tx / st[1] as isize) as usize;
                                    terms.push((
                                        x[((b * c + ic) * h + iy) * w + ix],
                                        wr[((ic * og + ocg) * kh + ky) * kw + kx],
                                    ));
                                }
                            }
                        }
                        if let Some(br) = &br {
                            terms.push((super::ONE, br[oc]));
                        }
                        wide.push(self.b.dot(terms));
                    }
                }
            }
        }
        Ok(wide)
    }
}

/// Flat indices of each reduction group (output order), reducing over `axes`.
fn reduce_groups(shape: &[usize], axes: &[usize]) -> Vec<Vec<usize>> {
    let strides = Tensor::<u8>::strides(shape);
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let n_out: usize = kept.iter().map(|&d| shape[d]).product();
    let n_red: usize = axes.iter().map(|&d| shape[d]).product();
    let mut groups = Vec::with_capacity(n_out);
    for o in 0..n_out {
        let mut base = 0;
        let mut rem = o;
        for &d in kept.iter().rev() {
            base += (rem % shape[d]) * strides[d];
            rem /= shape[d];
        }
        let mut g = Vec::with_capacity(n_red);
        for r in 0..n_red {
            let mut off = 0;
            let mut rem = r;
            for &d in axes.iter().rev() {
                off += (rem % shape[d]) * strides[d];
                rem /= shape[d];
            }
            g.push(base + off);
        }
        groups.push(g);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduce_groups_follow_numpy() {
        // shape [2, 3], reduce axis 1 -> groups of rows
        assert_eq!(
            reduce_groups(&[2, 3], &[1]),
            vec![vec![0, 1, 2], vec![3, 4, 5]]
        );
        // reduce axis 0 -> columns
        assert_eq!(
            reduce_groups(&[2, 3], &[0]),
            vec![vec![0, 3], vec![1, 4], vec![2, 5]]
        );
        assert_eq!(
            reduce_groups(&[2, 3], &[0, 1]),
            vec![vec![0, 1, 2, 3, 4, 5]]
        );
    }
}
