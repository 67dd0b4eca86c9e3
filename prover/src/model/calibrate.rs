//! Calibration: how far lookups reach on sample inputs (which sizes each function's table),
//! and the layout cost model that picks the dot width and the lanes.

use super::{CompileOptions, ModelError};
use crate::circuit::{CircuitShape, ModelCircuit, RowPlan, Visibility};
use crate::program::{Instr, Program};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem};

/// Largest |lookup input| the witness exercises (and where), and per function tag in
/// `per_tag`.
pub(super) fn lookup_extent(
    p: &Program,
    wires: &[i128],
    per_tag: &mut Vec<i128>,
) -> (i128, String) {
    let mut m = (0i128, String::new());
    per_tag.resize(p.funcs.funcs.len(), 0);
    for ins in &p.instrs {
        if let Instr::Lookup {
            input,
            rescale,
            wide: false,
            node,
            tag,
            ..
        } = ins
        {
            // An embedding's table holds its ids, whatever the lookup domain.
            if matches!(
                p.funcs.funcs[*tag as usize],
                crate::table::Func::Embed { .. }
            ) {
                continue;
            }
            let v = wires[*input as usize];
            let q = if *rescale {
                crate::quant::rescale(v, p.qp.scale_bits).0
            } else {
                v
            };
            let e = if q < 0 { -q - 1 } else { q };
            per_tag[*tag as usize] = per_tag[*tag as usize].max(e);
            if e > m.0 {
                let name = p.node_names[(*node as usize).min(p.node_names.len() - 1)].clone();
                m = (e, name);
            }
        }
    }
    m
}

/// Domain bits per function: what calibration saw plus headroom, at most `cap`.
pub(super) fn tag_bits(per_tag: &[i128], headroom: u32, cap: u32) -> Vec<u32> {
    per_tag
        .iter()
        .map(|&e| (bits_for(e) + headroom).clamp(2, cap))
        .collect()
}

/// Bits `B` so that `[-2^(B-1), 2^(B-1))` holds `[-m-1, m]`.
pub(crate) fn bits_for(m: i128) -> u32 {
    let mut b = 1;
    while (1i128 << (b - 1)) <= m {
        b += 1;
    }
    b
}

/// Smallest `k` that fits the plan, with the blinding rows halo2 needs.
pub fn k_for(plan: &RowPlan, shape: &CircuitShape) -> u32 {
    let mut cs = ConstraintSystem::<Fr>::default();
    let _ = ModelCircuit::configure_with_params(&mut cs, shape.clone());
    let need = plan.usable() + cs.minimum_rows();
    let mut k = 4;
    while (1usize << k) < need {
        k += 1;
    }
    k
}

/// A rough cost figure to compare layouts. Proving work grows with committed columns ×
/// rows; on-chain verification pays ~6k gas per commitment whatever the rows, which the
/// constant term stands for, so small models stay narrow (cheap to verify) and large ones
/// go wide (fast to prove).
pub(super) fn layout_cost(shape: &CircuitShape, k: u32) -> u64 {
    let n = shape.grid_width() as u64;
    let lookups = shape.lanes as u64;
    let committed = n + 3 * lookups + (n + 2).div_ceil(3);
    committed * ((1u64 << k) + (1 << 13))
}

/// The cheapest dot width and lane count for `program` (or the ones the options fix).
pub(super) fn best_layout(
    program: &Program,
    s: u32,
    opts: &CompileOptions,
) -> Result<(u64, CircuitShape, RowPlan), ModelError> {
    let widths: Vec<usize> = opts.dot_width.map_or(vec![4, 8, 16, 32], |w| vec![w]);
    let lanes: Vec<usize> = opts.lanes.map_or(vec![1, 2, 4], |l| vec![l]);
    let mut best: Option<(u64, CircuitShape, RowPlan)> = None;
    for &w in &widths {
        for &l in &lanes {
            if w == 0 || l == 0 {
                return Err(ModelError::Option(
                    "--dot-width and --lanes must be at least 1".into(),
                ));
            }
            let shape = CircuitShape {
                dot_width: w,
                lanes: l,
                scale_bits: s,
                vis: opts.vis,
                act_dot: program.has_activation_products(),
                // A hashed input is packed by the arithmetic gate (crate::packing).
                arith: opts.vis.input == Visibility::Hashed
                    || program
                        .instrs
                        .iter()
                        .any(|i| matches!(i, Instr::Arith { .. })),
                div: program
                    .instrs
                    .iter()
                    .any(|i| matches!(i, Instr::DivRound { .. })),
                listing: opts.listing,
            };
            let plan = RowPlan::new(program, &shape);
            let cost = layout_cost(&shape, k_for(&plan, &shape));
            if best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, shape, plan));
            }
        }
    }
    Ok(best.expect("at least one layout"))
}

pub(super) fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold(0, |best, (i, &x)| if x > v[best] { i } else { best })
}
