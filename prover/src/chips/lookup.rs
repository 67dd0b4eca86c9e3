//! Rescale-and-lookup lanes: rounding division by `2^s` and a non-linear function, both
//! proven by one lookup argument per lane into one tagged fixed table.
//!
//! ```text
//! lane rows:  A | v | q | y |      fixed per lane and row: q_lk, sel, tag, rs
//!             B | · | r | 0 |      (row B: the remainder, in A's `q` column)
//! q_lk · (v + rs·2^(s-1) − q·(1 + rs·(2^s − 1)) − r) = 0    (v rounded: q = round(v / 2^s))
//! q_lk · (1 − rs) · r = 0                                    (no rescale: q = v exactly)
//! q_lk · (1 − sel) · (y − q) = 0                             (a wide lane: y = q)
//! lookup (sel·tag, sel·q, sel·y) ∈ TABLE = {(tag_f, x, f(x)) : x in f's domain}
//!                                         ∪ {(RANGE, i, 0) : i ∈ [0, 2^s)}
//! ```
//! Row A (`q_lk = 1`) looks up `(tag_f, q, y)` when the lane applies a function (`sel = 1`);
//! row B looks up `(RANGE, r, 0)` when the lane rescales. One argument per lane instead of
//! two (a range table and a function table) saves three commitments and a fixed column in
//! every proof, ~25k gas on chain, for one more row per lane.
//! A *wide* lane (`sel = 0` on row A) rescales without the function table; its `q` must be
//! bounded by another lane (a coarse range check of `q`), which lowering always emits, so
//! `(q, r)` stays unique while the table only spans activation values. `q` in the lookup
//! domain and `r` in `[0, 2^s)` make `(q, r)` unique for every `v`, so the quotient cannot be
//! forged. A disabled row looks up `(0, 0, 0)`, which is in the table because tag 0 is the
//! identity.

use super::{cur_a, cur_f, fe};
use crate::quant::{rescale, QuantParams};
use crate::table::FuncSet;
use halo2_proofs::circuit::{AssignedCell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Assigned, Column, ConstraintSystem, Error, Expression, Fixed};
use halo2_proofs::poly::Rotation;

/// Columns of one lookup lane (two rows per assignment, A and B).
#[derive(Clone, Debug)]
pub struct LaneConfig {
    /// The input `v` (row A).
    pub v: Column<Advice>,
    /// `q` on row A, the remainder `r` on row B.
    pub q: Column<Advice>,
    /// The output `y = f(q)`, or `q` itself on a wide lane (row A).
    pub y: Column<Advice>,
    /// Fixed gate selector, 1 on row A.
    pub q_lk: Column<Fixed>,
    /// Lookup selector: the function on row A, the remainder's range on row B.
    pub sel: Column<Fixed>,
    /// Table tag of the lane's function on row A, the range tag on row B.
    pub tag: Column<Fixed>,
    /// 1 when the lane rescales `v` by `2^s` (round half up), 0 when `q = v`.
    pub rs: Column<Fixed>,
}

/// Advice columns of one lane.
pub const LANE_WIDTH: usize = 3;
/// Rows of one lane assignment (A and B).
pub const LANE_ROWS: usize = 2;

/// Columns of the lookup chip: its lanes and the shared tagged table.
#[derive(Clone, Debug)]
pub struct LookupConfig {
    /// The lanes, each on [`LANE_WIDTH`] grid columns.
    pub lanes: Vec<LaneConfig>,
    /// Table column: function or range tag.
    pub t_tag: Column<Fixed>,
    /// Table column: function input `x` (or remainder `i`).
    pub t_in: Column<Fixed>,
    /// Table column: function output `f(x)` (0 on range rows).
    pub t_out: Column<Fixed>,
    /// Fractional bits `s`: the rescale divisor is `2^s`, the remainder range `[0, 2^s)`.
    pub scale_bits: u32,
}

/// Chip proving rescales and non-linear functions by lookups into one tagged fixed table.
#[derive(Clone, Debug)]
pub struct LookupChip {
    /// The lanes and table columns.
    pub config: LookupConfig,
}

/// The cells of one assigned lane.
pub struct LaneCells<'v> {
    /// The input cell `v`.
    pub v: AssignedCell<&'v Assigned<Fr>, Fr>,
    /// The output cell `y`.
    pub y: AssignedCell<&'v Assigned<Fr>, Fr>,
}

impl LookupChip {
    /// `adv` supplies [`LANE_WIDTH`] advice columns per lane.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        adv: &[Column<Advice>],
        lanes: usize,
        scale_bits: u32,
    ) -> LookupConfig {
        assert!(adv.len() >= LANE_WIDTH * lanes && scale_bits >= 1);
        let t_tag = meta.fixed_column();
        let t_in = meta.fixed_column();
        let t_out = meta.fixed_column();
        let half = Fr::from(1u64 << (scale_bits - 1));
        let dm1 = Fr::from((1u64 << scale_bits) - 1);
        let lanes: Vec<LaneConfig> = (0..lanes)
            .map(|j| LaneConfig {
                v: adv[LANE_WIDTH * j],
                q: adv[LANE_WIDTH * j + 1],
                y: adv[LANE_WIDTH * j + 2],
                q_lk: meta.fixed_column(),
                sel: meta.fixed_column(),
                tag: meta.fixed_column(),
                rs: meta.fixed_column(),
            })
            .collect();
        for l in &lanes {
            if trustml_kit::mutation::keep("rescale") {
                meta.create_gate("rescale", |meta| {
                    trustml_kit::mutation::constraints("rescale", {
                        let (q_lk, sel, rs) =
                            (cur_f(meta, l.q_lk), cur_f(meta, l.sel), cur_f(meta, l.rs));
                        let (v, q, y) = (cur_a(meta, l.v), cur_a(meta, l.q), cur_a(meta, l.y));
                        let r = meta.query_advice(l.q, Rotation::next());
                        let one = Expression::Constant(Fr::one());
                        vec![
                            q_lk.clone() * (one.clone() - sel) * (y - q.clone()),
                            q_lk.clone()
                                * (v + rs.clone() * Expression::Constant(half)
                                    - q * (one.clone() + rs.clone() * Expression::Constant(dm1))
                                    - r.clone()),
                            q_lk * (one - rs) * r,
                        ]
                    })
                });
            }
            if trustml_kit::mutation::keep("function or remainder range") {
                meta.lookup_any("function or remainder range", |meta| {
                    let sel = cur_f(meta, l.sel);
                    vec![
                        (sel.clone() * cur_f(meta, l.tag), cur_f(meta, t_tag)),
                        (sel.clone() * cur_a(meta, l.q), cur_f(meta, t_in)),
                        (sel * cur_a(meta, l.y), cur_f(meta, t_out)),
                    ]
                });
            }
        }
        LookupConfig {
            lanes,
            t_tag,
            t_in,
            t_out,
            scale_bits,
        }
    }

    /// Rows the table needs: every function's domain, then the remainder range.
    pub fn table_rows(funcs: &FuncSet, qp: &QuantParams) -> usize {
        funcs.rows(qp) + (1 << qp.scale_bits)
    }

    /// The table tag of the remainder range (after every function's tag).
    pub fn range_tag(funcs: &FuncSet) -> u64 {
        funcs.funcs.len() as u64
    }

    /// Fills the range and function tables from row 0.
    pub fn assign_tables(
        &self,
        region: &mut Region<'_, Fr>,
        funcs: &FuncSet,
        qp: &QuantParams,
    ) -> Result<(), Error> {
        let c = &self.config;
        assert_eq!(c.scale_bits, qp.scale_bits);
        let mut row = 0;
        for tag in 0..funcs.funcs.len() {
            for (x, y) in funcs.points(tag, qp) {
                region.assign_fixed(c.t_tag, row, Fr::from(tag as u64));
                region.assign_fixed(c.t_in, row, fe(x as i128));
                region.assign_fixed(c.t_out, row, fe(y as i128));
                row += 1;
            }
        }
        let range = Fr::from(Self::range_tag(funcs));
        for i in 0..(1u64 << qp.scale_bits) {
            region.assign_fixed(c.t_tag, row, range);
            region.assign_fixed(c.t_in, row, Fr::from(i));
            row += 1;
        }
        Ok(())
    }

    /// Assigns lane `lane` at rows `row` (A) and `row + 1` (B): `y = f_tag(round(v / 2^s))`
    /// (or `f_tag(v)`); with
    /// `tag = None` a wide lane, `y = round(v / 2^s)` without the function table.
    /// `v` is the exact integer (its witness), or `None` at key generation.
    #[allow(clippy::too_many_arguments)]
    pub fn assign_lane<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        lane: usize,
        v: Option<i128>,
        rescaled: bool,
        tag: Option<usize>,
        funcs: &FuncSet,
        qp: &QuantParams,
    ) -> Result<LaneCells<'v>, Error> {
        let l = &self.config.lanes[lane];
        let bit = |b: bool| if b { Fr::one() } else { Fr::zero() };
        region.assign_fixed(l.q_lk, row, Fr::one());
        region.assign_fixed(l.sel, row, bit(tag.is_some()));
        region.assign_fixed(l.tag, row, Fr::from(tag.unwrap_or(0) as u64));
        region.assign_fixed(l.rs, row, bit(rescaled));
        // Row B: the remainder's range check (only needed when rescaling).
        region.assign_fixed(l.sel, row + 1, bit(rescaled));
        region.assign_fixed(l.tag, row + 1, Fr::from(Self::range_tag(funcs)));
        let parts = v.map(|v| {
            let (q, r) = if rescaled {
                rescale(v, qp.scale_bits)
            } else {
                (v, 0)
            };
            let y = match tag {
                Some(t) => i64::try_from(q)
                    .map(|q| funcs.apply(t, q, qp) as i128)
                    .unwrap_or(0),
                None => q,
            };
            (v, q, r, y)
        });
        let val = |f: fn(&(i128, i128, i128, i128)) -> i128| match parts {
            Some(p) => Value::known(fe(f(&p))),
            None => Value::unknown(),
        };
        let vc = region.assign_advice(l.v, row, val(|p| p.0));
        region.assign_advice(l.q, row, val(|p| p.1));
        region.assign_advice(l.q, row + 1, val(|p| p.2));
        if rescaled {
            // Row B's lookup reads (RANGE, r, y): y is the range rows' 0. Without a rescale
            // nothing reads it, so it stays unassigned.
            region.assign_advice(l.y, row + 1, Value::known(Fr::zero()));
        }
        let yc = region.assign_advice(l.y, row, val(|p| p.3));
        Ok(LaneCells { v: vc, y: yc })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Func;
    use halo2_proofs::circuit::Cell;
    use trustml_kit::mock::{chip_accepts as accepts, chip_check, ChipTest, Failure, TestCols};

    const QP: QuantParams = QuantParams {
        scale_bits: 4,
        lookup_bits: 6,
    };

    /// `(v, rescaled, func)` per lane; `forge` overwrites `(q, r, y)` of lane 0.
    #[derive(Clone, Default)]
    struct Case {
        items: Vec<(i128, bool, Func)>,
        forge: Option<(i128, i128, i128)>,
        /// Every lane skips the function table.
        wide: bool,
    }

    impl ChipTest for Case {
        type Chip = (LookupChip, FuncSet);
        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &TestCols, case: &Self) -> Self::Chip {
            let mut funcs = FuncSet::default();
            for (_, _, f) in &case.items {
                funcs.tag(*f);
            }
            (
                LookupChip {
                    config: LookupChip::configure(meta, &cols.adv, 2, QP.scale_bits),
                },
                funcs,
            )
        }
        fn assign(
            &self,
            (chip, funcs): &Self::Chip,
            region: &mut Region<'_, Fr>,
        ) -> Result<Vec<Cell>, Error> {
            chip.assign_tables(region, funcs, &QP)?;
            let mut out = vec![];
            for (i, &(v, rs, f)) in self.items.iter().enumerate() {
                let mut fs = funcs.clone();
                let tag = fs.tag(f);
                let tag = if self.wide { None } else { Some(tag) };
                let row = LANE_ROWS * (i / 2);
                let cells = chip.assign_lane(region, row, i % 2, Some(v), rs, tag, funcs, &QP)?;
                if i == 0 {
                    if let Some((q, r, y)) = self.forge {
                        let l = &chip.config.lanes[0];
                        region.assign_advice(l.q, 0, Value::known(fe(q)));
                        region.assign_advice(l.q, 1, Value::known(fe(r)));
                        let yc = region.assign_advice(l.y, 0, Value::known(fe(y)));
                        out.push(yc.cell());
                        continue;
                    }
                }
                out.push(cells.y.cell());
            }
            Ok(out)
        }
    }

    fn expect(items: &[(i128, bool, Func)]) -> Vec<Fr> {
        items
            .iter()
            .map(|&(v, rs, f)| {
                let q = if rs { rescale(v, QP.scale_bits).0 } else { v };
                fe(f.apply(q as i64, &QP) as i128)
            })
            .collect()
    }

    #[test]
    fn honest_lanes_verify() {
        let items = vec![
            (37, true, Func::Relu),      // 37/16 = 2.31 -> 2
            (-40, true, Func::Relu),     // -> 0
            (-40, true, Func::Identity), // -2.5 -> -2
            (31, false, Func::Identity),
            (-32, false, Func::Sigmoid),
            (500, true, Func::Tanh),
        ];
        assert!(accepts(
            Case {
                items: items.clone(),
                forge: None,
                wide: false
            },
            expect(&items)
        ));
    }

    #[test]
    fn wrong_output_is_rejected() {
        let items = vec![(37, true, Func::Relu), (5, false, Func::Identity)];
        let mut want = expect(&items);
        want[1] += Fr::one();
        assert!(!accepts(
            Case {
                items,
                forge: None,
                wide: false
            },
            want
        ));
    }

    #[test]
    fn forged_quotient_is_rejected() {
        // v = 37: honest (q, r) = (2, 13). Claim q = 3 with r = -3 (a huge field element).
        let items = vec![(37, true, Func::Identity)];
        assert!(!accepts(
            Case {
                items: items.clone(),
                forge: Some((3, -3, 3)),
                wide: false
            },
            vec![fe(3)]
        ));
        // Remainder out of range: q = 1, r = 29.
        assert!(!accepts(
            Case {
                items: items.clone(),
                forge: Some((1, 29, 1)),
                wide: false
            },
            vec![fe(1)]
        ));
        // q = 3 with the honest remainder 13 and y = f(3): every lookup holds (3 is in the
        // domain, 13 in range), only the rescale relation v + 2^(s-1) = 2^s·q + r refuses.
        let fails = chip_check(
            Case {
                items: items.clone(),
                forge: Some((3, 13, 3)),
                wide: false,
            },
            vec![fe(3)],
        )
        .unwrap_err();
        assert_eq!(
            fails.into_iter().collect::<Vec<_>>(),
            vec![Failure::Gate {
                gate: "rescale".into(),
                constraint: String::new()
            }]
        );
        // Without rescale, q must equal v: q = 30, r = 1 for v = 31.
        let items = vec![(31, false, Func::Identity)];
        assert!(!accepts(
            Case {
                items,
                forge: Some((30, 1, 30)),
                wide: false
            },
            vec![fe(30)]
        ));
    }

    #[test]
    fn out_of_domain_input_is_rejected() {
        // 32 is outside [-32, 32): no table row, even with a "correct" relu output.
        let items = vec![(32, false, Func::Relu)];
        assert!(!accepts(
            Case {
                items,
                forge: Some((32, 0, 32)),
                wide: false
            },
            vec![fe(32)]
        ));
    }

    #[test]
    fn wide_lanes_skip_the_table_but_keep_y_equal_q() {
        // 5000/16 = 312.5 -> 313: far outside the 6-bit domain, fine in a wide lane.
        let items = vec![(5000, true, Func::Identity), (-7000, false, Func::Identity)];
        assert!(accepts(
            Case {
                items: items.clone(),
                forge: None,
                wide: true
            },
            vec![fe(313), fe(-7000)]
        ));
        assert!(!accepts(
            Case {
                items: items.clone(),
                forge: None,
                wide: true
            },
            vec![fe(312), fe(-7000)]
        ));
        // y must equal q even without the table: (q, r) honest (313, 0), y = 314; only the
        // gate's `y = q` polynomial can refuse it.
        let fails = chip_check(
            Case {
                items: items.clone(),
                forge: Some((313, 0, 314)),
                wide: true,
            },
            vec![fe(314), fe(-7000)],
        )
        .unwrap_err();
        assert_eq!(
            fails.into_iter().collect::<Vec<_>>(),
            vec![Failure::Gate {
                gate: "rescale".into(),
                constraint: String::new()
            }]
        );
        // The remainder is still range-checked.
        assert!(!accepts(
            Case {
                items,
                forge: Some((312, 24, 312)),
                wide: true
            },
            vec![fe(312), fe(-7000)]
        ));
    }
}
