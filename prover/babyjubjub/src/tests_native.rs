use halo2_proofs::halo2curves::ff::Field;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::curve::{subgroup_order, Point};
use crate::encryption::{decode_tokens, decrypt, encode_tokens, encrypt};
use crate::{keygen, random_scalar, Error, Fr};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn random_point(rng: &mut StdRng) -> Point {
    Point::generator().mul(&random_scalar(rng))
}

#[test]
fn generator_on_curve_and_order_l() {
    let g = Point::generator();
    assert!(g.is_on_curve());
    assert!(g.is_valid_public_key());
    assert!(g.is_in_subgroup());
    assert_eq!(g.mul(&subgroup_order()), Point::identity());
    assert_ne!(g.mul(&(subgroup_order() - Fr::ONE)), Point::identity());
    assert_eq!(g.mul(&(subgroup_order() - Fr::ONE)), g.neg());
    assert!(Point::identity().is_on_curve());
    assert!(!Point::identity().is_valid_public_key());
}

#[test]
fn add_is_a_group_law() {
    let mut r = rng(1);
    for _ in 0..5 {
        let (p, q, s) = (
            random_point(&mut r),
            random_point(&mut r),
            random_point(&mut r),
        );
        assert_eq!(p.add(&q), q.add(&p));
        assert_eq!(p.add(&q).add(&s), p.add(&q.add(&s)));
        assert_eq!(p.add(&Point::identity()), p);
        assert_eq!(p.add(&p.neg()), Point::identity());
        assert!(p.add(&q).is_on_curve());
        assert_eq!(p.double(), p.mul(&Fr::from(2u64)));
    }
}

#[test]
fn scalar_mul_is_linear_and_ecdh_symmetric() {
    let mut r = rng(2);
    let g = Point::generator();
    let (a, b) = (random_scalar(&mut r), random_scalar(&mut r));
    assert_eq!(g.mul(&a).add(&g.mul(&b)), g.mul(&(a + b)));
    assert_eq!(g.mul(&b).mul(&a), g.mul(&a).mul(&b));
    let (sk_a, pk_a) = keygen(&mut r);
    let (sk_b, pk_b) = keygen(&mut r);
    assert_eq!(pk_b.mul(&sk_a), pk_a.mul(&sk_b));
    assert!(pk_a.is_valid_public_key() && pk_a.is_in_subgroup());
}

#[test]
fn small_order_points_are_rejected() {
    // (0, -1) has order 2; a point of order 8 exists on the curve but (0, -1) suffices.
    let p = Point {
        x: Fr::ZERO,
        y: -Fr::ONE,
    };
    assert!(p.is_on_curve());
    assert!(p.is_small_order());
    assert!(!p.is_valid_public_key());
    // Off-curve.
    let q = Point {
        x: Fr::ONE,
        y: Fr::ONE,
    };
    assert!(!q.is_on_curve() && !q.is_valid_public_key());
    assert_eq!(
        encrypt(&[Fr::ONE], &Fr::ONE, &q, Fr::from(1u64)),
        Err(Error::InvalidPoint)
    );
    assert_eq!(
        encrypt(&[Fr::ONE], &Fr::ONE, &p, Fr::from(1u64)),
        Err(Error::InvalidPoint)
    );
}

#[test]
fn encryption_round_trip_and_failures() {
    let mut r = rng(3);
    let (sk_b, pk_b) = keygen(&mut r);
    let tokens: Vec<u16> = vec![0, 1, 65535, 42, 1234, 7];
    let m = encode_tokens(&tokens);
    let eph = random_scalar(&mut r);
    let ct = encrypt(&m, &eph, &pk_b, Fr::from(77u64)).unwrap();
    assert_eq!(ct.r_point, Point::generator().mul(&eph));
    assert_ne!(ct.blocks, m);
    let back = decrypt(&ct, &sk_b, Fr::from(77u64)).unwrap();
    assert_eq!(back, m);
    assert_eq!(decode_tokens(&back).unwrap(), tokens);
    // Wrong key.
    let (sk_other, _) = keygen(&mut r);
    let bad = decrypt(&ct, &sk_other, Fr::from(77u64)).unwrap();
    assert!(bad.iter().zip(&m).all(|(a, b)| a != b));
    assert!(decode_tokens(&bad).is_none());
    // Wrong order id.
    let bad = decrypt(&ct, &sk_b, Fr::from(78u64)).unwrap();
    assert!(bad.iter().zip(&m).all(|(a, b)| a != b));
    assert!(decode_tokens(&bad).is_none());
    // Same prompt, other order: unrelated ciphertext blocks.
    let ct2 = encrypt(&m, &eph, &pk_b, Fr::from(78u64)).unwrap();
    assert!(ct2.blocks.iter().zip(&ct.blocks).all(|(a, b)| a != b));
    assert_eq!(
        encrypt(&m, &Fr::ZERO, &pk_b, Fr::from(1u64)),
        Err(Error::ZeroScalar)
    );
}

fn pt(x: &str, y: &str) -> Point {
    use halo2_proofs::halo2curves::ff::PrimeField;
    Point {
        x: Fr::from_str_vartime(x).unwrap(),
        y: Fr::from_str_vartime(y).unwrap(),
    }
}

/// circomlib / circomlibjs `test/babyjub.js` vectors (external cross-check of the curve).
#[test]
fn circomlib_vectors() {
    let p = pt(
        "17777552123799933955779906779655732241715742912184938656739573121738514868268",
        "2626589144620713026669568689430873010625803728049924121243784502389097019475",
    );
    let q = pt(
        "16540640123574156134436876038791482806971768689494387082833631921987005038935",
        "20819045374670962167435360035096875258406992893633759881276124905556507972311",
    );
    assert!(p.is_on_curve() && q.is_on_curve());
    assert_eq!(
        p.add(&p),
        pt(
            "6890855772600357754907169075114257697580319025794532037257385534741338397365",
            "4338620300185947561074059802482547481416142213883829469920100239455078257889"
        )
    );
    assert_eq!(
        p.add(&q),
        pt(
            "7916061937171219682591368294088513039687205273691143098332585753343424131937",
            "14035240266687799601661095864649209771790948434046947201833777492504781204499"
        )
    );
    assert_eq!(
        p.mul(&Fr::from(3u64)),
        pt(
            "19372461775513343691590086534037741906533799473648040012278229434133483800898",
            "9458658722007214007257525444427903161243386465067105737478306991484593958249"
        )
    );
}
