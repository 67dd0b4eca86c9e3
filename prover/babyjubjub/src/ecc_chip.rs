//! A halo2 chip for Baby Jubjub scalar multiplication over the native field (BN254 `Fr`).
//!
//! # Layout
//!
//! [`NUM_ADVICE_COLUMNS`] advice columns `c0..c5`, only `c0..c3` equality-enabled (every cell that is copied —
//! bits, scalars, points, the base — sits there; a permutation column is a commitment too)
//! (allocated by [`EccChip::configure`] or
//! shared with the rest of the circuit via [`EccChip::configure_with`]: every column costs a
//! commitment per proof and ~6k gas per on-chain verification, rows are nearly free), one
//! fixed column registered with `enable_constant`, and [`NUM_SELECTORS`] selector. A scalar
//! multiplication `k·P` takes [`ROWS_PER_MUL`] rows: 254 steps of two rows (one per scalar bit, most
//! significant first), an output row and one more row (the base's last copy). Step `j` (bit `i = 253 − j`) holds
//!
//! ```text
//!          c0   c1   c2   c3   c4   c5
//! row A:   b    z    x    y    t    dx      (selector here)
//! row B:   dy   u    px   py   sx   sy
//! ```
//!
//! ```text
//! (x, y)   accumulator entering the step        (step 0: the constant identity (0, 1))
//! z        recomposed scalar so far             (step 0: the constant 0)
//! t        = x·y
//! (dx, dy) = 2·(x, y):   dx·(1 + d·t²) = 2t,   dy·(1 − d·t²) = y² − a·x²
//! u        = dx·dy
//! (sx, sy) = (dx, dy) + P:  sx·(1 + d·u·Px·Py) = dx·Py + dy·Px
//!                           sy·(1 − d·u·Px·Py) = dy·Py − a·dx·Px
//! b·(1 − b) = 0
//! next (x, y) = (dx, dy) + b·((sx, sy) − (dx, dy))     (row A of the next step)
//! next z      = 2z + b
//! ```
//!
//! One gate (selector `q_step`) serves both kinds of base: `P` lives in `px, py`, is copied
//! from the input point (variable base) or fixed to the constants `B8` (fixed base) in step 0,
//! propagated from step to step, and checked to be on the curve in every step (`a·Px² + Py² =
//! 1 + d·Px²·Py²`; once would do, but a single gate means a single selector column: each fixed
//! column costs a commitment in every proof). The output row has the layout of a row A and
//! holds the result in `(x, y)` and `z`, which is copy-constrained to the scalar cell. Max
//! gate degree: 5 (`q_step · sx · u · px · py`).
//!
//! # Why the product form is sound
//!
//! The addition law is complete on the curve (`d` is a non-square), so for an on-curve input
//! every denominator `1 ± d·(...)` is non-zero and each constraint `num = den·out` has exactly
//! one solution; by induction every accumulator is on the curve. This is why the variable
//! base must be checked on the curve (the identity start and `B8` are).
//!
//! # Bits
//!
//! The 254 bits recompose to the scalar mod `p`; an integer `k < 2^254 − p` also has the
//! decomposition `k + p`, which multiplies by a different scalar mod `l`. Circuits that must
//! use *the same* multiplier twice (e.g. `R = r·B8` and `S = r·PK`) therefore pass the bits of
//! the first multiplication to the second ([`EccChip::variable_base_mul`]'s `share_bits`),
//! which copy-constrains them bit by bit.
//!
//! # Row placement
//!
//! As for `trustml_poseidon::PoseidonChip`: halo2-axiom's `SimpleFloorPlanner` uses absolute
//! rows, so the chip keeps its own row cursor; use one chip per `synthesize`.

use std::cell::Cell as StdCell;

use halo2_proofs::circuit::{AssignedCell, Layouter, Region, Value};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{
    Advice, Assigned, Column, ConstraintSystem, Error, Expression, Fixed, Selector,
};
use halo2_proofs::poly::Rotation;

use crate::curve::{coeff_a, coeff_d, scalar_bits, Point, SCALAR_BITS};
use crate::Fr;

/// Rows used by one scalar multiplication: 254 steps of 2 rows, the output row, and the row
/// after it (where the last variable-base step reads the propagated base).
pub const ROWS_PER_MUL: usize = 2 * SCALAR_BITS + 2;
/// Advice columns of the chip.
pub const NUM_ADVICE_COLUMNS: usize = 6;
/// Selectors of the chip (one step gate for both kinds of base).
pub const NUM_SELECTORS: usize = 1;

/// An assigned advice cell.
pub type ACell<'v> = AssignedCell<&'v Assigned<Fr>, Fr>;

/// An assigned point (coordinates in the chip's columns).
#[derive(Clone, Debug)]
pub struct AssignedPoint<'v> {
    /// `x` coordinate.
    pub x: ACell<'v>,
    /// `y` coordinate.
    pub y: ACell<'v>,
}

impl AssignedPoint<'_> {
    /// The point's value.
    pub fn value(&self) -> Value<Point> {
        self.x.value().zip(self.y.value()).map(|(x, y)| Point {
            x: x.evaluate(),
            y: y.evaluate(),
        })
    }
}

/// Result of a scalar multiplication.
#[derive(Clone, Debug)]
pub struct MulOutput<'v> {
    /// `k·P`.
    pub point: AssignedPoint<'v>,
    /// The 254 scalar bits, little-endian (`bits[i]` is bit `i`).
    pub bits: Vec<ACell<'v>>,
}

/// Columns and selectors of the chip.
#[derive(Clone, Copy, Debug)]
pub struct EccConfig {
    /// The six advice columns (see the module docs for what each row holds).
    pub cols: [Column<Advice>; 6],
    /// Constants (identity, initial zero).
    pub constants: Column<Fixed>,
    /// A double-and-add step (either base).
    pub q_step: Selector,
}

/// Cell positions: `(rotation from row A, column index)`.
mod at {
    /// Scalar bit `b` (row A).
    pub const B: (i32, usize) = (0, 0);
    /// Recomposed scalar so far `z` (row A).
    pub const Z: (i32, usize) = (0, 1);
    /// Accumulator `x` (row A).
    pub const X: (i32, usize) = (0, 2);
    /// Accumulator `y` (row A).
    pub const Y: (i32, usize) = (0, 3);
    /// `t = x·y` (row A).
    pub const T: (i32, usize) = (0, 4);
    /// Doubled accumulator `dx` (row A).
    pub const DX: (i32, usize) = (0, 5);
    /// Doubled accumulator `dy` (row B).
    pub const DY: (i32, usize) = (1, 0);
    /// `u = dx·dy` (row B).
    pub const U: (i32, usize) = (1, 1);
    /// Base point `Px` (row B).
    pub const PX: (i32, usize) = (1, 2);
    /// Base point `Py` (row B).
    pub const PY: (i32, usize) = (1, 3);
    /// Sum `sx` of the doubled accumulator and the base (row B).
    pub const SX: (i32, usize) = (1, 4);
    /// Sum `sy` of the doubled accumulator and the base (row B).
    pub const SY: (i32, usize) = (1, 5);
}

/// Rows per step.
const STEP_ROWS: usize = 2;

/// Witness of one step row.
#[derive(Clone, Copy, Debug, Default)]
struct StepRow {
    b: Fr,
    z: Fr,
    x: Fr,
    y: Fr,
    t: Fr,
    dx: Fr,
    dy: Fr,
    u: Fr,
    sx: Fr,
    sy: Fr,
}

fn inv0(v: Fr) -> Fr {
    Option::from(v.invert()).unwrap_or(Fr::ZERO)
}

/// Step rows for `base`, bits given most significant first (values not necessarily boolean,
/// so tests can build traces of malicious bits), plus the output `(x, y, z)`.
fn trace(base: Point, bits_msb_first: &[Fr]) -> (Vec<StepRow>, [Fr; 3]) {
    let (a, d) = (coeff_a(), coeff_d());
    let (mut x, mut y, mut z) = (Fr::ZERO, Fr::ONE, Fr::ZERO);
    let mut rows = Vec::with_capacity(bits_msb_first.len());
    for &b in bits_msb_first {
        let t = x * y;
        let dt2 = d * t.square();
        let dx = t.double() * inv0(Fr::ONE + dt2);
        let dy = (y.square() - a * x.square()) * inv0(Fr::ONE - dt2);
        let u = dx * dy;
        let dup = d * u * base.x * base.y;
        let sx = (dx * base.y + dy * base.x) * inv0(Fr::ONE + dup);
        let sy = (dy * base.y - a * dx * base.x) * inv0(Fr::ONE - dup);
        rows.push(StepRow {
            b,
            z,
            x,
            y,
            t,
            dx,
            dy,
            u,
            sx,
            sy,
        });
        x = dx + b * (sx - dx);
        y = dy + b * (sy - dy);
        z = z.double() + b;
    }
    (rows, [x, y, z])
}

/// The chip. See the module docs.
#[derive(Debug)]
pub struct EccChip {
    config: EccConfig,
    start_row: usize,
    next_row: StdCell<usize>,
}

impl EccChip {
    /// Allocates the chip's columns and gates.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> EccConfig {
        let cols: [_; NUM_ADVICE_COLUMNS] = std::array::from_fn(|_| meta.advice_column());
        let constants = meta.fixed_column();
        Self::configure_with(meta, cols, constants)
    }

    /// The chip's gates over six advice columns the circuit already has (the first four are
    /// made equality-enabled; `constants` is registered with `enable_constant`). Other chips
    /// may share them outside this chip's rows.
    pub fn configure_with(
        meta: &mut ConstraintSystem<Fr>,
        cols: [Column<Advice>; 6],
        constants: Column<Fixed>,
    ) -> EccConfig {
        for c in &cols[..4] {
            meta.enable_equality(*c);
        }
        meta.enable_constant(constants);
        let config = EccConfig {
            cols,
            constants,
            q_step: meta.selector(),
        };

        let a = Expression::Constant(coeff_a());
        let d = Expression::Constant(coeff_d());
        let one = Expression::Constant(Fr::ONE);
        let q = move |meta: &mut halo2_proofs::plonk::VirtualCells<Fr>,
                      (rot, col): (i32, usize),
                      step: i32| {
            meta.query_advice(cols[col], Rotation(rot + STEP_ROWS as i32 * step))
        };

        // The step constraints for base (px, py) given as expressions.
        let step = |meta: &mut halo2_proofs::plonk::VirtualCells<Fr>,
                    px: Expression<Fr>,
                    py: Expression<Fr>|
         -> Vec<Expression<Fr>> {
            let (b, z, x, y) = (
                q(meta, at::B, 0),
                q(meta, at::Z, 0),
                q(meta, at::X, 0),
                q(meta, at::Y, 0),
            );
            let (t, dx, dy, u) = (
                q(meta, at::T, 0),
                q(meta, at::DX, 0),
                q(meta, at::DY, 0),
                q(meta, at::U, 0),
            );
            let (sx, sy) = (q(meta, at::SX, 0), q(meta, at::SY, 0));
            let x_next = q(meta, at::X, 1);
            let y_next = q(meta, at::Y, 1);
            let z_next = q(meta, at::Z, 1);
            let dt2 = d.clone() * t.clone() * t.clone();
            let dup = d.clone() * u.clone() * px.clone() * py.clone();
            vec![
                t.clone() - x.clone() * y.clone(),
                dx.clone() * (one.clone() + dt2.clone()) - t.clone() - t,
                dy.clone() * (one.clone() - dt2) - (y.clone() * y - a.clone() * x.clone() * x),
                u - dx.clone() * dy.clone(),
                sx.clone() * (one.clone() + dup.clone())
                    - (dx.clone() * py.clone() + dy.clone() * px.clone()),
                sy.clone() * (one.clone() - dup) - (dy.clone() * py - a.clone() * dx.clone() * px),
                b.clone() * (one.clone() - b.clone()),
                x_next - (dx.clone() + b.clone() * (sx - dx)),
                y_next - (dy.clone() + b.clone() * (sy - dy)),
                z_next - (z.clone() + z + b),
            ]
        };

        if trustml_kit::mutation::keep("babyjub step") {
            meta.create_gate("babyjub step", |meta| {
                trustml_kit::mutation::constraints("babyjub step", {
                    let s = meta.query_selector(config.q_step);
                    let px = q(meta, at::PX, 0);
                    let py = q(meta, at::PY, 0);
                    let px_next = q(meta, at::PX, 1);
                    let py_next = q(meta, at::PY, 1);
                    let x2 = px.clone() * px.clone();
                    let y2 = py.clone() * py.clone();
                    let on_curve =
                        a.clone() * x2.clone() + y2.clone() - one.clone() - d.clone() * x2 * y2;
                    let mut cs = step(meta, px.clone(), py.clone());
                    cs.push(px_next - px);
                    cs.push(py_next - py);
                    cs.push(on_curve);
                    cs.into_iter().map(|e| s.clone() * e).collect::<Vec<_>>()
                })
            });
        }
        config
    }

    /// A chip placing its first assignment at row 0 of its columns.
    pub fn new(config: EccConfig) -> Self {
        Self::with_start_row(config, 0)
    }

    /// A chip placing its first assignment at absolute row `start_row` of its columns.
    pub fn with_start_row(config: EccConfig, start_row: usize) -> Self {
        Self {
            config,
            start_row,
            next_row: StdCell::new(start_row),
        }
    }

    /// The chip's configuration.
    pub fn config(&self) -> &EccConfig {
        &self.config
    }

    /// Rows used so far.
    pub fn rows_used(&self) -> usize {
        self.next_row.get() - self.start_row
    }

    fn take_rows(&self, n: usize) -> usize {
        let r = self.next_row.get();
        self.next_row.set(r + n);
        r
    }

    /// Witnesses a point in `(x, y)` of one row (no constraint; a variable-base
    /// multiplication checks its base is on the curve).
    pub fn assign_point<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        p: Value<Point>,
    ) -> Result<AssignedPoint<'v>, Error> {
        let row = self.take_rows(1);
        layouter.assign_region(
            || "babyjub point",
            |mut region| {
                Ok(AssignedPoint {
                    x: region.assign_advice(self.config.cols[at::X.1], row, p.map(|p| p.x)),
                    y: region.assign_advice(self.config.cols[at::Y.1], row, p.map(|p| p.y)),
                })
            },
        )
    }

    /// Witnesses a scalar in `z` of one row.
    pub fn assign_scalar<'v>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        k: Value<Fr>,
    ) -> Result<ACell<'v>, Error> {
        let row = self.take_rows(1);
        layouter.assign_region(
            || "babyjub scalar",
            |mut region| Ok(region.assign_advice(self.config.cols[at::Z.1], row, k)),
        )
    }

    /// `scalar·B8`. The scalar cell's column must be equality-enabled.
    pub fn fixed_base_mul<'v, V>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        scalar: &AssignedCell<V, Fr>,
    ) -> Result<MulOutput<'v>, Error>
    where
        V: Clone + Into<Assigned<Fr>>,
    {
        let bits = scalar_value(scalar).map(canonical_bits);
        self.mul_with_bits(layouter, scalar, None, None, bits)
    }

    /// `scalar·base`; constrains `base` to be on the curve. If `share_bits` is given (the
    /// little-endian bits of an earlier multiplication by the same scalar), the bits used
    /// here are copy-constrained to them.
    pub fn variable_base_mul<'v, V>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        scalar: &AssignedCell<V, Fr>,
        base: &AssignedPoint<'_>,
        share_bits: Option<&[ACell<'_>]>,
    ) -> Result<MulOutput<'v>, Error>
    where
        V: Clone + Into<Assigned<Fr>>,
    {
        let bits = scalar_value(scalar).map(canonical_bits);
        self.mul_with_bits(layouter, scalar, Some(base), share_bits, bits)
    }

    /// Scalar multiplication with explicit bit values (most significant first). Honest
    /// callers use [`Self::fixed_base_mul`] / [`Self::variable_base_mul`]; tests use this to
    /// build traces of malicious bits.
    pub(crate) fn mul_with_bits<'v, V>(
        &self,
        layouter: &mut impl Layouter<Fr>,
        scalar: &AssignedCell<V, Fr>,
        base: Option<&AssignedPoint<'_>>,
        share_bits: Option<&[ACell<'_>]>,
        bits_msb_first: Value<Vec<Fr>>,
    ) -> Result<MulOutput<'v>, Error>
    where
        V: Clone + Into<Assigned<Fr>>,
    {
        let cfg = self.config;
        let start = self.take_rows(ROWS_PER_MUL);
        let base_value = match base {
            Some(p) => p.value(),
            None => Value::known(Point::generator()),
        };
        let tr = base_value.zip(bits_msb_first).map(|(p, bits)| {
            assert_eq!(bits.len(), SCALAR_BITS);
            trace(p, &bits)
        });
        // Cell of `pos` in step `j` (the output row is "step 254", a row A).
        let cell = |j: usize, (rot, col): (i32, usize)| {
            (cfg.cols[col], start + STEP_ROWS * j + rot as usize)
        };
        layouter.assign_region(
            || "babyjub scalar mul",
            |mut region: Region<'_, Fr>| {
                let mut bit_cells = Vec::with_capacity(SCALAR_BITS);
                for j in 0..SCALAR_BITS {
                    let row = tr.as_ref().map(|t| t.0[j]);
                    let r = start + STEP_ROWS * j;
                    cfg.q_step.enable(&mut region, r)?;
                    let (c, rr) = cell(j, at::B);
                    bit_cells.push(region.assign_advice(c, rr, row.map(|w| w.b)));
                    if j == 0 {
                        for (pos, v) in [(at::Z, Fr::ZERO), (at::X, Fr::ZERO), (at::Y, Fr::ONE)] {
                            let (c, rr) = cell(j, pos);
                            region.assign_advice_from_constant(|| "identity / zero", c, rr, v)?;
                        }
                    } else {
                        for (pos, v) in [
                            (at::Z, row.map(|w| w.z)),
                            (at::X, row.map(|w| w.x)),
                            (at::Y, row.map(|w| w.y)),
                        ] {
                            let (c, rr) = cell(j, pos);
                            region.assign_advice(c, rr, v);
                        }
                    }
                    let vals = [
                        (at::T, row.map(|w| w.t)),
                        (at::DX, row.map(|w| w.dx)),
                        (at::DY, row.map(|w| w.dy)),
                        (at::U, row.map(|w| w.u)),
                        (at::SX, row.map(|w| w.sx)),
                        (at::SY, row.map(|w| w.sy)),
                    ];
                    for (pos, v) in vals {
                        let (c, rr) = cell(j, pos);
                        region.assign_advice(c, rr, v);
                    }
                }
                // The base: copied (variable) or the constants B8 (fixed) in step 0, then
                // propagated to the last step's successor row.
                let (cx, rx) = cell(0, at::PX);
                let (cy, ry) = cell(0, at::PY);
                match base {
                    Some(p) => {
                        p.x.copy_advice(&mut region, cx, rx);
                        p.y.copy_advice(&mut region, cy, ry);
                    }
                    None => {
                        let g = Point::generator();
                        region.assign_advice_from_constant(|| "B8.x", cx, rx, g.x)?;
                        region.assign_advice_from_constant(|| "B8.y", cy, ry, g.y)?;
                    }
                }
                for j in 1..=SCALAR_BITS {
                    let (cx, rx) = cell(j, at::PX);
                    let (cy, ry) = cell(j, at::PY);
                    region.assign_advice(cx, rx, base_value.map(|p| p.x));
                    region.assign_advice(cy, ry, base_value.map(|p| p.y));
                }
                let fin = tr.as_ref().map(|t| t.1);
                let out = |pos, i: usize| {
                    let (c, r) = cell(SCALAR_BITS, pos);
                    (c, r, fin.map(move |f: [Fr; 3]| f[i]))
                };
                let (c, r, v) = out(at::X, 0);
                let x = region.assign_advice(c, r, v);
                let (c, r, v) = out(at::Y, 1);
                let y = region.assign_advice(c, r, v);
                let (c, r, v) = out(at::Z, 2);
                let z = region.assign_advice(c, r, v);
                region.constrain_equal(z.cell(), scalar.cell());
                // Little-endian order for the caller.
                bit_cells.reverse();
                if let Some(shared) = share_bits {
                    assert_eq!(shared.len(), SCALAR_BITS);
                    for (mine, theirs) in bit_cells.iter().zip(shared) {
                        region.constrain_equal(mine.cell(), theirs.cell());
                    }
                }
                Ok(MulOutput {
                    point: AssignedPoint { x, y },
                    bits: bit_cells,
                })
            },
        )
    }
}

fn scalar_value<V: Clone + Into<Assigned<Fr>>>(cell: &AssignedCell<V, Fr>) -> Value<Fr> {
    cell.value().map(|v| v.clone().into().evaluate())
}

/// The canonical 254 bits of `k`, most significant first, as field elements.
pub(crate) fn canonical_bits(k: Fr) -> Vec<Fr> {
    scalar_bits(&k)
        .into_iter()
        .rev()
        .map(|b| if b { Fr::ONE } else { Fr::ZERO })
        .collect()
}
