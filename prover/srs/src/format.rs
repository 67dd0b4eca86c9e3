//! The trustml SRS file format (version 1).
//!
//! All integers are little-endian.
//!
//! ```text
//! magic            11 bytes  b"TRUSTML-SRS"
//! format version   u32       1
//! k                u32       log2 of the number of G1 points
//! provenance tag   u8        0 = InsecureDev, 1 = Ceremony
//!   InsecureDev:   u8 has_seed (0/1), u64 seed (0 when absent)
//!   Ceremony:      u32 name_len (<= 4096), name (UTF-8), [u8; 32] SHA3-256 of the
//!                  source file, u32 power
//! params           halo2 `ParamsKZG::write_custom(SerdeFormat::RawBytes)`:
//!                  u32 k, 2^k G1 points g, 2^k G1 points g_lagrange, G2 g2, G2 s_g2
//!                  (G1 = x,y; G2 = x.c0,x.c1,y.c0,y.c1; each coordinate 32 bytes,
//!                  Montgomery form, little-endian)
//! ```
//!
//! The file length is fully determined by the header, so truncation is detected before
//! parsing points. Reading validates every coordinate (< q) and every point (on curve);
//! reading for a verifier ([`crate::VerifierSrs`]) reads and validates only `g[0]`, `g2` and
//! `s_g2`.

use crate::insecure::params_from_parts;
use crate::{Provenance, Srs, SrsError, VerifierSrs, MAX_K};
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::SerdeFormat;
use halo2curves::bn256::{G1Affine, G2Affine};
use halo2curves::group::prime::PrimeCurveAffine;
use halo2curves::serde::SerdeObject;
use rayon::prelude::*;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Magic bytes at the start of every SRS file.
pub const MAGIC: &[u8; 11] = b"TRUSTML-SRS";
/// Current format version.
pub const FORMAT_VERSION: u32 = 1;
/// Longest accepted ceremony source file name.
pub const MAX_NAME_LEN: usize = 4096;

const G1_BYTES: usize = 64;
const G2_BYTES: usize = 128;
const IO_BUF: usize = 1 << 20;

fn encode_header(srs: &Srs) -> Vec<u8> {
    let mut h = Vec::with_capacity(64);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    h.extend_from_slice(&srs.k().to_le_bytes());
    match &srs.provenance {
        Provenance::InsecureDev { seed_hint } => {
            h.push(0);
            h.push(seed_hint.is_some() as u8);
            h.extend_from_slice(&seed_hint.unwrap_or(0).to_le_bytes());
        }
        Provenance::Ceremony {
            source_file,
            source_sha3_256,
            power,
        } => {
            h.push(1);
            // Names longer than MAX_NAME_LEN are cut at a char boundary.
            let mut end = source_file.len().min(MAX_NAME_LEN);
            while !source_file.is_char_boundary(end) {
                end -= 1;
            }
            let name = &source_file.as_bytes()[..end];
            h.extend_from_slice(&(name.len() as u32).to_le_bytes());
            h.extend_from_slice(name);
            h.extend_from_slice(source_sha3_256);
            h.extend_from_slice(&power.to_le_bytes());
        }
    }
    h
}

/// Size of the halo2 params blob for a given k.
fn params_len(k: u32) -> u64 {
    4 + 2 * (G1_BYTES as u64) * (1u64 << k) + 2 * G2_BYTES as u64
}

pub(crate) fn write_file(srs: &Srs, path: &Path) -> Result<(), SrsError> {
    let header = encode_header(srs);
    write_atomic(path, |w| {
        w.write_all(&header)?;
        srs.params.write_custom(w, SerdeFormat::RawBytes)
    })
}

/// Writes through `f` into a temporary file next to `path`, fsyncs it and renames it over
/// `path`. On failure the temporary file is removed and `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> Result<(), SrsError> {
    let file_name = path.file_name().ok_or_else(|| {
        SrsError::io(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        nanos
    ));
    let result = (|| -> io::Result<()> {
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut w = BufWriter::with_capacity(IO_BUF, file);
        f(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(SrsError::io(path, e));
    }
    // Make the rename durable; not all platforms allow syncing a directory.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_header_err(path: &Path, e: io::Error) -> SrsError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        SrsError::Corrupted {
            path: path.into(),
            what: "the file ends inside its header (truncated)".into(),
        }
    } else {
        SrsError::io(path, e)
    }
}

/// Parses 64-byte raw (Montgomery) G1 points in parallel, checking range and curve equation.
fn parse_g1(path: &Path, bytes: &[u8], what: &str) -> Result<Vec<G1Affine>, SrsError> {
    bytes
        .par_chunks(G1_BYTES)
        .enumerate()
        .map(|(i, c)| G1Affine::from_raw_bytes(c).ok_or(i))
        .collect::<Result<Vec<_>, usize>>()
        .map_err(|i| SrsError::Corrupted {
            path: path.into(),
            what: format!("{what}[{i}] is not a valid BN254 G1 point"),
        })
}

/// Opens an SRS file and reads its header, up to the first G1 point: the reader, k and the
/// provenance. The file's length is checked against the header.
fn open(path: &Path, buf: usize) -> Result<(BufReader<File>, u32, Provenance), SrsError> {
    let file = File::open(path).map_err(|e| SrsError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| SrsError::io(path, e))?.len();
    let mut r = BufReader::with_capacity(buf, file);

    let mut magic = [0u8; 11];
    r.read_exact(&mut magic).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            SrsError::BadMagic {
                path: path.into(),
                found: format!(
                    "{} (file has only {file_len} bytes)",
                    hex::encode(&[] as &[u8])
                ),
                expected: hex::encode(MAGIC),
            }
        } else {
            SrsError::io(path, e)
        }
    })?;
    if &magic != MAGIC {
        return Err(SrsError::BadMagic {
            path: path.into(),
            found: hex::encode(magic),
            expected: hex::encode(MAGIC),
        });
    }
    let herr = |e| read_header_err(path, e);
    let version = read_u32(&mut r).map_err(herr)?;
    if version != FORMAT_VERSION {
        return Err(SrsError::UnsupportedVersion {
            path: path.into(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let k = read_u32(&mut r).map_err(herr)?;
    if k > MAX_K {
        return Err(SrsError::Corrupted {
            path: path.into(),
            what: format!("header says k = {k}, but at most {MAX_K} is possible"),
        });
    }
    let mut tag = [0u8; 1];
    r.read_exact(&mut tag).map_err(herr)?;
    let mut header_len = 11 + 4 + 4 + 1;
    let provenance = match tag[0] {
        0 => {
            let mut has = [0u8; 1];
            r.read_exact(&mut has).map_err(herr)?;
            let seed = read_u64(&mut r).map_err(herr)?;
            header_len += 9;
            let seed_hint = match has[0] {
                0 => None,
                1 => Some(seed),
                b => {
                    return Err(SrsError::Corrupted {
                        path: path.into(),
                        what: format!("invalid seed flag {b}"),
                    })
                }
            };
            Provenance::InsecureDev { seed_hint }
        }
        1 => {
            let len = read_u32(&mut r).map_err(herr)? as usize;
            if len > MAX_NAME_LEN {
                return Err(SrsError::Corrupted {
                    path: path.into(),
                    what: format!("source file name length {len} exceeds {MAX_NAME_LEN}"),
                });
            }
            let mut name = vec![0u8; len];
            r.read_exact(&mut name).map_err(herr)?;
            let source_file = String::from_utf8(name).map_err(|_| SrsError::Corrupted {
                path: path.into(),
                what: "source file name is not UTF-8".into(),
            })?;
            let mut source_sha3_256 = [0u8; 32];
            r.read_exact(&mut source_sha3_256).map_err(herr)?;
            let power = read_u32(&mut r).map_err(herr)?;
            header_len += 4 + len as u64 + 32 + 4;
            Provenance::Ceremony {
                source_file,
                source_sha3_256,
                power,
            }
        }
        t => {
            return Err(SrsError::Corrupted {
                path: path.into(),
                what: format!("unknown provenance tag {t}"),
            })
        }
    };

    let expected = header_len + params_len(k);
    if file_len != expected {
        return Err(SrsError::BadLength {
            path: path.into(),
            k,
            expected,
            found: file_len,
        });
    }

    let inner_k = read_u32(&mut r).map_err(herr)?;
    if inner_k != k {
        return Err(SrsError::Corrupted {
            path: path.into(),
            what: format!("header says k = {k} but the params say k = {inner_k}"),
        });
    }
    Ok((r, k, provenance))
}

pub(crate) fn read_file(path: &Path) -> Result<Srs, SrsError> {
    let (mut r, k, provenance) = open(path, IO_BUF)?;
    let n = 1usize << k;
    let ioerr = |e| SrsError::io(path, e);
    let mut buf = vec![0u8; n * G1_BYTES];
    r.read_exact(&mut buf).map_err(ioerr)?;
    let g = parse_g1(path, &buf, "g")?;
    r.read_exact(&mut buf).map_err(ioerr)?;
    let g_lagrange = parse_g1(path, &buf, "g_lagrange")?;
    drop(buf);
    let [g2, s_g2] = read_g2s(path, &mut r, g[0])?;
    let params = params_from_parts(k, g, Some(g_lagrange), g2, s_g2);
    debug_assert_eq!(params.k(), k);
    debug_assert_eq!(params.get_g().len(), n);
    Ok(Srs { params, provenance })
}

/// Reads what a verifier uses of an SRS file: k, `g[0]`, `g2` and `s_g2`, skipping the 2^k
/// powers between them (at k = 18 that is 32 MiB not read and 2^19 points not checked).
pub(crate) fn read_verifier_file(path: &Path) -> Result<VerifierSrs, SrsError> {
    let (mut r, k, provenance) = open(path, 4096)?;
    let ioerr = |e| SrsError::io(path, e);
    let mut b = [0u8; G1_BYTES];
    r.read_exact(&mut b).map_err(ioerr)?;
    let g0 = parse_g1(path, &b, "g")?[0];
    let skip = 2 * G1_BYTES as i64 * (1i64 << k) - G1_BYTES as i64;
    r.seek_relative(skip).map_err(ioerr)?;
    let [g2, s_g2] = read_g2s(path, &mut r, g0)?;
    let params = params_from_parts(k, vec![g0], Some(vec![]), g2, s_g2);
    Ok(VerifierSrs { params, provenance })
}

/// Reads `g2` and `s_g2` and checks that `g0` and `g2` are the BN254 generators.
fn read_g2s(path: &Path, r: &mut impl Read, g0: G1Affine) -> Result<[G2Affine; 2], SrsError> {
    let mut g2s = [G2Affine::identity(); 2];
    for (i, p) in g2s.iter_mut().enumerate() {
        let mut b = [0u8; G2_BYTES];
        r.read_exact(&mut b).map_err(|e| SrsError::io(path, e))?;
        *p = G2Affine::from_raw_bytes(&b).ok_or_else(|| SrsError::Corrupted {
            path: path.into(),
            what: format!("{} is not a valid BN254 G2 point", ["g2", "s_g2"][i]),
        })?;
    }
    if g0 != G1Affine::generator() || g2s[0] != G2Affine::generator() {
        return Err(SrsError::Corrupted {
            path: path.into(),
            what: "g[0] / g2 are not the BN254 generators".into(),
        });
    }
    Ok(g2s)
}
