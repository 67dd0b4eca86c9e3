//! Non-linear functions proven by lookup: each maps the lookup domain
//! `[-2^(B-1), 2^(B-1))` of scale-`s` integers to scale-`s` integers.
//!
//! The circuit's tagged table holds `(tag, x, f(x))` for every function a model uses;
//! the integer definitions below are the single source of truth for both the table and
//! the witness, so they can never disagree.

use crate::quant::QuantParams;
use serde::{Deserialize, Serialize};

/// A function available as a lookup table.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Func {
    /// `f(x) = x`: a pure range check (and, after a rescale, a plain rounding).
    Identity,
    /// `f(x) = max(x, 0)`.
    Relu,
    /// `f(x) = x` for `x >= 0`, else `round(alpha · x)`.
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `f(x) = round(2^s · exp(x / 2^s))` for `x <= 0` (softmax after max-subtraction),
    /// saturating at `2^s` for `x > 0` (unreachable there).
    ExpNeg,
    /// `exp(x)`, saturating at the top of the lookup domain.
    Exp,
    /// `sqrt(max(x, 0))`.
    Sqrt,
    /// `1 / x`, saturating at the ends of the lookup domain (and at `x = 0`).
    Reciprocal,
    /// `1 / sqrt(max(x, 0) + eps)` (layer normalization), saturating.
    Rsqrt {
        /// Added under the square root.
        eps: f32,
    },
    /// `erf(x)`.
    Erf,
    /// An element-wise function with its float definition in [`trustml_onnx::Unary`]
    /// (saturating at the ends of the lookup domain, like every table here).
    Unary(trustml_onnx::Unary),
    /// `x · Φ(x)`, exact (erf) or with the tanh approximation.
    Gelu {
        /// Use the tanh approximation instead of the exact erf form.
        tanh_approx: bool,
    },
    /// `f(x) = x`, defined only for `x >= 0`: the table has no row for a negative `x`,
    /// so a lookup proves non-negativity.
    NonNeg,
    /// `f(x) = 1` for `x > 0`, else `0` (integers, unscaled): comparisons, e.g. an audit's
    /// in-circuit argmax.
    Step,
    /// Column `col` of embedding table `table` ([`FuncSet::tables`]): defined only at
    /// `x = id·2^s` for the ids `0..V`, so a lookup also proves `x` a token id.
    Embed {
        /// Index into [`FuncSet::tables`].
        table: u16,
        /// The column (position in the row).
        col: u32,
    },
}

/// `erf`, shared with the float evaluator (so table and reference agree).
pub use trustml_onnx::eval::nn::erf;

fn gelu(x: f64, tanh_approx: bool) -> f64 {
    if tanh_approx {
        0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
    } else {
        0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))
    }
}

impl Func {
    /// The integer function at scale `s`.
    pub fn apply(&self, x: i64, qp: &QuantParams) -> i64 {
        let s = qp.scale();
        // Saturate into the lookup domain: outputs feed later lookups.
        let real = |v: f64| {
            let r = (v * s).round();
            r.clamp(qp.lookup_min() as f64, (qp.lookup_end() - 1) as f64) as i64
        };
        let xf = x as f64 / s;
        match *self {
            Func::Identity => x,
            Func::Relu => x.max(0),
            Func::LeakyRelu { alpha } => {
                if x >= 0 {
                    x
                } else {
                    (x as f64 * alpha as f64).round() as i64
                }
            }
            Func::Sigmoid => real(1.0 / (1.0 + (-xf).exp())),
            Func::Tanh => real(xf.tanh()),
            Func::ExpNeg => real(xf.min(0.0).exp()),
            Func::Exp => real(xf.exp()),
            Func::Sqrt => real(xf.max(0.0).sqrt()),
            Func::Reciprocal => real(if x == 0 { f64::INFINITY } else { 1.0 / xf }),
            Func::Rsqrt { eps } => real(1.0 / (xf.max(0.0) + eps as f64).sqrt()),
            Func::Erf => real(erf(xf)),
            Func::Unary(u) => real(u.eval(xf)),
            Func::Gelu { tanh_approx } => real(gelu(xf, tanh_approx)),
            Func::NonNeg => x,
            Func::Step => i64::from(x > 0),
            // Table data lives in the FuncSet: see `FuncSet::apply`.
            Func::Embed { .. } => 0,
        }
    }

    /// Whether the table holds a row for `x` (every function but `NonNeg` is total).
    pub fn defined_at(&self, x: i64) -> bool {
        !matches!(self, Func::NonNeg) || x >= 0
    }

    /// The float function this table approximates (for error reports).
    pub fn apply_f32(&self, x: f32) -> f32 {
        match *self {
            Func::Identity => x,
            Func::Relu => x.max(0.0),
            Func::LeakyRelu { alpha } => {
                if x >= 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Func::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Func::Tanh => x.tanh(),
            Func::ExpNeg => x.min(0.0).exp(),
            Func::Exp => x.exp(),
            Func::Sqrt => x.max(0.0).sqrt(),
            Func::Reciprocal => 1.0 / x,
            Func::Rsqrt { eps } => 1.0 / (x.max(0.0) + eps).sqrt(),
            Func::Erf => erf(x as f64) as f32,
            Func::Unary(u) => u.eval(x as f64) as f32,
            Func::Gelu { tanh_approx } => gelu(x as f64, tanh_approx) as f32,
            Func::NonNeg | Func::Embed { .. } => x,
            Func::Step => f32::from(u8::from(x > 0.0)),
        }
    }

    /// A short display name with parameters, e.g. `LeakyRelu(0.1)` or `Gelu(tanh)`.
    pub fn name(&self) -> String {
        match self {
            Func::LeakyRelu { alpha } => format!("LeakyRelu({alpha})"),
            Func::Rsqrt { eps } => format!("Rsqrt(eps={eps})"),
            Func::Gelu { tanh_approx: true } => "Gelu(tanh)".into(),
            Func::Unary(u) => u.name(),
            Func::Embed { table, col } => format!("Embedding{table}[{col}]"),
            other => format!("{other:?}"),
        }
    }
}

/// The set of functions one circuit's table holds; a function's tag is its index.
/// `Identity` is always tag 0, so the all-zero row `(0, 0, 0)` that disabled lookup rows
/// produce is always in the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FuncSet {
    /// The functions, indexed by tag; `funcs[0]` is `Identity`.
    pub funcs: Vec<Func>,
    /// Domain bits per function (by tag), set by calibration: each function's table spans
    /// only what its inputs reach. A function without an entry uses the global
    /// `lookup_bits`.
    #[serde(default)]
    pub bits: Vec<u32>,
    /// Embedding tables read by [`Func::Embed`]: fixed (public) weights only.
    #[serde(default)]
    pub tables: Vec<EmbedTable>,
}

/// A `[V, D]` embedding table, quantized at scale `s`: row `id` holds `D` values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmbedTable {
    /// Rows (the vocabulary size `V`).
    pub vocab: usize,
    /// Values per row `D`.
    pub dim: usize,
    /// `V·D` values, row-major.
    pub values: Vec<i64>,
}

impl Default for FuncSet {
    fn default() -> Self {
        Self {
            funcs: vec![Func::Identity],
            bits: vec![],
            tables: vec![],
        }
    }
}

impl FuncSet {
    /// The tag of `f`, adding it if new.
    pub fn tag(&mut self, f: Func) -> usize {
        if let Some(i) = self.funcs.iter().position(|g| *g == f) {
            return i;
        }
        self.funcs.push(f);
        self.funcs.len() - 1
    }

    /// Domain bits of the function with tag `tag`.
    pub fn domain_bits(&self, tag: usize, qp: &QuantParams) -> u32 {
        self.bits
            .get(tag)
            .copied()
            .unwrap_or(qp.lookup_bits)
            .min(qp.lookup_bits)
    }

    /// The domain `[min, end)` of the function with tag `tag`.
    pub fn domain(&self, tag: usize, qp: &QuantParams) -> (i64, i64) {
        let b = self.domain_bits(tag, qp);
        (-(1i64 << (b - 1)), 1i64 << (b - 1))
    }

    /// Rows the tagged table needs.
    pub fn rows(&self, qp: &QuantParams) -> usize {
        (0..self.funcs.len())
            .map(|t| match self.funcs[t] {
                Func::Embed { table, .. } => self.tables[table as usize].vocab,
                _ => 1usize << self.domain_bits(t, qp),
            })
            .sum()
    }

    /// The table rows `(x, f(x))` of the function with tag `tag`, in order. Where a
    /// function is undefined the row repeats `(0, f(0))`.
    pub fn points(&self, tag: usize, qp: &QuantParams) -> Vec<(i64, i64)> {
        match self.funcs[tag] {
            Func::Embed { table, col } => {
                let t = &self.tables[table as usize];
                (0..t.vocab)
                    .map(|id| {
                        (
                            (id as i64) << qp.scale_bits,
                            t.values[id * t.dim + col as usize],
                        )
                    })
                    .collect()
            }
            f => {
                let (lo, hi) = self.domain(tag, qp);
                (lo..hi)
                    .map(|x| if f.defined_at(x) { x } else { 0 })
                    .map(|x| (x, f.apply(x, qp)))
                    .collect()
            }
        }
    }

    /// `f(x)` where the table has a row for `x`, else `None`.
    pub fn eval(&self, tag: usize, x: i64, qp: &QuantParams) -> Option<i64> {
        match self.funcs[tag] {
            Func::Embed { table, col } => {
                let t = &self.tables[table as usize];
                let id = x >> qp.scale_bits;
                (id << qp.scale_bits == x && (0..t.vocab as i64).contains(&id))
                    .then(|| t.values[id as usize * t.dim + col as usize])
            }
            f => {
                let (lo, hi) = self.domain(tag, qp);
                ((lo..hi).contains(&x) && f.defined_at(x)).then(|| f.apply(x, qp))
            }
        }
    }

    /// `f(x)` as a witness value, also where the table has no row (a witness that no proof
    /// accepts; tests forge such).
    pub fn apply(&self, tag: usize, x: i64, qp: &QuantParams) -> i64 {
        match self.funcs[tag] {
            Func::Embed { .. } => self.eval(tag, x, qp).unwrap_or(0),
            f => f.apply(x, qp),
        }
    }

    /// Adds an embedding table; returns its index.
    pub fn add_table(&mut self, t: EmbedTable) -> u16 {
        if let Some(i) = self.tables.iter().position(|u| *u == t) {
            return i as u16;
        }
        self.tables.push(t);
        (self.tables.len() - 1) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_match_their_float_versions() {
        let qp = QuantParams {
            scale_bits: 8,
            lookup_bits: 12,
        };
        for f in [
            Func::Relu,
            Func::LeakyRelu { alpha: 0.1 },
            Func::Sigmoid,
            Func::Tanh,
            Func::ExpNeg,
            Func::Sqrt,
            Func::Erf,
            Func::Gelu { tanh_approx: false },
            Func::Gelu { tanh_approx: true },
        ]
        .into_iter()
        .chain(trustml_onnx::Unary::ALL.map(Func::Unary))
        {
            for x in (qp.lookup_min()..qp.lookup_end()).step_by(7) {
                let want = f.apply_f32(x as f32 / 256.0);
                // Beyond the domain the table saturates (e.g. |−8| at the bottom end).
                let (lo, hi) = (qp.lookup_min() as f32, (qp.lookup_end() - 1) as f32);
                if !(lo / 256.0..=hi / 256.0).contains(&want) {
                    continue;
                }
                let got = f.apply(x, &qp) as f32 / 256.0;
                assert!((want - got).abs() <= 0.5 / 256.0 + 1e-3, "{f:?}({x})");
            }
        }
    }

    #[test]
    fn erf_is_accurate() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.5204998778),
            (1.0, 0.8427007929),
            (-2.0, -0.9953222650),
            (3.0, 0.9999779095),
        ] {
            assert!((erf(x) - want).abs() < 2e-7, "erf({x})");
        }
    }

    #[test]
    fn saturating_functions_stay_in_the_domain() {
        let qp = QuantParams {
            scale_bits: 6,
            lookup_bits: 10,
        };
        for f in [Func::Exp, Func::Reciprocal, Func::Rsqrt { eps: 1e-5 }] {
            for x in qp.lookup_min()..qp.lookup_end() {
                let y = f.apply(x, &qp);
                assert!(
                    y >= qp.lookup_min() && y < qp.lookup_end(),
                    "{f:?}({x}) = {y}"
                );
            }
        }
        assert_eq!(Func::Reciprocal.apply(128, &qp), 32); // 1 / 2.0 = 0.5
        assert_eq!(Func::Rsqrt { eps: 0.0 }.apply(256, &qp), 32); // 1 / sqrt(4) = 0.5
    }

    #[test]
    fn identity_is_tag_zero() {
        let mut set = FuncSet::default();
        assert_eq!(set.tag(Func::Relu), 1);
        assert_eq!(set.tag(Func::Identity), 0);
        assert_eq!(set.tag(Func::Relu), 1);
    }
}
