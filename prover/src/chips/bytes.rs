//! Byte decomposition by a running sum: proves `v ∈ [0, 256^n)` and exposes its prefixes.
//!
//! ```text
//! | byte | z |      fixed: q_b; table t = 0..255
//! q_b · (z − 256·z[-1] − byte) = 0
//! lookup  q_b · byte ∈ t
//! ```
//! A decomposition of `n` bytes takes `n + 1` rows: `z_0 = 0` (copied from the constant 0)
//! then, most significant byte first, `z_k = 256·z_{k−1} + byte_k`, so `z_n = v` and `z_k` is
//! the value of the top `k` bytes (a limb of `v` is a difference of two prefixes). One
//! lookup argument serves every decomposition: the bytes are laid out vertically.
//!
//! A lane may also carry a function table in the same lookup argument
//! ([`BytesChip::configure_with_function`]), for a circuit that needs one small table and
//! wants no second lookup (each costs commitments and verifier code):
//! ```text
//! | x (byte) | y (z) |      fixed: q_f; table (tag, t, out) = {(0, i, 0) : i < 256} ∪ {(1, x, f(x))}
//! lookup  (q_f, (q_b + q_f)·byte, q_f·z) ∈ (tag, t, out)
//! ```
//! A byte row looks up `(0, byte, 0)`, a function row `(1, x, y)`; neither can pass for the
//! other (the tag), and a row with neither selector looks up `(0, 0, 0)`. A function row's
//! `z` is never a decomposition's `z[-1]` (every decomposition starts at its own `z_0`).

use super::{cur_a, cur_f};
use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed};
use halo2_proofs::poly::Rotation;

/// Columns of the byte chip.
#[derive(Clone, Copy, Debug)]
pub struct BytesConfig {
    /// One byte per row.
    pub byte: Column<Advice>,
    /// The running sum.
    pub z: Column<Advice>,
    /// Selector (a fixed column: it appears in the lookup input).
    pub q: Column<Fixed>,
    /// The table `0..256` (the rows past 255 hold 0).
    pub table: Column<Fixed>,
    /// The function table sharing the lookup, if the lane has one.
    pub func: Option<FunctionColumns>,
}

/// Columns of a function table in a byte lane's lookup (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct FunctionColumns {
    /// Selector of a function row.
    pub q: Column<Fixed>,
    /// Table column: 0 on byte rows, 1 on function rows.
    pub tag: Column<Fixed>,
    /// Table column: `f(x)` (0 on byte rows).
    pub out: Column<Fixed>,
}

/// Chip decomposing values into bytes.
#[derive(Clone, Copy, Debug)]
pub struct BytesChip {
    /// Its columns.
    pub config: BytesConfig,
}

pub use super::ACell;

/// The big-endian bytes of `v`'s canonical integer, the last `n` of them.
pub fn be_bytes(v: &Fr, n: usize) -> Vec<u8> {
    let mut le = v.to_repr().as_ref().to_vec();
    le.reverse();
    le[32 - n..].to_vec()
}

impl BytesChip {
    /// Creates the selector and table columns, the gate and the lookup over `byte` and `z`
    /// (`z` is made equality-enabled; the circuit needs a constants column).
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        byte: Column<Advice>,
        z: Column<Advice>,
    ) -> BytesConfig {
        Self::configure_lane(meta, byte, z, false)
    }

    /// [`BytesChip::configure`] with a function table in the same lookup (the module docs);
    /// `byte` is made equality-enabled too (it holds a function's `x`).
    pub fn configure_with_function(
        meta: &mut ConstraintSystem<Fr>,
        byte: Column<Advice>,
        z: Column<Advice>,
    ) -> BytesConfig {
        Self::configure_lane(meta, byte, z, true)
    }

    fn configure_lane(
        meta: &mut ConstraintSystem<Fr>,
        byte: Column<Advice>,
        z: Column<Advice>,
        with_function: bool,
    ) -> BytesConfig {
        let q = meta.fixed_column();
        let table = meta.fixed_column();
        meta.enable_equality(z);
        if trustml_kit::mutation::keep("bytes") {
            meta.create_gate("bytes", |meta| {
                trustml_kit::mutation::constraints("bytes", {
                    let q = cur_f(meta, q);
                    let (b, cur) = (cur_a(meta, byte), cur_a(meta, z));
                    let prev = meta.query_advice(z, Rotation::prev());
                    vec![q * (cur - prev * Expression::Constant(Fr::from(256)) - b)]
                })
            });
        }
        let func = with_function.then(|| {
            meta.enable_equality(byte);
            FunctionColumns {
                q: meta.fixed_column(),
                tag: meta.fixed_column(),
                out: meta.fixed_column(),
            }
        });
        if trustml_kit::mutation::keep("byte range") {
            meta.lookup_any("byte range", |meta| {
                let q = cur_f(meta, q);
                let b = cur_a(meta, byte);
                match func {
                    None => vec![(q * b, cur_f(meta, table))],
                    Some(f) => {
                        let qf = cur_f(meta, f.q);
                        vec![
                            (qf.clone(), cur_f(meta, f.tag)),
                            ((q + qf.clone()) * b, cur_f(meta, table)),
                            (qf * cur_a(meta, z), cur_f(meta, f.out)),
                        ]
                    }
                }
            });
        }
        BytesConfig {
            byte,
            z,
            q,
            table,
            func,
        }
    }

    /// Fills the function table: `(x, f(x))` pairs from row 256 of the table columns (after
    /// the bytes). Panics if the lane has no function table.
    pub fn assign_function_table(&self, region: &mut Region<'_, Fr>, pairs: &[(Fr, Fr)]) {
        let f = self.config.func.expect("a lane with a function table");
        for (i, &(x, y)) in pairs.iter().enumerate() {
            region.assign_fixed(f.tag, 256 + i, Fr::one());
            region.assign_fixed(self.config.table, 256 + i, x);
            region.assign_fixed(f.out, 256 + i, y);
        }
    }

    /// One function row at `row`: `x` and `y = f(x)`; returns their cells. Panics if the
    /// lane has no function table.
    pub fn assign_function<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        x: Value<Fr>,
        y: Value<Fr>,
    ) -> (ACell<'v>, ACell<'v>) {
        let f = self.config.func.expect("a lane with a function table");
        region.assign_fixed(f.q, row, Fr::one());
        (
            region.assign_advice(self.config.byte, row, x),
            region.assign_advice(self.config.z, row, y),
        )
    }

    /// Fills the byte table (256 rows from row 0 of its fixed column).
    pub fn assign_table(&self, region: &mut Region<'_, Fr>) {
        for i in 0..256u64 {
            region.assign_fixed(self.config.table, i as usize, Fr::from(i));
        }
    }

    /// Decomposes `v` into `n` bytes at rows `row..=row + n` and returns `[z_0, …, z_n]`
    /// (`z_n` holds `v`: copy-constrain it to `v`'s cell). A `v` of more than `n` bytes
    /// cannot be laid out honestly: the last `z` then differs from `v`.
    pub fn decompose<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        v: Value<Fr>,
        n: usize,
    ) -> Result<Vec<ACell<'v>>, Error> {
        self.decompose_from(region, row, v, n, None)
    }

    /// [`BytesChip::decompose`] with `z_0` copied from `zero` (a cell holding the constant
    /// 0) when given, instead of a constant of its own: a circuit with thousands of
    /// decompositions then spends one constant, not one row of the constants column each.
    pub fn decompose_from<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        v: Value<Fr>,
        n: usize,
        zero: Option<&ACell<'v>>,
    ) -> Result<Vec<ACell<'v>>, Error> {
        let c = &self.config;
        let bytes: Value<Vec<u8>> = v.map(|v| be_bytes(&v, n));
        let z0 = region.assign_advice(c.z, row, Value::known(Fr::zero()));
        match zero {
            Some(zero) => region.constrain_equal(z0.cell(), zero.cell()),
            None => region.constrain_constant(z0.cell(), Fr::zero())?,
        }
        let mut zs = vec![z0];
        let mut acc = Value::known(Fr::zero());
        for k in 0..n {
            let r = row + 1 + k;
            region.assign_fixed(c.q, r, Fr::one());
            let b = bytes.as_ref().map(|bs| Fr::from(u64::from(bs[k])));
            region.assign_advice(c.byte, r, b);
            acc = acc.zip(b).map(|(a, b)| a * Fr::from(256) + b);
            zs.push(region.assign_advice(c.z, r, acc));
        }
        Ok(zs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::circuit::Cell;
    use trustml_kit::cells::{check_forged_all, free_cells, Forge};
    use trustml_kit::mock::{chip_check, ChipCircuit, ChipTest, Failure, TestCols};

    #[derive(Clone, Default)]
    struct Case {
        v: Fr,
        n: usize,
    }

    impl ChipTest for Case {
        type Chip = BytesChip;
        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &TestCols, _: &Self) -> BytesChip {
            BytesChip {
                config: BytesChip::configure(meta, cols.adv[0], cols.adv[1]),
            }
        }
        fn assign(
            &self,
            chip: &BytesChip,
            region: &mut Region<'_, Fr>,
        ) -> Result<Vec<Cell>, Error> {
            chip.assign_table(region);
            let zs = chip.decompose(region, 0, Value::known(self.v), self.n)?;
            // Expose v and the top-half prefix.
            Ok(vec![zs[self.n].cell(), zs[self.n / 2].cell()])
        }
    }

    #[test]
    fn decomposes_and_exposes_prefixes() {
        let v = Fr::from(0x0102_0304_0506_0708u64);
        let c = Case { v, n: 8 };
        assert_eq!(
            chip_check(c.clone(), vec![v, Fr::from(0x0102_0304u64)]),
            Ok(())
        );
        // v of more bytes than n: its top bytes are dropped, so z_n is not v.
        let big = Fr::from(u64::MAX) + Fr::one(); // 2^64: nine bytes
        let c = Case { v: big, n: 8 };
        assert!(chip_check(c, vec![big, Fr::zero()]).is_err());
    }

    #[test]
    fn a_byte_out_of_range_is_refused_by_the_lookup() {
        // The last byte 0x08 forged to 0x108 and z_8 to 256·z_7 + 0x108 = v + 0x100: the
        // gate holds, only the byte lookup refuses.
        let v = Fr::from(0x0102_0304_0506_0708u64);
        let c = ChipCircuit(Case { v, n: 8 });
        let forged = v + Fr::from(0x100);
        let forges = [
            Forge {
                column: 0,
                row: 8,
                value: Fr::from(0x108),
                propagate: true,
            },
            Forge {
                column: 1,
                row: 8,
                value: forged,
                propagate: true,
            },
        ];
        let e = check_forged_all(
            10,
            &c,
            vec![vec![forged, Fr::from(0x0102_0304u64)]],
            &forges,
        )
        .unwrap_err();
        assert_eq!(
            e.into_iter().collect::<Vec<_>>(),
            vec![Failure::Lookup {
                name: "byte range".into()
            }]
        );
    }

    #[test]
    fn no_free_cells() {
        let v = Fr::from(0xdead_beef_u64);
        let c = ChipCircuit(Case { v, n: 6 });
        let r = free_cells(10, &c, vec![vec![v, Fr::from(0xdeu64)]], 8);
        assert!(
            r.free.is_empty() && r.dead.is_empty(),
            "{:?} {:?}",
            r.free,
            r.dead
        );
    }
}
