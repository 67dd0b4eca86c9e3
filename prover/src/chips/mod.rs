//! Chips: each owns its gates (and lookups) over columns it is given, exposes row-level
//! instructions, and is tested alone with `MockProver`, honest and tampered.
//!
//! All chips of a model share one grid of equality-enabled advice columns, so a row can
//! hold a dot product, a lookup lane or an arithmetic op; copy constraints wire them up.
//! Selectors are fixed columns (not `Selector`s) so they may appear in lookup inputs.

pub mod arith;
pub mod bytes;
pub mod div;
pub mod dot;
pub mod lookup;
pub mod pack;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, Expression, Fixed, VirtualCells};
use halo2_proofs::poly::Rotation;

pub(crate) fn cur_a(meta: &mut VirtualCells<'_, Fr>, c: Column<Advice>) -> Expression<Fr> {
    meta.query_advice(c, Rotation::cur())
}

pub(crate) fn cur_f(meta: &mut VirtualCells<'_, Fr>, c: Column<Fixed>) -> Expression<Fr> {
    meta.query_fixed(c, Rotation::cur())
}

pub use trustml_kit::field::fe;

/// An assigned advice cell as regions hand them out.
pub type ACell<'v> = halo2_proofs::circuit::AssignedCell<&'v halo2_proofs::plonk::Assigned<Fr>, Fr>;
