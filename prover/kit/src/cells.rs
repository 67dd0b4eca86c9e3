//! Free cells: a detector for advice cells no constraint pins, and forged assignments.
//!
//! [`Tapped`] runs any circuit under a floor planner that sees every assignment: it records
//! each advice cell's value and the enabled selectors, and can replace one advice cell's
//! value *as it is assigned* ([`Forge`]). Chips that compute later cells from an assigned
//! cell's value (copies, hashes) then see the forged value, so a test can build a forged
//! witness that satisfies every other constraint and check that exactly one refuses it.
//!
//! [`free_cells`] is the detector: after an honest assignment it changes each advice cell
//! alone — every assigned cell, and every unassigned cell that a gate or lookup reads in a
//! row where it is on — and asks whether some constraint notices: a copy constraint (the
//! cell is in a permutation cycle), a gate polynomial that becomes non-zero, or a lookup
//! input that leaves its table. A cell nothing notices is *free*: a prover may put anything
//! there. The checks are local (each cell costs a few polynomial evaluations, not a whole
//! MockProver run), and a sample of the verdicts is confirmed by a real MockProver run on
//! the forged assignment, so the detector cannot drift from what MockProver enforces.

use crate::mock::check;
use halo2_proofs::circuit::Value;
use halo2_proofs::dev::{CellValue, MockProver};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{
    Advice, Any, Assigned, Assignment, Challenge, Circuit, Column, ConstraintSystem, Error,
    Expression, Fixed, FloorPlanner, Instance, Selector,
};
use rayon::prelude::*;
use std::any::Any as StdAny;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::marker::PhantomData;

/// Replace the value of advice cell (`column`, `row`) with `value` when it is assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forge {
    /// Index of the advice column.
    pub column: usize,
    /// Row.
    pub row: usize,
    /// The forged value.
    pub value: Fr,
    /// Whether the chip that assigned the cell sees the forged value (and computes later
    /// cells from it), or the honest one (the cell alone changes).
    pub propagate: bool,
}

/// What a tapped synthesis saw.
#[derive(Clone, Debug, Default)]
pub struct Tape {
    /// Every advice assignment: (column, row) → value (the last one wins).
    pub advice: BTreeMap<(usize, usize), Fr>,
    /// Enabled selectors: (selector index, row).
    pub selectors: Vec<(usize, usize)>,
}

#[derive(Default)]
struct TapState {
    forge: Vec<Forge>,
    tape: Tape,
}

thread_local! {
    static TAP: RefCell<TapState> = RefCell::new(TapState::default());
}

fn as_fr<F: 'static>(v: &F) -> Fr {
    *(v as &dyn StdAny)
        .downcast_ref::<Fr>()
        .expect("trustml circuits are over BN254's Fr")
}

fn from_fr<F: Copy + 'static>(v: Fr) -> F {
    *(&v as &dyn StdAny)
        .downcast_ref::<F>()
        .expect("trustml circuits are over BN254's Fr")
}

/// A circuit run under [`TapPlanner`]: the same columns, gates and assignment as `C`.
#[derive(Clone, Debug)]
pub struct Tapped<C>(pub C);

impl<C: Circuit<Fr>> Circuit<Fr> for Tapped<C> {
    type Config = C::Config;
    type FloorPlanner = TapPlanner<C::FloorPlanner>;
    type Params = C::Params;

    fn without_witnesses(&self) -> Self {
        Tapped(self.0.without_witnesses())
    }

    fn params(&self) -> C::Params {
        self.0.params()
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: C::Params) -> C::Config {
        C::configure_with_params(meta, params)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> C::Config {
        C::configure(meta)
    }

    fn synthesize(
        &self,
        config: C::Config,
        layouter: impl halo2_proofs::circuit::Layouter<Fr>,
    ) -> Result<(), Error> {
        self.0.synthesize(config, layouter)
    }
}

/// The floor planner `P`, with every assignment passing through the tap.
#[derive(Clone, Copy, Debug)]
pub struct TapPlanner<P>(PhantomData<P>);

impl<P: FloorPlanner> FloorPlanner for TapPlanner<P> {
    fn synthesize<
        F: halo2_proofs::arithmetic::Field,
        CS: Assignment<F> + halo2_proofs::circuit::layouter::SyncDeps,
        C: Circuit<F>,
    >(
        cs: &mut CS,
        circuit: &C,
        config: C::Config,
        constants: Vec<Column<Fixed>>,
    ) -> Result<(), Error> {
        let mut tap = Tap {
            inner: cs,
            _f: PhantomData,
        };
        P::synthesize(&mut tap, circuit, config, constants)
    }
}

struct Tap<'a, F, CS> {
    inner: &'a mut CS,
    _f: PhantomData<F>,
}

impl<F: halo2_proofs::arithmetic::Field, CS: Assignment<F>> Assignment<F> for Tap<'_, F, CS> {
    fn enter_region<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        self.inner.enter_region(name_fn)
    }

    fn annotate_column<A, AR>(&mut self, annotation: A, column: Column<Any>)
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.inner.annotate_column(annotation, column)
    }

    fn exit_region(&mut self) {
        self.inner.exit_region()
    }

    fn enable_selector<A, AR>(
        &mut self,
        annotation: A,
        selector: &Selector,
        row: usize,
    ) -> Result<(), Error>
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        TAP.with(|t| t.borrow_mut().tape.selectors.push((selector.index(), row)));
        self.inner.enable_selector(annotation, selector, row)
    }

    fn query_instance(&self, column: Column<Instance>, row: usize) -> Result<Value<F>, Error> {
        self.inner.query_instance(column, row)
    }

    fn assign_advice<'v>(
        &mut self,
        column: Column<Advice>,
        row: usize,
        to: Value<Assigned<F>>,
    ) -> Value<&'v Assigned<F>> {
        let key = (column.index(), row);
        let forge = TAP.with(|t| {
            let mut t = t.borrow_mut();
            let forge = t.forge.iter().copied().find(|f| (f.column, f.row) == key);
            match forge {
                Some(f) => {
                    t.tape.advice.insert(key, f.value);
                }
                None => {
                    to.map(|v| t.tape.advice.insert(key, as_fr(&v.evaluate())));
                }
            }
            forge
        });
        let Some(f) = forge else {
            return self.inner.assign_advice(column, row, to);
        };
        let forged = Value::known(Assigned::Trivial(from_fr::<F>(f.value)));
        let seen = self.inner.assign_advice(column, row, forged);
        if f.propagate {
            seen
        } else {
            // The caller keeps computing from the honest value: leak one cell's worth so
            // the reference outlives the synthesis (tests only).
            to.map(|v| &*Box::leak(Box::new(v)))
        }
    }

    fn assign_fixed(&mut self, column: Column<Fixed>, row: usize, to: Assigned<F>) {
        self.inner.assign_fixed(column, row, to)
    }

    fn copy(&mut self, lc: Column<Any>, lr: usize, rc: Column<Any>, rr: usize) {
        self.inner.copy(lc, lr, rc, rr)
    }

    fn fill_from_row(
        &mut self,
        column: Column<Fixed>,
        row: usize,
        to: Value<Assigned<F>>,
    ) -> Result<(), Error> {
        self.inner.fill_from_row(column, row, to)
    }

    fn get_challenge(&self, challenge: Challenge) -> Value<F> {
        self.inner.get_challenge(challenge)
    }

    fn push_namespace<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        self.inner.push_namespace(name_fn)
    }

    fn pop_namespace(&mut self, gadget_name: Option<String>) {
        self.inner.pop_namespace(gadget_name)
    }

    fn next_phase(&mut self) {
        self.inner.next_phase()
    }
}

/// Resets the tap: an empty tape and these forged cells.
fn arm(forge: Vec<Forge>) {
    TAP.with(|t| {
        *t.borrow_mut() = TapState {
            forge,
            tape: Tape::default(),
        }
    });
}

/// Runs MockProver on `circuit` with `forge` applied (if any): the prover and its tape.
pub fn run_tapped<C: Circuit<Fr> + Clone>(
    k: u32,
    circuit: &C,
    instances: Vec<Vec<Fr>>,
    forge: Option<Forge>,
) -> (MockProver<Fr>, Tape) {
    arm(forge.into_iter().collect());
    let prover = MockProver::run(k, &Tapped(circuit.clone()), instances).expect("synthesis");
    let tape = TAP.with(|t| std::mem::take(&mut *t.borrow_mut()).tape);
    (prover, tape)
}

/// MockProver's verdict on `circuit` with advice cell `forge.column`, `forge.row` replaced as
/// it is assigned (see [`crate::mock::check`] for the failures).
pub fn check_forged<C: Circuit<Fr> + Clone>(
    k: u32,
    circuit: &C,
    instances: Vec<Vec<Fr>>,
    forge: Forge,
) -> Result<(), std::collections::BTreeSet<crate::mock::Failure>> {
    check_forged_all(k, circuit, instances, &[forge])
}

/// [`check_forged`] with several cells forged at once (a forged witness that keeps every
/// constraint but one).
pub fn check_forged_all<C: Circuit<Fr> + Clone>(
    k: u32,
    circuit: &C,
    instances: Vec<Vec<Fr>>,
    forges: &[Forge],
) -> Result<(), std::collections::BTreeSet<crate::mock::Failure>> {
    arm(forges.to_vec());
    let r = check(k, &Tapped(circuit.clone()), instances);
    TAP.with(|t| *t.borrow_mut() = TapState::default());
    r
}

/// An advice cell that no constraint notices changing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FreeCell {
    /// Index of the advice column.
    pub column: usize,
    /// Row.
    pub row: usize,
    /// Whether the layout assigned it (else a gate or lookup reads it unassigned).
    pub assigned: bool,
    /// Gates and lookups that read it in a row where they are on.
    pub readers: Vec<String>,
}

impl std::fmt::Display for FreeCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "advice column {} row {} ({}; read by {})",
            self.column,
            self.row,
            if self.assigned {
                "assigned"
            } else {
                "unassigned"
            },
            if self.readers.is_empty() {
                "nothing".to_string()
            } else {
                self.readers.join(", ")
            }
        )
    }
}

/// What [`free_cells`] found.
#[derive(Clone, Debug, Default)]
pub struct CellReport {
    /// Cells changed (assigned, or read by an active gate or lookup).
    pub checked: usize,
    /// Cells an active gate or lookup reads, yet no constraint notices changing: a prover
    /// may put anything there, and what reads them trusts it. A soundness bug unless the
    /// circuit explains why the value does not matter.
    pub free: Vec<FreeCell>,
    /// Assigned cells that no constraint reads and no copy constraint binds: changing them
    /// changes nothing a verifier checks (harmless, but a layout that assigns a value
    /// nothing checks may have forgotten a constraint).
    pub dead: Vec<FreeCell>,
    /// Verdicts confirmed by a MockProver run on the forged assignment.
    pub confirmed: usize,
}

/// A fixed, large perturbation: it leaves every range and every boolean.
fn delta() -> Fr {
    Fr::from_raw([
        0x9e37_79b9_7f4a_7c15,
        0xf39c_c060_5ced_c834,
        0x1234_5678_9abc_def1,
        0x0123_4567_89ab_cdef,
    ])
}

/// Deterministic "random" advice for the activity test.
fn noise(col: usize, row: usize, salt: u64) -> Fr {
    let x = (col as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (row as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ salt.wrapping_mul(0x1656_67B1_9E37_79F9);
    Fr::from(x) * Fr::from(0xD6E8_FEB8_6659_FD93u64) + Fr::from(x.rotate_left(17))
}

/// Values an expression reads, with one advice cell optionally overridden.
struct Grid<'a> {
    n: usize,
    advice: &'a [Vec<Fr>],
    fixed: &'a [Vec<Fr>],
    selectors: &'a [Vec<bool>],
    instance: &'a [Vec<Fr>],
}

enum AdviceMode {
    Honest(Option<((usize, usize), Fr)>),
    Noise(u64, Option<((usize, usize), Fr)>),
}

impl Grid<'_> {
    fn at(&self, row: usize, rot: i32) -> usize {
        (row as i64 + rot as i64).rem_euclid(self.n as i64) as usize
    }

    fn eval(&self, e: &Expression<Fr>, row: usize, mode: &AdviceMode) -> Fr {
        e.evaluate(
            &|c| c,
            &|s| Fr::from(u64::from(self.selectors[s.index()][row])),
            &|q| self.fixed[q.column_index()][self.at(row, q.rotation().0)],
            &|q| {
                let cell = (q.column_index(), self.at(row, q.rotation().0));
                match mode {
                    AdviceMode::Honest(Some((c, v))) | AdviceMode::Noise(_, Some((c, v)))
                        if *c == cell =>
                    {
                        *v
                    }
                    AdviceMode::Honest(_) => self.advice[cell.0][cell.1],
                    AdviceMode::Noise(salt, _) => noise(cell.0, cell.1, *salt),
                }
            },
            &|q| {
                self.instance[q.column_index()]
                    .get(self.at(row, q.rotation().0))
                    .copied()
                    .unwrap_or(Fr::ZERO)
            },
            &|_| panic!("free_cells: circuits with challenges are not supported"),
            &|a| -a,
            &|a, b| a + b,
            &|a, b| a * b,
            &|a, s| a * s,
        )
    }
}

fn advice_queries(e: &Expression<Fr>, out: &mut Vec<(usize, i32)>) {
    // `evaluate` takes `Fn` closures: collect through a RefCell.
    let seen = RefCell::new(vec![]);
    e.evaluate(
        &|_| (),
        &|_| (),
        &|_| (),
        &|q| seen.borrow_mut().push((q.column_index(), q.rotation().0)),
        &|_| (),
        &|_| (),
        &|_| (),
        &|_, _| (),
        &|_, _| (),
        &|_, _| (),
    );
    out.extend(seen.into_inner());
    out.sort_unstable();
    out.dedup();
}

/// Runs the detector on `circuit` (which must be satisfied by `instances`); confirms up to
/// `confirm` verdicts (every free cell first, then caught cells spread over the columns,
/// each column's last assigned row included) with MockProver on the forged assignment, and
/// panics if MockProver disagrees with the local check.
pub fn free_cells<C: Circuit<Fr> + Clone>(
    k: u32,
    circuit: &C,
    instances: Vec<Vec<Fr>>,
    confirm: usize,
) -> CellReport {
    let (prover, tape) = run_tapped(k, circuit, instances.clone(), None);
    if let Err(fs) = prover.verify() {
        panic!(
            "free_cells needs an honest assignment; MockProver reports {} failure(s), first: {}",
            fs.len(),
            fs[0]
        );
    }
    let mut cs = ConstraintSystem::<Fr>::default();
    let _ = C::configure_with_params(&mut cs, circuit.params());
    let n = 1usize << k;
    let usable = n - (cs.blinding_factors() + 1);

    let mut advice = vec![vec![Fr::ZERO; n]; cs.num_advice_columns()];
    for (&(c, r), &v) in &tape.advice {
        advice[c][r] = v;
    }
    let fixed: Vec<Vec<Fr>> = prover.fixed()[..cs.num_fixed_columns()]
        .iter()
        .map(|col| {
            col.iter()
                .map(|v| match v {
                    CellValue::Assigned(x) => *x,
                    _ => Fr::ZERO,
                })
                .collect()
        })
        .collect();
    let mut selectors = vec![vec![false; n]; cs.num_selectors()];
    for &(s, r) in &tape.selectors {
        selectors[s][r] = true;
    }
    let grid = Grid {
        n,
        advice: &advice,
        fixed: &fixed,
        selectors: &selectors,
        instance: &instances,
    };

    // Advice cells in a non-trivial copy cycle.
    let mut copied: HashSet<(usize, usize)> = HashSet::new();
    let perm = prover.permutation();
    let columns = perm.columns().to_vec();
    for (ci, rows) in perm.mapping().enumerate() {
        if !matches!(columns[ci].column_type(), Any::Advice(_)) {
            continue;
        }
        let col = columns[ci].index();
        let rows: Vec<(usize, usize)> = rows.collect();
        for (r, &next) in rows.iter().enumerate() {
            if next != (ci, r) {
                copied.insert((col, r));
            }
        }
    }

    // Cells read by an active gate or lookup, and whether a change is noticed there.
    let d = delta();
    let mut readers: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    let mut caught: HashSet<(usize, usize)> = copied.clone();
    let changed = |cell: (usize, usize)| ((cell), advice[cell.0][cell.1] + d);
    for gate in cs.gates() {
        for poly in gate.polynomials() {
            let mut qs = vec![];
            advice_queries(poly, &mut qs);
            if qs.is_empty() {
                continue;
            }
            for row in 0..usable {
                // On in this row: not identically zero in its advice cells.
                let base = grid.eval(poly, row, &AdviceMode::Noise(1, None));
                if base == Fr::ZERO && grid.eval(poly, row, &AdviceMode::Noise(2, None)) == Fr::ZERO
                {
                    continue;
                }
                for &(c, rot) in &qs {
                    let cell = (c, grid.at(row, rot));
                    // Read: changing only this cell changes the polynomial at random advice.
                    let moved = grid.eval(
                        poly,
                        row,
                        &AdviceMode::Noise(1, Some((cell, noise(c, cell.1, 1) + d))),
                    );
                    if base == moved {
                        continue;
                    }
                    let names = readers.entry(cell).or_default();
                    if !names.iter().any(|x| x == gate.name()) {
                        names.push(gate.name().to_string());
                    }
                    if !caught.contains(&cell)
                        && grid.eval(poly, row, &AdviceMode::Honest(Some(changed(cell))))
                            != Fr::ZERO
                    {
                        caught.insert(cell);
                    }
                }
            }
        }
    }
    for lookup in cs.lookups() {
        let table: HashSet<Vec<[u8; 32]>> = (0..usable)
            .map(|row| {
                lookup
                    .table_expressions()
                    .iter()
                    .map(|e| grid.eval(e, row, &AdviceMode::Honest(None)).to_bytes())
                    .collect()
            })
            .collect();
        let mut qs = vec![];
        for e in lookup.input_expressions() {
            advice_queries(e, &mut qs);
        }
        qs.sort_unstable();
        qs.dedup();
        let tuple = |row: usize, mode: &AdviceMode| -> Vec<[u8; 32]> {
            lookup
                .input_expressions()
                .iter()
                .map(|e| grid.eval(e, row, mode).to_bytes())
                .collect()
        };
        for row in 0..usable {
            let base = tuple(row, &AdviceMode::Noise(1, None));
            for &(c, rot) in &qs {
                let cell = (c, grid.at(row, rot));
                let moved = tuple(
                    row,
                    &AdviceMode::Noise(1, Some((cell, noise(c, cell.1, 1) + d))),
                );
                if base == moved {
                    continue;
                }
                let names = readers.entry(cell).or_default();
                if !names.iter().any(|x| x == lookup.name()) {
                    names.push(lookup.name().to_string());
                }
                if !caught.contains(&cell)
                    && !table.contains(&tuple(row, &AdviceMode::Honest(Some(changed(cell)))))
                {
                    caught.insert(cell);
                }
            }
        }
    }

    let mut candidates: Vec<(usize, usize)> = tape
        .advice
        .keys()
        .copied()
        .filter(|&(_, r)| r < usable)
        .chain(readers.keys().copied())
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let (free, dead): (Vec<FreeCell>, Vec<FreeCell>) = candidates
        .iter()
        .filter(|c| !caught.contains(c))
        .map(|&(column, row)| FreeCell {
            column,
            row,
            assigned: tape.advice.contains_key(&(column, row)),
            readers: readers.get(&(column, row)).cloned().unwrap_or_default(),
        })
        .partition(|f| !f.readers.is_empty());

    // Confirm: every free cell (up to the budget), then each column's last assigned cell,
    // then cells spread evenly over the rest.
    let mut sample: Vec<(usize, usize)> = free
        .iter()
        .chain(dead.iter().take(2))
        .map(|f| (f.column, f.row))
        .collect();
    let mut last: BTreeMap<usize, usize> = BTreeMap::new();
    for &(c, r) in tape.advice.keys() {
        if r < usable {
            last.insert(c, r.max(last.get(&c).copied().unwrap_or(0)));
        }
    }
    sample.extend(last);
    let stride = (candidates.len() / confirm.max(1)).max(1);
    sample.extend(candidates.iter().step_by(stride).copied());
    // Only assigned cells can be forged as they are assigned.
    let mut seen = HashSet::new();
    sample.retain(|c| tape.advice.contains_key(c) && seen.insert(*c));
    sample.truncate(confirm);
    for &(column, row) in &sample {
        let forge = Forge {
            column,
            row,
            value: advice[column][row] + d,
            propagate: false,
        };
        let rejected = check_forged(k, circuit, instances.clone(), forge).is_err();
        assert_eq!(
            rejected,
            caught.contains(&(column, row)),
            "free_cells disagrees with MockProver on advice column {column} row {row}"
        );
    }
    CellReport {
        checked: candidates.len(),
        free,
        dead,
        confirmed: sample.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
    use halo2_proofs::poly::Rotation;

    /// `q·(a·b − c) = 0` on row 0, with `a` and `c` public. `pin_b`: `b` is copied to the
    /// public input too; `extra`: one more assigned cell nothing reads.
    #[derive(Clone, Default)]
    struct Mul {
        a: u64,
        b: u64,
        pin_b: bool,
        extra: bool,
    }

    impl Circuit<Fr> for Mul {
        type Config = ([Column<Advice>; 3], Selector, Column<Instance>);
        type FloorPlanner = SimpleFloorPlanner;
        type Params = ();

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fr>) -> Self::Config {
            let cols = [(); 3].map(|_| meta.advice_column());
            for c in cols {
                meta.enable_equality(c);
            }
            let q = meta.selector();
            let inst = meta.instance_column();
            meta.enable_equality(inst);
            meta.create_gate("mul", |m| {
                let [a, b, c] = cols.map(|col| m.query_advice(col, Rotation::cur()));
                vec![m.query_selector(q) * (a * b - c)]
            });
            (cols, q, inst)
        }

        fn synthesize(
            &self,
            (cols, q, inst): Self::Config,
            mut layouter: impl Layouter<Fr>,
        ) -> Result<(), Error> {
            let cells = layouter.assign_region(
                || "mul",
                |mut region| {
                    q.enable(&mut region, 0)?;
                    let v = [self.a, self.b, self.a * self.b].map(Fr::from);
                    let cells: Vec<_> = (0..3)
                        .map(|i| region.assign_advice(cols[i], 0, Value::known(v[i])))
                        .collect();
                    if self.extra {
                        region.assign_advice(cols[0], 1, Value::known(Fr::from(7)));
                    }
                    Ok(cells.into_iter().map(|c| c.cell()).collect::<Vec<_>>())
                },
            )?;
            layouter.constrain_instance(cells[0], inst, 0);
            layouter.constrain_instance(cells[2], inst, 1);
            if self.pin_b {
                layouter.constrain_instance(cells[1], inst, 2);
            }
            Ok(())
        }
    }

    fn run(c: Mul) -> CellReport {
        let mut inst = vec![Fr::from(c.a), Fr::from(c.a * c.b)];
        if c.pin_b {
            inst.push(Fr::from(c.b));
        }
        free_cells(4, &c, vec![inst], 8)
    }

    #[test]
    fn a_cell_multiplied_by_zero_is_free() {
        // a = 0: b may be anything and a·b = c still holds.
        let r = run(Mul {
            a: 0,
            b: 5,
            ..Default::default()
        });
        let free: Vec<_> = r.free.iter().map(|f| (f.column, f.row)).collect();
        assert_eq!(free, vec![(1, 0)], "{:?}", r.free);
        assert_eq!(r.free[0].readers, vec!["mul".to_string()]);
        // Pinned, it is not.
        let r = run(Mul {
            a: 0,
            b: 5,
            pin_b: true,
            ..Default::default()
        });
        assert!(r.free.is_empty(), "{:?}", r.free);
        // a ≠ 0: the gate notices b.
        assert!(run(Mul {
            a: 3,
            b: 5,
            ..Default::default()
        })
        .free
        .is_empty());
    }

    #[test]
    fn an_assigned_cell_nothing_reads_is_dead() {
        let r = run(Mul {
            a: 3,
            b: 5,
            extra: true,
            ..Default::default()
        });
        assert!(r.free.is_empty());
        let dead: Vec<_> = r.dead.iter().map(|f| (f.column, f.row)).collect();
        assert_eq!(dead, vec![(0, 1)]);
    }

    #[test]
    fn forged_cells_propagate_or_not() {
        let c = Mul {
            a: 3,
            b: 5,
            ..Default::default()
        };
        let inst = vec![vec![Fr::from(3), Fr::from(15)]];
        let forge = |propagate| Forge {
            column: 1,
            row: 0,
            value: Fr::from(6),
            propagate,
        };
        // b = 6 alone: the gate refuses it.
        let e = check_forged(4, &c, inst.clone(), forge(false)).unwrap_err();
        assert!(e.iter().any(|f| f.is("mul")), "{e:?}");
        let (_, tape) = run_tapped(4, &c, inst, Some(forge(true)));
        assert_eq!(tape.advice[&(1, 0)], Fr::from(6));
    }
}
