//! On-chain verification of trustml proofs.
//!
//! * [`gen_verifier`] turns a circuit's KZG parameters and verifying key into a Solidity
//!   verifier (`Verifier.sol`, contract `Halo2Verifier`) with snark-verifier's EVM loader:
//!   SHPLONK multi-opening, Keccak transcript — the same proofs `trustml prove` writes.
//! * [`solc`] compiles it with solcjs through `tools/solc-shim`, optimizer off, and enforces
//!   the EIP-170 code-size limit.
//! * [`encode_calldata`] builds the raw verifier's calldata; `trustml-chain` deploys it and
//!   calls it (and its `ProofVerifierAdapter`).
//!
//! The raw verifier takes `instances (32-byte big-endian words) ‖ proof` with no selector,
//! returns empty data when the proof is valid and reverts otherwise. It reduces public
//! inputs mod r, so callers go through `ProofVerifierAdapter` (contracts/src), which rejects
//! non-canonical inputs and never takes a call to an empty account for success.
//!
//! This crate takes parameters and a verifying key, not circuits: it depends on no trustml
//! crate.

pub mod compact;
pub mod solc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use snark_verifier::loader::evm::EvmLoader;
use snark_verifier::pcs::kzg::{Bdfg21, KzgAs, KzgDecidingKey, LimbsEncoding};
use snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier::system::halo2::{compile, Config};
use snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier::verifier::{plonk::PlonkVerifier, SnarkVerifier};
use std::path::Path;
use std::rc::Rc;

pub use solc::{check_size, compile_verifier, compile_verifier_hinted, CompiledContract};

/// SHPLONK (BDFG21) KZG accumulation, as the prover uses.
type Shplonk = KzgAs<Bn256, Bdfg21>;
type Verifier = PlonkVerifier<Shplonk, LimbsEncoding<3, 88>>;

/// EIP-170: the largest runtime bytecode a contract may have.
pub const EIP170_MAX_RUNTIME_BYTES: usize = 24_576;

/// Errors of generation and compilation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The verifier would not fit in a contract.
    #[error("the raw verifier's runtime bytecode is {size} bytes, over the EIP-170 limit of {limit} bytes, so no EVM chain would accept it. The verifier grows with the circuit's committed columns and lookups: it needs a circuit with fewer columns (a narrower layout{hint}) or fewer lookups (fewer non-linear layers)")]
    CodeTooLarge {
        /// Runtime bytes.
        size: usize,
        /// EIP-170's limit.
        limit: usize,
        /// The circuit's current shape, as " (now …)", or empty.
        hint: String,
    },
    /// The compiler is missing or failed.
    #[error("Solidity compiler: {0}")]
    Solc(String),
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Result of this crate's calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A generated Solidity verifier.
#[derive(Clone, Debug)]
pub struct GeneratedVerifier {
    /// Source of `Verifier.sol` (contract `Halo2Verifier`).
    pub solidity: String,
    /// Number of public inputs (one instance column).
    pub num_instances: usize,
    /// [`vk_digest`] of the verifying key the verifier embeds.
    pub vk_digest: [u8; 32],
    /// Bytes of every proof of the circuit ([`proof_len`]): what `ProofVerifierAdapter` pins.
    pub proof_len: usize,
}

/// Keccak-256 of the verifying key's halo2 `RawBytes` serialization; the adapter exposes it
/// as `vkDigest()` so a contract can pin which circuit a verifier address checks.
pub fn vk_digest(vk: &VerifyingKey<G1Affine>) -> [u8; 32] {
    let mut buf = vec![];
    vk.write(&mut buf, SerdeFormat::RawBytes)
        .expect("writing to memory");
    Keccak256::digest(&buf).into()
}

/// Generates the Solidity verifier for proofs with `num_instances` public inputs in one
/// instance column, made with `params` and `vk` (SHPLONK, EVM transcript).
pub fn gen_verifier(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> GeneratedVerifier {
    let protocol = protocol_of(params, vk, num_instances);
    let proof_len = protocol_proof_len(&protocol);
    let dk: KzgDecidingKey<Bn256> = (params.get_g()[0], params.g2(), params.s_g2()).into();
    let loader = EvmLoader::new::<Fq, Fr>();
    let protocol = protocol.loaded(&loader);
    let mut transcript = EvmTranscript::<_, Rc<EvmLoader>, _, _>::new(&loader);
    let instances = transcript.load_instances(vec![num_instances]);
    let proof = Verifier::read_proof(&dk, &protocol, &instances, &mut transcript)
        .expect("the EVM loader reads any proof shape");
    Verifier::verify(&dk, &protocol, &instances, &proof)
        .expect("the EVM loader verifies symbolically");
    GeneratedVerifier {
        solidity: compact::inline_single_use(&loader.solidity_code()),
        num_instances,
        vk_digest: vk_digest(vk),
        proof_len,
    }
}

fn protocol_of(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> PlonkProtocol<G1Affine> {
    compile(
        params,
        vk,
        Config::kzg().with_num_instance(vec![num_instances]),
    )
}

/// The length in bytes of every proof of the circuit of `vk` (with `num_instances` public
/// inputs in one instance column), as the generated verifier reads it: each witness
/// commitment (advice, lookup and permutation columns, every phase) and each quotient chunk
/// as a 64-byte point (x ‖ y), each evaluation as a 32-byte scalar, then SHPLONK's two
/// points W and W'. A circuit's proofs all have this length; the verifier reads them at
/// fixed offsets, so `ProofVerifierAdapter` refuses any other length.
pub fn proof_len(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> usize {
    protocol_proof_len(&protocol_of(params, vk, num_instances))
}

fn protocol_proof_len(p: &PlonkProtocol<G1Affine>) -> usize {
    const POINT: usize = 64;
    const SCALAR: usize = 32;
    /// SHPLONK (BDFG21) opening proof: W and W'.
    const SHPLONK_POINTS: usize = 2;
    let points = p.num_witness.iter().sum::<usize>() + p.quotient.num_chunk() + SHPLONK_POINTS;
    POINT * points + SCALAR * p.evaluations.len()
}

/// Calldata of the raw verifier: each public input as a 32-byte big-endian word, then the proof.
pub fn encode_calldata(instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    snark_verifier::loader::evm::encode_calldata(&[instances.to_vec()], proof)
}

/// `0x`-prefixed hex.
pub fn to_hex(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// What `write_artifacts` records in `DIR/evm.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvmArtifacts {
    /// Public inputs.
    pub num_instances: usize,
    /// [`vk_digest`] of the embedded key, hex.
    pub vk_digest: String,
    /// Bytes of every proof the verifier takes (0 in files written before it was recorded).
    #[serde(default)]
    pub proof_len: usize,
    /// Runtime bytecode size.
    pub runtime_bytes: usize,
    /// Creation bytecode size.
    pub creation_bytes: usize,
    /// Compiler version.
    pub solc: String,
}

/// Writes `Verifier.sol`, `verifier.bin` (creation code, hex), `verifier.bin-runtime` and
/// `evm.json` into `dir`.
pub fn write_artifacts(
    dir: &Path,
    gen: &GeneratedVerifier,
    compiled: Option<&CompiledContract>,
) -> Result<()> {
    let w = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(io_err(&p))
    };
    w("Verifier.sol", &gen.solidity)?;
    if let Some(c) = compiled {
        w("verifier.bin", &hex::encode(&c.creation))?;
        w("verifier.bin-runtime", &hex::encode(&c.runtime))?;
        let meta = EvmArtifacts {
            num_instances: gen.num_instances,
            vk_digest: to_hex(&gen.vk_digest),
            proof_len: gen.proof_len,
            runtime_bytes: c.runtime.len(),
            creation_bytes: c.creation.len(),
            solc: c.compiler.clone(),
        };
        w(
            "evm.json",
            &serde_json::to_string_pretty(&meta).expect("serialize"),
        )?;
    }
    Ok(())
}

/// The compiled verifier of `gen` for a circuit directory: `dir/verifier.bin` when
/// `dir/evm.json` says it embeds the same verifying key, else a fresh compile (whose
/// artifacts are written into `dir`). `hint` names the circuit's shape in an EIP-170 error.
pub fn compile_cached(dir: &Path, gen: &GeneratedVerifier, hint: &str) -> Result<CompiledContract> {
    let meta = std::fs::read_to_string(dir.join("evm.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<EvmArtifacts>(&t).ok());
    if let Some(meta) = meta.filter(|a| a.vk_digest == to_hex(&gen.vk_digest)) {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .ok()
                .and_then(|t| hex::decode(t.trim()).ok())
        };
        if let (Some(creation), Some(runtime)) =
            (read("verifier.bin"), read("verifier.bin-runtime"))
        {
            let c = CompiledContract {
                creation,
                runtime,
                compiler: meta.solc,
            };
            check_size(&c, hint)?;
            return Ok(c);
        }
    }
    let c = compile_verifier_hinted(gen, hint);
    write_artifacts(dir, gen, c.as_ref().ok())?;
    c
}
