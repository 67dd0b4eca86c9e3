//! The edits, their exact integer semantics, and the rows that prove them.
//!
//! Every output byte is either a copy of an input byte (crop) or one **affine row**:
//!
//! ```text
//! v   = Σ_i c_i·x_i + a·(m·x_0 + f) + e        x_i input bytes, a a public parameter
//! q   = ⌊v / d⌋                                 (e holds OFF·d, so v ≥ 0 for every input)
//! out = clamp(q − OFF, 0, 255)
//! ```
//!
//! with `d ∈ [1, 256] ∪ {65536}`. [`Edit::apply`] is the reference, written out per edit
//! with the formulas below; the circuit proves the rows, and tests check that the two agree
//! byte for byte.
//!
//! | edit | output byte |
//! |---|---|
//! | crop `x,y,w,h` | `in[y+j][x+i][c]` |
//! | resize `W'×H'` (bilinear) | source `s = ((2i+1)·W − W')/(2W')` (half-pixel centres, clamped to the edges), `i0 = ⌊s⌋`, `fx = round(frac(s)·256)` (half up; 256 moves to the next pixel); likewise `fy`; `out = ⌊(Σ w·p + 2^15)/2^16⌋` with `w = (256−fx)(256−fy), fx(256−fy), (256−fx)fy, fx·fy` on `p(i0,j0), p(i1,j0), p(i0,j1), p(i1,j1)`, `i1 = min(i0+1, W−1)` |
//! | contrast `α` | `clamp(⌊(α_q(p−128) + 128)/256⌋ + 128)`, `α_q = round(256α) ∈ [0, 1024]` (public) |
//! | brightness `β` | `clamp(p + β)`, `β ∈ [−255, 255]` (public, as `β + 255`) |
//! | white balance `g_R, g_G, g_B` | `clamp(⌊(g_q·p + 128)/256⌋)`, `g_q = round(256g) ∈ [0, 1024]` per channel (public) |
//! | grayscale | `(19595R + 38470G + 7471B + 32768) >> 16` (BT.601; Pillow's `convert("L")`) |
//! | RGB → YCbCr | JFIF/libjpeg: `Y` as grayscale, `Cb = (−11059R − 21709G + 32768B + 128·2^16 + 32767) >> 16`, `Cr = (32768R − 27439G − 5329B + 128·2^16 + 32767) >> 16` |
//! | YCbCr → RGB | libjpeg: `R = clamp(Y + ((91881(Cr−128) + 2^15) >> 16))`, `G = clamp(Y + ((−22554(Cb−128) − 46802(Cr−128) + 2^15) >> 16))`, `B = clamp(Y + ((116130(Cb−128) + 2^15) >> 16))` |
//! | convolve `K/d` (3×3, "valid": the output is 2 pixels narrower and shorter) | `clamp(⌊(Σ K_vu·p(i+u, j+v) + ⌊d/2⌋)/d⌋)` per channel |
//!
//! `>>` and `⌊·⌋` round toward −∞. Parameters that the verifying key fixes (crop box, sizes,
//! kernel) are part of the edit; the others are public inputs of each proof.

use super::format::{Dims, Image};
use super::ImgError;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// The offset folded into every row so that `v ≥ 0`: `q − OFF` ranges over
/// `[−OFF, T − OFF)` with `T` = [`CLAMP_DOMAIN`].
pub const OFF: i64 = 1024;
/// Rows of the clamp table: `q ∈ [0, CLAMP_DOMAIN)`.
pub const CLAMP_DOMAIN: i64 = 4096;
/// Most input bytes one row reads (a 3×3 kernel).
pub const MAX_TAPS: usize = 9;
/// The divisor of the 16-bit fixed-point edits.
pub const D16: u32 = 1 << 16;

/// An edit (what the verifying key fixes; see the module docs for the semantics).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Edit {
    /// Cut out a rectangle.
    Crop {
        /// Left column.
        x: u32,
        /// Top row.
        y: u32,
        /// Width of the result.
        width: u32,
        /// Height of the result.
        height: u32,
    },
    /// Bilinear resize.
    Resize {
        /// Width of the result.
        width: u32,
        /// Height of the result.
        height: u32,
    },
    /// Contrast around 128 by a public factor.
    Contrast,
    /// Add a public offset.
    Brightness,
    /// Per-channel public gains.
    WhiteBalance,
    /// RGB → one channel of luma.
    Grayscale,
    /// RGB → YCbCr (JFIF).
    RgbToYcbcr,
    /// YCbCr → RGB (JFIF).
    YcbcrToRgb,
    /// A 3×3 convolution with a fixed kernel, rows of the kernel first.
    Convolve {
        /// The kernel, `K[v][u]` at `3v + u`.
        kernel: [i32; 9],
        /// The divisor (1 to 256).
        divisor: u32,
    },
}

/// `v += a·(m·x_0 + f)` for the public parameter `a = params[index]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamUse {
    /// Which parameter.
    pub index: usize,
    /// Its coefficient on the first tap.
    pub m: i64,
    /// Its constant coefficient.
    pub f: i64,
}

/// One affine row (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// `(input byte index, c_i)`; the first `n` are used.
    pub taps: [(u32, i64); MAX_TAPS],
    /// Taps used.
    pub n: usize,
    /// The parameter term.
    pub param: Option<ParamUse>,
    /// The constant (with `OFF·d` folded in).
    pub e: i64,
    /// The divisor.
    pub d: u32,
}

/// A row's constants without its positions: rows sharing one are proven by one selector.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern {
    /// Tap coefficients.
    pub c: Vec<i64>,
    /// The parameter's `(m, f)`.
    pub param: Option<(i64, i64)>,
    /// The constant.
    pub e: i64,
    /// The divisor.
    pub d: u32,
}

/// What one row computes for given inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowValue {
    /// `v`.
    pub v: i64,
    /// `⌊v/d⌋`.
    pub q: i64,
    /// `v − q·d`.
    pub r: i64,
    /// The output byte.
    pub out: u8,
}

/// `clamp(t, 0, 255)`.
pub fn clamp(t: i64) -> u8 {
    t.clamp(0, 255) as u8
}

impl Row {
    fn new(d: u32) -> Self {
        Self {
            taps: [(0, 0); MAX_TAPS],
            n: 0,
            param: None,
            e: OFF * i64::from(d),
            d,
        }
    }

    fn tap(mut self, index: usize, c: i64) -> Self {
        self.taps[self.n] = (index as u32, c);
        self.n += 1;
        self
    }

    /// The row's taps.
    pub fn taps(&self) -> &[(u32, i64)] {
        &self.taps[..self.n]
    }

    /// Its constants.
    pub fn pattern(&self) -> Pattern {
        Pattern {
            c: self.taps().iter().map(|&(_, c)| c).collect(),
            param: self.param.map(|p| (p.m, p.f)),
            e: self.e,
            d: self.d,
        }
    }

    /// Evaluates the row on `input` with public `params`.
    pub fn eval(&self, input: &[u8], params: &[u64]) -> RowValue {
        self.eval_with(|t| i64::from(input[t]), params)
    }

    /// Evaluates the row with input byte `t` given by `byte(t)`.
    pub fn eval_with(&self, byte: impl Fn(usize) -> i64, params: &[u64]) -> RowValue {
        let x = |i: usize| byte(self.taps[i].0 as usize);
        let mut v = self.e;
        for i in 0..self.n {
            v += self.taps[i].1 * x(i);
        }
        if let Some(p) = self.param {
            let mx = if p.m == 0 { 0 } else { p.m * x(0) };
            v += params[p.index] as i64 * (mx + p.f);
        }
        let d = i64::from(self.d);
        let (q, r) = (v.div_euclid(d), v.rem_euclid(d));
        RowValue {
            v,
            q,
            r,
            out: clamp(q - OFF),
        }
    }

    /// The least and greatest `v` over every input byte and every parameter in
    /// `[0, param_max]`.
    pub fn bounds(&self, param_max: u64) -> (i64, i64) {
        let corners: &[i64] = match self.param {
            Some(_) => &[0, param_max as i64],
            None => &[0],
        };
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for &a in corners {
            let (mut l, mut h) = (self.e, self.e);
            for (i, &(_, c)) in self.taps().iter().enumerate() {
                let mut c = c;
                if let (0, Some(p)) = (i, self.param) {
                    c += a * p.m;
                }
                if c < 0 {
                    l += 255 * c;
                } else {
                    h += 255 * c;
                }
            }
            if let Some(p) = self.param {
                l += a * p.f;
                h += a * p.f;
            }
            lo = lo.min(l);
            hi = hi.max(h);
        }
        (lo, hi)
    }
}

/// One output axis of a bilinear resize: `(i0, i1, fx)` per output coordinate.
fn bilinear_axis(from: u32, to: u32) -> Vec<(u32, u32, u32)> {
    let (from_i, to_i) = (i64::from(from), i64::from(to));
    (0..to_i)
        .map(|o| {
            let num = (2 * o + 1) * from_i - to_i;
            let den = 2 * to_i;
            let (mut i0, mut f) = if num <= 0 {
                (0, 0)
            } else {
                let rem = num % den;
                (num / den, (rem * 512 + den) / (2 * den))
            };
            if f == 256 {
                i0 += 1;
                f = 0;
            }
            if i0 >= from_i - 1 {
                i0 = from_i - 1;
                f = 0;
            }
            let i1 = (i0 + 1).min(from_i - 1);
            (i0 as u32, i1 as u32, f as u32)
        })
        .collect()
}

/// How an edit's output bytes are proven.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The edit.
    pub edit: Edit,
    /// Input size (of the band strip a windowed plan reads).
    pub input: Dims,
    /// Output size (of the band strip a windowed plan writes).
    pub output: Dims,
    xs: Vec<(u32, u32, u32)>,
    ys: Vec<(u32, u32, u32)>,
    window: Option<Window>,
}

/// Where a windowed plan sits in the whole edit: output bytes `out_start..` of the full
/// output, reading input bytes `in_start..` of the full input.
#[derive(Clone, Debug)]
struct Window {
    input: Dims,
    output: Dims,
    in_start: usize,
    out_start: usize,
}

/// The named kernels of `blur` and `sharpen`.
pub const BLUR: ([i32; 9], u32) = ([1, 2, 1, 2, 4, 2, 1, 2, 1], 16);
/// Sharpen: 5 at the centre, −1 at the four neighbours.
pub const SHARPEN: ([i32; 9], u32) = ([0, -1, 0, -1, 5, -1, 0, -1, 0], 1);

impl Edit {
    /// Parses `crop:X,Y,W,H`, `resize:WxH`, `contrast`, `brightness`, `white-balance`,
    /// `grayscale`, `rgb-to-ycbcr`, `ycbcr-to-rgb`, `blur`, `sharpen` or
    /// `convolve:K1,…,K9/D`.
    pub fn parse(s: &str) -> Result<Self, ImgError> {
        let (name, arg) = s.split_once(':').unwrap_or((s, ""));
        let nums = |what: &str, n: usize| -> Result<Vec<i64>, ImgError> {
            let v: Result<Vec<i64>, _> = arg.split(',').map(|t| t.trim().parse::<i64>()).collect();
            match v {
                Ok(v) if v.len() == n => Ok(v),
                _ => Err(ImgError::Edit(format!("'{s}': write {name}:{what}"))),
            }
        };
        let no_arg = |e: Edit| {
            if arg.is_empty() {
                Ok(e)
            } else {
                Err(ImgError::Edit(format!(
                    "'{s}': {name} takes no argument in the edit (its parameters go in --params)"
                )))
            }
        };
        let u = |v: i64, what: &str| {
            u32::try_from(v)
                .map_err(|_| ImgError::Edit(format!("'{s}': {what} must not be negative")))
        };
        match name {
            "crop" => {
                let v = nums("X,Y,WIDTH,HEIGHT", 4)?;
                Ok(Self::Crop {
                    x: u(v[0], "x")?,
                    y: u(v[1], "y")?,
                    width: u(v[2], "width")?,
                    height: u(v[3], "height")?,
                })
            }
            "resize" => {
                let d = Dims::parse(arg).map_err(|_| {
                    ImgError::Edit(format!("'{s}': write resize:WIDTHxHEIGHT (e.g. resize:640x480)"))
                })?;
                Ok(Self::Resize {
                    width: d.width,
                    height: d.height,
                })
            }
            "contrast" => no_arg(Self::Contrast),
            "brightness" => no_arg(Self::Brightness),
            "white-balance" => no_arg(Self::WhiteBalance),
            "grayscale" => no_arg(Self::Grayscale),
            "rgb-to-ycbcr" => no_arg(Self::RgbToYcbcr),
            "ycbcr-to-rgb" => no_arg(Self::YcbcrToRgb),
            "blur" => no_arg(Self::Convolve {
                kernel: BLUR.0,
                divisor: BLUR.1,
            }),
            "sharpen" => no_arg(Self::Convolve {
                kernel: SHARPEN.0,
                divisor: SHARPEN.1,
            }),
            "convolve" => {
                let (k, d) = arg.split_once('/').ok_or_else(|| {
                    ImgError::Edit(format!("'{s}': write convolve:K1,…,K9/DIVISOR"))
                })?;
                let kernel: Vec<i32> = k
                    .split(',')
                    .map(|t| t.trim().parse::<i32>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| ImgError::Edit(format!("'{s}': the kernel is 9 integers")))?;
                let kernel: [i32; 9] = kernel
                    .try_into()
                    .map_err(|_| ImgError::Edit(format!("'{s}': the kernel is 9 integers")))?;
                let divisor = d.trim().parse::<u32>().map_err(|_| {
                    ImgError::Edit(format!("'{s}': the divisor is an integer from 1 to 256"))
                })?;
                Ok(Self::Convolve { kernel, divisor })
            }
            _ => Err(ImgError::Edit(format!(
                "unknown edit '{name}' (known: crop:X,Y,W,H, resize:WxH, contrast, brightness, white-balance, grayscale, rgb-to-ycbcr, ycbcr-to-rgb, blur, sharpen, convolve:K1,…,K9/D)"
            ))),
        }
    }

    /// The short name of the edit (what `parse` reads back).
    pub fn name(&self) -> String {
        match self {
            Self::Crop {
                x,
                y,
                width,
                height,
            } => format!("crop:{x},{y},{width},{height}"),
            Self::Resize { width, height } => format!("resize:{width}x{height}"),
            Self::Contrast => "contrast".into(),
            Self::Brightness => "brightness".into(),
            Self::WhiteBalance => "white-balance".into(),
            Self::Grayscale => "grayscale".into(),
            Self::RgbToYcbcr => "rgb-to-ycbcr".into(),
            Self::YcbcrToRgb => "ycbcr-to-rgb".into(),
            Self::Convolve { kernel, divisor } => {
                if (*kernel, *divisor) == BLUR {
                    "blur".into()
                } else if (*kernel, *divisor) == SHARPEN {
                    "sharpen".into()
                } else {
                    let k: Vec<String> = kernel.iter().map(|k| k.to_string()).collect();
                    format!("convolve:{}/{divisor}", k.join(","))
                }
            }
        }
    }

    /// How many functions this edit applies on images of `channels` channels when it is
    /// pointwise — each output byte is `f_c(input byte)` of the same position, `c` its
    /// channel: contrast and brightness one, white balance one per channel — or `None`
    /// (the other edits read several bytes).
    pub fn table_channels(&self, channels: u8) -> Option<usize> {
        match self {
            Self::Contrast | Self::Brightness => Some(1),
            Self::WhiteBalance => Some(usize::from(channels)),
            _ => None,
        }
    }

    /// Whether each output byte reads only the bytes of its own pixel, in an image of the
    /// same size (the colour conversions): what the fused layout proves in the grid's rows.
    pub fn per_pixel(&self) -> bool {
        matches!(self, Self::RgbToYcbcr | Self::YcbcrToRgb)
    }

    /// Public parameters of each proof: how many.
    pub fn num_params(&self) -> usize {
        match self {
            Self::Contrast | Self::Brightness => 1,
            Self::WhiteBalance => 3,
            _ => 0,
        }
    }

    /// The largest encoded value of a public parameter.
    pub fn param_max(&self) -> u64 {
        match self {
            Self::Contrast | Self::WhiteBalance => 1024,
            Self::Brightness => 510,
            _ => 0,
        }
    }

    /// Parses `--params`: `alpha=1.5` (contrast), `beta=-20` (brightness),
    /// `gains=1.1,1.0,0.9` (white balance); empty for the other edits. Returns the public
    /// values (α·256, β + 255, g·256 each, rounded).
    pub fn parse_params(&self, s: &str) -> Result<Vec<u64>, ImgError> {
        let s = s.trim();
        let (key, val) = s.split_once('=').unwrap_or(("", s));
        let fixed = |t: &str, what: &str| -> Result<u64, ImgError> {
            let g: f64 = t
                .trim()
                .parse()
                .map_err(|_| ImgError::Edit(format!("{what} '{t}' is not a number")))?;
            if !(0.0..=4.0).contains(&g) {
                return Err(ImgError::Edit(format!(
                    "{what} {g} is out of range: it must be between 0 and 4"
                )));
            }
            Ok((g * 256.0).round() as u64)
        };
        let want = |k: &str, example: &str| {
            if key == k {
                Ok(())
            } else {
                Err(ImgError::Edit(format!(
                    "{} takes --params {example}",
                    self.name()
                )))
            }
        };
        match self {
            Self::Contrast => {
                want("alpha", "alpha=1.5 (0 to 4; 1 leaves the image as it is)")?;
                Ok(vec![fixed(val, "alpha")?])
            }
            Self::Brightness => {
                want("beta", "beta=-20 (an integer from -255 to 255)")?;
                let b: i64 = val
                    .trim()
                    .parse()
                    .map_err(|_| ImgError::Edit(format!("beta '{val}' is not an integer")))?;
                if !(-255..=255).contains(&b) {
                    return Err(ImgError::Edit(format!(
                        "beta {b} is out of range: it must be between -255 and 255"
                    )));
                }
                Ok(vec![(b + 255) as u64])
            }
            Self::WhiteBalance => {
                want("gains", "gains=1.1,1.0,0.9 (red, green, blue; each 0 to 4)")?;
                let g: Vec<&str> = val.split(',').collect();
                if g.len() != 3 {
                    return Err(ImgError::Edit(
                        "white-balance takes three gains: --params gains=R,G,B".into(),
                    ));
                }
                g.iter().map(|t| fixed(t, "gain")).collect()
            }
            _ if s.is_empty() => Ok(vec![]),
            _ => Err(ImgError::Edit(format!(
                "{} takes no --params (its parameters are in the edit: {})",
                self.name(),
                self.name()
            ))),
        }
    }

    /// The parameters in words.
    pub fn describe_params(&self, params: &[u64]) -> String {
        match (self, params) {
            (Self::Contrast, [a]) => format!("alpha={}", *a as f64 / 256.0),
            (Self::Brightness, [b]) => format!("beta={}", *b as i64 - 255),
            (Self::WhiteBalance, [r, g, b]) => format!(
                "gains={},{},{}",
                *r as f64 / 256.0,
                *g as f64 / 256.0,
                *b as f64 / 256.0
            ),
            _ => String::new(),
        }
    }

    /// Checks public parameters (count and range).
    pub fn check_params(&self, params: &[u64]) -> Result<(), ImgError> {
        if params.len() != self.num_params() {
            return Err(ImgError::Edit(format!(
                "{} takes {} public parameter(s), not {}",
                self.name(),
                self.num_params(),
                params.len()
            )));
        }
        if let Some(p) = params.iter().find(|&&p| p > self.param_max()) {
            return Err(ImgError::Edit(format!(
                "parameter {p} of {} is out of range (at most {})",
                self.name(),
                self.param_max()
            )));
        }
        Ok(())
    }

    /// The output size for an input of `input`, or why the edit does not apply.
    pub fn output(&self, input: Dims) -> Result<Dims, ImgError> {
        let need = |c: u8, what: &str| {
            if input.channels == c {
                Ok(())
            } else {
                Err(ImgError::Edit(format!(
                    "{} needs {what} (3 channels); this image is {input}",
                    self.name()
                )))
            }
        };
        match *self {
            Self::Crop {
                x,
                y,
                width,
                height,
            } => {
                if width == 0
                    || height == 0
                    || u64::from(x) + u64::from(width) > u64::from(input.width)
                    || u64::from(y) + u64::from(height) > u64::from(input.height)
                {
                    return Err(ImgError::Edit(format!(
                        "the crop {width}×{height} at ({x}, {y}) is not inside the {}×{} image",
                        input.width, input.height
                    )));
                }
                Dims::new(width, height, input.channels)
            }
            Self::Resize { width, height } => Dims::new(width, height, input.channels),
            Self::Contrast | Self::Brightness => Ok(input),
            Self::WhiteBalance => need(3, "an RGB image").map(|_| input),
            Self::Grayscale => need(3, "an RGB image").and(Dims::new(input.width, input.height, 1)),
            Self::RgbToYcbcr => need(3, "an RGB image").map(|_| input),
            Self::YcbcrToRgb => need(3, "a YCbCr image").map(|_| input),
            Self::Convolve { divisor, .. } => {
                if !(1..=256).contains(&divisor) {
                    return Err(ImgError::Edit(format!(
                        "the divisor {divisor} must be between 1 and 256"
                    )));
                }
                if input.width < 3 || input.height < 3 {
                    return Err(ImgError::Edit(format!(
                        "a 3×3 convolution needs an image of at least 3×3; this one is {input}"
                    )));
                }
                Dims::new(input.width - 2, input.height - 2, input.channels)
            }
        }
    }

    /// The plan of this edit on `input`: its rows, checked to stay in range.
    pub fn plan(&self, input: Dims) -> Result<Plan, ImgError> {
        let output = self.output(input)?;
        let (xs, ys) = match self {
            Self::Resize { .. } => (
                bilinear_axis(input.width, output.width),
                bilinear_axis(input.height, output.height),
            ),
            _ => (vec![], vec![]),
        };
        let plan = Plan {
            edit: self.clone(),
            input,
            output,
            xs,
            ys,
            window: None,
        };
        plan.check_ranges()?;
        Ok(plan)
    }

    /// The reference: the edit applied to `img` (formulas of the module docs, written out).
    pub fn apply(&self, img: &Image, params: &[u64]) -> Result<Image, ImgError> {
        self.check_params(params)?;
        let od = self.output(img.dims)?;
        let mut out = Vec::with_capacity(od.len());
        let ch = od.channels;
        for y in 0..od.height {
            for x in 0..od.width {
                for c in 0..ch {
                    out.push(self.reference_byte(img, params, &od, x, y, c));
                }
            }
        }
        Image::new(od, out)
    }

    fn reference_byte(&self, img: &Image, params: &[u64], od: &Dims, x: u32, y: u32, c: u8) -> u8 {
        let p = |x: u32, y: u32, c: u8| i64::from(img.at(x, y, c));
        let shr16 = |v: i64| v >> 16;
        match *self {
            Self::Crop { x: x0, y: y0, .. } => img.at(x0 + x, y0 + y, c),
            Self::Resize { .. } => {
                let (x0, x1, fx) = bilinear_axis(img.dims.width, od.width)[x as usize];
                let (y0, y1, fy) = bilinear_axis(img.dims.height, od.height)[y as usize];
                let (fx, fy) = (i64::from(fx), i64::from(fy));
                let s = (256 - fx) * (256 - fy) * p(x0, y0, c)
                    + fx * (256 - fy) * p(x1, y0, c)
                    + (256 - fx) * fy * p(x0, y1, c)
                    + fx * fy * p(x1, y1, c);
                shr16(s + (1 << 15)) as u8
            }
            Self::Contrast => {
                let a = params[0] as i64;
                clamp(((a * (p(x, y, c) - 128) + 128) >> 8) + 128)
            }
            Self::Brightness => clamp(p(x, y, c) + params[0] as i64 - 255),
            Self::WhiteBalance => clamp((params[c as usize] as i64 * p(x, y, c) + 128) >> 8),
            Self::Grayscale => {
                let (r, g, b) = (p(x, y, 0), p(x, y, 1), p(x, y, 2));
                shr16(19595 * r + 38470 * g + 7471 * b + 32768) as u8
            }
            Self::RgbToYcbcr => {
                let (r, g, b) = (p(x, y, 0), p(x, y, 1), p(x, y, 2));
                let v = match c {
                    0 => shr16(19595 * r + 38470 * g + 7471 * b + 32768),
                    1 => shr16(-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767),
                    _ => shr16(32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767),
                };
                v as u8
            }
            Self::YcbcrToRgb => {
                let (yy, cb, cr) = (p(x, y, 0), p(x, y, 1) - 128, p(x, y, 2) - 128);
                clamp(match c {
                    0 => yy + shr16(91881 * cr + 32768),
                    1 => yy + shr16(-22554 * cb - 46802 * cr + 32768),
                    _ => yy + shr16(116130 * cb + 32768),
                })
            }
            Self::Convolve { kernel, divisor } => {
                let mut s = 0i64;
                for v in 0..3 {
                    for u in 0..3 {
                        s += i64::from(kernel[3 * v + u]) * p(x + u as u32, y + v as u32, c);
                    }
                }
                let d = i64::from(divisor);
                clamp((s + d / 2).div_euclid(d))
            }
        }
    }
}

/// The least range holding every one of `ranges` (not empty).
pub fn span(ranges: &[Range<usize>]) -> Range<usize> {
    let start = ranges.iter().map(|r| r.start).min().expect("ranges");
    let end = ranges.iter().map(|r| r.end).max().expect("ranges");
    start..end
}

impl Plan {
    /// Whether every output byte is a copy of an input byte.
    pub fn is_copy(&self) -> bool {
        matches!(self.edit, Edit::Crop { .. })
    }

    /// The affine row of a pointwise edit's table entry `f_c(t)`: the row of channel `c` of
    /// the first pixel, reading its byte from index `t`.
    pub fn table_row(&self, c: usize, t: usize) -> Row {
        let mut r = self.row(c);
        r.taps[0].0 = t as u32;
        r
    }

    /// Output bytes (rows of a non-copy plan).
    pub fn len(&self) -> usize {
        self.output.len()
    }

    /// Whether the output is empty (never: sizes are at least 1×1).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The input byte that output byte `i` copies (crop).
    pub fn source(&self, i: usize) -> usize {
        let Edit::Crop { x: x0, y: y0, .. } = self.edit else {
            panic!("source() of an affine plan");
        };
        let (x, y, c) = self.coords(i);
        self.in_index(x0 + x, y0 + y, c)
    }

    /// The whole edit's input and output sizes and where this plan's bytes start in them.
    fn full(&self) -> (Dims, Dims, usize, usize) {
        match &self.window {
            Some(w) => (w.input, w.output, w.in_start, w.out_start),
            None => (self.input, self.output, 0, 0),
        }
    }

    /// Position of output byte `i` in the whole output.
    fn coords(&self, i: usize) -> (u32, u32, u8) {
        let (_, out, _, start) = self.full();
        let i = start + i;
        let ch = out.channels as usize;
        let px = i / ch;
        let w = out.width as usize;
        ((px % w) as u32, (px / w) as u32, (i % ch) as u8)
    }

    /// This plan's index of the whole input's byte `(x, y, c)`.
    fn in_index(&self, x: u32, y: u32, c: u8) -> usize {
        let (input, _, start, _) = self.full();
        input.index(x, y, c) - start
    }

    /// The least and the greatest input byte output byte `i` reads.
    fn reads(&self, i: usize) -> (usize, usize) {
        if self.is_copy() {
            let s = self.source(i);
            return (s, s);
        }
        let r = self.row(i);
        let t = r.taps().iter().map(|&(t, _)| t as usize);
        (t.clone().min().unwrap_or(0), t.max().unwrap_or(0))
    }

    /// For each output band of a whole (not windowed) plan, the input bands its bytes read.
    pub fn band_reads(&self) -> Vec<Range<usize>> {
        self.band_reads_in(0..self.output.bands())
    }

    /// [`Plan::band_reads`] of output bands `bands` alone.
    fn band_reads_in(&self, bands: Range<usize>) -> Vec<Range<usize>> {
        assert!(self.window.is_none(), "band_reads of a whole plan");
        bands
            .map(|j| {
                let (lo, hi) = self
                    .output
                    .band(j)
                    .map(|i| self.reads(i))
                    .fold((usize::MAX, 0), |(a, b), (l, h)| (a.min(l), b.max(h)));
                self.input.band_of(lo)..self.input.band_of(hi) + 1
            })
            .collect()
    }

    /// The plan of output bands `out_bands` alone (one band proof of a large image): its
    /// input is the strip of input bands those bytes read — neighbour bands included where a
    /// resize or convolution reaches over a seam — and its byte indices are the strips'.
    pub fn window(&self, out_bands: Range<usize>) -> Result<Plan, ImgError> {
        assert!(self.window.is_none(), "a window of a window");
        if out_bands.is_empty() || out_bands.end > self.output.bands() {
            return Err(ImgError::Size(format!(
                "output bands {}..{} of a {}-band image",
                out_bands.start,
                out_bands.end,
                self.output.bands()
            )));
        }
        let in_bands = span(&self.band_reads_in(out_bands.clone()));
        Ok(Plan {
            edit: self.edit.clone(),
            input: self.input.strip(in_bands.clone()),
            output: self.output.strip(out_bands.clone()),
            xs: self.xs.clone(),
            ys: self.ys.clone(),
            window: Some(Window {
                input: self.input,
                output: self.output,
                in_start: self.input.bands_range(in_bands).start,
                out_start: self.output.bands_range(out_bands).start,
            }),
        })
    }

    /// The input bands (of the whole image) a windowed plan reads, and the output bands it
    /// writes.
    pub fn bands(&self) -> (Range<usize>, Range<usize>) {
        let (input, output, in_start, out_start) = self.full();
        let bands_of = |d: &Dims, strip: &Dims, start: usize| {
            let k = d.band_of(start);
            k..k + strip.bands()
        };
        (
            bands_of(&input, &self.input, in_start),
            bands_of(&output, &self.output, out_start),
        )
    }

    /// A convolution's taps as a window lane reads them: each nonzero kernel entry's row `v`
    /// and the rotation `u − 2` of its column, in the rows' tap order (`None`: not a
    /// convolution).
    pub fn window_taps(&self) -> Option<Vec<(usize, i32)>> {
        let Edit::Convolve { kernel, .. } = self.edit else {
            return None;
        };
        let taps = (0..3)
            .flat_map(|v| (0..3).map(move |u| (v, u)))
            .filter(|&(v, u)| kernel[3 * v + u] != 0)
            .map(|(v, u)| (v, u as i32 - 2))
            .collect();
        Some(taps)
    }

    /// A convolution's sequences: one per output row and channel, the outputs `(x, y, c)`
    /// for `x` from 0, at bytes `first + x·C`. Returns each sequence's first output byte.
    pub fn sequences(&self) -> Vec<usize> {
        let ch = usize::from(self.output.channels);
        let row = self.output.width as usize * ch;
        (0..self.output.height as usize)
            .flat_map(|y| (0..ch).map(move |c| y * row + c))
            .collect()
    }

    /// The input bytes of the sequence starting at output byte `first` ([`Self::sequences`]),
    /// column by column: `(j, y + v, c)` for kernel rows `v = 0, 1, 2`, `j` over the input's
    /// width (output `x` reads columns `x, x + 1, x + 2`).
    pub fn window_columns(&self, first: usize) -> Vec<[usize; 3]> {
        let (_, y, c) = self.coords(first);
        let width = self.output.width + 2;
        (0..width)
            .map(|j| std::array::from_fn(|v| self.in_index(j, y + v as u32, c)))
            .collect()
    }

    /// Most taps of any row.
    pub fn taps(&self) -> usize {
        match self.edit {
            Edit::Crop { .. } => 0,
            Edit::Contrast | Edit::Brightness | Edit::WhiteBalance => 1,
            Edit::Grayscale | Edit::RgbToYcbcr | Edit::YcbcrToRgb => 3,
            Edit::Resize { .. } => 4,
            Edit::Convolve { kernel, .. } => kernel.iter().filter(|&&k| k != 0).count(),
        }
    }

    /// The affine row of output byte `i`.
    pub fn row(&self, i: usize) -> Row {
        let (x, y, c) = self.coords(i);
        let ind = |x: u32, y: u32, c: u8| self.in_index(x, y, c);
        match self.edit {
            Edit::Crop { .. } => panic!("row() of a copy plan"),
            Edit::Resize { .. } => {
                let (x0, x1, fx) = self.xs[x as usize];
                let (y0, y1, fy) = self.ys[y as usize];
                let (fx, fy) = (i64::from(fx), i64::from(fy));
                let mut r = Row::new(D16);
                r.e += 1 << 15;
                for (px, py, w) in [
                    (x0, y0, (256 - fx) * (256 - fy)),
                    (x1, y0, fx * (256 - fy)),
                    (x0, y1, (256 - fx) * fy),
                    (x1, y1, fx * fy),
                ] {
                    if w != 0 {
                        r = r.tap(ind(px, py, c), w);
                    }
                }
                r
            }
            Edit::Contrast => {
                let mut r = Row::new(256).tap(ind(x, y, c), 0);
                r.e += 128 + (128 << 8);
                r.param = Some(ParamUse {
                    index: 0,
                    m: 1,
                    f: -128,
                });
                r
            }
            Edit::Brightness => {
                let mut r = Row::new(1).tap(ind(x, y, c), 1);
                r.e -= 255;
                r.param = Some(ParamUse {
                    index: 0,
                    m: 0,
                    f: 1,
                });
                r
            }
            Edit::WhiteBalance => {
                let mut r = Row::new(256).tap(ind(x, y, c), 0);
                r.e += 128;
                r.param = Some(ParamUse {
                    index: c as usize,
                    m: 1,
                    f: 0,
                });
                r
            }
            Edit::Grayscale | Edit::RgbToYcbcr | Edit::YcbcrToRgb => {
                let (coef, e): ([i64; 3], i64) = match (&self.edit, c) {
                    (Edit::Grayscale, _) | (Edit::RgbToYcbcr, 0) => ([19595, 38470, 7471], 32768),
                    (Edit::RgbToYcbcr, 1) => ([-11059, -21709, 32768], (128 << 16) + 32767),
                    (Edit::RgbToYcbcr, _) => ([32768, -27439, -5329], (128 << 16) + 32767),
                    // 2^16·Y + k·(C − 128) + 2^15: Y + ⌊(k·(C − 128) + 2^15)/2^16⌋ in one floor.
                    (_, 0) => ([1 << 16, 0, 91881], 32768 - 91881 * 128),
                    (_, 1) => ([1 << 16, -22554, -46802], 32768 + (22554 + 46802) * 128),
                    _ => ([1 << 16, 116130, 0], 32768 - 116130 * 128),
                };
                let mut r = Row::new(D16);
                r.e += e;
                for (k, &co) in coef.iter().enumerate() {
                    if co != 0 {
                        r = r.tap(ind(x, y, k as u8), co);
                    }
                }
                r
            }
            Edit::Convolve { kernel, divisor } => {
                let mut r = Row::new(divisor);
                r.e += i64::from(divisor / 2);
                for v in 0..3u32 {
                    for u in 0..3u32 {
                        let k = i64::from(kernel[(3 * v + u) as usize]);
                        if k != 0 {
                            r = r.tap(ind(x + u, y + v, c), k);
                        }
                    }
                }
                r
            }
        }
    }

    /// How many leading rows stand for all: away from resizes a pixel's rows repeat at every
    /// pixel (they differ only by position, and by channel), so the first pixel's rows do; a
    /// resize's weights vary with position, so every row does.
    fn representative_rows(&self) -> usize {
        if matches!(self.edit, Edit::Resize { .. }) {
            self.len()
        } else {
            self.output.channels as usize
        }
    }

    /// The distinct patterns of the rows, first occurrence first; `None` past `max`.
    pub fn patterns(&self, max: usize) -> Option<Vec<Pattern>> {
        if self.is_copy() {
            return Some(vec![]);
        }
        let n = self.representative_rows();
        let mut seen: Vec<Pattern> = vec![];
        for i in 0..n {
            let p = self.row(i).pattern();
            if !seen.contains(&p) {
                if seen.len() == max {
                    return None;
                }
                seen.push(p);
            }
        }
        Some(seen)
    }

    /// Whether some row's `q − OFF` can leave `[0, 255]` (so the output needs the clamp).
    pub fn needs_clamp(&self, param_max: u64) -> bool {
        if self.is_copy() {
            return false;
        }
        let n = self.representative_rows();
        (0..n).any(|i| {
            let r = self.row(i);
            let (lo, hi) = r.bounds(param_max);
            let d = i64::from(r.d);
            lo.div_euclid(d) < OFF || hi.div_euclid(d) > OFF + 255
        })
    }

    /// Every row's `v` stays in `[0, CLAMP_DOMAIN·d)` for every input and parameter (so `q`
    /// and the remainder are unique); else the edit is refused.
    pub fn check_ranges(&self) -> Result<(), ImgError> {
        if self.is_copy() {
            return Ok(());
        }
        let n = self.representative_rows();
        let pmax = self.edit.param_max();
        for i in 0..n {
            let r = self.row(i);
            let (lo, hi) = r.bounds(pmax);
            let d = i64::from(r.d);
            if lo < 0 || hi >= CLAMP_DOMAIN * d {
                return Err(ImgError::Edit(format!(
                    "{} reaches values from {} to {} before clamping, beyond the supported [{}, {}]: use a kernel with smaller weights or a larger divisor",
                    self.edit.name(),
                    (lo - OFF * d).div_euclid(d),
                    (hi - OFF * d).div_euclid(d),
                    -OFF,
                    CLAMP_DOMAIN - OFF - 1
                )));
            }
        }
        Ok(())
    }

    /// The output computed through the rows (what the circuit proves).
    pub fn eval(&self, input: &Image, params: &[u64]) -> Image {
        let data = (0..self.len())
            .map(|i| {
                if self.is_copy() {
                    input.data[self.source(i)]
                } else {
                    self.row(i).eval(&input.data, params).out
                }
            })
            .collect();
        Image {
            dims: self.output,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(d: Dims, seed: u64) -> Image {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let data = (0..d.len()).map(|_| rng.gen()).collect();
        Image::new(d, data).unwrap()
    }

    fn all_edits() -> Vec<(Edit, &'static str)> {
        vec![
            (Edit::parse("crop:1,2,5,3").unwrap(), ""),
            (Edit::parse("resize:5x3").unwrap(), ""),
            (Edit::parse("resize:17x11").unwrap(), ""),
            (Edit::Contrast, "alpha=1.7"),
            (Edit::Contrast, "alpha=0.3"),
            (Edit::Brightness, "beta=-40"),
            (Edit::Brightness, "beta=200"),
            (Edit::WhiteBalance, "gains=1.2,0.9,3.5"),
            (Edit::Grayscale, ""),
            (Edit::RgbToYcbcr, ""),
            (Edit::YcbcrToRgb, ""),
            (Edit::parse("blur").unwrap(), ""),
            (Edit::parse("sharpen").unwrap(), ""),
            (Edit::parse("convolve:1,1,1,1,1,1,1,1,1/9").unwrap(), ""),
        ]
    }

    #[test]
    fn rows_equal_the_reference_on_every_edit() {
        let d = Dims::new(9, 7, 3).unwrap();
        for (seed, (edit, params)) in all_edits().into_iter().enumerate() {
            let img = random(d, seed as u64);
            let params = edit.parse_params(params).unwrap();
            let plan = edit.plan(d).unwrap();
            let reference = edit.apply(&img, &params).unwrap();
            assert_eq!(plan.eval(&img, &params), reference, "{}", edit.name());
            assert!(plan.taps() <= MAX_TAPS);
            if !plan.is_copy() {
                for i in 0..plan.len() {
                    let row = plan.row(i);
                    assert!(row.n <= plan.taps());
                    let v = row.eval(&img.data, &params);
                    assert!(v.v >= 0 && v.q < CLAMP_DOMAIN && v.r < i64::from(row.d));
                }
            }
        }
    }

    #[test]
    fn extreme_pixels_stay_in_range() {
        let d = Dims::new(4, 4, 3).unwrap();
        for (edit, params) in all_edits() {
            let Ok(plan) = edit.plan(d) else { continue };
            let params = edit.parse_params(params).unwrap();
            for fill in [0u8, 255] {
                let img = Image::new(d, vec![fill; d.len()]).unwrap();
                assert_eq!(plan.eval(&img, &params), edit.apply(&img, &params).unwrap());
            }
        }
    }

    #[test]
    fn grayscale_matches_pillow_and_colour_round_trips_closely() {
        // Pillow's convert("L") of (255, 128, 0), (10, 200, 30) and (0, 0, 255): 151, 124, 29.
        let d = Dims::new(3, 1, 3).unwrap();
        let img = Image::new(d, vec![255, 128, 0, 10, 200, 30, 0, 0, 255]).unwrap();
        assert_eq!(
            Edit::Grayscale.apply(&img, &[]).unwrap().data,
            vec![151, 124, 29]
        );
        let img = random(Dims::new(16, 16, 3).unwrap(), 5);
        let ycc = Edit::RgbToYcbcr.apply(&img, &[]).unwrap();
        let back = Edit::YcbcrToRgb.apply(&ycc, &[]).unwrap();
        let worst = img
            .data
            .iter()
            .zip(&back.data)
            .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
            .max()
            .unwrap();
        assert!(worst <= 3, "RGB → YCbCr → RGB moved a byte by {worst}");
    }

    #[test]
    fn bilinear_resize_is_close_to_float_bilinear() {
        let img = random(Dims::new(20, 12, 1).unwrap(), 9);
        let out = Edit::Resize {
            width: 13,
            height: 7,
        }
        .apply(&img, &[])
        .unwrap();
        let f = |o: u32, from: u32, to: u32| {
            ((f64::from(o) + 0.5) * f64::from(from) / f64::from(to) - 0.5).max(0.0)
        };
        for y in 0..7 {
            for x in 0..13 {
                let (sx, sy) = (f(x, 20, 13), f(y, 12, 7));
                let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
                let (x1, y1) = ((x0 + 1).min(19), (y0 + 1).min(11));
                let (fx, fy) = (sx - sx.floor(), sy - sy.floor());
                let p = |x, y| f64::from(img.at(x, y, 0));
                let v = (1.0 - fx) * (1.0 - fy) * p(x0, y0)
                    + fx * (1.0 - fy) * p(x1, y0)
                    + (1.0 - fx) * fy * p(x0, y1)
                    + fx * fy * p(x1, y1);
                let got = f64::from(out.at(x, y, 0));
                assert!((got - v).abs() <= 1.5, "({x}, {y}): {got} vs {v}");
            }
        }
        // Halving averages pixel pairs exactly.
        let img = Image::new(
            Dims::new(4, 2, 1).unwrap(),
            vec![10, 20, 30, 41, 50, 60, 70, 80],
        )
        .unwrap();
        let half = Edit::Resize {
            width: 2,
            height: 1,
        }
        .apply(&img, &[])
        .unwrap();
        assert_eq!(half.data, vec![35, 55]);
    }

    #[test]
    fn bad_edits_and_parameters_are_explained() {
        let d = Dims::new(8, 8, 3).unwrap();
        let e = Edit::parse("crop:4,4,5,5").unwrap().plan(d).unwrap_err();
        assert!(e.to_string().contains("not inside"), "{e}");
        let e = Edit::Contrast.parse_params("alpha=7").unwrap_err();
        assert!(e.to_string().contains("between 0 and 4"), "{e}");
        let e = Edit::Brightness.parse_params("alpha=1").unwrap_err();
        assert!(e.to_string().contains("beta="), "{e}");
        let e = Edit::parse("convolve:9,9,9,9,9,9,9,9,9/1")
            .unwrap()
            .plan(d)
            .unwrap_err();
        assert!(e.to_string().contains("larger divisor"), "{e}");
        let e = Edit::Grayscale
            .plan(Dims::new(8, 8, 1).unwrap())
            .unwrap_err();
        assert!(e.to_string().contains("RGB"), "{e}");
        assert!(Edit::parse("swirl")
            .unwrap_err()
            .to_string()
            .contains("known:"));
        for (edit, _) in all_edits() {
            assert_eq!(Edit::parse(&edit.name()).unwrap(), edit);
        }
    }
}
