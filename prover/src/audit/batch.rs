//! One audit batch off chain: its program, its samples and its witness.

use super::circuit::{AuditCircuit, AuditShape, AuditWitness};
use super::dataset::{LabelledData, Tree};
use super::program::{audit_program, AuditProgram};
use super::{sample_index, AuditError};
use crate::circuit::Visibility;
use crate::model::CompiledModel;
use halo2_proofs::halo2curves::bn256::Fr;
use std::sync::Arc;

/// The audit program and circuit shape of `model` for batches of `batch` samples from a
/// tree of depth `depth`. The model must be compiled with `--weights-visibility hashed`
/// (its `C_W` is the audited commitment).
pub fn audit_setup(
    model: &CompiledModel,
    batch: usize,
    depth: usize,
) -> Result<(AuditProgram, AuditShape), AuditError> {
    let s = &model.settings.shape;
    if s.vis.weights != Visibility::Hashed {
        return Err(AuditError::Param(format!(
            "{} has {} weights; an audit proves the commitment C_W of hashed weights",
            model.dir.display(),
            s.vis.weights
        )));
    }
    let ap = audit_program(&model.program, batch).map_err(AuditError::Param)?;
    let mut shape = s.clone();
    shape.vis.input = Visibility::Private;
    shape.vis.output = Visibility::Private;
    shape.arith = true;
    shape.listing = false;
    shape.act_dot = ap.program.has_activation_products();
    Ok((
        ap,
        AuditShape {
            model: shape,
            batch,
            depth,
        },
    ))
}

/// The witness of the batch starting at ordinal `j0` for `seed`: the samples the seed
/// selects, run through the audit program.
#[allow(clippy::too_many_arguments)]
pub fn batch_circuit(
    model: &CompiledModel,
    ap: Arc<AuditProgram>,
    shape: AuditShape,
    data: &LabelledData,
    tree: &Tree,
    salts: &[Fr],
    weights_salt: Fr,
    seed: Fr,
    j0: u64,
) -> Result<AuditCircuit, AuditError> {
    let n = data.inputs.len() as u64;
    let mut inputs = vec![];
    let mut labels = vec![];
    let mut samples = vec![];
    for t in 0..ap.batch as u64 {
        let idx = sample_index(seed, j0 + t, n) as usize;
        inputs.push(
            model
                .program
                .quantize_inputs(std::slice::from_ref(&data.inputs[idx]))
                .remove(0),
        );
        labels.push(data.labels[idx] as i64);
        samples.push((salts[idx], tree.path(idx as u64)));
    }
    inputs.push(labels);
    let wires = ap
        .program
        .eval(&inputs)
        .map_err(|e| AuditError::Param(format!("evaluating the batch: {e}")))?;
    Ok(AuditCircuit {
        shape,
        program: ap,
        witness: Some(Arc::new(AuditWitness {
            wires,
            weights_salt,
            samples,
            root: tree.root(),
            size: n,
            seed,
            j0,
        })),
    })
}
