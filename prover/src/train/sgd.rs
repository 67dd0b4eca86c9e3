//! One SGD step of a two-layer MLP (`in → hidden → ReLU → classes`, softmax cross-entropy),
//! in fixed point with exact integer semantics, and the same step in floating point.
//!
//! # The fixed-point step (what a step proof checks)
//!
//! Scales: pixels `X` are `0..=16` (`x = X / 2^4`); weights and biases `W1, b1, W2, b2` are
//! integers at `2^12`; activations, logits and probabilities at `2^8`. `rs(v, n) = ⌊(v +
//! 2^(n−1)) / 2^n⌋` rounds half up (a floor, also for negative `v`). For a batch of
//! `B = 2^β` samples `(X_b, y_b)` and the learning rate `η = c / 2^8` (`c` public):
//!
//! | value | formula | scale |
//! |---|---|---|
//! | `z1_bi` | `rs(Σ_j W1_ij·X_bj + 2^4·b1_i, 8)` | 2^8 |
//! | `a1_bi` | `max(z1_bi, 0)` | 2^8 |
//! | `z2_bk` | `rs(Σ_i W2_ki·a1_bi + 2^8·b2_k, 12)` | 2^8 |
//! | `m_b` | `max_k z2_bk` | 2^8 |
//! | `e_bk` | `EXP[min(m_b − z2_bk, 2048)]`, `EXP[t] = round(256·e^(−t/256))` (`EXP[2048] = 0`) | 2^8 |
//! | `S_b` | `Σ_k e_bk` (≥ 256: the largest logit gives `EXP[0] = 256`) | 2^8 |
//! | `p_bk` | `⌊(256·e_bk + ⌊S_b/2⌋) / S_b⌋` | 2^8 |
//! | `g_bk` | `p_bk − 256·[k = y_b]` (∂loss/∂z2, per sample) | 2^8 |
//! | `GW2_ki` | `Σ_b g_bk·a1_bi` | 2^16 |
//! | `Gb2_k` | `Σ_b g_bk` | 2^8 |
//! | `d_bi` | `rs(Σ_k W2_ki·g_bk, 12)` if `z1_bi > 0`, else 0 | 2^8 |
//! | `GW1_ij` | `Σ_b d_bi·X_bj` | 2^12 |
//! | `Gb1_i` | `Σ_b d_bi` | 2^8 |
//! | `W2'` | `W2 − rs(c·GW2, 12 + β)` | 2^12 |
//! | `b2'` | `b2 − rs(c·Gb2, 4 + β)` | 2^12 |
//! | `W1'` | `W1 − rs(c·GW1, 8 + β)` | 2^12 |
//! | `b1'` | `b1 − rs(c·Gb1, 4 + β)` | 2^12 |
//!
//! The shifts fold `η = c/2^8`, the mean over the batch (`1/2^β`) and the change of scale
//! into one rounding per updated value. The ReLU derivative at 0 is 0. Step `t` reads
//! dataset positions `(t·B + i) mod N` ([`super::Digits::batch`]). [`FloatMlp`] takes
//! the same step in `f64` (`η = c/256` exactly, the mean over the batch, the textbook
//! softmax): `train::tests` shows both reach the same test accuracy on the digits.

use super::data::{CLASSES, PIXELS};
use super::TrainError;
use serde::{Deserialize, Serialize};

/// Fractional bits of weights and biases.
pub const WEIGHT_BITS: u32 = 12;
/// Fractional bits of activations, logits and probabilities.
pub const ACT_BITS: u32 = 8;
/// Fractional bits of pixels (`x = X / 16`).
pub const PIXEL_BITS: u32 = 4;
/// Fractional bits of the learning rate (`η = c / 2^8`).
pub const LR_BITS: u32 = 8;
/// `EXP`'s last index: `EXP[t] = 0` from here on (`256·e^(−8) < 0.5`).
pub const EXP_CAP: i64 = 2048;

/// `rs(v, n) = ⌊(v + 2^(n−1)) / 2^n⌋`.
pub fn rs(v: i64, n: u32) -> i64 {
    (v + (1 << (n - 1))).div_euclid(1 << n)
}

/// `EXP[t] = round(256·e^(−t/256))` for `0 ≤ t < EXP_CAP`, 0 at `EXP_CAP`: the table a step
/// proof looks `e` up in.
pub fn exp_table() -> &'static [i64] {
    static T: std::sync::OnceLock<Vec<i64>> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let mut t: Vec<i64> = (0..EXP_CAP)
            .map(|t| (256.0 * (-(t as f64) / 256.0).exp()).round() as i64)
            .collect();
        t.push(0);
        t
    })
}

/// The layer sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MlpDims {
    /// Inputs (64 pixels).
    pub input: usize,
    /// Hidden units.
    pub hidden: usize,
    /// Classes.
    pub classes: usize,
}

impl MlpDims {
    /// The digits MLP: 64 → 32 → 10.
    pub const DIGITS: Self = Self {
        input: PIXELS,
        hidden: 32,
        classes: CLASSES,
    };
}

/// What a step is given besides weights and data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hyper {
    /// `c` of `η = c / 2^8`.
    pub lr: i64,
    /// `β`: batches of `2^β` samples.
    pub log_batch: u32,
}

impl Hyper {
    /// `η` given as a decimal (`0.1` → `c = 26`) and a batch size, checked.
    pub fn new(lr: f64, batch: usize) -> Result<Self, TrainError> {
        if !batch.is_power_of_two() || batch > 1024 {
            return Err(TrainError::Setting(format!(
                "batch size {batch}: use a power of two up to 1024 (1, 8, 32, …): the mean over the batch is a shift"
            )));
        }
        let c = (lr * f64::from(1u32 << LR_BITS)).round();
        if !(1.0..=1024.0).contains(&c) {
            return Err(TrainError::Setting(format!(
                "learning rate {lr}: use a value between 1/256 and 4 (it is kept as c/256)"
            )));
        }
        Ok(Self {
            lr: c as i64,
            log_batch: batch.trailing_zeros(),
        })
    }

    /// Samples per batch.
    pub fn batch(&self) -> usize {
        1 << self.log_batch
    }

    /// `η`.
    pub fn eta(&self) -> f64 {
        self.lr as f64 / f64::from(1u32 << LR_BITS)
    }
}

/// Fixed-point weights: row-major `W1[hidden][input]`, `b1[hidden]`, `W2[classes][hidden]`,
/// `b2[classes]`, all at `2^12`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedMlp {
    /// Sizes.
    pub dims: MlpDims,
    /// `W1`.
    pub w1: Vec<i64>,
    /// `b1`.
    pub b1: Vec<i64>,
    /// `W2`.
    pub w2: Vec<i64>,
    /// `b2`.
    pub b2: Vec<i64>,
}

/// SplitMix64: the initial weights' generator (written out so that anyone can rebuild
/// `W_0` from its seed).
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Everything one fixed-point step computed (the witness of a step proof).
#[derive(Clone, Debug)]
pub struct StepTrace {
    /// `z1`, per sample.
    pub z1: Vec<Vec<i64>>,
    /// `z2`, per sample.
    pub z2: Vec<Vec<i64>>,
    /// `p`, per sample.
    pub p: Vec<Vec<i64>>,
    /// `d` (the hidden layer's gradient), per sample.
    pub d: Vec<Vec<i64>>,
    /// `GW1`, `Gb1`, `GW2`, `Gb2`.
    pub grads: [Vec<i64>; 4],
    /// The cross-entropy of the batch's fixed-point probabilities (for the reader).
    pub loss: f64,
}

impl FixedMlp {
    /// Initial weights from `seed`: `W1` uniform integers in `±2^12/8`, `W2` in
    /// `±round(2^12/√hidden)`, biases 0 (draws: SplitMix64 mod the range's size).
    pub fn init(dims: MlpDims, seed: u64) -> Self {
        let mut s = seed;
        let mut draw = |r: i64| (splitmix(&mut s) % (2 * r as u64 + 1)) as i64 - r;
        let r1 = (1i64 << WEIGHT_BITS) / 8;
        let r2 = ((1i64 << WEIGHT_BITS) as f64 / (dims.hidden as f64).sqrt()).round() as i64;
        let w1 = (0..dims.hidden * dims.input).map(|_| draw(r1)).collect();
        let w2 = (0..dims.classes * dims.hidden).map(|_| draw(r2)).collect();
        Self {
            dims,
            w1,
            b1: vec![0; dims.hidden],
            w2,
            b2: vec![0; dims.classes],
        }
    }

    /// `(z1, z2)` of one sample.
    pub fn forward(&self, x: &[i64]) -> (Vec<i64>, Vec<i64>) {
        let d = self.dims;
        let z1: Vec<i64> = (0..d.hidden)
            .map(|i| {
                let row = &self.w1[i * d.input..(i + 1) * d.input];
                let dot: i64 = row.iter().zip(x).map(|(w, x)| w * x).sum();
                rs(dot + (self.b1[i] << PIXEL_BITS), 8)
            })
            .collect();
        let z2 = (0..d.classes)
            .map(|k| {
                let row = &self.w2[k * d.hidden..(k + 1) * d.hidden];
                let dot: i64 = row.iter().zip(&z1).map(|(w, z)| w * z.max(&0)).sum();
                rs(dot + (self.b2[k] << ACT_BITS), 12)
            })
            .collect();
        (z1, z2)
    }

    /// The predicted class (the first of equal largest logits).
    pub fn predict(&self, x: &[i64]) -> usize {
        argmax(&self.forward(x).1)
    }

    /// One SGD step on the batch `(xs, ys)` (`2^β` samples); returns what it computed.
    pub fn step(&mut self, xs: &[[i64; PIXELS]], ys: &[usize], h: Hyper) -> StepTrace {
        let d = self.dims;
        assert_eq!(xs.len(), h.batch(), "one batch");
        let table = exp_table();
        let (mut gw1, mut gb1) = (vec![0i64; d.hidden * d.input], vec![0i64; d.hidden]);
        let (mut gw2, mut gb2) = (vec![0i64; d.classes * d.hidden], vec![0i64; d.classes]);
        let mut t = StepTrace {
            z1: vec![],
            z2: vec![],
            p: vec![],
            d: vec![],
            grads: Default::default(),
            loss: 0.0,
        };
        for (x, &y) in xs.iter().zip(ys) {
            let (z1, z2) = self.forward(x);
            let m = *z2.iter().max().expect("classes");
            let e: Vec<i64> = z2
                .iter()
                .map(|&z| table[(m - z).min(EXP_CAP) as usize])
                .collect();
            let s: i64 = e.iter().sum();
            let p: Vec<i64> = e.iter().map(|&e| (256 * e + s / 2).div_euclid(s)).collect();
            t.loss -= (p[y].max(1) as f64 / 256.0).ln() / xs.len() as f64;
            let g: Vec<i64> = (0..d.classes)
                .map(|k| p[k] - if k == y { 256 } else { 0 })
                .collect();
            for k in 0..d.classes {
                gb2[k] += g[k];
                for i in 0..d.hidden {
                    gw2[k * d.hidden + i] += g[k] * z1[i].max(0);
                }
            }
            let dh: Vec<i64> = (0..d.hidden)
                .map(|i| {
                    if z1[i] <= 0 {
                        return 0;
                    }
                    let back: i64 = (0..d.classes)
                        .map(|k| self.w2[k * d.hidden + i] * g[k])
                        .sum();
                    rs(back, 12)
                })
                .collect();
            for i in 0..d.hidden {
                gb1[i] += dh[i];
                for j in 0..d.input {
                    gw1[i * d.input + j] += dh[i] * x[j];
                }
            }
            t.z1.push(z1);
            t.z2.push(z2);
            t.p.push(p);
            t.d.push(dh);
        }
        let b = h.log_batch;
        let upd = |w: &mut [i64], g: &[i64], shift: u32| {
            for (w, g) in w.iter_mut().zip(g) {
                *w -= rs(h.lr * g, shift + b);
            }
        };
        upd(&mut self.w2, &gw2, 12);
        upd(&mut self.b2, &gb2, 4);
        upd(&mut self.w1, &gw1, 8);
        upd(&mut self.b1, &gb1, 4);
        t.grads = [gw1, gb1, gw2, gb2];
        t
    }

    /// The same weights as floats.
    pub fn to_float(&self) -> FloatMlp {
        let f = |v: &[i64]| v.iter().map(|&w| w as f64 / 4096.0).collect();
        FloatMlp {
            dims: self.dims,
            w1: f(&self.w1),
            b1: f(&self.b1),
            w2: f(&self.w2),
            b2: f(&self.b2),
        }
    }
}

/// The index of the largest value (the first of equals).
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Float weights (the reference trainer).
#[derive(Clone, Debug)]
pub struct FloatMlp {
    /// Sizes.
    pub dims: MlpDims,
    /// `W1`.
    pub w1: Vec<f64>,
    /// `b1`.
    pub b1: Vec<f64>,
    /// `W2`.
    pub w2: Vec<f64>,
    /// `b2`.
    pub b2: Vec<f64>,
}

impl FloatMlp {
    /// `(z1, z2)` of one sample (pixels `0..=16`, read as `pixel / 16`).
    pub fn forward(&self, x: &[i64]) -> (Vec<f64>, Vec<f64>) {
        let d = self.dims;
        let z1: Vec<f64> = (0..d.hidden)
            .map(|i| {
                let row = &self.w1[i * d.input..(i + 1) * d.input];
                row.iter()
                    .zip(x)
                    .map(|(w, &x)| w * x as f64 / 16.0)
                    .sum::<f64>()
                    + self.b1[i]
            })
            .collect();
        let z2 = (0..d.classes)
            .map(|k| {
                let row = &self.w2[k * d.hidden..(k + 1) * d.hidden];
                row.iter()
                    .zip(&z1)
                    .map(|(w, z)| w * z.max(0.0))
                    .sum::<f64>()
                    + self.b2[k]
            })
            .collect();
        (z1, z2)
    }

    /// The predicted class.
    pub fn predict(&self, x: &[i64]) -> usize {
        argmax(&self.forward(x).1)
    }

    /// One SGD step with `η = c/256` on the batch's mean loss.
    pub fn step(&mut self, xs: &[[i64; PIXELS]], ys: &[usize], h: Hyper) {
        let d = self.dims;
        let scale = h.eta() / xs.len() as f64;
        let (mut gw1, mut gb1) = (vec![0.0; d.hidden * d.input], vec![0.0; d.hidden]);
        let (mut gw2, mut gb2) = (vec![0.0; d.classes * d.hidden], vec![0.0; d.classes]);
        for (x, &y) in xs.iter().zip(ys) {
            let (z1, z2) = self.forward(x);
            let m = z2.iter().cloned().fold(f64::MIN, f64::max);
            let e: Vec<f64> = z2.iter().map(|z| (z - m).exp()).collect();
            let s: f64 = e.iter().sum();
            let g: Vec<f64> = (0..d.classes)
                .map(|k| e[k] / s - if k == y { 1.0 } else { 0.0 })
                .collect();
            for k in 0..d.classes {
                gb2[k] += g[k];
                for i in 0..d.hidden {
                    gw2[k * d.hidden + i] += g[k] * z1[i].max(0.0);
                }
            }
            for i in 0..d.hidden {
                if z1[i] <= 0.0 {
                    continue;
                }
                let back: f64 = (0..d.classes)
                    .map(|k| self.w2[k * d.hidden + i] * g[k])
                    .sum();
                gb1[i] += back;
                for j in 0..d.input {
                    gw1[i * d.input + j] += back * x[j] as f64 / 16.0;
                }
            }
        }
        for (w, g) in [
            (&mut self.w2, &gw2),
            (&mut self.b2, &gb2),
            (&mut self.w1, &gw1),
            (&mut self.b1, &gb1),
        ] {
            for (w, g) in w.iter_mut().zip(g) {
                *w -= scale * g;
            }
        }
    }
}

/// Correct predictions of `predict` on a set, out of its size.
pub fn accuracy(set: &super::Digits, predict: impl Fn(&[i64]) -> usize) -> (usize, usize) {
    let ok = set
        .pixels
        .iter()
        .zip(&set.labels)
        .filter(|(x, &y)| predict(&x[..]) == y)
        .count();
    (ok, set.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Digits;

    #[test]
    fn rounding_is_half_up_and_floors_negatives() {
        assert_eq!(rs(128, 8), 1);
        assert_eq!(rs(127, 8), 0);
        assert_eq!(rs(-128, 8), 0);
        assert_eq!(rs(-129, 8), -1);
        assert_eq!(rs(-384, 8), -1);
        let t = exp_table();
        assert_eq!((t[0], t[256], t[EXP_CAP as usize]), (256, 94, 0));
        assert!(t.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn fixed_point_training_matches_float_training_on_the_digits() {
        // 10 epochs of batch 8 at η = 0.1 from the same initial weights.
        let (train, test) = (Digits::train().unwrap(), Digits::test().unwrap());
        let h = Hyper::new(0.1, 8).unwrap();
        let mut fixed = FixedMlp::init(MlpDims::DIGITS, 7);
        let mut float = fixed.to_float();
        for t in 0..train.steps(10, h.batch()) {
            let (xs, ys) = train.batch(t, h.batch());
            fixed.step(&xs, &ys, h);
            float.step(&xs, &ys, h);
        }
        let (a, n) = accuracy(&test, |x| fixed.predict(x));
        let (b, _) = accuracy(&test, |x| float.predict(x));
        eprintln!("fixed point {a}/{n}, float {b}/{n}");
        assert!(a * 100 >= 93 * n, "fixed point {a}/{n}");
        // Within one point (3.6 of 360 samples).
        assert!((a as i64 - b as i64).abs() * 100 <= n as i64, "{a} vs {b}");
    }

    #[test]
    fn one_step_lowers_the_batch_loss_and_changes_every_layer() {
        let train = Digits::train().unwrap();
        let h = Hyper::new(0.5, 8).unwrap();
        let mut m = FixedMlp::init(MlpDims::DIGITS, 3);
        let (xs, ys) = train.batch(0, 8);
        let before = m.clone();
        let first = m.step(&xs, &ys, h).loss;
        assert!(m.w1 != before.w1 && m.b1 != before.b1);
        assert!(m.w2 != before.w2 && m.b2 != before.b2);
        let mut probe = m.clone();
        let second = probe.step(&xs, &ys, h).loss;
        assert!(second < first, "{second} ≥ {first}");
    }

    #[test]
    fn bad_settings_are_explained() {
        assert!(Hyper::new(0.1, 6)
            .unwrap_err()
            .to_string()
            .contains("power of two"));
        assert!(Hyper::new(0.0001, 8)
            .unwrap_err()
            .to_string()
            .contains("1/256"));
        assert_eq!(Hyper::new(0.1, 32).unwrap().lr, 26);
    }
}
