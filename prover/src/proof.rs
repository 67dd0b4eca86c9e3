//! Keys and proofs of compiled models: the model's side of [`trustml_kit::keys`].

use crate::circuit::{ModelCircuit, Salts, Witness};
use crate::data::InputData;
use crate::model::{CompiledModel, ModelError};
use std::path::Path;
use thiserror::Error;
use trustml_kit::{keys, KitError, ProofFile};
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

/// Verifies a proof file against a compiled model's keys.
pub fn verify(
    model: &CompiledModel,
    keys: &Keys,
    pf: &ProofFile,
    path: &Path,
) -> Result<bool, ProofError> {
    Ok(pf.verify(&model.header(), keys, path)?)
}
