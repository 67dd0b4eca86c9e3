//! Fixed-point quantization: the integer semantics every proven model follows.
//!
//! An activation `x` is the integer `round(x · 2^s)` (scale `s` bits). A product of two
//! scale-`s` numbers has scale `2s` and is brought back by a *rescale*:
//! `q = floor((v + 2^(s-1)) / 2^s)` (round half up), which the circuit proves with a
//! quotient and a range-checked remainder. Every value that goes through a lookup must
//! lie in the lookup domain `[-2^(B-1), 2^(B-1))` for `B` = `lookup_bits`.

use serde::{Deserialize, Serialize};

/// The fixed-point format of a compiled model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantParams {
    /// Fractional bits of every activation and weight.
    pub scale_bits: u32,
    /// Width of the lookup domain: lookup inputs lie in `[-2^(B-1), 2^(B-1))`.
    pub lookup_bits: u32,
}

impl QuantParams {
    /// `2^s` as a float: the value of 1.0 in fixed point.
    pub fn scale(&self) -> f64 {
        (1u64 << self.scale_bits) as f64
    }

    /// `round(x · 2^s)` as an integer.
    pub fn quantize(&self, x: f32) -> i64 {
        (x as f64 * self.scale()).round() as i64
    }

    /// `round(x · 2^(2s))`: biases are added to products, which carry scale `2s`.
    pub fn quantize_double(&self, x: f32) -> i64 {
        (x as f64 * self.scale() * self.scale()).round() as i64
    }

    /// `q / 2^s`: the real number a scale-`s` integer stands for.
    pub fn dequantize(&self, q: i64) -> f64 {
        q as f64 / self.scale()
    }

    /// Smallest value in the lookup domain.
    pub fn lookup_min(&self) -> i64 {
        -(1i64 << (self.lookup_bits - 1))
    }

    /// One past the largest value in the lookup domain.
    pub fn lookup_end(&self) -> i64 {
        1i64 << (self.lookup_bits - 1)
    }

    /// Whether `v` lies in the lookup domain `[-2^(B-1), 2^(B-1))`.
    pub fn in_lookup_domain(&self, v: i128) -> bool {
        v >= self.lookup_min() as i128 && v < self.lookup_end() as i128
    }
}

/// Rounding rescale by `2^s`: `(quotient, remainder)` with
/// `v + 2^(s-1) = q · 2^s + r`, `0 <= r < 2^s`.
pub fn rescale(v: i128, scale_bits: u32) -> (i128, i128) {
    if scale_bits == 0 {
        return (v, 0);
    }
    let d = 1i128 << scale_bits;
    let shifted = v + (d >> 1);
    (shifted.div_euclid(d), shifted.rem_euclid(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale_rounds_half_up_for_both_signs() {
        assert_eq!(rescale(0, 7), (0, 64));
        assert_eq!(rescale(64, 7), (1, 0)); // 0.5 -> 1
        assert_eq!(rescale(63, 7), (0, 127));
        assert_eq!(rescale(-64, 7), (0, 0)); // -0.5 -> 0
        assert_eq!(rescale(-65, 7), (-1, 127));
        for v in -5000i128..5000 {
            let (q, r) = rescale(v, 5);
            assert!((0..32).contains(&r));
            assert_eq!(v + 16, q * 32 + r);
        }
    }

    #[test]
    fn quantize_roundtrip() {
        let qp = QuantParams {
            scale_bits: 8,
            lookup_bits: 12,
        };
        assert_eq!(qp.quantize(0.5), 128);
        assert_eq!(qp.quantize(-0.25), -64);
        assert_eq!(qp.quantize_double(1.0), 65536);
        assert!((qp.dequantize(qp.quantize(0.3)) - 0.3).abs() < 1.0 / 256.0);
        assert!(qp.in_lookup_domain(-2048) && !qp.in_lookup_domain(2048));
    }
}
