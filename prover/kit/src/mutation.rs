//! The mutation switch: a test-only way to leave one gate, one polynomial of a gate, or one
//! lookup out of a circuit, so a mutation run (`prover/scripts/mutation-run.sh`) can check
//! that some test fails without it — a constraint no test misses is one no test checks.
//!
//! Only with the `mutation` feature (off in every normal build) and `TRUSTML_MUTANT` naming
//! the gate or lookup does [`keep`] answer `false`, or [`constraints`] drop polynomial `i`
//! of a gate for `TRUSTML_MUTANT=gate#i`. A circuit built that way also has
//! another verifying key, so its proofs never verify against an honest one.

/// Whether the circuit keeps the gate or lookup called `name` (always, unless a mutation
/// run removes it).
pub fn keep(name: &str) -> bool {
    #[cfg(feature = "mutation")]
    {
        std::env::var("TRUSTML_MUTANT").map_or(true, |m| m != name)
    }
    #[cfg(not(feature = "mutation"))]
    {
        let _ = name;
        true
    }
}

/// The polynomials of gate `gate`, less the one a mutation run drops
/// (`TRUSTML_MUTANT=gate#i` drops polynomial `i`): each constraint of a gate, not only the
/// gate as a whole, must be missed by some test.
pub fn constraints<F: halo2_proofs::arithmetic::Field>(
    gate: &str,
    polys: Vec<halo2_proofs::plonk::Expression<F>>,
) -> Vec<halo2_proofs::plonk::Expression<F>> {
    #[cfg(feature = "mutation")]
    if let Ok(m) = std::env::var("TRUSTML_MUTANT") {
        if let Some((g, i)) = m.rsplit_once('#') {
            if g == gate {
                let i: usize = i.parse().expect("TRUSTML_MUTANT=gate#index");
                return polys
                    .into_iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, p)| p)
                    .collect();
            }
        }
    }
    let _ = gate;
    polys
}
