//! Evaluation of the transformer / upsampling ops: batched MatMul, reductions, erf and
//! GELU, LayerNorm, Slice, Gather, Where, nearest resize and transposed convolution.
//! Generic helpers (slice, gather, reduce) also serve import-time constant folding.

use super::{check_len, dims4, numel};
use crate::tensor::{broadcast_index_map, broadcast_shape, Tensor};

/// Multi-index → flat offset iteration over `shape` (row-major), calling `f(idx)`.
fn for_each_index(shape: &[usize], mut f: impl FnMut(&[usize])) {
    let total: usize = shape.iter().product();
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..total {
        f(&idx);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// `[.., M, K] × [.., K, N]` with numpy broadcasting of the batch dimensions.
pub(crate) fn matmul(a: &Tensor<f32>, b: &Tensor<f32>) -> Result<Tensor<f32>, String> {
    check_len(a)?;
    check_len(b)?;
    let (ra, rb) = (a.shape.len(), b.shape.len());
    if ra < 2 || rb < 2 {
        return Err(format!(
            "MatMul needs rank >= 2 operands, got {:?} and {:?}",
            a.shape, b.shape
        ));
    }
    let (m, k) = (a.shape[ra - 2], a.shape[ra - 1]);
    let (k2, n) = (b.shape[rb - 2], b.shape[rb - 1]);
    let batch = broadcast_shape(&a.shape[..ra - 2], &b.shape[..rb - 2]);
    let Some(batch) = batch.filter(|_| k == k2) else {
        return Err(format!("cannot multiply {:?} by {:?}", a.shape, b.shape));
    };
    let mut shape = batch.clone();
    shape.extend([m, n]);
    numel(&shape).ok_or("result too large")?;
    let ma = broadcast_index_map(&a.shape[..ra - 2], &batch);
    let mb = broadcast_index_map(&b.shape[..rb - 2], &batch);
    let mut data = Vec::with_capacity(ma.len() * m * n);
    for (&ia, &ib) in ma.iter().zip(&mb) {
        let pa = &a.data[ia * m * k..(ia + 1) * m * k];
        let pb = &b.data[ib * k * n..(ib + 1) * k * n];
        for i in 0..m {
            for j in 0..n {
                let acc: f64 = (0..k)
                    .map(|t| pa[i * k + t] as f64 * pb[t * n + j] as f64)
                    .sum();
                data.push(acc as f32);
            }
        }
    }
    Ok(Tensor { shape, data })
}

/// Sum (or mean) over `axes`; `keepdims` keeps them as size-1 axes.
pub(crate) fn reduce(
    x: &Tensor<f64>,
    axes: &[usize],
    keepdims: bool,
    mean: bool,
) -> Result<Tensor<f64>, String> {
    check_len(x)?;
    let r = x.shape.len();
    if let Some(a) = axes.iter().find(|&&a| a >= r) {
        return Err(format!("axis {a} out of range for {:?}", x.shape));
    }
    let kept: Vec<usize> = (0..r)
        .map(|d| if axes.contains(&d) { 1 } else { x.shape[d] })
        .collect();
    let ost = Tensor::<f64>::strides(&kept);
    let mut acc = vec![0f64; kept.iter().product()];
    let mut it = x.data.iter();
    for_each_index(&x.shape, |idx| {
        let o: usize = (0..r)
            .filter(|d| kept[*d] != 1)
            .map(|d| idx[d] * ost[d])
            .sum();
        acc[o] += it.next().copied().unwrap_or(0.0);
    });
    if mean {
        let cnt = (x.data.len() / acc.len().max(1)).max(1) as f64;
        acc.iter_mut().for_each(|v| *v /= cnt);
    }
    let shape = if keepdims {
        kept
    } else {
        (0..r)
            .filter(|d| !axes.contains(d))
            .map(|d| x.shape[d])
            .collect()
    };
    Ok(Tensor { shape, data: acc })
}

pub(crate) fn reduce_f32(
    x: &Tensor<f32>,
    axes: &[usize],
    keepdims: bool,
    mean: bool,
) -> Result<Tensor<f32>, String> {
    Ok(reduce(&x.map(|&v| v as f64), axes, keepdims, mean)?.map(|&v| v as f32))
}

/// The error function, to ~1e-13 absolute: Maclaurin series below 2.5, the Laplace
/// continued fraction of erfc above.
pub fn erf(x: f64) -> f64 {
    const TWO_OVER_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;
    let a = x.abs();
    if a.is_nan() {
        return x;
    }
    let r = if a < 2.5 {
        let x2 = a * a;
        let (mut term, mut sum) = (a, a);
        for n in 1..200 {
            term *= -x2 / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 {
                break;
            }
        }
        sum * TWO_OVER_SQRT_PI
    } else {
        // erfc(a) = e^{-a²}/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + ...))))
        let mut f = a;
        for k in (1..=80).rev() {
            f = a + (k as f64 / 2.0) / f;
        }
        1.0 - (-a * a).exp() * TWO_OVER_SQRT_PI / (2.0 * f)
    };
    r.copysign(x)
}

pub(crate) fn gelu(x: f32, tanh_approx: bool) -> f32 {
    let x = x as f64;
    let y = if tanh_approx {
        let c = (2.0 / std::f64::consts::PI).sqrt();
        0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
    } else {
        0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
    };
    y as f32
}

/// Layer normalization over the axes `axis..`.
pub(crate) fn layer_norm(
    x: &Tensor<f32>,
    axis: usize,
    eps: f32,
    scale: &Tensor<f32>,
    bias: Option<&Tensor<f32>>,
) -> Result<Tensor<f32>, String> {
    check_len(x)?;
    if axis >= x.shape.len() {
        return Err(format!("axis {axis} out of range for {:?}", x.shape));
    }
    let inner: usize = x.shape[axis..].iter().product();
    let bad = |t: &Tensor<f32>| t.data.len() != inner || check_len(t).is_err();
    if bad(scale) || bias.is_some_and(bad) {
        return Err(format!(
            "scale/bias must have the normalized shape {:?}",
            &x.shape[axis..]
        ));
    }
    let mut data = Vec::with_capacity(x.data.len());
    for row in x.data.chunks(inner.max(1)) {
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / inner as f64;
        let var = row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / inner as f64;
        let inv = 1.0 / (var + eps as f64).sqrt();
        for (j, &v) in row.iter().enumerate() {
            let b = bias.map_or(0.0, |b| b.data[j] as f64);
            data.push(((v as f64 - mean) * inv * scale.data[j] as f64 + b) as f32);
        }
    }
    Ok(Tensor {
        shape: x.shape.clone(),
        data,
    })
}

/// Strided slice with normalized bounds (`start <= end <= dim`, `step >= 1`).
pub fn slice<T: Copy>(
    x: &Tensor<T>,
    axes: &[usize],
    starts: &[usize],
    ends: &[usize],
    steps: &[usize],
) -> Result<Tensor<T>, String> {
    check_len(x)?;
    let r = x.shape.len();
    let n = axes.len();
    if starts.len() != n || ends.len() != n || steps.len() != n {
        return Err("axes/starts/ends/steps lengths differ".into());
    }
    let mut sel = vec![(0usize, 1usize); r];
    let mut shape = x.shape.clone();
    for k in 0..n {
        let a = axes[k];
        let ok = a < r && steps[k] >= 1 && starts[k] <= ends[k] && ends[k] <= x.shape[a];
        if !ok {
            return Err(format!(
                "invalid slice axis {a} [{}..{} step {}] of {:?}",
                starts[k], ends[k], steps[k], x.shape
            ));
        }
        sel[a] = (starts[k], steps[k]);
        shape[a] = (ends[k] - starts[k]).div_ceil(steps[k]);
    }
    let st = Tensor::<T>::strides(&x.shape);
    let mut data = Vec::with_capacity(shape.iter().product());
    for_each_index(&shape, |idx| {
        let o: usize = (0..r).map(|d| (sel[d].0 + idx[d] * sel[d].1) * st[d]).sum();
        data.push(x.data[o]);
    });
    Ok(Tensor { shape, data })
}

/// Gather along `axis` with in-range, non-negative indices.
pub fn gather<T: Copy>(
    x: &Tensor<T>,
    axis: usize,
    indices: &Tensor<i64>,
) -> Result<Tensor<T>, String> {
    check_len(x)?;
    let dim = *x
        .shape
        .get(axis)
        .ok_or_else(|| format!("axis {axis} out of range for {:?}", x.shape))?;
    if check_len(indices).is_err() || indices.data.iter().any(|&i| i < 0 || i as usize >= dim) {
        return Err(format!("indices out of range for an axis of {dim}"));
    }
    let outer: usize = x.shape[..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    let mut shape = x.shape[..axis].to_vec();
    shape.extend_from_slice(&indices.shape);
    shape.extend_from_slice(&x.shape[axis + 1..]);
    numel(&shape).ok_or("result too large")?;
    let mut data = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for &i in &indices.data {
            let s = (o * dim + i as usize) * inner;
            data.extend_from_slice(&x.data[s..s + inner]);
        }
    }
    Ok(Tensor { shape, data })
}

/// Row `id` of `table` for each id of `ids`, which must be integers in `0..V`.
pub fn embedding(ids: &Tensor<f32>, table: &Tensor<f32>) -> Result<Tensor<f32>, String> {
    let v = table.shape.first().copied().unwrap_or(0);
    let idx = ids
        .data
        .iter()
        .map(|&x| {
            if x.fract() == 0.0 && x >= 0.0 && (x as usize) < v {
                Ok(x as i64)
            } else {
                Err(format!(
                    "token id {x} is not an integer in the vocabulary 0..{v}"
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    gather(table, 0, &Tensor::new(ids.shape.clone(), idx))
}

/// Broadcasts `t` to `shape` (which must be its numpy broadcast with `shape`).
pub(crate) fn broadcast_to<T: Copy>(t: &Tensor<T>, shape: &[usize]) -> Result<Tensor<T>, String> {
    check_len(t)?;
    if broadcast_shape(&t.shape, shape).as_deref() != Some(shape) {
        return Err(format!("{:?} does not broadcast to {shape:?}", t.shape));
    }
    numel(shape).ok_or("result too large")?;
    let data = broadcast_index_map(&t.shape, shape)
        .iter()
        .map(|&i| t.data[i])
        .collect();
    Ok(Tensor {
        shape: shape.to_vec(),
        data,
    })
}

/// `where(cond, a, b)`; `a`/`b` are the constant or else the next activation input.
pub(crate) fn where_op(
    ins: &[&Tensor<f32>],
    cond: &Tensor<bool>,
    a_const: Option<&Tensor<f32>>,
    b_const: Option<&Tensor<f32>>,
) -> Result<Tensor<f32>, String> {
    let want = a_const.is_none() as usize + b_const.is_none() as usize;
    if ins.len() != want {
        return Err(format!("expects {want} inputs, has {}", ins.len()));
    }
    let mut it = ins.iter();
    let a = a_const.or_else(|| it.next().copied()).ok_or("missing a")?;
    let b = b_const.or_else(|| it.next().copied()).ok_or("missing b")?;
    let shape = broadcast_shape(&cond.shape, &a.shape)
        .and_then(|s| broadcast_shape(&s, &b.shape))
        .ok_or("operands do not broadcast")?;
    let (c, a, b) = (
        broadcast_to(cond, &shape)?,
        broadcast_to(a, &shape)?,
        broadcast_to(b, &shape)?,
    );
    let data = (0..c.data.len())
        .map(|i| if c.data[i] { a.data[i] } else { b.data[i] })
        .collect();
    Ok(Tensor { shape, data })
}

/// Nearest upsampling of NCHW by integer factors: `y[.., i, j] = x[.., i / sh, j / sw]`.
pub(crate) fn resize_nearest(x: &Tensor<f32>, sc: [usize; 2]) -> Result<Tensor<f32>, String> {
    check_len(x)?;
    let [n, c, h, w] = dims4(&x.shape)?;
    if sc[0] == 0 || sc[1] == 0 {
        return Err("scale 0".into());
    }
    let shape = vec![
        n,
        c,
        h.checked_mul(sc[0]).ok_or("too large")?,
        w.checked_mul(sc[1]).ok_or("too large")?,
    ];
    numel(&shape).ok_or("result too large")?;
    let mut data = Vec::with_capacity(shape.iter().product());
    for plane in x.data.chunks((h * w).max(1)) {
        for i in 0..shape[2] {
            for j in 0..shape[3] {
                data.push(plane[(i / sc[0]) * w + j / sc[1]]);
            }
        }
    }
    Ok(Tensor { shape, data })
}

/// Output size of a transposed convolution along one axis.
pub(crate) fn conv_transpose_out(
    len: usize,
    k: usize,
    s: usize,
    d: usize,
    pad: (usize, usize),
    out_pad: usize,
) -> Result<usize, String> {
    let full = len
        .checked_sub(1)
        .and_then(|l| l.checked_mul(s))
        .and_then(|v| v.checked_add(k.checked_sub(1)?.checked_mul(d)?))
        .and_then(|v| v.checked_add(1 + out_pad));
    match full.and_then(|f| f.checked_sub(pad.0 + pad.1)) {
        Some(o) if o > 0 && s > 0 && d > 0 => Ok(o),
        _ => Err(format!(
            "transposed convolution (kernel {k}, stride {s}, dilation {d}, pads {pad:?}) of an axis of {len} is empty"
        )),
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_transpose(
    x: &Tensor<f32>,
    w: &Tensor<f32>,
    b: Option<&Tensor<f32>>,
    st: [usize; 2],
    pads: [usize; 4],
    dil: [usize; 2],
    out_pad: [usize; 2],
    group: usize,
) -> Result<Tensor<f32>, String> {
    check_len(x)?;
    check_len(w)?;
    let ([n, c, h, wd], [ci, og, kh, kw]) = (dims4(&x.shape)?, dims4(&w.shape)?);
    if group == 0 || ci != c || c % group != 0 {
        return Err(format!(
            "weight {:?} / group {group} do not match input {:?}",
            w.shape, x.shape
        ));
    }
    let o = og * group;
    if b.is_some_and(|b| b.data.len() != o) {
        return Err(format!("bias does not match {o} output channels"));
    }
    let oh = conv_transpose_out(h, kh, st[0], dil[0], (pads[0], pads[2]), out_pad[0])?;
    let ow = conv_transpose_out(wd, kw, st[1], dil[1], (pads[1], pads[3]), out_pad[1])?;
    let shape = vec![n, o, oh, ow];
    let total = numel(&shape).ok_or("output too large")?;
    let mut acc = vec![0f64; total];
    let cg = c / group;
    for ni in 0..n {
        for oc in 0..o {
            let base = (ni * o + oc) * oh * ow;
            let bv = b.map_or(0.0, |b| b.data[oc] as f64);
            acc[base..base + oh * ow].iter_mut().for_each(|v| *v = bv);
        }
        for ic in 0..c {
            let g = ic / cg;
            for iy in 0..h {
                for ix in 0..wd {
                    let xv = x.data[((ni * c + ic) * h + iy) * wd + ix] as f64;
                    for ocg in 0..og {
                        let oc = g * og + ocg;
                        for ky in 0..kh {
                            let oy = (iy * st[0] + ky * dil[0]) as isize - pads[0] as isize;
                            if oy < 0 || oy >= oh as isize {
                                continue;
                            }
                            for kx in 0..kw {
                                let ox = (ix * st[1] + kx * dil[1]) as isize - pads[1] as isize;
                                if ox < 0 || ox >= ow as isize {
                                    continue;
                                }
                                let wv = w.data[((ic * og + ocg) * kh + ky) * kw + kx] as f64;
                                acc[((ni * o + oc) * oh + oy as usize) * ow + ox as usize] +=
                                    xv * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(Tensor {
        shape,
        data: acc.into_iter().map(|v| v as f32).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::erf;

    #[test]
    fn erf_is_precise() {
        for (x, want) in [
            (0.0, 0.0),
            (0.1, 0.1124629160182849),
            (0.5, 0.5204998778130465),
            (1.0, 0.8427007929497149),
            (2.0, 0.9953222650189527),
            (2.4999, 0.9995928300996666),
            (2.5, 0.999_593_047_982_555),
            (3.0, 0.9999779095030014),
            (5.0, 0.9999999999984626),
            (-1.5, -0.9661051464753108),
        ] {
            assert!(
                (erf(x) - want).abs() < 1e-12,
                "erf({x}) = {} != {want}",
                erf(x)
            );
        }
    }
}
