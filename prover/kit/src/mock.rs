//! MockProver harness: run any circuit and learn *which* constraint failed, so a negative
//! test asserts the exact failure (as halo2_gadgets' tests do), not merely "rejected".
//!
//! [`ChipTest`] lays out one chip alone in a test circuit with [`TEST_ADVICE`]
//! equality-enabled advice columns, one instance column and a constants column.

use halo2_proofs::circuit::{Cell, Layouter, Region, SimpleFloorPlanner};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};
use std::collections::BTreeSet;

/// One failed check, named the way its chip named it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// A polynomial constraint of a gate is not zero.
    Gate {
        /// The gate's name.
        gate: String,
        /// The constraint's name within the gate (may be empty).
        constraint: String,
    },
    /// A lookup input is not in its table.
    Lookup {
        /// The lookup's name.
        name: String,
    },
    /// A copy constraint does not hold.
    Permutation,
    /// A cell an active gate reads was never assigned.
    Unassigned {
        /// The gate's name.
        gate: String,
    },
    /// A constraint is on in rows a proof cannot use (a missing selector).
    Poisoned {
        /// The gate's name.
        gate: String,
    },
}

impl Failure {
    /// Whether this is a failure of the gate or lookup called `name`.
    pub fn is(&self, name: &str) -> bool {
        match self {
            Failure::Gate { gate, .. }
            | Failure::Unassigned { gate }
            | Failure::Poisoned { gate } => gate == name,
            Failure::Lookup { name: n } => n == name,
            Failure::Permutation => name == "permutation",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Gate { gate, constraint } if constraint.is_empty() => {
                write!(f, "gate '{gate}'")
            }
            Failure::Gate { gate, constraint } => write!(f, "gate '{gate}' ({constraint})"),
            Failure::Lookup { name } => write!(f, "lookup '{name}'"),
            Failure::Permutation => f.write_str("permutation"),
            Failure::Unassigned { gate } => write!(f, "unassigned cell in gate '{gate}'"),
            Failure::Poisoned { gate } => write!(f, "poisoned gate '{gate}'"),
        }
    }
}

/// The `'…'`-quoted names in halo2's `Display` of a constraint or gate, in order.
fn quoted(s: &str) -> Vec<String> {
    s.split("('")
        .skip(1)
        .filter_map(|t| t.split_once("')").map(|(n, _)| n.to_string()))
        .collect()
}

fn classify(f: &VerifyFailure) -> Failure {
    match f {
        VerifyFailure::ConstraintNotSatisfied { constraint, .. } => {
            // "Constraint i ('c') in gate g ('G')" or "Constraint i in gate g ('G')".
            let mut names = quoted(&constraint.to_string());
            let gate = names.pop().unwrap_or_default();
            Failure::Gate {
                gate,
                constraint: names.pop().unwrap_or_default(),
            }
        }
        VerifyFailure::ConstraintPoisoned { constraint } => Failure::Poisoned {
            gate: quoted(&constraint.to_string()).pop().unwrap_or_default(),
        },
        VerifyFailure::CellNotAssigned { gate, .. }
        | VerifyFailure::InstanceCellNotAssigned { gate, .. } => Failure::Unassigned {
            gate: quoted(&gate.to_string()).pop().unwrap_or_default(),
        },
        VerifyFailure::Lookup { name, .. } => Failure::Lookup { name: name.clone() },
        VerifyFailure::Permutation { .. } => Failure::Permutation,
    }
}

/// Runs MockProver on `circuit` at size `k`: `Ok` when every constraint holds, else the
/// distinct failures. A synthesis error (e.g. too few rows) is a panic: it is a test bug.
pub fn check<C: Circuit<Fr>>(
    k: u32,
    circuit: &C,
    instances: Vec<Vec<Fr>>,
) -> Result<(), BTreeSet<Failure>> {
    let prover = MockProver::run(k, circuit, instances).expect("synthesis");
    prover
        .verify()
        .map_err(|fs| fs.iter().map(classify).collect())
}

/// Whether MockProver accepts.
pub fn accepts<C: Circuit<Fr>>(k: u32, circuit: &C, instances: Vec<Vec<Fr>>) -> bool {
    check(k, circuit, instances).is_ok()
}

/// Panics unless MockProver rejects, with a failure of the gate or lookup named `name`
/// among the failures (see [`Failure::is`]; `"permutation"` names copy constraints).
pub fn assert_rejected_by<C: Circuit<Fr>>(
    k: u32,
    circuit: &C,
    instances: Vec<Vec<Fr>>,
    name: &str,
) {
    match check(k, circuit, instances) {
        Ok(()) => panic!("accepted, expected a failure of '{name}'"),
        Err(fs) => assert!(
            fs.iter().any(|f| f.is(name)),
            "expected a failure of '{name}', got: {}",
            fs.iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Advice columns of a [`ChipTest`] circuit.
pub const TEST_ADVICE: usize = 20;

/// The columns a [`ChipTest`] circuit gives its chip.
#[derive(Clone, Debug)]
pub struct TestCols {
    /// Equality-enabled advice columns.
    pub adv: Vec<Column<Advice>>,
    /// The instance column the returned cells are exposed in.
    pub instance: Column<Instance>,
}

/// One chip test case: its parameters are the circuit's `Params`, so `configure` sees them.
pub trait ChipTest: Clone + Default {
    /// The chip (its config).
    type Chip: Clone;
    /// Configures the chip over `cols`.
    fn configure(meta: &mut ConstraintSystem<Fr>, cols: &TestCols, case: &Self) -> Self::Chip;
    /// Lays out the case in one region; the returned cells are exposed as instances.
    fn assign(&self, chip: &Self::Chip, region: &mut Region<'_, Fr>) -> Result<Vec<Cell>, Error>;
}

/// The circuit a [`ChipTest`] runs in.
#[derive(Clone, Default, Debug)]
pub struct ChipCircuit<T>(pub T);

impl<T: ChipTest> Circuit<Fr> for ChipCircuit<T> {
    type Config = (TestCols, T::Chip);
    type FloorPlanner = SimpleFloorPlanner;
    type Params = T;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn params(&self) -> T {
        self.0.clone()
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("configure_with_params is used")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, case: T) -> Self::Config {
        let adv: Vec<_> = (0..TEST_ADVICE).map(|_| meta.advice_column()).collect();
        for &c in &adv {
            meta.enable_equality(c);
        }
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        let cols = TestCols { adv, instance };
        let chip = T::configure(meta, &cols, &case);
        (cols, chip)
    }

    fn synthesize(
        &self,
        (cols, chip): Self::Config,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        let cells =
            layouter.assign_region(|| "case", |mut region| self.0.assign(&chip, &mut region))?;
        for (i, c) in cells.into_iter().enumerate() {
            layouter.constrain_instance(c, cols.instance, i);
        }
        Ok(())
    }
}

/// Whether MockProver accepts the chip case with these public values (k = 10).
pub fn chip_accepts<T: ChipTest>(case: T, instance: Vec<Fr>) -> bool {
    accepts(10, &ChipCircuit(case), vec![instance])
}

/// The failures of a chip case (k = 10); `Ok` when accepted.
pub fn chip_check<T: ChipTest>(case: T, instance: Vec<Fr>) -> Result<(), BTreeSet<Failure>> {
    check(10, &ChipCircuit(case), vec![instance])
}
