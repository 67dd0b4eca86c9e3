//! Packing range-checked values into field elements on the arithmetic gate
//! ([`crate::packing`]): one row per value, Horner from the last value of each word.
//!
//! ```text
//! | a        | b   | c                      |   k = [0, 2^B, 1, −min]
//! | 0 (const)| v_{K−1} | u_{K−1}            |
//! | acc      | v_t | acc·2^B + v_t − min    |   … down to t = 0: c = word
//! ```
//! `a` is the constant 0 on a word's first row and a copy of the previous `c` after; `b` is
//! a copy of the value's cell. The values' ranges are proven by the lookup lanes (the
//! program's range checks), not here: this chip only computes the words.

use super::arith::ArithChip;
use super::ACell;
use crate::packing::InputPacking;
use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::plonk::Error;

/// Rows [`assign_packed`] takes for `n` values.
pub fn rows(n: usize) -> usize {
    n
}

/// Lays out the words of `values` from `row` on; returns the word cells.
pub fn assign_packed<'v>(
    arith: &ArithChip,
    region: &mut Region<'_, Fr>,
    row: usize,
    values: &[ACell<'v>],
    p: &InputPacking,
) -> Result<Vec<ACell<'v>>, Error> {
    let k = [
        Fr::zero(),
        Fr::from_u128(1u128 << p.bits),
        Fr::one(),
        -crate::chips::fe(p.min as i128),
    ];
    let mut row = row;
    let mut words = vec![];
    for chunk in values.chunks(p.per_word()) {
        let mut acc: Option<ACell<'v>> = None;
        for v in chunk.iter().rev() {
            let a = acc.as_ref().map_or(Value::known(Fr::zero()), |c| {
                c.value().map(|x| x.evaluate())
            });
            let [ca, cb, cc] =
                arith.assign_fr(region, row, a, v.value().map(|x| x.evaluate()), k)?;
            match &acc {
                None => region.constrain_constant(ca.cell(), Fr::zero())?,
                Some(prev) => region.constrain_equal(ca.cell(), prev.cell()),
            }
            region.constrain_equal(cb.cell(), v.cell());
            acc = Some(cc);
            row += 1;
        }
        words.push(acc.expect("chunks are non-empty"));
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::QuantParams;
    use crate::table::{Func, FuncSet};
    use halo2_proofs::circuit::Cell;
    use halo2_proofs::halo2curves::ff::Field;
    use halo2_proofs::plonk::ConstraintSystem;
    use trustml_kit::cells::{check_forged, check_forged_all, Forge};
    use trustml_kit::mock::{chip_accepts as accepts, ChipCircuit, ChipTest, Failure, TestCols};

    fn packing() -> InputPacking {
        let mut funcs = FuncSet::default();
        funcs.tag(Func::Identity);
        funcs.bits = vec![3];
        InputPacking::new(
            &funcs,
            &QuantParams {
                scale_bits: 4,
                lookup_bits: 10,
            },
        )
    }

    #[derive(Clone, Default)]
    struct Case {
        values: Vec<i128>,
    }

    impl ChipTest for Case {
        type Chip = ArithChip;
        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &TestCols, _: &Self) -> ArithChip {
            let c = meta.fixed_column();
            meta.enable_constant(c);
            ArithChip {
                config: ArithChip::configure(meta, cols.adv[0], cols.adv[1], cols.adv[2]),
            }
        }
        fn assign(
            &self,
            chip: &ArithChip,
            region: &mut Region<'_, Fr>,
        ) -> Result<Vec<Cell>, Error> {
            // The values sit in column 3, one per row after the packing rows.
            let n = self.values.len();
            let cells: Vec<ACell<'_>> = self
                .values
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    region.assign_advice(
                        chip.config.a,
                        rows(n) + i,
                        Value::known(crate::chips::fe(v)),
                    )
                })
                .collect();
            let words = assign_packed(chip, region, 0, &cells, &packing())?;
            Ok(words.iter().map(|w| w.cell()).collect())
        }
    }

    #[test]
    fn words_are_the_native_packing_and_a_forged_word_is_refused() {
        let p = packing();
        assert_eq!((p.bits, p.per_word()), (7, 36));
        let values: Vec<i128> = (0..40)
            .map(|i| (i * 37 % 128) as i128 + p.min as i128)
            .collect();
        let want = p.pack(&values).unwrap();
        assert_eq!(want.len(), 2);
        let case = Case {
            values: values.clone(),
        };
        assert!(accepts(case.clone(), want.clone()));
        let mut bad = want.clone();
        bad[1] += Fr::one();
        assert!(!accepts(case.clone(), bad.clone()));
        // The last row of the second word (row 39) computes it: a forged `c` there, claimed
        // as the word, breaks the arithmetic gate only.
        let fails = check_forged(
            10,
            &ChipCircuit(case.clone()),
            vec![bad],
            Forge {
                column: 2,
                row: 39,
                value: want[1] + Fr::one(),
                propagate: true,
            },
        )
        .unwrap_err();
        assert_eq!(
            fails.into_iter().collect::<Vec<_>>(),
            vec![Failure::Gate {
                gate: "arith".into(),
                constraint: String::new()
            }]
        );
        // A word's first accumulator is the constant 0: a forged 1, every later row
        // recomputed from it and the resulting word (+ 2^(7·36)) claimed, breaks only the
        // copy from the constants column.
        let mut shifted = want.clone();
        shifted[0] += Fr::from(2).pow_vartime([7 * 36]);
        // Row 0 holds value 35 (u = 15): a = 1 makes its c = 2^7 + 15.
        let fails = check_forged_all(
            10,
            &ChipCircuit(case),
            vec![shifted],
            &[
                Forge {
                    column: 0,
                    row: 0,
                    value: Fr::one(),
                    propagate: true,
                },
                Forge {
                    column: 2,
                    row: 0,
                    value: Fr::from(128 + 15),
                    propagate: true,
                },
            ],
        )
        .unwrap_err();
        assert_eq!(
            fails.into_iter().collect::<Vec<_>>(),
            vec![Failure::Permutation]
        );
    }
}
