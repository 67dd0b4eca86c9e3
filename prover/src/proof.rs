//! Keys and proofs of compiled models: the model's side of [`trustml_kit::keys`].

use crate::circuit::{InstanceLayout, ModelCircuit, Salts, Visibility, Witness};
use crate::data::InputData;
use crate::model::{CompiledModel, ModelError};
use std::path::Path;
use thiserror::Error;
use trustml_kit::{field, keys, KitError, ProofFile};
use trustml_srs::Srs;

pub use trustml_kit::keys::{verify_raw, Keys};

/// Errors of setup, proving and verification of a model.
#[derive(Debug, Error)]
pub enum ProofError {
    /// The model directory or the witness.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Keys, SRS and proof files.
    #[error(transparent)]
    Kit(#[from] KitError),
    /// The readable `outputs` of a proof file say something the proof does not.
    #[error("the readable outputs in the proof file do not match what the proof fixes ({0}); the file was edited or made for another model")]
    OutputsMismatch(String),
}

/// What the readable `outputs` of a valid proof file are worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputsStatus {
    /// Public outputs: the proof fixes exactly these values.
    Proven,
    /// A hashed output whose commitment opens with salt 0 to these values (a listing's
    /// published preview).
    HashOpened,
    /// Private, or hashed with a secret salt: the values are the prover's word only.
    NotCovered,
}

/// Checks the readable `outputs` of `pf` against its public inputs: with public outputs they
/// must be the output instances (field elements, and the floats dequantized from them); with a
/// hashed output they are checked when they open the commitment with salt 0.
pub fn check_outputs(model: &CompiledModel, pf: &ProofFile) -> Result<OutputsStatus, ProofError> {
    let bad = |m: String| ProofError::OutputsMismatch(m);
    let n_out: usize = model.program.outputs.iter().map(|(_, w)| w.len()).sum();
    let shapes: Vec<&[usize]> = model
        .settings
        .outputs
        .iter()
        .map(|t| t.shape.as_slice())
        .collect();
    let mut fields = vec![];
    for (i, o) in pf.outputs.iter().enumerate() {
        if o.field.len() != o.values.len() || Some(&o.shape.as_slice()) != shapes.get(i) {
            return Err(bad(format!("output {i} has the wrong shape or length")));
        }
        for (f, &v) in o.field.iter().zip(&o.values) {
            let fr = field::parse(f).ok_or_else(|| bad(format!("{f} is not a field element")))?;
            let q = field::to_signed(&fr, 126)
                .ok_or_else(|| bad(format!("{f} is not a fixed-point integer")))?;
            if q as f64 / model.program.qp.scale() != v {
                return Err(bad(format!("{v} is not the value of {f}")));
            }
            fields.push(fr);
        }
    }
    let vis = model.settings.shape.vis.output;
    let layout = InstanceLayout::new(&model.program, &model.settings.shape);
    if !pf.outputs.is_empty() && fields.len() != n_out {
        return Err(bad(format!(
            "{} output values, the model has {n_out}",
            fields.len()
        )));
    }
    let instances = pf
        .instances
        .iter()
        .map(|h| field::from_hex(h))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("a public input is not a field element".into()))?;
    match vis {
        Visibility::Public => {
            let proven = instances.get(layout.output.clone());
            if pf.outputs.is_empty() || proven != Some(fields.as_slice()) {
                return Err(bad(
                    "the output values differ from the public outputs".into()
                ));
            }
            Ok(OutputsStatus::Proven)
        }
        Visibility::Hashed if !fields.is_empty() => {
            let h = instances.get(layout.output.start).copied();
            if h == Some(trustml_poseidon::commit(&fields, field::Fr::zero())) {
                Ok(OutputsStatus::HashOpened)
            } else {
                Ok(OutputsStatus::NotCovered)
            }
        }
        _ => Ok(OutputsStatus::NotCovered),
    }
}

/// Runs key generation for `model` with `srs`, writing `srs.bin`, `vk.bin`, `pk.bin` and
/// `circuit.json`; `step` names each phase.
pub fn setup(model: &CompiledModel, srs: &Srs, step: impl FnMut(&str)) -> Result<Keys, ProofError> {
    let circuit = model.circuit(None);
    Ok(keys::setup(
        &model.dir,
        &model.header(),
        srs,
        &circuit,
        step,
    )?)
}

/// Loads the parameters and verifying key (and the proving key when `with_pk`).
pub fn load_keys(model: &CompiledModel, with_pk: bool) -> Result<Keys, ProofError> {
    Ok(keys::load::<ModelCircuit>(
        &model.dir,
        &model.header(),
        model.settings.shape.clone(),
        with_pk,
    )?)
}

/// Proves one input; returns the proof file (not yet written).
pub fn prove(
    model: &CompiledModel,
    keys: &Keys,
    input: &InputData,
    input_path: &Path,
    salts: Salts,
) -> Result<ProofFile, ProofError> {
    prove_witness(model, keys, model.witness(input, input_path, salts)?)
}

/// Proves an already computed witness of `model`.
pub fn prove_witness(
    model: &CompiledModel,
    keys: &Keys,
    witness: Witness,
) -> Result<ProofFile, ProofError> {
    let outputs = model.outputs(&witness);
    let circuit = model.circuit(Some(witness));
    let instances = circuit.instances().expect("witness is present");
    let proof = keys::prove(keys, circuit, &instances)?;
    Ok(ProofFile::new(
        &model.header(),
        &instances,
        &proof,
        outputs,
        keys.insecure_srs,
    ))
}

/// Verifies a proof file against a compiled model's keys; a valid proof whose readable
/// outputs contradict it is an error ([`check_outputs`]).
pub fn verify(
    model: &CompiledModel,
    keys: &Keys,
    pf: &ProofFile,
    path: &Path,
) -> Result<bool, ProofError> {
    let valid = pf.verify(&model.header(), keys, path)?;
    if valid {
        check_outputs(model, pf)?;
    }
    Ok(valid)
}
