//! The step circuit under MockProver: an honest step, its `W'` equal to the native step's,
//! and each way of cheating — a tampered public input, another or reordered batch, and
//! forged witnesses that keep every other constraint (the layout recomputes everything
//! after the forged value from it).

use super::*;
use crate::train::{Digits, FixedMlp, MlpDims};
use trustml_kit::mock::{assert_rejected_by, check};

/// A small MLP (64 → 4 → 10), `2^beta` samples a step, the first `n` training digits.
fn fixture(beta: u32, n: usize, step: u64) -> (StepShape, StepWitness) {
    let all = Digits::train().unwrap();
    let set = Digits {
        pixels: all.pixels[..n].to_vec(),
        labels: all.labels[..n].to_vec(),
    };
    let salts: Vec<Fr> = (0..n as u64).map(|i| Fr::from(1000 + i)).collect();
    let committed = CommittedSet::new(&set, salts).unwrap();
    let dims = MlpDims {
        hidden: 4,
        ..MlpDims::DIGITS
    };
    let shape = StepShape {
        dims,
        log_batch: beta,
        depth: committed.tree.depth() as usize,
        lanes: Lanes::default(),
    };
    let h = Hyper {
        lr: 26,
        log_batch: beta,
    };
    let w = StepWitness::new(
        &set,
        &committed,
        FixedMlp::init(dims, 7),
        [Fr::from(11), Fr::from(12)],
        step,
        h,
    );
    (shape, w)
}

fn circuit(shape: &StepShape, w: &StepWitness) -> StepCircuit {
    StepCircuit::new(shape.clone(), Some(w.clone()))
}

fn k_of(c: &StepCircuit) -> u32 {
    c.min_k().unwrap()
}

#[test]
fn an_honest_step_is_accepted_and_its_weights_are_the_native_steps() {
    // Step 6 of 10 samples at batch 2: positions 2, 3 (in order); step 5 wraps 10 → 0.
    for (beta, step) in [(1, 6), (2, 2)] {
        let (shape, w) = fixture(beta, 10, step);
        let c = circuit(&shape, &w);
        let k = k_of(&c);
        let inst = w.instances().unwrap();
        assert_eq!(check(k, &c, vec![inst]), Ok(()));
        // The witness the circuit laid out is the native step, bit for bit.
        assert_eq!(
            c.laid_next.lock().unwrap().clone().unwrap(),
            w.next_weights().values()
        );
        assert_ne!(w.next_weights().values(), w.weights.values());
    }
    // A wide layout (two Poseidon chips and their samplers on two arithmetic lanes).
    let (mut shape, w) = fixture(2, 10, 1);
    shape.lanes = Lanes {
        dot: 8,
        arith: 2,
        bytes: 3,
        hash: 2,
    };
    let c = circuit(&shape, &w);
    assert_eq!(check(k_of(&c), &c, vec![w.instances().unwrap()]), Ok(()));
}

#[test]
fn tampered_public_inputs_are_rejected() {
    let (shape, w) = fixture(1, 10, 3);
    let c = circuit(&shape, &w);
    let k = k_of(&c);
    let honest = w.instances().unwrap();
    // C_W, C_W', R_D, N, t (a skipped step), c (another learning rate).
    for row in 0..6 {
        let mut inst = honest.clone();
        inst[row] += Fr::one();
        assert_rejected_by(k, &c, vec![inst], "permutation");
    }
    // Another learning rate, with the C_W' it would give: still refused.
    let mut other = w.clone();
    other.lr = 27;
    let inst = other.instances().unwrap();
    assert_ne!(inst[1], honest[1]);
    assert_rejected_by(k, &c, vec![inst], "permutation");
}

#[test]
fn another_batch_or_a_reordered_batch_is_rejected() {
    let (shape, w) = fixture(1, 10, 3);
    let k = k_of(&circuit(&shape, &w));
    // Step 3's statement, proven on step 4's batch (honest paths for those samples).
    let (_, w4) = fixture(1, 10, 4);
    let mut other = w4.clone();
    other.step = 3;
    let inst = other.instances().unwrap();
    assert_rejected_by(k, &circuit(&shape, &other), vec![inst], "permutation");
    // The same two samples, swapped.
    let mut swapped = w.clone();
    swapped.xs.swap(0, 1);
    swapped.ys.swap(0, 1);
    swapped.sample_salts.swap(0, 1);
    swapped.paths.swap(0, 1);
    let inst = swapped.instances().unwrap();
    assert_rejected_by(k, &circuit(&shape, &swapped), vec![inst], "permutation");
}

/// A forged value at `site`, with the public inputs of the forged run (its own `W'`), so
/// that only the constraint guarding the value can refuse it.
fn forged(
    site: &'static str,
    at: usize,
    delta: i128,
) -> Result<(), std::collections::BTreeSet<trustml_kit::mock::Failure>> {
    let (shape, w) = fixture(1, 10, 3);
    let mut c = circuit(&shape, &w);
    c.tamper = Some(Tamper { site, at, delta });
    let k = k_of(&c);
    // A first run lays out the forged W'; commit it as the forged run's C_W'.
    let mut inst = w.instances().unwrap();
    let _ = check(k, &c, vec![inst.clone()]);
    let next = c.laid_next.lock().unwrap().clone().unwrap();
    let v: Vec<i128> = next.iter().map(|&x| i128::from(x)).collect();
    inst[1] = crate::train::commit::WEIGHT_PACKING
        .commit(&v, w.next_salt)
        .unwrap();
    check(k, &c, vec![inst])
}

fn only(r: Result<(), std::collections::BTreeSet<trustml_kit::mock::Failure>>, name: &str) {
    let fs = r.expect_err("a forged witness was accepted");
    assert!(
        fs.iter().all(|f| f.is(name)),
        "expected only '{name}' to fail, got: {}",
        fs.iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[test]
fn a_wrong_exponential_fails_only_the_exp_table() {
    // The EXP table shares byte lane 0's lookup.
    only(forged("exp", 3, 1), "byte range");
}

#[test]
fn a_wrong_rounding_fails_only_its_row() {
    only(forged("rs", 5, 1), "arith");
}

#[test]
fn a_wrong_gradient_fails_only_the_dot_gate() {
    // A weight gradient (GW1 and GW2 sums) changed by 4096: the update that follows is
    // computed from it (a different W'), so only the gradient's own row refuses it.
    for at in [0, 200, 260] {
        only(forged("grad", at, 4096), "dot");
    }
}

#[test]
fn a_max_that_is_no_logit_fails_only_the_product() {
    // m + 1: every gap ≥ 1, so the product of the gaps is not 0 (a copy to the constant 0).
    only(forged("max", 0, 1), "permutation");
}

#[test]
fn a_wrong_relu_or_probability_fails_a_range() {
    // σ flipped (+1 turns 0 into 1 and 1 into 2, read as 0): (2σ−1)·z1 − σ < 0.
    for at in 0..4 {
        assert!(forged("relu", at, 1).is_err());
    }
    // p + 1: the remainder 512e + S − 2S·p goes negative.
    assert!(forged("p", 2, 1).is_err());
    assert!(forged("p", 2, -1).is_err());
}
