//! The audit circuit with MockProver: a batch of samples the seed selects, their leaves in
//! the committed tree, the committed model's argmax against the labels, the count.

use halo2_proofs::halo2curves::bn256::Fr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trustml::audit::batch::{audit_setup, batch_circuit};
use trustml::audit::circuit::AuditCircuit;
use trustml::audit::dataset::{commit, LabelledData};
use trustml::audit::sample_index;
use trustml::circuit::{Visibilities, Visibility};
use trustml::data::read_samples;
use trustml::model::{CompileOptions, CompiledModel};
use trustml_kit::mock::check;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("onnx/tests/data")
        .join(name)
}

/// The gemm op model (5 inputs → 2 logits) with hashed weights, and a dataset of 24
/// samples around its calibration input, labelled by a fixed rule (so some are wrong).
fn setup(dir: &Path) -> (CompiledModel, LabelledData) {
    let json = data("gemm.json");
    let samples = read_samples(&json).unwrap();
    let opts = CompileOptions {
        vis: Visibilities {
            input: Visibility::Private,
            weights: Visibility::Hashed,
            output: Visibility::Public,
        },
        ..Default::default()
    };
    let m = CompiledModel::compile(&data("gemm.onnx"), &samples, &opts, dir).unwrap();
    let base = &samples[0].input_data[0];
    let inputs: Vec<Vec<f32>> = (0..24)
        .map(|i| {
            base.iter()
                .enumerate()
                .map(|(k, &v)| v * (1.0 - 0.07 * ((i * 3 + k) % 7) as f32))
                .collect()
        })
        .collect();
    let labels = (0..24).map(|i| (i % 3 == 0) as u64).collect();
    (m, LabelledData { inputs, labels })
}

/// The count the batch should prove, from the model program alone (argmax, lowest index
/// on ties).
fn expected(m: &CompiledModel, d: &LabelledData, seed: Fr, j0: u64, b: u64) -> i128 {
    let n = d.inputs.len() as u64;
    (j0..j0 + b)
        .map(|j| {
            let idx = sample_index(seed, j, n) as usize;
            let q = m
                .program
                .quantize_inputs(std::slice::from_ref(&d.inputs[idx]));
            let w = m.program.eval(&q).unwrap();
            let o: Vec<i128> = m.program.outputs[0]
                .1
                .iter()
                .map(|&x| w[x as usize])
                .collect();
            let arg = (0..o.len()).fold(0, |best, k| if o[k] > o[best] { k } else { best });
            i128::from(arg as u64 == d.labels[idx])
        })
        .sum()
}

fn batch(seed: u64, j0: u64, b: usize) -> (AuditCircuit, i128) {
    let dir = tempfile::tempdir().unwrap();
    let (m, d) = setup(dir.path());
    let salts: Vec<Fr> = (0..d.inputs.len() as u64)
        .map(|i| Fr::from(500 + i))
        .collect();
    let (commitment, tree) = commit(&m, &d, &salts).unwrap();
    let (ap, shape) = audit_setup(&m, b, commitment.depth as usize).unwrap();
    let seed = Fr::from(seed);
    let c = batch_circuit(
        &m,
        Arc::new(ap),
        shape,
        &d,
        &tree,
        &salts,
        Fr::from(77),
        seed,
        j0,
    )
    .unwrap();
    (c, expected(&m, &d, seed, j0, b as u64))
}

#[test]
fn a_batch_proves_the_count_of_the_sampled_samples() {
    let (c, want) = batch(42, 6, 3);
    let inst = c.instances().unwrap();
    assert_eq!(inst[5], Fr::from(want as u64), "count");
    assert_eq!(inst[4], Fr::from(6u64));
    let k = c.min_k();
    eprintln!("audit batch of 3: k = {k}, count {want}/3");
    assert_eq!(check(k, &c, vec![inst]), Ok(()));
}

#[test]
fn wrong_count_seed_root_or_batch_is_refused() {
    let (c, want) = batch(42, 6, 3);
    let inst = c.instances().unwrap();
    let k = c.min_k();
    for (i, what) in [
        (5, "count"),
        (1, "R_D"),
        (2, "N"),
        (3, "seed"),
        (4, "j0"),
        (0, "C_W"),
    ] {
        let mut bad = inst.clone();
        bad[i] += Fr::one();
        assert!(check(k, &c, vec![bad]).is_err(), "another {what} accepted");
    }
    let _ = want;
}

#[test]
fn no_free_cells() {
    let (c, _) = batch(7, 0, 2);
    let inst = c.instances().unwrap();
    let r = trustml_kit::cells::free_cells(c.min_k(), &c, vec![inst], 12);
    eprintln!(
        "audit batch of 2: {} cells checked, {} free, {} dead",
        r.checked,
        r.free.len(),
        r.dead.len()
    );
    for f in r.free.iter().chain(&r.dead).take(20) {
        eprintln!("  {f}");
    }
    assert!(r.free.is_empty() && r.dead.is_empty());
}

/// The batch the prover would rather prove: the same ordinals' samples under another seed
/// (or another batch's ordinals), claimed for this seed and j0.
#[test]
fn samples_the_prover_prefers_are_refused() {
    let (honest, _) = batch(42, 6, 3);
    let inst = honest.instances().unwrap();
    let k = honest.min_k();
    for (seed, j0) in [(43, 6), (42, 9)] {
        let (other, _) = batch(seed, j0, 3);
        let mut claimed = other.instances().unwrap();
        claimed[3] = inst[3];
        claimed[4] = inst[4];
        assert!(
            check(k, &other, vec![claimed]).is_err(),
            "seed {seed} j0 {j0}"
        );
    }
}

/// An audit directory end to end with real keys: setup, a batch proof, `verify` through the
/// generic circuit directory (as `trustml verify` does), a tampered count refused.
#[test]
fn audit_directory_proves_and_verifies_a_batch() {
    use trustml::artifact::CircuitDir;
    use trustml::audit::dir::AuditDir;
    let tmp = tempfile::tempdir().unwrap();
    let (m, d) = setup(&tmp.path().join("model"));
    let salts: Vec<Fr> = (0..d.inputs.len() as u64)
        .map(|i| Fr::from(900 + i))
        .collect();
    let (commitment, tree) = commit(&m, &d, &salts).unwrap();
    let dir = tmp.path().join("audit");
    let a = AuditDir::create(&dir, m, &d, 2, commitment.depth as usize).unwrap();
    let srs = trustml_srs::generate_insecure(a.settings.k, Some(3));
    let keys = a.setup(&srs, |_| {}).unwrap();
    let seed = Fr::from(0x5eed_u64);
    let pf = a
        .prove_batch(&keys, &d, &tree, &salts, Fr::from(77), seed, 1)
        .unwrap();
    assert_eq!(pf.instances.len(), 6);
    let cd = CircuitDir::open(&dir).unwrap();
    let keys = cd.keys(false).unwrap();
    let p = Path::new("batch-1.json");
    assert!(cd.verify(&keys, &pf, p).unwrap().is_some());
    let mut bad = pf.clone();
    let count = trustml_kit::field::from_hex(&bad.instances[5]).unwrap();
    bad.instances[5] = trustml_kit::field::to_hex(&(count + Fr::one()));
    assert!(
        cd.verify(&keys, &bad, p).unwrap().is_none(),
        "a tampered count verified"
    );
    eprintln!(
        "audit k = {}, proof {} bytes",
        a.settings.k,
        pf.proof_bytes(p).unwrap().len()
    );
}
