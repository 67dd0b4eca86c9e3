//! The mutation switch: a test-only way to leave one gate or lookup out of a circuit, so a
//! mutation run (`prover/scripts/mutation-run.sh`) can check that some test fails without
//! it — a gate no test misses is a gate no test checks.
//!
//! Only with the `mutation` feature (off in every normal build) and `TRUSTML_MUTANT` naming
//! the gate or lookup does [`keep`] answer `false`. A circuit built that way also has
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
