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
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{TranscriptReadBuffer, TranscriptWriterBuffer};
use halo2_proofs::SerdeFormat;
use snark_verifier::loader::native::NativeLoader;
use snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use trustml_srs::Srs;

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
    /// KZG parameters trimmed to the circuit's k.
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
    let srs = Srs::read(dir.join(SRS_FILE))?;
    if srs.k() != k {
        return Err(KitError::SrsTooSmall {
            have: srs.k(),
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
    let insecure_srs = srs.is_insecure();
    Ok(Keys {
        params: srs.params,
        pk,
        vk,
        insecure_srs,
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
    let mut transcript = Transcript::<&[u8]>::init(proof);
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params.verifier_params(),
        vk,
        SingleStrategy::new(params),
        &[&[instances]],
        &mut transcript,
    )
    .is_ok()
}
