//! A halo2 chip computing [`crate::hash`] in-circuit: six advice columns, one round per row,
//! every gate of degree ≤ 4 (selector included).
//!
//! # Layout
//!
//! Columns: 3 state advice columns `s0..s2` and 3 helper advice columns `h0..h2` (`s0..s2`
//! and `h0` equality-enabled: inputs are copied into `h0`, so `h1, h2` need no permutation
//! column), 3 fixed round-constant columns `c0..c2`, 1 fixed column for constants
//! (`enable_constant`) and 3 selectors. [`PoseidonChip::configure`] allocates them;
//! [`PoseidonChip::configure_with`] takes columns the circuit already has (a model's advice
//! grid, a delivery circuit's columns): each column costs a commitment in every proof and
//! ~6k gas in every on-chain verification, while rows are nearly free.
//!
//! One permutation takes [`ROWS_PER_PERMUTATION`] = 67 rows; row `k` holds the state *before*
//! its step and the gate writes the state after it into row `k + 1` (the absorb step: `k + 2`):
//!
//! | rows    | selector    | step                   | helpers                             |
//! |---------|-------------|------------------------|-------------------------------------|
//! | 0, 1    | `q_absorb`  | add the absorbed pair  | `h0` of rows 0 and 1 = the pair     |
//! | 2..=5   | `q_full`    | full rounds 0..=3      | `h_i = x_i²` per lane               |
//! | 6..=62  | `q_partial` | partial rounds         | `h0 = x_0²`                         |
//! | 63..=66 | `q_full`    | full rounds 61..=64    | `h_i = x_i²` per lane               |
//!
//! where `x = s + c`. The S-box `x⁵` is written `x·h²` with `h = x²` constrained by
//! `q·(h − x²) = 0`; the MDS outputs `next_i = Σ_j M_ij·x_j·h_j²` are of degree 3 (4 with the
//! selector). Partial rounds use the equivalent "folded" round constants (lanes 1 and 2 of a
//! partial round's constants are pushed through the linear layer into the next round), so one
//! constant per partial round suffices and the intermediate in-circuit states of partial rows
//! differ from the textbook ones; the permutation output is identical.
//!
//! The output state of one permutation is the input row of the next one (its absorb row), and
//! the last permutation's output row carries no selector. A hash of `n` inputs therefore uses
//! [`rows_per_hash`]`(n) = 67 * (n / 2 + 1) + 1` rows of the chip's columns.
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
    is_full_round, mds_mul, params, permutations_for, sbox, FULL_ROUNDS, PARTIAL_ROUNDS, RATE,
    ROUNDS, WIDTH,
};

/// Rows used by one permutation: two absorb rows and one row per round (2 + 8 + 57).
pub const ROWS_PER_PERMUTATION: usize = 2 + ROUNDS;
/// Number of helper advice columns.
pub const NUM_HELPERS: usize = WIDTH;
/// Total number of advice columns allocated by [`PoseidonChip::configure`].
pub const NUM_ADVICE_COLUMNS: usize = WIDTH + NUM_HELPERS;
/// Total number of fixed columns allocated by [`PoseidonChip::configure`] (selectors excluded).
pub const NUM_FIXED_COLUMNS: usize = WIDTH + 1;
/// Number of selectors allocated by [`PoseidonChip::configure`].
pub const NUM_SELECTORS: usize = 3;

/// Rows of the chip's columns used by one `hash` of `n_inputs` inputs:
/// `67 * (n_inputs / 2 + 1) + 1`.
pub const fn rows_per_hash(n_inputs: usize) -> usize {
    ROWS_PER_PERMUTATION * permutations_for(n_inputs) + 1
}

/// Columns and selectors of the Poseidon chip.
#[derive(Clone, Copy, Debug)]
pub struct PoseidonConfig {
    /// State lanes (row `k`: state before the row's rounds).
    pub state: [Column<Advice>; WIDTH],
    /// Helper cells (`x^4` values, intermediate lane-0 values, absorbed inputs).
    pub helpers: [Column<Advice>; NUM_HELPERS],
    /// Per-row round constants (full rows: one per lane; partial rows: one per round).
    pub round_constants: [Column<Fixed>; WIDTH],
    /// Fixed column registered with `enable_constant` (initial zero state, padding).
    pub constants: Column<Fixed>,
    /// Absorbs `(h0, h0 of the next row)` into lanes 1 and 2 (result two rows down).
    pub q_absorb: Selector,
    /// Full round.
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
struct CircuitConstants {
    /// Full rounds, in order (rounds 0..4 then 61..65).
    full: [[Fr; WIDTH]; FULL_ROUNDS],
    /// Lane-0 constant of each partial round.
    partial: [Fr; PARTIAL_ROUNDS],
}

fn circuit_constants() -> &'static CircuitConstants {
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

/// Witness of one permutation: `ROWS_PER_PERMUTATION` rows plus the output state. `state` is
/// the state *before* absorbing `absorbed` (row 0).
fn permutation_trace(mut state: [Fr; WIDTH], absorbed: [Fr; RATE]) -> (Vec<TraceRow>, [Fr; 3]) {
    let cc = circuit_constants();
    let mds = &params().mds;
    let mut rows = Vec::with_capacity(ROWS_PER_PERMUTATION);
    rows.push((state, [absorbed[0], Fr::ZERO, Fr::ZERO]));
    rows.push(([Fr::ZERO; WIDTH], [absorbed[1], Fr::ZERO, Fr::ZERO]));
    state[1] += absorbed[0];
    state[2] += absorbed[1];
    let mut full_idx = 0;
    for r in 0..ROUNDS {
        let mut h = [Fr::ZERO; NUM_HELPERS];
        let row_state = state;
        if is_full_round(r) {
            let c = cc.full[full_idx];
            full_idx += 1;
            let x: [Fr; WIDTH] = std::array::from_fn(|i| state[i] + c[i]);
            for i in 0..WIDTH {
                h[i] = x[i].square();
            }
            state = mds_mul(mds, &x.map(sbox));
        } else {
            let x0 = state[0] + cc.partial[r - FULL_ROUNDS / 2];
            h[0] = x0.square();
            state = mds_mul(mds, &[sbox(x0), state[1], state[2]]);
        }
        rows.push((row_state, h));
    }
    (rows, state)
}

fn constant(c: Fr) -> Expression<Fr> {
    Expression::Constant(c)
}

/// `M * v` for expression vectors.
fn mds_expr(v: &[Expression<Fr>; WIDTH]) -> [Expression<Fr>; WIDTH] {
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
        let round_constants = std::array::from_fn(|_| meta.fixed_column());
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
        round_constants: [Column<Fixed>; WIDTH],
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
        let query = |meta: &mut halo2_proofs::plonk::VirtualCells<'_, Fr>| {
            let s: [_; WIDTH] =
                std::array::from_fn(|i| meta.query_advice(config.state[i], Rotation::cur()));
            let next: [_; WIDTH] =
                std::array::from_fn(|i| meta.query_advice(config.state[i], Rotation::next()));
            let h: [_; NUM_HELPERS] =
                std::array::from_fn(|i| meta.query_advice(config.helpers[i], Rotation::cur()));
            let c: [_; WIDTH] = std::array::from_fn(|i| {
                meta.query_fixed(config.round_constants[i], Rotation::cur())
            });
            (s, next, h, c)
        };

        meta.create_gate("poseidon absorb", |meta| {
            let q = meta.query_selector(config.q_absorb);
            let (s, _, h, _) = query(meta);
            let b = meta.query_advice(config.helpers[0], Rotation::next());
            let out: [_; WIDTH] =
                std::array::from_fn(|i| meta.query_advice(config.state[i], Rotation(2)));
            vec![
                q.clone() * (out[0].clone() - s[0].clone()),
                q.clone() * (out[1].clone() - s[1].clone() - h[0].clone()),
                q * (out[2].clone() - s[2].clone() - b),
            ]
        });

        meta.create_gate("poseidon full round", |meta| {
            let q = meta.query_selector(config.q_full);
            let (s, next, h, c) = query(meta);
            let x: [Expression<Fr>; WIDTH] = std::array::from_fn(|i| s[i].clone() + c[i].clone());
            let mut constraints = Vec::with_capacity(2 * WIDTH);
            for i in 0..WIDTH {
                constraints.push(q.clone() * (h[i].clone() - x[i].clone() * x[i].clone()));
            }
            let y: [Expression<Fr>; WIDTH] =
                std::array::from_fn(|i| x[i].clone() * h[i].clone() * h[i].clone());
            for (n, o) in next.into_iter().zip(mds_expr(&y)) {
                constraints.push(q.clone() * (n - o));
            }
            constraints
        });

        meta.create_gate("poseidon partial round", |meta| {
            let q = meta.query_selector(config.q_partial);
            let (s, next, h, c) = query(meta);
            let x0 = s[0].clone() + c[0].clone();
            let mut constraints = vec![q.clone() * (h[0].clone() - x0.clone() * x0.clone())];
            let y = [x0 * h[0].clone() * h[0].clone(), s[1].clone(), s[2].clone()];
            for (n, o) in next.into_iter().zip(mds_expr(&y)) {
                constraints.push(q.clone() * (n - o));
            }
            constraints
        });

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
            |mut region| self.assign_hash(&mut region, start, inputs),
        )?;
        self.next_row.set(start + ROWS_PER_PERMUTATION * n_perm + 1);
        Ok(out)
    }

    fn assign_hash<'v, V>(
        &self,
        region: &mut Region<'_, Fr>,
        start: usize,
        inputs: &[AssignedCell<V, Fr>],
    ) -> Result<AssignedCell<&'v Assigned<Fr>, Fr>, Error>
    where
        V: Clone + Into<Assigned<Fr>>,
    {
        let cfg = &self.config;
        let cc = circuit_constants();

        // Padded message: `Some(cell)` for an input, `None` for padding (constant).
        let mut message: Vec<Option<&AssignedCell<V, Fr>>> = inputs.iter().map(Some).collect();
        message.push(None); // the `1`
        if !message.len().is_multiple_of(RATE) {
            message.push(None); // a `0`
        }
        let pad_value = |idx: usize| {
            if idx == inputs.len() {
                Fr::ONE
            } else {
                Fr::ZERO
            }
        };

        // Initial state [0, 0, 0], constrained via the constants column.
        let mut row = start;
        let mut out = None;
        for col in cfg.state.iter() {
            region.assign_advice_from_constant(|| "poseidon init", *col, row, Fr::ZERO)?;
        }
        let mut state: Value<[Fr; WIDTH]> = Value::known([Fr::ZERO; WIDTH]);

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
            let trace = state.zip(absorbed).map(|(s, ab)| permutation_trace(s, ab));

            cfg.q_absorb.enable(region, row)?;
            let mut full_idx = 0;
            for k in 2..ROWS_PER_PERMUTATION {
                let r = row + k;
                let round = k - 2;
                if is_full_round(round) {
                    for (col, c) in cfg.round_constants.iter().zip(cc.full[full_idx]) {
                        region.assign_fixed(*col, r, c);
                    }
                    full_idx += 1;
                    cfg.q_full.enable(region, r)?;
                } else {
                    let c = cc.partial[round - FULL_ROUNDS / 2];
                    region.assign_fixed(cfg.round_constants[0], r, c);
                    cfg.q_partial.enable(region, r)?;
                }
                for (i, col) in cfg.helpers.iter().enumerate() {
                    region.assign_advice(*col, r, trace.as_ref().map(|t| t.0[k].1[i]));
                }
                for (i, col) in cfg.state.iter().enumerate() {
                    region.assign_advice(*col, r, trace.as_ref().map(|t| t.0[k].0[i]));
                }
            }
            row += ROWS_PER_PERMUTATION;
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
        debug_assert_eq!(row, start + ROWS_PER_PERMUTATION * (message.len() / RATE));
        Ok(out.expect("at least one permutation"))
    }
}
