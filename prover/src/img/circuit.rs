//! The circuit of one edit on images of one size.
//!
//! **Statement.** Public `[H_in, H_out, p_0, …]`: there is an image `I` of the input size
//! and salts such that `H_in` is `I`'s commitment ([`super::format`]), and `H_out` is the
//! commitment of `edit(I, p)` ([`super::edit`]) — the input's pixels and both images'
//! salts stay private. Each public parameter is also checked below `2^28` in-circuit (one
//! affine row: `p = q·2^16 + r`), so it never wraps the field; the edit's own bound (e.g.
//! `α ≤ 4`) is the verifier's to check on the public value.
//!
//! **Band proof** ([`ImgShape::part`]): the same statement about a strip of the output's
//! bands and the strip of input bands its bytes read, public `[D_in…, D_out…, params…]`:
//! the band commitments of the input strip open to bytes whose edit is the output strip,
//! whose band commitments are `D_out`. `super::bands` puts strips together into one edit.
//!
//! **Layout.** Columns: the grid (1 byte column; 6 or 10 when wide, + the word accumulator),
//! `lanes` affine lanes, `hash_lanes` Poseidon chips (narrow: 6 advice + 1 fixed each;
//! wide: one dense chip of `hash_lanes` lanes, 6 advice + 1 fixed each, sharing 3
//! round-constant columns and 5 selectors, and with [`ImgShape::shared_hash`] 3 columns
//! through which every lane's inputs enter and digests leave, the chip's only
//! equality-enabled ones), the tables and one constants column. Rows:
//! the input image's bands then the output's, then single cells (domains, sizes, salts,
//! parameters) in the accumulator column; affine rows from row 0 of their lanes; each
//! band's sponge, and each image's hash over its bands, in the least-loaded Poseidon chip
//! (lane). Crop output bytes are copy constraints to input bytes.
//!
//! **Table layout** (wide pointwise edits — contrast, brightness, white balance — of images
//! whose bands are whole words; [`super::chip::TableGrid`]): the output's bands sit beside
//! the input's on the same grid rows (6, 10 or 15 bytes a side), each byte pair is looked
//! up in the edit's table of `256·C` entries, and the affine rows prove only that table
//! (lane 0, from row 0, each reading its byte from a constant cell), not every output byte.
//!
//! **Fused layout** (wide colour conversions of images whose bands are whole words;
//! [`super::chip::FusedGrid`]): the output's bands sit beside the input's, and each output
//! byte's affine row is its own grid row, reading its pixel's bytes there — no affine lanes,
//! tap columns or copies.
//!
//! **Window lanes** (wide convolutions; [`super::chip::Lane::window`]): each lane row copies
//! one input column's three bytes, and the row of output `x` reads columns `x, x + 1` at
//! rotations −2, −1: three copies per output byte instead of one per tap.

use super::chip::{
    AffineConfig, AffineLayout, FusedGrid, GridConfig, TableGrid, Tables, GRID_BYTES, HALF_ROWS,
};
use super::edit::{Edit, Plan, Row, RowValue};
use super::format::{Dims, Image, BYTES_PER_WORD, DOM_BAND, DOM_IMG};
use super::ImgError;
use crate::chips::ACell;
use halo2_proofs::circuit::{Layouter, Region, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, Column, ConstraintSystem, Error, Fixed, Instance};
use serde::{Deserialize, Serialize};
use trustml_kit::field::fe;
use trustml_poseidon::chip::{PoseidonChip, PoseidonConfig, RoundConstants};
use trustml_poseidon::dense::{DenseChip, DenseConfig};

/// Rows kept free at the bottom (blinding).
pub const MARGIN: usize = 32;
/// Most Poseidon chips a circuit gets.
pub const MAX_HASH_LANES: usize = 12;
/// Most Poseidon lanes of a whole image's table layout: its grid is half as tall (the
/// output beside the input), so hashing sets its k, and more lanes at a smaller k prove
/// faster (640×480 brightness: 20 lanes at k = 16, 58–61 s; 10 at k = 17, 67–75 s). Band
/// proofs keep [`MAX_HASH_LANES`]: a banded edit's verification sums every strip's
/// commitments (HD brightness in 2 strips of 14 lanes at k = 17: 13.7 ms, no faster to prove).
pub const MAX_TABLE_HASH_LANES: usize = 24;
// Shared hash columns serve this many lanes, within the blinding rows `MARGIN` leaves.
const _: () = assert!(MAX_TABLE_HASH_LANES <= trustml_poseidon::dense::MAX_SHARED_LANES);
const _: () = assert!(trustml_poseidon::dense::MAX_SHARED_LANES + 3 < MARGIN);
/// Most affine lanes.
pub const MAX_LANES: usize = 8;
/// Bytes per grid row of a wide circuit.
pub const WIDE_GRID_BYTES: usize = 6;
/// Bytes per grid row of a wide circuit that would otherwise need more rows: with the
/// byte-pair table (`k ≥ 17`), five lookups. A smaller k with more columns costs less than
/// the next k (the tables, selectors and round constants do not double with it).
pub const WIDER_GRID_BYTES: usize = 10;
/// Bytes per grid row a table or fused layout may also take (a multiple of 3, as 6 is), and
/// stacked images with the byte-pair table where 10 would need the next k (seven pair
/// lookups and one single; a 640×480 blur: k = 17 instead of 18).
pub const TABLE_GRID_BYTES: usize = 15;
/// Largest k tried.
pub const MAX_K: u32 = 22;

/// What an edit circuit's keys depend on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImgShape {
    /// The edit.
    pub edit: Edit,
    /// The input size.
    pub input: Dims,
    /// Affine lanes.
    pub lanes: usize,
    /// Poseidon chips.
    pub hash_lanes: usize,
    /// Bytes per grid row: [`GRID_BYTES`], or when wide [`WIDE_GRID_BYTES`] or
    /// [`WIDER_GRID_BYTES`] (whichever fits the fewest rows; [`Self::dense`] is "wide").
    pub grid: usize,
    /// Log2 of the rows.
    pub k: u32,
    /// A band proof: output bands `[start, end)` (and the input bands they read), public
    /// `[D_in…, D_out…, params…]`; `None`: the whole image, public `[H_in, H_out, params…]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<(usize, usize)>,
    /// The table layout of a pointwise edit (wide circuits; [`super::chip::TableGrid`]): the
    /// output's bytes beside the input's, each pair looked up in the edit's table, proven
    /// by `256·C` affine rows instead of one per output byte.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub table: bool,
    /// The fused layout of a per-pixel edit (wide circuits; [`super::chip::FusedGrid`]): the
    /// output's bytes beside the input's, each proven by an affine lane in its own grid row
    /// that reads its pixel's bytes there — no tap columns and no copies.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fused: bool,
    /// Window lanes of a convolution (wide circuits): each lane row copies one input
    /// column's three bytes, and a row proves the output whose last column it holds,
    /// reading the two before at rotations −1 and −2 — three copies per output byte, not
    /// one per tap.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub window: bool,
    /// The dense Poseidon lanes take their inputs and give their digests through three
    /// shared columns, which alone are equality-enabled
    /// ([`trustml_poseidon::dense::DenseChip::configure_shared`]); wide circuits set up
    /// before it keep their per-lane cells (absent in their `img.json`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_hash: bool,
    /// A fused layout's split remainders (at k = 16, without the byte-pair table; see
    /// [`super::chip`]'s fused grid): each lane's remainder in 7-bit parts, looked up with
    /// its input and output bytes in a 2^15-row table — two lookups a lane instead of four.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub split: bool,
    /// Affine lanes (not a fused layout's) check both remainder bytes in one lookup of the
    /// byte-pair table, "affine remainder" (wide circuits with the table; set up before it,
    /// two lookups: absent in their `img.json`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub merged: bool,
}

impl Default for ImgShape {
    fn default() -> Self {
        Self {
            edit: Edit::Grayscale,
            input: Dims {
                width: 1,
                height: 1,
                channels: 3,
            },
            lanes: 1,
            hash_lanes: 1,
            grid: GRID_BYTES,
            k: 13,
            part: None,
            table: false,
            fused: false,
            window: false,
            shared_hash: false,
            split: false,
            merged: false,
        }
    }
}

/// The witness of one edit.
#[derive(Clone, Debug)]
pub struct ImgWitness {
    /// The input image.
    pub input: Image,
    /// Public parameters (encoded, see [`Edit::parse_params`]).
    pub params: Vec<u64>,
    /// Band salts of the input.
    pub salts_in: Vec<Fr>,
    /// Band salts of the output.
    pub salts_out: Vec<Fr>,
    /// A forgery, for tests that show each constraint is needed.
    pub prank: Prank,
}

/// A dishonest witness that keeps every constraint but one (see `img::tests`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Prank {
    /// Honest.
    #[default]
    None,
    /// Row `i`'s quotient is one more (nothing else changes).
    Quotient(usize),
    /// Row `i`: `q − 1` and remainder `r + d`, the output clamped from `q − 1`.
    RemainderIsD(usize),
    /// Output byte `i` is one more (one less at 255) in the row and the output image.
    Output(usize),
    /// Input byte `j` gets 256 and byte `j + 1` one less: the same word.
    ByteCarry(usize),
    /// Table layout: table row `j`'s output is one more (one less at 255), and so every
    /// output byte that looks it up.
    TableOut(usize),
    /// Table layout: table row `j` reads `t + 1` (the constant cell it copies holds it) and
    /// holds `f_c(t + 1)`, and so every output byte that looks it up.
    TableInput(usize),
    /// Table layout: output byte `i` as the next channel's function has it.
    Channel(usize),
    /// Window lanes: the first sequence's input column `j` holds, in kernel row 1's column,
    /// its byte + 1 instead of a copy, and the outputs reading it follow.
    WindowByte(usize),
    /// Fused layout: row `i`'s remainder part `j` (0: `r_lo`, 1: `r_hi`) holds one unit of
    /// the next part past its range (e.g. `r_lo + 2^7`, `r_hi − 1`: the same remainder).
    RemainderCarry(usize, usize),
}

/// The values a witness lays out.
struct Values {
    input: Vec<i64>,
    /// The affine rows: one per output byte, or a table layout's table rows; then the
    /// parameters' range rows.
    rows: Vec<RowValue>,
    output: Vec<u8>,
}

/// The byte table row `j` reads: `j mod 256`, or one more under [`Prank::TableInput`].
fn table_input(j: usize, prank: Prank) -> i64 {
    (j % 256) as i64 + i64::from(prank == Prank::TableInput(j))
}

/// Affine rows before the parameters' range rows: one per output byte (none for a copy),
/// or a table layout's `256·C` table rows.
fn lead_rows(plan: &Plan, table: Option<usize>) -> usize {
    match table {
        Some(c) => 256 * c,
        None if plan.is_copy() => 0,
        None => plan.len(),
    }
}

/// Affine row `i`: output byte `i`'s, or a table layout's table row `i`; then parameter
/// `i − lead_rows`'s range row.
fn affine_row(plan: &Plan, table: Option<usize>, i: usize) -> Row {
    let n = lead_rows(plan, table);
    match table {
        _ if i >= n => range_row(i - n),
        Some(_) => plan.table_row(i / 256, i % 256),
        None => plan.row(i),
    }
}

/// Rows of each image's band sponges and (`whole`) its hash, in the order synthesis places
/// them.
fn hash_jobs(d: &Dims, whole: bool, rows: fn(usize) -> usize) -> Vec<usize> {
    let mut jobs: Vec<usize> = (0..d.bands()).map(|k| rows(d.band_words(k) + 2)).collect();
    if whole {
        jobs.push(rows(5 + d.bands()));
    }
    jobs
}

/// Which chip each job goes to: largest first onto the least loaded; `None` when a chip
/// would pass `cap` rows.
fn schedule(jobs: &[usize], chips: usize, cap: usize) -> Option<Vec<usize>> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&j| std::cmp::Reverse(jobs[j]));
    let mut load = vec![0usize; chips];
    let mut at = vec![0usize; jobs.len()];
    for j in order {
        let c = (0..chips).min_by_key(|&c| load[c]).expect("chips > 0");
        load[c] += jobs[j];
        if load[c] > cap {
            return None;
        }
        at[j] = c;
    }
    Some(at)
}

/// The sizes a circuit lays out: what its rows depend on.
#[derive(Clone, Copy)]
struct Extent {
    input: Dims,
    output: Dims,
    copy: bool,
    whole: bool,
}

impl Extent {
    fn of(plan: &Plan, whole: bool) -> Self {
        Self {
            input: plan.input,
            output: plan.output,
            copy: plan.is_copy(),
            whole,
        }
    }
}

/// Most cells (advice and fixed columns × rows) of one band proof: an HD colour-conversion
/// strip (48 advice and 17 fixed columns, 2^19 rows) proved in 7.0 GiB, so a band proof
/// stays under 8 GiB.
pub const MAX_PART_CELLS: usize = 64 << 19;
/// Largest k of a band proof.
pub const MAX_PART_K: u32 = 19;

impl ImgShape {
    /// The circuit for `edit` on `input`. By default one Poseidon chip and one affine lane,
    /// the fewest rows that fit: its Solidity verifier stays under the EIP-170 size limit
    /// (every chip and lane adds columns, gates and lookups to it). `wide` spreads the work
    /// over up to [`MAX_HASH_LANES`] chips and [`MAX_LANES`] lanes for fewer rows (faster
    /// proofs of large images, verified natively).
    pub fn choose(edit: &Edit, input: Dims, wide: bool) -> Result<Self, ImgError> {
        let plan = edit.plan(input)?;
        Self::fit(edit, input, None, Extent::of(&plan, true), wide, MAX_K).ok_or_else(|| {
            ImgError::Size(format!(
                "{} of a {input} image does not fit one proof of up to 2^{MAX_K} rows{}",
                edit.name(),
                if wide {
                    ": it is proven in band proofs (`img setup --wide`)"
                } else {
                    " with one Poseidon chip: use band proofs (`img setup --wide`, verified natively) or smaller images"
                }
            ))
        })
    }

    /// The smallest shape (rows first, then grid width, then chips) of a circuit laying
    /// out `ext`.
    fn fit(
        edit: &Edit,
        input: Dims,
        part: Option<(usize, usize)>,
        ext: Extent,
        wide: bool,
        max_k: u32,
    ) -> Option<Self> {
        let table = if wide { table_layout(edit, &ext) } else { None };
        let fused = wide && fused_layout(edit, &ext);
        let window = wide && matches!(edit, Edit::Convolve { .. });
        // A whole image beside itself: its grid is half as tall, so hashing sets k.
        let side_hash = if part.is_none() {
            MAX_TABLE_HASH_LANES
        } else {
            MAX_HASH_LANES
        };
        let (max_hash, max_lanes, grids): (usize, usize, Vec<usize>) = match table {
            // Grids whose bytes' channels the fixed columns tell.
            Some(c) => (
                side_hash,
                MAX_LANES,
                [WIDE_GRID_BYTES, WIDER_GRID_BYTES, TABLE_GRID_BYTES]
                    .into_iter()
                    .filter(|&g| TableGrid::fits(g, c))
                    .collect(),
            ),
            // Grids of whole pixels.
            None if fused => (
                side_hash,
                0,
                [WIDE_GRID_BYTES, TABLE_GRID_BYTES]
                    .into_iter()
                    .filter(|&g| FusedGrid::fits(g, usize::from(ext.input.channels)))
                    .collect(),
            ),
            None if wide => (
                MAX_HASH_LANES,
                MAX_LANES,
                vec![WIDE_GRID_BYTES, WIDER_GRID_BYTES, TABLE_GRID_BYTES],
            ),
            None => (1, 1, vec![GRID_BYTES]),
        };
        for k in 13..=max_k {
            for &grid in &grids {
                let mut s = Self {
                    edit: edit.clone(),
                    input,
                    lanes: 1,
                    hash_lanes: 1,
                    grid,
                    k,
                    part,
                    table: table.is_some(),
                    fused,
                    window,
                    shared_hash: wide,
                    split: false,
                    merged: false,
                };
                s.split = s.split_fits();
                s.merged = s.pairs() && !s.fused;
                // The wider grids of stacked images only with the byte-pair lookups (a
                // table or fused grid's lookups take every byte anyway).
                if grid > WIDE_GRID_BYTES && !s.pairs() && !s.table && !s.fused {
                    continue;
                }
                if let Some(s) = s.fill(&ext, max_lanes, max_hash) {
                    return Some(s);
                }
            }
        }
        None
    }

    /// This shape with as few affine lanes and Poseidon chips as lay out `ext` in its rows.
    fn fill(mut self, ext: &Extent, max_lanes: usize, max_hash: usize) -> Option<Self> {
        let cap = (1usize << self.k) - MARGIN;
        if self.grid_rows(ext) > cap {
            return None;
        }
        // A fused layout's lanes are in its grid rows.
        self.lanes = if self.fused {
            0
        } else if self.window {
            // Whole sequences (an output row of one channel, the input's width in rows).
            let seqs = ext.output.height as usize * usize::from(ext.output.channels);
            let per = cap / ext.input.width as usize;
            if per == 0 {
                return None;
            }
            seqs.div_ceil(per)
        } else {
            self.affine_count(ext).div_ceil(cap).max(1)
        };
        if self.lanes > max_lanes {
            return None;
        }
        let jobs = self.jobs(ext);
        self.hash_lanes = (1..=max_hash).find(|&p| schedule(&jobs, p, cap).is_some())?;
        Some(self)
    }

    /// The band proofs of `edit` on `input` (wide shapes): the output's bands in as few
    /// equal strips as keep each proof within [`MAX_PART_K`] and [`MAX_PART_CELLS`] (or
    /// `max_k`, when smaller). Each strip's proof reads the input bands its bytes need,
    /// neighbours across a seam included.
    pub fn parts(edit: &Edit, input: Dims, max_k: u32) -> Result<Vec<Self>, ImgError> {
        let plan = edit.plan(input)?;
        let reads = plan.band_reads();
        let nb = plan.output.bands();
        let max_k = max_k.min(MAX_PART_K);
        let split = |n: usize| -> Option<Vec<Self>> {
            (0..nb)
                .step_by(n)
                .map(|j0| {
                    let j1 = (j0 + n).min(nb);
                    let ins = super::edit::span(&reads[j0..j1]);
                    let ext = Extent {
                        input: input.strip(ins),
                        output: plan.output.strip(j0..j1),
                        copy: plan.is_copy(),
                        whole: false,
                    };
                    let s = Self::fit(edit, input, Some((j0, j1)), ext, true, max_k)?;
                    let lane = affine_layout(&s, &plan);
                    (s.columns(&lane) << s.k <= MAX_PART_CELLS).then_some(s)
                })
                .collect()
        };
        let most = (1..=nb).rev().find(|&n| split(n).is_some()).ok_or_else(|| {
            ImgError::Size(format!(
                "{} of a {input} image: even one output band does not fit a proof of 2^{max_k} rows",
                edit.name()
            ))
        })?;
        // As few strips as the largest allows, then as equal as they can be (equal strips
        // share one key).
        let n = nb.div_ceil(nb.div_ceil(most));
        Ok(split(n)
            .or_else(|| split(most))
            .expect("the largest strip fits"))
    }

    /// The edit's plan (of its band strip, for a band proof).
    pub fn plan(&self) -> Result<Plan, ImgError> {
        let plan = self.edit.plan(self.input)?;
        match self.part {
            Some((a, b)) => plan.window(a..b),
            None => Ok(plan),
        }
    }

    fn extent(&self, plan: &Plan) -> Extent {
        Extent::of(plan, self.part.is_none())
    }

    fn jobs(&self, ext: &Extent) -> Vec<usize> {
        let rows = self.hash_rows();
        let mut j = hash_jobs(&ext.input, ext.whole, rows);
        j.extend(hash_jobs(&ext.output, ext.whole, rows));
        j
    }

    fn affine_count(&self, ext: &Extent) -> usize {
        let rows = match self.table_channels() {
            Some(c) => 256 * c,
            None if ext.copy => 0,
            None => ext.output.len(),
        };
        rows + self.edit.num_params()
    }

    /// The functions of a table layout's table (`None`: not a table layout).
    pub fn table_channels(&self) -> Option<usize> {
        if self.table {
            self.edit.table_channels(self.input.channels)
        } else {
            None
        }
    }

    fn image_rows(&self, d: &Dims) -> usize {
        let per_word = super::format::BYTES_PER_WORD / self.grid;
        (0..d.bands()).map(|k| per_word * d.band_words(k)).sum()
    }

    fn single_cells(&self, ext: &Extent) -> usize {
        // DOM_BAND, the salts and the parameters; a whole image also DOM_IMG and the sizes;
        // a table layout also the 256 bytes its table rows read.
        let whole = if ext.whole { 1 + 8 } else { 0 };
        let table = if self.table { 256 } else { 0 };
        1 + whole + ext.input.bands() + ext.output.bands() + self.edit.num_params() + table
    }

    /// Rows of the grid column set (a table layout's output beside its input).
    fn grid_rows(&self, ext: &Extent) -> usize {
        let output = if self.table || self.fused {
            0
        } else {
            self.image_rows(&ext.output)
        };
        self.image_rows(&ext.input) + output + self.single_cells(ext)
    }

    /// Public inputs of a proof: `[H_in, H_out, params…]`, or for a band proof
    /// `[D_in…, D_out…, params…]` (its strips' band commitments).
    pub fn num_instances(&self) -> Result<usize, ImgError> {
        let n = self.edit.num_params();
        Ok(match self.part {
            None => 2 + n,
            Some(_) => {
                let p = self.plan()?;
                p.input.bands() + p.output.bands() + n
            }
        })
    }

    /// Whether the Poseidon chips use the dense layout (wide circuits: 38 rows per
    /// permutation over 3 round-constant columns; the default keeps 83 rows over one, for a
    /// smaller Solidity verifier).
    pub fn dense(&self) -> bool {
        self.grid > GRID_BYTES
    }

    /// Whether the grid checks its bytes two per lookup: wide circuits with room for the
    /// 2^16-row byte-pair table.
    pub fn pairs(&self) -> bool {
        self.dense() && !self.table && (1usize << self.k) - MARGIN >= super::chip::PAIR_ROWS
    }

    /// Whether a fused layout takes split remainders: where the half-pair table fits and
    /// the byte-pair table does not (k = 16).
    pub fn split_fits(&self) -> bool {
        self.fused && !self.pairs() && (1usize << self.k) - MARGIN >= HALF_ROWS
    }

    fn hash_rows(&self) -> fn(usize) -> usize {
        if self.dense() {
            trustml_poseidon::dense::rows_per_hash
        } else {
            trustml_poseidon::chip::rows_per_hash
        }
    }

    /// Advice and fixed columns, roughly (what a proof's memory grows with), for lanes laid
    /// out as `lane`.
    fn columns(&self, lane: &AffineLayout) -> usize {
        // Dense lanes share 3 round-constant columns and 5 selectors, and each has a
        // `start` column; a narrow chip has one round-constant column.
        let fixed = if self.dense() {
            8 + self.hash_lanes
        } else {
            self.hash_lanes
        } + if self.table { 2 } else { 0 };
        self.advice_with(lane) + fixed + 8
    }

    /// Advice columns for lanes laid out as `lane`: the grid, the lanes (a fused layout's
    /// quotient and remainder columns per grid byte), the Poseidon chips.
    fn advice_with(&self, lane: &AffineLayout) -> usize {
        let sides = if self.table || self.fused { 2 } else { 1 };
        let lanes = match self.fused {
            // Less the taps and the output, which are grid bytes.
            true => self.grid * (lane_columns(lane) - lane.taps - 1 + usize::from(self.split)),
            false => self.lanes * lane_columns(lane),
        };
        let shared = if self.shared_hash { 3 } else { 0 };
        sides * (self.grid + 1) + lanes + 6 * self.hash_lanes + shared
    }

    /// Advice columns (for the reader of a benchmark).
    pub fn advice_columns(&self, plan: &Plan) -> usize {
        self.advice_with(&affine_layout(self, plan))
    }
}

/// The functions of `edit`'s table when `ext` can take the table layout: a pointwise edit
/// laid out [`side_by_side`].
fn table_layout(edit: &Edit, ext: &Extent) -> Option<usize> {
    let c = edit.table_channels(ext.input.channels)?;
    (side_by_side(ext) && BYTES_PER_WORD.is_multiple_of(c)).then_some(c)
}

/// Whether `ext`'s output can sit beside its input, band by band and byte by byte: the
/// same size, and bands of whole words (a padding byte is 0 on both sides, while the edit
/// of a zero byte need not be 0).
fn side_by_side(ext: &Extent) -> bool {
    let d = &ext.input;
    ext.input == ext.output
        && (0..d.bands()).all(|k| d.band(k).len().is_multiple_of(BYTES_PER_WORD))
}

/// Whether `ext` can take the fused layout: a per-pixel edit ([`Edit::per_pixel`]) laid out
/// [`side_by_side`].
fn fused_layout(edit: &Edit, ext: &Extent) -> bool {
    edit.per_pixel() && edit.num_params() == 0 && side_by_side(ext)
}

/// Advice columns of one affine lane.
fn lane_columns(l: &AffineLayout) -> usize {
    if l.taps == 0 && !l.param {
        return 0;
    }
    // A window lane has a column per kernel row in use.
    let x = match &l.window {
        Some(t) => (0..3).filter(|&v| t.iter().any(|w| w.0 == v)).count(),
        None => l.taps,
    };
    x + usize::from(l.param) + 2 + usize::from(l.wide) + usize::from(l.clamp)
}

/// The circuit of an edit.
#[derive(Clone, Debug)]
pub struct ImgCircuit {
    /// Its shape.
    pub shape: ImgShape,
    /// The witness (`None` for key generation).
    pub witness: Option<ImgWitness>,
}

/// The image grids: one for both images, one after the other, or a table or fused layout's
/// two side by side.
#[derive(Clone, Debug)]
enum Grids {
    Stacked(GridConfig),
    Table(TableGrid),
    Fused(FusedGrid),
}

impl Grids {
    /// The input's grid and the output's.
    fn sides(&self) -> (&GridConfig, &GridConfig) {
        match self {
            Self::Stacked(g) => (g, g),
            Self::Table(t) => (&t.input, &t.output),
            Self::Fused(f) => (&f.input, &f.output),
        }
    }
}

/// The circuit's columns.
#[derive(Clone, Debug)]
pub struct ImgConfig {
    tables: Tables,
    grid: Grids,
    affine: AffineConfig,
    hash: HashConfig,
    instance: Column<Instance>,
    _constants: Column<Fixed>,
}

impl ImgWitness {
    /// The bytes and rows to lay out (the prank applied); `table`: the table layout's, of
    /// that many functions.
    fn values(&self, plan: &Plan, table: Option<usize>) -> Values {
        let mut input: Vec<i64> = self.input.data.iter().map(|&b| i64::from(b)).collect();
        if let Prank::ByteCarry(j) = self.prank {
            input[j] += 256;
            input[j + 1] -= 1;
        }
        let n = if plan.is_copy() { 0 } else { plan.len() };
        let mut rows: Vec<RowValue> = (0..lead_rows(plan, table))
            .map(|i| {
                let row = affine_row(plan, table, i);
                match table {
                    Some(_) => {
                        let t = table_input(i, self.prank);
                        row.eval_with(|_| t, &self.params)
                    }
                    None => row.eval_with(|t| input[t], &self.params),
                }
            })
            .collect();
        rows.extend((0..self.params.len()).map(|j| range_row(j).eval(&[], &self.params)));
        let mut output: Vec<u8> = if plan.is_copy() {
            (0..plan.len())
                .map(|i| input[plan.source(i)] as u8)
                .collect()
        } else if table.is_some() {
            // Filled from the (forged) table once the pranks are applied.
            vec![0; n]
        } else {
            rows[..n].iter().map(|r| r.out).collect()
        };
        let clamp_q = |r: &mut RowValue| r.out = super::edit::clamp(r.q - super::edit::OFF);
        let bump = |b: u8| if b == 255 { 254 } else { b + 1 };
        match self.prank {
            Prank::Quotient(i) => rows[i].q += 1,
            Prank::RemainderIsD(i) => {
                let d = i64::from(affine_row(plan, table, i).d);
                rows[i].q -= 1;
                rows[i].r += d;
                clamp_q(&mut rows[i]);
                if table.is_none() {
                    output[i] = rows[i].out;
                }
            }
            Prank::TableOut(j) => rows[j].out = bump(rows[j].out),
            Prank::Output(_)
            | Prank::None
            | Prank::ByteCarry(_)
            | Prank::TableInput(_)
            | Prank::Channel(_)
            | Prank::RemainderCarry(..) => {}
            Prank::WindowByte(j) => {
                // Outputs x = j − 2, j − 1, j of the first sequence read column j.
                let src = plan.window_columns(0)[j][1];
                let ch = usize::from(plan.output.channels);
                for x in j.saturating_sub(2)..=j.min(plan.output.width as usize - 1) {
                    let i = x * ch;
                    let forged = |t: usize| input[t] + i64::from(t == src);
                    rows[i] = plan.row(i).eval_with(forged, &self.params);
                    output[i] = rows[i].out;
                }
            }
        }
        if let Some(c) = table {
            // Each output byte as the (forged) table has it.
            let ch = usize::from(plan.output.channels);
            let shift = |i: usize| usize::from(self.prank == Prank::Channel(i));
            for (i, o) in output.iter_mut().enumerate() {
                *o = match usize::try_from(input[i]) {
                    Ok(t) if t < 256 => rows[(i % ch + shift(i)) % c * 256 + t].out,
                    // A byte outside the table (a carry) gets the reference's value.
                    _ => plan.row(i).eval_with(|t| input[t], &self.params).out,
                };
            }
        }
        if let Prank::Output(i) = self.prank {
            output[i] = bump(output[i]);
            if let Some(r) = rows
                .get_mut(i)
                .filter(|_| !plan.is_copy() && table.is_none())
            {
                r.out = output[i];
            }
        }
        Values {
            input,
            rows,
            output,
        }
    }
}

impl ImgCircuit {
    /// The public inputs of the witness: `[H_in, H_out, params…]`, or a band proof's
    /// `[D_in…, D_out…, params…]`.
    pub fn instances(&self) -> Result<Vec<Fr>, ImgError> {
        let w = self
            .witness
            .as_ref()
            .ok_or_else(|| ImgError::Edit("no witness".into()))?;
        let plan = self.shape.plan()?;
        self.shape.edit.check_params(&w.params)?;
        let out = Image::new(
            plan.output,
            w.values(&plan, self.shape.table_channels()).output,
        )?;
        let (cin, cout) = (
            w.input.commit_with(&w.salts_in),
            out.commit_with(&w.salts_out),
        );
        let mut v = match self.shape.part {
            None => vec![cin.hash, cout.hash],
            Some(_) => [cin.bands, cout.bands].concat(),
        };
        v.extend(w.params.iter().map(|&p| Fr::from(p)));
        Ok(v)
    }
}

impl Circuit<Fr> for ImgCircuit {
    type Config = ImgConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ImgShape;

    fn without_witnesses(&self) -> Self {
        Self {
            shape: self.shape.clone(),
            witness: None,
        }
    }

    fn params(&self) -> ImgShape {
        self.shape.clone()
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> ImgConfig {
        unreachable!("the image circuit is configured from its ImgShape")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, shape: ImgShape) -> ImgConfig {
        let plan = shape.plan().ok();
        let layout = match &plan {
            Some(plan) if !plan.is_copy() => Some(affine_layout(&shape, plan)),
            _ => None,
        };
        let clamp = layout.as_ref().is_some_and(|l| l.clamp);
        let tables = Tables::configure(meta, clamp, shape.pairs(), shape.split);
        let configure_affine = |meta: &mut ConstraintSystem<Fr>| match &layout {
            Some(l) => AffineConfig::configure(meta, &tables, l),
            None => AffineConfig { lanes: vec![] },
        };
        let (grid, affine) = match (shape.table_channels(), &layout) {
            // The table's outputs are lane 0's, which clamps (so they are bytes).
            (Some(c), Some(l)) if l.clamp && l.lanes == 1 => {
                let affine = configure_affine(meta);
                let out = affine.lanes[0].out;
                let grid = TableGrid::configure(meta, shape.grid, c, out);
                (Grids::Table(grid), affine)
            }
            (Some(_), _) => panic!("a table layout has one clamping affine lane"),
            (None, Some(l)) if shape.fused => {
                // The first pixel's rows, one per channel: every pixel's repeat them.
                let plan = plan.as_ref().expect("a fused layout has a plan");
                let rows: Vec<Row> = (0..usize::from(plan.output.channels))
                    .map(|c| plan.row(c))
                    .collect();
                let grid = FusedGrid::configure(meta, &tables, shape.grid, &rows, l.clamp);
                (Grids::Fused(grid), AffineConfig { lanes: vec![] })
            }
            (None, _) => {
                let grid = GridConfig::configure(meta, &tables, shape.grid);
                (Grids::Stacked(grid), configure_affine(meta))
            }
        };
        let constants = meta.fixed_column();
        let hash = if shape.dense() {
            HashConfig::Dense(match shape.shared_hash {
                true => DenseChip::configure_shared(meta, constants, shape.hash_lanes),
                false => DenseChip::configure(meta, constants, shape.hash_lanes),
            })
        } else {
            HashConfig::Narrow(
                (0..shape.hash_lanes)
                    .map(|_| {
                        let state = std::array::from_fn(|_| meta.advice_column());
                        let helpers = std::array::from_fn(|_| meta.advice_column());
                        let rc = RoundConstants::Rows(meta.fixed_column());
                        PoseidonChip::configure_with(meta, state, helpers, rc, constants)
                    })
                    .collect(),
            )
        };
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        ImgConfig {
            tables,
            grid,
            affine,
            hash,
            instance,
            _constants: constants,
        }
    }

    fn synthesize(&self, cfg: ImgConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let shape = &self.shape;
        let plan = shape.plan().map_err(|_| Error::Synthesis)?;
        let (din, dout) = (plan.input, plan.output);
        let whole = shape.part.is_none();
        let w = self.witness.as_ref();
        let nparams = shape.edit.num_params();
        if let Some(w) = w {
            if w.input.dims != din
                || w.params.len() != nparams
                || w.salts_in.len() != din.bands()
                || w.salts_out.len() != dout.bands()
            {
                return Err(Error::Synthesis);
            }
        }
        let table = shape.table_channels();
        let values = w.map(|w| w.values(&plan, table));
        // Affine row `i`'s value (unknown during key generation).
        let row_value = |i: usize| {
            values
                .as_ref()
                .map_or(Value::unknown(), |v| Value::known(v.rows[i]))
        };
        let in_bytes: Vec<Value<Fr>> = match &values {
            Some(v) => v
                .input
                .iter()
                .map(|&b| Value::known(fe(i128::from(b))))
                .collect(),
            None => vec![Value::unknown(); din.len()],
        };
        let out_bytes: Vec<Value<Fr>> = match &values {
            Some(v) => v
                .output
                .iter()
                .map(|&b| Value::known(Fr::from(u64::from(b))))
                .collect(),
            None => vec![Value::unknown(); dout.len()],
        };
        let fr = |v: Option<Fr>| v.map(Value::known).unwrap_or(Value::unknown());

        layouter.assign_region(
            || "tables",
            |mut region| {
                cfg.tables.assign(&mut region);
                if let Grids::Table(t) = &cfg.grid {
                    t.assign_table(&mut region);
                }
                Ok(())
            },
        )?;

        // Grid: both images' bands, then single cells in the accumulator column.
        struct Grid<'v> {
            input: Vec<ACell<'v>>,
            in_words: Vec<Vec<ACell<'v>>>,
            output: Vec<ACell<'v>>,
            out_words: Vec<Vec<ACell<'v>>>,
            dom_band: ACell<'v>,
            dom_img: Option<ACell<'v>>,
            sizes: [Vec<ACell<'v>>; 2],
            salts: [Vec<ACell<'v>>; 2],
            params: Vec<ACell<'v>>,
            /// A table layout's bytes `0..256`, which its table rows read.
            table_bytes: Vec<ACell<'v>>,
        }
        let g = layouter.assign_region(
            || "images",
            |mut region| {
                let mut row = 0;
                let (in_grid, out_grid) = cfg.grid.sides();
                let lay = |grid: &GridConfig,
                           bytes: &[Value<Fr>],
                           d: &Dims,
                           row: &mut usize,
                           region: &mut Region<'_, Fr>| {
                    let mut cells = Vec::with_capacity(bytes.len());
                    let mut words = Vec::with_capacity(d.bands());
                    let mut starts = Vec::with_capacity(d.bands());
                    for k in 0..d.bands() {
                        starts.push(*row);
                        let (c, wd) = grid.assign_band(region, *row, &bytes[d.band(k)])?;
                        *row += grid.rows_per_word() * wd.len();
                        cells.extend(c);
                        words.push(wd);
                    }
                    Ok::<_, Error>((cells, words, starts))
                };
                let (input, in_words, _) = lay(in_grid, &in_bytes, &din, &mut row, &mut region)?;
                if table.is_some() || shape.fused {
                    // The output's bands beside the input's (the same sizes).
                    row = 0;
                }
                let (output, out_words, starts) =
                    lay(out_grid, &out_bytes, &dout, &mut row, &mut region)?;
                if let Grids::Fused(f) = &cfg.grid {
                    // Each output byte's quotient and remainder in its own grid row.
                    for (k, &start) in starts.iter().enumerate() {
                        for (j, i) in dout.band(k).enumerate() {
                            let (at, col) = out_grid.position(start, j);
                            let carry = match w.map(|w| w.prank) {
                                Some(Prank::RemainderCarry(r, j)) if r == i => Some(j),
                                _ => None,
                            };
                            f.assign_row(&mut region, col, at, row_value(i), carry);
                        }
                    }
                }
                let acc = in_grid.acc;
                let mut constant = |c: Fr, row: &mut usize| {
                    let cell = region.assign_advice(acc, *row, Value::known(c));
                    region.constrain_constant(cell.cell(), c)?;
                    *row += 1;
                    Ok::<_, Error>(cell)
                };
                let dom_band = constant(Fr::from(DOM_BAND), &mut row)?;
                let mut dom_img = None;
                let mut sizes = [vec![], vec![]];
                if whole {
                    dom_img = Some(constant(Fr::from(DOM_IMG), &mut row)?);
                    for (s, d) in sizes.iter_mut().zip([din, dout]) {
                        for v in [d.width, d.height, u32::from(d.channels), d.band_rows()] {
                            s.push(constant(Fr::from(u64::from(v)), &mut row)?);
                        }
                    }
                }
                let mut free = |v: Value<Fr>, row: &mut usize| {
                    let cell = region.assign_advice(acc, *row, v);
                    *row += 1;
                    cell
                };
                let salts = [
                    (0..din.bands())
                        .map(|k| free(fr(w.map(|w| w.salts_in[k])), &mut row))
                        .collect(),
                    (0..dout.bands())
                        .map(|k| free(fr(w.map(|w| w.salts_out[k])), &mut row))
                        .collect(),
                ];
                let params = (0..nparams)
                    .map(|j| free(fr(w.map(|w| Fr::from(w.params[j]))), &mut row))
                    .collect();
                let prank = w.map_or(Prank::None, |w| w.prank);
                let table_bytes = match table {
                    Some(_) => (0..256)
                        .map(|t| {
                            let v = Fr::from(table_input(t, prank) as u64);
                            let cell = region.assign_advice(acc, row, Value::known(v));
                            region.constrain_constant(cell.cell(), Fr::from(t as u64))?;
                            row += 1;
                            Ok(cell)
                        })
                        .collect::<Result<_, Error>>()?,
                    None => vec![],
                };
                if plan.is_copy() {
                    for (i, o) in output.iter().enumerate() {
                        region.constrain_equal(o.cell(), input[plan.source(i)].cell());
                    }
                }
                Ok(Grid {
                    input,
                    in_words,
                    output,
                    out_words,
                    dom_band,
                    dom_img,
                    sizes,
                    salts,
                    params,
                    table_bytes,
                })
            },
        )?;
        // Public: [H_in, H_out, params…], or a band proof's [D_in…, D_out…, params…].
        let first_param = if whole { 2 } else { din.bands() + dout.bands() };
        for (j, p) in g.params.iter().enumerate() {
            layouter.constrain_instance(p.cell(), cfg.instance, first_param + j);
        }

        // Affine rows: the output bytes, then one range row per parameter.
        if (!plan.is_copy() || nparams > 0) && !shape.fused {
            let lanes = shape.lanes;
            layouter.assign_region(
                || "affine rows",
                |mut region| {
                    // One row per output byte, or a table layout's table rows (in lane 0,
                    // the lane's only one, from row 0: beside the table's keys).
                    let n = lead_rows(&plan, table);
                    let inputs = if table.is_some() {
                        &g.table_bytes
                    } else {
                        &g.input
                    };
                    if shape.window {
                        // One sequence per output row and channel, dealt to the lanes in
                        // turn, each taking the input's width in rows (a convolution has no
                        // parameters, so no range rows follow).
                        let width = plan.input.width as usize;
                        let ch = usize::from(plan.output.channels);
                        for (s, first) in plan.sequences().into_iter().enumerate() {
                            let outs: Vec<usize> = (0..plan.output.width as usize)
                                .map(|x| first + x * ch)
                                .collect();
                            let vals: Vec<_> = outs.iter().map(|&i| row_value(i)).collect();
                            let cells = cfg.affine.assign_window(
                                &mut region,
                                s % lanes,
                                s / lanes * width,
                                &plan.window_columns(first),
                                &plan.row(first),
                                &g.input,
                                &vals,
                            )?;
                            for (c, &i) in cells.iter().zip(&outs) {
                                region.constrain_equal(c.cell(), g.output[i].cell());
                            }
                        }
                        if let Some(Prank::WindowByte(j)) = w.map(|w| w.prank) {
                            // Over its copy: the cell keeps the copy constraint.
                            let col = cfg.affine.lanes[0].window.and_then(|c| c[1]);
                            let byte = values
                                .as_ref()
                                .map(|v| v.input[plan.window_columns(0)[j][1]]);
                            if let (Some(col), Some(b)) = (col, byte) {
                                region.assign_advice(col, j, Value::known(fe(i128::from(b + 1))));
                            }
                        }
                        return Ok(());
                    }
                    for i in 0..n + nparams {
                        let row = affine_row(&plan, table, i);
                        let value = row_value(i);
                        let out = cfg.affine.assign_row(
                            &mut region,
                            i % lanes,
                            i / lanes,
                            &row,
                            inputs,
                            &g.params,
                            value,
                        )?;
                        if i < n && table.is_none() {
                            region.constrain_equal(out.cell(), g.output[i].cell());
                        }
                    }
                    Ok(())
                },
            )?;
        }

        // Hashes: every band of both images, then each image's hash over its bands.
        let chips = Hasher::new(&cfg.hash);
        let jobs = shape.jobs(&shape.extent(&plan));
        let cap = (1usize << shape.k) - MARGIN;
        let at = schedule(&jobs, shape.hash_lanes, cap).ok_or(Error::Synthesis)?;
        let mut job = 0;
        let mut public = 0;
        for (side, (d, words)) in [(din, &g.in_words), (dout, &g.out_words)]
            .into_iter()
            .enumerate()
        {
            let mut bands = Vec::with_capacity(d.bands());
            for (k, wk) in words.iter().enumerate() {
                let mut inputs = vec![g.dom_band.clone()];
                inputs.extend(wk.iter().cloned());
                inputs.push(g.salts[side][k].clone());
                bands.push(chips.hash(&mut layouter, at[job], &inputs)?);
                job += 1;
            }
            match &g.dom_img {
                Some(dom_img) => {
                    let mut inputs = vec![dom_img.clone()];
                    inputs.extend(g.sizes[side].iter().cloned());
                    inputs.extend(bands);
                    let h = chips.hash(&mut layouter, at[job], &inputs)?;
                    job += 1;
                    layouter.constrain_instance(h.cell(), cfg.instance, side);
                }
                None => {
                    for b in bands {
                        layouter.constrain_instance(b.cell(), cfg.instance, public);
                        public += 1;
                    }
                }
            }
        }
        chips.finish(&mut layouter)
    }
}

/// The Poseidon chips: narrow ones, each with its own columns, or one dense chip of
/// several lanes.
#[derive(Clone, Debug)]
enum HashConfig {
    Narrow(Vec<PoseidonConfig>),
    Dense(DenseConfig),
}

enum Hasher {
    Narrow(Vec<PoseidonChip>),
    Dense(DenseChip),
}

impl Hasher {
    fn new(c: &HashConfig) -> Self {
        match c {
            HashConfig::Narrow(c) => {
                Self::Narrow(c.iter().map(|c| PoseidonChip::new(*c)).collect())
            }
            HashConfig::Dense(c) => Self::Dense(DenseChip::new(c.clone())),
        }
    }

    /// A hash in chip (or lane) `lane`.
    fn hash<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        lane: usize,
        inputs: &[ACell<'v>],
    ) -> Result<ACell<'v>, Error> {
        match self {
            Self::Narrow(c) => c[lane].hash(layouter, inputs),
            Self::Dense(c) => c.hash(layouter, lane, inputs),
        }
    }

    /// After the last hash: the dense chip's short lanes filled in.
    fn finish(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        match self {
            Self::Narrow(_) => Ok(()),
            Self::Dense(c) => c.finish(layouter),
        }
    }
}

/// The row checking parameter `j` below 2^20: `p = q·256 + r`, `q` in the clamp table's
/// domain.
fn range_row(j: usize) -> Row {
    Row {
        taps: [(0, 0); super::edit::MAX_TAPS],
        n: 0,
        param: Some(super::edit::ParamUse {
            index: j,
            m: 0,
            f: 1,
        }),
        e: 0,
        d: 256,
    }
}

/// Most distinct row patterns proven with selectors (more: fixed coefficient columns).
pub const MAX_PATTERNS: usize = 6;

/// The affine chip's layout for `shape`.
pub fn affine_layout(shape: &ImgShape, plan: &Plan) -> AffineLayout {
    let nparams = shape.edit.num_params();
    let patterns = plan.patterns(MAX_PATTERNS).map(|mut ps| {
        if nparams > 0 {
            ps.push(range_row(0).pattern());
        }
        ps
    });
    let wide = !plan.is_copy() && plan.row(0).d > 256;
    AffineLayout {
        taps: plan.taps(),
        lanes: shape.lanes,
        param: nparams > 0,
        wide,
        clamp: nparams > 0 || plan.needs_clamp(shape.edit.param_max()),
        patterns,
        window: plan.window_taps().filter(|_| shape.window),
        merged: shape.merged,
    }
}
