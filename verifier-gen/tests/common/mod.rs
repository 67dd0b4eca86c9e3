//! Shared fixtures: model directories built with the `trustml` library (compile, insecure
//! dev SRS, setup, prove) and their generated + compiled verifiers.
#![allow(dead_code)]

use halo2_proofs::halo2curves::bn256::Fr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use trustml::data::{read_input, read_samples};
use trustml::model::{CompileOptions, CompiledModel};
use trustml::proof;
use verifier_gen::{CompiledContract, GeneratedVerifier};

pub struct Fixture {
    pub name: &'static str,
    pub dir: PathBuf,
    pub instances: Vec<Fr>,
    pub proof: Vec<u8>,
    pub gen: GeneratedVerifier,
    pub verifier: CompiledContract,
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn tmp_root() -> &'static tempfile::TempDir {
    static T: OnceLock<tempfile::TempDir> = OnceLock::new();
    T.get_or_init(|| tempfile::tempdir().unwrap())
}

fn build(name: &'static str, onnx: &str, input: &str, seed: u64) -> Fixture {
    let root = repo_root();
    let fx = root.join("prover/fixtures");
    let dir = tmp_root().path().join(name);
    let samples = read_samples(&fx.join("digits_calibration.json")).unwrap();
    let m =
        CompiledModel::compile(&fx.join(onnx), &samples, &CompileOptions::default(), &dir).unwrap();
    let srs = trustml_srs::generate_insecure(m.settings.k, Some(seed));
    let keys = proof::setup(&m, &srs, |_| {}).unwrap();
    let input_path = fx.join(input);
    let data = read_input(&input_path).unwrap();
    let pf = proof::prove(
        &m,
        &keys,
        &data,
        &input_path,
        trustml::model::random_salts(),
    )
    .unwrap();
    let instances = pf.instances_fr(Path::new("proof")).unwrap();
    let proof_bytes = pf.proof_bytes(Path::new("proof")).unwrap();
    assert!(
        proof::verify_raw(&keys.params, &keys.vk, &instances, &proof_bytes),
        "{name}: native verification"
    );
    let gen = verifier_gen::gen_verifier(&keys.params, &keys.vk, m.settings.num_instances);
    let verifier = verifier_gen::compile_verifier(&gen).unwrap_or_else(|e| panic!("{name}: {e}"));
    verifier_gen::write_artifacts(&dir, &gen, Some(&verifier)).unwrap();
    Fixture {
        name,
        dir,
        instances,
        proof: proof_bytes,
        gen,
        verifier,
    }
}

pub fn mlp() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build("mlp", "digits_mlp.onnx", "digits_mlp.input.json", 11))
}

pub fn cnn() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| build("cnn", "digits_cnn.onnx", "digits_cnn.input.json", 12))
}

/// BN254 scalar modulus r as 32 big-endian bytes.
pub fn modulus_be() -> [u8; 32] {
    let r =
        hex::decode("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001").unwrap();
    r.try_into().unwrap()
}

/// `a + b` on 256-bit big-endian words (no overflow expected here).
pub fn add_be(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0);
    out
}

/// Raw-verifier calldata with instance words given directly (for non-canonical words).
pub fn raw_calldata_words(words: &[[u8; 32]], proof: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = words.iter().flatten().copied().collect();
    v.extend_from_slice(proof);
    v
}

pub fn words(instances: &[Fr]) -> Vec<[u8; 32]> {
    instances
        .iter()
        .map(trustml::kit::field::to_be_bytes)
        .collect()
}

pub fn tampered(proof: &[u8]) -> Vec<u8> {
    let mut p = proof.to_vec();
    // Flip a bit in an evaluation near the end (points could fail the curve check earlier;
    // both must be rejected, this exercises the pairing path).
    let i = p.len() - 40;
    p[i] ^= 1;
    p
}

pub fn changed_input(instances: &[Fr]) -> Vec<Fr> {
    let mut v = instances.to_vec();
    v[0] += Fr::one();
    v
}
