//! The link between a training run and the compiled model it produced: a proof that
//! `C_WT` (the run's last commitment, weights packed 10 per element) and `C_M` (the
//! compiled model's `--weights-visibility hashed` commitment, one weight per element,
//! biases at `2^24`) commit to the same weights. With it, the trained model is audited and
//! served under the identity its training proved.
//!
//! Public `[C_WT, C_M]`. Private: the weights and both salts.
//! ```text
//! u_i = W_i + 2^23 ∈ [0, 2^24)                 byte decomposition (what the packing needs)
//! C_WT = Poseidon(pack24(u) ‖ salt_T)          as train::commit
//! p_j  = W_π(j) · (2^12 if bias else 1)        π: where lowering puts each weight
//! C_M  = Poseidon(p ‖ salt_M)                   as audit::weights_commitment
//! ```
//! `π` comes from lowering the exported graph of a probe MLP whose weights are all
//! distinct ([`weight_map`]); [`LinkWitness::new`] checks that the model's own weights are
//! `p` before anything is proven.

use super::commit::{OFFSET_PACKING, WEIGHT_OFFSET as W_OFF};
use super::sgd::{FixedMlp, MlpDims};
use super::TrainError;
use crate::chips::arith::{ArithChip, ArithConfig};
use crate::chips::bytes::{BytesChip, BytesConfig};
use crate::chips::{fe, pack, ACell};
use crate::quant::QuantParams;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, Column, ConstraintSystem, Error, Instance};
use std::collections::HashMap;
use std::sync::Arc;
use trustml_poseidon::dense::{DenseChip, DenseConfig};

/// Where each of the model's weights comes from: `(index in W1 ‖ b1 ‖ W2 ‖ b2, is a bias)`.
pub type WeightMap = Vec<(usize, bool)>;

const BIAS: i128 = 1 << 12;

/// `π` for an MLP of `dims` lowered at `qp` (see the module docs).
pub fn weight_map(dims: MlpDims, qp: QuantParams) -> Result<WeightMap, TrainError> {
    let mut probe = FixedMlp::init(dims, 0);
    let n = probe.values().len();
    // Distinct values 1..=n in committed order.
    let mut k = 0;
    for v in [&mut probe.w1, &mut probe.b1, &mut probe.w2, &mut probe.b2] {
        for x in v.iter_mut() {
            k += 1;
            *x = k;
        }
    }
    let bias: Vec<bool> = [
        dims.hidden * dims.input,
        dims.hidden,
        dims.classes * dims.hidden,
        dims.classes,
    ]
    .iter()
    .enumerate()
    .flat_map(|(i, &len)| std::iter::repeat_n(i % 2 == 1, len))
    .collect();
    let graph = trustml_onnx::load_onnx_bytes(&probe.to_onnx())
        .map_err(|e| TrainError::Setting(format!("the exported MLP: {e}")))?;
    let program = crate::program::lower(&graph, qp)
        .map_err(|e| TrainError::Setting(format!("lowering the exported MLP: {e}")))?;
    let at: HashMap<i64, usize> = probe
        .values()
        .into_iter()
        .enumerate()
        .map(|(i, v)| (v, i))
        .collect();
    let map: Option<WeightMap> = program
        .weights
        .iter()
        .map(|&p| {
            let i = if p % BIAS as i64 == 0 && p >= BIAS as i64 {
                *at.get(&(p >> 12))?
            } else {
                *at.get(&p)?
            };
            Some((i, bias[i]))
        })
        .collect();
    match map {
        // A bijection: every trained weight placed exactly once.
        Some(m)
            if m.len() == n
                && m.iter()
                    .map(|&(i, _)| i)
                    .collect::<std::collections::HashSet<_>>()
                    .len()
                    == n =>
        {
            Ok(m)
        }
        _ => Err(TrainError::Setting(
            "the lowered MLP does not hold each trained weight once: cannot link it".into(),
        )),
    }
}

/// `p = W_i`, times `2^12` for a bias.
fn p_of(i: usize, bias: bool, values: &[i64]) -> i128 {
    let v = i128::from(values[i]);
    if bias {
        v * BIAS
    } else {
        v
    }
}

/// The private inputs of a link.
#[derive(Clone, Debug)]
pub struct LinkWitness {
    /// `W_T`.
    pub weights: FixedMlp,
    /// The salt of `C_WT`.
    pub salt: Fr,
    /// The salt of `C_M`.
    pub model_salt: Fr,
}

impl LinkWitness {
    /// The witness, after checking that `model_weights` (the compiled model's) are `W`
    /// placed by `map`.
    pub fn new(
        weights: FixedMlp,
        salt: Fr,
        model_salt: Fr,
        map: &WeightMap,
        model_weights: &[i64],
    ) -> Result<Self, TrainError> {
        let vals = weights.values();
        let same = map.len() == model_weights.len()
            && map
                .iter()
                .zip(model_weights)
                .all(|(&(i, b), &m)| p_of(i, b, &vals) == i128::from(m));
        if !same {
            return Err(TrainError::Setting(
                "the model's weights are not this run's W_T: compile `trustml train export`'s \
                 ONNX with --scale 12 --weights-visibility hashed"
                    .into(),
            ));
        }
        Ok(Self {
            weights,
            salt,
            model_salt,
        })
    }

    /// `[C_WT, C_M]`.
    pub fn instances(&self, map: &WeightMap) -> Result<Vec<Fr>, TrainError> {
        let vals = self.weights.values();
        let p: Vec<Fr> = map.iter().map(|&(i, b)| fe(p_of(i, b, &vals))).collect();
        Ok(vec![
            self.weights.commitment(self.salt)?,
            trustml_poseidon::commit(&p, self.model_salt),
        ])
    }
}

/// The link circuit.
#[derive(Clone, Debug)]
pub struct LinkCircuit {
    /// `π` (part of the circuit: the copies depend on it).
    pub map: Arc<WeightMap>,
    /// The witness; `None` for key generation.
    pub witness: Option<Arc<LinkWitness>>,
}

/// Columns of the link circuit.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    arith: ArithConfig,
    bytes: BytesConfig,
    hash: DenseConfig,
    instance: Column<Instance>,
}

impl Circuit<Fr> for LinkCircuit {
    type Config = LinkConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        Self {
            map: self.map.clone(),
            witness: None,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> LinkConfig {
        let mut adv = || {
            let c = meta.advice_column();
            meta.enable_equality(c);
            c
        };
        let (a, b, c, byte, z) = (adv(), adv(), adv(), adv(), adv());
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        let arith = ArithChip::configure(meta, a, b, c);
        let bytes = BytesChip::configure(meta, byte, z);
        let hash = DenseChip::configure(meta, constants, 1);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        LinkConfig {
            arith,
            bytes,
            hash,
            instance,
        }
    }

    fn synthesize(&self, cfg: LinkConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let arith = ArithChip {
            config: cfg.arith.clone(),
        };
        let bytes = BytesChip { config: cfg.bytes };
        let w = self.witness.as_deref();
        let n = self.map.len();
        let vals: Option<Vec<i64>> = w.map(|w| w.weights.values());
        let v = |f: Option<i128>| f.map_or(Value::unknown(), |x| Value::known(fe(x)));
        layouter.assign_region(
            || "tables",
            |mut region| {
                bytes.assign_table(&mut region);
                Ok(())
            },
        )?;
        let (words, ps, salts) = layouter.assign_region(
            || "weights",
            |mut region| {
                let zero = region.assign_advice(cfg.arith.a, 0, Value::known(Fr::zero()));
                region.constrain_constant(zero.cell(), Fr::zero())?;
                let (mut arow, mut brow) = (1, 0);
                let mut us: Vec<ACell<'_>> = Vec::with_capacity(n);
                let mut ws: Vec<ACell<'_>> = Vec::with_capacity(n);
                for i in 0..n {
                    let uv = v(vals.as_ref().map(|vs| i128::from(vs[i]) + W_OFF));
                    let zs = bytes.decompose_from(&mut region, brow, uv, 3, Some(&zero))?;
                    brow += 4;
                    let u = zs[3].clone();
                    // w = u − 2^23 (b is a copy of a).
                    let [ca, cb, cw] = arith.assign_fr(
                        &mut region,
                        arow,
                        uv,
                        uv,
                        [Fr::zero(), Fr::one(), Fr::zero(), -fe(W_OFF)],
                    )?;
                    arow += 1;
                    region.constrain_equal(ca.cell(), u.cell());
                    region.constrain_equal(cb.cell(), u.cell());
                    us.push(u);
                    ws.push(cw);
                }
                let mut ps = Vec::with_capacity(n);
                for &(i, bias) in self.map.iter() {
                    if !bias {
                        ps.push(ws[i].clone());
                        continue;
                    }
                    let x = vals.as_ref().map(|vs| i128::from(vs[i]));
                    let [ca, cb, p] = arith.assign_fr(
                        &mut region,
                        arow,
                        v(x),
                        v(x),
                        [Fr::zero(), fe(BIAS), Fr::zero(), Fr::zero()],
                    )?;
                    arow += 1;
                    region.constrain_equal(ca.cell(), ws[i].cell());
                    region.constrain_equal(cb.cell(), ws[i].cell());
                    ps.push(p);
                }
                let words = pack::assign_packed(&arith, &mut region, arow, &us, &OFFSET_PACKING)?;
                arow += pack::rows(n);
                let salt =
                    |f: fn(&LinkWitness) -> Fr| w.map_or(Value::unknown(), |w| Value::known(f(w)));
                let s_t = region.assign_advice(cfg.arith.a, arow, salt(|w| w.salt));
                let s_m = region.assign_advice(cfg.arith.a, arow + 1, salt(|w| w.model_salt));
                Ok((words, ps, [s_t, s_m]))
            },
        )?;
        let chip = DenseChip::new(cfg.hash);
        let [s_t, s_m] = salts;
        let mut a = words;
        a.push(s_t);
        let c_t = chip.hash(&mut layouter, 0, &a)?;
        let mut b = ps;
        b.push(s_m);
        let c_m = chip.hash(&mut layouter, 0, &b)?;
        layouter.constrain_instance(c_t.cell(), cfg.instance, 0);
        layouter.constrain_instance(c_m.cell(), cfg.instance, 1);
        chip.finish(&mut layouter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{Digits, Hyper};
    use trustml_kit::mock::{assert_rejected_by, check};

    fn trained() -> FixedMlp {
        let data = Digits::train().unwrap();
        let dims = MlpDims {
            hidden: 4,
            ..MlpDims::DIGITS
        };
        let mut w = FixedMlp::init(dims, 3);
        let h = Hyper::new(0.1, 8).unwrap();
        for t in 0..5 {
            let (xs, ys) = data.batch(t, 8);
            w.step(&xs, &ys, h);
        }
        w
    }

    #[test]
    fn a_run_and_its_compiled_model_are_linked_and_other_weights_are_not() {
        let w = trained();
        let qp = QuantParams {
            scale_bits: 12,
            lookup_bits: 14,
        };
        let map = weight_map(w.dims, qp).unwrap();
        // The model's own weights, as compiling the export gives them.
        let g = trustml_onnx::load_onnx_bytes(&w.to_onnx()).unwrap();
        let model = crate::program::lower(&g, qp).unwrap().weights;
        let wit = LinkWitness::new(w.clone(), Fr::from(5), Fr::from(6), &map, &model).unwrap();
        let inst = wit.instances(&map).unwrap();
        assert_eq!(inst[0], w.commitment(Fr::from(5)).unwrap());
        let c = LinkCircuit {
            map: Arc::new(map.clone()),
            witness: Some(Arc::new(wit.clone())),
        };
        let k = trustml_kit::rows::min_k(&c, 10).unwrap();
        assert_eq!(check(k, &c, vec![inst.clone()]), Ok(()));
        // Another model's commitment, or another run's: refused.
        for row in 0..2 {
            let mut bad = inst.clone();
            bad[row] += Fr::one();
            assert_rejected_by(k, &c, vec![bad], "permutation");
        }
        // Two weights placed the other way round: the model's commitment no longer opens.
        let mut swapped = map.clone();
        swapped.swap(0, 1);
        assert_ne!(w.values()[map[0].0], w.values()[map[1].0]);
        let c2 = LinkCircuit {
            map: Arc::new(swapped),
            witness: Some(Arc::new(wit)),
        };
        assert_rejected_by(k, &c2, vec![inst], "permutation");
        // A model whose weights differ from W_T is refused before proving.
        let mut other = model.clone();
        other[3] += 1;
        assert!(LinkWitness::new(w, Fr::from(5), Fr::from(6), &map, &other).is_err());
    }
}

/// The `kind` of a link directory's header.
pub const KIND: &str = "train-link";
/// Version of `link.json`.
pub const FORMAT_VERSION: u32 = 1;

/// What a link circuit's keys depend on (`DIR/link/link.json`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LinkSettings {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The MLP's sizes.
    pub dims: MlpDims,
    /// `π`.
    pub map: WeightMap,
    /// Log2 of the rows.
    pub k: u32,
}

impl LinkSettings {
    /// The link circuit's header (public inputs `[C_WT, C_M]`).
    pub fn header(&self) -> trustml_kit::ArtifactHeader {
        use sha3::{Digest, Keccak256};
        let pinned = serde_json::json!({
            "kind": KIND,
            "format_version": self.format_version,
            "dims": self.dims,
            "map": self.map,
            "k": self.k,
        });
        let digest: [u8; 32] = Keccak256::digest(pinned.to_string().as_bytes()).into();
        trustml_kit::ArtifactHeader::new(KIND, FORMAT_VERSION, digest, self.k, 2)
    }
}
