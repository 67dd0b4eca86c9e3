use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Circuit, Column, ConstraintSystem, Error, Instance};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::curve::{scalar_bits, Point};
use crate::ecc_chip::{canonical_bits, EccChip, EccConfig};
use crate::{keygen, random_scalar, Fr};

// ---------------------------------------------------------------- EccChip

/// `R = r·B8` (bits overridable) and `S = r·PK` (bits overridable, optionally shared with R's).
#[derive(Clone, Debug)]
struct EccCircuit {
    r: Fr,
    pk: Point,
    /// Bits (most significant first) used for `R` instead of the canonical ones.
    bits_r: Option<Vec<Fr>>,
    /// Bits (most significant first) used for `S` instead of the canonical ones.
    bits_s: Option<Vec<Fr>>,
    share: bool,
}

#[derive(Clone, Debug)]
struct EccTestConfig {
    ecc: EccConfig,
    instance: Column<Instance>,
}

impl Circuit<Fr> for EccCircuit {
    type Config = EccTestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = ();

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> EccTestConfig {
        let ecc = EccChip::configure(meta);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        EccTestConfig { ecc, instance }
    }

    fn synthesize(&self, cfg: EccTestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let chip = EccChip::new(cfg.ecc);
        let r = chip.assign_scalar(&mut layouter, Value::known(self.r))?;
        let pk = chip.assign_point(&mut layouter, Value::known(self.pk))?;
        let bits = |o: &Option<Vec<Fr>>| Value::known(o.clone().unwrap_or(canonical_bits(self.r)));
        let big_r = chip.mul_with_bits(&mut layouter, &r, None, None, bits(&self.bits_r))?;
        let share = self.share.then_some(&big_r.bits[..]);
        let s = chip.mul_with_bits(&mut layouter, &r, Some(&pk), share, bits(&self.bits_s))?;
        for (i, c) in [&big_r.point.x, &big_r.point.y, &s.point.x, &s.point.y]
            .into_iter()
            .enumerate()
        {
            layouter.constrain_instance(c.cell(), cfg.instance, i);
        }
        assert_eq!(chip.rows_used(), 2 + 2 * crate::ROWS_PER_MUL);
        Ok(())
    }
}

const ECC_K: u32 = 11;

fn run(c: &impl Circuit<Fr>, k: u32, instance: Vec<Fr>) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(k, c, vec![instance])
        .expect("synthesis")
        .verify()
}

fn honest_ecc(seed: u64) -> (EccCircuit, Vec<Fr>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (_, pk) = keygen(&mut rng);
    let r = random_scalar(&mut rng);
    let (big_r, s) = (Point::generator().mul(&r), pk.mul(&r));
    let c = EccCircuit {
        r,
        pk,
        bits_r: None,
        bits_s: None,
        share: true,
    };
    (c, vec![big_r.x, big_r.y, s.x, s.y])
}

/// Output of the chip's double-and-add on arbitrary (possibly non-boolean) bits.
fn trace_output(base: Point, bits_msb_first: &[Fr]) -> Point {
    bits_msb_first.iter().fold(Point::identity(), |acc, b| {
        let d = acc.double();
        let s = d.add(&base);
        Point {
            x: d.x + *b * (s.x - d.x),
            y: d.y + *b * (s.y - d.y),
        }
    })
}

#[test]
fn ecc_honest_accepted() {
    let (c, inst) = honest_ecc(10);
    assert_eq!(run(&c, ECC_K, inst), Ok(()));
}

#[test]
fn ecc_wrong_output_rejected() {
    let (c, mut inst) = honest_ecc(11);
    let g = Point::generator();
    let wrong_r = Point {
        x: inst[0],
        y: inst[1],
    }
    .add(&g);
    inst[0] = wrong_r.x;
    assert!(run(&c, ECC_K, inst.clone()).is_err());
    inst[0] = g.x; // R = B8 (as if r = 1)
    inst[1] = g.y;
    assert!(run(&c, ECC_K, inst).is_err());
    let (c, mut inst) = honest_ecc(12);
    inst[3] += Fr::ONE; // wrong S.y
    assert!(run(&c, ECC_K, inst).is_err());
}

#[test]
fn ecc_non_boolean_bit_rejected() {
    let (mut c, mut inst) = honest_ecc(13);
    // LE bits i, i+1 = (0, 1) -> (2, 0): same recomposition, trace consistent otherwise.
    let le = scalar_bits(&c.r);
    let i = (0..253).find(|&i| !le[i] && le[i + 1]).unwrap();
    let mut bits = canonical_bits(c.r); // MSB first: LE bit i is at 253 - i
    bits[253 - i] = Fr::from(2);
    bits[253 - (i + 1)] = Fr::ZERO;
    let recomposed = bits.iter().fold(Fr::ZERO, |z, b| z.double() + b);
    assert_eq!(recomposed, c.r);
    let forged = trace_output(Point::generator(), &bits);
    inst[0] = forged.x;
    inst[1] = forged.y;
    c.bits_r = Some(bits);
    c.share = false;
    let errs = run(&c, ECC_K, inst).unwrap_err();
    let msg = format!("{errs:?}");
    assert!(msg.contains("babyjub step"), "{msg}");
}

#[test]
fn ecc_bits_not_recomposing_rejected() {
    let (mut c, mut inst) = honest_ecc(14);
    let other = c.r + Fr::ONE;
    let forged = Point::generator().mul(&other);
    inst[0] = forged.x;
    inst[1] = forged.y;
    c.bits_r = Some(canonical_bits(other));
    c.share = false;
    assert!(run(&c, ECC_K, inst).is_err());
}

/// Bits of the integer `r + p` (valid for `r < 2^254 − p`), most significant first.
fn aliased_bits(r: Fr) -> Vec<Fr> {
    let a = scalar_bits(&r);
    let mut p = scalar_bits(&(-Fr::ONE)); // p − 1
                                          // p − 1 is even, so p = (p − 1) with bit 0 set.
    assert!(!p[0]);
    p[0] = true;
    let mut carry = false;
    let mut out = Vec::with_capacity(254);
    for i in 0..254 {
        let s = a[i] as u8 + p[i] as u8 + carry as u8;
        out.push(s & 1 == 1);
        carry = s >= 2;
    }
    assert!(!carry);
    out.into_iter()
        .rev()
        .map(|b| if b { Fr::ONE } else { Fr::ZERO })
        .collect()
}

#[test]
fn ecc_shared_bits_prevent_aliased_scalar() {
    let (mut c, inst) = honest_ecc(15);
    let bits = aliased_bits(c.r);
    let s_alias = trace_output(c.pk, &bits);
    assert_ne!(s_alias, c.pk.mul(&c.r));
    let mut inst_alias = inst.clone();
    inst_alias[2] = s_alias.x;
    inst_alias[3] = s_alias.y;
    c.bits_s = Some(bits);
    // Without sharing, the alias r + p recomposes to r and is accepted (documented) ...
    c.share = false;
    assert_eq!(run(&c, ECC_K, inst_alias.clone()), Ok(()));
    // ... with shared bits it is rejected.
    c.share = true;
    assert!(run(&c, ECC_K, inst_alias).is_err());
}

#[test]
fn ecc_off_curve_base_rejected() {
    let (mut c, _) = honest_ecc(16);
    c.pk = Point {
        x: Fr::from(3),
        y: Fr::from(5),
    };
    let s = trace_output(c.pk, &canonical_bits(c.r));
    let big_r = Point::generator().mul(&c.r);
    let errs = run(&c, ECC_K, vec![big_r.x, big_r.y, s.x, s.y]).unwrap_err();
    // Only the on-curve constraint (index 12 of the step gate) can fail: the trace itself
    // follows the addition formulas.
    let msg = format!("{errs:?}");
    assert!(msg.contains("babyjub step"), "{msg}");
    assert!(msg.contains("index: 12"), "{msg}");
}

#[test]
fn chip_shape_matches_its_constants() {
    let mut cs = ConstraintSystem::<Fr>::default();
    let _ = EccChip::configure(&mut cs);
    assert_eq!(cs.num_advice_columns(), crate::ecc_chip::NUM_ADVICE_COLUMNS);
    assert_eq!(cs.num_selectors(), crate::ecc_chip::NUM_SELECTORS);
    assert_eq!(cs.num_fixed_columns(), 1, "the constants column");
}

/// `u = dx·dy` is what ties the addition's denominators to the doubled point: with `u`
/// forged at the last step (and the sum `(sx, sy)` solved for it, and the output following),
/// every constraint but `u − dx·dy` holds and the result is a point of the prover's choice.
#[test]
fn ecc_forged_u_is_rejected_by_its_constraint() {
    use crate::curve::{coeff_a, coeff_d};
    use trustml_kit::cells::{check_forged_all, run_tapped, Forge};
    use trustml_kit::mock::Failure;
    // An odd r: the last step adds the base (b = 1), so the output is (sx, sy).
    let (c, inst) = (10..)
        .map(honest_ecc)
        .find(|(c, _)| canonical_bits(c.r).last() == Some(&Fr::ONE))
        .unwrap();
    let (_, tape) = run_tapped(ECC_K, &c, vec![inst.clone()], None);
    // R = r·B8 is the first multiplication: rows 2.. ; its last step is j = 253.
    let (row_a, row_b, out) = (2 + 2 * 253, 3 + 2 * 253, 2 + 2 * 254);
    let v = |col: usize, row: usize| tape.advice[&(col, row)];
    let (dx, dy, px, py, u) = (
        v(5, row_a),
        v(0, row_b),
        v(2, row_b),
        v(3, row_b),
        v(1, row_b),
    );
    assert_eq!(u, dx * dy);
    let (a, d) = (coeff_a(), coeff_d());
    let u2 = u + Fr::ONE;
    let dup = d * u2 * px * py;
    let sx = (dx * py + dy * px) * (Fr::ONE + dup).invert().unwrap();
    let sy = (dy * py - a * dx * px) * (Fr::ONE - dup).invert().unwrap();
    let forge = |column, row, value| Forge {
        column,
        row,
        value,
        propagate: true,
    };
    let forges = [
        forge(1, row_b, u2),
        forge(4, row_b, sx),
        forge(5, row_b, sy),
        forge(2, out, sx),
        forge(3, out, sy),
    ];
    let claimed = vec![sx, sy, inst[2], inst[3]];
    assert_ne!((sx, sy), (inst[0], inst[1]));
    let fails = check_forged_all(ECC_K, &c, vec![claimed], &forges).unwrap_err();
    assert_eq!(
        fails.into_iter().collect::<Vec<_>>(),
        vec![Failure::Gate {
            gate: "babyjub step".into(),
            constraint: String::new()
        }]
    );
}
