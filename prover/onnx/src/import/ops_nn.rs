//! Mappings of the upsampling ops: Resize / Upsample (nearest with integer factors; linear
//! as constant interpolation matrices along H and W) and ConvTranspose.

use super::ops::fixed;
use super::ops_tf::{act, cst};
use super::{attr_str, Ctx, Importer, Val, R};
use crate::eval::nn::conv_transpose_out;
use crate::fold::{self, attr_i, attr_ints};
use crate::graph::{Op, ValueId};
use crate::tensor::Tensor;

impl Importer {
    pub(super) fn resize(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let n = cx.n;
        let x = act(cx, ins, 0)?;
        let s = self.shape(x);
        if s.len() != 4 {
            return Err(cx.unsupported(format!("only NCHW (4-D) inputs can be resized, got {s:?}")));
        }
        let mode = attr_str(n, "mode", "nearest");
        if mode != "nearest" && mode != "linear" && mode != "bilinear" {
            return Err(cx.unsupported(format!(
                "{} mode \"{mode}\" is not supported (nearest and linear only)",
                n.op_type
            )));
        }
        let upsample = n.op_type == "Upsample";
        let modern = !upsample && self.opset >= 11;
        let nonempty = |i: usize| -> R<Option<Vec<f64>>> {
            Ok(cst(cx, ins, i)?
                .filter(|c| !c.t.data.is_empty())
                .map(|c| c.t.data.clone()))
        };
        let (scales, sizes) = if upsample && self.opset < 9 {
            let f = fold::attr(n, "scales").map(|a| a.floats.iter().map(|&v| v as f64).collect());
            (f, None)
        } else if !modern {
            (nonempty(1)?, None)
        } else {
            (nonempty(2)?, nonempty(3)?)
        };
        // Resize-18 `axes`: scales/sizes for a subset of the axes.
        let axes: Vec<usize> = match attr_ints(n, "axes") {
            Some(a) => a
                .iter()
                .map(|&v| fold::norm_axis(v, 4))
                .collect::<Result<_, _>>()
                .map_err(|m| cx.err(m))?,
            None => (0..4).collect(),
        };
        let mut factor = [1.0f64; 4];
        let given = sizes
            .as_ref()
            .or(scales.as_ref())
            .ok_or_else(|| cx.err("needs constant scales or sizes"))?;
        if given.len() != axes.len() {
            return Err(cx.err(format!(
                "{} scales/sizes for {} axes",
                given.len(),
                axes.len()
            )));
        }
        for (&a, &v) in axes.iter().zip(given) {
            factor[a] = if sizes.is_some() { v / s[a] as f64 } else { v };
        }
        if mode != "nearest" {
            if factor[0] != 1.0 || factor[1] != 1.0 {
                return Err(cx.unsupported(format!(
                    "linear resize of N or C (factors {factor:?}): only H and W can be resized"
                )));
            }
            let ctm = if modern {
                attr_str(n, "coordinate_transformation_mode", "half_pixel")
            } else {
                "asymmetric".to_string()
            };
            let size = |a: usize| match &sizes {
                Some(sz) => axes
                    .iter()
                    .position(|&x| x == a)
                    .map_or(s[a], |i| sz[i] as usize),
                None => (s[a] as f64 * factor[a]).floor() as usize,
            };
            let (oh, ow) = (size(2), size(3));
            if oh == 0 || ow == 0 {
                return Err(cx.err(format!("resizing {s:?} by {factor:?} leaves no pixels")));
            }
            // The scale ONNX's coordinate transform divides by: the given one, or out/in.
            let scale = |a: usize, o: usize| {
                if sizes.is_some() {
                    o as f64 / s[a] as f64
                } else {
                    factor[a]
                }
            };
            let wh = linear_weights(s[2], oh, scale(2, oh), &ctm).map_err(|m| cx.unsupported(m))?;
            let ww = linear_weights(s[3], ow, scale(3, ow), &ctm).map_err(|m| cx.unsupported(m))?;
            // Along W: a dense layer on the last axis; along H: the same between two transposes.
            let mut cur = x;
            let mut shape = s.clone();
            if ow != s[3] || ww.data.iter().step_by(s[3] + 1).any(|&v| v != 1.0) {
                shape[3] = ow;
                let dense = Op::Dense {
                    weight: ww,
                    bias: None,
                };
                let name = if oh == s[2] {
                    out.to_string()
                } else {
                    format!("{out}::w")
                };
                cur = self.emit(cx, &name, dense, vec![cur], shape.clone())?;
                if oh == s[2] {
                    return Ok(cur);
                }
            }
            let t = vec![shape[0], shape[1], shape[3], shape[2]];
            let perm = Op::Transpose {
                perm: vec![0, 1, 3, 2],
            };
            let tr = self.emit(
                cx,
                &format!("{out}::hlast"),
                perm.clone(),
                vec![cur],
                t.clone(),
            )?;
            let th = vec![t[0], t[1], t[2], oh];
            let dense = Op::Dense {
                weight: wh,
                bias: None,
            };
            let d = self.emit(cx, &format!("{out}::h"), dense, vec![tr], th.clone())?;
            return self.emit(cx, out, perm, vec![d], vec![th[0], th[1], oh, th[2]]);
        }
        let int = |f: f64| (f.fract() == 0.0 && (1.0..=4096.0).contains(&f)).then_some(f as usize);
        let (Some(1), Some(1), Some(fh), Some(fw)) = (
            int(factor[0]),
            int(factor[1]),
            int(factor[2]),
            int(factor[3]),
        ) else {
            return Err(cx.unsupported(format!(
                "scale factors {factor:?}: only integer upsampling of H and W (N and C unchanged) is supported"
            )));
        };
        if modern {
            // Which source pixel output pixel i reads must be i / factor (a pure repeat).
            let ctm = attr_str(n, "coordinate_transformation_mode", "half_pixel");
            let nm = attr_str(n, "nearest_mode", "round_prefer_floor");
            let fmax = fh.max(fw);
            let ok = fmax == 1
                || match ctm.as_str() {
                    "asymmetric" => nm == "floor" || (nm == "round_prefer_floor" && fmax <= 2),
                    "half_pixel" | "pytorch_half_pixel" => nm.starts_with("round_prefer_"),
                    "tf_half_pixel_for_nn" => nm == "floor",
                    _ => false,
                };
            if !ok {
                return Err(cx.unsupported(format!(
                    "coordinate_transformation_mode \"{ctm}\" with nearest_mode \"{nm}\" and factors \
                     [{fh}, {fw}] is not a pixel repeat; export with asymmetric + floor (nn.Upsample \
                     mode='nearest') or half_pixel + round_prefer_floor"
                )));
            }
        }
        let shape = vec![s[0], s[1], s[2] * fh, s[3] * fw];
        let op = Op::ResizeNearest { scales: [fh, fw] };
        self.emit(cx, out, op, vec![x], shape)
    }

    pub(super) fn conv_transpose(
        &mut self,
        cx: &Ctx,
        ins: &[Option<Val>],
        out: &str,
    ) -> R<ValueId> {
        let n = cx.n;
        let x = act(cx, ins, 0)?;
        let w = match ins.get(1) {
            Some(Some(Val::C(w))) => w.to_f32(),
            _ => return Err(cx.unsupported("ConvTranspose weights must be a constant initializer")),
        };
        let s = self.shape(x);
        let (Ok([bn, c, h, wd]), Ok([ci, og, kh, kw])) = (
            <[usize; 4]>::try_from(s.clone()),
            <[usize; 4]>::try_from(w.shape.clone()),
        ) else {
            return Err(cx.unsupported(format!(
                "only 2-D ConvTranspose (NCHW input, 4-D weight) is supported; input {s:?}, weight {:?}",
                w.shape
            )));
        };
        let group = usize::try_from(attr_i(n, "group", 1))
            .ok()
            .filter(|&g| g >= 1 && c % g == 0)
            .ok_or_else(|| cx.err(format!("group must be >= 1 and divide {c} channels")))?;
        if ci != c || og == 0 {
            return Err(cx.err(format!(
                "weight {:?} does not fit {c} input channels",
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
        let st = fixed(cx, "strides", attr_ints(n, "strides"), [1, 1], 1)?;
        let dil = fixed(cx, "dilations", attr_ints(n, "dilations"), [1, 1], 1)?;
        let op_ = fixed(
            cx,
            "output_padding",
            attr_ints(n, "output_padding"),
            [0, 0],
            0,
        )?;
        if (0..2).any(|a| op_[a] >= st[a].max(dil[a])) {
            return Err(cx.err(format!(
                "output_padding {op_:?} must be smaller than the stride or dilation"
            )));
        }
        let auto_pad = attr_str(n, "auto_pad", "NOTSET");
        let mut pads = match auto_pad.as_str() {
            "NOTSET" => fixed(cx, "pads", attr_ints(n, "pads"), [0; 4], 0)?,
            "VALID" => [0; 4],
            other => {
                return Err(cx.unsupported(format!(
                    "ConvTranspose auto_pad \"{other}\" is not supported; export with explicit pads"
                )))
            }
        };
        if let Some(os) = attr_ints(n, "output_shape") {
            // Explicit output size: pads from the total padding (as the ONNX spec and
            // onnxruntime split it: an odd extra pixel at the start).
            let os = &os[os.len().saturating_sub(2)..];
            if os.len() != 2 {
                return Err(cx.err(format!("output_shape {os:?} must give H and W")));
            }
            for (a, len, k) in [(0, h, kh), (1, wd, kw)] {
                let full = conv_transpose_out(len, k, st[a], dil[a], (0, 0), op_[a])
                    .map_err(|m| cx.err(m))?;
                let total = usize::try_from(os[a])
                    .ok()
                    .and_then(|o| full.checked_sub(o))
                    .filter(|_| os[a] > 0)
                    .ok_or_else(|| {
                        cx.unsupported(format!(
                            "output_shape {os:?} is larger than the full transposed output on axis {a}"
                        ))
                    })?;
                pads[a] = total - total / 2;
                pads[a + 2] = total / 2;
            }
        }
        let o = og * group;
        let bias = match ins.get(2) {
            Some(Some(Val::C(b))) if b.t.data.len() == o => Some(Tensor {
                shape: vec![o],
                data: b.to_f32().data,
            }),
            Some(Some(_)) => return Err(cx.err(format!("bias must be a constant of {o} values"))),
            _ => None,
        };
        let oh = conv_transpose_out(h, kh, st[0], dil[0], (pads[0], pads[2]), op_[0])
            .map_err(|m| cx.err(m))?;
        let ow = conv_transpose_out(wd, kw, st[1], dil[1], (pads[1], pads[3]), op_[1])
            .map_err(|m| cx.err(m))?;
        let op = Op::ConvTranspose {
            weight: w,
            bias,
            strides: st,
            pads,
            dilations: dil,
            output_padding: op_,
            group,
        };
        self.emit(cx, out, op, vec![x], vec![bn, o, oh, ow])
    }
}

/// The `[out, in]` matrix of 1-D linear interpolation from `n` to `m` samples, as ONNX Resize
/// defines it: output `o` reads source coordinate `x` (by the coordinate transformation
/// mode), clamped to `[0, n − 1]`, from its two neighbours with weights `1 − frac`, `frac`.
fn linear_weights(n: usize, m: usize, scale: f64, ctm: &str) -> Result<Tensor<f32>, String> {
    let mut w = vec![0f32; m * n];
    for o in 0..m {
        let of = o as f64;
        let x = match ctm {
            "half_pixel" => (of + 0.5) / scale - 0.5,
            "pytorch_half_pixel" => {
                if m > 1 {
                    (of + 0.5) / scale - 0.5
                } else {
                    0.0
                }
            }
            "align_corners" => {
                if m > 1 {
                    of * (n - 1) as f64 / (m - 1) as f64
                } else {
                    0.0
                }
            }
            "asymmetric" => of / scale,
            other => {
                return Err(format!(
                "linear resize with coordinate_transformation_mode \"{other}\" is not supported \
                     (half_pixel, pytorch_half_pixel, align_corners, asymmetric)"
            ))
            }
        };
        let x = x.clamp(0.0, (n - 1) as f64);
        let i0 = x.floor() as usize;
        let i1 = (i0 + 1).min(n - 1);
        let f = x - i0 as f64;
        w[o * n + i0] += (1.0 - f) as f32;
        w[o * n + i1] += f as f32;
    }
    Ok(Tensor::new(vec![m, n], w))
}
