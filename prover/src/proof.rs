//! Keys, proofs and verification: halo2-KZG on BN254, SHPLONK multi-opening, and the
//! Keccak-256 EVM transcript (so the same proof verifies in Solidity).

use crate::circuit::{ModelCircuit, Salts, Witness};
use crate::data::InputData;
use crate::model::{write_atomic, CompiledModel, ModelError, OutputTensor, FORMAT_VERSION};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, Circuit, ProvingKey, VerifyingKey,
};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{TranscriptReadBuffer, TranscriptWriterBuffer};
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use snark_verifier::loader::native::NativeLoader;
use snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use thiserror::Error;
use trustml_srs::Srs;

type Transcript<S> = EvmTranscript<G1Affine, NativeLoader, S, Vec<u8>>;

const KEY_MAGIC: &[u8; 11] = b"TRUSTML-KEY";

#[derive(Debug, Error)]
pub enum ProofError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Srs(#[from] trustml_srs::SrsError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a trustml {what} file; run `trustml setup` to make one")]
    NotAKey { path: String, what: &'static str },
    #[error("{path} was made for other circuit settings (digest {found}, the model directory has {expected}); run `trustml setup` again")]
    DigestMismatch {
        path: String,
        found: String,
        expected: String,
    },
    #[error("the SRS holds 2^{have} points but this circuit needs k = {need}; generate or import one with k ≥ {need}")]
    SrsTooSmall { have: u32, need: u32 },
    #[error("key generation failed: {0:?}")]
    Keygen(halo2_proofs::plonk::Error),
    #[error("proving failed: {0:?} (the witness does not satisfy the circuit; this is a bug if `trustml prove` computed it)")]
    Prove(halo2_proofs::plonk::Error),
    #[error("{path} is not a valid proof file: {msg}")]
    BadProofFile { path: String, msg: String },
    #[error(
        "the proof was made for other circuit settings (digest {found}, this model has {expected})"
    )]
    ProofForOtherCircuit { found: String, expected: String },
    #[error("expected {expected} public inputs, the proof file has {got}")]
    InstanceCount { expected: usize, got: usize },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ProofError + '_ {
    move |source| ProofError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A field element as a decimal string.
pub fn fr_to_dec(f: &Fr) -> String {
    let bytes = f.to_repr();
    let mut digits = vec![0u8];
    for &byte in bytes.as_ref().iter().rev() {
        let mut carry = byte as u32;
        for d in digits.iter_mut() {
            let v = *d as u32 * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| (b'0' + d) as char).collect()
}

/// `0x` + 64 hex digits, big-endian (as Solidity and JSON-RPC write uint256).
pub fn fr_to_hex(f: &Fr) -> String {
    let mut b = f.to_repr().as_ref().to_vec();
    b.reverse();
    format!("0x{}", hex::encode(b))
}

/// Parses [`fr_to_hex`]'s format; `None` if malformed or not below the field modulus.
pub fn fr_from_hex(s: &str) -> Option<Fr> {
    let h = s.strip_prefix("0x").unwrap_or(s);
    if h.len() > 64 {
        return None;
    }
    let mut b = hex::decode(format!("{h:0>64}")).ok()?;
    b.reverse();
    let mut repr = <Fr as PrimeField>::Repr::default();
    repr.as_mut().copy_from_slice(&b);
    Option::from(Fr::from_repr(repr))
}

fn write_key_header(w: &mut impl Write, kind: u8, digest: &[u8; 32]) -> std::io::Result<()> {
    w.write_all(KEY_MAGIC)?;
    w.write_all(&[kind])?;
    w.write_all(&FORMAT_VERSION.to_le_bytes())?;
    w.write_all(digest)
}

fn read_key_header(
    r: &mut impl Read,
    path: &Path,
    kind: u8,
    what: &'static str,
    expected: &[u8; 32],
) -> Result<(), ProofError> {
    let mut head = [0u8; 11 + 1 + 4 + 32];
    r.read_exact(&mut head).map_err(|_| ProofError::NotAKey {
        path: path.display().to_string(),
        what,
    })?;
    if &head[..11] != KEY_MAGIC || head[11] != kind || head[12..16] != FORMAT_VERSION.to_le_bytes()
    {
        return Err(ProofError::NotAKey {
            path: path.display().to_string(),
            what,
        });
    }
    if &head[16..] != expected {
        return Err(ProofError::DigestMismatch {
            path: path.display().to_string(),
            found: format!("0x{}", hex::encode(&head[16..])),
            expected: format!("0x{}", hex::encode(expected)),
        });
    }
    Ok(())
}

/// Loaded keys and parameters of a compiled model.
pub struct Keys {
    pub params: ParamsKZG<Bn256>,
    pub pk: Option<ProvingKey<G1Affine>>,
    pub vk: VerifyingKey<G1Affine>,
    pub insecure_srs: bool,
}

/// Runs key generation for `model` with `srs`, writing `srs.bin`, `vk.bin`, `pk.bin`.
pub fn setup(model: &CompiledModel, srs: &Srs, step: impl FnMut(&str)) -> Result<Keys, ProofError> {
    let circuit = model.circuit(None);
    setup_circuit(
        &model.dir,
        &model.settings.digest(),
        model.settings.k,
        srs,
        &circuit,
        step,
    )
}

/// Key generation for any circuit of this project: trims `srs` to `k`, writes `srs.bin`,
/// `vk.bin` and `pk.bin` into `dir`, the keys headed by `digest` (what they were made for).
pub fn setup_circuit<C: Circuit<Fr>>(
    dir: &Path,
    digest: &[u8; 32],
    k: u32,
    srs: &Srs,
    circuit: &C,
    mut step: impl FnMut(&str),
) -> Result<Keys, ProofError> {
    if srs.k() < k {
        return Err(ProofError::SrsTooSmall {
            have: srs.k(),
            need: k,
        });
    }
    step("trimming the SRS");
    let srs = srs.downsized(k)?;
    step("generating the verifying key");
    let vk = keygen_vk(&srs.params, circuit).map_err(ProofError::Keygen)?;
    step("generating the proving key");
    let pk = keygen_pk(&srs.params, vk.clone(), circuit).map_err(ProofError::Keygen)?;
    step("writing keys");
    srs.write(dir.join("srs.bin"))?;
    let mut buf = vec![];
    write_key_header(&mut buf, b'V', digest).expect("in memory");
    vk.write(&mut buf, SerdeFormat::RawBytes)
        .expect("in memory");
    write_atomic(&dir.join("vk.bin"), &buf)?;
    let pk_path = dir.join("pk.bin");
    let tmp = pk_path.with_extension("tmp-write");
    {
        let f = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
        let mut w = BufWriter::new(f);
        write_key_header(&mut w, b'P', digest).map_err(io_err(&tmp))?;
        pk.write(&mut w, SerdeFormat::RawBytes)
            .map_err(io_err(&tmp))?;
        w.flush().map_err(io_err(&tmp))?;
    }
    std::fs::rename(&tmp, &pk_path).map_err(io_err(&pk_path))?;
    let insecure_srs = srs.is_insecure();
    Ok(Keys {
        params: srs.params,
        pk: Some(pk),
        vk,
        insecure_srs,
    })
}

/// Loads the parameters and verifying key (and the proving key when `with_pk`).
pub fn load_keys(model: &CompiledModel, with_pk: bool) -> Result<Keys, ProofError> {
    load_circuit_keys::<ModelCircuit>(
        &model.dir,
        &model.settings.digest(),
        model.settings.k,
        model.settings.shape.clone(),
        with_pk,
    )
}

/// Loads `srs.bin`, `vk.bin` (and `pk.bin` when `with_pk`) of a circuit from `dir`,
/// checking that the keys were made for `digest` and the SRS has exactly `k`.
pub fn load_circuit_keys<C: Circuit<Fr>>(
    dir: &Path,
    digest: &[u8; 32],
    k: u32,
    params: C::Params,
    with_pk: bool,
) -> Result<Keys, ProofError>
where
    C::Params: Clone,
{
    let srs = Srs::read(dir.join("srs.bin"))?;
    if srs.k() != k {
        return Err(ProofError::SrsTooSmall {
            have: srs.k(),
            need: k,
        });
    }
    let vk_path = dir.join("vk.bin");
    let f = std::fs::File::open(&vk_path).map_err(io_err(&vk_path))?;
    let mut r = BufReader::new(f);
    read_key_header(&mut r, &vk_path, b'V', "verifying key", digest)?;
    let vk = VerifyingKey::<G1Affine>::read::<_, C>(&mut r, SerdeFormat::RawBytes, params.clone())
        .map_err(|_| ProofError::NotAKey {
            path: vk_path.display().to_string(),
            what: "verifying key",
        })?;
    let pk = if with_pk {
        let pk_path = dir.join("pk.bin");
        let f = std::fs::File::open(&pk_path).map_err(io_err(&pk_path))?;
        let mut r = BufReader::new(f);
        read_key_header(&mut r, &pk_path, b'P', "proving key", digest)?;
        Some(
            ProvingKey::<G1Affine>::read::<_, C>(&mut r, SerdeFormat::RawBytes, params).map_err(
                |_| ProofError::NotAKey {
                    path: pk_path.display().to_string(),
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
pub fn prove_circuit<C: Circuit<Fr>>(
    keys: &Keys,
    circuit: C,
    instances: &[Fr],
) -> Result<Vec<u8>, ProofError> {
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
    .map_err(ProofError::Prove)?;
    Ok(transcript.finalize())
}

/// A proof file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProofFile {
    pub format_version: u32,
    /// Digest of the circuit settings the proof is for.
    pub settings_digest: String,
    /// Public inputs, hex, in circuit order.
    pub instances: Vec<String>,
    /// The proof bytes, hex.
    pub proof: String,
    /// The proven outputs (also when the output is hashed: then only the prover knows them).
    pub outputs: Vec<OutputTensor>,
    /// Set when the keys came from an insecure development SRS.
    #[serde(default)]
    pub insecure_srs: bool,
}

impl ProofFile {
    pub fn read(path: &Path) -> Result<Self, ProofError> {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        let pf: ProofFile = serde_json::from_str(&text).map_err(|e| ProofError::BadProofFile {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        if pf.format_version != FORMAT_VERSION {
            return Err(ProofError::BadProofFile {
                path: path.display().to_string(),
                msg: format!(
                    "format version {} (expected {FORMAT_VERSION})",
                    pf.format_version
                ),
            });
        }
        Ok(pf)
    }

    pub fn instances_fr(&self, path: &Path) -> Result<Vec<Fr>, ProofError> {
        self.instances
            .iter()
            .map(|s| {
                fr_from_hex(s).ok_or_else(|| ProofError::BadProofFile {
                    path: path.display().to_string(),
                    msg: format!(
                        "public input {s} is not a field element below the BN254 scalar modulus"
                    ),
                })
            })
            .collect()
    }

    pub fn proof_bytes(&self, path: &Path) -> Result<Vec<u8>, ProofError> {
        hex::decode(self.proof.trim_start_matches("0x")).map_err(|e| ProofError::BadProofFile {
            path: path.display().to_string(),
            msg: format!("proof is not hex: {e}"),
        })
    }
}

/// Proves one input; returns the proof file (not yet written).
pub fn prove(
    model: &CompiledModel,
    keys: &Keys,
    input: &InputData,
    input_path: &Path,
    salts: Salts,
) -> Result<ProofFile, ProofError> {
    prove_witness(model, keys, model.witness(input, input_path, salts)?)
}

/// Proves an already computed witness of `model`.
pub fn prove_witness(
    model: &CompiledModel,
    keys: &Keys,
    witness: Witness,
) -> Result<ProofFile, ProofError> {
    let outputs = model.outputs(&witness);
    let circuit = model.circuit(Some(witness));
    let instances = circuit.instances().expect("witness is present");
    let proof = prove_circuit(keys, circuit, &instances)?;
    Ok(ProofFile {
        format_version: FORMAT_VERSION,
        settings_digest: model.settings.digest_hex(),
        instances: instances.iter().map(fr_to_hex).collect(),
        proof: format!("0x{}", hex::encode(proof)),
        outputs,
        insecure_srs: keys.insecure_srs,
    })
}

/// Checks a proof of `instances` against a verifying key.
pub fn verify_raw(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
) -> bool {
    let mut transcript = Transcript::<&[u8]>::init(proof);
    let verifier_params = params.verifier_params();
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        verifier_params,
        vk,
        SingleStrategy::new(params),
        &[&[instances]],
        &mut transcript,
    )
    .is_ok()
}

/// Verifies a proof file against a compiled model's keys.
pub fn verify(
    model: &CompiledModel,
    keys: &Keys,
    pf: &ProofFile,
    path: &Path,
) -> Result<bool, ProofError> {
    verify_file(
        &model.settings.digest_hex(),
        model.settings.num_instances,
        keys,
        pf,
        path,
    )
}

/// Verifies a proof file against the keys of a circuit with settings digest `digest_hex`
/// and `num_instances` public inputs.
pub fn verify_file(
    digest_hex: &str,
    num_instances: usize,
    keys: &Keys,
    pf: &ProofFile,
    path: &Path,
) -> Result<bool, ProofError> {
    if pf.settings_digest != digest_hex {
        return Err(ProofError::ProofForOtherCircuit {
            found: pf.settings_digest.clone(),
            expected: digest_hex.to_string(),
        });
    }
    let instances = pf.instances_fr(path)?;
    if instances.len() != num_instances {
        return Err(ProofError::InstanceCount {
            expected: num_instances,
            got: instances.len(),
        });
    }
    let proof = pf.proof_bytes(path)?;
    Ok(verify_raw(&keys.params, &keys.vk, &instances, &proof))
}
