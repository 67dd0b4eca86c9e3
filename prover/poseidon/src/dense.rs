//! A denser layout of the same Poseidon sponge as [`crate::chip`], for circuits whose cost
//! is hashing (zk-img hashes every byte of two images): 38 rows per permutation instead of
//! 83, in one or more **lanes** of 6 advice columns that share their selectors and 3
//! round-constant columns, gates of degree ≤ 4 (selector included). The hash, and so every
//! commitment, is the same.
//!
//! # Layout (one permutation from row `r`; `x = s + c`, `c` the row's round constants)
//!
//! Rows come in blocks of 38, one permutation each, from row 0; every lane has the same
//! block structure, so the selectors and round constants are shared (each fixed column
//! costs a proof as much as an advice column: three chips with their own would need 21
//! fixed columns where lanes need 8 + one per lane).
//!
//! | rows | selector | cells | constraints (each lane) |
//! |---|---|---|---|
//! | `r` | `q_absorb` | `h0, h1` = the absorbed pair; `st` (fixed, per lane) = 1 where a hash starts | `s(r+1) = ((1−st)·s0, (1−st)·s1 + h0, (1−st)·s2 + h1)` |
//! | `r+1 ..= r+4`, `r+34 ..= r+37` | `q_full` | `h_i = x_i²`; `rc_i` | `s(next) = M·(x_i·h_i²)` |
//! | `r+5 ..= r+32` | `q_pair` | two partial rounds: `h0 = x0²`, `h1 = m`, `h2 = (m + rc1)²`; `rc0, rc1` | `m = (M·y)_0`, `s(next) = M·((m + rc1)·h2², (M·y)_1, (M·y)_2)`, `y = (x0·h0², s1, s2)` |
//! | `r+33` | `q_single` | the 57th partial round: `h0 = x0²`; `rc0` | `s(next) = M·(x0·h0², s1, s2)` |
//! | `0` | `q_zero` | | `s = 0` |
//! | `r+38` (shared) | `q_digest` | `digest(r+37−i)` | `digest(r+37−i) = s0_i(r+38)` |
//!
//! Row `r+38` holds the output state: the next permutation's absorb row. A hash of `n`
//! permutations from block `b` leaves its digest in `s0` of row `38(b+n)`, where the lane's
//! next hash starts (`st = 1`: that hash absorbs into the zero state, and the digest stays
//! in place). Only `s0` (digests out), `h0` and `h1` (inputs in) are equality-enabled: the
//! state runs from row to row through the gates. A lane with fewer blocks than the longest
//! is filled with hashes of zeros (inputs copied from constants), so every row where a
//! selector is on is a valid permutation in every lane.
//!
//! **Shared inputs and digests** ([`DenseChip::configure_shared`], up to
//! [`MAX_SHARED_LANES`] lanes): lane `i`'s absorbed pair is in row `r + i` of two shared
//! input columns (the absorb gate reads them at rotation `i` instead of `h0, h1`), and
//! `q_digest`, on every block's output row `r + 38`, copies each lane's `s0` there to row
//! `r + 37 − i` of a shared digest column (`digest(−1 − i) = s0_i`). Only those three
//! columns are equality-enabled: per lane they replace three equality-enabled columns, each
//! a σ column and a third of a permutation product column in every proof.
//!
//! The S-box `x⁵ = x·(x²)²` keeps each constraint at degree 3 before its selector. Partial
//! rounds use the folded lane-0 constants of [`crate::chip`], so partial-round states differ
//! from the textbook ones while the output is the same. Cells a row's gate reads are
//! assigned, and only those (no free cells): the absorb row's `h2`, a full round's nothing
//! else, a single partial round's `h1, h2` stay empty. `q_zero` pins row 0's state, which
//! `st = 1` leaves unread by the absorb gate.

use std::cell::Cell as StdCell;

use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{
    Advice, Assigned, Column, ConstraintSystem, Error, Expression, Fixed, Selector,
};
use halo2_proofs::poly::Rotation;

use crate::chip::{circuit_constants, mds_expr};
use crate::native::{mds_mul, params, permutations_for, FULL_ROUNDS, PARTIAL_ROUNDS, RATE, WIDTH};

/// Partial rounds proven two per row.
const PAIRS: usize = PARTIAL_ROUNDS / 2;
/// Rows of one permutation: absorb, full rounds, partial pairs, the odd partial round.
pub const ROWS_PER_PERMUTATION: usize = 1 + FULL_ROUNDS + PAIRS + PARTIAL_ROUNDS % 2;

/// Most lanes of a chip with shared inputs and digests ([`DenseChip::configure_shared`]):
/// lane `i`'s cells are `i` rows from its block's ends, and the reach of those rotations
/// sets the rows reserved at the bottom for blinding (`i + 3`).
pub const MAX_SHARED_LANES: usize = 24;

/// Rows one `hash` of `n_inputs` inputs takes in its lane, counting the lane's last row
/// (which holds the last digest): the rows of several hashes in one lane sum to at least
/// the lane's rows.
pub const fn rows_per_hash(n_inputs: usize) -> usize {
    ROWS_PER_PERMUTATION * permutations_for(n_inputs) + 1
}

/// One lane's columns.
#[derive(Clone, Copy, Debug)]
pub struct DenseLane {
    /// The state (`s0` equality-enabled: digests leave from it).
    pub state: [Column<Advice>; WIDTH],
    /// Helper cells (`h0, h1` equality-enabled: inputs enter through them).
    pub helpers: [Column<Advice>; WIDTH],
    /// 1 on the absorb row where a hash starts.
    pub start: Column<Fixed>,
}

/// Columns and selectors of the dense chip: its lanes, and what they share.
#[derive(Clone, Debug)]
pub struct DenseConfig {
    /// The lanes.
    pub lanes: Vec<DenseLane>,
    /// The lanes' inputs and digests in shared columns ([`DenseChip::configure_shared`]).
    pub shared: Option<SharedIo>,
    /// Round constants of a row, one column per state element (shared).
    pub rc: [Column<Fixed>; WIDTH],
    /// The absorb row.
    pub q_absorb: Selector,
    /// A full round.
    pub q_full: Selector,
    /// Two partial rounds.
    pub q_pair: Selector,
    /// One partial round.
    pub q_single: Selector,
    /// Row 0: the zero state.
    pub q_zero: Selector,
}

/// Columns through which every lane's inputs enter and digests leave (see
/// [`DenseChip::configure_shared`]).
#[derive(Clone, Copy, Debug)]
pub struct SharedIo {
    /// Lane `i` absorbs the pair in row `i` of its block.
    pub inputs: [Column<Advice>; RATE],
    /// Lane `i`'s state `s0` after a block is in row `i` counted back from the block's
    /// last row (row `37 − i`).
    pub digests: Column<Advice>,
    /// On every block's last row + 1 (the row holding its output state).
    pub q_digest: Selector,
}

/// The dense Poseidon chip; see the module docs.
#[derive(Debug)]
pub struct DenseChip {
    config: DenseConfig,
    /// Blocks (permutations) laid out so far, per lane.
    blocks: Vec<StdCell<usize>>,
}

/// Which cell a test prank forges (`+1`, everything after it following from it), so that
/// exactly one constraint breaks.
#[cfg(test)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Forge {
    /// Helper `i` of the row of round `r` (a full round, the first round of a pair, or
    /// the single partial round).
    Helper { r: usize, i: usize },
    /// Lane `i` of the state the row of round `r` outputs (`usize::MAX`: the absorb row).
    Next { r: usize, i: usize },
    /// Element `i` of row 0's state.
    Zero { i: usize },
    /// The shared digest cell of the block ending at row `row`.
    Digest { row: usize },
}

#[cfg(test)]
thread_local! {
    pub(crate) static FORGE: std::cell::Cell<Option<Forge>> = const { std::cell::Cell::new(None) };
}

/// `v`, plus one if the test forges this cell.
#[allow(unused_variables)]
fn forged(v: Fr, what: (usize, usize, bool)) -> Fr {
    #[cfg(test)]
    {
        let (r, i, next) = what;
        let hit = FORGE.with(|f| f.get()).is_some_and(|f| match f {
            Forge::Helper { r: fr, i: fi } => !next && fr == r && fi == i,
            Forge::Next { r: fr, i: fi } => next && fr == r && fi == i,
            Forge::Zero { .. } | Forge::Digest { .. } => false,
        });
        if hit {
            return v + Fr::ONE;
        }
    }
    v
}

/// The shared digest cell of the block ending at `row`: `v` (plus one if the test forges it).
#[allow(unused_variables)]
fn forged_digest(v: Fr, row: usize) -> Fr {
    #[cfg(test)]
    if FORGE.with(|f| f.get()) == Some(Forge::Digest { row }) {
        return v + Fr::ONE;
    }
    v
}

/// Row 0's state: zero (one element forged in tests).
fn zero_state() -> [Fr; WIDTH] {
    #[allow(unused_mut)]
    let mut s = [Fr::ZERO; WIDTH];
    #[cfg(test)]
    if let Some(Forge::Zero { i }) = FORGE.with(|f| f.get()) {
        s[i] = Fr::ONE;
    }
    s
}

/// The state round `r` outputs: `M·y` (forged in tests).
fn round_out(y: &[Fr; WIDTH], r: usize) -> [Fr; WIDTH] {
    let mut out = mds_mul(&params().mds, y);
    for (i, s) in out.iter_mut().enumerate() {
        *s = forged(*s, (r, i, true));
    }
    out
}

/// `q·(next_i − (M·y)_i)`: a round's output constraints.
fn next_is(
    q: &Expression<Fr>,
    next: [Expression<Fr>; WIDTH],
    y: &[Expression<Fr>; WIDTH],
) -> Vec<Expression<Fr>> {
    next.into_iter()
        .zip(mds_expr(y))
        .map(|(n, o)| q.clone() * (n - o))
        .collect()
}

/// One row of the trace: `(state, helpers)`.
type Row = ([Fr; WIDTH], [Fr; WIDTH]);

/// The rows of one permutation from `state` (before absorbing `pair`), and its output.
fn trace(mut state: [Fr; WIDTH], pair: [Fr; RATE]) -> (Vec<Row>, [Fr; WIDTH]) {
    let cc = circuit_constants();
    let mds = &params().mds;
    let mut rows = Vec::with_capacity(ROWS_PER_PERMUTATION);
    rows.push((state, [pair[0], pair[1], Fr::ZERO]));
    state[1] += pair[0];
    state[2] += pair[1];
    // (`r = usize::MAX`: the absorb row's output.)
    for (i, s) in state.iter_mut().enumerate() {
        *s = forged(*s, (usize::MAX, i, true));
    }
    let half = FULL_ROUNDS / 2;
    let full = |state: &mut [Fr; WIDTH], rows: &mut Vec<Row>, f: usize, r: usize| {
        let x: [Fr; WIDTH] = std::array::from_fn(|i| state[i] + cc.full[f][i]);
        let h: [Fr; WIDTH] = std::array::from_fn(|i| forged(x[i].square(), (r, i, false)));
        rows.push((*state, h));
        let y: [Fr; WIDTH] = std::array::from_fn(|i| x[i] * h[i].square());
        *state = round_out(&y, r);
    };
    for f in 0..half {
        full(&mut state, &mut rows, f, f);
    }
    for p in 0..PAIRS {
        let r = half + 2 * p;
        let x = state[0] + cc.partial[2 * p];
        let h0 = forged(x.square(), (r, 0, false));
        let y = [x * h0.square(), state[1], state[2]];
        let mid = mds_mul(mds, &y);
        let m = forged(mid[0], (r, 1, false));
        let x2 = m + cc.partial[2 * p + 1];
        let h2 = forged(x2.square(), (r, 2, false));
        rows.push((state, [h0, m, h2]));
        state = round_out(&[x2 * h2.square(), mid[1], mid[2]], r);
    }
    if PARTIAL_ROUNDS % 2 == 1 {
        let r = half + PARTIAL_ROUNDS - 1;
        let x = state[0] + cc.partial[PARTIAL_ROUNDS - 1];
        let h0 = forged(x.square(), (r, 0, false));
        rows.push((state, [h0, Fr::ZERO, Fr::ZERO]));
        state = round_out(&[x * h0.square(), state[1], state[2]], r);
    }
    for f in half..FULL_ROUNDS {
        full(&mut state, &mut rows, f, f + PARTIAL_ROUNDS);
    }
    debug_assert_eq!(rows.len(), ROWS_PER_PERMUTATION);
    (rows, state)
}

impl DenseChip {
    /// Allocates `lanes` lanes (`s0, h0, h1` of each equality-enabled), the shared round
    /// constants and selectors, and the gates; `constants` is registered with
    /// `enable_constant`.
    pub fn configure(
        meta: &mut ConstraintSystem<Fr>,
        constants: Column<Fixed>,
        lanes: usize,
    ) -> DenseConfig {
        Self::configure_with(meta, constants, lanes, false)
    }

    /// [`Self::configure`] with every lane's inputs and digests in three shared columns, so
    /// that only they are equality-enabled (not `s0, h0, h1` of each lane): lane `i` absorbs
    /// the pair in row `i` of its block (the absorb gate reads it at rotation `i`), and the
    /// state `s0` after each block is copied by a gate to row `i` before the block's end
    /// (rotation `−1 − i` from the output row). Each equality-enabled column costs a proof
    /// about a third of a committed column and a σ column; with 20 lanes that was most of
    /// the permutation argument. Up to 24 lanes: rotations up to 24 reserve 27 rows at the
    /// bottom for blinding.
    pub fn configure_shared(
        meta: &mut ConstraintSystem<Fr>,
        constants: Column<Fixed>,
        lanes: usize,
    ) -> DenseConfig {
        Self::configure_with(meta, constants, lanes, true)
    }

    fn configure_with(
        meta: &mut ConstraintSystem<Fr>,
        constants: Column<Fixed>,
        lanes: usize,
        shared: bool,
    ) -> DenseConfig {
        assert!(lanes > 0, "a dense chip has a lane");
        assert!(
            !shared || lanes <= MAX_SHARED_LANES,
            "shared inputs and digests: at most {MAX_SHARED_LANES} lanes"
        );
        let lanes: Vec<DenseLane> = (0..lanes)
            .map(|_| {
                let lane = DenseLane {
                    state: std::array::from_fn(|_| meta.advice_column()),
                    helpers: std::array::from_fn(|_| meta.advice_column()),
                    start: meta.fixed_column(),
                };
                if !shared {
                    for c in [lane.state[0], lane.helpers[0], lane.helpers[1]] {
                        meta.enable_equality(c);
                    }
                }
                lane
            })
            .collect();
        let shared = shared.then(|| {
            let io = SharedIo {
                inputs: std::array::from_fn(|_| meta.advice_column()),
                digests: meta.advice_column(),
                q_digest: meta.selector(),
            };
            for c in [io.inputs[0], io.inputs[1], io.digests] {
                meta.enable_equality(c);
            }
            io
        });
        let rc: [Column<Fixed>; WIDTH] = std::array::from_fn(|_| meta.fixed_column());
        meta.enable_constant(constants);
        let cfg = DenseConfig {
            lanes,
            shared,
            rc,
            q_absorb: meta.selector(),
            q_full: meta.selector(),
            q_pair: meta.selector(),
            q_single: meta.selector(),
            q_zero: meta.selector(),
        };
        type V<'a> = halo2_proofs::plonk::VirtualCells<'a, Fr>;
        let s_at = |m: &mut V<'_>, l: &DenseLane, rot: i32| -> [Expression<Fr>; WIDTH] {
            std::array::from_fn(|i| m.query_advice(l.state[i], Rotation(rot)))
        };
        let h_at = |m: &mut V<'_>, l: &DenseLane| -> [Expression<Fr>; WIDTH] {
            std::array::from_fn(|i| m.query_advice(l.helpers[i], Rotation::cur()))
        };
        let c_at = |m: &mut V<'_>| -> [Expression<Fr>; WIDTH] {
            std::array::from_fn(|i| m.query_fixed(cfg.rc[i], Rotation::cur()))
        };
        let keep = trustml_kit::mutation::keep;
        let named = trustml_kit::mutation::constraints;
        // Each gate: its constraints for every lane `(i, lane)`, under the shared selector.
        type LaneConstraints<'f> =
            dyn Fn(&mut V<'_>, usize, &DenseLane) -> Vec<Expression<Fr>> + 'f;
        let per_lane = |m: &mut V<'_>, f: &LaneConstraints<'_>| {
            (cfg.lanes.iter().enumerate())
                .flat_map(|(i, l)| f(m, i, l))
                .collect::<Vec<_>>()
        };

        if keep("dense poseidon zero") {
            meta.create_gate("dense poseidon zero", |m| {
                named("dense poseidon zero", {
                    let q = m.query_selector(cfg.q_zero);
                    per_lane(m, &|m, _, l| {
                        s_at(m, l, 0).into_iter().map(|s| q.clone() * s).collect()
                    })
                })
            });
        }
        if keep("dense poseidon absorb") {
            meta.create_gate("dense poseidon absorb", |m| {
                named("dense poseidon absorb", {
                    let q = m.query_selector(cfg.q_absorb);
                    per_lane(m, &|m, i, l| {
                        let s = s_at(m, l, 0);
                        // The absorbed pair: the lane's helpers, or row `i` of the shared
                        // inputs. (Queried in the order chips set up before shared columns
                        // had, all three helpers then `n`: the query order is part of a
                        // verifying key.)
                        let h: [Expression<Fr>; RATE] = match cfg.shared {
                            None => {
                                let [h0, h1, _] = h_at(m, l);
                                [h0, h1]
                            }
                            Some(io) => std::array::from_fn(|k| {
                                m.query_advice(io.inputs[k], Rotation(i as i32))
                            }),
                        };
                        let n = s_at(m, l, 1);
                        // A hash's first absorb starts from the zero state.
                        let go_on =
                            Expression::Constant(Fr::ONE) - m.query_fixed(l.start, Rotation::cur());
                        vec![
                            q.clone() * (n[0].clone() - go_on.clone() * s[0].clone()),
                            q.clone()
                                * (n[1].clone() - go_on.clone() * s[1].clone() - h[0].clone()),
                            q.clone() * (n[2].clone() - go_on * s[2].clone() - h[1].clone()),
                        ]
                    })
                })
            });
        }
        if let (Some(io), true) = (cfg.shared, keep("dense poseidon digest")) {
            meta.create_gate("dense poseidon digest", |m| {
                named("dense poseidon digest", {
                    let q = m.query_selector(io.q_digest);
                    per_lane(m, &|m, i, l| {
                        let d = m.query_advice(io.digests, Rotation(-1 - i as i32));
                        vec![q.clone() * (d - m.query_advice(l.state[0], Rotation::cur()))]
                    })
                })
            });
        }
        if keep("dense poseidon full round") {
            meta.create_gate("dense poseidon full round", |m| {
                named("dense poseidon full round", {
                    let q = m.query_selector(cfg.q_full);
                    let c = c_at(m);
                    per_lane(m, &|m, _, l| {
                        let (s, h, n) = (s_at(m, l, 0), h_at(m, l), s_at(m, l, 1));
                        let x: [Expression<Fr>; WIDTH] =
                            std::array::from_fn(|i| s[i].clone() + c[i].clone());
                        let mut out: Vec<Expression<Fr>> = (0..WIDTH)
                            .map(|i| q.clone() * (h[i].clone() - x[i].clone() * x[i].clone()))
                            .collect();
                        let y: [Expression<Fr>; WIDTH] =
                            std::array::from_fn(|i| x[i].clone() * h[i].clone() * h[i].clone());
                        out.extend(next_is(&q, n, &y));
                        out
                    })
                })
            });
        }
        if keep("dense poseidon partial pair") {
            meta.create_gate("dense poseidon partial pair", |m| {
                named("dense poseidon partial pair", {
                    let q = m.query_selector(cfg.q_pair);
                    let c = c_at(m);
                    per_lane(m, &|m, _, l| {
                        let (s, h, n) = (s_at(m, l, 0), h_at(m, l), s_at(m, l, 1));
                        let x = s[0].clone() + c[0].clone();
                        let y = [
                            x.clone() * h[0].clone() * h[0].clone(),
                            s[1].clone(),
                            s[2].clone(),
                        ];
                        let [m0, m1, m2] = mds_expr(&y);
                        let x2 = h[1].clone() + c[1].clone();
                        let mut out = vec![
                            q.clone() * (h[0].clone() - x.clone() * x),
                            q.clone() * (h[1].clone() - m0),
                            q.clone() * (h[2].clone() - x2.clone() * x2.clone()),
                        ];
                        let y2 = [x2 * h[2].clone() * h[2].clone(), m1, m2];
                        out.extend(next_is(&q, n, &y2));
                        out
                    })
                })
            });
        }
        if keep("dense poseidon partial round") {
            meta.create_gate("dense poseidon partial round", |m| {
                named("dense poseidon partial round", {
                    let q = m.query_selector(cfg.q_single);
                    let c = c_at(m);
                    per_lane(m, &|m, _, l| {
                        let (s, h, n) = (s_at(m, l, 0), h_at(m, l), s_at(m, l, 1));
                        let x = s[0].clone() + c[0].clone();
                        let mut out = vec![q.clone() * (h[0].clone() - x.clone() * x.clone())];
                        let y = [x * h[0].clone() * h[0].clone(), s[1].clone(), s[2].clone()];
                        out.extend(next_is(&q, n, &y));
                        out
                    })
                })
            });
        }
        cfg
    }

    /// A chip placing each lane's first hash at row 0.
    pub fn new(config: DenseConfig) -> Self {
        let blocks = config.lanes.iter().map(|_| StdCell::new(0)).collect();
        Self { config, blocks }
    }

    /// Blocks of the longest lane.
    fn longest(&self) -> usize {
        self.blocks.iter().map(StdCell::get).max().unwrap_or(0)
    }

    /// Rows used so far: the longest lane's blocks and its last row.
    pub fn rows_used(&self) -> usize {
        let blocks = self.longest();
        if blocks == 0 {
            0
        } else {
            ROWS_PER_PERMUTATION * blocks + 1
        }
    }

    /// [`crate::hash`]`(inputs)` in-circuit in lane `lane`, after its previous hashes
    /// (inputs copied in, the padding constants); returns the cell holding the digest.
    /// Call [`Self::finish`] once all hashes are laid out.
    pub fn hash<'v, V>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        lane: usize,
        inputs: &[AssignedCell<V, Fr>],
    ) -> Result<AssignedCell<&'v Assigned<Fr>, Fr>, Error>
    where
        V: Clone + Into<Assigned<Fr>>,
    {
        let cfg = &self.config;
        let l = cfg.lanes[lane];
        let first = self.blocks[lane].get();
        let cc = circuit_constants();
        let n_perm = permutations_for(inputs.len());
        let out = layouter.assign_region(
            || "dense poseidon hash",
            |mut region| {
                // The padded message: an input cell, or a padding constant.
                let mut msg: Vec<Result<&AssignedCell<V, Fr>, Fr>> =
                    inputs.iter().map(Ok).collect();
                msg.push(Err(Fr::ONE));
                if !msg.len().is_multiple_of(RATE) {
                    msg.push(Err(Fr::ZERO));
                }
                let mut row = first * ROWS_PER_PERMUTATION;
                if first == 0 {
                    // Row 0 has no previous digest: its state is pinned to zero.
                    for (col, v) in l.state.iter().zip(zero_state()) {
                        region.assign_advice(*col, 0, Value::known(v));
                    }
                    cfg.q_zero.enable(&mut region, 0)?;
                }
                region.assign_fixed(l.start, row, Fr::ONE);
                let mut state = Value::known([Fr::ZERO; WIDTH]);
                let mut digest = None;
                for pair in msg.chunks(RATE) {
                    let mut absorbed = vec![];
                    for (k, e) in pair.iter().enumerate() {
                        // The pair's cells: the lane's helpers, or its row of the inputs.
                        let (col, at) = match cfg.shared {
                            None => (l.helpers[k], row),
                            Some(io) => (io.inputs[k], row + lane),
                        };
                        match e {
                            Ok(cell) => {
                                let v = cell.value().map(|v| v.clone().into().evaluate());
                                let c = region.assign_advice(col, at, v);
                                region.constrain_equal(c.cell(), cell.cell());
                                absorbed.push(v);
                            }
                            Err(c) => {
                                region.assign_advice_from_constant(|| "pad", col, at, *c)?;
                                absorbed.push(Value::known(*c));
                            }
                        }
                    }
                    let pair = absorbed[0].zip(absorbed[1]).map(|(a, b)| [a, b]);
                    let t = state.zip(pair).map(|(s, p)| trace(s, p));
                    cfg.q_absorb.enable(&mut region, row)?;
                    // Rows 1.. of the permutation: which selector, which constants, how many
                    // helpers its gate reads. (Another lane may have set the same shared
                    // cells to the same values.)
                    let half = FULL_ROUNDS / 2;
                    for k in 1..ROWS_PER_PERMUTATION {
                        let r = row + k;
                        let (sel, consts, helpers): (Selector, Vec<Fr>, usize) = if k <= half {
                            (cfg.q_full, cc.full[k - 1].to_vec(), WIDTH)
                        } else if k <= half + PAIRS {
                            let p = k - half - 1;
                            (cfg.q_pair, cc.partial[2 * p..2 * p + 2].to_vec(), WIDTH)
                        } else if k == half + PAIRS + 1 && PARTIAL_ROUNDS % 2 == 1 {
                            (cfg.q_single, vec![cc.partial[PARTIAL_ROUNDS - 1]], 1)
                        } else {
                            let f = k - (half + PAIRS + PARTIAL_ROUNDS % 2) - 1 + half;
                            (cfg.q_full, cc.full[f].to_vec(), WIDTH)
                        };
                        sel.enable(&mut region, r)?;
                        for (i, c) in consts.iter().enumerate() {
                            region.assign_fixed(cfg.rc[i], r, *c);
                        }
                        for i in 0..WIDTH {
                            region.assign_advice(l.state[i], r, t.as_ref().map(|t| t.0[k].0[i]));
                        }
                        for i in 0..helpers {
                            region.assign_advice(l.helpers[i], r, t.as_ref().map(|t| t.0[k].1[i]));
                        }
                    }
                    row += ROWS_PER_PERMUTATION;
                    state = t.map(|t| t.1);
                    let mut s0 = None;
                    for (i, col) in l.state.iter().enumerate() {
                        let c = region.assign_advice(*col, row, state.map(|s| s[i]));
                        s0.get_or_insert(c);
                    }
                    digest = match cfg.shared {
                        None => s0,
                        // After every block (another lane may end a hash here).
                        Some(io) => {
                            io.q_digest.enable(&mut region, row)?;
                            let v = state.map(|s| forged_digest(s[0], row));
                            Some(region.assign_advice(io.digests, row - 1 - lane, v))
                        }
                    };
                }
                Ok(digest.expect("one permutation at least"))
            },
        )?;
        self.blocks[lane].set(first + n_perm);
        Ok(out)
    }

    /// Fills every lane shorter than the longest with hashes of nothing (one permutation
    /// each, inputs from constants), so that each row a shared selector is on holds a
    /// permutation in every lane. Call it once, after the last hash.
    pub fn finish(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        let longest = self.longest();
        for lane in 0..self.blocks.len() {
            while self.blocks[lane].get() < longest {
                self.hash::<Fr>(layouter, lane, &[])?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::circuit::SimpleFloorPlanner;
    use halo2_proofs::plonk::{Circuit, Instance};
    use trustml_kit::mock::{check, Failure};

    /// Hashes of `inputs`, hash `j` in lane `j % lanes`, each digest public; `shared`:
    /// through [`DenseChip::configure_shared`]'s columns.
    #[derive(Clone)]
    struct Hashes {
        inputs: Vec<Vec<Fr>>,
        lanes: usize,
        shared: bool,
    }

    impl Circuit<Fr> for Hashes {
        type Config = (DenseConfig, Column<Advice>, Column<Instance>);
        type FloorPlanner = SimpleFloorPlanner;
        type Params = (usize, bool);
        fn without_witnesses(&self) -> Self {
            self.clone()
        }
        fn params(&self) -> (usize, bool) {
            (self.lanes, self.shared)
        }
        fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
            unreachable!("configured with its lanes")
        }
        fn configure_with_params(
            meta: &mut ConstraintSystem<Fr>,
            (lanes, shared): (usize, bool),
        ) -> Self::Config {
            let constants = meta.fixed_column();
            let cfg = DenseChip::configure_with(meta, constants, lanes, shared);
            let input = meta.advice_column();
            meta.enable_equality(input);
            let instance = meta.instance_column();
            meta.enable_equality(instance);
            (cfg, input, instance)
        }
        fn synthesize(
            &self,
            (cfg, input, instance): Self::Config,
            mut layouter: impl Layouter<Fr>,
        ) -> Result<(), Error> {
            let chip = DenseChip::new(cfg);
            for (j, xs) in self.inputs.iter().enumerate() {
                let cells = layouter.assign_region(
                    || "inputs",
                    |mut region| {
                        Ok(xs
                            .iter()
                            .enumerate()
                            .map(|(i, x)| {
                                region.assign_advice(input, 100 * j + i, Value::known(*x))
                            })
                            .collect::<Vec<_>>())
                    },
                )?;
                let out = chip.hash(&mut layouter, j % self.lanes, &cells)?;
                layouter.constrain_instance(out.cell(), instance, j);
            }
            chip.finish(&mut layouter)?;
            let blocks = (0..self.lanes).map(|l| {
                let hashes = self.inputs.iter().skip(l).step_by(self.lanes);
                hashes.map(|x| permutations_for(x.len())).sum::<usize>()
            });
            let longest = blocks.max().unwrap_or(0);
            assert_eq!(chip.rows_used(), ROWS_PER_PERMUTATION * longest + 1);
            Ok(())
        }
    }

    fn inputs(n: usize, seed: u64) -> Vec<Fr> {
        (0..n as u64)
            .map(|i| Fr::from(seed * 1000 + i * 7 + 3))
            .collect()
    }

    fn run(c: &Hashes) -> Result<(), std::collections::BTreeSet<Failure>> {
        let digests = c.inputs.iter().map(|x| crate::hash(x)).collect();
        check(9, c, vec![digests])
    }

    #[test]
    fn the_dense_sponge_is_the_same_hash() {
        assert_eq!(ROWS_PER_PERMUTATION, 38);
        for shared in [false, true] {
            let c = Hashes {
                inputs: vec![inputs(0, 1), inputs(1, 2), inputs(4, 3)],
                lanes: 1,
                shared,
            };
            assert_eq!(run(&c), Ok(()), "shared {shared}");
            // More lanes: lanes of unequal lengths are filled in (from the third, lanes
            // have nothing of their own); shared columns up to the most lanes they serve.
            let most = if shared { MAX_SHARED_LANES } else { 4 };
            for lanes in [2, 4, most] {
                let c = Hashes {
                    inputs: vec![inputs(5, 1), inputs(1, 2), inputs(4, 3)],
                    lanes,
                    shared,
                };
                assert_eq!(run(&c), Ok(()), "{lanes} lanes, shared {shared}");
            }
            // Another claimed digest is refused.
            let mut bad: Vec<Fr> = c.inputs.iter().map(|x| crate::hash(x)).collect();
            bad[2] += Fr::ONE;
            assert!(check(9, &c, vec![bad]).is_err());
        }
    }

    #[test]
    fn gates_are_degree_four_at_most() {
        for shared in [false, true] {
            let mut cs = ConstraintSystem::<Fr>::default();
            let constants = cs.fixed_column();
            DenseChip::configure_with(&mut cs, constants, 2, shared);
            assert!(cs.degree() <= 4, "degree {}", cs.degree());
            let eq = cs.permutation().get_columns().len();
            let fixed = cs.num_fixed_columns() + cs.num_selectors();
            if shared {
                // The digest selector besides; only the two inputs and the digests (and
                // the constants) are equality-enabled.
                assert_eq!(fixed, 1 + 3 + 6 + 2);
                assert_eq!(eq, 3 + 1);
                // Rotation 24 at most: blinding leaves room for the image circuit's margin.
                let mut cs = ConstraintSystem::<Fr>::default();
                let constants = cs.fixed_column();
                DenseChip::configure_shared(&mut cs, constants, MAX_SHARED_LANES);
                assert!(cs.minimum_rows() <= 32, "{} rows", cs.minimum_rows());
            } else {
                // Lanes share the selectors and round constants: 3 + 5 + one `start` each;
                // `s0, h0, h1` of each lane, and the constants, are equality-enabled.
                assert_eq!(fixed, 1 + 3 + 5 + 2);
                assert_eq!(eq, 3 * 2 + 1);
            }
        }
    }

    /// Each forged cell breaks exactly one constraint of one gate (its rows follow from the
    /// forged value): every constraint is needed.
    #[test]
    fn every_constraint_is_needed() {
        let mut c = Hashes {
            inputs: vec![inputs(3, 4), inputs(2, 5)],
            lanes: 1,
            shared: false,
        };
        let mut cases = vec![
            (Forge::Helper { r: 1, i: 2 }, "dense poseidon full round"),
            (Forge::Next { r: 2, i: 0 }, "dense poseidon full round"),
            (Forge::Helper { r: 62, i: 1 }, "dense poseidon full round"),
            (Forge::Helper { r: 10, i: 0 }, "dense poseidon partial pair"),
            (Forge::Helper { r: 10, i: 1 }, "dense poseidon partial pair"),
            (Forge::Helper { r: 30, i: 2 }, "dense poseidon partial pair"),
            (Forge::Next { r: 30, i: 1 }, "dense poseidon partial pair"),
            (
                Forge::Helper { r: 60, i: 0 },
                "dense poseidon partial round",
            ),
            (Forge::Next { r: 60, i: 2 }, "dense poseidon partial round"),
            (
                Forge::Next {
                    r: usize::MAX,
                    i: 1,
                },
                "dense poseidon absorb",
            ),
            (
                Forge::Next {
                    r: usize::MAX,
                    i: 0,
                },
                "dense poseidon absorb",
            ),
            (
                Forge::Next {
                    r: usize::MAX,
                    i: 2,
                },
                "dense poseidon absorb",
            ),
            (Forge::Zero { i: 0 }, "dense poseidon zero"),
            (Forge::Zero { i: 2 }, "dense poseidon zero"),
        ];
        for shared in [false, true] {
            c.shared = shared;
            if shared {
                // The state after a block inside the first hash, and its digest (row 76;
                // its claim follows it).
                cases.push((Forge::Digest { row: 38 }, "dense poseidon digest"));
                cases.push((Forge::Digest { row: 76 }, "dense poseidon digest"));
            }
            every_forge_breaks_its_gate(&c, &cases);
        }
    }

    fn every_forge_breaks_its_gate(c: &Hashes, cases: &[(Forge, &str)]) {
        for &(forge, gate) in cases {
            FORGE.with(|f| f.set(Some(forge)));
            // The digests the forged witness computes: the claims are consistent with them.
            let mut end = 0;
            let claimed = c
                .inputs
                .iter()
                .map(|x| {
                    let padded = crate::native::pad(x);
                    let mut s = [Fr::ZERO; WIDTH];
                    for p in padded.chunks(RATE) {
                        s = trace(s, [p[0], p[1]]).1;
                    }
                    end += ROWS_PER_PERMUTATION * padded.len() / RATE;
                    forged_digest(s[0], end)
                })
                .collect();
            let r = check(9, c, vec![claimed]);
            FORGE.with(|f| f.set(None));
            let fs = r.expect_err(&format!("{forge:?} accepted"));
            assert_eq!(fs.len(), 1, "{forge:?}: {fs:?}");
            assert!(fs.iter().all(|f| f.is(gate)), "{forge:?}: {fs:?}");
        }
        assert_eq!(run(c), Ok(()));
    }
}
