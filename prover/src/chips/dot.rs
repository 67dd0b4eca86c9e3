//! Wide dot-product gate: one row multiplies and accumulates `W` pairs.
//!
//! ```text
//! | x_0 .. x_{W-1} | acc | w_0 .. w_{W-1} (fixed or advice) | q_dot | chain |
//! q_dot · (acc − chain · acc[-1] − Σ_i x_i · w_i) = 0
//! ```
//! A dot product of length `n` takes `ceil(n / W)` consecutive rows; `chain` is 0 on the
//! first and 1 on the rest, so the last `acc` is the result. Public weights sit in fixed
//! columns (nothing to commit at proving time); private, public or hashed weights sit in
//! advice columns, copy-constrained to their single canonical cell.
//!
//! The last row of a dot product usually fills fewer than `W` slots. With fixed weights an
//! empty slot's `w_i` is the fixed 0, so `x_i·w_i = 0` whatever `x_i` holds; with advice
//! weights both cells would be free witnesses (a prover could add any `x_i·w_i` to the sum),
//! so [`DotChip::assign_row`] sets every empty `x_i` and advice `w_i` to 0 *by a copy
//! constraint to the constant 0*.

use super::{cur_a, cur_f, fe};
use halo2_proofs::circuit::{AssignedCell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Assigned, Column, ConstraintSystem, Error, Expression, Fixed};
use halo2_proofs::poly::Rotation;

/// Where one weight lane of the dot gate lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightColumn {
    /// A fixed column: weights baked into the verifying key.
    Fixed(Column<Fixed>),
    /// An advice column: weights (or a second activation) are witnesses.
    Advice(Column<Advice>),
}

/// Columns of the dot-product gate.
#[derive(Clone, Debug)]
pub struct DotConfig {
    /// Activation lanes `x_0 .. x_{W-1}`.
    pub x: Vec<Column<Advice>>,
    /// Weight lanes `w_0 .. w_{W-1}`, one per `x` lane.
    pub w: Vec<WeightColumn>,
    /// Running sum `acc`.
    pub acc: Column<Advice>,
    /// Row mode: 0 off, 1 `acc = Σ x·w`, 2 `acc = acc[-1] + Σ x·w` (one fixed column for
    /// what would be a selector and a chain flag: each column costs a commitment).
    pub mode: Column<Fixed>,
}

/// A weight operand as the chip lays it out.
#[derive(Clone, Copy, Debug)]
pub enum WeightValue {
    /// Placed in a fixed column: part of the verifying key.
    Fixed(i64),
    /// Placed in an advice column (the caller copy-constrains it).
    Witness(Value<Fr>),
}

/// Chip proving `W`-wide multiply-accumulate rows chained into dot products of any length.
#[derive(Clone, Debug)]
pub struct DotChip {
    /// The gate's columns.
    pub config: DotConfig,
}

/// Cells a dot row produced: the `x` and advice `w` cells (to copy-constrain) and `acc`.
pub struct DotRow<'v> {
    /// The assigned `x` cells.
    pub x: Vec<AssignedCell<&'v Assigned<Fr>, Fr>>,
    /// The assigned `w` cells: `Some` for advice lanes, `None` for fixed ones.
    pub w: Vec<Option<AssignedCell<&'v Assigned<Fr>, Fr>>>,
    /// The assigned running sum after this row.
    pub acc: AssignedCell<&'v Assigned<Fr>, Fr>,
}

impl DotChip {
    /// Creates the mode column and the dot gate; `x` and `w` must have the same length `W`.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        x: Vec<Column<Advice>>,
        acc: Column<Advice>,
        w: Vec<WeightColumn>,
    ) -> DotConfig {
        assert_eq!(x.len(), w.len(), "one weight column per input column");
        let mode = meta.fixed_column();
        if trustml_kit::mutation::keep("dot") {
            meta.create_gate("dot", |meta| {
                trustml_kit::mutation::constraints("dot", {
                    // on(m) = m(3 − m)/2 and chain(m) = m(m − 1)/2: (0, 1, 1) and (0, 0, 1) at m = 0, 1, 2.
                    let m = cur_f(meta, mode);
                    let c = |v: u64| Expression::Constant(Fr::from(v));
                    let half = Expression::Constant(Fr::from(2).invert().unwrap());
                    let on = m.clone() * (c(3) - m.clone()) * half.clone();
                    let chain = m.clone() * (m - c(1)) * half;
                    let acc_cur = cur_a(meta, acc);
                    let acc_prev = meta.query_advice(acc, Rotation::prev());
                    let mut sum = Expression::Constant(Fr::zero());
                    for (&xc, &wc) in x.iter().zip(&w) {
                        let wv = match wc {
                            WeightColumn::Fixed(c) => cur_f(meta, c),
                            WeightColumn::Advice(c) => cur_a(meta, c),
                        };
                        sum = sum + cur_a(meta, xc) * wv;
                    }
                    vec![on * (acc_cur - sum) - chain * acc_prev]
                })
            });
        }
        DotConfig { x, w, acc, mode }
    }

    /// Pairs per row (`W`).
    pub fn width(&self) -> usize {
        self.config.x.len()
    }

    /// Whether some weight lane is an advice column (then empty slots must be pinned).
    pub fn has_advice_weights(&self) -> bool {
        self.config
            .w
            .iter()
            .any(|w| matches!(w, WeightColumn::Advice(_)))
    }

    /// Assigns one row at `row`: `acc = [prev +] Σ x·w`. `prev` is the running sum of the
    /// row above when `chained`. Returns the cells and the new running sum. Slots past
    /// `xs.len()` are empty; with advice weight lanes their `x` cell is constrained to 0
    /// (the region's layouter needs a constants column for that).
    pub fn assign_row<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        xs: &[Value<Fr>],
        ws: &[WeightValue],
        chained: bool,
        prev: Value<Fr>,
    ) -> Result<(DotRow<'v>, Value<Fr>), Error> {
        let c = &self.config;
        assert!(xs.len() <= c.x.len() && xs.len() == ws.len());
        region.assign_fixed(c.mode, row, Fr::from(if chained { 2 } else { 1 }));
        let mut sum = if chained {
            prev
        } else {
            Value::known(Fr::zero())
        };
        let mut xcells = Vec::with_capacity(xs.len());
        let mut wcells = Vec::with_capacity(xs.len());
        for (i, (&xv, &wv)) in xs.iter().zip(ws).enumerate() {
            xcells.push(region.assign_advice(c.x[i], row, xv));
            let wval = match (wv, c.w[i]) {
                (WeightValue::Fixed(v), WeightColumn::Fixed(col)) => {
                    region.assign_fixed(col, row, fe(v as i128));
                    wcells.push(None);
                    Value::known(fe(v as i128))
                }
                (WeightValue::Witness(v), WeightColumn::Advice(col)) => {
                    wcells.push(Some(region.assign_advice(col, row, v)));
                    v
                }
                _ => return Err(Error::Synthesis),
            };
            sum = sum + xv * wval;
        }
        if self.has_advice_weights() {
            for i in xs.len()..c.x.len() {
                let cell = region.assign_advice(c.x[i], row, Value::known(Fr::zero()));
                region.constrain_constant(cell.cell(), Fr::zero())?;
                // With x pinned, an empty advice w could still be anything (x·w = 0): pin
                // it too, so no cell of an active dot row is a value nothing checks.
                if let WeightColumn::Advice(col) = c.w[i] {
                    let cell = region.assign_advice(col, row, Value::known(Fr::zero()));
                    region.constrain_constant(cell.cell(), Fr::zero())?;
                }
            }
        }
        let acc = region.assign_advice(c.acc, row, sum);
        Ok((
            DotRow {
                x: xcells,
                w: wcells,
                acc,
            },
            sum,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::circuit::Cell;
    use trustml_kit::mock::{chip_accepts as accepts, chip_check, ChipTest, Failure, TestCols};

    #[derive(Clone, Default)]
    struct Case {
        xs: Vec<i64>,
        ws: Vec<i64>,
        width: usize,
        advice_w: bool,
        /// Adds one to this input cell after the honest sum was computed.
        tamper: Option<usize>,
        /// Writes `x = 5, w = 7` into the first empty slot of the last row (advice weights)
        /// and adds 35 to `acc`: every gate holds, only the empty-slot pin can refuse it.
        forge_empty_slot: bool,
    }

    impl ChipTest for Case {
        type Chip = DotChip;
        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &TestCols, case: &Self) -> DotChip {
            let n = case.width;
            let w = if case.advice_w {
                cols.adv[n + 1..2 * n + 1]
                    .iter()
                    .map(|&c| WeightColumn::Advice(c))
                    .collect()
            } else {
                (0..n)
                    .map(|_| WeightColumn::Fixed(meta.fixed_column()))
                    .collect()
            };
            DotChip {
                config: DotChip::configure(meta, cols.adv[..n].to_vec(), cols.adv[n], w),
            }
        }
        fn assign(&self, chip: &DotChip, region: &mut Region<'_, Fr>) -> Result<Vec<Cell>, Error> {
            let mut prev = Value::known(Fr::zero());
            let mut last = None;
            for (r, (xc, wc)) in self
                .xs
                .chunks(self.width)
                .zip(self.ws.chunks(self.width))
                .enumerate()
            {
                let mut xv: Vec<Value<Fr>> =
                    xc.iter().map(|&v| Value::known(fe(v as i128))).collect();
                let wv: Vec<WeightValue> = wc
                    .iter()
                    .map(|&v| {
                        if self.advice_w {
                            WeightValue::Witness(Value::known(fe(v as i128)))
                        } else {
                            WeightValue::Fixed(v)
                        }
                    })
                    .collect();
                let honest = {
                    let mut s = if r > 0 {
                        prev
                    } else {
                        Value::known(Fr::zero())
                    };
                    for (x, w) in xv.iter().zip(wc) {
                        s = s + *x * Value::known(fe(*w as i128));
                    }
                    s
                };
                if self.tamper.is_some_and(|t| t / self.width == r) {
                    let i = self.tamper.unwrap() % self.width;
                    xv[i] = xv[i] + Value::known(Fr::one());
                }
                // Row 0 is left empty: its `acc[-1]` would wrap to an unassigned row.
                let (row, _) = chip.assign_row(region, r + 1, &xv, &wv, r > 0, prev)?;
                let mut honest = honest;
                let last_row = (r + 1) * self.width >= self.xs.len();
                if self.forge_empty_slot && last_row && xc.len() < self.width {
                    let (x, WeightColumn::Advice(w)) =
                        (chip.config.x[xc.len()], chip.config.w[xc.len()])
                    else {
                        unreachable!("forged slots need advice weights")
                    };
                    region.assign_advice(x, r + 1, Value::known(fe(5)));
                    region.assign_advice(w, r + 1, Value::known(fe(7)));
                    honest = honest + Value::known(fe(35));
                }
                // Keep the honest running sum in `acc`: only the input was tampered.
                let acc = region.assign_advice(chip.config.acc, r + 1, honest);
                prev = honest;
                let _ = row;
                last = Some(acc.cell());
            }
            Ok(vec![last.expect("non-empty")])
        }
    }

    fn case(width: usize, advice_w: bool, tamper: Option<usize>) -> (Case, i128) {
        let xs: Vec<i64> = (0..23).map(|i| i * 7 - 60).collect();
        let ws: Vec<i64> = (0..23).map(|i| 13 - i * 3).collect();
        let want = xs
            .iter()
            .zip(&ws)
            .map(|(&a, &b)| a as i128 * b as i128)
            .sum();
        (
            Case {
                xs,
                ws,
                width,
                advice_w,
                tamper,
                forge_empty_slot: false,
            },
            want,
        )
    }

    #[test]
    fn honest_dot_products_verify() {
        for width in [1, 4, 8] {
            for advice_w in [false, true] {
                let (c, want) = case(width, advice_w, None);
                assert!(
                    accepts(c, vec![fe(want)]),
                    "width {width} advice {advice_w}"
                );
            }
        }
    }

    /// 23 terms in rows of 4: the last row has one empty slot. A prover who writes
    /// `x·w = 35` there (and adds it to `acc`, so the gate holds) is refused by the copy
    /// constraint that pins the empty `x` to 0 — and only by it.
    #[test]
    fn forged_empty_slot_with_advice_weights_is_rejected() {
        let (mut c, want) = case(4, true, None);
        c.forge_empty_slot = true;
        let fs = chip_check(c, vec![fe(want + 35)]).expect_err("a forged empty slot");
        assert_eq!(
            fs.into_iter().collect::<Vec<_>>(),
            vec![Failure::Permutation]
        );
    }

    #[test]
    fn wrong_sum_is_rejected() {
        for advice_w in [false, true] {
            let (c, want) = case(4, advice_w, None);
            assert!(!accepts(c, vec![fe(want + 1)]));
        }
    }

    #[test]
    fn tampered_input_is_rejected() {
        for t in [0, 5, 22] {
            let (c, want) = case(4, false, Some(t));
            assert!(!accepts(c, vec![fe(want)]), "tamper {t}");
        }
    }
}
