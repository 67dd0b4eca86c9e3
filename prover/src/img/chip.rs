//! The two chips of an image edit: the **grid** holds an image's bytes, range-checks them
//! and packs them into the words its commitment hashes; the **affine** chip proves output
//! bytes from input bytes (one [`Row`] per output byte, several lanes per circuit row).
//!
//! # Grid
//!
//! ```text
//! | b_0 … b_{w−1} | acc |      fixed: q, cont; table: bytes 0..255
//! q · (acc − Σ_i 2^(8i)·b_i − cont·2^(8w)·acc[+1]) = 0        "image word"
//! lookup  q · b_i ∈ bytes   (i < w)                             "image byte i"
//! ```
//!
//! With the byte-pair table (wide circuits of `k ≥ 17`: two fixed columns of 2^16 rows), an
//! even `w` checks its bytes two per lookup, each byte against its own table column:
//! `(q·b_2j, q·b_2j+1) ∈ {(i mod 256, ⌊i/256⌋)}` ("image bytes 2j-2j+1"). (A lookup of
//! `b_2j + 256·b_2j+1` alone would not do: `(b + 256, b' − 1)` has the same sum.)
//!
//! A word (30 bytes, little-endian) takes `30/w` rows, least significant bytes first:
//! `cont = 1` on all its rows but the last, so the first row's `acc` is the word. Bytes past
//! the end of a band are constrained to 0.
//!
//! # Table grid (pointwise edits: contrast, brightness, white balance)
//!
//! ```text
//! | b_0 … b_{w−1} | acc_in | o_0 … o_{w−1} | acc_out |   fixed: q, cont, tag, t
//! the "image word" gate on each side (same q, cont): input band k's words beside output
//! band k's, byte for byte
//! lookup  (key_i, q·b_i, q·o_i) ∈ {(tag, t, out)}                      "edit table i"
//! key_i = q·(1 + i mod C), or with 10 bytes a row and C = 3 (a word's rows g = 0, 1, 2
//! start at channels 0, 1, 2): first·(1 + i mod 3) + (cont − first)·(1 + (i + 1) mod 3)
//! + (q − cont)·(1 + (i + 2) mod 3)                                     (fixed: first)
//! ```
//!
//! Each output byte is `f_c(b)` of the input byte `b` at its position, `c` its channel (`C`
//! functions: one for contrast and brightness, three for white balance). The table's rows
//! `j < 256·C` hold `tag = 1 + ⌊j/256⌋`, `t = j mod 256` and, in the column `out` of affine
//! lane 0, `f_c(t)` proven by an affine row reading `t` (a copy of a constant) with the
//! clamp lookup, which bounds it to a byte. Every other row's `tag` is 0, while a byte's key
//! is at least 1 where `q = 1`, so the lookup makes `b` a byte and `o = f_c(b)` — no range
//! lookup per byte, no affine row per byte and no copies. Rows where `q = 0` look up
//! `(0, 0, 0)`, which every row past the table and its affine rows holds. Only pointwise
//! edits of images whose bands are whole words take this layout (a padding byte is 0 on
//! both sides, and `f_c(0)` need not be 0).
//!
//! # Fused grid (per-pixel edits: the colour conversions)
//!
//! ```text
//! | b_0 … b_{w−1} | acc_in | o_0 … o_{w−1} | acc_out | per column i: q_i | r_lo_i | r_hi_i |
//! the "image word" gate on each side (same q, cont), output band k beside input band k
//! column i: an affine lane (below) with x = the bytes of its pixel (b_p, b_p+1, b_p+2,
//! p = i − i mod 3), out = o_i, and the single pattern of channel i mod 3 selected by q
//! ```
//!
//! `w` is 6 or 15, so a grid row holds whole pixels, and every pixel's rows repeat the
//! first pixel's (they differ only by position). Each output byte's row is its grid row: the
//! gate reads the input bytes where the grid range-checks them, so there are no tap
//! columns, no copies and no separate affine rows. The bytes are not equality-enabled
//! (only the accumulators are). With the clamp (YCbCr → RGB), `(q_i, o_i)` in the clamp
//! table bounds `o_i`; without (RGB → YCbCr), `q_i` is `o_i + OFF` and the output grid
//! range-checks `o_i`. With the byte-pair table the two remainder bytes are one lookup,
//! `(q·r_lo_i, q·r_hi_i) ∈ pairs` ("affine remainder").
//!
//! Without it (k = 16, no room for 2^16 rows), the **split remainder** (`top_i` a new
//! column) pairs each remainder part with a byte of its row in the 2^15-row table of
//! (byte, 7-bit) pairs, so that a lane needs two lookups where it had four:
//!
//! ```text
//! unclamped: r = r_lo + 2^7·r_hi + 2^14·top   (q·b_i, q·r_lo), (q·o_i, q·r_hi) ∈ halves
//!            q·top·(top − 1)·(top − 2)·(top − 3) = 0                  "fused remainder top"
//! clamped:   r = r_lo + 2^7·r_hi + 2^15·top   (q·b_i, q·r_lo) ∈ halves, q·r_hi ∈ bytes
//!            q·top·(top − 1) = 0                                      "fused remainder top"
//! ```
//!
//! named "fused remainder low" and "fused remainder high"; neither grid range-checks its
//! bytes then (`b_i` is in lane `i`'s low lookup, `o_i` in its high or clamp lookup). Each
//! part's range makes `r < 2^16 = d`. Only images whose bands are whole
//! words take this layout (a padding byte is 0 on both sides, and the edit of a zero pixel
//! need not be 0).
//!
//! # Affine lane
//!
//! ```text
//! | x_0 … x_{N−1} | a | q | r_lo | r_hi | out |   fixed: c_0 … c_{N−1}, m, f, e, d, small, sel
//! sel·(Σ c_i·x_i + e − q·d − r_lo − 256·r_hi) + a·(m·x_0 + f) = 0      "affine"
//! (with few distinct rows — "patterns" — one selector per pattern replaces the fixed
//! columns, a divisor d | 256 needs only `(256/d)·r_lo ∈ bytes` (no "high" lookup), and
//! the constants go in the gate: Σ_p s_p·(…constants of p…); `q` is `out + OFF`
//! when no output can clamp, `r_hi` exists only with `d = 2^16`, `a` only with parameters)
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
//!
//! # Window lane (wide 3×3 convolutions)
//!
//! ```text
//! | w_0 | w_1 | w_2 | q | r_lo | out |       x_(v,u) = w_v at rotation u − 2
//! ```
//!
//! A sequence is one output row of one channel: its row `j` copies input column `j`'s
//! bytes `(j, y + v, c)` into `w_v` (one column per kernel row in use), and rows `j ≥ 2`
//! prove output `x = j − 2` with the gate above, its taps `p(x + u, y + v)` read from rows
//! `j − 2, j − 1, j` of the same sequence. The selector is off on a sequence's first two
//! rows, so no row reads another sequence's. Each output byte costs three copies (one per
//! kernel row), not one per tap, and a lane has three tap columns, not nine.

use super::edit::{Pattern, Row, RowValue, CLAMP_DOMAIN, OFF};
use super::format::BYTES_PER_WORD;
use crate::chips::{cur_a, cur_f, ACell};
use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Error, Expression, Fixed, VirtualCells,
};
use halo2_proofs::poly::Rotation;
use trustml_kit::field::fe;
use trustml_kit::mutation;

/// Bytes per grid row by default: one (30 rows per word). Each byte column costs a lookup
/// and an equality column in every verifier; rows are nearly free where the Poseidon chip
/// needs more of them anyway.
pub const GRID_BYTES: usize = 1;

/// The fixed tables both chips read. Each fixed column costs a proof about as much as an
/// advice column (halo2-axiom evaluates it on the extended domain every time), so a
/// circuit gets only the tables its lookups read.
#[derive(Clone, Copy, Debug)]
pub struct Tables {
    /// `0..256` (the pair table's low column, when there is one).
    pub bytes: Column<Fixed>,
    /// The clamp table `(t, clamp(t − OFF))`, when an affine row can clamp.
    pub clamp: Option<(Column<Fixed>, Column<Fixed>)>,
    /// The byte-pair table `(i mod 256, ⌊i/256⌋)` for `i < 2^16`, when the grid checks
    /// its bytes two per lookup.
    pub pairs: Option<(Column<Fixed>, Column<Fixed>)>,
    /// The half-pair table `(i mod 256, ⌊i/256⌋)` for `i < 2^15` (a byte and 7 bits), for
    /// a fused grid's split remainders.
    pub halves: Option<(Column<Fixed>, Column<Fixed>)>,
}

/// Rows of the byte-pair table: a circuit with it has `k ≥ 17`.
pub const PAIR_ROWS: usize = 1 << 16;
/// Rows of the half-pair table: a circuit with it has `k ≥ 16`.
pub const HALF_ROWS: usize = 1 << 15;

impl Tables {
    /// The byte table, and the clamp, byte-pair and half-pair tables when asked for (not
    /// both pair tables; a pair table's low column holds every byte, so it is the byte
    /// table too).
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        clamp: bool,
        pairs: bool,
        halves: bool,
    ) -> Self {
        assert!(!(pairs && halves), "one pair table");
        let mut two = |on: bool| on.then(|| (meta.fixed_column(), meta.fixed_column()));
        let (clamp, pairs, halves) = (two(clamp), two(pairs), two(halves));
        Self {
            bytes: match pairs.or(halves) {
                Some((lo, _)) => lo,
                None => meta.fixed_column(),
            },
            clamp,
            pairs,
            halves,
        }
    }

    /// Fills the tables from row 0 (the rows past them hold 0, which is `(0, clamp(−OFF))`
    /// and the pair `(0, 0)`).
    pub fn assign(&self, region: &mut Region<'_, Fr>) {
        let pairs = match (self.pairs, self.halves) {
            (Some(t), _) => Some((t, PAIR_ROWS)),
            (None, Some(t)) => Some((t, HALF_ROWS)),
            (None, None) => None,
        };
        if let Some(((lo, hi), rows)) = pairs {
            for i in 1..rows {
                region.assign_fixed(lo, i, Fr::from((i % 256) as u64));
                region.assign_fixed(hi, i, Fr::from((i / 256) as u64));
            }
        } else {
            for i in 0..256u64 {
                region.assign_fixed(self.bytes, i as usize, Fr::from(i));
            }
        }
        if let Some((t_in, t_out)) = self.clamp {
            for t in 0..CLAMP_DOMAIN {
                region.assign_fixed(t_in, t as usize, Fr::from(t as u64));
                let out = super::edit::clamp(t - OFF);
                region.assign_fixed(t_out, t as usize, Fr::from(u64::from(out)));
            }
        }
    }
}

/// The grid's columns.
#[derive(Clone, Debug)]
pub struct GridConfig {
    /// The bytes of a row (`width` of them; 30 is a multiple of it).
    pub bytes: Vec<Column<Advice>>,
    /// The running word.
    pub acc: Column<Advice>,
    /// On at every row of a word.
    pub q: Column<Fixed>,
    /// 1 on a word's rows but its last.
    pub cont: Column<Fixed>,
    /// 1 on a word's first row (a table grid whose rows start at different channels).
    pub first: Option<Column<Fixed>>,
}

impl GridConfig {
    /// The grid's gate and lookups over `width` new byte columns and an accumulator.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, tables: &Tables, width: usize) -> Self {
        let (q, cont) = (meta.fixed_column(), meta.fixed_column());
        let grid = Self::words(meta, width, q, cont, None, true);
        grid.range_checks(meta, tables, true);
        grid
    }

    /// `width` byte columns and an accumulator under the word gate (selectors `q`, `cont`):
    /// the bytes equality-enabled when `copied` (an affine row or a crop copies them).
    fn words(
        meta: &mut ConstraintSystem<Fr>,
        width: usize,
        q: Column<Fixed>,
        cont: Column<Fixed>,
        first: Option<Column<Fixed>>,
        copied: bool,
    ) -> Self {
        assert!(
            width > 0 && BYTES_PER_WORD.is_multiple_of(width),
            "30 bytes per word"
        );
        let bytes: Vec<Column<Advice>> = (0..width).map(|_| meta.advice_column()).collect();
        let acc = meta.advice_column();
        meta.enable_equality(acc);
        if copied {
            for c in &bytes {
                meta.enable_equality(*c);
            }
        }
        if mutation::keep("image word") {
            meta.create_gate("image word", |meta| {
                mutation::constraints("image word", {
                    let (q, cont) = (cur_f(meta, q), cur_f(meta, cont));
                    let next = meta.query_advice(acc, Rotation::next());
                    let mut sum = Expression::Constant(Fr::zero());
                    for (i, &b) in bytes.iter().enumerate() {
                        sum = sum + cur_a(meta, b) * Expression::Constant(pow2(8 * i));
                    }
                    let shift = Expression::Constant(pow2(8 * bytes.len()));
                    vec![q * (cur_a(meta, acc) - sum - cont * shift * next)]
                })
            });
        }
        Self {
            bytes,
            acc,
            q,
            cont,
            first,
        }
    }

    /// Every byte checked in `0..256`, two per lookup with the byte-pair table; `odd`: also
    /// an odd width's, its last byte alone in the table's low column (a stacked grid: a
    /// fused grid of 15 bytes was set up with a lookup per byte, and keeps it).
    fn range_checks(&self, meta: &mut ConstraintSystem<Fr>, tables: &Tables, odd: bool) {
        let (bytes, q, width) = (&self.bytes, self.q, self.bytes.len());
        match tables.pairs {
            // Two bytes per lookup (each lookup costs three committed columns).
            Some((lo, hi)) if width > 1 && (odd || width.is_multiple_of(2)) => {
                for (j, b) in bytes.chunks(2).enumerate() {
                    let name = match b.len() {
                        2 => format!("image bytes {}-{}", 2 * j, 2 * j + 1),
                        _ => format!("image byte {}", 2 * j),
                    };
                    if mutation::keep(&name) {
                        meta.lookup_any(name, |meta| {
                            let q = cur_f(meta, q);
                            b.iter()
                                .zip([lo, hi])
                                .map(|(&b, t)| (q.clone() * cur_a(meta, b), cur_f(meta, t)))
                                .collect()
                        });
                    }
                }
            }
            _ => {
                for (i, &b) in bytes.iter().enumerate() {
                    let name = format!("image byte {i}");
                    if mutation::keep(&name) {
                        meta.lookup_any(name, |meta| {
                            vec![(cur_f(meta, q) * cur_a(meta, b), cur_f(meta, tables.bytes))]
                        });
                    }
                }
            }
        }
    }

    /// Rows of one word.
    pub fn rows_per_word(&self) -> usize {
        BYTES_PER_WORD / self.bytes.len()
    }

    /// The row and byte column of byte `j` of a band laid out from `row` by
    /// [`Self::assign_band`].
    pub fn position(&self, row: usize, j: usize) -> (usize, usize) {
        let width = self.bytes.len();
        let (w, g) = (j / BYTES_PER_WORD, j % BYTES_PER_WORD / width);
        (row + self.rows_per_word() * w + g, j % width)
    }

    /// Lays out `bytes` (one band) from `row` as words: returns the byte cells and the word
    /// cells. Takes `rows_per_word·⌈len/30⌉` rows.
    pub fn assign_band<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        bytes: &[Value<Fr>],
    ) -> Result<(Vec<ACell<'v>>, Vec<ACell<'v>>), Error> {
        let (width, rows) = (self.bytes.len(), self.rows_per_word());
        let words = bytes.len().div_ceil(BYTES_PER_WORD);
        let mut cells = Vec::with_capacity(bytes.len());
        let mut word_cells = Vec::with_capacity(words);
        for w in 0..words {
            // Row g holds bytes g·width … of the word, least significant first; its `acc` is
            // the value of bytes g·width … 29, so the word's first row holds the word.
            let mut sums = Vec::with_capacity(rows);
            for g in 0..rows {
                let r = row + rows * w + g;
                region.assign_fixed(self.q, r, Fr::one());
                if let (0, Some(first)) = (g, self.first) {
                    region.assign_fixed(first, r, Fr::one());
                }
                if g + 1 < rows {
                    region.assign_fixed(self.cont, r, Fr::one());
                }
                let mut sum = Value::known(Fr::zero());
                for (i, &col) in self.bytes.iter().enumerate() {
                    let j = BYTES_PER_WORD * w + width * g + i;
                    let f = bytes.get(j).copied().unwrap_or(Value::known(Fr::zero()));
                    let c = region.assign_advice(col, r, f);
                    if j < bytes.len() {
                        cells.push(c);
                    } else {
                        region.constrain_constant(c.cell(), Fr::zero())?;
                    }
                    sum = sum.zip(f).map(|(s, f)| s + f * pow2(8 * i));
                }
                sums.push(sum);
            }
            let mut acc = Value::known(Fr::zero());
            let mut first = None;
            for g in (0..rows).rev() {
                acc = acc.zip(sums[g]).map(|(a, s)| a * pow2(8 * width) + s);
                let c = region.assign_advice(self.acc, row + rows * w + g, acc);
                if g == 0 {
                    first = Some(c);
                }
            }
            word_cells.push(first.expect("a word has rows"));
        }
        Ok((cells, word_cells))
    }
}

/// A pointwise edit's grid: the input's bytes and the output's side by side, on the same
/// rows, each pair looked up in the edit's table (see the module docs).
#[derive(Clone, Debug)]
pub struct TableGrid {
    /// The input's bytes and words.
    pub input: GridConfig,
    /// The output's, sharing `q` and `cont`.
    pub output: GridConfig,
    /// The table's key: 1 + the channel on its rows, 0 elsewhere.
    pub tag: Column<Fixed>,
    /// The table's input byte.
    pub t: Column<Fixed>,
    /// Functions (channels) in the table.
    pub channels: usize,
}

impl TableGrid {
    /// Whether a grid of `width` bytes a row can key its bytes by channel: every row starts
    /// at a pixel (`width` a multiple of the channels), or a word's three rows start at the
    /// three channels in turn (10 bytes a row, 3 channels: `first`, `cont − first` and
    /// `q − cont` tell them apart).
    pub fn fits(width: usize, channels: usize) -> bool {
        BYTES_PER_WORD.is_multiple_of(width)
            && BYTES_PER_WORD.is_multiple_of(channels)
            && (width.is_multiple_of(channels) || (channels == 3 && BYTES_PER_WORD / width == 3))
    }

    /// Both grids of `width` bytes ([`Self::fits`]), the table's fixed columns and one lookup
    /// per byte column into the table whose outputs the column `out` holds. A band starts at
    /// a pixel, so byte column `i` of a word's row `g` is channel `(g·width + i) mod C`.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        width: usize,
        channels: usize,
        out: Column<Advice>,
    ) -> Self {
        assert!(Self::fits(width, channels), "a grid row starts at a pixel");
        let (q, cont) = (meta.fixed_column(), meta.fixed_column());
        let first = (!width.is_multiple_of(channels)).then(|| meta.fixed_column());
        let input = GridConfig::words(meta, width, q, cont, first, false);
        let output = GridConfig::words(meta, width, q, cont, first, false);
        let (tag, t) = (meta.fixed_column(), meta.fixed_column());
        for i in 0..width {
            let name = format!("edit table {i}");
            if mutation::keep(&name) {
                let (b, o) = (input.bytes[i], output.bytes[i]);
                meta.lookup_any(name, |meta| {
                    let q = cur_f(meta, q);
                    // 1 + the channel of byte column i, on a word's row g; 0 where q = 0.
                    let key = |g: usize| k((1 + (g * width + i) % channels) as i64);
                    let key = match first {
                        None => q.clone() * key(0),
                        Some(first) => {
                            let (first, cont) = (cur_f(meta, first), cur_f(meta, cont));
                            first.clone() * key(0)
                                + (cont.clone() - first) * key(1)
                                + (q.clone() - cont) * key(2)
                        }
                    };
                    vec![
                        (key, cur_f(meta, tag)),
                        (q.clone() * cur_a(meta, b), cur_f(meta, t)),
                        (q * cur_a(meta, o), cur_a(meta, out)),
                    ]
                });
            }
        }
        Self {
            input,
            output,
            tag,
            t,
            channels,
        }
    }

    /// Rows of the table: `256·channels`, from row 0.
    pub fn table_rows(&self) -> usize {
        256 * self.channels
    }

    /// The table's keys and input bytes: row `j` is `(1 + ⌊j/256⌋, j mod 256)`.
    pub fn assign_table(&self, region: &mut Region<'_, Fr>) {
        for j in 0..self.table_rows() {
            region.assign_fixed(self.tag, j, Fr::from((1 + j / 256) as u64));
            region.assign_fixed(self.t, j, Fr::from((j % 256) as u64));
        }
    }
}

/// A per-pixel edit's grid (the colour conversions): the output's bytes beside the input's
/// on the same rows, and each output byte's affine lane laid out in that row, reading its
/// pixel's input bytes where the grid holds them (see the module docs).
#[derive(Clone, Debug)]
pub struct FusedGrid {
    /// The input's bytes and words.
    pub input: GridConfig,
    /// The output's, sharing `q` and `cont`.
    pub output: GridConfig,
    /// One lane per output byte column: taps the input byte columns of its pixel, output
    /// the column itself, selector the grid's `q`.
    pub affine: AffineConfig,
}

impl FusedGrid {
    /// Whether a grid of `width` bytes a row holds whole pixels of `channels` bytes.
    pub fn fits(width: usize, channels: usize) -> bool {
        BYTES_PER_WORD.is_multiple_of(width) && width.is_multiple_of(channels)
    }

    /// Both grids of `width` bytes ([`Self::fits`]) and a lane per output byte column.
    /// `rows[c]` is the first pixel's row of channel `c` (its taps index the pixel's bytes);
    /// `clamp`: some output clamps (a quotient column and the clamp lookup, which bounds the
    /// output byte), else each output byte is `q − OFF` and range-checked in its grid.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        tables: &Tables,
        width: usize,
        rows: &[Row],
        clamp: bool,
    ) -> Self {
        let channels = rows.len();
        assert!(Self::fits(width, channels), "a grid row holds whole pixels");
        let (q, cont) = (meta.fixed_column(), meta.fixed_column());
        let input = GridConfig::words(meta, width, q, cont, None, false);
        let output = GridConfig::words(meta, width, q, cont, None, false);
        // Split remainders check the bytes in their lookups.
        let split = tables.halves.is_some();
        assert!(
            !split || rows.iter().all(|r| r.d == 1 << 16),
            "split remainders divide by 2^16"
        );
        if !split {
            input.range_checks(meta, tables, false);
            if !clamp {
                output.range_checks(meta, tables, false);
            }
        }
        let lanes = (0..width)
            .map(|i| {
                let (c, pixel) = (i % channels, i - i % channels);
                let row = &rows[c];
                let lane = Lane {
                    x: row
                        .taps()
                        .iter()
                        .map(|&(t, _)| (input.bytes[pixel + t as usize], 0))
                        .collect(),
                    window: None,
                    a: None,
                    q: clamp.then(|| meta.advice_column()),
                    r_lo: meta.advice_column(),
                    r_hi: (row.d > 256).then(|| meta.advice_column()),
                    out: output.bytes[i],
                    coefs: Coefs::Patterns(vec![(row.pattern(), q)]),
                    split: split.then(|| Split {
                        top: meta.advice_column(),
                        byte: input.bytes[i],
                    }),
                };
                AffineConfig::gates(meta, tables, &lane, true);
                lane
            })
            .collect();
        Self {
            input,
            output,
            affine: AffineConfig { lanes },
        }
    }

    /// Output byte column `col`'s quotient and remainder at grid row `at` (the bytes are
    /// the grids'); `carry`: a forged remainder (see [`Lane::assign_division`]).
    pub fn assign_row(
        &self,
        region: &mut Region<'_, Fr>,
        col: usize,
        at: usize,
        value: Value<RowValue>,
        carry: Option<usize>,
    ) {
        self.affine.lanes[col].assign_division(region, at, value, carry);
    }
}

/// 2^n.
pub fn pow2(n: usize) -> Fr {
    use halo2_proofs::halo2curves::ff::Field;
    Fr::from(2).pow_vartime([n as u64])
}

/// The coefficients of an affine lane: the rows' constants when few distinct ones occur
/// (one selector column each, constants in the gate: a small verifier), else fixed columns
/// per row (any rows; e.g. a resize whose weights take many values).
#[derive(Clone, Debug)]
pub enum Coefs {
    /// Selectors of these patterns.
    Patterns(Vec<(Pattern, Column<Fixed>)>),
    /// Per-row fixed columns.
    Columns {
        /// Tap coefficients.
        c: Vec<Column<Fixed>>,
        /// The parameter's coefficients `(m, f)`.
        mf: Option<(Column<Fixed>, Column<Fixed>)>,
        /// The constant.
        e: Column<Fixed>,
        /// The divisor.
        d: Column<Fixed>,
        /// 1 when `d ≤ 256`.
        small: Column<Fixed>,
        /// On at a used row.
        sel: Column<Fixed>,
    },
}

/// One lane of the affine chip.
#[derive(Clone, Debug)]
pub struct Lane {
    /// The taps: a column and the rotation the gate reads it at (0 but in a window lane).
    pub x: Vec<(Column<Advice>, i32)>,
    /// A window lane's columns of input bytes, one per kernel row `v` (`None` when that
    /// kernel row is all zero): row `j` of a sequence holds input column `j`'s bytes.
    pub window: Option<[Option<Column<Advice>>; 3]>,
    /// The parameter (edits with public parameters only).
    pub a: Option<Column<Advice>>,
    /// `⌊v/d⌋` (only when some output is clamped; else `q = out + OFF`, and `out` is a
    /// byte through its copy in the output grid).
    pub q: Option<Column<Advice>>,
    /// Remainder, low byte.
    pub r_lo: Column<Advice>,
    /// Remainder, high byte (only when some divisor is 2^16).
    pub r_hi: Option<Column<Advice>>,
    /// The output byte.
    pub out: Column<Advice>,
    /// The coefficients.
    pub coefs: Coefs,
    /// A fused lane's split remainder (see the module docs), else `None`.
    pub split: Option<Split>,
}

/// A fused lane's remainder in 7-bit parts, each looked up beside a byte of its grid row.
#[derive(Clone, Copy, Debug)]
pub struct Split {
    /// The remainder's top bits: 2 (unclamped) or 1.
    pub top: Column<Advice>,
    /// The input byte looked up with `r_lo` (the grid's byte column of the lane).
    pub byte: Column<Advice>,
}

impl Lane {
    /// The remainder's parts: `(shift of r_hi, shift of top)` (`top` only when split).
    fn shifts(&self) -> (u32, Option<u32>) {
        match (&self.split, self.q) {
            (None, _) => (8, None),
            (Some(_), None) => (7, Some(14)),
            (Some(_), Some(_)) => (7, Some(15)),
        }
    }

    /// A row's quotient (when the lane has the column) and remainder parts `r_lo, r_hi,
    /// top`; `carry: Some(j)` (a test's forgery, part `j + 1` one the lane has) moves one
    /// unit of part `j + 1` into part `j`, past part `j`'s range (the same remainder).
    fn assign_division(
        &self,
        region: &mut Region<'_, Fr>,
        at: usize,
        value: Value<RowValue>,
        carry: Option<usize>,
    ) {
        if let Some(q) = self.q {
            region.assign_advice(q, at, value.map(|v| fe(i128::from(v.q))));
        }
        let (hi, top) = self.shifts();
        // Bits of `r_lo` and (split) of `r_hi`; without a top, `r_hi` holds the rest.
        let widths = [hi, top.map_or(0, |t| t - hi)];
        let parts = value.map(|v| {
            let mask = |bits: u32| (1i64 << bits) - 1;
            let mut p = match top {
                Some(t) => [v.r & mask(hi), (v.r >> hi) & mask(t - hi), v.r >> t],
                None => [v.r & mask(hi), v.r >> hi, 0],
            };
            if let Some(c) = carry {
                p[c] += 1 << widths[c];
                p[c + 1] -= 1;
            }
            p
        });
        let cols = [Some(self.r_lo), self.r_hi, self.split.map(|sp| sp.top)];
        for (j, col) in cols.into_iter().enumerate() {
            if let Some(col) = col {
                region.assign_advice(col, at, parts.map(|p| fe(i128::from(p[j]))));
            }
        }
    }
}

/// What an affine chip is configured for.
#[derive(Clone, Debug)]
pub struct AffineLayout {
    /// Taps per row.
    pub taps: usize,
    /// Lanes.
    pub lanes: usize,
    /// Rows read a public parameter.
    pub param: bool,
    /// Some divisor is 2^16.
    pub wide: bool,
    /// Some row's `q − OFF` can leave `[0, 255]`: the clamp lookup is needed.
    pub clamp: bool,
    /// The distinct patterns, when few enough for [`Coefs::Patterns`].
    pub patterns: Option<Vec<Pattern>>,
    /// Window lanes (a wide 3×3 convolution): each tap's kernel row `v` and the rotation
    /// `u − 2` of its kernel column, in the rows' tap order.
    pub window: Option<Vec<(usize, i32)>>,
    /// Both remainder bytes in one lookup of the byte-pair table (when the circuit has it).
    pub merged: bool,
}

/// The affine chip: `lanes` lanes of `taps` taps.
#[derive(Clone, Debug)]
pub struct AffineConfig {
    /// Its lanes.
    pub lanes: Vec<Lane>,
}

fn k(c: i64) -> Expression<Fr> {
    Expression::Constant(fe(i128::from(c)))
}

impl AffineConfig {
    /// Configures the lanes of `layout`.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        tables: &Tables,
        layout: &AffineLayout,
    ) -> Self {
        let lanes = (0..layout.lanes)
            .map(|_| {
                // Equality only where cells are copied: taps, the parameter, the output.
                let mut adv = |eq: bool| {
                    let c = meta.advice_column();
                    if eq {
                        meta.enable_equality(c);
                    }
                    c
                };
                let (x, window) = match &layout.window {
                    // One column per kernel row in use, read at three rotations.
                    Some(taps) => {
                        let cols: [Option<Column<Advice>>; 3] = std::array::from_fn(|v| {
                            taps.iter().any(|t| t.0 == v).then(|| adv(true))
                        });
                        let x = taps
                            .iter()
                            .map(|&(v, rot)| (cols[v].expect("a used kernel row"), rot))
                            .collect();
                        (x, Some(cols))
                    }
                    None => ((0..layout.taps).map(|_| (adv(true), 0)).collect(), None),
                };
                let a = layout.param.then(|| adv(true));
                let q = layout.clamp.then(|| adv(false));
                let r_lo = adv(false);
                let r_hi = layout.wide.then(|| adv(false));
                let out = adv(true);
                let coefs = match &layout.patterns {
                    Some(ps) => Coefs::Patterns(
                        ps.iter()
                            .map(|p| (p.clone(), meta.fixed_column()))
                            .collect(),
                    ),
                    None => Coefs::Columns {
                        c: (0..layout.taps).map(|_| meta.fixed_column()).collect(),
                        mf: layout
                            .param
                            .then(|| (meta.fixed_column(), meta.fixed_column())),
                        e: meta.fixed_column(),
                        d: meta.fixed_column(),
                        small: meta.fixed_column(),
                        sel: meta.fixed_column(),
                    },
                };
                let lane = Lane {
                    x,
                    window,
                    a,
                    q,
                    r_lo,
                    r_hi,
                    out,
                    coefs,
                    split: None,
                };
                Self::gates(meta, tables, &lane, layout.merged);
                lane
            })
            .collect();
        Self { lanes }
    }

    /// The lane's gate and lookups; `pair`: both remainder lookups as one of the byte-pair
    /// table, when the circuit has it (the fused layout's lanes, and the stacked layout's
    /// with [`AffineLayout::merged`]; circuits set up before that keep two).
    fn gates(meta: &mut ConstraintSystem<Fr>, tables: &Tables, l: &Lane, pair: bool) {
        // Expressions of a row, in either mode: the constraint, the selector (1 on a used
        // row), the "high" lookup input, the rows with d ≤ 256, and the "low" lookup input.
        type Exprs = (
            Expression<Fr>,
            Expression<Fr>,
            Expression<Fr>,
            Expression<Fr>,
            Expression<Fr>,
        );
        let exprs = |meta: &mut VirtualCells<'_, Fr>| -> Exprs {
            let zero = || Expression::Constant(Fr::zero());
            let xs: Vec<_> =
                l.x.iter()
                    .map(|&(x, rot)| meta.query_advice(x, Rotation(rot)))
                    .collect();
            let a = l.a.map(|a| cur_a(meta, a));
            let out = cur_a(meta, l.out);
            let q = match l.q {
                Some(q) => cur_a(meta, q),
                None => out + k(OFF),
            };
            let r_lo = cur_a(meta, l.r_lo);
            let r_hi = l.r_hi.map(|c| cur_a(meta, c));
            let (hi, top) = l.shifts();
            let mut rem = match &r_hi {
                Some(h) => r_lo.clone() + h.clone() * k(1 << hi),
                None => r_lo.clone(),
            };
            if let (Some(sp), Some(top)) = (l.split, top) {
                rem = rem + cur_a(meta, sp.top) * k(1 << top);
            }
            match &l.coefs {
                Coefs::Patterns(ps) => {
                    let (mut poly, mut sel, mut high, mut small, mut low) =
                        (zero(), zero(), zero(), zero(), zero());
                    for (p, col) in ps {
                        let s = cur_f(meta, *col);
                        let mut v = k(p.e) - q.clone() * k(i64::from(p.d)) - rem.clone();
                        for (x, &c) in xs.iter().zip(&p.c) {
                            if c != 0 {
                                v = v + x.clone() * k(c);
                            }
                        }
                        if let (Some(a), Some((m, f))) = (&a, p.param) {
                            v = v + a.clone() * (xs[0].clone() * k(m) + k(f));
                        }
                        poly = poly + s.clone() * v;
                        sel = sel + s.clone();
                        if p.d <= 256 && 256u32.is_multiple_of(p.d) {
                            // d | 256: (256/d)·r_lo ∈ bytes alone bounds r_lo to [0, d) —
                            // with q bounded, 256·v = d·(256·q + t) over the integers.
                            low = low + s.clone() * k(256 / i64::from(p.d)) * r_lo.clone();
                            small = small + s;
                        } else if p.d <= 256 {
                            low = low + s.clone() * r_lo.clone();
                            high = high + s.clone() * (k(i64::from(p.d) - 1) - r_lo.clone());
                            small = small + s;
                        } else {
                            low = low + s.clone() * r_lo.clone();
                            high = high + s * r_hi.clone().expect("a wide lane");
                        }
                    }
                    (poly, sel, high, small, low)
                }
                Coefs::Columns {
                    c,
                    mf,
                    e,
                    d,
                    small,
                    sel,
                } => {
                    let sel = cur_f(meta, *sel);
                    let mut v = cur_f(meta, *e);
                    for (x, &c) in xs.iter().zip(c) {
                        v = v + cur_f(meta, c) * x.clone();
                    }
                    let d = cur_f(meta, *d);
                    let mut poly = sel.clone() * (v - q * d.clone() - rem);
                    if let (Some(a), Some((m, f))) = (a, mf) {
                        poly = poly + a * (cur_f(meta, *m) * xs[0].clone() + cur_f(meta, *f));
                    }
                    let small = cur_f(meta, *small);
                    let one = Expression::Constant(Fr::one());
                    let r_lo_low = r_lo.clone();
                    let mut high = small.clone() * (d - one.clone() - r_lo);
                    if let Some(h) = r_hi {
                        high = high + (one - small.clone()) * h;
                    }
                    (poly, sel.clone(), sel.clone() * high, small, sel * r_lo_low)
                }
            }
        };
        if mutation::keep("affine") {
            meta.create_gate("affine", |meta| {
                mutation::constraints("affine", vec![exprs(meta).0])
            });
        }
        let needs_high = match &l.coefs {
            Coefs::Patterns(ps) => ps
                .iter()
                .any(|(p, _)| p.d > 256 || !256u32.is_multiple_of(p.d)),
            Coefs::Columns { .. } => true,
        };
        // Both halves in one lookup of the byte-pair table (one lookup's columns saved).
        let merged = tables.pairs.filter(|_| pair && needs_high);
        if let Some(sp) = l.split {
            Self::split_checks(meta, tables, l, sp, &|meta| exprs(meta).1);
        } else if let Some((lo, hi)) = merged {
            if mutation::keep("affine remainder") {
                meta.lookup_any("affine remainder", |meta| {
                    let e = exprs(meta);
                    vec![(e.4, cur_f(meta, lo)), (e.2, cur_f(meta, hi))]
                });
            }
        } else if mutation::keep("affine remainder low") {
            meta.lookup_any("affine remainder low", |meta| {
                vec![(exprs(meta).4, cur_f(meta, tables.bytes))]
            });
        }
        if needs_high
            && merged.is_none()
            && l.split.is_none()
            && mutation::keep("affine remainder high")
        {
            // The rest of the remainder in one lookup: `d − 1 − r_lo` when `d ≤ 256` (then
            // `r_hi = 0`), `r_hi` when `d = 2^16`.
            meta.lookup_any("affine remainder high", |meta| {
                vec![(exprs(meta).2, cur_f(meta, tables.bytes))]
            });
        }
        if let Some(q) = l.q {
            let (t_in, t_out) = tables.clamp.expect("a clamping lane has the clamp table");
            if mutation::keep("affine clamp") {
                meta.lookup_any("affine clamp", |meta| {
                    let sel = exprs(meta).1;
                    vec![
                        (sel.clone() * cur_a(meta, q), cur_f(meta, t_in)),
                        (sel * cur_a(meta, l.out), cur_f(meta, t_out)),
                    ]
                });
            }
        }
    }

    /// A split remainder's lookups and its top bits' gate (see the module docs); `sel`
    /// gives the lane's selector.
    fn split_checks(
        meta: &mut ConstraintSystem<Fr>,
        tables: &Tables,
        l: &Lane,
        sp: Split,
        sel: &dyn Fn(&mut VirtualCells<'_, Fr>) -> Expression<Fr>,
    ) {
        let (lo, hi) = tables.halves.expect("a split lane has the half-pair table");
        let r_hi = l.r_hi.expect("a split remainder divides by 2^16");
        if mutation::keep("fused remainder low") {
            meta.lookup_any("fused remainder low", |meta| {
                let sel = sel(meta);
                vec![
                    (sel.clone() * cur_a(meta, sp.byte), cur_f(meta, lo)),
                    (sel * cur_a(meta, l.r_lo), cur_f(meta, hi)),
                ]
            });
        }
        if mutation::keep("fused remainder high") {
            meta.lookup_any("fused remainder high", |meta| {
                let sel = sel(meta);
                match l.q {
                    // Unclamped: with the output byte, which no other lookup bounds.
                    None => vec![
                        (sel.clone() * cur_a(meta, l.out), cur_f(meta, lo)),
                        (sel * cur_a(meta, r_hi), cur_f(meta, hi)),
                    ],
                    Some(_) => vec![(sel * cur_a(meta, r_hi), cur_f(meta, lo))],
                }
            });
        }
        if mutation::keep("fused remainder top") {
            meta.create_gate("fused remainder top", |meta| {
                let (sel, t) = (sel(meta), cur_a(meta, sp.top));
                let values = if l.q.is_none() { 4 } else { 2 };
                let vanish = (0..values).fold(sel, |acc, v| acc * (t.clone() - k(v)));
                mutation::constraints("fused remainder top", vec![vanish])
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
        if l.window.is_some() {
            return Err(Error::Synthesis);
        }
        for (i, &(src, _)) in row.taps().iter().enumerate() {
            inputs[src as usize].copy_advice(region, l.x[i].0, at);
        }
        self.assign_body(region, lane, at, row, params, value)
    }

    /// Lays out one sequence of window lane `lane` (one output row of one channel of a
    /// convolution) from circuit row `at`: row `j` copies input column `j`'s bytes
    /// `columns[j][v]` (kernel row `v`) from `inputs`, and rows `j ≥ 2` prove the sequence's
    /// output `j − 2` as `row` with `values[j − 2]`, reading their taps at rotations −2, −1
    /// and 0. Returns the output cells.
    #[allow(clippy::too_many_arguments)]
    pub fn assign_window<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        lane: usize,
        at: usize,
        columns: &[[usize; 3]],
        row: &Row,
        inputs: &[ACell<'v>],
        values: &[Value<RowValue>],
    ) -> Result<Vec<ACell<'v>>, Error> {
        let cols = self.lanes[lane].window.ok_or(Error::Synthesis)?;
        if columns.len() != values.len() + 2 {
            return Err(Error::Synthesis);
        }
        let mut outs = Vec::with_capacity(values.len());
        for (j, srcs) in columns.iter().enumerate() {
            for (col, &src) in cols.iter().zip(srcs) {
                if let Some(col) = col {
                    inputs[src].copy_advice(region, *col, at + j);
                }
            }
            if j >= 2 {
                outs.push(self.assign_body(region, lane, at + j, row, &[], values[j - 2])?);
            }
        }
        Ok(outs)
    }

    /// A row's coefficients (or selector), parameter, quotient, remainder and output; its
    /// taps are the caller's.
    fn assign_body<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        lane: usize,
        at: usize,
        row: &Row,
        params: &[ACell<'v>],
        value: Value<RowValue>,
    ) -> Result<ACell<'v>, Error> {
        let l = &self.lanes[lane];
        // A lane with a high remainder byte proves only 16-bit divisions (the layout makes
        // every row of such a plan divide by 2^16), so r_hi needs no gate forcing it to 0.
        if l.r_hi.is_some() && row.d <= 256 {
            return Err(Error::Synthesis);
        }
        match &l.coefs {
            Coefs::Patterns(ps) => {
                let p = row.pattern();
                let (_, col) = ps.iter().find(|(q, _)| *q == p).ok_or(Error::Synthesis)?;
                region.assign_fixed(*col, at, Fr::one());
            }
            Coefs::Columns {
                c,
                mf,
                e,
                d,
                small,
                sel,
            } => {
                region.assign_fixed(*sel, at, Fr::one());
                region.assign_fixed(*e, at, fe(i128::from(row.e)));
                region.assign_fixed(*d, at, Fr::from(u64::from(row.d)));
                if row.d <= 256 {
                    region.assign_fixed(*small, at, Fr::one());
                }
                for (i, &(_, co)) in row.taps().iter().enumerate() {
                    region.assign_fixed(c[i], at, fe(i128::from(co)));
                }
                if let (Some(p), Some((m, f))) = (row.param, mf) {
                    region.assign_fixed(*m, at, fe(i128::from(p.m)));
                    region.assign_fixed(*f, at, fe(i128::from(p.f)));
                }
            }
        }
        if let Some(p) = row.param {
            params[p.index].copy_advice(region, l.a.ok_or(Error::Synthesis)?, at);
        }
        l.assign_division(region, at, value, None);
        Ok(region.assign_advice(l.out, at, value.map(|v| Fr::from(u64::from(v.out)))))
    }
}
