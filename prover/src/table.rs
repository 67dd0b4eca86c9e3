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
    Relu,
    /// `f(x) = x` for `x >= 0`, else `round(alpha · x)`.
    LeakyRelu {
        alpha: f32,
    },
    Sigmoid,
    Tanh,
    /// `f(x) = round(2^s · exp(x / 2^s))` for `x <= 0` (softmax after max-subtraction),
    /// saturating at `2^s` for `x > 0` (unreachable there).
    ExpNeg,
}

impl Func {
    /// The integer function at scale `s`.
    pub fn apply(&self, x: i64, qp: &QuantParams) -> i64 {
        let s = qp.scale();
        let real = |v: f64| (v * s).round() as i64;
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
        }
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
        }
    }

    pub fn name(&self) -> String {
        match self {
            Func::LeakyRelu { alpha } => format!("LeakyRelu({alpha})"),
            other => format!("{other:?}"),
        }
    }
}

/// The set of functions one circuit's table holds; a function's tag is its index.
/// `Identity` is always tag 0, so the all-zero row `(0, 0, 0)` that disabled lookup rows
/// produce is always in the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FuncSet {
    pub funcs: Vec<Func>,
}

impl Default for FuncSet {
    fn default() -> Self {
        Self {
            funcs: vec![Func::Identity],
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

    /// Rows the tagged table needs.
    pub fn rows(&self, qp: &QuantParams) -> usize {
        self.funcs.len() << qp.lookup_bits
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
        ] {
            for x in (qp.lookup_min()..qp.lookup_end()).step_by(7) {
                let want = f.apply_f32(x as f32 / 256.0);
                let got = f.apply(x, &qp) as f32 / 256.0;
                assert!((want - got).abs() <= 0.5 / 256.0 + 1e-3, "{f:?}({x})");
            }
        }
    }

    #[test]
    fn identity_is_tag_zero() {
        let mut set = FuncSet::default();
        assert_eq!(set.tag(Func::Relu), 1);
        assert_eq!(set.tag(Func::Identity), 0);
        assert_eq!(set.tag(Func::Relu), 1);
    }
}
