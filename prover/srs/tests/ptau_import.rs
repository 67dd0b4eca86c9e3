//! snarkjs .ptau import, against files written from a known τ.

use halo2_proofs::arithmetic::{best_multiexp, eval_polynomial, kate_division};
use halo2_proofs::halo2curves::bn256::{pairing, Bn256, Fr, G1Affine, G2Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::Curve;
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
