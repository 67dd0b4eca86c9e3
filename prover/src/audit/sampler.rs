//! In-circuit sampling for audits: the index a seed selects, and the dataset leaf at that
//! index proven in the Merkle tree — what makes "the prover never chooses a sample" a
//! constraint rather than a promise.
//!
//! [`SamplerChip::sample_index`] proves, for public `seed`, `j` and `N`:
//! ```text
//! h    = compress(DOM_IDX, seed, j)      one Poseidon permutation of [DOM_IDX, seed, j]
//! h    = Σ byte_k·256^(31−k)           32 bytes, each in [0, 256)          (BytesChip)
//! L3   = top 8 bytes;  R3 − 1 − L3 ∈ [0, 2^64)                              (canonical)
//! lo   = h − 2^64·(top 24 bytes)       the low 64 bits
//! lo·N = idx·2^64 + rem,  rem ∈ [0, 2^64),  N − 1 − idx ∈ [0, 2^32)         (idx = ⌊lo·N/2^64⌋)
//! idx  = Σ bit_k·2^k,  bit_k·(bit_k − 1) = 0,  k < d                        (path directions)
//! ```
//! *Canonical*: the byte decomposition of `h + r` (also < 2^256 for most `h`) would give the
//! prover a second `lo`, i.e. a choice between two indices. Requiring the top limb below
//! r's top limb `R3` excludes every decomposition ≥ r; an honest `h` fails it only when its
//! top 64 bits equal `R3` exactly (probability < 2^-61 per sample).
//! `idx` is unique: `lo·N < 2^96`, so `idx·2^64 + rem` equals it as integers.
//!
//! [`SamplerChip::merkle_root`] climbs from a leaf with the direction bits:
//! `left = cur + bit·(sib − cur)`, `right = sib − bit·(sib − cur)`,
//! `cur ← compress(DOM_NODE, left, right)` — the tree of [`super::dataset`].
//!
//! Linear relations use the model's [`ArithChip`]; ranges the [`BytesChip`]; hashes the
//! Poseidon chip. The chip keeps its own row cursor over its columns (halo2-axiom's
//! `SimpleFloorPlanner` places regions at absolute rows).

use super::{DOM_IDX, DOM_NODE};
use crate::chips::arith::ArithChip;
use crate::chips::bytes::{be_bytes, BytesChip};
use crate::chips::pack;
use crate::packing::InputPacking;
use halo2_proofs::circuit::{Layouter, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::plonk::Error;
use std::cell::Cell as StdCell;
use trustml_poseidon::PoseidonChip;

pub use crate::chips::ACell;

/// Deepest tree the sampler proves paths in (`N ≤ 2^32`).
pub const MAX_DEPTH: usize = 32;

/// `2^64` in the field.
fn two64() -> Fr {
    Fr::from(u64::MAX) + Fr::one()
}

/// The top 64 bits of the BN254 scalar modulus r.
fn r_top() -> u64 {
    let m = Fr::MODULUS.trim_start_matches("0x");
    u64::from_str_radix(&m[..16], 16).expect("hex modulus")
}

/// The sampler: arithmetic rows, byte decompositions and Poseidon.
pub struct SamplerChip<'a> {
    /// Linear relations.
    pub arith: &'a ArithChip,
    /// Ranges.
    pub bytes: &'a BytesChip,
    /// Hashes.
    pub poseidon: &'a PoseidonChip,
    next_row: StdCell<usize>,
}

impl<'a> SamplerChip<'a> {
    /// A sampler laying its arithmetic and byte rows from `start_row` on.
    pub fn new(
        arith: &'a ArithChip,
        bytes: &'a BytesChip,
        poseidon: &'a PoseidonChip,
        start_row: usize,
    ) -> Self {
        Self {
            arith,
            bytes,
            poseidon,
            next_row: StdCell::new(start_row),
        }
    }

    /// First row not yet used.
    pub fn next_row(&self) -> usize {
        self.next_row.get()
    }

    fn take(&self, rows: usize) -> usize {
        let r = self.next_row.get();
        self.next_row.set(r + rows);
        r
    }

    /// A cell holding the constant `c` (in the arithmetic column `a`).
    fn constant<'v>(&self, layouter: &mut impl Layouter<Fr>, c: Fr) -> Result<ACell<'v>, Error> {
        let row = self.take(1);
        layouter.assign_region(
            || "constant",
            |mut region| {
                let cell = region.assign_advice(self.arith.config.a, row, Value::known(c));
                region.constrain_constant(cell.cell(), c)?;
                Ok(cell)
            },
        )
    }

    /// One arithmetic row `c = k0·a·b + k1·a + k2·b + k3` whose `a` and `b` are copies of
    /// the given cells (or fresh witnesses).
    fn arith_row<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        a: Operand<'_, 'v>,
        b: Operand<'_, 'v>,
        k: [Fr; 4],
    ) -> Result<[ACell<'v>; 3], Error> {
        let cells = self
            .arith
            .assign_fr(region, *row, a.value(), b.value(), k)?;
        a.bind(region, &cells[0]);
        b.bind(region, &cells[1]);
        *row += 1;
        Ok(cells)
    }

    /// Proves `v ∈ [0, 256^n)` by decomposing it at `row` (advancing `row`); returns the
    /// prefixes `z_0..z_n`.
    fn range<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: &mut usize,
        v: &ACell<'v>,
        n: usize,
    ) -> Result<Vec<ACell<'v>>, Error> {
        let zs = self
            .bytes
            .decompose(region, *row, v.value().map(|x| x.evaluate()), n)?;
        region.constrain_equal(zs[n].cell(), v.cell());
        *row += n + 1;
        Ok(zs)
    }

    /// The index ordinal `j` selects among `n` samples (see the module docs), and its `depth`
    /// direction bits, least significant first. `seed`, `j` and `n` are cells of the caller
    /// (typically copies of public inputs); `n ≤ 2^depth ≤ 2^32`.
    pub fn sample_index<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        seed: &ACell<'v>,
        j: &ACell<'v>,
        n: &ACell<'v>,
        depth: usize,
    ) -> Result<(ACell<'v>, Vec<ACell<'v>>), Error> {
        assert!((1..=MAX_DEPTH).contains(&depth), "depth 1..=32");
        let h = self
            .poseidon
            .compress(layouter, Fr::from(DOM_IDX), seed, j)?;
        // Rows: 1 + 33 (h) + 1 + 9 (canonical) + 1 (lo) + 1 + 1 + 9 (rem) + 1 + 5 (idx < N)
        //       + 2·depth (bits) = 62 + 2·depth.
        let start = self.take(62 + 2 * depth);
        layouter.assign_region(
            || "sample index",
            |mut region| {
                let mut row = start;
                let hc =
                    region.assign_advice(self.arith.config.a, row, h.value().map(|v| v.evaluate()));
                region.constrain_equal(hc.cell(), h.cell());
                let h = hc;
                row += 1;
                let zs = self.range(&mut region, &mut row, &h, 32)?;
                // Canonical: R3 − 1 − L3 ∈ [0, 2^64).
                let [_, _, slack] = self.arith_row(
                    &mut region,
                    &mut row,
                    Operand::Copy(&zs[8]),
                    Operand::Zero,
                    [Fr::zero(), -Fr::one(), Fr::zero(), Fr::from(r_top() - 1)],
                )?;
                self.range(&mut region, &mut row, &slack, 8)?;
                // lo = h − 2^64·z_24.
                let [_, _, lo] = self.arith_row(
                    &mut region,
                    &mut row,
                    Operand::Copy(&zs[32]),
                    Operand::Copy(&zs[24]),
                    [Fr::zero(), Fr::one(), -two64(), Fr::zero()],
                )?;
                // p = lo·N; rem = p − 2^64·idx with idx = ⌊p / 2^64⌋.
                let [_, _, p] = self.arith_row(
                    &mut region,
                    &mut row,
                    Operand::Copy(&lo),
                    Operand::Copy(n),
                    [Fr::one(), Fr::zero(), Fr::zero(), Fr::zero()],
                )?;
                // p < 2^96, so idx = p >> 64 < 2^32.
                let idx_value = p.value().map(|p| {
                    let b = be_bytes(&p.evaluate(), 32);
                    Fr::from(u64::from_be_bytes(b[16..24].try_into().expect("8 bytes")))
                });
                let [_, idx, rem] = self.arith_row(
                    &mut region,
                    &mut row,
                    Operand::Copy(&p),
                    Operand::Witness(idx_value),
                    [Fr::zero(), Fr::one(), -two64(), Fr::zero()],
                )?;
                self.range(&mut region, &mut row, &rem, 8)?;
                // idx < N: N − 1 − idx ∈ [0, 2^32).
                let [_, _, room] = self.arith_row(
                    &mut region,
                    &mut row,
                    Operand::Copy(n),
                    Operand::Copy(&idx),
                    [Fr::zero(), Fr::one(), -Fr::one(), -Fr::one()],
                )?;
                self.range(&mut region, &mut row, &room, 4)?;
                // Direction bits: boolean, and Σ bit_k·2^k = idx.
                let mut bits = Vec::with_capacity(depth);
                let mut acc: Option<ACell<'v>> = None;
                for k in 0..depth {
                    let bit = idx.value().map(|i| {
                        let b = be_bytes(&i.evaluate(), 32);
                        Fr::from(u64::from((b[31 - k / 8] >> (k % 8)) & 1))
                    });
                    // bit·bit − bit = 0.
                    let [bc, bc2, zero] = self.arith_row(
                        &mut region,
                        &mut row,
                        Operand::Witness(bit),
                        Operand::Witness(bit),
                        [Fr::one(), -Fr::one(), Fr::zero(), Fr::zero()],
                    )?;
                    region.constrain_equal(bc.cell(), bc2.cell());
                    region.constrain_constant(zero.cell(), Fr::zero())?;
                    // acc_k = acc_{k−1} + 2^k·bit_k.
                    let prev = match &acc {
                        Some(a) => Operand::Copy(a),
                        None => Operand::Zero,
                    };
                    let [_, _, next] = self.arith_row(
                        &mut region,
                        &mut row,
                        prev,
                        Operand::Copy(&bc),
                        [Fr::zero(), Fr::one(), Fr::from(1u64 << k), Fr::zero()],
                    )?;
                    acc = Some(next);
                    bits.push(bc);
                }
                region.constrain_equal(acc.expect("depth ≥ 1").cell(), idx.cell());
                debug_assert_eq!(row, start + 62 + 2 * depth);
                Ok((idx, bits))
            },
        )
    }

    /// The root of the tree over the leaf `leaf` at the path `bits` (least significant
    /// first, as [`SamplerChip::sample_index`] returns them) with `siblings` (bottom up).
    pub fn merkle_root<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        leaf: &ACell<'v>,
        bits: &[ACell<'v>],
        siblings: &[Value<Fr>],
    ) -> Result<ACell<'v>, Error> {
        assert_eq!(bits.len(), siblings.len(), "one sibling per level");
        let mut cur = leaf.clone();
        for (bit, &sib) in bits.iter().zip(siblings) {
            let start = self.take(4);
            let (left, right) = layouter.assign_region(
                || "merkle level",
                |mut region| {
                    let mut row = start;
                    // d = sib − cur; t = bit·d; left = cur + t; right = sib − t.
                    let [s, _, d] = self.arith_row(
                        &mut region,
                        &mut row,
                        Operand::Witness(sib),
                        Operand::Copy(&cur),
                        [Fr::zero(), Fr::one(), -Fr::one(), Fr::zero()],
                    )?;
                    let [_, _, t] = self.arith_row(
                        &mut region,
                        &mut row,
                        Operand::Copy(bit),
                        Operand::Copy(&d),
                        [Fr::one(), Fr::zero(), Fr::zero(), Fr::zero()],
                    )?;
                    let [_, _, left] = self.arith_row(
                        &mut region,
                        &mut row,
                        Operand::Copy(&cur),
                        Operand::Copy(&t),
                        [Fr::zero(), Fr::one(), Fr::one(), Fr::zero()],
                    )?;
                    let [_, _, right] = self.arith_row(
                        &mut region,
                        &mut row,
                        Operand::Copy(&s),
                        Operand::Copy(&t),
                        [Fr::zero(), Fr::one(), -Fr::one(), Fr::zero()],
                    )?;
                    Ok((left, right))
                },
            )?;
            cur = self
                .poseidon
                .compress(layouter, Fr::from(DOM_NODE), &left, &right)?;
        }
        Ok(cur)
    }
}

/// An operand of an arithmetic row.
enum Operand<'c, 'v> {
    /// A copy of an assigned cell.
    Copy(&'c ACell<'v>),
    /// A fresh witness (constrained by the row's relation only).
    Witness(Value<Fr>),
    /// The constant 0.
    Zero,
}

impl<'v> Operand<'_, 'v> {
    fn value(&self) -> Value<Fr> {
        match self {
            Operand::Copy(c) => c.value().map(|v| v.evaluate()),
            Operand::Witness(v) => *v,
            Operand::Zero => Value::known(Fr::zero()),
        }
    }

    fn bind(&self, region: &mut Region<'_, Fr>, cell: &ACell<'v>) {
        match self {
            Operand::Copy(c) => region.constrain_equal(c.cell(), cell.cell()),
            Operand::Witness(_) => {}
            Operand::Zero => {
                region
                    .constrain_constant(cell.cell(), Fr::zero())
                    .expect("the circuit has a constants column");
            }
        }
    }
}

impl SamplerChip<'_> {
    /// The words of `values` packed as a hashed model input ([`crate::packing`]; the
    /// values' ranges are proven by the program's range checks).
    pub fn pack<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        values: &[ACell<'v>],
        packing: &InputPacking,
    ) -> Result<Vec<ACell<'v>>, Error> {
        let start = self.take(pack::rows(values.len()));
        layouter.assign_region(
            || "pack sample",
            |mut region| pack::assign_packed(self.arith, &mut region, start, values, packing),
        )
    }

    /// A cell holding the constant `c`.
    pub fn constant_cell<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        c: Fr,
    ) -> Result<ACell<'v>, Error> {
        self.constant(layouter, c)
    }

    /// `a + c` for a constant `c` (one arithmetic row).
    pub fn add_constant<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        a: &ACell<'v>,
        c: Fr,
    ) -> Result<ACell<'v>, Error> {
        let start = self.take(1);
        layouter.assign_region(
            || "add constant",
            |mut region| {
                let mut row = start;
                let [_, _, out] = self.arith_row(
                    &mut region,
                    &mut row,
                    Operand::Copy(a),
                    Operand::Zero,
                    [Fr::zero(), Fr::one(), Fr::zero(), c],
                )?;
                Ok(out)
            },
        )
    }

    /// A private witness cell (in the arithmetic column `a`); the caller constrains it.
    pub fn witness<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        v: Value<Fr>,
    ) -> Result<ACell<'v>, Error> {
        let row = self.take(1);
        layouter.assign_region(
            || "witness",
            |mut region| Ok(region.assign_advice(self.arith.config.a, row, v)),
        )
    }
}

#[cfg(test)]
#[path = "tests_sampler.rs"]
mod tests;
