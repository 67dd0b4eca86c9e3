//! Elementwise arithmetic: `c = k_ab·a·b + k_a·a + k_b·b + k_c` with fixed coefficients.
//!
//! ```text
//! | a | b | c |      fixed: q_ar, k_ab, k_a, k_b, k_c
//! q_ar · (k_ab·a·b + k_a·a + k_b·b + k_c − c) = 0
//! ```
//! Add, Sub, Mul of activations, affine ops with constants and the steps of `max`.

use super::{cur_a, cur_f, fe};
use halo2_proofs::circuit::{AssignedCell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Assigned, Column, ConstraintSystem, Error, Fixed};

/// Columns of the arithmetic gate.
#[derive(Clone, Debug)]
pub struct ArithConfig {
    /// Left operand `a`.
    pub a: Column<Advice>,
    /// Right operand `b`.
    pub b: Column<Advice>,
    /// Result `c`.
    pub c: Column<Advice>,
    /// Fixed selector `q_ar` (1 on arithmetic rows).
    pub q: Column<Fixed>,
    /// Coefficients `[k_ab, k_a, k_b, k_c]`.
    pub k: [Column<Fixed>; 4],
}

/// Chip proving `c = k_ab·a·b + k_a·a + k_b·b + k_c` on one row.
#[derive(Clone, Debug)]
pub struct ArithChip {
    /// The gate's columns.
    pub config: ArithConfig,
}

/// The assigned `[a, b, c]` cells of one row.
pub type Cells<'v> = [AssignedCell<&'v Assigned<Fr>, Fr>; 3];

impl ArithChip {
    /// Creates the selector and coefficient fixed columns and the gate over advice `a`, `b`, `c`.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        a: Column<Advice>,
        b: Column<Advice>,
        c: Column<Advice>,
    ) -> ArithConfig {
        let q = meta.fixed_column();
        let k = [
            meta.fixed_column(),
            meta.fixed_column(),
            meta.fixed_column(),
            meta.fixed_column(),
        ];
        if trustml_kit::mutation::keep("arith") {
            meta.create_gate("arith", |meta| {
                trustml_kit::mutation::constraints("arith", {
                    let q = cur_f(meta, q);
                    let [kab, ka, kb, kc] = k.map(|col| cur_f(meta, col));
                    let (a, b, c) = (cur_a(meta, a), cur_a(meta, b), cur_a(meta, c));
                    vec![q * (kab * a.clone() * b.clone() + ka * a + kb * b + kc - c)]
                })
            });
        }
        ArithConfig { a, b, c, q, k }
    }

    /// Assigns `c` from `a`, `b` at `row`; returns the three cells.
    pub fn assign<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        a: Option<i128>,
        b: Option<i128>,
        k: [i64; 4],
    ) -> Result<Cells<'v>, Error> {
        let cfg = &self.config;
        region.assign_fixed(cfg.q, row, Fr::one());
        for (col, kv) in cfg.k.iter().zip(k) {
            region.assign_fixed(*col, row, fe(kv as i128));
        }
        let c = a.zip(b).map(|(a, b)| {
            k[0] as i128 * a * b + k[1] as i128 * a + k[2] as i128 * b + k[3] as i128
        });
        let v = |x: Option<i128>| x.map_or(Value::unknown(), |x| Value::known(fe(x)));
        Ok([
            region.assign_advice(cfg.a, row, v(a)),
            region.assign_advice(cfg.b, row, v(b)),
            region.assign_advice(cfg.c, row, v(c)),
        ])
    }

    /// [`ArithChip::assign`] over field elements (coefficients and values of any size,
    /// e.g. `2^64` limbs of a hash).
    pub fn assign_fr<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        a: Value<Fr>,
        b: Value<Fr>,
        k: [Fr; 4],
    ) -> Result<Cells<'v>, Error> {
        let cfg = &self.config;
        region.assign_fixed(cfg.q, row, Fr::one());
        for (col, kv) in cfg.k.iter().zip(k) {
            region.assign_fixed(*col, row, kv);
        }
        let c = a
            .zip(b)
            .map(|(a, b)| k[0] * a * b + k[1] * a + k[2] * b + k[3]);
        Ok([
            region.assign_advice(cfg.a, row, a),
            region.assign_advice(cfg.b, row, b),
            region.assign_advice(cfg.c, row, c),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::circuit::Cell;
    use trustml_kit::cells::{check_forged, Forge};
    use trustml_kit::mock::{chip_accepts as accepts, ChipCircuit, ChipTest, Failure, TestCols};

    #[derive(Clone, Default)]
    struct Case {
        ops: Vec<(i128, i128, [i64; 4])>,
    }

    impl ChipTest for Case {
        type Chip = ArithChip;
        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &TestCols, _: &Self) -> ArithChip {
            ArithChip {
                config: ArithChip::configure(meta, cols.adv[0], cols.adv[1], cols.adv[2]),
            }
        }
        fn assign(
            &self,
            chip: &ArithChip,
            region: &mut Region<'_, Fr>,
        ) -> Result<Vec<Cell>, Error> {
            let mut out = vec![];
            for (row, &(a, b, k)) in self.ops.iter().enumerate() {
                let [_, _, c] = chip.assign(region, row, Some(a), Some(b), k)?;
                out.push(c.cell());
            }
            Ok(out)
        }
    }

    #[test]
    fn add_sub_mul_affine() {
        let ops = vec![
            (5, -7, [0, 1, 1, 0]),
            (5, -7, [0, 1, -1, 0]),
            (5, -7, [1, 0, 0, 0]),
            (9, 0, [0, -3, 0, 11]),
        ];
        let want = vec![fe(-2), fe(12), fe(-35), fe(-16)];
        assert!(accepts(Case { ops: ops.clone() }, want.clone()));
        for i in 0..want.len() {
            let mut bad = want.clone();
            bad[i] += Fr::one();
            assert!(!accepts(Case { ops: ops.clone() }, bad), "op {i}");
        }
        // A forged output cell, exposed as such: every copy holds, only the gate refuses.
        for (i, w) in want.iter().enumerate() {
            let mut claimed = want.clone();
            claimed[i] += Fr::one();
            let forge = Forge {
                column: 2,
                row: i,
                value: *w + Fr::one(),
                propagate: true,
            };
            let fails = check_forged(
                10,
                &ChipCircuit(Case { ops: ops.clone() }),
                vec![claimed],
                forge,
            )
            .unwrap_err();
            assert_eq!(
                fails.into_iter().collect::<Vec<_>>(),
                vec![Failure::Gate {
                    gate: "arith".into(),
                    constraint: String::new()
                }],
                "op {i}"
            );
        }
    }
}
