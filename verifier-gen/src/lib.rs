//! On-chain verification of trustml proofs.
//!
//! * [`gen_verifier`] turns a circuit's KZG parameters and verifying key into a Solidity
//!   verifier (`Verifier.sol`, contract `Halo2Verifier`) with snark-verifier's EVM loader:
//!   SHPLONK multi-opening, Keccak transcript — the same proofs `trustml prove` writes.
//! * [`solc`] compiles it (and the stable [`ADAPTER_SOURCE`] contract) with solcjs through
//!   `tools/solc-shim`, optimizer off, and enforces the EIP-170 code-size limit.
//! * [`encode_calldata`] builds the raw verifier's calldata; [`rpc`] deploys and calls over
//!   JSON-RPC (Anvil or any node).
//!
//! The raw verifier takes `instances (32-byte big-endian words) ‖ proof` with no selector,
//! returns empty data when the proof is valid and reverts otherwise. It reduces public
//! inputs mod r, so callers go through `ProofVerifierAdapter` (contracts/src), which rejects
//! non-canonical inputs and never takes a call to an empty account for success.
//!
//! This crate does not depend on the `trustml` library (whose binary depends on it).

pub mod anvil;
pub mod market;
pub mod rpc;
pub mod solc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::PrimeField;
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
use snark_verifier::verifier::{plonk::PlonkVerifier, SnarkVerifier};
use std::path::Path;
use std::rc::Rc;

pub use solc::{
    check_size, compile_adapter, compile_verifier, compile_verifier_hinted, CompiledContract,
};

/// SHPLONK (BDFG21) KZG accumulation, as the prover uses.
type Shplonk = KzgAs<Bn256, Bdfg21>;
type Verifier = PlonkVerifier<Shplonk, LimbsEncoding<3, 88>>;

/// EIP-170: the largest runtime bytecode a contract may have.
pub const EIP170_MAX_RUNTIME_BYTES: usize = 24_576;

/// Default gas the adapter gives the raw verifier (bounds what an invalid proof can burn).
pub const DEFAULT_VERIFIER_GAS_LIMIT: u64 = 3_000_000;

/// The adapter contract and its interface (sources also live in `contracts/src`).
pub const ADAPTER_SOURCE: &str = include_str!("../../contracts/src/ProofVerifierAdapter.sol");
pub const IPROOF_VERIFIER_SOURCE: &str =
    include_str!("../../contracts/src/interfaces/IProofVerifier.sol");

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the raw verifier's runtime bytecode is {size} bytes, over the EIP-170 limit of {limit} bytes, so no EVM chain would accept it. The verifier grows with the circuit's committed columns and lookups: recompile the model with fewer columns (`trustml compile ... --dot-width W --lanes L` with smaller W and L{hint}) or fewer lookups (fewer non-linear layers), then run `trustml setup` again")]
    CodeTooLarge {
        size: usize,
        limit: usize,
        hint: String,
    },
    #[error("Solidity compiler: {0}")]
    Solc(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("JSON-RPC: {0}")]
    Rpc(String),
    #[error("{0}")]
    Invalid(String),
}

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
    let protocol = compile(
        params,
        vk,
        Config::kzg().with_num_instance(vec![num_instances]),
    );
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
        solidity: loader.solidity_code(),
        num_instances,
        vk_digest: vk_digest(vk),
    }
}

/// Calldata of the raw verifier: each public input as a 32-byte big-endian word, then the proof.
pub fn encode_calldata(instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    snark_verifier::loader::evm::encode_calldata(&[instances.to_vec()], proof)
}

/// A field element as a 32-byte big-endian word (Solidity's uint256).
pub fn fr_to_word(f: &Fr) -> [u8; 32] {
    let mut b: [u8; 32] = f.to_repr();
    b.reverse();
    b
}

/// `0x`-prefixed hex.
pub fn to_hex(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// What `write_artifacts` records in `DIR/evm.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvmArtifacts {
    pub num_instances: usize,
    pub vk_digest: String,
    pub runtime_bytes: usize,
    pub creation_bytes: usize,
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
