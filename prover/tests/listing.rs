//! The listing statement (`compile --listing`): `H = Poseidon(output ‖ 0)` with the salt the
//! constant 0 *in the circuit*, and the seller a public input copied into the circuit.
//! Each test forges a witness that satisfies every other constraint.

use halo2_proofs::halo2curves::bn256::Fr;
use std::path::{Path, PathBuf};
use trustml::circuit::{Salts, Visibilities};
use trustml::data::read_samples;
use trustml::model::{CompileOptions, CompiledModel};
use trustml_kit::cells::{check_forged, Forge};
use trustml_kit::mock::{check, Failure};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("onnx/tests/data")
        .join(name)
}

fn listing_model(dir: &Path) -> (CompiledModel, trustml::circuit::ModelCircuit) {
    let json = data("gemm.json");
    let samples = read_samples(&json).unwrap();
    let opts = CompileOptions {
        vis: Visibilities::LISTING,
        listing: true,
        ..Default::default()
    };
    let m = CompiledModel::compile(&data("gemm.onnx"), &samples, &opts, dir).unwrap();
    let salts = Salts {
        input: Fr::from(77),
        ..Default::default()
    };
    let mut w = m.witness(&samples[0], &json, salts).unwrap();
    w.seller = Fr::from(0x1234_5678u64);
    let c = m.circuit(Some(w));
    (m, c)
}

fn outputs(m: &CompiledModel, c: &trustml::circuit::ModelCircuit) -> Vec<Fr> {
    let w = c.witness.as_ref().unwrap();
    m.program
        .outputs
        .iter()
        .flat_map(|(_, ws)| ws.iter().map(|&x| trustml::chips::fe(w.wires[x as usize])))
        .collect()
}

#[test]
fn listing_instances_are_commitment_output_hash_and_seller() {
    let dir = tempfile::tempdir().unwrap();
    let (m, c) = listing_model(dir.path());
    let inst = c.instances().unwrap();
    assert_eq!(m.settings.num_instances, 3);
    assert_eq!(inst.len(), 3);
    assert_eq!(
        inst[1],
        trustml_poseidon::commit(&outputs(&m, &c), Fr::zero())
    );
    assert_eq!(inst[2], Fr::from(0x1234_5678u64));
    assert_eq!(check(m.settings.k, &c, vec![inst]), Ok(()));
}

#[test]
fn output_salt_is_zero_in_the_circuit() {
    let dir = tempfile::tempdir().unwrap();
    let (m, c) = listing_model(dir.path());
    // The output salt cell (grid column 2 of the salts row, row 2) forged to 5; Poseidon
    // hashes what the cell holds, so H' = Poseidon(output ‖ 5) is what the prover claims.
    let mut inst = c.instances().unwrap();
    inst[1] = trustml_poseidon::commit(&outputs(&m, &c), Fr::from(5));
    let forge = Forge {
        column: 2,
        row: 2,
        value: Fr::from(5),
        propagate: true,
    };
    let fails = check_forged(m.settings.k, &c, vec![inst], forge).unwrap_err();
    // Only the copy from the zero wire refuses it.
    assert_eq!(
        fails.into_iter().collect::<Vec<_>>(),
        vec![Failure::Permutation]
    );
}

#[test]
fn a_listing_proof_holds_for_its_seller_only() {
    let dir = tempfile::tempdir().unwrap();
    let (m, c) = listing_model(dir.path());
    let mut inst = c.instances().unwrap();
    inst[2] = Fr::from(0x9999u64);
    let fails = check(m.settings.k, &c, vec![inst]).unwrap_err();
    assert_eq!(
        fails.into_iter().collect::<Vec<_>>(),
        vec![Failure::Permutation]
    );
}

#[test]
fn listing_needs_its_visibilities() {
    let dir = tempfile::tempdir().unwrap();
    let json = data("gemm.json");
    let samples = read_samples(&json).unwrap();
    let opts = CompileOptions {
        listing: true,
        ..Default::default()
    };
    let e = CompiledModel::compile(&data("gemm.onnx"), &samples, &opts, dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("input hashed, weights fixed and output hashed"),
        "{e}"
    );
}
