//! SRS file format, generation and downsizing.

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::fs;
use trustml_srs::format::{FORMAT_VERSION, MAGIC};
use trustml_srs::{generate_insecure, Provenance, Srs, SrsError, VerifierSrs, INSECURE_WARNING};

fn bytes(p: &ParamsKZG<Bn256>) -> Vec<u8> {
    let mut v = Vec::new();
    p.write_custom(&mut v, SerdeFormat::RawBytes).unwrap();
    v
}

#[test]
fn generate_insecure_matches_halo2_setup() {
    for k in [1u32, 4, 7] {
        let ours = generate_insecure(k, Some(42 + k as u64));
        let theirs = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::seed_from_u64(42 + k as u64));
        assert_eq!(ours.k(), k);
        assert_eq!(bytes(&ours.params), bytes(&theirs), "k = {k}");
        assert!(ours.is_insecure());
        assert_eq!(
            ours.provenance,
            Provenance::InsecureDev {
                seed_hint: Some(42 + k as u64)
            }
        );
    }
}

#[test]
fn generate_insecure_without_seed_is_random() {
    let a = generate_insecure(3, None);
    let b = generate_insecure(3, None);
    assert_ne!(a.params.s_g2(), b.params.s_g2());
    assert_eq!(a.provenance, Provenance::InsecureDev { seed_hint: None });
}

#[test]
fn insecure_warning_is_explicit() {
    assert!(INSECURE_WARNING.contains("INSECURE"));
    assert!(INSECURE_WARNING.contains("forge"));
    assert!(INSECURE_WARNING.contains("development"));
}

#[test]
fn write_read_roundtrip_insecure() {
    let dir = tempfile::tempdir().unwrap();
    for (i, seed) in [Some(5u64), None].into_iter().enumerate() {
        let srs = generate_insecure(5, seed);
        let path = dir.path().join(format!("dev{i}.srs"));
        srs.write(&path).unwrap();
        let back = Srs::read(&path).unwrap();
        assert!(back.is_insecure());
        assert_eq!(back.k(), 5);
        assert_eq!(back.provenance, srs.provenance);
        assert_eq!(bytes(&back.params), bytes(&srs.params));
    }
}

#[test]
fn write_read_roundtrip_ceremony_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let mut srs = generate_insecure(2, Some(1));
    srs.provenance = Provenance::Ceremony {
        source_file: "powersOfTau28_hez_final_10.ptau".into(),
        source_sha3_256: [7u8; 32],
        power: 10,
    };
    let path = dir.path().join("c.srs");
    srs.write(&path).unwrap();
    let back = Srs::read(&path).unwrap();
    assert!(!back.is_insecure());
    assert_eq!(back.provenance, srs.provenance);
    assert_eq!(bytes(&back.params), bytes(&srs.params));
    assert!(back
        .provenance
        .to_string()
        .contains("powersOfTau28_hez_final_10.ptau"));
}

#[test]
fn write_is_atomic_and_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.srs");
    generate_insecure(3, Some(1)).write(&path).unwrap();
    let second = generate_insecure(4, Some(2));
    second.write(&path).unwrap();
    assert_eq!(Srs::read(&path).unwrap().k(), 4);
    // no temporary files left behind
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("p.srs")]);
    // writing into a missing directory fails cleanly
    let err = second
        .write(dir.path().join("missing").join("x.srs"))
        .unwrap_err();
    assert!(matches!(err, SrsError::Io { .. }), "{err}");
}

fn written(k: u32) -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.srs");
    generate_insecure(k, Some(9)).write(&path).unwrap();
    let data = fs::read(&path).unwrap();
    (dir, path, data)
}

#[test]
fn file_starts_with_magic_and_version() {
    let (_d, _p, data) = written(2);
    assert_eq!(&data[..11], MAGIC);
    assert_eq!(
        u32::from_le_bytes(data[11..15].try_into().unwrap()),
        FORMAT_VERSION
    );
}

#[test]
fn wrong_magic_is_rejected() {
    let (_d, path, mut data) = written(2);
    data[0] = b'X';
    fs::write(&path, &data).unwrap();
    let err = Srs::read(&path).unwrap_err();
    assert!(matches!(err, SrsError::BadMagic { .. }), "{err}");
    assert!(err.to_string().contains("import_ptau"));
    // a file shorter than the magic
    fs::write(&path, b"TRU").unwrap();
    assert!(matches!(
        Srs::read(&path).unwrap_err(),
        SrsError::BadMagic { .. }
    ));
    // an empty file
    fs::write(&path, b"").unwrap();
    assert!(matches!(
        Srs::read(&path).unwrap_err(),
        SrsError::BadMagic { .. }
    ));
}

#[test]
fn version_mismatch_is_rejected() {
    let (_d, path, mut data) = written(2);
    data[11..15].copy_from_slice(&99u32.to_le_bytes());
    fs::write(&path, &data).unwrap();
    let err = Srs::read(&path).unwrap_err();
    assert!(
        matches!(err, SrsError::UnsupportedVersion { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn truncated_file_is_rejected() {
    let (_d, path, data) = written(3);
    for cut in [data.len() - 1, data.len() / 2, 40, 22, 16, 12] {
        fs::write(&path, &data[..cut]).unwrap();
        let err = Srs::read(&path).unwrap_err();
        assert!(
            matches!(err, SrsError::BadLength { .. } | SrsError::Corrupted { .. }),
            "cut {cut}: {err}"
        );
    }
    // trailing garbage
    let mut longer = data.clone();
    longer.push(0);
    fs::write(&path, &longer).unwrap();
    assert!(matches!(
        Srs::read(&path).unwrap_err(),
        SrsError::BadLength { .. }
    ));
}

#[test]
fn corrupted_header_fields_are_rejected() {
    let (_d, path, data) = written(2);
    // absurd k
    let mut d = data.clone();
    d[15..19].copy_from_slice(&60u32.to_le_bytes());
    fs::write(&path, &d).unwrap();
    assert!(matches!(
        Srs::read(&path).unwrap_err(),
        SrsError::Corrupted { .. }
    ));
    // bad provenance tag
    let mut d = data.clone();
    d[19] = 7;
    fs::write(&path, &d).unwrap();
    assert!(matches!(
        Srs::read(&path).unwrap_err(),
        SrsError::Corrupted { .. }
    ));
}

#[test]
fn corrupted_point_is_rejected() {
    let (_d, path, data) = written(3);
    let header = 11 + 4 + 4 + 1 + 9;
    // flip a byte of g[2].y (Montgomery limbs); stays < q but leaves the curve
    let mut d = data.clone();
    d[header + 4 + 2 * 64 + 40] ^= 0x01;
    fs::write(&path, &d).unwrap();
    let err = Srs::read(&path).unwrap_err();
    assert!(matches!(err, SrsError::Corrupted { .. }), "{err}");
    assert!(err.to_string().contains("g[2]"), "{err}");
    // s_g2 (last 128 bytes)
    let mut d = data.clone();
    let n = d.len();
    d[n - 10] ^= 0x01;
    fs::write(&path, &d).unwrap();
    let err = Srs::read(&path).unwrap_err();
    assert!(err.to_string().contains("s_g2"), "{err}");
}

#[test]
fn missing_file_is_io_error() {
    let err = Srs::read("/nonexistent/dir/x.srs").unwrap_err();
    assert!(matches!(err, SrsError::Io { .. }), "{err}");
}

#[test]
fn downsized_matches_smaller_setup() {
    let big = generate_insecure(6, Some(77));
    let small = big.downsized(3).unwrap();
    assert_eq!(small.k(), 3);
    assert_eq!(small.params.n(), 8);
    assert_eq!(small.provenance, big.provenance);
    // same τ, so identical to a direct k = 3 generation (including the Lagrange basis)
    let direct = generate_insecure(3, Some(77));
    assert_eq!(bytes(&small.params), bytes(&direct.params));
    assert_eq!(bytes(&big.downsized(6).unwrap().params), bytes(&big.params));
    let err = big.downsized(7).unwrap_err();
    assert!(
        matches!(
            err,
            SrsError::NotEnoughPoints {
                available: 6,
                requested: 7
            }
        ),
        "{err}"
    );
    // the params are usable by halo2 after downsizing
    assert_eq!(small.params.get_g().len(), 8);
}

#[test]
fn verifier_read_takes_k_g0_g2_and_s_g2_and_the_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.srs");
    let srs = generate_insecure(5, Some(3));
    srs.write(&path).unwrap();
    let v = VerifierSrs::read(&path).unwrap();
    assert_eq!(v.params.k(), 5);
    assert_eq!(v.params.n(), 32);
    assert_eq!(v.params.get_g(), &srs.params.get_g()[..1]);
    assert_eq!(v.params.g2(), srs.params.g2());
    assert_eq!(v.params.s_g2(), srs.params.s_g2());
    assert_eq!(v.provenance, srs.provenance);
    assert!(v.is_insecure());
}

#[test]
fn verifier_read_checks_the_header_the_length_and_the_points_it_reads() {
    let (_d, path, data) = written(3);
    let read = |d: &[u8]| {
        fs::write(&path, d).unwrap();
        VerifierSrs::read(&path)
    };
    let mut d = data.clone();
    d[0] = b'X';
    assert!(matches!(read(&d).unwrap_err(), SrsError::BadMagic { .. }));
    for cut in [data.len() - 1, data.len() / 2, 40, 16] {
        let err = read(&data[..cut]).unwrap_err();
        assert!(
            matches!(err, SrsError::BadLength { .. } | SrsError::Corrupted { .. }),
            "cut {cut}: {err}"
        );
    }
    let mut longer = data.clone();
    longer.push(0);
    assert!(matches!(
        read(&longer).unwrap_err(),
        SrsError::BadLength { .. }
    ));
    // s_g2 off the curve
    let mut d = data.clone();
    let n = d.len();
    d[n - 10] ^= 0x01;
    assert!(read(&d).unwrap_err().to_string().contains("s_g2"));
    // g[0] replaced by g[1] (on the curve, not the generator)
    let header = 11 + 4 + 4 + 1 + 9 + 4;
    let mut d = data.clone();
    d.copy_within(header + 64..header + 128, header);
    let err = read(&d).unwrap_err();
    assert!(err.to_string().contains("generators"), "{err}");
    // The powers past g[0] are skipped, not read: a verifier never uses them.
    let mut d = data.clone();
    d[header + 2 * 64 + 40] ^= 0x01;
    assert!(read(&d).is_ok());
    assert!(Srs::read(&path).is_err());
}
