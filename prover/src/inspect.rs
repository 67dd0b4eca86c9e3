//! `trustml inspect`: what a compiled circuit costs.

use crate::circuit::ModelCircuit;
use crate::model::CompiledModel;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem};
use std::fmt::Write;

/// Column and argument counts of a circuit shape.
#[derive(Clone, Copy, Debug)]
pub struct Columns {
    /// Advice columns.
    pub advice: usize,
    /// Fixed columns, selectors included.
    pub fixed: usize,
    /// Instance (public-input) columns.
    pub instance: usize,
    /// Lookup arguments.
    pub lookups: usize,
    /// Columns in the permutation (equality-enabled) argument.
    pub permutation: usize,
    /// Maximum degree of the constraint system.
    pub degree: usize,
}

/// Configures the model's circuit shape and counts its columns and arguments.
pub fn columns(m: &CompiledModel) -> Columns {
    let mut cs = ConstraintSystem::<Fr>::default();
    let _ = ModelCircuit::configure_with_params(&mut cs, m.settings.shape.clone());
    Columns {
        advice: cs.num_advice_columns(),
        fixed: cs.num_fixed_columns() + cs.num_selectors(),
        instance: cs.num_instance_columns(),
        lookups: cs.lookups().len(),
        permutation: cs.permutation().get_columns().len(),
        degree: cs.degree(),
    }
}

/// The `trustml inspect` text: settings, rows, columns, lookups, public inputs and keys.
pub fn report(m: &CompiledModel) -> String {
    let s = &m.settings;
    let c = columns(m);
    let r = &s.rows;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "model        {} (keccak {})",
        m.dir.join(s.format.file_name()).display(),
        s.model_keccak
    );
    let _ = writeln!(o, "settings     digest {}", s.digest_hex());
    let _ = writeln!(
        o,
        "fixed point  scale 2^{}, lookup domain [-2^{}, 2^{})",
        s.quant.scale_bits,
        s.quant.lookup_bits - 1,
        s.quant.lookup_bits - 1
    );
    let _ = writeln!(
        o,
        "k            {} ({} rows; {} used)",
        s.k,
        1u64 << s.k,
        r.usable()
    );
    let _ = writeln!(o, "rows         inputs {} · params {} · dot {} · arith {} · div {} · lookup {} · poseidon {} · tables {}", r.inputs, r.params, r.dot, r.arith, r.div, r.lookup, r.poseidon, r.table);
    let _ = writeln!(
        o,
        "layout       dot width {}, {} lookup lane(s), grid of {} advice columns",
        s.shape.dot_width,
        s.shape.lanes,
        s.shape.grid_width()
    );
    let _ = writeln!(
        o,
        "columns      advice {} · fixed {} · instance {} · permutation {}",
        c.advice, c.fixed, c.instance, c.permutation
    );
    let _ = writeln!(
        o,
        "lookups      {} argument(s) over {} function(s): {}",
        c.lookups,
        m.program.funcs.funcs.len(),
        m.program
            .funcs
            .funcs
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(o, "gate degree  {}", c.degree);
    let _ = writeln!(
        o,
        "public       {} input(s): input {:?}, weights {:?}, output {:?}",
        s.num_instances, s.shape.vis.input, s.shape.vis.weights, s.shape.vis.output
    );
    let _ = writeln!(
        o,
        "model        {} parameters, {} multiply-accumulates, {} instructions",
        m.program.weights.len(),
        m.program.num_dot_terms(),
        m.program.instrs.len()
    );
    for t in &s.inputs {
        let _ = writeln!(o, "input        {} {:?}", t.name, t.shape);
    }
    for t in &s.outputs {
        let _ = writeln!(o, "output       {} {:?}", t.name, t.shape);
    }
    if let Some(cal) = &s.calibration {
        let _ = writeln!(
            o,
            "calibration  {} sample(s): max abs error {:.5}, argmax matches {}/{}",
            cal.samples, cal.max_abs_error, cal.argmax_matches, cal.samples
        );
    }
    let keys = ["srs.bin", "pk.bin", "vk.bin"]
        .iter()
        .filter(|f| m.dir.join(f).exists())
        .count();
    let _ = writeln!(
        o,
        "keys         {}",
        if keys == 3 {
            "present (run `trustml prove`)"
        } else {
            "missing (run `trustml setup`)"
        }
    );
    o
}
