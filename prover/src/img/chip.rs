//! The two chips of an image edit: the **grid** holds an image's bytes, range-checks them
//! and packs them into the words its commitment hashes; the **affine** chip proves output
//! bytes from input bytes (one [`Row`] per output byte, several lanes per circuit row).
//!
//! # Grid
//!
//! ```text
//! | b_0 … b_9 | acc |      fixed: q, cont; table: bytes 0..255
//! q · (acc − cont·2^80·acc[−1] − Σ_i 2^(8i)·b_i) = 0          "image word"
//! lookup  q · b_i ∈ bytes   (i = 0..9)                          "image byte i"
//! ```
//!
//! A word (30 bytes, little-endian) takes three rows, most significant ten bytes first:
//! `cont = 0` on its first row, 1 on the next two; the last row's `acc` is the word.
//! Bytes past the end of a band are constrained to 0.
//!
//! # Affine lane
//!
//! ```text
//! | x_0 … x_{N−1} | a | q | r_lo | r_hi | out |   fixed: c_0 … c_{N−1}, m, f, e, d, small, sel
//! sel·(Σ c_i·x_i + e − q·d − r_lo − 256·r_hi) + a·(m·x_0 + f) = 0      "affine"
//! small · r_hi = 0                                                      "affine small remainder"
//! lookup  sel·r_lo ∈ bytes                                              "affine remainder low"
//! lookup  sel·(small·(d − 1 − r_lo) + (1 − small)·r_hi) ∈ bytes          "affine remainder high"
//! lookup  (sel·q, sel·out) ∈ {(t, clamp(t − OFF, 0, 255)) : 0 ≤ t < T}   "affine clamp"
//! ```
//!
//! `small = 1` when `d ≤ 256`: then `r = r_lo ≤ d − 1`; otherwise `d = 2^16` and `r = r_lo +
//! 256·r_hi < d`. With `q < T` and `r < d`, `q·d + r < T·d ≤ 2^28`, so the equation holds over
//! the integers and `q = ⌊v/d⌋` is the only solution for the `v ∈ [0, T·d)` that
//! [`super::edit::Plan::check_ranges`] guarantees. The parameter columns `a, m, f` exist only
//! in edits with public parameters; `a` is copied from the parameter's cell (`m = f = 0`
//! elsewhere, so the term vanishes). Taps a row does not use have `c_i = 0`.

use super::edit::{Row, RowValue, CLAMP_DOMAIN, OFF};
use crate::chips::{cur_a, cur_f, ACell};
use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed};
use halo2_proofs::poly::Rotation;
use trustml_kit::field::fe;
use trustml_kit::mutation;

/// Bytes per grid row.
pub const GRID_BYTES: usize = 5;
/// Grid rows per word.
pub const ROWS_PER_WORD: usize = 6;

/// The fixed tables both chips read.
#[derive(Clone, Copy, Debug)]
pub struct Tables {
    /// `0..256`.
    pub bytes: Column<Fixed>,
    /// `t` of the clamp table.
    pub clamp_in: Column<Fixed>,
    /// `clamp(t − OFF)`.
    pub clamp_out: Column<Fixed>,
}

impl Tables {
    /// Three new fixed columns.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        Self {
            bytes: meta.fixed_column(),
            clamp_in: meta.fixed_column(),
            clamp_out: meta.fixed_column(),
        }
    }

    /// Fills the tables from row 0 (the rows past them hold 0, which is `(0, clamp(−OFF))`).
    pub fn assign(&self, region: &mut Region<'_, Fr>) {
        for i in 0..256u64 {
            region.assign_fixed(self.bytes, i as usize, Fr::from(i));
        }
        for t in 0..CLAMP_DOMAIN {
            region.assign_fixed(self.clamp_in, t as usize, Fr::from(t as u64));
            let out = super::edit::clamp(t - OFF);
            region.assign_fixed(self.clamp_out, t as usize, Fr::from(u64::from(out)));
        }
    }
}

/// The grid's columns.
#[derive(Clone, Copy, Debug)]
pub struct GridConfig {
    /// The bytes.
    pub bytes: [Column<Advice>; GRID_BYTES],
    /// The running word.
    pub acc: Column<Advice>,
    /// On at every row of a word.
    pub q: Column<Fixed>,
    /// 0 on a word's first row, else 1.
    pub cont: Column<Fixed>,
}

impl GridConfig {
    /// The grid's gate and lookups over new columns.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, tables: &Tables) -> Self {
        let bytes: [Column<Advice>; GRID_BYTES] = std::array::from_fn(|_| meta.advice_column());
        let acc = meta.advice_column();
        for c in bytes.iter().chain([&acc]) {
            meta.enable_equality(*c);
        }
        let (q, cont) = (meta.fixed_column(), meta.fixed_column());
        if mutation::keep("image word") {
            meta.create_gate("image word", |meta| {
                mutation::constraints("image word", {
                    let (q, cont) = (cur_f(meta, q), cur_f(meta, cont));
                    let prev = meta.query_advice(acc, Rotation::prev());
                    let mut sum = Expression::Constant(Fr::zero());
                    for (i, &b) in bytes.iter().enumerate() {
                        sum = sum + cur_a(meta, b) * Expression::Constant(pow2(8 * i));
                    }
                    vec![
                        q * (cur_a(meta, acc)
                            - cont * prev * Expression::Constant(pow2(8 * GRID_BYTES))
                            - sum),
                    ]
                })
            });
        }
        for (i, &b) in bytes.iter().enumerate() {
            let name = format!("image byte {i}");
            if mutation::keep(&name) {
                meta.lookup_any(name, |meta| {
                    vec![(cur_f(meta, q) * cur_a(meta, b), cur_f(meta, tables.bytes))]
                });
            }
        }
        Self {
            bytes,
            acc,
            q,
            cont,
        }
    }

    /// Lays out `bytes` (one band) from `row` as words: returns the byte cells and the word
    /// cells. Takes `3·⌈len/30⌉` rows.
    pub fn assign_band<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        bytes: &[Value<Fr>],
    ) -> Result<(Vec<ACell<'v>>, Vec<ACell<'v>>), Error> {
        let words = bytes.len().div_ceil(GRID_BYTES * ROWS_PER_WORD);
        let mut cells: Vec<Option<ACell<'v>>> = vec![None; bytes.len()];
        let mut word_cells = Vec::with_capacity(words);
        for w in 0..words {
            let mut acc = Value::known(Fr::zero());
            let mut last = None;
            for g in 0..ROWS_PER_WORD {
                let r = row + ROWS_PER_WORD * w + g;
                region.assign_fixed(self.q, r, Fr::one());
                if g > 0 {
                    region.assign_fixed(self.cont, r, Fr::one());
                }
                // Row g holds bytes 10·(2 − g) … of the word.
                let base = 30 * w + GRID_BYTES * (ROWS_PER_WORD - 1 - g);
                let mut sum = Value::known(Fr::zero());
                for i in 0..GRID_BYTES {
                    let j = base + i;
                    let f = bytes.get(j).copied().unwrap_or(Value::known(Fr::zero()));
                    let c = region.assign_advice(self.bytes[i], r, f);
                    if j < bytes.len() {
                        cells[j] = Some(c);
                    } else {
                        region.constrain_constant(c.cell(), Fr::zero())?;
                    }
                    sum = sum.zip(f).map(|(s, f)| s + f * pow2(8 * i));
                }
                acc = acc.zip(sum).map(|(a, s)| a * pow2(8 * GRID_BYTES) + s);
                last = Some(region.assign_advice(self.acc, r, acc));
            }
            word_cells.push(last.expect("three rows"));
        }
        Ok((
            cells
                .into_iter()
                .map(|c| c.expect("every byte placed"))
                .collect(),
            word_cells,
        ))
    }
}

/// 2^n.
pub fn pow2(n: usize) -> Fr {
    use halo2_proofs::halo2curves::ff::Field;
    Fr::from(2).pow_vartime([n as u64])
}

/// One lane of the affine chip.
#[derive(Clone, Debug)]
pub struct Lane {
    /// Tap columns.
    pub x: Vec<Column<Advice>>,
    /// The parameter (edits with public parameters only).
    pub a: Option<Column<Advice>>,
    /// `⌊v/d⌋`.
    pub q: Column<Advice>,
    /// Remainder, low byte.
    pub r_lo: Column<Advice>,
    /// Remainder, high byte.
    pub r_hi: Column<Advice>,
    /// The output byte.
    pub out: Column<Advice>,
    /// Tap coefficients.
    pub c: Vec<Column<Fixed>>,
    /// The parameter's coefficients `(m, f)`.
    pub mf: Option<(Column<Fixed>, Column<Fixed>)>,
    /// The constant.
    pub e: Column<Fixed>,
    /// The divisor.
    pub d: Column<Fixed>,
    /// 1 when `d ≤ 256`.
    pub small: Column<Fixed>,
    /// On at a used row.
    pub sel: Column<Fixed>,
}

/// The affine chip: `lanes` lanes of `taps` taps.
#[derive(Clone, Debug)]
pub struct AffineConfig {
    /// Its lanes.
    pub lanes: Vec<Lane>,
}

impl AffineConfig {
    /// Configures `lanes` lanes of `taps` taps (with parameter columns when `param`).
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        tables: &Tables,
        taps: usize,
        lanes: usize,
        param: bool,
    ) -> Self {
        let lanes = (0..lanes)
            .map(|_| {
                // Equality only where cells are copied: taps, the parameter, the output.
                let mut adv = |eq: bool| {
                    let c = meta.advice_column();
                    if eq {
                        meta.enable_equality(c);
                    }
                    c
                };
                let x: Vec<_> = (0..taps).map(|_| adv(true)).collect();
                let a = param.then(|| adv(true));
                let (q, r_lo, r_hi, out) = (adv(false), adv(false), adv(false), adv(true));
                let c = (0..taps).map(|_| meta.fixed_column()).collect();
                let mf = param.then(|| (meta.fixed_column(), meta.fixed_column()));
                let lane = Lane {
                    x,
                    a,
                    q,
                    r_lo,
                    r_hi,
                    out,
                    c,
                    mf,
                    e: meta.fixed_column(),
                    d: meta.fixed_column(),
                    small: meta.fixed_column(),
                    sel: meta.fixed_column(),
                };
                Self::gates(meta, tables, &lane);
                lane
            })
            .collect();
        Self { lanes }
    }

    fn gates(meta: &mut ConstraintSystem<Fr>, tables: &Tables, l: &Lane) {
        if mutation::keep("affine") {
            meta.create_gate("affine", |meta| {
                mutation::constraints("affine", {
                    let sel = cur_f(meta, l.sel);
                    let mut v = cur_f(meta, l.e);
                    for (&x, &c) in l.x.iter().zip(&l.c) {
                        v = v + cur_f(meta, c) * cur_a(meta, x);
                    }
                    let rem = cur_a(meta, l.r_lo)
                        + cur_a(meta, l.r_hi) * Expression::Constant(Fr::from(256));
                    let mut poly = sel * (v - cur_a(meta, l.q) * cur_f(meta, l.d) - rem);
                    if let (Some(a), Some((m, f))) = (l.a, l.mf) {
                        let x0 = cur_a(meta, l.x[0]);
                        poly = poly + cur_a(meta, a) * (cur_f(meta, m) * x0 + cur_f(meta, f));
                    }
                    vec![poly]
                })
            });
        }
        if mutation::keep("affine small remainder") {
            meta.create_gate("affine small remainder", |meta| {
                mutation::constraints("affine small remainder", {
                    vec![cur_f(meta, l.small) * cur_a(meta, l.r_hi)]
                })
            });
        }
        if mutation::keep("affine remainder low") {
            meta.lookup_any("affine remainder low", |meta| {
                vec![(
                    cur_f(meta, l.sel) * cur_a(meta, l.r_lo),
                    cur_f(meta, tables.bytes),
                )]
            });
        }
        if mutation::keep("affine remainder high") {
            // One lookup for the rest of the remainder: `d − 1 − r_lo` when `d ≤ 256` (then
            // `r_hi = 0` by the gate above), `r_hi` when `d = 2^16`.
            meta.lookup_any("affine remainder high", |meta| {
                let (sel, small) = (cur_f(meta, l.sel), cur_f(meta, l.small));
                let bound =
                    cur_f(meta, l.d) - Expression::Constant(Fr::one()) - cur_a(meta, l.r_lo);
                let one = Expression::Constant(Fr::one());
                let high = small.clone() * bound + (one - small) * cur_a(meta, l.r_hi);
                vec![(sel * high, cur_f(meta, tables.bytes))]
            });
        }
        if mutation::keep("affine clamp") {
            meta.lookup_any("affine clamp", |meta| {
                let sel = cur_f(meta, l.sel);
                vec![
                    (sel.clone() * cur_a(meta, l.q), cur_f(meta, tables.clamp_in)),
                    (sel * cur_a(meta, l.out), cur_f(meta, tables.clamp_out)),
                ]
            });
        }
    }

    /// Lays out `row` in lane `lane` at circuit row `at`: copies its taps from `inputs`, the
    /// parameter from `params`, and returns the output cell. `value` is the row's value
    /// (unknown during key generation).
    #[allow(clippy::too_many_arguments)]
    pub fn assign_row<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        lane: usize,
        at: usize,
        row: &Row,
        inputs: &[ACell<'v>],
        params: &[ACell<'v>],
        value: Value<RowValue>,
    ) -> Result<ACell<'v>, Error> {
        let l = &self.lanes[lane];
        region.assign_fixed(l.sel, at, Fr::one());
        region.assign_fixed(l.e, at, fe(i128::from(row.e)));
        region.assign_fixed(l.d, at, Fr::from(u64::from(row.d)));
        if row.d <= 256 {
            region.assign_fixed(l.small, at, Fr::one());
        }
        for (i, &(src, c)) in row.taps().iter().enumerate() {
            region.assign_fixed(l.c[i], at, fe(i128::from(c)));
            inputs[src as usize].copy_advice(region, l.x[i], at);
        }
        if let Some(p) = row.param {
            let (a, (m, f)) = (
                l.a.expect("a parameter lane"),
                l.mf.expect("a parameter lane"),
            );
            region.assign_fixed(m, at, fe(i128::from(p.m)));
            region.assign_fixed(f, at, fe(i128::from(p.f)));
            params[p.index].copy_advice(region, a, at);
        }
        region.assign_advice(l.q, at, value.map(|v| fe(i128::from(v.q))));
        region.assign_advice(l.r_lo, at, value.map(|v| fe(i128::from(v.r & 255))));
        region.assign_advice(l.r_hi, at, value.map(|v| fe(i128::from(v.r >> 8))));
        Ok(region.assign_advice(l.out, at, value.map(|v| Fr::from(u64::from(v.out)))))
    }
}
