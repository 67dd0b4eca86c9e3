use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::chip::{
    rows_per_hash, PoseidonChip, PoseidonConfig, NUM_ADVICE_COLUMNS, NUM_FIXED_COLUMNS,
    NUM_SELECTORS, ROWS_PER_PERMUTATION,
};
use crate::native::{commit, hash, pad, params, permute, random_salt, RATE, WIDTH};
use crate::Fr;
use trustml_kit::field::{from_hex, to_hex as fr_to_hex};

fn fr_from_hex(s: &str) -> Fr {
    from_hex(s).unwrap()
}

fn frs(xs: &[u64]) -> Vec<Fr> {
    xs.iter().map(|&x| Fr::from(x)).collect()
}

fn perm(s: [u64; 3]) -> [Fr; 3] {
    let mut st = s.map(Fr::from);
    permute(&mut st);
    st
}

// ---------------------------------------------------------------- native

/// circomlib / circomlibjs `poseidon2` test vectors (`poseidon([a, b]) = permute([0, a, b])[0]`).
#[test]
fn circomlib_vectors() {
    assert_eq!(
        fr_to_hex(&perm([0, 1, 2])[0]),
        "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
    );
    assert_eq!(
        fr_to_hex(&perm([0, 3, 4])[0]),
        "0x20a3af0435914ccd84b806164531b0cd36e37d4efb93efab76913a93e1f30996"
    );
    // poseidon([0, 0]): the level-1 zero value of circomlib-Poseidon incremental Merkle trees.
    assert_eq!(
        fr_to_hex(&perm([0, 0, 0])[0]),
        "0x2098f5fb9e239eab3ceac3f27b81e481dc3124d55ffed523a839ee8446b64864"
    );
}

/// The hardcoded constants agree with halo2-base's (runtime Grain LFSR generated) spec.
#[test]
fn constants_match_halo2_base_spec() {
    use halo2_base::poseidon::hasher::spec::OptimizedPoseidonSpec;
    let spec = OptimizedPoseidonSpec::<Fr, 3, 2>::new::<8, 57, 0>();
    let p = params();
    let mds: &[[Fr; 3]; 3] = spec.mds_matrices().mds().as_ref();
    assert_eq!(mds, &p.mds);
    assert_eq!(spec.constants().start()[0], p.round_constants[0]);
    assert_eq!(
        p.round_constants[0][0],
        fr_from_hex("0x0ee9a592ba9a9518d05986d656f40c2114c4993c11bb29938d21d47304cd8e6e")
    );
}

/// Independent oracle for the whole permutation: halo2-base's `PoseidonSponge` (PSE sponge:
/// initial state `[2^64, 0, 0]`, same `1`-then-zeros padding, output lane 1), built from
/// Grain-generated constants at runtime and an optimized (sparse-MDS) round schedule.
#[test]
fn permutation_matches_halo2_base_sponge() {
    use halo2_base::gates::{flex_gate::threads::SinglePhaseCoreManager, GateChip};
    use halo2_base::poseidon::hasher::PoseidonSponge;

    let mut rng = StdRng::seed_from_u64(7);
    let gate = GateChip::<Fr>::default();
    for n in 0..7 {
        let inputs: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();

        let mut pool = SinglePhaseCoreManager::<Fr>::new(true, Default::default());
        let ctx = pool.main();
        let mut sponge = PoseidonSponge::<Fr, 3, 2>::new::<8, 57, 0>(ctx);
        let cells = ctx.assign_witnesses(inputs.clone());
        sponge.update(&cells);
        let oracle = *sponge.squeeze(ctx, &gate).value();

        let mut state = [Fr::from_raw([0, 1, 0, 0]), Fr::ZERO, Fr::ZERO];
        for pair in pad(&inputs).chunks(RATE) {
            state[1] += pair[0];
            state[2] += pair[1];
            permute(&mut state);
        }
        assert_eq!(state[1], oracle, "n = {n}");
    }
}

#[test]
fn sponge_spec() {
    // hash([]) = permute([0, 1, 0])[0]
    assert_eq!(hash(&[]), perm([0, 1, 0])[0]);
    // hash([a]) = permute([0, a, 1])[0]
    assert_eq!(hash(&frs(&[5])), perm([0, 5, 1])[0]);
    // hash([a, b]) = permute(permute([0, a, b]) + [0, 1, 0])[0]
    let mut st = perm([0, 1, 2]);
    st[1] += Fr::ONE;
    permute(&mut st);
    assert_eq!(hash(&frs(&[1, 2])), st[0]);
    assert_ne!(hash(&frs(&[1, 2])), perm([0, 1, 2])[0]);
    // Length is unambiguous.
    assert_ne!(hash(&frs(&[7])), hash(&frs(&[7, 0])));
    assert_ne!(hash(&frs(&[7, 1])), hash(&frs(&[7])));
    assert_ne!(hash(&[]), hash(&frs(&[0])));
    assert_eq!(pad(&frs(&[1, 2, 3])), frs(&[1, 2, 3, 1]));
    assert_eq!(pad(&frs(&[1, 2])), frs(&[1, 2, 1, 0]));
}

#[test]
fn commit_salt() {
    let values = frs(&[1, 2, 3]);
    let mut rng = StdRng::seed_from_u64(1);
    let s1 = random_salt(&mut rng);
    let s2 = random_salt(&mut rng);
    assert_ne!(s1, s2);
    assert_ne!(commit(&values, s1), commit(&values, s2));
    assert_eq!(commit(&values, s1), commit(&values, s1));
    assert_eq!(
        commit(&values, s1),
        hash(&[values.clone(), vec![s1]].concat())
    );
    assert_ne!(commit(&values, s1), commit(&frs(&[1, 2, 4]), s1));
}

#[test]
fn hex_roundtrip() {
    let x = Fr::from(0x1234_5678_9abc_def0u64);
    assert_eq!(
        fr_to_hex(&x),
        format!("0x{:064x}", 0x1234_5678_9abc_def0u64)
    );
    assert_eq!(fr_from_hex(&fr_to_hex(&x)), x);
    assert_eq!(fr_from_hex("0x1"), Fr::ONE);
    assert_eq!(fr_from_hex(&fr_to_hex(&-Fr::ONE)), -Fr::ONE);
}

// ---------------------------------------------------------------- circuit

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tamper {
    None,
    /// Overwrite the chip's state lane `lane` at chip row `row` with a bogus value.
    State {
        row: usize,
        lane: usize,
    },
    /// Overwrite the chip's helper `idx` at chip row `row`.
    Helper {
        row: usize,
        idx: usize,
    },
    /// Change the outer input cell 0 after it was copied into the chip.
    InputAfterCopy,
}

#[derive(Clone, Debug)]
struct TestCircuit {
    inputs: Vec<Fr>,
    /// Hash the inputs a second time (checks the chip's row cursor).
    twice: bool,
    tamper: Tamper,
}

#[derive(Clone, Debug)]
struct TestConfig {
    poseidon: PoseidonConfig,
    input: Column<Advice>,
    instance: Column<Instance>,
}

impl TestConfig {
    /// The chip plus an input column and the instance column.
    fn around(meta: &mut ConstraintSystem<Fr>, poseidon: PoseidonConfig) -> Self {
        let input = meta.advice_column();
        meta.enable_equality(input);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        TestConfig {
            poseidon,
            input,
            instance,
        }
    }
}

impl Circuit<Fr> for TestCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        let poseidon = PoseidonChip::configure(meta);
        TestConfig::around(meta, poseidon)
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let chip = PoseidonChip::new(config.poseidon);
        let cells = layouter.assign_region(
            || "inputs",
            |mut region| {
                Ok(self
                    .inputs
                    .iter()
                    .enumerate()
                    .map(|(i, x)| region.assign_advice(config.input, i, Value::known(*x)))
                    .collect::<Vec<_>>())
            },
        )?;
        let out = chip.hash(&mut layouter, &cells)?;
        layouter.constrain_instance(out.cell(), config.instance, 0);
        let per = config.poseidon.round_constants.rows_per_permutation();
        let rows = per * (self.inputs.len() / 2 + 1) + 1;
        assert_eq!(chip.rows_used(), rows);
        assert!(rows <= rows_per_hash(self.inputs.len()));
        if self.twice {
            let out2 = chip.hash(&mut layouter, &cells)?;
            layouter.constrain_instance(out2.cell(), config.instance, 1);
            assert_eq!(chip.rows_used(), 2 * rows);
        }

        let bogus = Value::known(Fr::from(0xdead_beefu64));
        layouter.assign_region(
            || "tamper",
            |mut region| {
                match self.tamper {
                    Tamper::None => {}
                    Tamper::State { row, lane } => {
                        region.assign_advice(config.poseidon.state[lane], row, bogus);
                    }
                    Tamper::Helper { row, idx } => {
                        region.assign_advice(config.poseidon.helpers[idx], row, bogus);
                    }
                    Tamper::InputAfterCopy => {
                        region.assign_advice(config.input, 0, bogus);
                    }
                }
                Ok(())
            },
        )
    }
}

const K: u32 = 9;

fn run(circuit: &impl Circuit<Fr>, claimed: Vec<Fr>) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(K, circuit, vec![claimed])
        .expect("synthesis")
        .verify()
}

fn inputs(n: usize) -> Vec<Fr> {
    let mut rng = StdRng::seed_from_u64(n as u64 + 100);
    (0..n).map(|_| Fr::random(&mut rng)).collect()
}

fn circuit(n: usize, tamper: Tamper) -> TestCircuit {
    TestCircuit {
        inputs: inputs(n),
        twice: false,
        tamper,
    }
}

#[test]
fn chip_honest_matches_native() {
    for n in [0, 1, 2, 5] {
        let c = circuit(n, Tamper::None);
        let expected = hash(&c.inputs);
        assert_eq!(run(&c, vec![expected]), Ok(()), "n = {n}");
    }
}

#[test]
fn chip_two_hashes_in_one_circuit() {
    let c = TestCircuit {
        inputs: inputs(3),
        twice: true,
        tamper: Tamper::None,
    };
    let h = hash(&c.inputs);
    assert_eq!(run(&c, vec![h, h]), Ok(()));
    assert!(run(&c, vec![h, h + Fr::ONE]).is_err());
}

#[test]
fn chip_rejects_wrong_output() {
    for n in [0, 2, 5] {
        let c = circuit(n, Tamper::None);
        let wrong = hash(&c.inputs) + Fr::ONE;
        let errs = run(&c, vec![wrong]).expect_err("wrong output accepted");
        assert!(errs
            .iter()
            .all(|e| matches!(e, VerifyFailure::Permutation { .. })));
        // The circomlib (unpadded) value is not what the chip computes.
        if n == 2 {
            let mut st = [Fr::ZERO, c.inputs[0], c.inputs[1]];
            permute(&mut st);
            assert!(run(&c, vec![st[0]]).is_err());
        }
    }
}

fn has_constraint_failure(errs: &[VerifyFailure]) -> bool {
    errs.iter()
        .any(|e| matches!(e, VerifyFailure::ConstraintNotSatisfied { .. }))
}

#[test]
fn chip_rejects_tampered_intermediate_cells() {
    let n = 5;
    let tampers = [
        // Full-round rows (row 2 = first full round; its x⁴ row 3), partial-round rows
        // (14..=70), the second permutation's absorb row, the last full round (row 80).
        Tamper::State { row: 2, lane: 1 },
        Tamper::State { row: 20, lane: 0 },
        Tamper::State { row: 20, lane: 2 },
        Tamper::State {
            row: ROWS_PER_PERMUTATION,
            lane: 0,
        },
        Tamper::State {
            row: 2 * ROWS_PER_PERMUTATION + 80,
            lane: 2,
        },
        Tamper::Helper { row: 0, idx: 0 },
        Tamper::Helper { row: 1, idx: 0 },
        Tamper::Helper { row: 2, idx: 0 },
        Tamper::Helper { row: 3, idx: 1 },
        Tamper::Helper { row: 40, idx: 0 },
        Tamper::Helper { row: 40, idx: 1 },
        Tamper::Helper { row: 72, idx: 2 },
    ];
    for t in tampers {
        let c = circuit(n, t);
        let errs = run(&c, vec![hash(&c.inputs)]).expect_err("tampered witness accepted");
        assert!(has_constraint_failure(&errs), "{t:?}: {errs:?}");
    }
}

#[test]
fn chip_rejects_tampered_constants() {
    // Initial zero state (row 0), padding `1` of n = 1 (row 1, h0), padding `0` of n = 2
    // (second permutation's second absorb row, h0): both the constant copy and the gates fail.
    for (n, t) in [
        (1, Tamper::State { row: 0, lane: 0 }),
        (1, Tamper::Helper { row: 1, idx: 0 }),
        (
            2,
            Tamper::Helper {
                row: ROWS_PER_PERMUTATION + 1,
                idx: 0,
            },
        ),
    ] {
        let c = circuit(n, t);
        let errs = run(&c, vec![hash(&c.inputs)]).expect_err("tampered constant accepted");
        assert!(
            errs.iter()
                .any(|e| matches!(e, VerifyFailure::Permutation { .. })),
            "{t:?}: {errs:?}"
        );
    }
}

#[test]
fn chip_rejects_input_changed_after_copy() {
    let c = circuit(2, Tamper::InputAfterCopy);
    let errs = run(&c, vec![hash(&c.inputs)]).expect_err("copy constraint not enforced");
    // The chip's trace is internally consistent; only the copy constraint breaks.
    assert!(errs
        .iter()
        .all(|e| matches!(e, VerifyFailure::Permutation { .. })));
}

/// Inputs of type `AssignedCell<Fr, Fr>` (here: loaded from an instance column) work too.
#[derive(Clone, Debug)]
struct InstanceInputCircuit {
    n: usize,
}

impl Circuit<Fr> for InstanceInputCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        TestCircuit::configure(meta)
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let chip = PoseidonChip::new(config.poseidon);
        let cells = layouter.assign_region(
            || "inputs",
            |mut region| {
                (0..self.n)
                    .map(|i| {
                        region.assign_advice_from_instance(
                            || "input",
                            config.instance,
                            i + 1,
                            config.input,
                            i,
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            },
        )?;
        let out = chip.hash(&mut layouter, &cells)?;
        layouter.constrain_instance(out.cell(), config.instance, 0);
        Ok(())
    }
}

#[test]
fn chip_accepts_assigned_fr_inputs() {
    let xs = inputs(3);
    let mut instance = vec![hash(&xs)];
    instance.extend_from_slice(&xs);
    let c = InstanceInputCircuit { n: 3 };
    let prover = MockProver::run(K, &c, vec![instance.clone()]).unwrap();
    assert_eq!(prover.verify(), Ok(()));
    instance[2] += Fr::ONE;
    let prover = MockProver::run(K, &c, vec![instance]).unwrap();
    assert!(prover.verify().is_err());
}

// ---------------------------------------------------------------- shape

/// Max degree over the chip's gate polynomials, selector factor included. (Computed directly:
/// halo2-axiom's `cs.degree()` is clamped by the `MAX_DEGREE` env var, default 5.)
fn max_gate_degree(cs: &ConstraintSystem<Fr>) -> usize {
    cs.gates()
        .iter()
        .flat_map(|g| g.polynomials().iter().map(|p| p.degree()))
        .max()
        .unwrap_or(0)
}

#[test]
fn gate_degree_and_shape() {
    let mut cs = ConstraintSystem::<Fr>::default();
    let _config = PoseidonChip::configure(&mut cs);
    let cs = cs;
    assert_eq!(max_gate_degree(&cs), 3);
    assert!(cs.degree() <= 3);
    assert_eq!(cs.num_advice_columns(), NUM_ADVICE_COLUMNS);
    assert_eq!(cs.num_advice_columns(), 6);
    assert_eq!(cs.num_fixed_columns(), NUM_FIXED_COLUMNS);
    assert_eq!(cs.num_selectors(), NUM_SELECTORS);
    assert_eq!(WIDTH, 3);
    assert_eq!(ROWS_PER_PERMUTATION, 83);
    assert_eq!(rows_per_hash(0), 84);
    assert_eq!(rows_per_hash(1), 84);
    assert_eq!(rows_per_hash(2), 167);
    assert_eq!(rows_per_hash(5), 250);
    // Inputs enter through h0 only: s0..s2, h0 and the constants column are in the permutation.
    assert_eq!(cs.permutation().get_columns().len(), 5);
}

// ---------------------------------------------------------------- RoundConstants::Lanes

/// The same circuit with the round constants in three fixed columns (two-row full rounds).
#[derive(Clone, Debug)]
struct LanesCircuit(TestCircuit);

impl Circuit<Fr> for LanesCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        let state = std::array::from_fn(|_| meta.advice_column());
        let helpers = std::array::from_fn(|_| meta.advice_column());
        let lanes = crate::RoundConstants::Lanes(std::array::from_fn(|_| meta.fixed_column()));
        let constants = meta.fixed_column();
        let poseidon = PoseidonChip::configure_with(meta, state, helpers, lanes, constants);
        TestConfig::around(meta, poseidon)
    }

    fn synthesize(&self, config: TestConfig, layouter: impl Layouter<Fr>) -> Result<(), Error> {
        self.0.synthesize(config, layouter)
    }
}

#[test]
fn lanes_layout_honest_and_tampered() {
    for n in [0, 1, 5] {
        let c = LanesCircuit(circuit(n, Tamper::None));
        let h = hash(&c.0.inputs);
        assert_eq!(run(&c, vec![h]), Ok(()), "n = {n}");
        assert!(run(&c, vec![h + Fr::ONE]).is_err());
    }
    // Rows: absorb 0..=1, full rounds at 2, 4, 6, 8 (x⁴ on the odd rows), partial 10..=66.
    for t in [
        Tamper::State { row: 4, lane: 2 },
        Tamper::Helper { row: 3, idx: 1 },
        Tamper::Helper { row: 30, idx: 1 },
        Tamper::State { row: 50, lane: 0 },
    ] {
        let c = LanesCircuit(circuit(5, t));
        let errs = run(&c, vec![hash(&c.0.inputs)]).expect_err("tampered witness accepted");
        assert!(has_constraint_failure(&errs), "{t:?}: {errs:?}");
    }
}

/// A forged `x²`, `x⁴` or output cell in one round (and everything after it following from
/// it): only that round's gate refuses, for every lane and both kinds of round — each of
/// those polynomials is needed (a mutation run removes them one by one).
#[test]
fn forged_sbox_powers_are_refused_by_their_round_gate() {
    use crate::chip::{trace_hash, Prank, PrankKind, PRANK};
    let c = circuit(3, Tamper::None);
    assert_eq!(trace_hash(&c.inputs), hash(&c.inputs));
    // Round 0 is a full round, round 10 a partial one (powers of lane 0 only).
    let kinds = [PrankKind::Square, PrankKind::Fourth, PrankKind::Next];
    let cases: Vec<(usize, usize, PrankKind)> = (0..WIDTH)
        .flat_map(|lane| kinds.map(|kind| (0, lane, kind)))
        .chain(kinds[..2].iter().map(|&kind| (10, 0, kind)))
        .chain((0..WIDTH).map(|lane| (10, lane, PrankKind::Next)))
        .collect();
    for (round, lane, kind) in cases {
        PRANK.with(|p| p.set(Some(Prank { round, lane, kind })));
        let forged = trace_hash(&c.inputs);
        let errs = run(&c, vec![forged]);
        PRANK.with(|p| p.set(None));
        assert_ne!(forged, hash(&c.inputs));
        let errs = errs.expect_err("forged power accepted");
        let gate = if round == 0 {
            "poseidon full round"
        } else {
            "poseidon partial round"
        };
        assert!(
            errs.iter().all(|e| matches!(e,
                VerifyFailure::ConstraintNotSatisfied { constraint, .. }
                    if constraint.to_string().contains(gate))),
            "round {round} lane {lane} {kind:?}: {errs:?}"
        );
    }
}

/// `compress(domain, a, b)` with `(a, b)` from the instance (rows 1, 2), the output at row 0;
/// `forged_domain` overwrites the chip's first state lane after the fact, if given.
#[derive(Clone, Debug)]
struct CompressCircuit {
    domain: Fr,
    forged_domain: Option<Fr>,
}

impl Circuit<Fr> for CompressCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        TestCircuit::configure(meta)
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let chip = PoseidonChip::new(config.poseidon);
        let [a, b] = layouter.assign_region(
            || "inputs",
            |mut region| {
                let cell = |region: &mut halo2_proofs::circuit::Region<'_, Fr>, i: usize| {
                    region.assign_advice_from_instance(
                        || "input",
                        config.instance,
                        i + 1,
                        config.input,
                        i,
                    )
                };
                Ok([cell(&mut region, 0)?, cell(&mut region, 1)?])
            },
        )?;
        let out = chip.compress(&mut layouter, self.domain, &a, &b)?;
        assert_eq!(chip.rows_used(), crate::chip::rows_per_compress());
        layouter.constrain_instance(out.cell(), config.instance, 0);
        if let Some(d) = self.forged_domain {
            layouter.assign_region(
                || "forge",
                |mut region| {
                    region.assign_advice(config.poseidon.state[0], 0, Value::known(d));
                    Ok(())
                },
            )?;
        }
        Ok(())
    }
}

#[test]
fn chip_compress_is_one_permutation_of_domain_a_b() {
    let (a, b, dom) = (Fr::from(5), Fr::from(9), Fr::from(0x7472_7573_746d_6c02u64));
    let mut s = [dom, a, b];
    permute(&mut s);
    assert_eq!(crate::native::compress(dom, a, b), s[0]);
    assert_ne!(crate::native::compress(dom, a, b), hash(&[a, b]));
    let run_c = |c: &CompressCircuit, out: Fr| {
        MockProver::run(K, c, vec![vec![out, a, b]])
            .unwrap()
            .verify()
    };
    let honest = CompressCircuit {
        domain: dom,
        forged_domain: None,
    };
    assert_eq!(run_c(&honest, s[0]), Ok(()));
    assert!(run_c(&honest, s[0] + Fr::ONE).is_err());
    // The domain is a constant: a chip run for another domain whose first lane is then
    // overwritten with this one is refused, the constants column's copy among the failures.
    let other = Fr::from(7);
    let forged = CompressCircuit {
        domain: other,
        forged_domain: Some(dom),
    };
    let errs = run_c(&forged, crate::native::compress(other, a, b)).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| matches!(e, VerifyFailure::Permutation { .. })),
        "{errs:?}"
    );
}
