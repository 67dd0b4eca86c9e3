//! `trustml evm …`: Solidity verifiers (generation, deployment, on-chain checks) for any
//! circuit directory. Generation is `verifier-gen`'s, chain calls `trustml-chain`'s.

use crate::block_on;
use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trustml::artifact::CircuitDir;
use trustml_chain::verifier::{Deployment, DEFAULT_VERIFIER_GAS_LIMIT};
use trustml_chain::{parse_address, Client, U256};
use trustml_kit::fs::write_json;
use trustml_kit::ProofFile;
use verifier_gen::{CompiledContract, GeneratedVerifier};

#[derive(Subcommand)]
pub enum EvmCmd {
    /// Write DIR/Verifier.sol (SHPLONK, Keccak transcript) and its bytecode (verifier.bin,
    /// verifier.bin-runtime, evm.json); fails if the runtime code exceeds EIP-170.
    GenVerifier {
        /// A circuit directory with keys (model, delivery or audit).
        dir: PathBuf,
        /// Only write Verifier.sol (no compiler needed).
        #[arg(long)]
        no_compile: bool,
    },
    /// Deploy the raw verifier and a ProofVerifierAdapter for it; writes DIR/deployment.json.
    Deploy {
        /// A circuit directory with a generated verifier (`evm gen-verifier`).
        dir: PathBuf,
        /// JSON-RPC endpoint: http(s):// or ws(s)://.
        #[arg(long)]
        rpc_url: String,
        /// Deployer key (hex). Default: $TRUSTML_PRIVATE_KEY, else Anvil's first dev account
        /// when the chain id is 31337.
        #[arg(long)]
        private_key: Option<String>,
        /// Gas the adapter gives the raw verifier per call.
        #[arg(long, default_value_t = DEFAULT_VERIFIER_GAS_LIMIT)]
        verifier_gas_limit: u64,
    },
    /// Check a proof on chain through the adapter (eth_call); exits 0 only when valid.
    Verify {
        /// The circuit directory the verifier was deployed from (`evm deploy`).
        dir: PathBuf,
        /// The proof file (`trustml prove`, `prompt prove-listing`, …).
        proof: PathBuf,
        /// JSON-RPC endpoint: http(s):// or ws(s)://.
        #[arg(long)]
        rpc_url: String,
        /// Adapter address (default: from DIR/deployment.json).
        #[arg(long)]
        address: Option<String>,
        /// Also send it as a transaction and print the receipt's gasUsed.
        #[arg(long)]
        send: bool,
        /// Sender key for --send (default as for `deploy`).
        #[arg(long)]
        private_key: Option<String>,
    },
}

/// The sender key: the flag, else $TRUSTML_PRIVATE_KEY (else the chain client's default).
pub fn key(arg: Option<String>) -> Option<String> {
    arg.or_else(|| {
        std::env::var("TRUSTML_PRIVATE_KEY")
            .ok()
            .filter(|k| !k.is_empty())
    })
}

fn generate(dir: &Path) -> Result<(CircuitDir, GeneratedVerifier)> {
    let m = CircuitDir::open(dir)?;
    let keys = m.keys(false)?;
    if keys.insecure_srs {
        eprintln!("WARNING: these keys come from an INSECURE development SRS; a verifier made from them accepts forged proofs");
    }
    let gen = verifier_gen::gen_verifier(&keys.params, &keys.vk, m.header.num_instances);
    Ok((m, gen))
}

/// DIR's compiled verifier (reusing verifier.bin when it embeds the current key).
pub fn compiled_verifier(dir: &Path) -> Result<(GeneratedVerifier, CompiledContract)> {
    let (m, gen) = generate(dir)?;
    let c = verifier_gen::compile_cached(dir, &gen, &m.shape_hint)?;
    Ok((gen, c))
}

/// A sender on `rpc_url` (key: `private_key`, else [`key`]'s fallbacks). With `record` =
/// (a deployment file, the chain id it records), the endpoint must be that chain.
pub async fn connect(
    rpc_url: &str,
    private_key: Option<String>,
    record: Option<(&Path, u64)>,
) -> Result<Client> {
    let c = Client::connect_with_key(rpc_url, key(private_key).as_deref()).await?;
    if let Some((path, chain_id)) = record {
        if c.chain_id() != chain_id {
            anyhow::bail!(
                "{rpc_url} is chain {}, but {} records contracts on chain {chain_id}",
                c.chain_id(),
                path.display(),
            );
        }
    }
    Ok(c)
}

/// Reads the deployment record `path` that `deploy` (e.g. `trustml img deploy`) writes;
/// `flag` is the option naming another file, `what` what the record is.
pub fn read_record<T: serde::de::DeserializeOwned>(
    path: &Path,
    deploy: &str,
    flag: &str,
    what: &str,
) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} (run `{deploy}` first, or pass {flag})",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not {what}", path.display()))
}

/// What the chain client registers for a verifier `compiled_verifier` made.
pub fn artifacts<'a>(
    gen: &GeneratedVerifier,
    compiled: &'a CompiledContract,
) -> trustml_chain::market::CircuitArtifacts<'a> {
    trustml_chain::market::CircuitArtifacts {
        verifier: &compiled.creation,
        num_public_inputs: gen.num_instances,
        proof_len: gen.proof_len,
        vk_digest: gen.vk_digest,
    }
}

/// A field element's word as the chain's integer.
pub fn u256_of(f: &trustml_kit::Fr) -> U256 {
    U256::from_be_bytes(trustml_kit::field::to_be_bytes(f))
}

pub fn run(cmd: EvmCmd) -> Result<ExitCode> {
    match cmd {
        EvmCmd::GenVerifier { dir, no_compile } => {
            let (m, gen) = generate(&dir)?;
            if no_compile {
                verifier_gen::write_artifacts(&dir, &gen, None)?;
                println!("wrote {}", dir.join("Verifier.sol").display());
                return Ok(ExitCode::SUCCESS);
            }
            let c = verifier_gen::compile_verifier_hinted(&gen, &m.shape_hint);
            verifier_gen::write_artifacts(&dir, &gen, c.as_ref().ok())?;
            let c = c.with_context(|| {
                format!(
                    "wrote {} but could not use it",
                    dir.join("Verifier.sol").display()
                )
            })?;
            println!(
                "wrote {} and verifier.bin / verifier.bin-runtime / evm.json",
                dir.join("Verifier.sol").display()
            );
            println!(
                "  runtime bytecode {} bytes ({:.0}% of the EIP-170 limit), creation {} bytes, {} public inputs, vk digest {}",
                c.runtime.len(),
                100.0 * c.runtime.len() as f64 / verifier_gen::EIP170_MAX_RUNTIME_BYTES as f64,
                c.creation.len(),
                gen.num_instances,
                verifier_gen::to_hex(&gen.vk_digest)
            );
        }
        EvmCmd::Deploy {
            dir,
            rpc_url,
            private_key,
            verifier_gas_limit,
        } => {
            let (gen, verifier) = compiled_verifier(&dir)?;
            let d = block_on(async {
                let c = Client::connect_with_key(&rpc_url, key(private_key).as_deref()).await?;
                c.deploy_verifier(
                    &verifier.creation,
                    gen.num_instances,
                    gen.proof_len,
                    gen.vk_digest,
                    verifier_gas_limit,
                )
                .await
            })?;
            let out = dir.join("deployment.json");
            write_json(&out, &d)?;
            println!(
                "chain {}: raw verifier {} ({} bytes of code), adapter {} ({} bytes)",
                d.chain_id, d.verifier, d.verifier_code_size, d.adapter, d.adapter_code_size
            );
            println!("wrote {}", out.display());
        }
        EvmCmd::Verify {
            dir,
            proof: path,
            rpc_url,
            address,
            send,
            private_key,
        } => {
            let adapter = match address {
                Some(a) => parse_address(&a)?,
                None => {
                    let p = dir.join("deployment.json");
                    let text = std::fs::read_to_string(&p).with_context(|| {
                        format!(
                            "no --address and no {} (run `trustml evm deploy` first)",
                            p.display()
                        )
                    })?;
                    serde_json::from_str::<Deployment>(&text)
                        .with_context(|| format!("reading {}", p.display()))?
                        .adapter
                }
            };
            let m = CircuitDir::open(&dir)?;
            let pf = ProofFile::read(&path)?;
            if pf.settings_digest != m.header.settings_digest {
                anyhow::bail!(
                    "{} was made for other circuit settings than {}",
                    path.display(),
                    dir.display()
                );
            }
            let inputs: Vec<U256> = pf.instances_fr(&path)?.iter().map(u256_of).collect();
            let proof_bytes = pf.proof_bytes(&path)?;
            let ok = block_on(async {
                let c = Client::connect(&rpc_url).await?;
                let ok = c.verify_call(adapter, &proof_bytes, &inputs).await?;
                println!(
                    "{} (eth_call to {adapter})",
                    if ok { "valid proof" } else { "INVALID proof" }
                );
                if send {
                    let c = Client::connect_with_key(&rpc_url, key(private_key).as_deref()).await?;
                    let s = c.verify_send(adapter, &proof_bytes, &inputs).await?;
                    println!(
                        "sent {}: status {}, gasUsed {} ({} calldata bytes)",
                        s.tx,
                        if s.status { "success" } else { "reverted" },
                        s.gas_used,
                        s.calldata_bytes
                    );
                }
                Ok::<_, trustml_chain::ChainError>(ok)
            })?;
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}
