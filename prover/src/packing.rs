//! The committed format of a `hashed` model input: range-checked quantized values, packed
//! several to a field element, then hashed with the salt.
//!
//! ```text
//! range    every input v is proven in [min, min + 2^B) by the lookup lanes: a rescale by 2^s
//!          whose quotient is looked up in the Identity table [lo, hi) (hi − lo = 2^b), so
//!          min = lo·2^s − 2^(s−1) and B = s + b                  (Program::range_check_inputs)
//! pack     u_i = v_i − min ∈ [0, 2^B);  K = ⌊253 / B⌋ values per word, in input order:
//!          word_j = Σ_{t<K} u_{jK+t} · 2^(B·t)                    (< 2^253 < r: no wrap)
//! commit   C = Poseidon(word_0, …, word_{m−1} ‖ salt)             (trustml_poseidon::commit)
//! ```
//! Each value is fixed by its word because every `u` is range-checked: without the check a
//! prover could move a carry between neighbours and commit to other values. Packing makes
//! the hash ~K times cheaper (a permutation absorbs two words, i.e. 2K values): for 64
//! values of 16 bits, 3 permutations instead of 33.
//!
//! A model input, an audited sample (`audit::dataset`) and a listed prompt
//! (`market::listing`, whose encrypted blocks are these words) all commit this way.

use crate::program::Program;
use crate::quant::QuantParams;
use crate::table::FuncSet;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use serde::{Deserialize, Serialize};

/// Bits a word may use: `2^253 < r`, so a word never wraps.
pub const WORD_BITS: u32 = 253;

/// How a model packs its inputs (derived from its quantization and Identity table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputPacking {
    /// Bits `B` of each offset value.
    pub bits: u32,
    /// The smallest value the range check admits (`u = v − min`).
    pub min: i64,
}

impl InputPacking {
    /// The packing of inputs range-checked through the Identity table of `funcs` at `qp`.
    pub fn new(funcs: &FuncSet, qp: &QuantParams) -> Self {
        let s = qp.scale_bits;
        let (lo, _) = funcs.domain(0, qp);
        Self {
            bits: s + funcs.domain_bits(0, qp),
            min: lo * (1i64 << s) - (1i64 << (s - 1)),
        }
    }

    /// The packing of `program`'s inputs.
    pub fn of(program: &Program) -> Self {
        Self::new(&program.funcs, &program.qp)
    }

    /// Values per word `K`.
    pub fn per_word(&self) -> usize {
        (WORD_BITS / self.bits) as usize
    }

    /// Words for `n` values.
    pub fn words(&self, n: usize) -> usize {
        n.div_ceil(self.per_word())
    }

    /// The largest value admitted (`min + 2^B − 1`).
    pub fn max(&self) -> i64 {
        self.min + (1i64 << self.bits) - 1
    }

    /// Packs `values`; errs naming the first value outside `[min, max]`.
    pub fn pack(&self, values: &[i128]) -> Result<Vec<Fr>, String> {
        let shift = Fr::from_u128(1u128 << self.bits);
        values
            .chunks(self.per_word())
            .enumerate()
            .map(|(j, chunk)| {
                let mut acc = Fr::zero();
                for (t, &v) in chunk.iter().enumerate().rev() {
                    if v < self.min as i128 || v > self.max() as i128 {
                        return Err(format!(
                            "input value {} (#{}) is outside the range [{}, {}] the model's \
                             committed inputs are checked in (scale 2^s: the quantized value); \
                             recompile the model with calibration inputs that reach it",
                            v,
                            j * self.per_word() + t,
                            self.min,
                            self.max()
                        ));
                    }
                    acc = acc * shift + Fr::from_u128((v - self.min as i128) as u128);
                }
                Ok(acc)
            })
            .collect()
    }

    /// The values of `n` inputs packed in `words`; `None` if the words do not hold `n`
    /// values of this packing (a wrong key decrypts to other field elements).
    pub fn unpack(&self, words: &[Fr], n: usize) -> Option<Vec<i128>> {
        if words.len() != self.words(n) {
            return None;
        }
        let mask = (1u128 << self.bits) - 1;
        let mut out = Vec::with_capacity(n);
        for (j, w) in words.iter().enumerate() {
            let bytes = w.to_repr();
            let take = (n - j * self.per_word()).min(self.per_word());
            // Little-endian bits of the word, B at a time.
            let bit = |i: usize| (bytes.as_ref()[i / 8] >> (i % 8)) & 1;
            let used = take * self.bits as usize;
            if (used..256).any(|i| bit(i) == 1) {
                return None;
            }
            for t in 0..take {
                let mut u = 0u128;
                for b in (0..self.bits as usize).rev() {
                    u = (u << 1) | bit(t * self.bits as usize + b) as u128;
                }
                out.push((u & mask) as i128 + self.min as i128);
            }
        }
        Some(out)
    }

    /// `C = Poseidon(pack(values) ‖ salt)`.
    pub fn commit(&self, values: &[i128], salt: Fr) -> Result<Fr, String> {
        Ok(trustml_poseidon::commit(&self.pack(values)?, salt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Func;

    fn packing(s: u32, b: u32) -> InputPacking {
        let mut funcs = FuncSet::default();
        funcs.tag(Func::Identity);
        funcs.bits = vec![b];
        InputPacking::new(
            &funcs,
            &QuantParams {
                scale_bits: s,
                lookup_bits: 20,
            },
        )
    }

    #[test]
    fn range_words_and_round_trip() {
        let p = packing(9, 7);
        assert_eq!(
            (p.bits, p.min, p.max()),
            (16, -64 * 512 - 256, 64 * 512 - 257)
        );
        assert_eq!(p.per_word(), 15);
        assert_eq!(p.words(64), 5);
        let values: Vec<i128> = (0..64).map(|i| (i * 977 % 60000) as i128 - 30000).collect();
        let words = p.pack(&values).unwrap();
        assert_eq!(words.len(), 5);
        assert_eq!(p.unpack(&words, 64).unwrap(), values);
        // The first word by hand: Σ u_t 2^(16t).
        let mut w = Fr::zero();
        for t in (0..15).rev() {
            w = w * Fr::from(1 << 16) + Fr::from((values[t] - p.min as i128) as u64);
        }
        assert_eq!(words[0], w);
        assert_eq!(
            p.unpack(&words, 63),
            None,
            "a word count for another length"
        );
        assert_eq!(
            p.unpack(&[Fr::from_u128(u128::MAX); 5], 64),
            None,
            "bits beyond the last value"
        );
    }

    #[test]
    fn values_outside_the_checked_range_are_refused() {
        let p = packing(4, 3);
        assert!(p.pack(&[p.min as i128, p.max() as i128]).is_ok());
        let e = p.pack(&[0, p.max() as i128 + 1]).unwrap_err();
        assert!(e.contains("#1") && e.contains("outside the range"), "{e}");
        assert!(p.pack(&[p.min as i128 - 1]).is_err());
    }
}
