//! zkml's layers as program instructions, with zkml's own integer semantics (round-half-up
//! divisions, relu6 clamps, NHWC convolutions, …), emitted through the one
//! [`Builder`](crate::program::Builder).

use super::{ZkmlError, ZkmlLayer, ZkmlModel, ZKML_LAYER_TYPES};
use crate::program::{Builder, Program, WRef, Wire, ONE, ZERO};
use crate::quant::QuantParams;
use crate::table::Func;
use std::collections::HashMap;

/// A value during the build: activations (wires) or a constant tensor of the model.
#[derive(Clone, Debug)]
enum Val {
    Wires(Vec<usize>, Vec<Wire>),
    Const(i64, Vec<usize>, Vec<i64>),
}

impl Val {
    fn shape(&self) -> &[usize] {
        match self {
            Val::Wires(s, _) | Val::Const(_, s, _) => s,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Act {
    None,
    Relu,
    Relu6,
}

/// zkml's layers as program instructions, through the one [`Builder`].
struct Lowering<'m> {
    m: &'m ZkmlModel,
    b: Builder,
    vals: HashMap<i64, Val>,
    /// Parameter refs of constant tensors, by (tensor idx, multiplier).
    params: HashMap<(i64, i64), Vec<WRef>>,
    sf: i64,
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// numpy broadcasting as zkml's `utils/helpers.rs::broadcast` does it: the output shape
/// and, for each operand, the source index of every output element.
fn broadcast(a: &[usize], b: &[usize]) -> Option<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let n = a.len().max(b.len());
    let pad = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; n - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (pa, pb) = (pad(a), pad(b));
    let mut out = Vec::with_capacity(n);
    for (&x, &y) in pa.iter().zip(&pb) {
        if x != y && x != 1 && y != 1 {
            return None;
        }
        out.push(x.max(y));
    }
    let map = |s: &[usize]| -> Vec<usize> {
        let st = strides(s);
        let total: usize = out.iter().product();
        let ost = strides(&out);
        (0..total)
            .map(|flat| {
                (0..n)
                    .map(|d| {
                        let i = flat / ost[d] % out[d];
                        if s[d] == 1 {
                            0
                        } else {
                            i * st[d]
                        }
                    })
                    .sum()
            })
            .collect()
    };
    let (ma, mb) = (map(&pa), map(&pb));
    Some((out, ma, mb))
}

impl<'m> Lowering<'m> {
    fn new(m: &'m ZkmlModel, qp: QuantParams) -> Self {
        let mut node_names: Vec<String> = m
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| format!("layer {i} ({})", l.layer_type))
            .collect();
        node_names.push("model input".into());
        Self {
            m,
            b: Builder::new(qp, node_names),
            vals: HashMap::new(),
            params: HashMap::new(),
            sf: m.global_sf,
        }
    }

    /// zkml's `round(v / sf)` (`v` at scale `sf²`, round half up) followed by the activation.
    fn rescale(&mut self, node: usize, wide: Vec<Wire>, act: Act) -> Vec<Wire> {
        let six = 6 * self.sf;
        wide.into_iter()
            .map(|v| match act {
                Act::None => self.b.rescale(node, v, Func::Identity),
                Act::Relu => self.b.rescale(node, v, Func::Relu),
                Act::Relu6 => {
                    // clamp(q, 0, 6·sf) = relu(q) - relu(relu(q) - 6·sf)
                    let y = self.b.rescale(node, v, Func::Relu);
                    let d = self.b.arith(y, y, [0, 1, 0, -six]);
                    let r = self.b.lookup(node, d, Func::Relu);
                    self.b.arith(y, r, [0, 1, -1, 0])
                }
            })
            .collect()
    }

    /// zkml's `round(sum / n)` (VarDivRound) for window sums at scale `sf`.
    fn average(&mut self, node: usize, windows: Vec<Vec<Wire>>, n: usize) -> Vec<Wire> {
        let n = n as i64;
        if self.sf % n == 0 {
            // round(sum · (sf/n) / sf) is exactly round(sum / n): one rescale.
            let w = WRef::Const(self.sf / n);
            let wide = windows
                .into_iter()
                .map(|win| self.b.dot(win.into_iter().map(|x| (x, w)).collect()))
                .collect();
            return self.rescale(node, wide, Act::None);
        }
        // round(sum · 2^s / (n · 2^s)) = floor((2·sum + n) / (2n)): a constrained division.
        let den = self.b.arith(ZERO, ZERO, [0, 0, 0, n * self.sf]);
        windows
            .into_iter()
            .map(|win| {
                let sum = self
                    .b
                    .dot(win.into_iter().map(|x| (x, WRef::Const(1))).collect());
                self.b.div_round(node, sum, den)
            })
            .collect()
    }

    /// Parameter refs of constant tensor `idx`, each value times `mul`.
    fn param_refs(&mut self, idx: i64, data: &[i64], mul: i64) -> Vec<WRef> {
        if let Some(r) = self.params.get(&(idx, mul)) {
            return r.clone();
        }
        let refs: Vec<WRef> = data.iter().map(|&v| self.b.param(v * mul)).collect();
        self.params.insert((idx, mul), refs.clone());
        refs
    }

    /// The wires of a value (a constant tensor becomes parameter wires).
    fn wires_of(&mut self, v: &Val) -> Vec<Wire> {
        match v {
            Val::Wires(_, w) => w.clone(),
            Val::Const(idx, _, data) => {
                let refs = self.param_refs(*idx, data, 1);
                refs.into_iter()
                    .map(|r| self.b.dot(vec![(ONE, r)]))
                    .collect()
            }
        }
    }

    fn run(mut self) -> Result<Program, ZkmlError> {
        let m = self.m;
        let shapes = m.input_shapes()?;
        let input_node = m.layers.len();
        for (&idx, shape) in m.inp_idxes.iter().zip(&shapes) {
            let ws = self.b.input(input_node, shape);
            self.vals.insert(idx, Val::Wires(shape.clone(), ws));
        }
        for t in &m.tensors {
            if m.inp_idxes.contains(&t.idx) {
                continue;
            }
            self.vals
                .insert(t.idx, Val::Const(t.idx, t.shape.clone(), t.data.clone()));
        }
        for (i, layer) in m.layers.iter().enumerate() {
            self.layer(i, layer)?;
        }
        for &o in &m.out_idxes {
            let v =
                self.vals.get(&o).cloned().ok_or_else(|| {
                    ZkmlError::Input(format!("output tensor {o} is never computed"))
                })?;
            let ws = self.wires_of(&v);
            self.b.output(v.shape().to_vec(), ws);
        }
        Ok(self.b.finish())
    }

    fn layer(&mut self, index: usize, l: &ZkmlLayer) -> Result<(), ZkmlError> {
        let err = |msg: String| ZkmlError::Unsupported {
            index,
            layer_type: l.layer_type.clone(),
            msg,
        };
        if !ZKML_LAYER_TYPES.contains(&l.layer_type.as_str()) {
            return Err(ZkmlError::UnknownLayer {
                index,
                layer_type: l.layer_type.clone(),
            });
        }
        let mut ins = Vec::with_capacity(l.inp_idxes.len());
        for &i in &l.inp_idxes {
            let v = self.vals.get(&i).cloned().ok_or_else(|| {
                err(format!(
                    "input tensor {i} is neither a model tensor nor computed by an earlier layer"
                ))
            })?;
            if let Val::Const(_, s, d) = &v {
                if d.is_empty() && s.iter().product::<usize>() > 0 {
                    return Err(err(format!(
                        "tensor {i} has no data (a config.msgpack without weights?)"
                    )));
                }
            }
            ins.push(v);
        }
        let need = |n: usize| -> Result<(), ZkmlError> {
            if ins.len() < n {
                Err(err(format!("expects {n} inputs, got {}", ins.len())))
            } else {
                Ok(())
            }
        };
        let param = |i: usize| -> Result<i64, ZkmlError> {
            l.params
                .get(i)
                .copied()
                .ok_or_else(|| err(format!("params[{i}] is missing (params = {:?})", l.params)))
        };
        let outs: Vec<Val> = match l.layer_type.as_str() {
            "Conv2D" => {
                need(2)?;
                vec![self.conv(index, &ins, &err, &param)?]
            }
            "FullyConnected" => {
                need(2)?;
                vec![self.fully_connected(index, &ins, &err, &param)?]
            }
            "AveragePool2D" | "MaxPool2D" => {
                need(1)?;
                let s = ins[0].shape().to_vec();
                if s.len() != 4 || s[0] != 1 {
                    return Err(err(format!("expects a 1×H×W×C input, got {s:?}")));
                }
                let (fh, fw, sh, sw) = (param(0)?, param(1)?, param(2)?, param(3)?);
                if fh < 1 || fw < 1 || sh < 1 || sw < 1 || fh as usize > s[1] || fw as usize > s[2]
                {
                    return Err(err(format!("invalid window/stride params {:?}", l.params)));
                }
                let (fh, fw, sh, sw) = (fh as usize, fw as usize, sh as usize, sw as usize);
                let (h, w, c) = (s[1], s[2], s[3]);
                let (oh, ow) = ((h - fh) / sh + 1, (w - fw) / sw + 1);
                let x = self.wires_of(&ins[0]);
                let mut windows = Vec::with_capacity(oh * ow * c);
                for i in 0..oh {
                    for j in 0..ow {
                        for k in 0..c {
                            let mut win = vec![];
                            for a in 0..fh {
                                for b in 0..fw {
                                    let (y, z) = (i * sh + a, j * sw + b);
                                    if y < h && z < w {
                                        win.push(x[(y * w + z) * c + k]);
                                    }
                                }
                            }
                            windows.push(win);
                        }
                    }
                }
                let shape = vec![1, oh, ow, c];
                let ws = if l.layer_type == "MaxPool2D" {
                    windows
                        .into_iter()
                        .map(|win| {
                            let mut m = win[0];
                            for &v in &win[1..] {
                                m = self.b.max(index, v, m);
                            }
                            m
                        })
                        .collect()
                } else {
                    self.average(index, windows, fh * fw)
                };
                vec![Val::Wires(shape, ws)]
            }
            "Mean" => {
                need(1)?;
                let s = ins[0].shape().to_vec();
                if s.first() != Some(&1) {
                    return Err(err(format!("expects batch size 1, got shape {s:?}")));
                }
                let mut keep: Vec<usize> = (1..s.len()).collect();
                for &a in &l.params {
                    keep.retain(|&k| k as i64 != a);
                }
                if keep.len() != 1 {
                    return Err(err(format!(
                        "zkml's Mean keeps exactly one non-batch axis; params {:?} on shape {s:?} keep {keep:?}",
                        l.params
                    )));
                }
                let ka = keep[0];
                let x = self.wires_of(&ins[0]);
                let st = strides(&s);
                let n: usize = s.iter().product::<usize>() / s[ka];
                let mut windows = vec![Vec::with_capacity(n); s[ka]];
                for (flat, &w) in x.iter().enumerate() {
                    windows[flat / st[ka] % s[ka]].push(w);
                }
                let ws = self.average(index, windows, n);
                let shape = l.out_shapes.first().cloned().unwrap_or(vec![1, s[ka]]);
                if shape.iter().product::<usize>() != ws.len() {
                    return Err(err(format!(
                        "out_shapes[0] {shape:?} does not hold {} values",
                        ws.len()
                    )));
                }
                vec![Val::Wires(shape, ws)]
            }
            "Add" | "Sub" | "Mul" => {
                need(2)?;
                let (a, b) = (&ins[0], &ins[1]);
                let (shape, ma, mb) = broadcast(a.shape(), b.shape()).ok_or_else(|| {
                    err(format!(
                        "shapes {:?} and {:?} do not broadcast",
                        a.shape(),
                        b.shape()
                    ))
                })?;
                let op = l.layer_type.as_str();
                let act = if op == "Add" {
                    match l.params.first().copied().unwrap_or(0) {
                        0 => Act::None,
                        1 => Act::Relu,
                        other => {
                            return Err(err(format!(
                                "unknown activation {other} (zkml's Add knows 0 none, 1 relu)"
                            )))
                        }
                    }
                } else {
                    Act::None
                };
                let ws = self.elementwise(op, a, b, &ma, &mb);
                let ws = match (op, act) {
                    ("Mul", _) => self.rescale(index, ws, Act::None),
                    (_, Act::Relu) => ws
                        .into_iter()
                        .map(|w| self.b.lookup(index, w, Func::Relu))
                        .collect(),
                    _ => ws,
                };
                vec![Val::Wires(shape, ws)]
            }
            "Reshape" => {
                need(1)?;
                let shape = l
                    .out_shapes
                    .first()
                    .cloned()
                    .ok_or_else(|| err("out_shapes is empty".into()))?;
                let v = reshape(&ins[0], shape)
                    .ok_or_else(|| err("out_shapes[0] does not match the input's size".into()))?;
                vec![v]
            }
            "Transpose" => {
                need(1)?;
                if !l.params.len().is_multiple_of(2) {
                    return Err(err(format!(
                        "params {:?}: expected shape ++ permutation",
                        l.params
                    )));
                }
                let nd = l.params.len() / 2;
                let shape: Vec<usize> = l.params[..nd].iter().map(|&d| d.max(0) as usize).collect();
                let perm: Vec<usize> = l.params[nd..].iter().map(|&d| d.max(0) as usize).collect();
                let mut sorted = perm.clone();
                sorted.sort();
                if sorted != (0..nd).collect::<Vec<_>>() {
                    return Err(err(format!("{perm:?} is not a permutation")));
                }
                if shape.iter().product::<usize>() != ins[0].shape().iter().product::<usize>() {
                    return Err(err(format!(
                        "params shape {shape:?} does not match the input {:?}",
                        ins[0].shape()
                    )));
                }
                let x = self.wires_of(&ins[0]);
                let st = strides(&shape);
                let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
                let ost = strides(&out_shape);
                let ws = (0..x.len())
                    .map(|flat| {
                        let src: usize = (0..nd)
                            .map(|d| (flat / ost[d] % out_shape[d]) * st[perm[d]])
                            .sum();
                        x[src]
                    })
                    .collect();
                vec![Val::Wires(out_shape, ws)]
            }
            "Pad" => {
                need(1)?;
                let s = ins[0].shape().to_vec();
                if l.params.len() != 2 * s.len() || l.params.iter().any(|&p| p < 0) {
                    return Err(err(format!(
                        "params {:?}: expected (before, after) for each of {} axes",
                        l.params,
                        s.len()
                    )));
                }
                let pads: Vec<(usize, usize)> = l
                    .params
                    .chunks(2)
                    .map(|c| (c[0] as usize, c[1] as usize))
                    .collect();
                let out_shape: Vec<usize> =
                    s.iter().zip(&pads).map(|(&d, &(a, b))| d + a + b).collect();
                let x = self.wires_of(&ins[0]);
                let mut ws = vec![ZERO; out_shape.iter().product()];
                let (st, ost) = (strides(&s), strides(&out_shape));
                for (flat, &w) in x.iter().enumerate() {
                    let dst: usize = (0..s.len())
                        .map(|d| (flat / st[d] % s[d] + pads[d].0) * ost[d])
                        .sum();
                    ws[dst] = w;
                }
                vec![Val::Wires(out_shape, ws)]
            }
            "Concatenation" => {
                need(1)?;
                let axis = param(0)?;
                let s0 = ins[0].shape().to_vec();
                if axis < 0 || axis as usize >= s0.len() {
                    return Err(err(format!("axis {axis} out of range for shape {s0:?}")));
                }
                let axis = axis as usize;
                for v in &ins[1..] {
                    let s = v.shape();
                    if s.len() != s0.len() || (0..s.len()).any(|d| d != axis && s[d] != s0[d]) {
                        return Err(err(format!(
                            "shapes {s0:?} and {s:?} cannot be concatenated on axis {axis}"
                        )));
                    }
                }
                let outer: usize = s0[..axis].iter().product();
                let mut out_shape = s0.clone();
                out_shape[axis] = ins.iter().map(|v| v.shape()[axis]).sum();
                let parts: Vec<(Vec<Wire>, usize)> = ins
                    .iter()
                    .map(|v| (self.wires_of(v), v.shape()[axis..].iter().product()))
                    .collect();
                let mut ws = Vec::with_capacity(out_shape.iter().product());
                for o in 0..outer {
                    for (x, inner) in &parts {
                        ws.extend_from_slice(&x[o * inner..(o + 1) * inner]);
                    }
                }
                vec![Val::Wires(out_shape, ws)]
            }
            "Noop" => {
                let k = param(0)?;
                let v = usize::try_from(k).ok().and_then(|k| ins.get(k)).cloned();
                vec![v.ok_or_else(|| err(format!("params[0] = {k} names no input")))?]
            }
            "Softmax" => {
                return Err(err(
                    "zkml's softmax uses its own exp table at scale sf² and two big divisions \
                 (round(e_i / round(Σe / sf))); trustml's function set has no such table"
                        .into(),
                ))
            }
            other => {
                return Err(err(format!(
                    "the {other} layer is not supported by trustml's zkml import (supported: \
                     Conv2D, FullyConnected, AveragePool2D, MaxPool2D, Mean, Add, Sub, Mul, \
                     Reshape, Transpose, Pad, Concatenation, Noop)"
                )))
            }
        };
        if outs.len() != l.out_idxes.len() {
            return Err(err(format!(
                "produces {} outputs but out_idxes lists {}",
                outs.len(),
                l.out_idxes.len()
            )));
        }
        for (j, (v, &o)) in outs.into_iter().zip(&l.out_idxes).enumerate() {
            if let Some(s) = l.out_shapes.get(j) {
                if s.as_slice() != v.shape()
                    && s.iter().product::<usize>() == v.shape().iter().product::<usize>()
                {
                    // zkml reshapes freely where sizes agree (e.g. FullyConnected's 2-D output).
                    let v = reshape(&v, s.clone()).expect("same size");
                    self.vals.insert(o, v);
                    continue;
                } else if s.as_slice() != v.shape() {
                    return Err(err(format!(
                        "computes shape {:?} but out_shapes[{j}] says {s:?}",
                        v.shape()
                    )));
                }
            }
            self.vals.insert(o, v);
        }
        Ok(())
    }

    /// Add / Sub / Mul before rescaling, keeping constant operands as parameters.
    fn elementwise(&mut self, op: &str, a: &Val, b: &Val, ma: &[usize], mb: &[usize]) -> Vec<Wire> {
        match (a, b) {
            (Val::Wires(_, x), Val::Wires(_, y)) => {
                let k = match op {
                    "Add" => [0, 1, 1, 0],
                    "Sub" => [0, 1, -1, 0],
                    _ => [1, 0, 0, 0],
                };
                (0..ma.len())
                    .map(|i| self.b.arith(x[ma[i]], y[mb[i]], k))
                    .collect()
            }
            (Val::Wires(_, x), Val::Const(idx, _, c))
            | (Val::Const(idx, _, c), Val::Wires(_, x)) => {
                let wires_first = matches!(a, Val::Wires(..));
                let (mx, mc) = if wires_first { (ma, mb) } else { (mb, ma) };
                // x - c: the parameter is stored negated; c - x: x enters with weight -1.
                let (xsign, cmul) = match (op, wires_first) {
                    ("Sub", true) => (1, -1),
                    ("Sub", false) => (-1, 1),
                    _ => (1, 1),
                };
                let refs = self.param_refs(*idx, c, cmul);
                (0..mx.len())
                    .map(|i| {
                        let terms = if op == "Mul" {
                            vec![(x[mx[i]], refs[mc[i]])]
                        } else {
                            vec![(x[mx[i]], WRef::Const(xsign)), (ONE, refs[mc[i]])]
                        };
                        self.b.dot(terms)
                    })
                    .collect()
            }
            (Val::Const(..), Val::Const(..)) => {
                let (x, y) = (self.wires_of(a), self.wires_of(b));
                self.elementwise(op, &Val::Wires(vec![], x), &Val::Wires(vec![], y), ma, mb)
            }
        }
    }

    fn conv(
        &mut self,
        index: usize,
        ins: &[Val],
        err: &dyn Fn(String) -> ZkmlError,
        param: &dyn Fn(usize) -> Result<i64, ZkmlError>,
    ) -> Result<Val, ZkmlError> {
        let depthwise = match param(0)? {
            0 => false,
            1 => true,
            t => return Err(err(format!("unknown conv type {t} (0 conv, 1 depthwise)"))),
        };
        let same = match param(1)? {
            0 => true,
            1 => false,
            p => return Err(err(format!("unknown padding {p} (0 same, 1 valid)"))),
        };
        let act = match param(2)? {
            0 => Act::None,
            1 => Act::Relu,
            3 => Act::Relu6,
            a => {
                return Err(err(format!(
                    "unknown activation {a} (0 none, 1 relu, 3 relu6)"
                )))
            }
        };
        let (si, sj) = (param(3)?, param(4)?);
        if si < 1 || sj < 1 {
            return Err(err(format!("invalid strides {si}, {sj}")));
        }
        let (si, sj) = (si as usize, sj as usize);
        let xs = ins[0].shape().to_vec();
        let Val::Const(widx, ws_shape, wdata) = &ins[1] else {
            return Err(err("weights must be a constant tensor of the model".into()));
        };
        if xs.len() != 4 || ws_shape.len() != 4 {
            return Err(err(format!(
                "expects NHWC input and 4-D weights, got {xs:?} and {ws_shape:?}"
            )));
        }
        let (batch, h, w, c) = (xs[0], xs[1], xs[2], xs[3]);
        let (o, kh, kw, wc) = (ws_shape[0], ws_shape[1], ws_shape[2], ws_shape[3]);
        if depthwise && (batch != 1 || o != 1 || wc != c) {
            return Err(err(format!("depthwise conv expects a 1×H×W×C input and 1×KH×KW×C weights, got {xs:?} and {ws_shape:?}")));
        }
        if !depthwise && wc != c {
            return Err(err(format!(
                "weights have {wc} input channels, the input has {c}"
            )));
        }
        let oc = if depthwise { wc } else { o };
        let bias: Option<Vec<WRef>> = match ins.get(2) {
            None => None,
            Some(Val::Const(bidx, bs, bdata)) => {
                if bdata.len() != oc {
                    return Err(err(format!(
                        "bias shape {bs:?} does not match {oc} output channels"
                    )));
                }
                Some(self.param_refs(*bidx, bdata, self.sf))
            }
            Some(Val::Wires(..)) => {
                return Err(err("bias must be a constant tensor of the model".into()))
            }
        };
        if depthwise && bias.is_none() {
            return Err(err("depthwise conv needs a bias".into()));
        }
        // zkml's get_padding (conv2d.rs), quirks included: the height uses `sj`.
        let ((pt, _), (pl, _)) = if same {
            let ph = if h % si == 0 {
                kh as i64 - sj as i64
            } else {
                kh as i64 - (h % si) as i64
            }
            .max(0) as usize;
            let pw = if w % sj == 0 {
                kw as i64 - sj as i64
            } else {
                kw as i64 - (w % sj) as i64
            }
            .max(0) as usize;
            ((ph / 2, ph - ph / 2), (pw / 2, pw - pw / 2))
        } else {
            ((0, 0), (0, 0))
        };
        let (oh, ow) = if same {
            (h.div_ceil(si), w.div_ceil(sj))
        } else {
            if kh > h || kw > w {
                return Err(err(format!(
                    "kernel {kh}×{kw} is larger than the input {h}×{w}"
                )));
            }
            ((h - kh) / si + 1, (w - kw) / sj + 1)
        };
        // zkml pads by (pt, pb) and reads rows up to (oh-1)·si + kh - 1: cells past the
        // padded input would make it panic; we treat them as zero like the padding.
        let x = self.wires_of(&ins[0]);
        let wr = self.param_refs(*widx, wdata, 1);
        let mut wide = Vec::with_capacity(batch * oh * ow * oc);
        for b in 0..batch {
            for i in 0..oh {
                for j in 0..ow {
                    for ch in 0..oc {
                        let mut terms =
                            Vec::with_capacity(kh * kw * if depthwise { 1 } else { c } + 1);
                        for a in 0..kh {
                            let y = (i * si + a) as isize - pt as isize;
                            if y < 0 || y >= h as isize {
                                continue;
                            }
                            for e in 0..kw {
                                let z = (j * sj + e) as isize - pl as isize;
                                if z < 0 || z >= w as isize {
                                    continue;
                                }
                                let base = ((b * h + y as usize) * w + z as usize) * c;
                                if depthwise {
                                    terms.push((x[base + ch], wr[(a * kw + e) * wc + ch]));
                                } else {
                                    for k in 0..c {
                                        terms.push((
                                            x[base + k],
                                            wr[((ch * kh + a) * kw + e) * wc + k],
                                        ));
                                    }
                                }
                            }
                        }
                        if let Some(br) = &bias {
                            terms.push((ONE, br[ch]));
                        }
                        if terms.is_empty() {
                            terms.push((ZERO, WRef::Const(0)));
                        }
                        wide.push(self.b.dot(terms));
                    }
                }
            }
        }
        let ws = self.rescale(index, wide, act);
        Ok(Val::Wires(vec![batch, oh, ow, oc], ws))
    }

    fn fully_connected(
        &mut self,
        index: usize,
        ins: &[Val],
        err: &dyn Fn(String) -> ZkmlError,
        param: &dyn Fn(usize) -> Result<i64, ZkmlError>,
    ) -> Result<Val, ZkmlError> {
        let act = match param(0)? {
            0 => Act::None,
            1 => Act::Relu,
            a => return Err(err(format!("unknown activation {a} (0 none, 1 relu)"))),
        };
        let xs = ins[0].shape().to_vec();
        // zkml takes a 2-D input as is and otherwise its first slice along axis 0.
        let (m, k) = match xs.len() {
            2 => (xs[0], xs[1]),
            3 => (xs[1], xs[2]),
            _ => return Err(err(format!("expects a 2-D (or 1×M×K) input, got {xs:?}"))),
        };
        let Val::Const(widx, wshape, wdata) = &ins[1] else {
            return Err(err("weights must be a constant tensor of the model".into()));
        };
        if wshape.len() != 2 || wshape[1] != k {
            return Err(err(format!(
                "weights {wshape:?} do not match an input of {k} features"
            )));
        }
        let n = wshape[0];
        let bias = match ins.get(2) {
            None => None,
            Some(Val::Const(bidx, bs, bdata)) => {
                let (_, _, mb) = broadcast(&[m, n], bs)
                    .filter(|(s, _, _)| s == &vec![m, n])
                    .ok_or_else(|| err(format!("bias {bs:?} does not broadcast to [{m}, {n}]")))?;
                Some((self.param_refs(*bidx, bdata, self.sf), mb))
            }
            Some(Val::Wires(..)) => {
                return Err(err("bias must be a constant tensor of the model".into()))
            }
        };
        let x = self.wires_of(&ins[0]);
        let wr = self.param_refs(*widx, wdata, 1);
        let mut wide = Vec::with_capacity(m * n);
        for r in 0..m {
            for j in 0..n {
                let mut terms: Vec<(Wire, WRef)> =
                    (0..k).map(|i| (x[r * k + i], wr[j * k + i])).collect();
                if let Some((br, mb)) = &bias {
                    terms.push((ONE, br[mb[r * n + j]]));
                }
                wide.push(self.b.dot(terms));
            }
        }
        let ws = self.rescale(index, wide, act);
        Ok(Val::Wires(vec![m, n], ws))
    }
}

fn reshape(v: &Val, shape: Vec<usize>) -> Option<Val> {
    if shape.iter().product::<usize>() != v.shape().iter().product::<usize>() {
        return None;
    }
    Some(match v {
        Val::Wires(_, w) => Val::Wires(shape, w.clone()),
        Val::Const(i, _, d) => Val::Const(*i, shape, d.clone()),
    })
}

/// Lowers `m` at `qp`.
pub(super) fn lower(m: &ZkmlModel, qp: QuantParams) -> Result<Program, ZkmlError> {
    Lowering::new(m, qp).run()
}
