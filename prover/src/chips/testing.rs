//! A harness to test one chip alone with `MockProver`.

use halo2_proofs::circuit::{Cell, Layouter, Region, SimpleFloorPlanner};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Instance};

pub const TEST_ADVICE: usize = 20;

#[derive(Clone)]
pub struct TestCols {
    pub adv: Vec<Column<Advice>>,
    pub instance: Column<Instance>,
}

/// One chip test case: its parameters are the circuit's `Params`, so `configure` sees them.
pub trait ChipTest: Clone + Default {
    type Chip: Clone;
    fn configure(meta: &mut ConstraintSystem<Fr>, cols: &TestCols, case: &Self) -> Self::Chip;
    /// Lays out the case in one region; the returned cells are exposed as instances.
    fn assign(&self, chip: &Self::Chip, region: &mut Region<'_, Fr>) -> Result<Vec<Cell>, Error>;
}

#[derive(Clone, Default)]
struct TestCircuit<T>(T);

impl<T: ChipTest> Circuit<Fr> for TestCircuit<T> {
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

/// Whether `MockProver` accepts the case with these public values (k = 10).
pub fn accepts<T: ChipTest>(case: T, instance: Vec<Fr>) -> bool {
    let prover = MockProver::run(10, &TestCircuit(case), vec![instance]).expect("synthesis");
    prover.verify().is_ok()
}
