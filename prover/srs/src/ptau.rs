//! Import of snarkjs / Perpetual Powers of Tau `.ptau` files (BN254).
//!
//! Layout (all integers little-endian): `b"ptau"`, u32 version (1), u32 number of sections,
//! then sections `u32 type, u64 size, data`. Section 1 (header): u32 n8 (= 32), q (n8 bytes),
//! u32 power, u32 ceremony power. Section 2 (tauG1): 2^(power+1) - 1 G1 points `x, y`.
//! Section 3 (tauG2): 2^power G2 points `x.c0, x.c1, y.c0, y.c1`. Every coordinate is n8
//! bytes little-endian in Montgomery form (value·2^256 mod q). Only the needed prefix of
//! section 2 and the first two points of section 3 are read.

use crate::insecure::{params_from_parts, powers_of_tau_g1};
use crate::{Provenance, Srs, SrsError, MAX_K};
use halo2_proofs::arithmetic::best_multiexp;
use halo2curves::bn256::{pairing, Fq, Fq2, Fr, G1Affine, G2Affine, G2};
use halo2curves::ff::{Field, PrimeField};
use halo2curves::group::{cofactor::CofactorGroup, prime::PrimeCurveAffine, Curve};
use halo2curves::serde::SerdeObject;
use halo2curves::CurveAffine;
use rayon::prelude::*;
use sha3::{Digest, Sha3_256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Largest `power` a BN254 ptau file can meaningfully have.
pub const PTAU_MAX_POWER: u32 = MAX_K;

const N8: usize = 32;
const G1_BYTES: usize = 2 * N8;
const G2_BYTES: usize = 4 * N8;

/// BN254 base field modulus q, little-endian.
fn q_le() -> [u8; 32] {
    let mut q: [u8; 32] = hex::decode(Fq::MODULUS.trim_start_matches("0x"))
        .expect("modulus hex")
        .try_into()
        .expect("32 bytes");
    q.reverse();
    q
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

/// Montgomery little-endian bytes → Fq. halo2curves stores Fq in Montgomery form with the
/// same R = 2^256, so the raw representation is exactly the ptau encoding; `from_raw_bytes`
/// rejects values >= q.
fn fq_from_mont(b: &[u8]) -> Option<Fq> {
    Fq::from_raw_bytes(b)
}

fn g1_from_mont(b: &[u8]) -> Option<G1Affine> {
    let x = fq_from_mont(&b[..N8])?;
    let y = fq_from_mont(&b[N8..2 * N8])?;
    Option::from(G1Affine::from_xy(x, y))
}

fn g2_from_mont(b: &[u8]) -> Option<G2Affine> {
    let c = |i: usize| fq_from_mont(&b[i * N8..(i + 1) * N8]);
    let x = Fq2 {
        c0: c(0)?,
        c1: c(1)?,
    };
    let y = Fq2 {
        c0: c(2)?,
        c1: c(3)?,
    };
    let p: G2Affine = Option::from(G2Affine::from_xy(x, y))?;
    // G2 has a large cofactor: also require the prime-order subgroup.
    bool::from(p.to_curve().is_torsion_free()).then_some(p)
}

/// Imports the first 2^k powers of τ from a snarkjs `.ptau` file.
///
/// Validates the header (BN254 prime, power >= k), every read point (coordinates < q, on the
/// curve, G2 points in the prime-order subgroup), that g[0] and g2 are the generators, and
/// that the G1 powers are consistent with τ·G2 (a random linear combination of
/// e(τ^(i+1)·G1, G2) = e(τ^i·G1, τ·G2) over all read powers). The Lagrange basis is
/// computed with an FFT. Also hashes the whole file (SHA3-256) for the provenance record.
pub fn import_ptau(path: &Path, k: u32) -> Result<Srs, SrsError> {
    let bad = |what: String| SrsError::BadPtau {
        path: path.into(),
        what,
    };
    let ioerr = |e: io::Error| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            SrsError::BadPtau {
                path: path.into(),
                what: "the file ends unexpectedly (truncated download?); re-download it".into(),
            }
        } else {
            SrsError::io(path, e)
        }
    };
    let file = File::open(path).map_err(|e| SrsError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| SrsError::io(path, e))?.len();
    let mut r = BufReader::with_capacity(1 << 20, file);

    let mut head = [0u8; 12];
    r.read_exact(&mut head).map_err(ioerr)?;
    if &head[..4] != b"ptau" {
        return Err(bad(format!(
            "magic bytes are {:?} instead of \"ptau\"; pass a snarkjs powers-of-tau file",
            String::from_utf8_lossy(&head[..4])
        )));
    }
    let version = u32_at(&head, 4);
    if version != 1 {
        return Err(bad(format!(
            "ptau version {version} is not supported (only version 1)"
        )));
    }
    let n_sections = u32_at(&head, 8);
    if n_sections > 1024 {
        return Err(bad(format!("implausible number of sections {n_sections}")));
    }
    // Section table: type -> (data offset, size)
    let mut sections: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut pos = 12u64;
    for _ in 0..n_sections {
        let mut sh = [0u8; 12];
        r.read_exact(&mut sh).map_err(ioerr)?;
        let ty = u32_at(&sh, 0);
        let size = u64::from_le_bytes(sh[4..12].try_into().unwrap());
        let start = pos + 12;
        let end = start
            .checked_add(size)
            .filter(|&e| e <= file_len)
            .ok_or_else(|| {
                bad(format!(
                    "section {ty} claims {size} bytes but the file has only {file_len} bytes \
                 (truncated download?); re-download it"
                ))
            })?;
        if sections.insert(ty, (start, size)).is_some() {
            return Err(bad(format!("section {ty} appears twice")));
        }
        r.seek(SeekFrom::Start(end)).map_err(ioerr)?;
        pos = end;
    }
    let section = |ty: u32, name: &str| {
        sections
            .get(&ty)
            .copied()
            .ok_or_else(|| bad(format!("section {ty} ({name}) is missing")))
    };

    // Section 1: header.
    let (h_off, h_size) = section(1, "header")?;
    if h_size < 4 {
        return Err(bad("header section is too short".into()));
    }
    r.seek(SeekFrom::Start(h_off)).map_err(ioerr)?;
    let mut hdr = vec![0u8; h_size.min(4 + 256 + 8) as usize];
    r.read_exact(&mut hdr).map_err(ioerr)?;
    let n8 = u32_at(&hdr, 0) as usize;
    if n8 != N8 || hdr.len() < 4 + N8 + 8 {
        return Err(bad(format!(
            "field element size n8 = {n8}, expected {N8}; only BN254 (bn128) ptau files are \
             supported"
        )));
    }
    if hdr[4..4 + N8] != q_le() {
        return Err(bad(
            "the field prime is not the BN254 base field modulus; this ptau is for another \
             curve (e.g. BLS12-381), use a BN254/bn128 file"
                .into(),
        ));
    }
    let power = u32_at(&hdr, 4 + N8);
    // u32 at 8 + N8 is the ceremony power (informational only).
    if power == 0 || power > PTAU_MAX_POWER {
        return Err(bad(format!(
            "power {power} is out of range 1..={PTAU_MAX_POWER}"
        )));
    }
    if k > power {
        return Err(SrsError::PtauTooSmall {
            path: path.into(),
            power,
            k,
        });
    }

    // Section 2: tauG1, 2^(power+1) - 1 points; read only the prefix we need.
    let (g1_off, g1_size) = section(2, "tauG1")?;
    let g1_count = (1u64 << (power + 1)) - 1;
    if g1_size != g1_count * G1_BYTES as u64 {
        return Err(bad(format!(
            "tauG1 section has {g1_size} bytes, expected {} for power {power}",
            g1_count * G1_BYTES as u64
        )));
    }
    let n = 1usize << k;
    let n_read = n.max(2); // at least τ^0, τ^1 for the pairing check
    r.seek(SeekFrom::Start(g1_off)).map_err(ioerr)?;
    let mut buf = vec![0u8; n_read * G1_BYTES];
    r.read_exact(&mut buf).map_err(ioerr)?;
    let mut g = buf
        .par_chunks(G1_BYTES)
        .enumerate()
        .map(|(i, c)| g1_from_mont(c).ok_or(i))
        .collect::<Result<Vec<_>, usize>>()
        .map_err(|i| SrsError::InvalidPtauPoint {
            path: path.into(),
            what: format!("tauG1[{i}] is not a valid BN254 G1 point"),
        })?;
    drop(buf);

    // Section 3: tauG2; we need [G2, τ·G2].
    let (g2_off, g2_size) = section(3, "tauG2")?;
    if g2_size != (1u64 << power) * G2_BYTES as u64 {
        return Err(bad(format!(
            "tauG2 section has {g2_size} bytes, expected {} for power {power}",
            (1u64 << power) * G2_BYTES as u64
        )));
    }
    r.seek(SeekFrom::Start(g2_off)).map_err(ioerr)?;
    let mut b2 = [0u8; 2 * G2_BYTES];
    r.read_exact(&mut b2).map_err(ioerr)?;
    let mut g2s = [G2Affine::identity(); 2];
    for (i, p) in g2s.iter_mut().enumerate() {
        *p = g2_from_mont(&b2[i * G2_BYTES..(i + 1) * G2_BYTES]).ok_or_else(|| {
            SrsError::InvalidPtauPoint {
                path: path.into(),
                what: format!("tauG2[{i}] is not a valid point of BN254's G2 subgroup"),
            }
        })?;
    }
    let [g2, s_g2] = g2s;

    let invalid = |what: &str| SrsError::InvalidPtauPoint {
        path: path.into(),
        what: what.into(),
    };
    if g[0] != G1Affine::generator() {
        return Err(invalid("tauG1[0] is not the BN254 G1 generator"));
    }
    if g2 != G2Affine::generator() {
        return Err(invalid("tauG2[0] is not the BN254 G2 generator"));
    }
    check_powers(&g, &g2, &s_g2).then_some(()).ok_or_else(|| {
        invalid(
            "pairing check failed: the tauG1 powers are not consistent with tauG2[1] \
             (e(tau^(i+1)·G1, G2) != e(tau^i·G1, tau·G2))",
        )
    })?;

    let source_sha3_256 = sha3_file(&mut r).map_err(ioerr)?;
    g.truncate(n);
    let params = params_from_parts(k, g, None, g2, s_g2);
    Ok(Srs {
        params,
        provenance: Provenance::Ceremony {
            source_file: path
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            source_sha3_256,
            power,
        },
    })
}

/// Random-linear-combination check that g[i+1] = τ·g[i] for all i, where s_g2 = τ·g2:
/// e(Σ r_i g[i+1], g2) == e(Σ r_i g[i], s_g2).
fn check_powers(g: &[G1Affine], g2: &G2Affine, s_g2: &G2Affine) -> bool {
    let m = g.len() - 1;
    let mut rng = rand::thread_rng();
    let r: Vec<Fr> = (0..m).map(|_| Fr::random(&mut rng)).collect();
    let a = best_multiexp(&r, &g[1..]).to_affine();
    let b = best_multiexp(&r, &g[..m]).to_affine();
    pairing(&a, g2) == pairing(&b, s_g2)
}

fn sha3_file(r: &mut BufReader<File>) -> io::Result<[u8; 32]> {
    r.seek(SeekFrom::Start(0))?;
    let mut h = Sha3_256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let got = r.read(&mut buf)?;
        if got == 0 {
            break;
        }
        h.update(&buf[..got]);
    }
    Ok(h.finalize().into())
}

/// Canonical value x → Montgomery LE bytes (x·2^256 mod q), computed independently of
/// halo2curves' internal representation.
fn fq_to_mont(x: &Fq) -> [u8; 32] {
    let r = Fq::from(2).pow_vartime([256]);
    (*x * r).to_repr()
}

fn write_section(w: &mut impl Write, ty: u32, data: &[u8]) -> io::Result<()> {
    w.write_all(&ty.to_le_bytes())?;
    w.write_all(&(data.len() as u64).to_le_bytes())?;
    w.write_all(data)
}

fn g1_bytes(points: &[G1Affine], out: &mut Vec<u8>) {
    for p in points {
        let c = p.coordinates().unwrap();
        out.extend_from_slice(&fq_to_mont(c.x()));
        out.extend_from_slice(&fq_to_mont(c.y()));
    }
}

fn g2_bytes(p: &G2Affine, out: &mut Vec<u8>) {
    for f in [p.x.c0, p.x.c1, p.y.c0, p.y.c1] {
        out.extend_from_slice(&fq_to_mont(&f));
    }
}

/// Writes a snarkjs-layout `.ptau` file (sections 1-7, α = β = 1, no contributions) for a
/// KNOWN τ. Test helper only: the result is as insecure as τ is public.
pub fn write_ptau_for_tests(path: &Path, tau: Fr, power: u32) -> Result<(), SrsError> {
    assert!(
        (1..=20).contains(&power),
        "test ptau power must be in 1..=20"
    );
    let n = 1usize << power;
    let tau_g1 = powers_of_tau_g1(tau, 2 * n - 1);
    let mut tau_g2 = Vec::with_capacity(n);
    let mut acc = G2::generator();
    for _ in 0..n {
        tau_g2.push(acc);
        acc *= tau;
    }
    let mut tau_g2_aff = vec![G2Affine::identity(); n];
    <G2 as Curve>::batch_normalize(&tau_g2, &mut tau_g2_aff);

    crate::format::write_atomic(path, |w: &mut BufWriter<File>| {
        w.write_all(b"ptau")?;
        w.write_all(&1u32.to_le_bytes())?;
        w.write_all(&7u32.to_le_bytes())?;
        let mut hdr = Vec::new();
        hdr.extend_from_slice(&(N8 as u32).to_le_bytes());
        hdr.extend_from_slice(&q_le());
        hdr.extend_from_slice(&power.to_le_bytes());
        hdr.extend_from_slice(&power.to_le_bytes());
        write_section(w, 1, &hdr)?;
        let mut d = Vec::new();
        g1_bytes(&tau_g1, &mut d);
        write_section(w, 2, &d)?;
        let mut d = Vec::new();
        for p in &tau_g2_aff {
            g2_bytes(p, &mut d);
        }
        write_section(w, 3, &d)?;
        let mut d = Vec::new();
        g1_bytes(&tau_g1[..n], &mut d);
        write_section(w, 4, &d)?; // alphaTauG1 with α = 1
        write_section(w, 5, &d)?; // betaTauG1 with β = 1
        let mut d = Vec::new();
        g2_bytes(&G2Affine::generator(), &mut d);
        write_section(w, 6, &d)?; // betaG2
        write_section(w, 7, &0u32.to_le_bytes()) // no contributions
    })
}
