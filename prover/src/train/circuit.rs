//! The step circuit: one SGD step of [`FixedMlp::step`], proven on committed weights and a
//! batch opened in the committed training set.
//!
//! Public, in this order: `[C_W, C_W', R_D, N, t, c]`. Private: `W` and its salt, the
//! salt of `W'`, the batch (pixels, labels, salts, Merkle paths). The circuit proves:
//! ```text
//! C_W  = Poseidon(pack24(W) ‖ salt),  C_W' = Poseidon(pack24(W') ‖ salt')   (train::commit)
//! for i < B:  idx_i = (t·B + i) mod N,  leaf(idx_i, H(x_i), y_i) opens R_D at idx_i
//! W' = the table of train::sgd on (W, x, y) with η = c/256
//! ```
//! so the batch is the one the committed order puts at step `t`: the prover chooses no
//! sample and no rounding.
//!
//! # How each line of the table is checked
//! Values are integers far below the field's size, so every relation holds over ℤ.
//! - **Ranges** (`[0, 256^n)`) are byte decompositions ([`BytesChip`], three lanes).
//! - **`rs(v, n)`**: with `N = 8⌈n/8⌉` and `off = 2^(8m−1)`, decompose
//!   `u = v·2^(N−n) + 2^(N−1) + off·2^N` into `N/8 + m` bytes; its top `m` bytes are
//!   `rs(v, n) + off` (`rs(v·2^(N−n), N) = rs(v, n)`), so `q` is unique and `|q| < 2^(8m−1)`.
//! - **Dot products** (`W1·x`, `W2·a1`, `W2ᵀ·g`, `g⊗a1`, `d⊗x`, sums) are [`DotChip`] rows
//!   whose operands are copies of the cells that hold them; biases enter as a term with a
//!   constant (`16·b1`, `256·b2`).
//! - **ReLU**: `σ ∈ {0,1}`, `(2σ−1)·z1 − σ ≥ 0` (σ = 1 ⇒ z1 ≥ 1, σ = 0 ⇒ z1 ≤ 0),
//!   `a1 = σ·z1`; the backward pass reuses `σ`: `d = σ·rs(Σ W2·g, 12)`.
//! - **Max**: `t_k = m − z2_k`, `Π_k t_k = 0` (m is a logit), and every `t_k ≥ 0` (below).
//! - **EXP**: `σ_k ∈ {0,1}`, `σ_k·(t_k − 2048) ≥ 0`, `tc_k = t_k + σ_k·(2048 − t_k)`, and
//!   `(tc_k, e_k)` is a row of the EXP table (`t ∈ [0, 2048]`; a function table in byte
//!   lane 0's lookup): so `t_k ≥ 0` and `e_k = EXP[min(t_k, 2048)]`.
//! - **Division** `p = ⌊(256e + ⌊S/2⌋)/S⌋`: `rem = 512e + S − 2S·p`, `rem ≥ 0`,
//!   `2S − 1 − rem ≥ 0`, `p ∈ [0, 2^16)` (without the last, `p + δ/2S` would pass too).
//! - **One-hot**: `oh_k ∈ {0,1}`, `Σ oh_k = 1`, `Σ k·oh_k = y`; `g = p − 256·oh`.
//! - **Update** `W' = W − rs(c·G, s)`: one arithmetic row gives `u` from `c·G`, the bytes give
//!   `q + off`, and `W' + 2^23 = W + 2^23 + off − (q + off)` is range-checked and packed.
//! - **Positions**: `pos = t·B + i = N·k + idx`, `k < 2^32`, `idx = Σ bit_j·2^j` (the path's
//!   directions), `N − 1 − idx ≥ 0`.
//!
//! Chips keep their own row cursors (halo2-axiom's `SimpleFloorPlanner` places regions at
//! absolute rows); `k` comes from laying the circuit out once ([`trustml_kit::rows`]).

use super::commit::CommittedSet;
use super::commit::{OFFSET_PACKING, PIXEL_PACKING, WEIGHT_OFFSET as W_OFF};
use super::data::{Digits, PIXELS};
use super::sgd::{exp_table, FixedMlp, Hyper, MlpDims, ACT_BITS, EXP_CAP};
use super::TrainError;
use crate::audit::sampler::SamplerChip;
use crate::audit::DOM_LEAF;
use crate::chips::arith::{ArithChip, ArithConfig};
use crate::chips::bytes::{BytesChip, BytesConfig};
use crate::chips::dot::{DotChip, DotConfig, WeightColumn, WeightValue};
use crate::chips::{fe, pack, ACell};
use crate::packing::InputPacking;
use halo2_proofs::circuit::{Layouter, Region, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use trustml_poseidon::{PoseidonChip, PoseidonConfig, RoundConstants};

/// Bytes of an activation's quotient (`|z| < 2^15`, ±128 at scale 2^8).
const ACT_BYTES: usize = 2;
/// Bytes of an update's quotient (`|Δw| < 2^23`).
const UPDATE_BYTES: usize = 3;
/// Bytes of a packed weight.
const W_BYTES: usize = 3;

/// How wide the layout is: more lanes, fewer rows (a smaller `k`, faster proofs) but more
/// columns (a larger verifier: the default keeps the Solidity verifier under EIP-170).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lanes {
    /// Pairs per dot row.
    pub dot: usize,
    /// Arithmetic lanes (each: `a, b, c`).
    pub arith: usize,
    /// Byte-decomposition lanes.
    pub bytes: usize,
    /// Poseidon chips.
    pub hash: usize,
}

impl Default for Lanes {
    fn default() -> Self {
        Self {
            dot: 2,
            arith: 1,
            bytes: 1,
            hash: 1,
        }
    }
}

/// What `configure` and the layout need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepShape {
    /// Layer sizes.
    pub dims: MlpDims,
    /// `β`: batches of `2^β`.
    pub log_batch: u32,
    /// Depth of the training set's tree.
    pub depth: usize,
    /// Columns per chip.
    pub lanes: Lanes,
}

impl Default for StepShape {
    fn default() -> Self {
        Self {
            dims: MlpDims::DIGITS,
            log_batch: 0,
            depth: 1,
            lanes: Lanes::default(),
        }
    }
}

impl StepShape {
    /// Samples per step.
    pub fn batch(&self) -> usize {
        1 << self.log_batch
    }
}

/// The private inputs of one step, and its public `R_D`, `N`, `t`, `c`.
#[derive(Clone, Debug)]
pub struct StepWitness {
    /// `W` (before the step).
    pub weights: FixedMlp,
    /// Salt of `C_W`.
    pub salt: Fr,
    /// Salt of `C_W'`.
    pub next_salt: Fr,
    /// The batch's pixels.
    pub xs: Vec<[i64; PIXELS]>,
    /// The batch's labels.
    pub ys: Vec<usize>,
    /// The batch's sample salts.
    pub sample_salts: Vec<Fr>,
    /// The batch's Merkle paths (bottom up).
    pub paths: Vec<Vec<Fr>>,
    /// `R_D`.
    pub root: Fr,
    /// `N`.
    pub size: u64,
    /// `t`.
    pub step: u64,
    /// `c` (`η = c/256`).
    pub lr: i64,
}

impl StepWitness {
    /// Step `t` of training `weights` on the committed set `set` of `data` (its batch at
    /// positions `(t·B + i) mod N`, their salts and paths), `salts` those of `C_W`, `C_W'`.
    pub fn new(
        data: &Digits,
        set: &CommittedSet,
        weights: FixedMlp,
        salts: [Fr; 2],
        t: u64,
        h: Hyper,
    ) -> Self {
        let (b, n) = (h.batch() as u64, data.len() as u64);
        let idx: Vec<u64> = (0..b).map(|i| (t * b + i) % n).collect();
        let (xs, ys) = data.batch(t as usize, b as usize);
        Self {
            weights,
            salt: salts[0],
            next_salt: salts[1],
            xs,
            ys,
            sample_salts: idx.iter().map(|&i| set.salts[i as usize]).collect(),
            paths: idx.iter().map(|&i| set.tree.path(i)).collect(),
            root: set.root(),
            size: n,
            step: t,
            lr: h.lr,
        }
    }

    /// `W'`: the native step on this witness.
    pub fn next_weights(&self) -> FixedMlp {
        let mut w = self.weights.clone();
        let h = Hyper {
            lr: self.lr,
            log_batch: self.xs.len().trailing_zeros(),
        };
        w.step(&self.xs, &self.ys, h);
        w
    }

    /// `[C_W, C_W', R_D, N, t, c]`, with `W'` from the native step.
    pub fn instances(&self) -> Result<Vec<Fr>, TrainError> {
        Ok(vec![
            self.weights.commitment(self.salt)?,
            self.next_weights().commitment(self.next_salt)?,
            self.root,
            Fr::from(self.size),
            Fr::from(self.step),
            fe(self.lr as i128),
        ])
    }
}

/// The circuit proving one step.
#[derive(Clone, Debug)]
pub struct StepCircuit {
    /// Its shape (`Circuit::Params`).
    pub shape: StepShape,
    /// The witness; `None` for key generation.
    pub witness: Option<Arc<StepWitness>>,
    /// Why the last synthesis refused the witness (a value outside a range the circuit
    /// checks), for an error message instead of a bare synthesis error.
    pub refused: Arc<Mutex<Option<String>>>,
    /// `W'` as the last synthesis laid it out (each parameter, committed order).
    pub laid_next: Arc<Mutex<Option<Vec<i64>>>>,
    /// Test-only: one value of the layout changed, everything after it computed from it.
    #[cfg(test)]
    pub(crate) tamper: Option<Tamper>,
}

/// Test-only: add `delta` to the `at`-th value laid out at `site`.
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tamper {
    pub site: &'static str,
    pub at: usize,
    pub delta: i128,
}

impl StepCircuit {
    /// The circuit of `shape` over `witness`.
    pub fn new(shape: StepShape, witness: Option<StepWitness>) -> Self {
        Self {
            shape,
            witness: witness.map(Arc::new),
            refused: Arc::default(),
            laid_next: Arc::default(),
            #[cfg(test)]
            tamper: None,
        }
    }

    /// The smallest `k` that holds the layout.
    pub fn min_k(&self) -> Result<u32, TrainError> {
        trustml_kit::rows::min_k(self, 10)
            .map_err(|e| TrainError::Setting(format!("laying out the step circuit: {e}")))
    }

    /// Why the last synthesis refused the witness, if it did.
    pub fn refusal(&self) -> Option<String> {
        self.refused.lock().ok()?.clone()
    }
}

/// Columns of the step circuit.
#[derive(Clone, Debug)]
pub struct StepConfig {
    dot: DotConfig,
    arith: Vec<ArithConfig>,
    bytes: Vec<BytesConfig>,
    poseidon: Vec<PoseidonConfig>,
    instance: Column<Instance>,
}

impl Circuit<Fr> for StepCircuit {
    type Config = StepConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = StepShape;

    fn without_witnesses(&self) -> Self {
        Self::new(self.shape.clone(), None)
    }

    fn params(&self) -> StepShape {
        self.shape.clone()
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> StepConfig {
        unreachable!("the step circuit is configured from its StepShape")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, shape: StepShape) -> StepConfig {
        let l = shape.lanes;
        assert!(
            l.dot > 0 && l.arith > 0 && l.bytes > 0 && l.hash > 0,
            "every chip has a lane"
        );
        // Equality only where cells are copied: it costs a permutation column each.
        let mut adv = |eq: bool| {
            let c = meta.advice_column();
            if eq {
                meta.enable_equality(c);
            }
            c
        };
        let x: Vec<_> = (0..l.dot).map(|_| adv(true)).collect();
        let w: Vec<_> = (0..l.dot)
            .map(|_| WeightColumn::Advice(adv(true)))
            .collect();
        let acc = adv(true);
        let lanes: Vec<[Column<Advice>; 3]> = (0..l.arith)
            .map(|_| [adv(true), adv(true), adv(true)])
            .collect();
        let byte_cols: Vec<[Column<Advice>; 2]> =
            (0..l.bytes).map(|_| [adv(false), adv(true)]).collect();
        // Poseidon's state and helper columns (the chip enables equality where it copies).
        let hash_cols: Vec<[Column<Advice>; 6]> = (0..l.hash)
            .map(|_| std::array::from_fn(|_| adv(false)))
            .collect();
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        let dot = DotChip::configure(meta, x, acc, w);
        let arith = lanes
            .into_iter()
            .map(|[a, b, c]| ArithChip::configure(meta, a, b, c))
            .collect();
        // Lane 0's lookup also holds the EXP table.
        let bytes = byte_cols
            .into_iter()
            .enumerate()
            .map(|(i, [b, z])| match i {
                0 => BytesChip::configure_with_function(meta, b, z),
                _ => BytesChip::configure(meta, b, z),
            })
            .collect();
        let poseidon = hash_cols
            .into_iter()
            .map(|[s0, s1, s2, h0, h1, h2]| {
                let rc = RoundConstants::Rows(meta.fixed_column());
                PoseidonChip::configure_with(meta, [s0, s1, s2], [h0, h1, h2], rc, constants)
            })
            .collect();
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        StepConfig {
            dot,
            arith,
            bytes,
            poseidon,
            instance,
        }
    }

    fn synthesize(&self, cfg: StepConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let shape = &self.shape;
        let w = self.witness.as_deref();
        if let Some(w) = w {
            let ok = w.xs.len() == shape.batch()
                && w.ys.len() == shape.batch()
                && w.sample_salts.len() == shape.batch()
                && w.paths.iter().all(|p| p.len() == shape.depth)
                && w.paths.len() == shape.batch()
                && w.weights.dims == shape.dims;
            if !ok {
                self.refuse("the witness does not have the circuit's batch, depth or layer sizes");
                return Err(Error::Synthesis);
            }
        }
        layouter.assign_region(
            || "tables",
            |mut region| {
                for b in &cfg.bytes {
                    BytesChip { config: *b }.assign_table(&mut region);
                }
                let exp: Vec<(Fr, Fr)> = exp_table()
                    .iter()
                    .enumerate()
                    .map(|(t, &e)| (Fr::from(t as u64), Fr::from(e as u64)))
                    .collect();
                BytesChip {
                    config: cfg.bytes[0],
                }
                .assign_function_table(&mut region, &exp);
                Ok(())
            },
        )?;
        let laid = layouter.assign_region(
            || "sgd step",
            |mut region| {
                let mut lay = Lay::new(&cfg, &mut region);
                #[cfg(test)]
                {
                    lay.tamper = self.tamper;
                }
                let r = lay.step(shape, w)?;
                if let Ok(mut n) = self.laid_next.lock() {
                    *n = r.next_values.clone();
                }
                if let Some(msg) = lay.refused.take() {
                    self.refuse(&msg);
                    #[cfg(test)]
                    if self.tamper.is_some() {
                        return Ok(r);
                    }
                    return Err(Error::Synthesis);
                }
                Ok(r)
            },
        )?;

        // Hashes: the Poseidon chips side by side, each with a sampler for the Merkle levels'
        // arithmetic rows (on the arithmetic lanes, after the step's rows).
        let pos: Vec<PoseidonChip> = cfg.poseidon.iter().map(|&c| PoseidonChip::new(c)).collect();
        let arith: Vec<ArithChip> = cfg
            .arith
            .iter()
            .map(|c| ArithChip { config: c.clone() })
            .collect();
        let bytes = BytesChip {
            config: cfg.bytes[0],
        };
        let (nh, na) = (pos.len(), arith.len());
        // Arithmetic rows one sampler needs: 4 per level of each of its samples.
        let per_sampler = 4 * shape.depth * shape.batch().div_ceil(nh);
        let samplers: Vec<SamplerChip<'_>> = (0..nh)
            .map(|j| {
                let lane = j % na;
                let start = laid.arith_end[lane] + (j / na) * per_sampler;
                SamplerChip::new(&arith[lane], &bytes, &pos[j], start)
            })
            .collect();
        let mut words = laid.w_words.clone();
        words.push(laid.salt.clone());
        let c_w = pos[0].hash(&mut layouter, &words)?;
        let mut words = laid.next_words.clone();
        words.push(laid.next_salt.clone());
        let c_next = pos[1 % nh].hash(&mut layouter, &words)?;
        for (i, s) in laid.samples.iter().enumerate() {
            let (p, sampler) = (&pos[i % nh], &samplers[i % nh]);
            let mut x = s.words.clone();
            x.push(s.salt.clone());
            let h = p.hash(&mut layouter, &x)?;
            let leaf = p.hash(
                &mut layouter,
                &[laid.dom_leaf.clone(), s.idx.clone(), h, s.label.clone()],
            )?;
            let path: Vec<Value<Fr>> = (0..shape.depth)
                .map(|k| w.map_or(Value::unknown(), |w| Value::known(w.paths[i][k])))
                .collect();
            let root = sampler.merkle_root(&mut layouter, &leaf, &s.bits, &path)?;
            layouter.assign_region(
                || "path opens R_D",
                |mut region| {
                    region.constrain_equal(root.cell(), laid.publics[0].cell());
                    Ok(())
                },
            )?;
        }
        let [root, n, t, c] = &laid.publics;
        for (row, cell) in [&c_w, &c_next, root, n, t, c].into_iter().enumerate() {
            layouter.constrain_instance(cell.cell(), cfg.instance, row);
        }
        Ok(())
    }
}

impl StepCircuit {
    fn refuse(&self, msg: &str) {
        if let Ok(mut r) = self.refused.lock() {
            *r = Some(msg.to_string());
        }
    }
}

/// A cell and, when proving, its integer value.
#[derive(Clone, Debug)]
struct Num<'v> {
    cell: ACell<'v>,
    v: Option<i128>,
}

/// An operand of an arithmetic row.
enum Op<'c, 'v> {
    /// A copy of a cell.
    Cell(&'c Num<'v>),
    /// `b` only: a copy of this row's `a` (for rows that read one value).
    Same,
}

/// The cells the hashes read.
struct SampleCells<'v> {
    words: Vec<ACell<'v>>,
    salt: ACell<'v>,
    idx: ACell<'v>,
    bits: Vec<ACell<'v>>,
    label: ACell<'v>,
}

/// What the step region hands to the hashes.
struct Laid<'v> {
    w_words: Vec<ACell<'v>>,
    next_words: Vec<ACell<'v>>,
    salt: ACell<'v>,
    next_salt: ACell<'v>,
    samples: Vec<SampleCells<'v>>,
    dom_leaf: ACell<'v>,
    /// `R_D, N, t, c`.
    publics: [ACell<'v>; 4],
    arith_end: Vec<usize>,
    /// `W'` (when proving).
    next_values: Option<Vec<i64>>,
}

/// The step's layout: chips with row cursors, constants, and the first refused value.
struct Lay<'a, 'r, 'v> {
    region: &'a mut Region<'r, Fr>,
    dot: DotChip,
    dot_row: usize,
    arith: Vec<ArithChip>,
    arith_row: Vec<usize>,
    bytes: Vec<BytesChip>,
    bytes_row: Vec<usize>,
    consts: HashMap<i128, Num<'v>>,
    refused: Option<String>,
    width: usize,
    #[cfg(test)]
    tamper: Option<Tamper>,
    #[cfg(test)]
    seen: HashMap<&'static str, usize>,
}

fn val(v: Option<i128>) -> Value<Fr> {
    v.map_or(Value::unknown(), |v| Value::known(fe(v)))
}

fn lowest(rows: &[usize]) -> usize {
    (0..rows.len()).min_by_key(|&i| rows[i]).expect("lanes")
}

impl<'a, 'r, 'v> Lay<'a, 'r, 'v> {
    fn new(cfg: &StepConfig, region: &'a mut Region<'r, Fr>) -> Self {
        Self {
            region,
            dot: DotChip {
                config: cfg.dot.clone(),
            },
            dot_row: 0,
            arith: cfg
                .arith
                .iter()
                .map(|c| ArithChip { config: c.clone() })
                .collect(),
            arith_row: vec![0; cfg.arith.len()],
            bytes: cfg.bytes.iter().map(|&c| BytesChip { config: c }).collect(),
            bytes_row: vec![0; cfg.bytes.len()],
            consts: HashMap::new(),
            refused: None,
            width: cfg.dot.x.len(),
            #[cfg(test)]
            tamper: None,
            #[cfg(test)]
            seen: HashMap::new(),
        }
    }

    /// `v`, or `v + delta` at the tampered site (tests only).
    fn site(&mut self, name: &'static str, v: Option<i128>) -> Option<i128> {
        #[cfg(test)]
        {
            let n = self.seen.entry(name).or_insert(0);
            *n += 1;
            if let Some(t) = self.tamper.filter(|t| t.site == name && t.at + 1 == *n) {
                return v.map(|v| v + t.delta);
            }
        }
        let _ = name;
        v
    }

    fn refuse(&mut self, msg: String) {
        self.refused.get_or_insert(msg);
    }

    /// A cell holding `v` that only its copies constrain (a row where no gate is on).
    fn witness(&mut self, v: Option<i128>) -> Num<'v> {
        let lane = lowest(&self.arith_row);
        let row = self.arith_row[lane];
        self.arith_row[lane] += 1;
        let cell = self
            .region
            .assign_advice(self.arith[lane].config.a, row, val(v));
        Num { cell, v }
    }

    /// A witness cell holding a field element (a salt).
    fn witness_fr(&mut self, v: Value<Fr>) -> ACell<'v> {
        let lane = lowest(&self.arith_row);
        let row = self.arith_row[lane];
        self.arith_row[lane] += 1;
        self.region.assign_advice(self.arith[lane].config.a, row, v)
    }

    /// The cell of constant `c` (one per value).
    fn constant(&mut self, c: i128) -> Result<Num<'v>, Error> {
        if let Some(n) = self.consts.get(&c) {
            return Ok(n.clone());
        }
        let n = self.witness(Some(c));
        self.region.constrain_constant(n.cell.cell(), fe(c))?;
        self.consts.insert(c, n.clone());
        Ok(n)
    }

    /// `c = k0·a·b + k1·a + k2·b + k3` on one arithmetic row.
    fn arith(&mut self, a: &Num<'v>, b: Op<'_, 'v>, k: [i128; 4]) -> Result<Num<'v>, Error> {
        self.arith_at(a, b, k, None)
    }

    /// [`Lay::arith`] whose result is a tampering site (tests).
    fn arith_at(
        &mut self,
        a: &Num<'v>,
        b: Op<'_, 'v>,
        k: [i128; 4],
        site: Option<&'static str>,
    ) -> Result<Num<'v>, Error> {
        let lane = lowest(&self.arith_row);
        let row = self.arith_row[lane];
        self.arith_row[lane] += 1;
        let bv = match b {
            Op::Cell(n) => n.v,
            Op::Same => a.v,
        };
        let v =
            a.v.zip(bv)
                .map(|(x, y)| k[0] * x * y + k[1] * x + k[2] * y + k[3]);
        let cells = self.arith[lane].assign_fr(self.region, row, val(a.v), val(bv), k.map(fe))?;
        self.region.constrain_equal(cells[0].cell(), a.cell.cell());
        match b {
            Op::Cell(n) => self.region.constrain_equal(cells[1].cell(), n.cell.cell()),
            Op::Same => self
                .region
                .constrain_equal(cells[1].cell(), cells[0].cell()),
        }
        let [_, _, mut c] = cells;
        if let Some(name) = site {
            let t = self.site(name, v);
            if t != v {
                c = self
                    .region
                    .assign_advice(self.arith[lane].config.c, row, val(t));
            }
            return Ok(Num { cell: c, v: t });
        }
        Ok(Num { cell: c, v })
    }

    /// `a == b`.
    fn equal(&mut self, a: &Num<'v>, b: &Num<'v>) {
        self.region.constrain_equal(a.cell.cell(), b.cell.cell());
    }

    /// The byte decomposition of `v` (`n` bytes): `[z_0, …, z_n]`, `z_n = v`. A value
    /// outside `[0, 256^n)` is refused with `what`.
    fn decompose(
        &mut self,
        v: Option<i128>,
        n: usize,
        what: &str,
    ) -> Result<Vec<ACell<'v>>, Error> {
        if let Some(x) = v {
            if x < 0 || x >= 1i128 << (8 * n) {
                self.refuse(format!(
                    "{what}: {x} is outside the circuit's range [0, 2^{}); the training run \
                     left the range a step proof checks (lower the learning rate)",
                    8 * n
                ));
            }
        }
        let lane = lowest(&self.bytes_row);
        let row = self.bytes_row[lane];
        self.bytes_row[lane] += n + 1;
        let zero = self.constant(0)?;
        self.bytes[lane].decompose_from(self.region, row, val(v), n, Some(&zero.cell))
    }

    /// A new cell holding `v ∈ [0, 256^n)`.
    fn ranged(&mut self, v: Option<i128>, n: usize, what: &str) -> Result<Num<'v>, Error> {
        let zs = self.decompose(v, n, what)?;
        Ok(Num {
            cell: zs[n].clone(),
            v,
        })
    }

    /// Proves `v ∈ [0, 256^n)`.
    fn range(&mut self, v: &Num<'v>, n: usize, what: &str) -> Result<(), Error> {
        let zs = self.decompose(v.v, n, what)?;
        self.region.constrain_equal(zs[n].cell(), v.cell.cell());
        Ok(())
    }

    /// A boolean witness.
    fn boolean(&mut self, v: Option<bool>) -> Result<Num<'v>, Error> {
        let b = self.witness(v.map(i128::from));
        let zero = self.constant(0)?;
        let sq = self.arith(&b, Op::Same, [1, -1, 0, 0])?;
        self.equal(&sq, &zero);
        Ok(b)
    }

    /// `Σ x·w` over pairs of cells.
    fn dot(&mut self, terms: &[(&Num<'v>, &Num<'v>)]) -> Result<Num<'v>, Error> {
        self.dot_at(terms, None)
    }

    /// [`Lay::dot`] whose result is a tampering site (tests).
    fn dot_at(
        &mut self,
        terms: &[(&Num<'v>, &Num<'v>)],
        site: Option<&'static str>,
    ) -> Result<Num<'v>, Error> {
        let mut prev = Value::known(Fr::zero());
        let mut acc: Option<ACell<'v>> = None;
        let mut v = Some(0i128);
        // Empty slots of the last row hold copies of the zero cell (the chip would pin
        // each to a constant of its own).
        let zero = self.constant(0)?;
        let mut terms = terms.to_vec();
        while !terms.len().is_multiple_of(self.width) {
            terms.push((&zero, &zero));
        }
        for (r, chunk) in terms.chunks(self.width).enumerate() {
            let xs: Vec<Value<Fr>> = chunk.iter().map(|(x, _)| val(x.v)).collect();
            let ws: Vec<WeightValue> = chunk
                .iter()
                .map(|(_, w)| WeightValue::Witness(val(w.v)))
                .collect();
            let (row, sum) =
                self.dot
                    .assign_row(self.region, self.dot_row, &xs, &ws, r > 0, prev)?;
            self.dot_row += 1;
            for (i, (x, w)) in chunk.iter().enumerate() {
                self.region.constrain_equal(row.x[i].cell(), x.cell.cell());
                let wc = row.w[i].as_ref().expect("advice weight lanes");
                self.region.constrain_equal(wc.cell(), w.cell.cell());
                v = v.zip(x.v).zip(w.v).map(|((s, x), w)| s + x * w);
            }
            prev = sum;
            acc = Some(row.acc);
        }
        let mut cell = acc.expect("a dot product has terms");
        if let Some(name) = site {
            let t = self.site(name, v);
            if t != v {
                let col = self.dot.config.acc;
                cell = self.region.assign_advice(col, self.dot_row - 1, val(t));
                v = t;
            }
        }
        Ok(Num { cell, v })
    }

    /// `Σ x`.
    fn sum(&mut self, xs: &[&Num<'v>]) -> Result<Num<'v>, Error> {
        let one = self.constant(1)?;
        let terms: Vec<(&Num<'v>, &Num<'v>)> = xs.iter().map(|&x| (x, &one)).collect();
        self.dot(&terms)
    }

    /// The top `m` bytes of `u` (`N/8 + m` bytes) as a cell: `⌊u / 2^N⌋`.
    fn prefix(&mut self, u: &Num<'v>, big_n: u32, m: usize, what: &str) -> Result<Num<'v>, Error> {
        let n = big_n as usize / 8 + m;
        let zs = self.decompose(u.v, n, what)?;
        self.region.constrain_equal(zs[n].cell(), u.cell.cell());
        Ok(Num {
            cell: zs[m].clone(),
            v: u.v.map(|u| u >> big_n),
        })
    }

    /// `rs(v, n)` with `|rs| < 2^(8m−1)`.
    fn rs(&mut self, v: &Num<'v>, n: u32, m: usize, what: &str) -> Result<Num<'v>, Error> {
        let big_n = 8 * n.div_ceil(8);
        let off = 1i128 << (8 * m - 1);
        let u = self.arith(
            v,
            Op::Same,
            [0, 1 << (big_n - n), 0, (1 << (big_n - 1)) + (off << big_n)],
        )?;
        let p = self.prefix(&u, big_n, m, what)?;
        self.arith_at(&p, Op::Same, [0, 1, 0, -off], Some("rs"))
    }

    /// `e = EXP[tc]`, `tc ∈ [0, 2048]` (the EXP table).
    fn exp(&mut self, tc: &Num<'v>) -> Result<Num<'v>, Error> {
        let row = self.bytes_row[0];
        self.bytes_row[0] += 1;
        let e =
            tc.v.and_then(|t| exp_table().get(usize::try_from(t).ok()?).copied());
        if tc.v.is_some() && e.is_none() {
            self.refuse("softmax: a logit gap outside the EXP table".into());
        }
        let e = self.site("exp", e.map(i128::from));
        let (t, cell) = self.bytes[0].assign_function(self.region, row, val(tc.v), val(e));
        self.region.constrain_equal(t.cell(), tc.cell.cell());
        Ok(Num { cell, v: e })
    }

    /// Packs cells holding `W + 2^23` into the words of `C_W`.
    fn pack(&mut self, values: &[Num<'v>], p: &InputPacking) -> Result<Vec<ACell<'v>>, Error> {
        let cells: Vec<ACell<'v>> = values.iter().map(|n| n.cell.clone()).collect();
        // One lane: the chip lays its rows consecutively.
        let lane = lowest(&self.arith_row);
        let row = self.arith_row[lane];
        self.arith_row[lane] += pack::rows(cells.len());
        pack::assign_packed(&self.arith[lane], self.region, row, &cells, p)
    }

    /// Weights as cells: `(W + 2^23` range-checked, `W)`.
    fn weights(
        &mut self,
        values: Option<Vec<i64>>,
        n: usize,
    ) -> Result<(Vec<Num<'v>>, Vec<Num<'v>>), Error> {
        let (mut off, mut w) = (vec![], vec![]);
        for i in 0..n {
            let v = values.as_ref().map(|v| v[i] as i128);
            let u = self.ranged(v.map(|v| v + W_OFF), W_BYTES, "a weight")?;
            w.push(self.arith(&u, Op::Same, [0, 1, 0, -W_OFF])?);
            off.push(u);
        }
        Ok((off, w))
    }

    /// Lays out the whole step; returns what the hashes read.
    // Index loops: the table's subscripts (b, h, j, k) read best as they are written there.
    #[allow(clippy::needless_range_loop)]
    fn step(&mut self, shape: &StepShape, wit: Option<&StepWitness>) -> Result<Laid<'v>, Error> {
        let d = shape.dims;
        let bsz = shape.batch();
        let beta = shape.log_batch;
        let get = |f: &dyn Fn(&StepWitness) -> i128| wit.map(f);

        // Publics (bound to the instance column after the hashes).
        let root = self.witness_fr(wit.map_or(Value::unknown(), |w| Value::known(w.root)));
        let n_cell = self.witness(get(&|w| w.size as i128));
        let t_cell = self.witness(get(&|w| w.step as i128));
        let c_cell = self.witness(get(&|w| w.lr as i128));
        let salt = self.witness_fr(wit.map_or(Value::unknown(), |w| Value::known(w.salt)));
        let next_salt =
            self.witness_fr(wit.map_or(Value::unknown(), |w| Value::known(w.next_salt)));
        let dom_leaf = self.constant(DOM_LEAF as i128)?;

        // W, in committed order W1 ‖ b1 ‖ W2 ‖ b2.
        let (n1, nb1, n2) = (d.hidden * d.input, d.hidden, d.classes * d.hidden);
        let total = n1 + nb1 + n2 + d.classes;
        let (w_off, w) = self.weights(wit.map(|w| w.weights.values()), total)?;
        let (w1, rest) = w.split_at(n1);
        let (b1, rest) = rest.split_at(nb1);
        let (w2, b2) = rest.split_at(n2);
        let (c16, c256) = (self.constant(16)?, self.constant(256)?);

        let mut samples = vec![];
        let (mut xs, mut a1s, mut gs, mut ds) = (vec![], vec![], vec![], vec![]);
        for i in 0..bsz {
            // The sample at position t·B + i of the committed order.
            let x: Vec<Num<'v>> = (0..PIXELS)
                .map(|j| self.ranged(get(&|w| w.xs[i][j] as i128), 1, "a pixel"))
                .collect::<Result<_, _>>()?;
            let y = wit.map(|w| w.ys[i]);
            let label = self.witness(y.map(|y| y as i128));
            let pos = self.arith(&t_cell, Op::Same, [0, bsz as i128, 0, i as i128])?;
            let nk = get(&|w| ((w.step as i128) * bsz as i128 + i as i128) / w.size as i128);
            let k = self.ranged(nk, 4, "the epoch of a batch position")?;
            let n_k = self.arith(&n_cell, Op::Cell(&k), [1, 0, 0, 0])?;
            let idx = self.arith(&pos, Op::Cell(&n_k), [0, 1, -1, 0])?;
            let below = self.arith(&n_cell, Op::Cell(&idx), [0, 1, -1, -1])?;
            self.range(&below, 4, "a sample index (N − 1 − idx)")?;
            let mut bits = vec![];
            let mut acc: Option<Num<'v>> = None;
            for j in 0..shape.depth {
                let bit = self.boolean(idx.v.map(|v| (v >> j) & 1 == 1))?;
                acc = Some(match acc {
                    None => self.arith(&bit, Op::Same, [0, 1, 0, 0])?,
                    Some(a) => self.arith(&a, Op::Cell(&bit), [0, 1, 1 << j, 0])?,
                });
                bits.push(bit.cell);
            }
            self.equal(acc.as_ref().expect("depth ≥ 1"), &idx);
            let words = self.pack(&x, &PIXEL_PACKING)?;
            let s_salt =
                self.witness_fr(wit.map_or(Value::unknown(), |w| Value::known(w.sample_salts[i])));

            // Forward: z1 = rs(W1·x + 16·b1, 8), ReLU.
            let mut a1 = vec![];
            let mut sig = vec![];
            for h in 0..d.hidden {
                let mut terms: Vec<(&Num<'v>, &Num<'v>)> = (0..d.input)
                    .map(|j| (&x[j], &w1[h * d.input + j]))
                    .collect();
                terms.push((&b1[h], &c16));
                let acc = self.dot(&terms)?;
                let z1 = self.rs(&acc, ACT_BITS, ACT_BYTES, "a hidden pre-activation")?;
                let sv = self.site("relu", z1.v.map(|z| i128::from(z > 0)));
                let s = self.boolean(sv.map(|s| s == 1))?;
                let v = self.arith(&s, Op::Cell(&z1), [2, -1, -1, 0])?;
                self.range(&v, 3, "the ReLU's sign check")?;
                a1.push(self.arith(&s, Op::Cell(&z1), [1, 0, 0, 0])?);
                sig.push(s);
            }
            // z2 = rs(W2·a1 + 256·b2, 12).
            let mut z2 = vec![];
            for k in 0..d.classes {
                let mut terms: Vec<(&Num<'v>, &Num<'v>)> = (0..d.hidden)
                    .map(|h| (&a1[h], &w2[k * d.hidden + h]))
                    .collect();
                terms.push((&b2[k], &c256));
                let acc = self.dot(&terms)?;
                z2.push(self.rs(&acc, 12, ACT_BYTES, "a logit")?);
            }
            // Softmax: m = max z2, e = EXP[min(m − z2, 2048)], p = ⌊(256e + ⌊S/2⌋)/S⌋.
            let mv = z2
                .iter()
                .map(|z| z.v)
                .collect::<Option<Vec<_>>>()
                .map(|v| v.into_iter().max().expect("classes"));
            let mv = self.site("max", mv);
            let m = self.witness(mv);
            let mut es = vec![];
            let mut prod: Option<Num<'v>> = None;
            for z in &z2 {
                let t = self.arith(&m, Op::Cell(z), [0, 1, -1, 0])?;
                prod = Some(match prod {
                    None => t.clone(),
                    Some(p) => self.arith(&p, Op::Cell(&t), [1, 0, 0, 0])?,
                });
                let cap = EXP_CAP as i128;
                let s = self.boolean(t.v.map(|t| t >= cap))?;
                let tc = self.arith(&s, Op::Cell(&t), [-1, cap, 1, 0])?;
                let over = self.arith(&s, Op::Cell(&t), [1, -cap, 0, 0])?;
                self.range(&over, 3, "a capped logit gap")?;
                es.push(self.exp(&tc)?);
            }
            let zero = self.constant(0)?;
            self.equal(prod.as_ref().expect("classes"), &zero);
            let s_sum = self.sum(&es.iter().collect::<Vec<_>>())?;
            let mut ohs = vec![];
            for k in 0..d.classes {
                ohs.push(self.boolean(y.map(|y| y == k))?);
            }
            let one = self.constant(1)?;
            let oh_sum = self.sum(&ohs.iter().collect::<Vec<_>>())?;
            self.equal(&oh_sum, &one);
            let ks: Vec<Num<'v>> = (0..d.classes as i128)
                .map(|k| self.constant(k))
                .collect::<Result<_, _>>()?;
            let oh_k = self.dot(&ohs.iter().zip(&ks).collect::<Vec<_>>())?;
            self.equal(&oh_k, &label);
            let mut g = vec![];
            for (k, e) in es.iter().enumerate() {
                let pv =
                    e.v.zip(s_sum.v)
                        .map(|(e, s)| (256 * e + s / 2).div_euclid(s));
                let pv = self.site("p", pv);
                let p = self.ranged(pv, 2, "a probability")?;
                let c1 = self.arith(&s_sum, Op::Cell(&p), [-2, 1, 0, 0])?;
                let rem = self.arith(e, Op::Cell(&c1), [0, 512, 1, 0])?;
                self.range(&rem, 2, "a softmax remainder")?;
                let slack = self.arith(&s_sum, Op::Cell(&rem), [0, 2, -1, -1])?;
                self.range(&slack, 2, "a softmax remainder's slack")?;
                g.push(self.arith(&p, Op::Cell(&ohs[k]), [0, 1, -256, 0])?);
            }
            // Backward: d = σ·rs(Σ_k W2_ki·g_k, 12).
            let mut dh = vec![];
            for h in 0..d.hidden {
                let terms: Vec<(&Num<'v>, &Num<'v>)> = (0..d.classes)
                    .map(|k| (&g[k], &w2[k * d.hidden + h]))
                    .collect();
                let back = self.dot(&terms)?;
                let q = self.rs(&back, 12, ACT_BYTES, "a back-propagated gradient")?;
                dh.push(self.arith(&sig[h], Op::Cell(&q), [1, 0, 0, 0])?);
            }
            samples.push(SampleCells {
                words,
                salt: s_salt,
                idx: idx.cell.clone(),
                bits,
                label: label.cell.clone(),
            });
            xs.push(x);
            a1s.push(a1);
            gs.push(g);
            ds.push(dh);
        }

        // Gradients, summed over the batch, and the update of each parameter.
        let mut next = vec![];
        for h in 0..d.hidden {
            for j in 0..d.input {
                let terms: Vec<_> = (0..bsz).map(|b| (&ds[b][h], &xs[b][j])).collect();
                let gsum = self.dot_at(&terms, Some("grad"))?;
                next.push((gsum, 8));
            }
        }
        for h in 0..d.hidden {
            let gsum = self.sum(&(0..bsz).map(|b| &ds[b][h]).collect::<Vec<_>>())?;
            next.push((gsum, 4));
        }
        for k in 0..d.classes {
            for h in 0..d.hidden {
                let terms: Vec<_> = (0..bsz).map(|b| (&gs[b][k], &a1s[b][h])).collect();
                let gsum = self.dot_at(&terms, Some("grad"))?;
                next.push((gsum, 12));
            }
        }
        for k in 0..d.classes {
            let gsum = self.sum(&(0..bsz).map(|b| &gs[b][k]).collect::<Vec<_>>())?;
            next.push((gsum, 4));
        }
        let mut next_off = vec![];
        for ((gsum, shift), wv) in next.iter().zip(&w) {
            // W' + 2^23 = W + 2^23 + off − (rs(c·G, shift + β) + off).
            let n = shift + beta;
            let big_n = 8 * n.div_ceil(8);
            let off = 1i128 << (8 * UPDATE_BYTES - 1);
            let u = self.arith(
                &c_cell,
                Op::Cell(gsum),
                [1 << (big_n - n), 0, 0, (1 << (big_n - 1)) + (off << big_n)],
            )?;
            let p = self.prefix(&u, big_n, UPDATE_BYTES, "a weight update")?;
            let nw = self.arith(wv, Op::Cell(&p), [0, 1, -1, off + W_OFF])?;
            self.range(&nw, W_BYTES, "an updated weight")?;
            next_off.push(nw);
        }
        let next_values = next_off
            .iter()
            .map(|n| n.v.map(|v| (v - W_OFF) as i64))
            .collect();
        let w_words = self.pack(&w_off, &OFFSET_PACKING)?;
        let next_words = self.pack(&next_off, &OFFSET_PACKING)?;
        Ok(Laid {
            w_words,
            next_words,
            salt,
            next_salt,
            samples,
            dom_leaf: dom_leaf.cell,
            publics: [root, n_cell.cell, t_cell.cell, c_cell.cell],
            arith_end: self.arith_row.clone(),
            next_values,
        })
    }
}

#[cfg(test)]
#[path = "tests_circuit.rs"]
mod tests;
