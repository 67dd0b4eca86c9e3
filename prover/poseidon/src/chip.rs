//! A halo2 chip computing [`crate::hash`] in-circuit: six advice columns, one fixed column of
//! round constants, every gate of degree ≤ 3 (selector included).
//!
//! # Layout
//!
//! Columns: 3 state advice columns `s0..s2` and 3 helper advice columns `h0..h2` (`s0..s2`
//! and `h0` equality-enabled: inputs are copied into `h0`, so `h1, h2` need no permutation
//! column), 1 fixed round-constant column `rc`, 1 fixed column for constants
//! (`enable_constant`; it may be the same column as `rc`, see [`PoseidonChip::configure_with`])
//! and 3 selectors. [`PoseidonChip::configure`] allocates them; `configure_with` takes columns
//! the circuit already has (a model's advice grid, a delivery circuit's columns): each column
//! costs a commitment in every proof and ~6k gas in every on-chain verification, while rows
//! are nearly free. Low-degree gates let halo2 pack the three selectors into one fixed column.
//!
//! One permutation takes [`ROWS_PER_PERMUTATION`] = 83 rows:
//!
//! | rows          | selector    | step                  | cells                                        |
//! |---------------|-------------|-----------------------|----------------------------------------------|
//! | 0, 1          | `q_absorb`  | add the absorbed pair | `h0` of rows 0 and 1 = the pair; state → row 2 |
//! | 2 + 3j (j<4)  | `q_full`    | full round j          | row: `s`, `h_i = x_i²`; next row: `h_i = x_i⁴`; `rc` of the 3 rows = the 3 lane constants; state → 3 rows down |
//! | 14..=70       | `q_partial` | partial rounds        | `h0 = x_0²`, `h1 = x_0⁴`, `rc` = lane-0 constant; state → next row |
//! | 71 + 3j (j<4) | `q_full`    | full rounds 61..=64   | as above                                     |
//!
//! (that is [`RoundConstants::Rows`]; with [`RoundConstants::Lanes`], three fixed columns, a
//! full round takes two rows and 75 rows make a permutation). Here `x = s + c`. The S-box `x⁵` is `x·h` with `h = x⁴` built from two squarings; the MDS
//! outputs `next_i = Σ_j M_ij·x_j·x_j⁴` are of degree 2. Partial rounds use the equivalent
//! "folded" round constants (lanes 1 and 2 of a partial round's constants are pushed through
//! the linear layer into the next round), so one constant per partial round suffices and the
//! intermediate in-circuit states of partial rows differ from the textbook ones; the
//! permutation output is identical.
//!
//! The output state of one permutation is the input row of the next one (its absorb row), and
//! the last permutation's output row carries no selector. A hash of `n` inputs therefore uses
//! [`rows_per_hash`]`(n) = 83 * (n / 2 + 1) + 1` rows of the chip's columns.
//!
//! # Row placement
//!
//! halo2-axiom's `SimpleFloorPlanner` does not move regions: region offsets are absolute rows.
//! The chip therefore keeps its own row cursor (starting at the row given to
//! [`PoseidonChip::with_start_row`], 0 by default) and places successive hashes one after the
//! other in its columns. Create one `PoseidonChip` per `synthesize` call and use it for all
//! hashes of that circuit; [`PoseidonChip::rows_used`] tells how far it went. A circuit that
//! shares the columns must keep its own cells out of the chip's rows.
//!
//! Constants (initial zero state, padding) go through `Region::assign_advice_from_constant`:
//! the floor planner stores them in the *first* column registered with `enable_constant`.

use std::cell::Cell as StdCell;

use halo2_proofs::circuit::{AssignedCell, Layouter, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{
    Advice, Assigned, Column, ConstraintSystem, Error, Expression, Fixed, Selector,
};
use halo2_proofs::poly::Rotation;

use crate::native::{
    is_full_round, mds_mul, params, permutations_for, FULL_ROUNDS, PARTIAL_ROUNDS, RATE, ROUNDS,
    WIDTH,
};

/// Where the round constants live.
#[derive(Clone, Copy, Debug)]
pub enum RoundConstants {
    /// One fixed column: a full round spans three rows and reads its three lane constants
    /// from them (fewest columns; what [`PoseidonChip::configure`] uses).
    Rows(Column<Fixed>),
    /// One fixed column per lane: a full round spans two rows (fewer rotations: better when
    /// the circuit already has fixed columns to lend, e.g. a model's weight columns).
    Lanes([Column<Fixed>; WIDTH]),
}

impl RoundConstants {
    /// Rows of a full round.
    pub fn full_rows(&self) -> usize {
        match self {
            Self::Rows(_) => WIDTH,
            Self::Lanes(_) => 2,
        }
    }

    /// Rows of a permutation: two absorb rows, the full rounds, one row per partial round.
    pub fn rows_per_permutation(&self) -> usize {
        2 + self.full_rows() * FULL_ROUNDS + PARTIAL_ROUNDS
    }

    /// Where lane `lane`'s constant of a full round starting at row `r` goes.
    fn full_slot(&self, lane: usize, r: usize) -> (Column<Fixed>, usize) {
        match self {
            Self::Rows(c) => (*c, r + lane),
            Self::Lanes(cs) => (cs[lane], r),
        }
    }

    fn lane0(&self) -> Column<Fixed> {
        match self {
            Self::Rows(c) => *c,
            Self::Lanes(cs) => cs[0],
        }
    }
}

/// Rows used by one permutation with [`RoundConstants::Rows`] (the most of either layout):
/// two absorb rows, three rows per full round and one per partial round (2 + 8·3 + 57).
pub const ROWS_PER_PERMUTATION: usize = 2 + WIDTH * FULL_ROUNDS + PARTIAL_ROUNDS;
/// Number of helper advice columns.
pub const NUM_HELPERS: usize = WIDTH;
/// Total number of advice columns allocated by [`PoseidonChip::configure`].
pub const NUM_ADVICE_COLUMNS: usize = WIDTH + NUM_HELPERS;
/// Total number of fixed columns allocated by [`PoseidonChip::configure`] (selectors excluded).
pub const NUM_FIXED_COLUMNS: usize = 2;
/// Number of selectors allocated by [`PoseidonChip::configure`].
pub const NUM_SELECTORS: usize = 3;

/// Rows of the chip's columns used by one `hash` of `n_inputs` inputs with
/// [`RoundConstants::Rows`], `83 * (n_inputs / 2 + 1) + 1`; an upper bound for
/// [`RoundConstants::Lanes`] (`75 * (n_inputs / 2 + 1) + 1`).
pub const fn rows_per_hash(n_inputs: usize) -> usize {
    ROWS_PER_PERMUTATION * permutations_for(n_inputs) + 1
}

/// Rows [`PoseidonChip::compress`] takes: one permutation and its output row.
pub const fn rows_per_compress() -> usize {
    ROWS_PER_PERMUTATION + 1
}

/// Columns and selectors of the Poseidon chip.
#[derive(Clone, Copy, Debug)]
pub struct PoseidonConfig {
    /// State lanes (row `k`: state before the row's rounds).
    pub state: [Column<Advice>; WIDTH],
    /// Helper cells (`x^4` values, intermediate lane-0 values, absorbed inputs).
    pub helpers: [Column<Advice>; NUM_HELPERS],
    /// Round constants.
    pub round_constants: RoundConstants,
    /// Fixed column registered with `enable_constant` (initial zero state, padding).
    pub constants: Column<Fixed>,
    /// Absorbs `(h0, h0 of the next row)` into lanes 1 and 2 (result two rows down).
    pub q_absorb: Selector,
    /// Full round (first of its three rows).
    pub q_full: Selector,
    /// Partial round.
    pub q_partial: Selector,
}

/// The Poseidon chip. See the module docs for the layout.
#[derive(Debug)]
pub struct PoseidonChip {
    config: PoseidonConfig,
    start_row: usize,
    next_row: StdCell<usize>,
}

/// In-circuit round constants: textbook constants for full rounds, the folded lane-0 constant
/// for partial rounds (see the module docs).
pub(crate) struct CircuitConstants {
    /// Full rounds, in order (rounds 0..4 then 61..65).
    pub(crate) full: [[Fr; WIDTH]; FULL_ROUNDS],
    /// Lane-0 constant of each partial round.
    pub(crate) partial: [Fr; PARTIAL_ROUNDS],
}

pub(crate) fn circuit_constants() -> &'static CircuitConstants {
    static CC: std::sync::OnceLock<CircuitConstants> = std::sync::OnceLock::new();
    CC.get_or_init(|| {
        let p = params();
        let half = FULL_ROUNDS / 2;
        let mut full = [[Fr::ZERO; WIDTH]; FULL_ROUNDS];
        full[..half].copy_from_slice(&p.round_constants[..half]);
        full[half..].copy_from_slice(&p.round_constants[half + PARTIAL_ROUNDS..]);
        let mut partial = [Fr::ZERO; PARTIAL_ROUNDS];
        let mut carry = [Fr::ZERO; WIDTH];
        for (k, pc) in partial.iter_mut().enumerate() {
            let c: [Fr; WIDTH] = std::array::from_fn(|i| p.round_constants[half + k][i] + carry[i]);
            *pc = c[0];
            carry = mds_mul(&p.mds, &[Fr::ZERO, c[1], c[2]]);
        }
        for (f, k) in full[half].iter_mut().zip(carry) {
            *f += k;
        }
        CircuitConstants { full, partial }
    })
}

/// One row of the witness: `(state, helpers)`.
type TraceRow = ([Fr; WIDTH], [Fr; NUM_HELPERS]);

/// A test-only prank: the witness of round `round` gets `+1` in lane `lane` of what `kind`
/// names, and everything after it follows from the forged cell, so exactly one constraint of
/// that round's gate is broken (what a negative test of that polynomial needs).
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prank {
    pub round: usize,
    pub lane: usize,
    pub kind: PrankKind,
}

/// Which cell a [`Prank`] forges.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PrankKind {
    /// `x²`.
    Square,
    /// `x⁴`.
    Fourth,
    /// The round's output state (the next round's input).
    Next,
}

#[cfg(test)]
fn prank_next(state: &mut [Fr; WIDTH], r: usize) {
    if let Some(p) = PRANK
        .with(|p| p.get())
        .filter(|p| p.round == r && p.kind == PrankKind::Next)
    {
        state[p.lane] += Fr::ONE;
    }
}

#[cfg(test)]
thread_local! {
    pub(crate) static PRANK: std::cell::Cell<Option<Prank>> = const { std::cell::Cell::new(None) };
}

/// `(x², x⁴)` of lane `lane` in round `r`, pranked in tests.
fn powers(x: Fr, r: usize, lane: usize) -> (Fr, Fr) {
    #[allow(unused_mut)]
    let (mut h, mut g) = (x.square(), x.square().square());
    #[cfg(test)]
    if let Some(p) = PRANK
        .with(|p| p.get())
        .filter(|p| p.round == r && p.lane == lane)
    {
        match p.kind {
            PrankKind::Square => {
                h += Fr::ONE;
                g = h.square();
            }
            PrankKind::Fourth => g += Fr::ONE,
            PrankKind::Next => {}
        }
    }
    let _ = (r, lane);
    (h, g)
}

/// Witness of one permutation: `ROWS_PER_PERMUTATION` rows plus the output state. `state` is
/// the state *before* absorbing `absorbed` (row 0). The S-box `x⁵` is `x·x⁴`.
fn permutation_trace(
    mut state: [Fr; WIDTH],
    absorbed: [Fr; RATE],
    full_rows: usize,
) -> (Vec<TraceRow>, [Fr; 3]) {
    let cc = circuit_constants();
    let mds = &params().mds;
    let zero = [Fr::ZERO; WIDTH];
    let mut rows = Vec::with_capacity(ROWS_PER_PERMUTATION);
    rows.push((state, [absorbed[0], Fr::ZERO, Fr::ZERO]));
    rows.push((zero, [absorbed[1], Fr::ZERO, Fr::ZERO]));
    state[1] += absorbed[0];
    state[2] += absorbed[1];
    let mut full_idx = 0;
    for r in 0..ROUNDS {
        if is_full_round(r) {
            let c = cc.full[full_idx];
            full_idx += 1;
            let x: [Fr; WIDTH] = std::array::from_fn(|i| state[i] + c[i]);
            let hg: [(Fr, Fr); WIDTH] = std::array::from_fn(|i| powers(x[i], r, i));
            rows.push((state, hg.map(|p| p.0)));
            rows.push((zero, hg.map(|p| p.1)));
            for _ in 2..full_rows {
                rows.push((zero, zero));
            }
            let y: [Fr; WIDTH] = std::array::from_fn(|i| x[i] * hg[i].1);
            state = mds_mul(mds, &y);
            #[cfg(test)]
            prank_next(&mut state, r);
        } else {
            let x0 = state[0] + cc.partial[r - FULL_ROUNDS / 2];
            let (h0, h1) = powers(x0, r, 0);
            rows.push((state, [h0, h1, Fr::ZERO]));
            state = mds_mul(mds, &[x0 * h1, state[1], state[2]]);
            #[cfg(test)]
            prank_next(&mut state, r);
        }
    }
    debug_assert_eq!(rows.len(), 2 + full_rows * FULL_ROUNDS + PARTIAL_ROUNDS);
    (rows, state)
}

/// The digest the chip's witness would give for `inputs` (with the test prank, if any).
#[cfg(test)]
pub(crate) fn trace_hash(inputs: &[Fr]) -> Fr {
    let padded = crate::native::pad(inputs);
    let mut state = [Fr::ZERO; WIDTH];
    for pair in padded.chunks(RATE) {
        state = permutation_trace(state, [pair[0], pair[1]], WIDTH).1;
    }
    state[0]
}

fn constant(c: Fr) -> Expression<Fr> {
    Expression::Constant(c)
}

/// `M * v` for expression vectors.
pub(crate) fn mds_expr(v: &[Expression<Fr>; WIDTH]) -> [Expression<Fr>; WIDTH] {
    let mds = &params().mds;
    std::array::from_fn(|i| {
        (0..WIDTH)
            .map(|j| constant(mds[i][j]) * v[j].clone())
            .reduce(|a, b| a + b)
            .expect("WIDTH > 0")
    })
}

impl PoseidonChip {
    /// Allocates the chip's columns, selectors and gates.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> PoseidonConfig {
        let state = std::array::from_fn(|_| meta.advice_column());
        let helpers = std::array::from_fn(|_| meta.advice_column());
        let round_constants = RoundConstants::Rows(meta.fixed_column());
        let constants = meta.fixed_column();
        Self::configure_with(meta, state, helpers, round_constants, constants)
    }

    /// The chip's gates over columns the circuit already has (they are made equality-enabled,
    /// `constants` is registered with `enable_constant`). Advice columns may be shared with
    /// other chips whose cells stay out of this chip's rows; `round_constants` likewise.
    pub fn configure_with(
        meta: &mut ConstraintSystem<Fr>,
        state: [Column<Advice>; WIDTH],
        helpers: [Column<Advice>; NUM_HELPERS],
        round_constants: RoundConstants,
        constants: Column<Fixed>,
    ) -> PoseidonConfig {
        for col in state.iter().chain(&helpers[..1]) {
            meta.enable_equality(*col);
        }
        meta.enable_constant(constants);
        let config = PoseidonConfig {
            state,
            helpers,
            round_constants,
            constants,
            q_absorb: meta.selector(),
            q_full: meta.selector(),
            q_partial: meta.selector(),
        };
        let state_at = |meta: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>, rot: i32| {
            let s: [Expression<Fr>; WIDTH] =
                std::array::from_fn(|i| meta.query_advice(config.state[i], Rotation(rot)));
            s
        };
        let helpers_at = |meta: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>, rot: i32| {
            let h: [Expression<Fr>; NUM_HELPERS] =
                std::array::from_fn(|i| meta.query_advice(config.helpers[i], Rotation(rot)));
            h
        };

        if trustml_kit::mutation::keep("poseidon absorb") {
            meta.create_gate("poseidon absorb", |meta| {
                trustml_kit::mutation::constraints("poseidon absorb", {
                    let q = meta.query_selector(config.q_absorb);
                    let s = state_at(meta, 0);
                    let a = meta.query_advice(config.helpers[0], Rotation::cur());
                    let b = meta.query_advice(config.helpers[0], Rotation::next());
                    let out = state_at(meta, 2);
                    vec![
                        q.clone() * (out[0].clone() - s[0].clone()),
                        q.clone() * (out[1].clone() - s[1].clone() - a),
                        q * (out[2].clone() - s[2].clone() - b),
                    ]
                })
            });
        }

        if trustml_kit::mutation::keep("poseidon full round") {
            meta.create_gate("poseidon full round", |meta| {
                trustml_kit::mutation::constraints("poseidon full round", {
                    let q = meta.query_selector(config.q_full);
                    let s = state_at(meta, 0);
                    let h = helpers_at(meta, 0);
                    let g = helpers_at(meta, 1);
                    let next = state_at(meta, config.round_constants.full_rows() as i32);
                    let x: [Expression<Fr>; WIDTH] = std::array::from_fn(|i| {
                        let c = match config.round_constants {
                            RoundConstants::Rows(c) => meta.query_fixed(c, Rotation(i as i32)),
                            RoundConstants::Lanes(cs) => meta.query_fixed(cs[i], Rotation::cur()),
                        };
                        s[i].clone() + c
                    });
                    let mut constraints = Vec::with_capacity(3 * WIDTH);
                    for i in 0..WIDTH {
                        constraints.push(q.clone() * (h[i].clone() - x[i].clone() * x[i].clone()));
                        constraints.push(q.clone() * (g[i].clone() - h[i].clone() * h[i].clone()));
                    }
                    let y: [Expression<Fr>; WIDTH] =
                        std::array::from_fn(|i| x[i].clone() * g[i].clone());
                    for (n, o) in next.into_iter().zip(mds_expr(&y)) {
                        constraints.push(q.clone() * (n - o));
                    }
                    constraints
                })
            });
        }

        if trustml_kit::mutation::keep("poseidon partial round") {
            meta.create_gate("poseidon partial round", |meta| {
                trustml_kit::mutation::constraints("poseidon partial round", {
                    let q = meta.query_selector(config.q_partial);
                    let s = state_at(meta, 0);
                    let h = helpers_at(meta, 0);
                    let next = state_at(meta, 1);
                    let x0 = s[0].clone()
                        + meta.query_fixed(config.round_constants.lane0(), Rotation::cur());
                    let mut constraints = vec![
                        q.clone() * (h[0].clone() - x0.clone() * x0.clone()),
                        q.clone() * (h[1].clone() - h[0].clone() * h[0].clone()),
                    ];
                    let y = [x0 * h[1].clone(), s[1].clone(), s[2].clone()];
                    for (n, o) in next.into_iter().zip(mds_expr(&y)) {
                        constraints.push(q.clone() * (n - o));
                    }
                    constraints
                })
            });
        }

        config
    }

    /// A chip placing its first hash at row 0 of its columns.
    pub fn new(config: PoseidonConfig) -> Self {
        Self::with_start_row(config, 0)
    }

    /// A chip placing its first hash at absolute row `start_row` of its columns.
    pub fn with_start_row(config: PoseidonConfig, start_row: usize) -> Self {
        Self {
            config,
            start_row,
            next_row: StdCell::new(start_row),
        }
    }

    /// The chip's configuration.
    pub fn config(&self) -> &PoseidonConfig {
        &self.config
    }

    /// First row not yet used by this chip.
    pub fn next_row(&self) -> usize {
        self.next_row.get()
    }

    /// Rows used so far by this chip (since its start row).
    pub fn rows_used(&self) -> usize {
        self.next_row.get() - self.start_row
    }

    /// Computes [`crate::hash`]`(inputs)` in-circuit and returns the cell holding the digest.
    ///
    /// The inputs are copy-constrained into the sponge, the initial zero state and the padding
    /// are constrained to constants. `inputs` may be cells returned by `Region::assign_advice`
    /// (`AssignedCell<&Assigned<Fr>, Fr>`) or `AssignedCell<Fr, Fr>`; their columns must be
    /// equality-enabled. The returned cell is the chip's advice cell holding `state[0]` of the
    /// final state (use it with `constrain_equal` / `constrain_instance` / `copy_advice`).
    pub fn hash<'v, V>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        inputs: &[AssignedCell<V, Fr>],
    ) -> Result<AssignedCell<&'v Assigned<Fr>, Fr>, Error>
    where
        V: Clone + Into<Assigned<Fr>>,
    {
        let start = self.next_row.get();
        let n_perm = permutations_for(inputs.len());
        let out = layouter.assign_region(
            || "poseidon hash",
            |mut region| self.assign_sponge(&mut region, start, Fr::ZERO, inputs, true),
        )?;
        let per = self.config.round_constants.rows_per_permutation();
        self.next_row.set(start + per * n_perm + 1);
        Ok(out)
    }

    /// Computes [`crate::compress`]`(domain, a, b)` in-circuit: the initial state is
    /// `[domain, 0, 0]` (constants), `(a, b)` are copied in and absorbed, one permutation,
    /// no padding. The returned cell holds `state[0]`.
    pub fn compress<'v, V>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        domain: Fr,
        a: &AssignedCell<V, Fr>,
        b: &AssignedCell<V, Fr>,
    ) -> Result<AssignedCell<&'v Assigned<Fr>, Fr>, Error>
    where
        V: Clone + Into<Assigned<Fr>>,
    {
        let start = self.next_row.get();
        let inputs = [a.clone(), b.clone()];
        let out = layouter.assign_region(
            || "poseidon compress",
            |mut region| self.assign_sponge(&mut region, start, domain, &inputs, false),
        )?;
        let per = self.config.round_constants.rows_per_permutation();
        self.next_row.set(start + per + 1);
        Ok(out)
    }

    /// The sponge from state `[init, 0, 0]` over `inputs`, padded as [`crate::hash`] pads
    /// when `pad` (else `inputs` must fill whole blocks).
    fn assign_sponge<'v, V>(
        &self,
        region: &mut Region<'_, Fr>,
        start: usize,
        init: Fr,
        inputs: &[AssignedCell<V, Fr>],
        pad: bool,
    ) -> Result<AssignedCell<&'v Assigned<Fr>, Fr>, Error>
    where
        V: Clone + Into<Assigned<Fr>>,
    {
        let cfg = &self.config;
        let full_rows = cfg.round_constants.full_rows();
        let per = cfg.round_constants.rows_per_permutation();
        let cc = circuit_constants();

        // Padded message: `Some(cell)` for an input, `None` for padding (constant).
        let mut message: Vec<Option<&AssignedCell<V, Fr>>> = inputs.iter().map(Some).collect();
        if pad {
            message.push(None); // the `1`
            if !message.len().is_multiple_of(RATE) {
                message.push(None); // a `0`
            }
        } else if message.is_empty() || !message.len().is_multiple_of(RATE) {
            return Err(Error::Synthesis);
        }
        let pad_value = |idx: usize| {
            if idx == inputs.len() {
                Fr::ONE
            } else {
                Fr::ZERO
            }
        };

        // Initial state [init, 0, 0], constrained via the constants column.
        let mut row = start;
        let mut out = None;
        let init_state = [init, Fr::ZERO, Fr::ZERO];
        for (col, v) in cfg.state.iter().zip(init_state) {
            region.assign_advice_from_constant(|| "poseidon init", *col, row, v)?;
        }
        let mut state: Value<[Fr; WIDTH]> = Value::known(init_state);

        for (p, pair) in message.chunks(RATE).enumerate() {
            // Absorbed values into h0 of the two absorb rows.
            let mut absorbed: Vec<Value<Fr>> = Vec::with_capacity(RATE);
            for (k, elem) in pair.iter().enumerate() {
                let col = cfg.helpers[0];
                let row = row + k;
                match elem {
                    Some(cell) => {
                        let v = cell.value().map(|v| v.clone().into().evaluate());
                        let copied = region.assign_advice(col, row, v);
                        region.constrain_equal(copied.cell(), cell.cell());
                        absorbed.push(v);
                    }
                    None => {
                        let c = pad_value(RATE * p + k);
                        region.assign_advice_from_constant(|| "poseidon pad", col, row, c)?;
                        absorbed.push(Value::known(c));
                    }
                }
            }
            let absorbed: Value<[Fr; RATE]> = absorbed[0].zip(absorbed[1]).map(|(a, b)| [a, b]);
            let trace = state
                .zip(absorbed)
                .map(|(s, ab)| permutation_trace(s, ab, full_rows));

            cfg.q_absorb.enable(region, row)?;
            let mut full_idx = 0;
            let mut k = 2;
            // Which cells of each trace row a gate reads: (state, helpers). Only those are
            // assigned, so no cell of the chip's rows is a value nothing checks.
            let mut reads = vec![(false, 0usize); per];
            for round in 0..ROUNDS {
                let r = row + k;
                if is_full_round(round) {
                    for (j, c) in cc.full[full_idx].iter().enumerate() {
                        let (col, at) = cfg.round_constants.full_slot(j, r);
                        region.assign_fixed(col, at, *c);
                    }
                    full_idx += 1;
                    cfg.q_full.enable(region, r)?;
                    reads[k] = (true, NUM_HELPERS); // s and h = x²
                    reads[k + 1] = (false, NUM_HELPERS); // g = x⁴
                    k += full_rows;
                } else {
                    let c = cc.partial[round - FULL_ROUNDS / 2];
                    region.assign_fixed(cfg.round_constants.lane0(), r, c);
                    cfg.q_partial.enable(region, r)?;
                    reads[k] = (true, 2); // s, x0² and x0⁴
                    k += 1;
                }
            }
            for (k, &(state_read, helpers_read)) in reads.iter().enumerate().skip(2) {
                let r = row + k;
                for (i, col) in cfg.helpers.iter().enumerate().take(helpers_read) {
                    region.assign_advice(*col, r, trace.as_ref().map(|t| t.0[k].1[i]));
                }
                if state_read {
                    for (i, col) in cfg.state.iter().enumerate() {
                        region.assign_advice(*col, r, trace.as_ref().map(|t| t.0[k].0[i]));
                    }
                }
            }
            row += per;
            state = trace.map(|t| t.1);
            // Output row of this permutation (= absorb row of the next one).
            let mut first = None;
            for (i, col) in cfg.state.iter().enumerate() {
                let cell = region.assign_advice(*col, row, state.map(|s| s[i]));
                if i == 0 {
                    first = Some(cell);
                }
            }
            out = first;
        }
        debug_assert_eq!(row, start + per * (message.len() / RATE));
        Ok(out.expect("at least one permutation"))
    }
}
