//! The model circuit: a [`Program`] laid out on the chips.
//!
//! All chips share one grid of equality-enabled advice columns. The layout is a single
//! region with sections (inputs, parameters, dot products, arithmetic, divisions, lookup
//! lanes); a wire's first cell is its canonical cell and every later use of the wire is
//! copy-constrained to it, so the order of sections does not matter for soundness.

use crate::chips::arith::ArithChip;
use crate::chips::div::DivChip;
use crate::chips::dot::{DotChip, WeightColumn, WeightValue};
use crate::chips::fe;
use crate::chips::lookup::{LookupChip, LANE_ROWS, LANE_WIDTH};
use crate::chips::pack;
use crate::packing::InputPacking;
use crate::program::{Instr, Program, WRef, Wire, ONE, ZERO};
use halo2_proofs::circuit::{Layouter, Region, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Fixed, Instance};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;
use trustml_poseidon::{PoseidonChip, PoseidonConfig, RoundConstants};

/// Who may see a tensor class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// A witness only the prover knows.
    #[default]
    Private,
    /// Every value is a public input of the proof.
    Public,
    /// A salted Poseidon commitment is public; the values and the salt stay private.
    Hashed,
    /// Baked into the verifying key (weights only).
    Fixed,
}

impl Visibility {
    /// Every visibility, in the order front ends list them.
    pub const ALL: [Visibility; 4] = [
        Visibility::Private,
        Visibility::Public,
        Visibility::Hashed,
        Visibility::Fixed,
    ];

    /// The lowercase name (as in settings files and on the command line).
    pub fn name(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Public => "public",
            Visibility::Hashed => "hashed",
            Visibility::Fixed => "fixed",
        }
    }
}

impl std::fmt::Display for Visibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Visibility {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| format!("unknown visibility '{s}' (private, public, hashed or fixed)"))
    }
}

/// The visibility of each tensor class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visibilities {
    /// Visibility of the model inputs.
    pub input: Visibility,
    /// Visibility of the weights and biases.
    pub weights: Visibility,
    /// Visibility of the model outputs.
    pub output: Visibility,
}

impl Visibilities {
    /// A marketplace listing's: the prompt committed (`hashed`), the weights public in the
    /// verifying key (`fixed`), the output hashed (with salt 0 in a listing circuit).
    pub const LISTING: Self = Self {
        input: Visibility::Hashed,
        weights: Visibility::Fixed,
        output: Visibility::Hashed,
    };
}

impl Default for Visibilities {
    fn default() -> Self {
        Self {
            input: Visibility::Private,
            weights: Visibility::Fixed,
            output: Visibility::Public,
        }
    }
}

/// What `configure` needs to know: the circuit's column shape.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitShape {
    /// Multiply-accumulates per dot row.
    pub dot_width: usize,
    /// Lookup lanes per row.
    pub lanes: usize,
    /// Fractional bits `s` of the fixed-point format (lookup and division gates rescale by `2^s`).
    pub scale_bits: u32,
    /// Visibility of each tensor class.
    pub vis: Visibilities,
    /// Whether some dot product multiplies two activations (needs advice weight lanes).
    #[serde(default)]
    pub act_dot: bool,
    /// Whether the program has elementwise arithmetic / divisions: their gates (and fixed
    /// columns, each a commitment the on-chain verifier pays for) exist only if used.
    #[serde(default = "yes")]
    pub arith: bool,
    /// Whether the program has rounding divisions (see `arith`).
    #[serde(default = "yes")]
    pub div: bool,
    /// The marketplace listing statement (`market::listing`): the hashed output's salt is
    /// the constant 0 (so anyone holding the published output recomputes its hash), and one
    /// more public input, last, is the seller's address, copied into the circuit so a proof
    /// holds for that seller only. Absent from settings files of other models (their
    /// digests are unchanged).
    #[serde(default, skip_serializing_if = "is_false")]
    pub listing: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

fn yes() -> bool {
    true
}

impl CircuitShape {
    /// Whether the weights are advice cells (any visibility but `Fixed`) rather than fixed columns.
    pub fn advice_weights(&self) -> bool {
        self.vis.weights != Visibility::Fixed
    }

    /// Whether some tensor class is `Hashed`, so the circuit needs the Poseidon chip.
    pub fn uses_poseidon(&self) -> bool {
        [self.vis.input, self.vis.weights, self.vis.output].contains(&Visibility::Hashed)
    }

    /// Width of the shared advice grid.
    pub fn grid_width(&self) -> usize {
        let dot = self.dot_width
            + 1
            + if self.advice_weights() || self.act_dot {
                self.dot_width
            } else {
                0
            };
        dot.max(LANE_WIDTH * self.lanes).max(5)
    }
}

/// Columns and chips of the model circuit, as configured from a [`CircuitShape`].
#[derive(Clone, Debug)]
pub struct ModelConfig {
    /// The shared equality-enabled advice grid ([`CircuitShape::grid_width`] columns).
    pub grid: Vec<Column<Advice>>,
    /// Dot-product gate multiplying activations by the weights (fixed or advice columns).
    pub dot: DotChip,
    /// Dot products of two activations: `dot` itself when weights are advice, else a
    /// second gate over the same grid with advice weight lanes.
    pub dot_act: Option<DotChip>,
    /// Lookup lanes and the function table.
    pub lookup: LookupChip,
    /// Elementwise arithmetic gate, present when `CircuitShape::arith`.
    pub arith: Option<ArithChip>,
    /// Rounding-division gate, present when `CircuitShape::div`.
    pub div: Option<DivChip>,
    /// Poseidon chip over the grid's columns, present when some class is `Hashed`.
    pub poseidon: Option<PoseidonConfig>,
    /// Public-input column: public values and commitments, in input, weights, output order.
    pub instance: Column<Instance>,
}

/// Salts of the hashed tensor classes (the commitments' blinding values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Salts {
    /// Salt of the input commitment.
    pub input: Fr,
    /// Salt of the weights commitment.
    pub weights: Fr,
    /// Salt of the output commitment.
    pub output: Fr,
}

/// A witness: every wire's integer value, and the salts.
#[derive(Clone, Debug)]
pub struct Witness {
    /// Integer value of every wire, indexed by wire id.
    pub wires: Vec<i128>,
    /// Salts of the hashed classes (ignored for the others; a listing's output salt is 0).
    pub salts: Salts,
    /// The seller a listing proof is bound to (its address as an integer); ignored unless
    /// [`CircuitShape::listing`].
    pub seller: Fr,
}

/// The halo2 circuit proving one evaluation of a [`Program`].
#[derive(Clone, Debug)]
pub struct ModelCircuit {
    /// Column shape the circuit is configured with (its `Circuit::Params`).
    pub shape: CircuitShape,
    /// The lowered model being proven.
    pub program: Arc<Program>,
    /// Wire values and salts; `None` when only building keys.
    pub witness: Option<Arc<Witness>>,
}

/// Row counts of each section of the layout.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct RowPlan {
    /// Input rows, including the constants row and the salts row.
    pub inputs: usize,
    /// Rows of advice weights (0 when the weights are fixed columns).
    pub params: usize,
    /// Dot-product rows (`dot_width` terms each).
    pub dot: usize,
    /// Elementwise arithmetic rows (one per instruction).
    pub arith: usize,
    /// Division rows (one per instruction).
    pub div: usize,
    /// Lookup rows ([`LANE_ROWS`] per group of `lanes` lookups).
    pub lookup: usize,
    /// Rows packing a hashed input into words ([`crate::packing`]), after the grid.
    #[serde(default)]
    pub pack: usize,
    /// Rows of the Poseidon hashes, placed after the grid (and the packing rows).
    pub poseidon: usize,
    /// Rows of the lookup table (fixed columns, laid out from row 0 alongside the grid).
    pub table: usize,
}

impl RowPlan {
    /// Counts the rows of each section for `p` laid out with `shape`.
    pub fn new(p: &Program, shape: &CircuitShape) -> Self {
        let n = shape.grid_width();
        let w = shape.dot_width;
        let mut plan = RowPlan::default();
        let n_inputs: usize = p.inputs.iter().map(|(_, ws)| ws.len()).sum();
        plan.inputs = n_inputs.div_ceil(n) + 2; // + the constants and salts rows
        if shape.advice_weights() {
            plan.params = p.weights.len().div_ceil(n);
        }
        let mut lookups: usize = 0;
        for ins in &p.instrs {
            match ins {
                Instr::Dot { terms, .. } => plan.dot += terms.len().div_ceil(w).max(1),
                Instr::Arith { .. } => plan.arith += 1,
                Instr::DivRound { .. } => plan.div += 1,
                Instr::Lookup { .. } => lookups += 1,
            }
        }
        plan.lookup = LANE_ROWS * lookups.div_ceil(shape.lanes);
        let hashed = |v: Visibility, n: usize| {
            if v == Visibility::Hashed {
                trustml_poseidon::rows_per_hash(n + 1) + 1
            } else {
                0
            }
        };
        let n_outputs: usize = p.outputs.iter().map(|(_, ws)| ws.len()).sum();
        if shape.vis.input == Visibility::Hashed {
            plan.pack = crate::chips::pack::rows(n_inputs);
        }
        let input_words = InputPacking::of(p).words(n_inputs);
        plan.poseidon = hashed(shape.vis.input, input_words)
            + hashed(shape.vis.weights, p.weights.len())
            + hashed(shape.vis.output, n_outputs);
        plan.table = LookupChip::table_rows(&p.funcs, &p.qp);
        plan
    }

    /// Rows of the advice grid (row 0 is left empty: the dot gate reads `acc[-1]`).
    pub fn grid(&self) -> usize {
        1 + self.inputs + self.params + self.dot + self.arith + self.div + self.lookup
    }

    /// First row of the packing rows (they share the grid's columns; one row of gap keeps
    /// the grid's last gates from reading them).
    pub fn pack_start(&self) -> usize {
        self.grid() + 1
    }

    /// First row of the Poseidon hashes, after the packing rows.
    pub fn poseidon_start(&self) -> usize {
        self.pack_start() + self.pack
    }

    /// Rows the circuit needs, before blinding rows.
    pub fn usable(&self) -> usize {
        (self.poseidon_start() + self.poseidon).max(self.table)
    }
}

impl ModelCircuit {
    /// A circuit for `program`; `witness` is `None` for key generation.
    pub fn new(shape: CircuitShape, program: Arc<Program>, witness: Option<Arc<Witness>>) -> Self {
        Self {
            shape,
            program,
            witness,
        }
    }

    fn wire(&self, w: Wire) -> Option<i128> {
        self.witness.as_ref().map(|wit| wit.wires[w as usize])
    }
}

pub(crate) use crate::chips::ACell;

/// Binds wires to cells: the first cell of a wire is canonical; later ones are copies.
struct Binder<'v> {
    cells: Vec<Option<ACell<'v>>>,
}

impl<'v> Binder<'v> {
    fn bind(&mut self, region: &mut Region<'_, Fr>, w: Wire, cell: ACell<'v>) {
        match &self.cells[w as usize] {
            Some(c) => region.constrain_equal(c.cell(), cell.cell()),
            None => self.cells[w as usize] = Some(cell),
        }
    }
}

/// Cells of the model a proof exposes or hashes.
pub(crate) struct Exposed<'v> {
    pub(crate) inputs: Vec<ACell<'v>>,
    pub(crate) params: Vec<ACell<'v>>,
    pub(crate) outputs: Vec<ACell<'v>>,
    pub(crate) salts: [Option<ACell<'v>>; 3],
    pub(crate) seller: Option<ACell<'v>>,
}

impl Circuit<Fr> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = CircuitShape;

    fn without_witnesses(&self) -> Self {
        Self {
            witness: None,
            ..self.clone()
        }
    }

    fn params(&self) -> CircuitShape {
        self.shape.clone()
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> ModelConfig {
        unreachable!("the model circuit is configured from its CircuitShape")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, shape: CircuitShape) -> ModelConfig {
        let n = shape.grid_width();
        let w = shape.dot_width;
        let grid: Vec<Column<Advice>> = (0..n).map(|_| meta.advice_column()).collect();
        for &c in &grid {
            meta.enable_equality(c);
        }
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let wcols = if shape.advice_weights() {
            grid[w + 1..2 * w + 1]
                .iter()
                .map(|&c| WeightColumn::Advice(c))
                .collect()
        } else {
            (0..w)
                .map(|_| WeightColumn::Fixed(meta.fixed_column()))
                .collect()
        };
        let dot = DotChip {
            config: DotChip::configure(meta, grid[..w].to_vec(), grid[w], wcols),
        };
        let dot_act = (shape.act_dot && !shape.advice_weights()).then(|| {
            let wa = grid[w + 1..2 * w + 1]
                .iter()
                .map(|&c| WeightColumn::Advice(c))
                .collect();
            DotChip {
                config: DotChip::configure(meta, grid[..w].to_vec(), grid[w], wa),
            }
        });
        let lookup = LookupChip {
            config: LookupChip::configure(meta, &grid, shape.lanes, shape.scale_bits),
        };
        let arith = shape.arith.then(|| ArithChip {
            config: ArithChip::configure(meta, grid[0], grid[1], grid[2]),
        });
        let div = shape.div.then(|| DivChip {
            config: DivChip::configure(
                meta,
                [grid[0], grid[1], grid[2], grid[3], grid[4]],
                shape.scale_bits,
            ),
        });
        // Poseidon shares the grid (its rows come after the grid's) and, when the weights are
        // fixed columns, their columns: every column costs a commitment per proof.
        let poseidon = shape.uses_poseidon().then(|| {
            let mut adv = grid.clone();
            while adv.len() < 6 {
                adv.push(meta.advice_column());
            }
            // Round constants in the fixed weight columns when there are three (the dot gate
            // multiplies them by its selector, off in Poseidon's rows), else in one column.
            let fixed_w: Vec<Column<Fixed>> = dot
                .config
                .w
                .iter()
                .filter_map(|c| match c {
                    WeightColumn::Fixed(f) => Some(*f),
                    WeightColumn::Advice(_) => None,
                })
                .collect();
            let rc = match fixed_w[..] {
                [a, b, c, ..] => RoundConstants::Lanes([a, b, c]),
                [a, ..] => RoundConstants::Rows(a),
                [] => RoundConstants::Rows(meta.fixed_column()),
            };
            PoseidonChip::configure_with(
                meta,
                [adv[0], adv[1], adv[2]],
                [adv[3], adv[4], adv[5]],
                rc,
                constants,
            )
        });
        ModelConfig {
            grid,
            dot,
            dot_act,
            lookup,
            arith,
            div,
            poseidon,
            instance,
        }
    }

    fn synthesize(
        &self,
        config: ModelConfig,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        let exposed = layouter.assign_region(
            || "model",
            |mut region| self.assign_model(&config, &mut region),
        )?;
        let vis = self.shape.vis;
        let plan = RowPlan::new(&self.program, &self.shape);
        let poseidon = config
            .poseidon
            .map(|c| PoseidonChip::with_start_row(c, plan.poseidon_start()));
        let mut row = 0;
        let classes = [
            (vis.input, &exposed.inputs),
            (vis.weights, &exposed.params),
            (vis.output, &exposed.outputs),
        ];
        for (i, (v, cells)) in classes.into_iter().enumerate() {
            match v {
                Visibility::Public => {
                    for c in cells {
                        layouter.constrain_instance(c.cell(), config.instance, row);
                        row += 1;
                    }
                }
                Visibility::Hashed => {
                    let chip = poseidon.as_ref().ok_or(Error::Synthesis)?;
                    // The input is committed packed (its range checks are in the program).
                    let mut all: Vec<ACell<'_>> = if i == 0 {
                        let arith = config.arith.as_ref().ok_or(Error::Synthesis)?;
                        let packing = InputPacking::of(&self.program);
                        layouter.assign_region(
                            || "pack input",
                            |mut region| {
                                pack::assign_packed(
                                    arith,
                                    &mut region,
                                    plan.pack_start(),
                                    cells,
                                    &packing,
                                )
                            },
                        )?
                    } else {
                        cells.clone()
                    };
                    all.push(exposed.salts[i].clone().ok_or(Error::Synthesis)?);
                    let digest = chip.hash(&mut layouter, &all)?;
                    layouter.constrain_instance(digest.cell(), config.instance, row);
                    row += 1;
                }
                Visibility::Private | Visibility::Fixed => {}
            }
        }
        if let Some(seller) = &exposed.seller {
            layouter.constrain_instance(seller.cell(), config.instance, row);
        }
        Ok(())
    }
}

impl ModelCircuit {
    pub(crate) fn assign_model<'v>(
        &self,
        cfg: &ModelConfig,
        region: &mut Region<'_, Fr>,
    ) -> Result<Exposed<'v>, Error> {
        let p = &*self.program;
        let shape = &self.shape;
        let n = cfg.grid.len();
        let mut b = Binder {
            cells: vec![None; p.num_wires as usize],
        };
        let val = |x: Option<i128>| x.map_or(Value::unknown(), |x| Value::known(fe(x)));
        let mut row = 1;

        // Constants row: the ONE and ZERO wires.
        let one = region.assign_advice_from_constant(|| "one", cfg.grid[0], row, Fr::one())?;
        let zero = region.assign_advice_from_constant(|| "zero", cfg.grid[1], row, Fr::zero())?;
        let one_cell = region.assign_advice(cfg.grid[2], row, Value::known(Fr::one()));
        region.constrain_equal(one.cell(), one_cell.cell());
        let zero_cell = region.assign_advice(cfg.grid[3], row, Value::known(Fr::zero()));
        region.constrain_equal(zero.cell(), zero_cell.cell());
        b.bind(region, ONE, one_cell);
        b.bind(region, ZERO, zero_cell);
        let salt = |i: usize| {
            self.witness
                .as_ref()
                .map(|w| [w.salts.input, w.salts.weights, w.salts.output][i])
        };
        let mut salts: [Option<ACell<'v>>; 3] = [None, None, None];
        let hashed =
            [shape.vis.input, shape.vis.weights, shape.vis.output].map(|v| v == Visibility::Hashed);
        row += 1;
        // Salts of hashed classes: free witnesses, bound only through their commitments —
        // except a listing's output salt, which is the constant 0 (a copy of the zero wire).
        for (i, s) in salts.iter_mut().enumerate() {
            if !hashed[i] {
                continue;
            }
            if i == 2 && shape.listing {
                let cell = region.assign_advice(cfg.grid[i], row, Value::known(Fr::zero()));
                region.constrain_equal(zero.cell(), cell.cell());
                *s = Some(cell);
            } else {
                *s = Some(region.assign_advice(
                    cfg.grid[i],
                    row,
                    salt(i).map_or(Value::unknown(), Value::known),
                ));
            }
        }
        // A listing's seller: copied to the last public input in `synthesize`.
        let seller = shape.listing.then(|| {
            let v = self.witness.as_ref().map(|w| w.seller);
            region.assign_advice(cfg.grid[3], row, v.map_or(Value::unknown(), Value::known))
        });
        row += 1;

        // Model inputs.
        let mut inputs = vec![];
        let input_wires: Vec<Wire> = p
            .inputs
            .iter()
            .flat_map(|(_, ws)| ws.iter().copied())
            .collect();
        for (i, &w) in input_wires.iter().enumerate() {
            let c = region.assign_advice(cfg.grid[i % n], row + i / n, val(self.wire(w)));
            inputs.push(c.clone());
            b.bind(region, w, c);
        }
        row += input_wires.len().div_ceil(n);

        // Model parameters held in advice (private, public or hashed weights).
        let mut params = vec![];
        if shape.advice_weights() {
            let known = self.witness.is_some();
            for (i, &v) in p.weights.iter().enumerate() {
                let value = if known {
                    Value::known(fe(v as i128))
                } else {
                    Value::unknown()
                };
                params.push(region.assign_advice(cfg.grid[i % n], row + i / n, value));
            }
            row += p.weights.len().div_ceil(n);
        }

        // Dot products.
        let width = shape.dot_width;
        for ins in &p.instrs {
            let Instr::Dot { terms, out } = ins else {
                continue;
            };
            // Products of two activations go through advice weight lanes.
            let act = terms.iter().any(|t| matches!(t.1, WRef::Wire(_)));
            let chip = match (act, &cfg.dot_act) {
                (true, Some(c)) => c,
                _ => &cfg.dot,
            };
            let advice_w = act || shape.advice_weights();
            let mut prev = Value::known(Fr::zero());
            let chunks: Vec<&[(Wire, WRef)]> = if terms.is_empty() {
                vec![&[]]
            } else {
                terms.chunks(width).collect()
            };
            let last = chunks.len() - 1;
            for (ci, chunk) in chunks.into_iter().enumerate() {
                let xs: Vec<Value<Fr>> = chunk.iter().map(|&(x, _)| val(self.wire(x))).collect();
                let ws: Vec<WeightValue> = chunk
                    .iter()
                    .map(|&(_, r)| match (advice_w, r) {
                        (false, WRef::Param(i)) => WeightValue::Fixed(p.weights[i as usize]),
                        (false, WRef::Const(c)) => WeightValue::Fixed(c),
                        (_, WRef::Wire(w)) => WeightValue::Witness(val(self.wire(w))),
                        (true, r) => WeightValue::Witness(Value::known(fe(p.weight_in(r, &[])))),
                    })
                    .collect();
                let (cells, sum) = chip.assign_row(region, row, &xs, &ws, ci > 0, prev)?;
                prev = sum;
                for (&(x, r), (xc, wc)) in chunk.iter().zip(cells.x.into_iter().zip(cells.w)) {
                    b.bind(region, x, xc);
                    if let Some(wc) = wc {
                        match r {
                            WRef::Param(i) if shape.advice_weights() => {
                                region.constrain_equal(params[i as usize].cell(), wc.cell())
                            }
                            WRef::Param(i) => region
                                .constrain_constant(wc.cell(), fe(p.weights[i as usize] as i128))?,
                            WRef::Const(c) => {
                                region.constrain_constant(wc.cell(), fe(c as i128))?
                            }
                            WRef::Wire(w) => b.bind(region, w, wc),
                        }
                    }
                }
                if ci == last {
                    b.bind(region, *out, cells.acc);
                }
                row += 1;
            }
        }

        // Arithmetic and divisions.
        for ins in &p.instrs {
            match ins {
                Instr::Arith { a, b: bw, k, out } => {
                    let chip = cfg.arith.as_ref().ok_or(Error::Synthesis)?;
                    let [ca, cb, cc] =
                        chip.assign(region, row, self.wire(*a), self.wire(*bw), *k)?;
                    b.bind(region, *a, ca);
                    b.bind(region, *bw, cb);
                    b.bind(region, *out, cc);
                    row += 1;
                }
                Instr::DivRound {
                    num,
                    den,
                    out,
                    rem,
                    slack,
                    ..
                } => {
                    let chip = cfg.div.as_ref().ok_or(Error::Synthesis)?;
                    let cells = chip.assign(region, row, self.wire(*num), self.wire(*den))?;
                    for (w, c) in [*num, *den, *out, *rem, *slack].into_iter().zip(cells) {
                        b.bind(region, w, c);
                    }
                    row += 1;
                }
                _ => {}
            }
        }

        // Lookup lanes, packed `lanes` per row.
        let mut lane = 0;
        for ins in &p.instrs {
            let Instr::Lookup {
                input,
                rescale,
                tag,
                out,
                wide,
                ..
            } = ins
            else {
                continue;
            };
            let cells = cfg.lookup.assign_lane(
                region,
                row,
                lane,
                self.wire(*input),
                *rescale,
                (!*wide).then_some(*tag as usize),
                &p.funcs,
                &p.qp,
            )?;
            b.bind(region, *input, cells.v);
            b.bind(region, *out, cells.y);
            lane += 1;
            if lane == shape.lanes {
                lane = 0;
                row += LANE_ROWS;
            }
        }

        // Tables, from row 0 of their own fixed columns.
        cfg.lookup.assign_tables(region, &p.funcs, &p.qp)?;

        let outputs = p
            .outputs
            .iter()
            .flat_map(|(_, ws)| ws.iter())
            .map(|&w| b.cells[w as usize].clone().ok_or(Error::Synthesis))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Exposed {
            inputs,
            params,
            outputs,
            salts,
            seller,
        })
    }
}

/// Where each class's public inputs sit in the instance column (see
/// [`ModelCircuit::instances`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceLayout {
    /// The input values or their commitment.
    pub input: Range<usize>,
    /// The weights or their commitment.
    pub weights: Range<usize>,
    /// The output values or their hash.
    pub output: Range<usize>,
    /// A listing's seller, last.
    pub seller: Option<usize>,
}

impl InstanceLayout {
    /// The layout of `p` proven with `shape`.
    pub fn new(p: &Program, shape: &CircuitShape) -> Self {
        let count = |v: Visibility, n: usize| match v {
            Visibility::Public => n,
            Visibility::Hashed => 1,
            _ => 0,
        };
        let n_in: usize = p.inputs.iter().map(|(_, w)| w.len()).sum();
        let n_out: usize = p.outputs.iter().map(|(_, w)| w.len()).sum();
        let vis = shape.vis;
        let a = count(vis.input, n_in);
        let b = a + count(vis.weights, p.weights.len());
        let c = b + count(vis.output, n_out);
        Self {
            input: 0..a,
            weights: a..b,
            output: b..c,
            seller: shape.listing.then_some(c),
        }
    }

    /// Number of public inputs.
    pub fn len(&self) -> usize {
        self.output.end + usize::from(self.seller.is_some())
    }

    /// Whether a proof has no public input.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Number of public inputs of `p` proven with `shape`.
pub fn num_instances(p: &Program, shape: &CircuitShape) -> usize {
    InstanceLayout::new(p, shape).len()
}

impl ModelCircuit {
    /// The public inputs of a proof of this witness: input values or commitment, then
    /// weights or commitment, then output values or commitment (classes that are private
    /// or fixed contribute nothing), then a listing's seller.
    pub fn instances(&self) -> Option<Vec<Fr>> {
        let wit = self.witness.as_ref()?;
        let p = &*self.program;
        let vals = |ws: &mut dyn Iterator<Item = Wire>| {
            ws.map(|w| fe(wit.wires[w as usize])).collect::<Vec<_>>()
        };
        let input_ints: Vec<i128> = p
            .inputs
            .iter()
            .flat_map(|(_, w)| w.iter().map(|&w| wit.wires[w as usize]))
            .collect();
        let inputs = vals(&mut p.inputs.iter().flat_map(|(_, w)| w.iter().copied()));
        let outputs = vals(&mut p.outputs.iter().flat_map(|(_, w)| w.iter().copied()));
        let weights: Vec<Fr> = p.weights.iter().map(|&v| fe(v as i128)).collect();
        let mut out = vec![];
        let vis = self.shape.vis;
        let output_salt = if self.shape.listing {
            Fr::zero()
        } else {
            wit.salts.output
        };
        for (i, (v, values, salt)) in [
            (vis.input, inputs, wit.salts.input),
            (vis.weights, weights, wit.salts.weights),
            (vis.output, outputs, output_salt),
        ]
        .into_iter()
        .enumerate()
        {
            match v {
                Visibility::Public => out.extend(values),
                // A hashed input is committed packed ([`crate::packing`]).
                Visibility::Hashed if i == 0 => out.push(trustml_poseidon::commit(
                    &InputPacking::of(p).pack(&input_ints).ok()?,
                    salt,
                )),
                Visibility::Hashed => out.push(trustml_poseidon::commit(&values, salt)),
                _ => {}
            }
        }
        if self.shape.listing {
            out.push(wit.seller);
        }
        Some(out)
    }
}
