//! How many rows a circuit's layout uses, found by laying it out once without a witness.
//!
//! Circuits that place their chips at absolute rows (each chip with its own row cursor)
//! know their height only after synthesis. [`measure`] runs the circuit's floor planner
//! over an assignment that only records the highest row touched (advice, fixed, selectors,
//! copies and constants), so `k` follows from the layout itself and no row formula can
//! drift from it.

use halo2_proofs::circuit::Value;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{
    Advice, Any, Assigned, Assignment, Challenge, Circuit, Column, ConstraintSystem, Error, Fixed,
    FloorPlanner, Instance, Selector,
};

#[derive(Default)]
struct Measure {
    top: usize,
}

impl Measure {
    fn touch(&mut self, row: usize) {
        self.top = self.top.max(row + 1);
    }
}

impl Assignment<Fr> for Measure {
    fn enter_region<NR: Into<String>, N: FnOnce() -> NR>(&mut self, _: N) {}
    fn annotate_column<A: FnOnce() -> AR, AR: Into<String>>(&mut self, _: A, _: Column<Any>) {}
    fn exit_region(&mut self) {}
    fn enable_selector<A: FnOnce() -> AR, AR: Into<String>>(
        &mut self,
        _: A,
        _: &Selector,
        row: usize,
    ) -> Result<(), Error> {
        self.touch(row);
        Ok(())
    }
    fn query_instance(&self, _: Column<Instance>, _: usize) -> Result<Value<Fr>, Error> {
        Ok(Value::unknown())
    }
    fn assign_advice<'v>(
        &mut self,
        _: Column<Advice>,
        row: usize,
        _: Value<Assigned<Fr>>,
    ) -> Value<&'v Assigned<Fr>> {
        self.touch(row);
        Value::unknown()
    }
    fn assign_fixed(&mut self, _: Column<Fixed>, row: usize, _: Assigned<Fr>) {
        self.touch(row);
    }
    fn copy(&mut self, _: Column<Any>, lr: usize, _: Column<Any>, rr: usize) {
        self.touch(lr.max(rr));
    }
    fn fill_from_row(
        &mut self,
        _: Column<Fixed>,
        _: usize,
        _: Value<Assigned<Fr>>,
    ) -> Result<(), Error> {
        Ok(())
    }
    fn get_challenge(&self, _: Challenge) -> Value<Fr> {
        Value::unknown()
    }
    fn push_namespace<NR: Into<String>, N: FnOnce() -> NR>(&mut self, _: N) {}
    fn pop_namespace(&mut self, _: Option<String>) {}
}

/// The rows `circuit`'s layout uses (its highest assigned row + 1) and the rows its
/// constraint system reserves (blinding and the last row): `k` must satisfy
/// `2^k ≥ used + reserved`.
pub fn measure<C: Circuit<Fr>>(circuit: &C) -> Result<(usize, usize), Error> {
    let mut cs = ConstraintSystem::<Fr>::default();
    let config = C::configure_with_params(&mut cs, circuit.params());
    let constants = cs.constants().clone();
    let mut m = Measure::default();
    C::FloorPlanner::synthesize(&mut m, &circuit.without_witnesses(), config, constants)?;
    Ok((m.top, cs.minimum_rows()))
}

/// The smallest `k` (at least `min_k`) whose `2^k` rows hold `circuit`.
pub fn min_k<C: Circuit<Fr>>(circuit: &C, min_k: u32) -> Result<u32, Error> {
    let (used, reserved) = measure(circuit)?;
    let mut k = min_k;
    while (1usize << k) < used + reserved {
        k += 1;
    }
    Ok(k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{check, ChipCircuit, ChipTest, TestCols};
    use halo2_proofs::circuit::{Cell, Region};

    /// Writes one advice cell at `row` (and exposes it).
    #[derive(Clone, Default)]
    struct At {
        row: usize,
    }

    impl ChipTest for At {
        type Chip = Column<Advice>;
        fn configure(_: &mut ConstraintSystem<Fr>, cols: &TestCols, _: &Self) -> Column<Advice> {
            cols.adv[0]
        }
        fn assign(
            &self,
            col: &Column<Advice>,
            region: &mut Region<'_, Fr>,
        ) -> Result<Vec<Cell>, Error> {
            let cell = region.assign_advice(*col, self.row, Value::known(Fr::from(5)));
            Ok(vec![cell.cell()])
        }
    }

    #[test]
    fn the_highest_row_decides_k() {
        let c = ChipCircuit(At { row: 37 });
        let (used, reserved) = measure(&c).unwrap();
        assert_eq!(used, 38);
        assert!(reserved > 0);
        let k = min_k(&c, 4).unwrap();
        assert!((1usize << k) >= used + reserved && (1usize << (k - 1)) < used + reserved);
        // A layout that needs the next power of two gets it, and MockProver agrees it fits.
        let big = ChipCircuit(At {
            row: (1 << k) - reserved,
        });
        assert_eq!(min_k(&big, 4).unwrap(), k + 1);
        assert_eq!(check(k, &c, vec![vec![Fr::from(5)]]), Ok(()));
    }
}
