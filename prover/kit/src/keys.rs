//! Keygen, key files, proving and verification for any circuit: halo2-KZG on BN254,
//! SHPLONK multi-opening and the Keccak-256 EVM transcript (so the same proof verifies in
//! Solidity).
//!
//! A key file is `TRUSTML-KEY ‖ kind byte ('V' / 'P') ‖ format version (u32 LE) ‖ settings
//! digest (32 bytes) ‖ halo2 RawBytes`; a key is only read for the digest it was made for.

use crate::artifact::{digest_hex, ArtifactHeader};
use crate::fs::{write_atomic, write_atomic_with};
use crate::KitError;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, Circuit, ProvingKey, VerifyingKey,
};
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::AccumulatorStrategy;
use halo2_proofs::poly::VerificationStrategy;
use halo2_proofs::transcript::{TranscriptReadBuffer, TranscriptWriterBuffer};
use halo2_proofs::SerdeFormat;
use rayon::prelude::*;
use snark_verifier::loader::native::NativeLoader;
use snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use trustml_srs::{Srs, VerifierSrs};

type Transcript<S> = EvmTranscript<G1Affine, NativeLoader, S, Vec<u8>>;

const KEY_MAGIC: &[u8; 11] = b"TRUSTML-KEY";

/// Version of the key files' header.
pub const KEY_FORMAT_VERSION: u32 = 1;

/// The file names of a circuit directory's parameters and keys.
pub const SRS_FILE: &str = "srs.bin";
/// Verifying key file.
pub const VK_FILE: &str = "vk.bin";
/// Proving key file.
pub const PK_FILE: &str = "pk.bin";

/// Parameters and keys of one circuit.
pub struct Keys {
    /// KZG parameters trimmed to the circuit's k; without the proving key, only the
    /// verifier's part of them (`g[0]`, `g2`, `s_g2`: see [`VerifierSrs`]).
    pub params: ParamsKZG<Bn256>,
    /// The proving key (when loaded).
    pub pk: Option<ProvingKey<G1Affine>>,
    /// The verifying key.
    pub vk: VerifyingKey<G1Affine>,
    /// The parameters come from an insecure development SRS.
    pub insecure_srs: bool,
}

fn write_key_header(w: &mut impl Write, kind: u8, digest: &[u8; 32]) -> std::io::Result<()> {
    w.write_all(KEY_MAGIC)?;
    w.write_all(&[kind])?;
    w.write_all(&KEY_FORMAT_VERSION.to_le_bytes())?;
    w.write_all(digest)
}

fn read_key_header(
    r: &mut impl Read,
    path: &Path,
    kind: u8,
    what: &'static str,
    expected: &[u8; 32],
) -> Result<(), KitError> {
    let not_a_key = || KitError::NotAKey {
        path: path.display().to_string(),
        what,
    };
    let mut head = [0u8; 11 + 1 + 4 + 32];
    r.read_exact(&mut head).map_err(|_| not_a_key())?;
    if &head[..11] != KEY_MAGIC
        || head[11] != kind
        || head[12..16] != KEY_FORMAT_VERSION.to_le_bytes()
    {
        return Err(not_a_key());
    }
    if &head[16..] != expected {
        return Err(KitError::DigestMismatch {
            path: path.display().to_string(),
            found: format!("0x{}", hex::encode(&head[16..])),
            expected: digest_hex(expected),
        });
    }
    Ok(())
}

/// Key generation: trims `srs` to the header's k, writes `srs.bin`, `vk.bin`, `pk.bin` (keys
/// headed by the settings digest) and the header itself into `dir`. `step` names each phase.
pub fn setup<C: Circuit<Fr>>(
    dir: &Path,
    header: &ArtifactHeader,
    srs: &Srs,
    circuit: &C,
    mut step: impl FnMut(&str),
) -> Result<Keys, KitError> {
    let (k, digest) = (header.k, header.digest());
    if srs.k() < k {
        return Err(KitError::SrsTooSmall {
            have: srs.k(),
            need: k,
        });
    }
    step("trimming the SRS");
    let srs = srs.downsized(k)?;
    step("generating the verifying key");
    let vk = keygen_vk(&srs.params, circuit).map_err(KitError::Keygen)?;
    step("generating the proving key");
    let pk = keygen_pk(&srs.params, vk.clone(), circuit).map_err(KitError::Keygen)?;
    step("writing keys");
    srs.write(dir.join(SRS_FILE))?;
    let mut buf = vec![];
    write_key_header(&mut buf, b'V', &digest).expect("in memory");
    vk.write(&mut buf, SerdeFormat::RawBytes)
        .expect("in memory");
    write_atomic(&dir.join(VK_FILE), &buf)?;
    write_atomic_with(&dir.join(PK_FILE), |w| {
        write_key_header(w, b'P', &digest)?;
        pk.write(w, SerdeFormat::RawBytes)
    })?;
    header.write(dir)?;
    let insecure_srs = srs.is_insecure();
    Ok(Keys {
        params: srs.params,
        pk: Some(pk),
        vk,
        insecure_srs,
    })
}

/// Loads `srs.bin`, `vk.bin` (and `pk.bin` when `with_pk`) of a `C` circuit from `dir`,
/// checking that the keys were made for the header's digest and the SRS has its k.
pub fn load<C: Circuit<Fr>>(
    dir: &Path,
    header: &ArtifactHeader,
    params: C::Params,
    with_pk: bool,
) -> Result<Keys, KitError>
where
    C::Params: Clone,
{
    let (k, digest) = (header.k, header.digest());
    // A verifier reads 3 points of the SRS, not 2^(k+1) (at k = 18: 32 MiB not read and
    // 2^19 points not checked).
    let (kzg, provenance) = if with_pk {
        let srs = Srs::read(dir.join(SRS_FILE))?;
        (srs.params, srs.provenance)
    } else {
        let srs = VerifierSrs::read(dir.join(SRS_FILE))?;
        (srs.params, srs.provenance)
    };
    if kzg.k() != k {
        return Err(KitError::SrsTooSmall {
            have: kzg.k(),
            need: k,
        });
    }
    let read = |name: &str, kind: u8, what: &'static str| {
        let path = dir.join(name);
        let f = std::fs::File::open(&path).map_err(KitError::io(&path))?;
        let mut r = BufReader::new(f);
        read_key_header(&mut r, &path, kind, what, &digest)?;
        Ok::<_, KitError>((r, path))
    };
    let (mut r, path) = read(VK_FILE, b'V', "verifying key")?;
    let vk = VerifyingKey::<G1Affine>::read::<_, C>(&mut r, SerdeFormat::RawBytes, params.clone())
        .map_err(|_| KitError::NotAKey {
            path: path.display().to_string(),
            what: "verifying key",
        })?;
    let pk = if with_pk {
        let (mut r, path) = read(PK_FILE, b'P', "proving key")?;
        Some(
            ProvingKey::<G1Affine>::read::<_, C>(&mut r, SerdeFormat::RawBytes, params).map_err(
                |_| KitError::NotAKey {
                    path: path.display().to_string(),
                    what: "proving key",
                },
            )?,
        )
    } else {
        None
    };
    Ok(Keys {
        params: kzg,
        pk,
        vk,
        insecure_srs: provenance.is_insecure(),
    })
}

/// Proves `circuit` for `instances` (one instance column) with the EVM transcript.
///
/// Panics if `keys` holds no proving key (load them with `with_pk`).
pub fn prove<C: Circuit<Fr>>(
    keys: &Keys,
    circuit: C,
    instances: &[Fr],
) -> Result<Vec<u8>, KitError> {
    let pk = keys.pk.as_ref().expect("proving key loaded");
    let mut transcript = Transcript::<Vec<u8>>::init(Vec::new());
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        &keys.params,
        pk,
        &[circuit],
        &[&[instances]],
        rand::rngs::OsRng,
        &mut transcript,
    )
    .map_err(KitError::Prove)?;
    Ok(transcript.finalize())
}

/// Checks a proof of `instances` against a verifying key.
pub fn verify_raw(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
) -> bool {
    verify_many(&[Claim {
        params,
        vk,
        instances,
        proof,
    }])
}

/// One proof for [`verify_many`]: its circuit's parameters and verifying key, its public
/// inputs and its bytes.
#[derive(Clone, Copy)]
pub struct Claim<'a> {
    /// KZG parameters of the proof's circuit (its k).
    pub params: &'a ParamsKZG<Bn256>,
    /// The circuit's verifying key.
    pub vk: &'a VerifyingKey<G1Affine>,
    /// The public inputs (one instance column).
    pub instances: &'a [Fr],
    /// The proof.
    pub proof: &'a [u8],
}

impl<'a> Claim<'a> {
    /// A proof under `keys`.
    pub fn new(keys: &'a Keys, instances: &'a [Fr], proof: &'a [u8]) -> Self {
        Self {
            params: &keys.params,
            vk: &keys.vk,
            instances,
            proof,
        }
    }
}

/// Checks many proofs at once: true iff every one verifies. A proof's KZG opening check ends
/// in two MSMs and a pairing; here each thread folds its share of the proofs' checks into one
/// (halo2's `AccumulatorStrategy`: each proof's MSMs are added with a fresh random factor, so
/// an invalid proof passes only with probability about 1/r). Parameters from different SRSs
/// (another `[s]G2`) cannot share a pairing: then each proof is checked alone.
pub fn verify_many(claims: &[Claim<'_>]) -> bool {
    // halo2's verifier hands tiny steps to rayon (each scalar scaling, the final MSMs).
    // From a thread outside the pool every such step is a hand-off to a worker and a sleep
    // until it returns; on a worker they are cheap. A 640×480 brightness proof: 8.8 → 4.8
    // ms (median of 60, 2 threads). With the per-proof part on `succinct_pool`, a 640×480
    // crop: 3.1 → 2.5 ms.
    rayon::scope(|_| verify_on_pool(claims))
}

/// Threads of [`succinct_pool`]: halo2-axiom's `eval_polynomial` evaluates a polynomial of
/// `n` coefficients in place only when `2n < current_num_threads()`; otherwise it splits it
/// over the threads, each part paying a 256-squaring `pow_vartime`. The verifier evaluates
/// one 1–3 coefficient polynomial per opened commitment set, so on 2 threads that was 13 %
/// of a verification; with 8 they are all evaluated in place.
const SUCCINCT_THREADS: usize = 8;

/// The pool the per-proof part of verification runs on (reading the transcript, the gates
/// at the challenge point, the opening's MSM terms); the final MSMs and pairing, which do
/// use every core, stay on the global pool. Its threads mostly sleep: the work inside is
/// small and sequential.
fn succinct_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(SUCCINCT_THREADS)
            .thread_name(|i| format!("trustml-verify-{i}"))
            .build()
            .expect("spawning the verifier's threads")
    })
}

fn verify_on_pool(claims: &[Claim<'_>]) -> bool {
    let Some(first) = claims.first() else {
        return true;
    };
    let g2 = |p: &ParamsKZG<Bn256>| (p.g2(), p.s_g2());
    if claims.iter().any(|c| g2(c.params) != g2(first.params)) {
        return claims
            .par_iter()
            .all(|c| verify_on_pool(std::slice::from_ref(c)));
    }
    let per_thread = claims.len().div_ceil(rayon::current_num_threads().max(1));
    claims.par_chunks(per_thread).all(|part| {
        let mut strategy = AccumulatorStrategy::new(part[0].params);
        for c in part {
            let mut transcript = Transcript::<&[u8]>::init(c.proof);
            let succinct = || {
                verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
                    c.params.verifier_params(),
                    c.vk,
                    strategy,
                    &[&[c.instances]],
                    &mut transcript,
                )
            };
            strategy = match succinct_pool().install(succinct) {
                Ok(s) => s,
                Err(_) => return false,
            };
        }
        VerificationStrategy::<_, VerifierSHPLONK<'_, Bn256>>::finalize(strategy)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{ChipCircuit, ChipTest, TestCols};
    use halo2_proofs::circuit::{Cell, Region, Value};
    use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Selector};
    use halo2_proofs::poly::Rotation;

    /// Proves knowledge of a square root of the public input: `q·(x² − y) = 0`.
    #[derive(Clone, Default)]
    struct Root {
        x: u64,
    }

    impl ChipTest for Root {
        type Chip = (Selector, Column<Advice>, Column<Advice>);
        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &TestCols, _: &Self) -> Self::Chip {
            let (q, x, y) = (meta.selector(), cols.adv[0], cols.adv[1]);
            meta.create_gate("square", |m| {
                let q = m.query_selector(q);
                let (x, y) = (
                    m.query_advice(x, Rotation::cur()),
                    m.query_advice(y, Rotation::cur()),
                );
                vec![q * (x.clone() * x - y)]
            });
            (q, x, y)
        }
        fn assign(
            &self,
            (q, x, y): &Self::Chip,
            r: &mut Region<'_, Fr>,
        ) -> Result<Vec<Cell>, Error> {
            q.enable(r, 0)?;
            r.assign_advice(*x, 0, Value::known(Fr::from(self.x)));
            let y = r.assign_advice(*y, 0, Value::known(Fr::from(self.x * self.x)));
            Ok(vec![y.cell()])
        }
    }

    fn keys(srs: &Srs, k: u32) -> Keys {
        let params = srs.downsized(k).unwrap().params;
        let vk = keygen_vk(&params, &ChipCircuit(Root::default())).unwrap();
        let pk = keygen_pk(&params, vk.clone(), &ChipCircuit(Root::default())).unwrap();
        Keys {
            params,
            pk: Some(pk),
            vk,
            insecure_srs: true,
        }
    }

    /// `(instances, proof)` of roots `xs` under `keys`.
    fn proofs(keys: &Keys, xs: &[u64]) -> Vec<(Vec<Fr>, Vec<u8>)> {
        xs.iter()
            .map(|&x| {
                let inst = vec![Fr::from(x * x)];
                (
                    inst.clone(),
                    prove(keys, ChipCircuit(Root { x }), &inst).unwrap(),
                )
            })
            .collect()
    }

    fn claims<'a>(keys: &'a Keys, ps: &'a [(Vec<Fr>, Vec<u8>)]) -> Vec<Claim<'a>> {
        ps.iter().map(|(i, p)| Claim::new(keys, i, p)).collect()
    }

    #[test]
    fn a_batch_verifies_only_when_every_proof_does() {
        let srs = trustml_srs::generate_insecure(7, Some(1));
        let (small, large) = (keys(&srs, 6), keys(&srs, 7));
        let ps = proofs(&small, &[2, 3, 4]);
        let qs = proofs(&large, &[5]);
        let all = |ps: &[(Vec<Fr>, Vec<u8>)]| {
            let mut c = claims(&small, ps);
            c.extend(claims(&large, &qs));
            verify_many(&c)
        };
        assert!(verify_many(&[]));
        assert!(
            all(&ps),
            "valid proofs of two circuits (k = 6, 7) of one SRS"
        );
        // Each proof is valid for its own public input: swapped, the batch fails.
        let mut swapped = ps.clone();
        swapped.swap(0, 1);
        (swapped[0].1, swapped[1].1) = (ps[0].1.clone(), ps[1].1.clone());
        assert!(
            !all(&swapped),
            "two proofs under each other's public inputs"
        );
        // One flipped proof byte, one wrong public input: each alone sinks the batch.
        let mut flipped = ps.clone();
        flipped[2].1[40] ^= 1;
        assert!(!all(&flipped));
        let mut wrong = ps.clone();
        wrong[1].0[0] += Fr::one();
        assert!(!all(&wrong));
        // The proof of another circuit's key.
        let mut c = claims(&small, &ps);
        c.push(Claim {
            vk: &small.vk,
            ..claims(&large, &qs)[0]
        });
        assert!(!verify_many(&c));
    }

    #[test]
    fn proofs_of_another_srs_are_checked_one_by_one() {
        let (one, two) = (
            keys(&trustml_srs::generate_insecure(6, Some(1)), 6),
            keys(&trustml_srs::generate_insecure(6, Some(2)), 6),
        );
        let (ps, qs) = (proofs(&one, &[2, 3]), proofs(&two, &[4]));
        let mut c = claims(&one, &ps);
        c.extend(claims(&two, &qs));
        assert!(verify_many(&c));
        let mut bad = qs.clone();
        bad[0].1[40] ^= 1;
        let mut c = claims(&one, &ps);
        c.extend(claims(&two, &bad));
        assert!(!verify_many(&c));
        // A proof checked against the other SRS's parameters fails.
        let c = [Claim {
            params: &one.params,
            ..claims(&two, &qs)[0]
        }];
        assert!(!verify_many(&c));
    }
}
