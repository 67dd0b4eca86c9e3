//! snarkjs .ptau import, against files written from a known τ and against a real ceremony
//! file made by the snarkjs npm package (`tests/data/ceremony_8.ptau`, see its README).

use halo2_proofs::arithmetic::{best_multiexp, eval_polynomial, kate_division};
use halo2_proofs::halo2curves::bn256::{pairing, Bn256, Fr, G1Affine, G2Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::Curve;
use halo2_proofs::halo2curves::CurveAffine;
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha3::{Digest, Sha3_256};
use std::fs;
use std::path::{Path, PathBuf};
use trustml_srs::{import_ptau, write_ptau_for_tests, Provenance, Srs, SrsError};

fn bytes(p: &ParamsKZG<Bn256>) -> Vec<u8> {
    let mut v = Vec::new();
    p.write_custom(&mut v, SerdeFormat::RawBytes).unwrap();
    v
}

/// τ drawn exactly as `ParamsKZG::setup(k, ChaCha20Rng::seed_from_u64(seed))` draws it.
fn tau_for_seed(seed: u64) -> Fr {
    Fr::random(ChaCha20Rng::seed_from_u64(seed))
}

fn ptau(dir: &Path, seed: u64, power: u32) -> PathBuf {
    let path = dir.join(format!("test_{power}.ptau"));
    write_ptau_for_tests(&path, tau_for_seed(seed), power).unwrap();
    path
}

// Offsets in files written by `write_ptau_for_tests`.
const HDR_DATA: usize = 12 + 12; // file header + section-1 header
const Q_OFF: usize = HDR_DATA + 4;
const G1_DATA: usize = HDR_DATA + 44 + 12;

#[test]
fn import_matches_setup_with_same_tau() {
    let dir = tempfile::tempdir().unwrap();
    for power in 4..=6u32 {
        let seed = 1000 + power as u64;
        let path = ptau(dir.path(), seed, power);
        for k in [1, power - 1, power] {
            let srs = import_ptau(&path, k).unwrap();
            assert_eq!(srs.k(), k);
            assert!(!srs.is_insecure());
            let expected = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::seed_from_u64(seed));
            assert_eq!(bytes(&srs.params), bytes(&expected), "power {power} k {k}");
            match &srs.provenance {
                Provenance::Ceremony {
                    source_file,
                    source_sha3_256,
                    power: p,
                } => {
                    assert_eq!(source_file, &format!("test_{power}.ptau"));
                    assert_eq!(*p, power);
                    let digest: [u8; 32] = Sha3_256::digest(fs::read(&path).unwrap()).into();
                    assert_eq!(source_sha3_256, &digest);
                }
                other => panic!("unexpected provenance {other:?}"),
            }
        }
    }
}

#[test]
fn imported_powers_are_tau_powers() {
    let dir = tempfile::tempdir().unwrap();
    let tau = tau_for_seed(3);
    let path = ptau(dir.path(), 3, 4);
    let srs = import_ptau(&path, 4).unwrap();
    let mut s = Fr::ONE;
    for (i, p) in srs.params.get_g().iter().enumerate() {
        assert_eq!(*p, (G1Affine::generator() * s).to_affine(), "power {i}");
        s *= tau;
    }
    assert_eq!(srs.params.g2(), G2Affine::generator());
    assert_eq!(srs.params.s_g2(), (G2Affine::generator() * tau).to_affine());
}

/// A plain KZG opening with the imported parameters:
/// e(C - p(z)·G1, G2) == e(π, τ·G2 - z·G2) with π = commit((p(X) - p(z)) / (X - z)).
#[test]
fn imported_params_open_a_kzg_commitment() {
    let dir = tempfile::tempdir().unwrap();
    let path = ptau(dir.path(), 11, 5);
    let srs = import_ptau(&path, 5).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let poly: Vec<Fr> = (0..32).map(|_| Fr::random(&mut rng)).collect();
    let z = Fr::random(&mut rng);
    let g = srs.params.get_g();
    let c: G1 = best_multiexp(&poly, g);
    let y = eval_polynomial(&poly, z);
    let q: Vec<Fr> = kate_division(&poly, z);
    let pi: G1 = best_multiexp(&q, &g[..q.len()]);
    let lhs = pairing(
        &(c - G1Affine::generator() * y).to_affine(),
        &srs.params.g2(),
    );
    let rhs_g2 = (srs.params.s_g2() - G2Affine::generator() * z).to_affine();
    assert_eq!(lhs, pairing(&pi.to_affine(), &rhs_g2));
    // a wrong evaluation does not verify
    let bad = pairing(
        &(c - G1Affine::generator() * (y + Fr::ONE)).to_affine(),
        &srs.params.g2(),
    );
    assert_ne!(bad, pairing(&pi.to_affine(), &rhs_g2));
}

#[test]
fn import_then_write_read_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let path = ptau(dir.path(), 4, 4);
    let srs = import_ptau(&path, 3).unwrap();
    let out = dir.path().join("imported.srs");
    srs.write(&out).unwrap();
    let back = Srs::read(&out).unwrap();
    assert!(!back.is_insecure());
    assert_eq!(back.provenance, srs.provenance);
    assert_eq!(bytes(&back.params), bytes(&srs.params));
}

#[test]
fn k_above_power_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = ptau(dir.path(), 5, 4);
    let err = import_ptau(&path, 5).unwrap_err();
    assert!(
        matches!(err, SrsError::PtauTooSmall { power: 4, k: 5, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("power 4") && msg.contains(">= 5"), "{msg}");
}

fn import_modified(seed: u64, power: u32, k: u32, modify: impl FnOnce(&mut Vec<u8>)) -> SrsError {
    let dir = tempfile::tempdir().unwrap();
    let path = ptau(dir.path(), seed, power);
    let mut data = fs::read(&path).unwrap();
    modify(&mut data);
    fs::write(&path, &data).unwrap();
    import_ptau(&path, k).unwrap_err()
}

#[test]
fn corrupted_g1_point_is_rejected() {
    // flip a bit of tauG1[3].y: off the curve
    let err = import_modified(6, 4, 4, |d| d[G1_DATA + 3 * 64 + 40] ^= 1);
    assert!(matches!(err, SrsError::InvalidPtauPoint { .. }), "{err}");
    assert!(err.to_string().contains("tauG1[3]"), "{err}");
    // coordinate >= q
    let err = import_modified(6, 4, 4, |d| {
        d[G1_DATA + 64 + 31] = 0xff;
    });
    assert!(matches!(err, SrsError::InvalidPtauPoint { .. }), "{err}");
}

#[test]
fn swapped_valid_points_fail_the_pairing_check() {
    // swap tauG1[2] and tauG1[3]: both on the curve, but not consecutive powers
    let err = import_modified(7, 4, 4, |d| {
        let a = G1_DATA + 2 * 64;
        let (x, y) = d.split_at_mut(a + 64);
        x[a..a + 64].swap_with_slice(&mut y[..64]);
    });
    assert!(matches!(err, SrsError::InvalidPtauPoint { .. }), "{err}");
    assert!(err.to_string().contains("pairing check failed"), "{err}");
}

#[test]
fn corrupted_g2_point_is_rejected() {
    let power = 4u32;
    let g1_bytes = ((1usize << (power + 1)) - 1) * 64;
    let g2_data = G1_DATA + g1_bytes + 12;
    // tauG2[1].x.c1 bit flip
    let err = import_modified(8, power, 2, |d| d[g2_data + 128 + 40] ^= 1);
    assert!(matches!(err, SrsError::InvalidPtauPoint { .. }), "{err}");
    assert!(err.to_string().contains("tauG2[1]"), "{err}");
    // swapped c0/c1 of tauG2[0].x (wrong Fq2 order) is caught as well
    let err = import_modified(8, power, 2, |d| {
        let a = g2_data;
        let (x, y) = d.split_at_mut(a + 32);
        x[a..a + 32].swap_with_slice(&mut y[..32]);
    });
    assert!(matches!(err, SrsError::InvalidPtauPoint { .. }), "{err}");
}

#[test]
fn wrong_field_prime_is_rejected() {
    let err = import_modified(9, 4, 2, |d| d[Q_OFF] ^= 2);
    assert!(matches!(err, SrsError::BadPtau { .. }), "{err}");
    assert!(err.to_string().contains("BN254"), "{err}");
}

#[test]
fn bad_magic_version_and_truncation_are_rejected() {
    let err = import_modified(10, 4, 2, |d| d[0] = b'x');
    assert!(matches!(err, SrsError::BadPtau { .. }), "{err}");
    let err = import_modified(10, 4, 2, |d| d[4] = 2);
    assert!(err.to_string().contains("version 2"), "{err}");
    let err = import_modified(10, 4, 2, |d| d.truncate(d.len() - 1));
    assert!(err.to_string().contains("truncated"), "{err}");
    let err = import_modified(10, 4, 2, |d| d.truncate(G1_DATA + 100));
    assert!(matches!(err, SrsError::BadPtau { .. }), "{err}");
    let err = import_modified(10, 4, 2, |d| d.truncate(5));
    assert!(matches!(err, SrsError::BadPtau { .. }), "{err}");
}

#[test]
fn missing_ptau_file_is_io_error() {
    let err = import_ptau(Path::new("/nonexistent/x.ptau"), 2).unwrap_err();
    assert!(matches!(err, SrsError::Io { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------------
// A real ceremony file: `tests/data/ceremony_8.ptau`, made by the snarkjs npm package
// (`tests/data/make_ptau.sh`: new → contribute → beacon → prepare phase2), not by us.

const CEREMONY: &str = "ceremony_8.ptau";
const CEREMONY_POWER: u32 = 8;

fn ceremony_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(CEREMONY)
}

/// The sections of a ptau file: type → (data offset, size).
fn ptau_sections(d: &[u8]) -> Vec<(u32, usize, usize)> {
    let u32_at = |o: usize| u32::from_le_bytes(d[o..o + 4].try_into().unwrap());
    assert_eq!(&d[..4], b"ptau");
    let mut out = vec![];
    let mut pos = 12;
    for _ in 0..u32_at(8) {
        let ty = u32_at(pos);
        let size = u64::from_le_bytes(d[pos + 4..pos + 12].try_into().unwrap()) as usize;
        out.push((ty, pos + 12, size));
        pos += 12 + size;
    }
    assert_eq!(pos, d.len(), "sections cover the file");
    out
}

/// snarkjs encodes G1 affine points as x ‖ y, little-endian Montgomery (x·2^256 mod q).
fn g1_lem(b: &[u8]) -> G1Affine {
    use halo2_proofs::halo2curves::bn256::Fq;
    use halo2_proofs::halo2curves::serde::SerdeObject;
    let x = Fq::from_raw_bytes(&b[..32]).expect("x < q");
    let y = Fq::from_raw_bytes(&b[32..64]).expect("y < q");
    G1Affine::from_xy(x, y).expect("on curve")
}

#[test]
fn snarkjs_ceremony_file_imports() {
    let path = ceremony_path();
    let data = fs::read(&path).unwrap();
    // What snarkjs writes for a ceremony's final file: sections 1-7 as ours, plus the
    // Lagrange sections 12-15 of `prepare phase2` (ignored by the importer), and a real
    // contributions section (ours is empty).
    let sections = ptau_sections(&data);
    let types: Vec<u32> = sections.iter().map(|s| s.0).collect();
    assert_eq!(types, [1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15]);

    let srs = import_ptau(&path, CEREMONY_POWER).unwrap();
    assert_eq!(srs.k(), CEREMONY_POWER);
    assert!(!srs.is_insecure());
    let label = srs.provenance.to_string();
    assert!(
        label.starts_with("ceremony file ceremony_8.ptau (power 8") && !label.contains("INSECURE"),
        "{label}"
    );
    match &srs.provenance {
        Provenance::Ceremony {
            source_file,
            source_sha3_256,
            power,
        } => {
            assert_eq!(source_file, CEREMONY);
            assert_eq!(*power, CEREMONY_POWER);
            let digest: [u8; 32] = Sha3_256::digest(&data).into();
            assert_eq!(source_sha3_256, &digest);
        }
        other => panic!("unexpected provenance {other:?}"),
    }
    // Points on the curve, the generators first, a real (non-trivial) τ.
    let g = srs.params.get_g();
    assert_eq!(g.len(), 1 << CEREMONY_POWER);
    assert!(g.iter().all(|p| bool::from(p.is_on_curve())));
    assert_eq!(g[0], G1Affine::generator());
    assert_ne!(g[1], G1Affine::generator());
    assert_eq!(srs.params.g2(), G2Affine::generator());
    assert_ne!(srs.params.s_g2(), G2Affine::generator());

    // The imported powers are what snarkjs wrote in tauG1 (section 2).
    let (_, g1_off, _) = sections.iter().find(|s| s.0 == 2).copied().unwrap();
    for (i, p) in g.iter().enumerate() {
        let o = g1_off + 64 * i;
        assert_eq!(*p, g1_lem(&data[o..o + 64]), "tauG1[{i}]");
    }

    // Our Lagrange basis (an FFT of the powers) against snarkjs's own (section 12 holds, for
    // each p = 0..=power+1, the 2^p points L_i(τ)·G1). snarkjs's root of unity (5^t) is not
    // halo2curves' (7^t): the same domain in another order, so compare them as sets.
    let (_, l_off, _) = sections.iter().find(|s| s.0 == 12).copied().unwrap();
    for k in [3u32, CEREMONY_POWER] {
        let srs_k = if k == CEREMONY_POWER {
            srs.clone()
        } else {
            srs.downsized(k).unwrap()
        };
        let n = 1usize << k;
        let start = l_off + 64 * (n - 1);
        let mut theirs: Vec<&[u8]> = data[start..start + 64 * n].chunks(64).collect();
        // `write_custom(RawBytes)` is k ‖ g ‖ g_lagrange ‖ g2 ‖ s_g2 with G1 points in the
        // same little-endian Montgomery encoding as the ptau file.
        let raw = bytes(&srs_k.params);
        let mut ours: Vec<&[u8]> = raw[4 + 64 * n..4 + 128 * n].chunks(64).collect();
        theirs.sort();
        ours.sort();
        assert_eq!(ours, theirs, "Lagrange basis at k = {k}");
    }

    // Any smaller k: the same as downsizing, same provenance.
    let small = import_ptau(&path, 5).unwrap();
    let down = srs.downsized(5).unwrap();
    assert_eq!(small.k(), 5);
    assert_eq!(bytes(&small.params), bytes(&down.params));
    assert_eq!(down.provenance, srs.provenance);
    assert!(matches!(
        srs.downsized(CEREMONY_POWER + 1),
        Err(SrsError::NotEnoughPoints { .. })
    ));
    // Too large a k for the file.
    assert!(matches!(
        import_ptau(&path, CEREMONY_POWER + 1),
        Err(SrsError::PtauTooSmall { power: 8, k: 9, .. })
    ));
    // Stored and read back as a ceremony SRS.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ceremony.srs");
    down.write(&out).unwrap();
    let back = Srs::read(&out).unwrap();
    assert!(!back.is_insecure());
    assert_eq!(back.provenance, srs.provenance);
    assert_eq!(bytes(&back.params), bytes(&down.params));
}

/// A plain KZG opening verifies with the ceremony's parameters (τ unknown to anyone here).
#[test]
fn snarkjs_ceremony_params_open_a_kzg_commitment() {
    let srs = import_ptau(&ceremony_path(), 6).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let poly: Vec<Fr> = (0..64).map(|_| Fr::random(&mut rng)).collect();
    let z = Fr::random(&mut rng);
    let g = srs.params.get_g();
    let c: G1 = best_multiexp(&poly, g);
    let y = eval_polynomial(&poly, z);
    let q: Vec<Fr> = kate_division(&poly, z);
    let pi: G1 = best_multiexp(&q, &g[..q.len()]);
    let lhs = pairing(
        &(c - G1Affine::generator() * y).to_affine(),
        &srs.params.g2(),
    );
    let rhs_g2 = (srs.params.s_g2() - G2Affine::generator() * z).to_affine();
    assert_eq!(lhs, pairing(&pi.to_affine(), &rhs_g2));
}
