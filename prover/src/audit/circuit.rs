//! The audit circuit: one batch of `b` samples per proof.
//!
//! Public, in this order: `[C_W, R_D, N, seed, j0, count]`. Private: the weights and their
//! salt; per sample its inputs, label, salt and Merkle path. For each ordinal
//! `j = j0 + t`, `t < b`:
//! ```text
//! idx_j  = ⌊lo64(compress(DOM_IDX, seed, j))·N / 2^64⌋          (sampler: canonical, idx < N)
//! leaf_j = Poseidon(DOM_LEAF, idx_j, Poseidon(pack(x_j) ‖ salt_j), label_j), its path opens R_D
//! correct_j = [argmax(model(W, x_j)) = label_j]                  (ties to the lowest class)
//! count  = Σ_j correct_j,   C_W = Poseidon(W ‖ salt_W)          (as `--weights-visibility hashed`)
//! ```
//! The model, the argmax and the count are the [`AuditProgram`] laid out by the model
//! circuit's chips (`ModelCircuit::assign_model`); the sampling, the per-sample commitments
//! and the tree are [`SamplerChip`] and Poseidon rows placed after the model's grid. The
//! prover never chooses a sample: the seed, `j0` and `N` fix every index.

use super::program::AuditProgram;
use super::sampler::{SamplerChip, MAX_DEPTH};
use super::DOM_LEAF;
use crate::chips::arith::ArithChip;
use crate::chips::bytes::{BytesChip, BytesConfig};
use crate::chips::pack;
use crate::circuit::{CircuitShape, ModelCircuit, ModelConfig, RowPlan, Salts, Witness};
use crate::packing::InputPacking;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use trustml_poseidon::{rows_per_compress, rows_per_hash, PoseidonChip};

/// What `configure` needs: the model circuit's shape, the batch size and the tree depth.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditShape {
    /// Columns of the model part (weights `hashed`, arithmetic on).
    pub model: CircuitShape,
    /// Samples per proof `b`.
    pub batch: usize,
    /// Depth `d` of the dataset tree.
    pub depth: usize,
}

/// The private inputs of one batch.
#[derive(Clone, Debug)]
pub struct AuditWitness {
    /// Every wire of the audit program (from `Program::eval`).
    pub wires: Vec<i128>,
    /// The weights' salt.
    pub weights_salt: Fr,
    /// Per sample: its salt and its Merkle path (bottom up).
    pub samples: Vec<(Fr, Vec<Fr>)>,
    /// `R_D`, `N`, the seed and `j0` (public; the proof binds them).
    pub root: Fr,
    /// `N`.
    pub size: u64,
    /// The seed.
    pub seed: Fr,
    /// First ordinal of the batch.
    pub j0: u64,
}

/// The circuit proving one audit batch.
#[derive(Clone, Debug)]
pub struct AuditCircuit {
    /// Its shape (`Circuit::Params`).
    pub shape: AuditShape,
    /// The audit program.
    pub program: Arc<AuditProgram>,
    /// The witness; `None` for key generation.
    pub witness: Option<Arc<AuditWitness>>,
}

/// Rows one sample takes in the sampler's rows: `j` (1), the index (62 + 2d), its salt
/// (1), packing its `inputs` values (one each), the leaf's domain constant (1), the path
/// (4d).
pub fn sampler_rows_per_sample(depth: usize, inputs: usize) -> usize {
    65 + 6 * depth + pack::rows(inputs)
}

/// Poseidon rows of one batch.
fn poseidon_rows(p: &AuditProgram, depth: usize) -> usize {
    let words = InputPacking::of(&p.program).words(p.sample_inputs[0].len());
    let per_sample = rows_per_compress()
        + rows_per_hash(words + 1)
        + rows_per_hash(4)
        + depth * rows_per_compress();
    rows_per_hash(p.program.weights.len() + 1) + p.batch * per_sample
}

impl AuditCircuit {
    fn rows(&self) -> (RowPlan, usize, usize) {
        let plan = RowPlan::new(&self.program.program, &self.shape.model);
        let sampler_start = plan.grid() + 1;
        let poseidon_start = sampler_start
            + 4
            + self.shape.batch
                * sampler_rows_per_sample(self.shape.depth, self.program.sample_inputs[0].len())
            + 1;
        (plan, sampler_start, poseidon_start)
    }

    /// Rows the circuit needs before blinding rows.
    pub fn usable_rows(&self) -> usize {
        let (plan, _, pstart) = self.rows();
        (pstart + poseidon_rows(&self.program, self.shape.depth))
            .max(plan.table)
            .max(256)
    }

    /// The smallest `k` that fits.
    pub fn min_k(&self) -> u32 {
        let mut cs = ConstraintSystem::<Fr>::default();
        let _ = Self::configure_with_params(&mut cs, self.shape.clone());
        let need = self.usable_rows() + cs.minimum_rows();
        let mut k = 4;
        while (1usize << k) < need {
            k += 1;
        }
        k
    }

    /// The public inputs of this witness: `[C_W, R_D, N, seed, j0, count]`.
    pub fn instances(&self) -> Option<Vec<Fr>> {
        let w = self.witness.as_ref()?;
        Some(vec![
            super::weights_commitment(&self.program.program, w.weights_salt),
            w.root,
            Fr::from(w.size),
            w.seed,
            Fr::from(w.j0),
            crate::chips::fe(w.wires[self.program.count as usize]),
        ])
    }
}

/// Columns of the audit circuit: the model circuit's and the byte chip's.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// The model circuit (grid, chips, Poseidon, instance).
    pub model: ModelConfig,
    /// Byte decompositions for the sampler.
    pub bytes: BytesConfig,
}

impl Circuit<Fr> for AuditCircuit {
    type Config = AuditConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = AuditShape;

    fn without_witnesses(&self) -> Self {
        Self {
            witness: None,
            ..self.clone()
        }
    }

    fn params(&self) -> AuditShape {
        self.shape.clone()
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> AuditConfig {
        unreachable!("the audit circuit is configured from its AuditShape")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, shape: AuditShape) -> AuditConfig {
        assert!(shape.model.arith && shape.model.uses_poseidon());
        let model = ModelCircuit::configure_with_params(meta, shape.model);
        let (byte, z) = (meta.advice_column(), meta.advice_column());
        let bytes = BytesChip::configure(meta, byte, z);
        AuditConfig { model, bytes }
    }

    fn synthesize(&self, cfg: AuditConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let (b, d) = (self.shape.batch, self.shape.depth);
        if !(1..=MAX_DEPTH).contains(&d) || b == 0 {
            return Err(Error::Synthesis);
        }
        let ap = &*self.program;
        let w = self.witness.as_deref();
        let known =
            |f: &dyn Fn(&AuditWitness) -> Fr| w.map_or(Value::unknown(), |w| Value::known(f(w)));
        let model = ModelCircuit::new(
            self.shape.model.clone(),
            Arc::new(ap.program.clone()),
            w.map(|w| {
                Arc::new(Witness {
                    wires: w.wires.clone(),
                    salts: Salts {
                        weights: w.weights_salt,
                        ..Default::default()
                    },
                    seller: Fr::zero(),
                })
            }),
        );
        let exposed = layouter.assign_region(
            || "model",
            |mut region| model.assign_model(&cfg.model, &mut region),
        )?;
        let (_, sampler_start, poseidon_start) = self.rows();
        let arith: ArithChip = cfg.model.arith.clone().ok_or(Error::Synthesis)?;
        let bytes = BytesChip { config: cfg.bytes };
        let poseidon = PoseidonChip::with_start_row(
            cfg.model.poseidon.ok_or(Error::Synthesis)?,
            poseidon_start,
        );
        let sampler = SamplerChip::new(&arith, &bytes, &poseidon, sampler_start);
        layouter.assign_region(
            || "byte table",
            |mut region| {
                bytes.assign_table(&mut region);
                Ok(())
            },
        )?;

        // C_W = Poseidon(weights ‖ salt), as a hashed-weights model exposes it.
        let mut wcells = exposed.params.clone();
        wcells.push(exposed.salts[1].clone().ok_or(Error::Synthesis)?);
        let c_w = poseidon.hash(&mut layouter, &wcells)?;
        let r_d = sampler.witness(&mut layouter, known(&|w| w.root))?;
        let n = sampler.witness(&mut layouter, known(&|w| Fr::from(w.size)))?;
        let seed = sampler.witness(&mut layouter, known(&|w| w.seed))?;
        let j0 = sampler.witness(&mut layouter, known(&|w| Fr::from(w.j0)))?;

        let len = ap.sample_inputs[0].len();
        let packing = InputPacking::of(&ap.program);
        for t in 0..b {
            let j = sampler.add_constant(&mut layouter, &j0, Fr::from(t as u64))?;
            let (idx, bits) = sampler.sample_index(&mut layouter, &seed, &j, &n, d)?;
            let salt = sampler.witness(&mut layouter, known(&|w| w.samples[t].0))?;
            // H(x) as the model commits a hashed input: the values packed (range-checked
            // by the program), then the salt.
            let mut x = sampler.pack(
                &mut layouter,
                &exposed.inputs[t * len..(t + 1) * len],
                &packing,
            )?;
            x.push(salt);
            let h = poseidon.hash(&mut layouter, &x)?;
            let dom = sampler.constant_cell(&mut layouter, Fr::from(DOM_LEAF))?;
            let label = exposed.inputs[b * len + t].clone();
            let leaf = poseidon.hash(&mut layouter, &[dom, idx, h, label])?;
            let path: Vec<Value<Fr>> = (0..d).map(|k| known(&|w| w.samples[t].1[k])).collect();
            let root = sampler.merkle_root(&mut layouter, &leaf, &bits, &path)?;
            layouter.assign_region(
                || "path opens R_D",
                |mut region| {
                    region.constrain_equal(root.cell(), r_d.cell());
                    Ok(())
                },
            )?;
        }
        let count = exposed.outputs.first().ok_or(Error::Synthesis)?;
        let inst = cfg.model.instance;
        for (row, cell) in [&c_w, &r_d, &n, &seed, &j0, count].into_iter().enumerate() {
            layouter.constrain_instance(cell.cell(), inst, row);
        }
        Ok(())
    }
}
