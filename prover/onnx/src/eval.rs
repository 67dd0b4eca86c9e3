//! Float reference evaluator for [`Graph`]: exact ONNX semantics for every IR op, computed
//! in f32 with f64 accumulation. The quantized circuit is measured against this.
//!
//! The graph is public data, so every op re-checks its shapes and returns an error rather
//! than indexing out of bounds.

use crate::error::OnnxError;
use crate::graph::{Graph, Op};
use crate::tensor::{broadcast_index_map, broadcast_shape, Tensor};

type R<T> = Result<T, OnnxError>;

// Transformer and upsampling ops (also used by constant folding).
pub mod nn;

fn err<T>(msg: impl Into<String>) -> R<T> {
    Err(OnnxError::Eval(msg.into()))
}

/// Largest tensor (in elements) we agree to materialize: guards against absurd shapes.
pub(crate) const MAX_ELEMS: usize = 1 << 31;

/// Element count of `shape`, or `None` on overflow / above [`MAX_ELEMS`].
pub(crate) fn numel(shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMS)
}

/// Values of every [`crate::ValueId`] (index = id) for the given model inputs.
pub fn eval(graph: &Graph, inputs: &[Tensor<f32>]) -> R<Vec<Tensor<f32>>> {
    if inputs.len() != graph.inputs.len() {
        return err(format!(
            "model has {} inputs, {} given",
            graph.inputs.len(),
            inputs.len()
        ));
    }
    let mut vals: Vec<Option<Tensor<f32>>> = vec![None; graph.values.len()];
    for (&id, t) in graph.inputs.iter().zip(inputs) {
        let info = graph
            .values
            .get(id)
            .ok_or_else(|| OnnxError::Eval(format!("input id {id} out of range")))?;
        if t.shape != info.shape || numel(&t.shape) != Some(t.data.len()) {
            return err(format!(
                "input \"{}\" must have shape {:?}, got shape {:?} with {} elements",
                info.name,
                info.shape,
                t.shape,
                t.data.len()
            ));
        }
        vals[id] = Some(t.clone());
    }
    for node in &graph.nodes {
        let mut ins = Vec::with_capacity(node.inputs.len());
        for &i in &node.inputs {
            match vals.get(i) {
                Some(Some(t)) => ins.push(t),
                _ => {
                    return err(format!(
                        "node \"{}\" reads value {i} before it is computed",
                        node.name
                    ))
                }
            }
        }
        let info = graph.values.get(node.output).ok_or_else(|| {
            OnnxError::Eval(format!("node \"{}\": output id out of range", node.name))
        })?;
        let out = eval_op(&node.op, &ins, &info.shape).map_err(|e| {
            OnnxError::Eval(format!("node \"{}\" ({}): {e}", node.name, node.op.kind()))
        })?;
        if out.shape != info.shape {
            return err(format!(
                "node \"{}\" ({}) produced shape {:?}, graph says {:?}",
                node.name,
                node.op.kind(),
                out.shape,
                info.shape
            ));
        }
        vals[node.output] = Some(out);
    }
    vals.into_iter()
        .enumerate()
        .map(|(i, v)| v.ok_or_else(|| OnnxError::Eval(format!("value {i} is never computed"))))
        .collect()
}

/// Just the model outputs, in `graph.outputs` order.
pub fn outputs(graph: &Graph, inputs: &[Tensor<f32>]) -> R<Vec<Tensor<f32>>> {
    let all = eval(graph, inputs)?;
    graph
        .outputs
        .iter()
        .map(|&o| {
            all.get(o)
                .cloned()
                .ok_or_else(|| OnnxError::Eval(format!("output id {o} out of range")))
        })
        .collect()
}

fn arity(ins: &[&Tensor<f32>], n: usize) -> Result<(), String> {
    if ins.len() == n {
        Ok(())
    } else {
        Err(format!("expects {n} inputs, has {}", ins.len()))
    }
}

fn eval_op(op: &Op, ins: &[&Tensor<f32>], out_shape: &[usize]) -> Result<Tensor<f32>, String> {
    let unary = |f: fn(f32) -> f32| -> Result<Tensor<f32>, String> {
        arity(ins, 1)?;
        Ok(ins[0].map(|&x| f(x)))
    };
    match op {
        Op::Dense { weight, bias } => {
            arity(ins, 1)?;
            dense(ins[0], weight, bias.as_ref())
        }
        Op::Conv {
            weight,
            bias,
            strides,
            pads,
            dilations,
            group,
        } => {
            arity(ins, 1)?;
            conv(
                ins[0],
                weight,
                bias.as_ref(),
                *strides,
                *pads,
                *dilations,
                *group,
            )
        }
        Op::Add | Op::Sub | Op::Mul => {
            arity(ins, 2)?;
            let f = match op {
                Op::Add => |a: f32, b: f32| a + b,
                Op::Sub => |a: f32, b: f32| a - b,
                _ => |a: f32, b: f32| a * b,
            };
            binary(ins[0], ins[1], f)
        }
        Op::RequireEqual => {
            arity(ins, 2)?;
            // The check binds the quantized program; floats report their own choice.
            Ok(ins[0].clone())
        }
        Op::RequireOne => {
            arity(ins, 1)?;
            if let Some(v) = ins[0].data.iter().find(|&&v| v != 1.0) {
                return Err(format!(
                    "a one-hot row sums to {v}, not 1: a token id is not an integer in the vocabulary"
                ));
            }
            Ok(ins[0].clone())
        }
        Op::Extreme { max } => {
            arity(ins, 2)?;
            if *max {
                binary(ins[0], ins[1], f32::max)
            } else {
                binary(ins[0], ins[1], f32::min)
            }
        }
        Op::AddConst { c } => {
            arity(ins, 1)?;
            binary(ins[0], c, |a, b| a + b)
        }
        Op::SubConst { c, reversed: false } => {
            arity(ins, 1)?;
            binary(ins[0], c, |a, b| a - b)
        }
        Op::SubConst { c, reversed: true } => {
            arity(ins, 1)?;
            binary(c, ins[0], |a, b| a - b)
        }
        Op::MulConst { c } => {
            arity(ins, 1)?;
            binary(ins[0], c, |a, b| a * b)
        }
        Op::Relu => unary(|x| if x > 0.0 { x } else { 0.0 }),
        Op::LeakyRelu { alpha } => {
            arity(ins, 1)?;
            let a = *alpha;
            Ok(ins[0].map(|&x| if x >= 0.0 { x } else { a * x }))
        }
        Op::Sigmoid => unary(|x| {
            let x = x as f64;
            let y = if x >= 0.0 {
                1.0 / (1.0 + (-x).exp())
            } else {
                x.exp() / (1.0 + x.exp())
            };
            y as f32
        }),
        Op::Tanh => unary(|x| (x as f64).tanh() as f32),
        Op::MaxPool {
            kernel,
            strides,
            pads,
        } => {
            arity(ins, 1)?;
            pool(ins[0], *kernel, *strides, *pads, None)
        }
        Op::AvgPool {
            kernel,
            strides,
            pads,
            count_include_pad,
        } => {
            arity(ins, 1)?;
            pool(ins[0], *kernel, *strides, *pads, Some(*count_include_pad))
        }
        Op::GlobalAvgPool => {
            arity(ins, 1)?;
            global_avg(ins[0])
        }
        Op::Reshape => {
            arity(ins, 1)?;
            if numel(out_shape) != Some(ins[0].data.len()) {
                return Err(format!(
                    "cannot reshape {:?} to {out_shape:?}",
                    ins[0].shape
                ));
            }
            Ok(Tensor {
                shape: out_shape.to_vec(),
                data: ins[0].data.clone(),
            })
        }
        Op::Transpose { perm } => {
            arity(ins, 1)?;
            transpose(ins[0], perm)
        }
        Op::Concat { axis } => concat(ins, *axis),
        Op::Pad { pads, value } => {
            arity(ins, 1)?;
            pad(ins[0], pads, *value)
        }
        Op::Softmax { axis } => {
            arity(ins, 1)?;
            softmax(ins[0], *axis)
        }
        Op::MatMul => {
            arity(ins, 2)?;
            nn::matmul(ins[0], ins[1])
        }
        Op::ReduceMean { axes, keepdims } | Op::ReduceSum { axes, keepdims } => {
            arity(ins, 1)?;
            let mean = matches!(op, Op::ReduceMean { .. });
            nn::reduce_f32(ins[0], axes, *keepdims, mean)
        }
        Op::Sqrt => unary(|x| x.sqrt()),
        Op::Reciprocal => unary(|x| 1.0 / x),
        Op::Exp => unary(|x| (x as f64).exp() as f32),
        Op::Erf => unary(|x| nn::erf(x as f64) as f32),
        Op::Unary(u) => {
            arity(ins, 1)?;
            Ok(ins[0].map(|&x| u.eval(x as f64) as f32))
        }
        Op::Gelu { tanh_approx } => {
            arity(ins, 1)?;
            let t = *tanh_approx;
            Ok(ins[0].map(|&x| nn::gelu(x, t)))
        }
        Op::Div => {
            arity(ins, 2)?;
            binary(ins[0], ins[1], |a, b| a / b)
        }
        Op::LayerNorm {
            axis,
            epsilon,
            scale,
            bias,
        } => {
            arity(ins, 1)?;
            nn::layer_norm(ins[0], *axis, *epsilon, scale, bias.as_ref())
        }
        Op::Slice {
            axes,
            starts,
            ends,
            steps,
        } => {
            arity(ins, 1)?;
            nn::slice(ins[0], axes, starts, ends, steps)
        }
        Op::Embedding { table } => {
            arity(ins, 1)?;
            nn::embedding(ins[0], table)
        }
        Op::Gather { axis, indices } => {
            arity(ins, 1)?;
            nn::gather(ins[0], *axis, indices)
        }
        Op::Where {
            cond,
            a_const,
            b_const,
        } => nn::where_op(ins, cond, a_const.as_ref(), b_const.as_ref()),
        Op::ResizeNearest { scales } => {
            arity(ins, 1)?;
            nn::resize_nearest(ins[0], *scales)
        }
        Op::ConvTranspose {
            weight,
            bias,
            strides,
            pads,
            dilations,
            output_padding,
            group,
        } => {
            arity(ins, 1)?;
            nn::conv_transpose(
                ins[0],
                weight,
                bias.as_ref(),
                *strides,
                *pads,
                *dilations,
                *output_padding,
                *group,
            )
        }
    }
}

/// Numpy-broadcast elementwise op.
pub(crate) fn binary<T: Copy>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    f: impl Fn(T, T) -> T,
) -> Result<Tensor<T>, String> {
    let shape = broadcast_shape(&a.shape, &b.shape)
        .ok_or_else(|| format!("shapes {:?} and {:?} do not broadcast", a.shape, b.shape))?;
    check_len(a)?;
    check_len(b)?;
    numel(&shape).ok_or("result too large")?;
    let (ma, mb) = (
        broadcast_index_map(&a.shape, &shape),
        broadcast_index_map(&b.shape, &shape),
    );
    let data = ma
        .iter()
        .zip(&mb)
        .map(|(&i, &j)| f(a.data[i], b.data[j]))
        .collect();
    Ok(Tensor { shape, data })
}

fn check_len<T>(t: &Tensor<T>) -> Result<(), String> {
    if numel(&t.shape) == Some(t.data.len()) {
        Ok(())
    } else {
        Err(format!(
            "tensor of shape {:?} has {} elements",
            t.shape,
            t.data.len()
        ))
    }
}

/// Permutes the axes: output axis `i` is input axis `perm[i]`.
pub fn transpose<T: Copy>(t: &Tensor<T>, perm: &[usize]) -> Result<Tensor<T>, String> {
    check_len(t)?;
    let r = t.shape.len();
    let mut seen = vec![false; r];
    if perm.len() != r
        || perm
            .iter()
            .any(|&p| p >= r || std::mem::replace(&mut seen[p], true))
    {
        return Err(format!("perm {perm:?} is not a permutation of rank {r}"));
    }
    let shape: Vec<usize> = perm.iter().map(|&p| t.shape[p]).collect();
    let st = Tensor::<T>::strides(&t.shape);
    let pst: Vec<usize> = perm.iter().map(|&p| st[p]).collect();
    let mut data = Vec::with_capacity(t.data.len());
    let mut idx = vec![0usize; r];
    for _ in 0..t.data.len() {
        data.push(t.data[idx.iter().zip(&pst).map(|(i, s)| i * s).sum::<usize>()]);
        for d in (0..r).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(Tensor { shape, data })
}

/// Concatenates tensors of equal rank along `axis` (other dimensions must match).
pub fn concat<T: Copy>(ins: &[&Tensor<T>], axis: usize) -> Result<Tensor<T>, String> {
    let first = ins.first().ok_or("no inputs")?;
    if axis >= first.shape.len() {
        return Err(format!(
            "axis {axis} out of range for shape {:?}",
            first.shape
        ));
    }
    let mut shape = first.shape.clone();
    shape[axis] = 0;
    for t in ins {
        check_len(t)?;
        let same = t.shape.len() == shape.len()
            && t.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .all(|(d, (a, b))| d == axis || a == b);
        if !same {
            return Err(format!(
                "cannot concat shapes {:?} and {:?} on axis {axis}",
                first.shape, t.shape
            ));
        }
        shape[axis] += t.shape[axis];
    }
    numel(&shape).ok_or("result too large")?;
    let outer: usize = shape[..axis].iter().product();
    let mut data = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for t in ins {
            let chunk = t.data.len() / outer.max(1);
            data.extend_from_slice(&t.data[o * chunk..(o + 1) * chunk]);
        }
    }
    Ok(Tensor { shape, data })
}

/// Constant padding; `pads` = all begins then all ends.
pub fn pad<T: Copy>(t: &Tensor<T>, pads: &[usize], value: T) -> Result<Tensor<T>, String> {
    check_len(t)?;
    let r = t.shape.len();
    if pads.len() != 2 * r {
        return Err(format!("{} pads for rank {r}", pads.len()));
    }
    let shape: Vec<usize> = (0..r)
        .map(|d| {
            t.shape[d]
                .checked_add(pads[d])
                .and_then(|s| s.checked_add(pads[d + r]))
        })
        .collect::<Option<_>>()
        .ok_or("padded shape overflows")?;
    let n = numel(&shape).ok_or("padded tensor too large")?;
    let mut data = vec![value; n];
    let ost = Tensor::<T>::strides(&shape);
    let mut idx = vec![0usize; r];
    for &x in &t.data {
        let o: usize = (0..r).map(|d| (idx[d] + pads[d]) * ost[d]).sum();
        data[o] = x;
        for d in (0..r).rev() {
            idx[d] += 1;
            if idx[d] < t.shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(Tensor { shape, data })
}

fn dense(x: &Tensor<f32>, w: &Tensor<f32>, b: Option<&Tensor<f32>>) -> Result<Tensor<f32>, String> {
    check_len(x)?;
    check_len(w)?;
    let (&k, rows) = x
        .shape
        .split_last()
        .ok_or("Dense input must have rank >= 1")?;
    if w.shape.len() != 2 || w.shape[1] != k {
        return Err(format!(
            "weight {:?} does not match input {:?}",
            w.shape, x.shape
        ));
    }
    let n = w.shape[0];
    if let Some(b) = b {
        check_len(b)?;
        if b.data.len() != n {
            return Err(format!(
                "bias {:?} does not match weight {:?}",
                b.shape, w.shape
            ));
        }
    }
    let mut shape = rows.to_vec();
    shape.push(n);
    let m: usize = rows.iter().product();
    let mut data = Vec::with_capacity(m * n);
    for r in 0..m {
        let xr = &x.data[r * k..(r + 1) * k];
        for j in 0..n {
            let wr = &w.data[j * k..(j + 1) * k];
            let mut acc: f64 = b.map_or(0.0, |b| b.data[j] as f64);
            for (a, c) in xr.iter().zip(wr) {
                acc += *a as f64 * *c as f64;
            }
            data.push(acc as f32);
        }
    }
    Ok(Tensor { shape, data })
}

/// Output size of a 2-D sliding window along one axis, or an error if the window does not fit.
pub(crate) fn window_out(
    len: usize,
    pad_a: usize,
    pad_b: usize,
    k: usize,
    s: usize,
    d: usize,
) -> Result<usize, String> {
    let eff = k
        .checked_sub(1)
        .and_then(|k1| k1.checked_mul(d))
        .and_then(|e| e.checked_add(1));
    let total = len.checked_add(pad_a).and_then(|l| l.checked_add(pad_b));
    match (eff, total) {
        (Some(e), Some(t)) if s > 0 && e <= t => Ok((t - e) / s + 1),
        _ => Err(format!(
            "window (kernel {k}, dilation {d}, stride {s}) does not fit an axis of {len} with pads {pad_a}+{pad_b}"
        )),
    }
}

fn conv(
    x: &Tensor<f32>,
    w: &Tensor<f32>,
    b: Option<&Tensor<f32>>,
    st: [usize; 2],
    pads: [usize; 4],
    dil: [usize; 2],
    group: usize,
) -> Result<Tensor<f32>, String> {
    check_len(x)?;
    check_len(w)?;
    let ([n, c, h, wd], [o, cg, kh, kw]) = (dims4(&x.shape)?, dims4(&w.shape)?);
    if group == 0 || c % group != 0 || o % group != 0 || cg * group != c {
        return Err(format!(
            "weight {:?} / group {group} do not match input {:?}",
            w.shape, x.shape
        ));
    }
    if let Some(b) = b {
        check_len(b)?;
        if b.data.len() != o {
            return Err(format!(
                "bias {:?} does not match {o} output channels",
                b.shape
            ));
        }
    }
    let oh = window_out(h, pads[0], pads[2], kh, st[0], dil[0])?;
    let ow = window_out(wd, pads[1], pads[3], kw, st[1], dil[1])?;
    let shape = vec![n, o, oh, ow];
    numel(&shape).ok_or("output too large")?;
    let og = o / group;
    let mut data = Vec::with_capacity(n * o * oh * ow);
    for ni in 0..n {
        for oc in 0..o {
            let g = oc / og;
            for y in 0..oh {
                for xo in 0..ow {
                    let mut acc = b.map_or(0.0, |b| b.data[oc] as f64);
                    for ci in 0..cg {
                        let ic = g * cg + ci;
                        for ky in 0..kh {
                            let iy = (y * st[0] + ky * dil[0]) as isize - pads[0] as isize;
                            if iy < 0 || iy >= h as isize {
                                continue;
                            }
                            for kx in 0..kw {
                                let ix = (xo * st[1] + kx * dil[1]) as isize - pads[1] as isize;
                                if ix < 0 || ix >= wd as isize {
                                    continue;
                                }
                                let xv =
                                    x.data[((ni * c + ic) * h + iy as usize) * wd + ix as usize];
                                let wv = w.data[((oc * cg + ci) * kh + ky) * kw + kx];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    data.push(acc as f32);
                }
            }
        }
    }
    Ok(Tensor { shape, data })
}

fn dims4(s: &[usize]) -> Result<[usize; 4], String> {
    s.try_into()
        .map_err(|_| format!("expected a rank-4 tensor, got shape {s:?}"))
}

/// Max pooling (`avg == None`: padded cells are ignored) or average pooling
/// (`Some(count_include_pad)`).
fn pool(
    x: &Tensor<f32>,
    k: [usize; 2],
    st: [usize; 2],
    pads: [usize; 4],
    avg: Option<bool>,
) -> Result<Tensor<f32>, String> {
    check_len(x)?;
    let [n, c, h, w] = dims4(&x.shape)?;
    let oh = window_out(h, pads[0], pads[2], k[0], st[0], 1)?;
    let ow = window_out(w, pads[1], pads[3], k[1], st[1], 1)?;
    let shape = vec![n, c, oh, ow];
    numel(&shape).ok_or("output too large")?;
    let mut data = Vec::with_capacity(n * c * oh * ow);
    for plane in 0..n * c {
        let p = &x.data[plane * h * w..(plane + 1) * h * w];
        for y in 0..oh {
            for xo in 0..ow {
                let (mut mx, mut sum, mut cnt) = (f32::NEG_INFINITY, 0f64, 0usize);
                for ky in 0..k[0] {
                    let iy = (y * st[0] + ky) as isize - pads[0] as isize;
                    for kx in 0..k[1] {
                        let ix = (xo * st[1] + kx) as isize - pads[1] as isize;
                        if iy < 0 || iy >= h as isize || ix < 0 || ix >= w as isize {
                            continue;
                        }
                        let v = p[iy as usize * w + ix as usize];
                        mx = mx.max(v);
                        sum += v as f64;
                        cnt += 1;
                    }
                }
                data.push(match avg {
                    None => mx,
                    // With ceil_mode=0 a window never leaves the padded input: k0*k1 cells.
                    Some(true) => (sum / (k[0] * k[1]) as f64) as f32,
                    Some(false) => (sum / cnt.max(1) as f64) as f32,
                });
            }
        }
    }
    Ok(Tensor { shape, data })
}

fn global_avg(x: &Tensor<f32>) -> Result<Tensor<f32>, String> {
    check_len(x)?;
    if x.shape.len() < 3 {
        return Err(format!("GlobalAvgPool needs rank >= 3, got {:?}", x.shape));
    }
    let planes = x.shape[0] * x.shape[1];
    let sz: usize = x.shape[2..].iter().product();
    let data = (0..planes)
        .map(|p| {
            (x.data[p * sz..(p + 1) * sz]
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>()
                / sz.max(1) as f64) as f32
        })
        .collect();
    let mut shape = x.shape.clone();
    shape[2..].iter_mut().for_each(|d| *d = 1);
    Ok(Tensor { shape, data })
}

pub(crate) fn softmax(x: &Tensor<f32>, axis: usize) -> Result<Tensor<f32>, String> {
    check_len(x)?;
    let d = *x
        .shape
        .get(axis)
        .ok_or_else(|| format!("axis {axis} out of range for {:?}", x.shape))?;
    let inner: usize = x.shape[axis + 1..].iter().product();
    let outer: usize = x.shape[..axis].iter().product();
    let mut data = x.data.clone();
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * d + j) * inner + i;
            // Subtract the max first: exp never overflows.
            let m = (0..d)
                .map(|j| x.data[at(j)])
                .fold(f32::NEG_INFINITY, f32::max) as f64;
            let s: f64 = (0..d).map(|j| (x.data[at(j)] as f64 - m).exp()).sum();
            for j in 0..d {
                data[at(j)] = ((x.data[at(j)] as f64 - m).exp() / s) as f32;
            }
        }
    }
    Ok(Tensor {
        shape: x.shape.clone(),
        data,
    })
}
