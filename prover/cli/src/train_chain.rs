//! `trustml train deploy | register-circuit | submit | status`: verified training on chain
//! (`trustml_chain::train`).
//!
//! `submit` verifies the run natively first (no gas is spent on a chain that does not
//! verify), opens the run on chain once (its id is kept in DIR/onchain.json) and submits the
//! steps not yet verified there, in order; the contract rebuilds each step's public inputs.

use crate::block_on;
use crate::evm::{artifacts, compiled_verifier, connect, read_record, u256_of};
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use trustml::train::run::TrainRun;
use trustml_chain::train::{NewRun, TrainingDeployment};
use trustml_chain::verifier::DEFAULT_VERIFIER_GAS_LIMIT;
use trustml_chain::{Client, B256, U256};
use trustml_kit::field::from_hex;
use trustml_kit::fs::write_json;
use trustml_kit::progress::NoProgress;
use trustml_kit::ProofFile;

/// Where the chain is and who sends.
#[derive(clap::Args)]
pub struct TrainChain {
    /// JSON-RPC endpoint: http(s):// or ws(s)://.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Sender key (hex). Default: $TRUSTML_PRIVATE_KEY, else Anvil's first dev account when
    /// the chain id is 31337.
    #[arg(long)]
    private_key: Option<String>,
    /// The deployment record written by `train deploy`.
    #[arg(long, default_value = "training.json")]
    training: PathBuf,
}

impl TrainChain {
    fn deployment(&self) -> Result<TrainingDeployment> {
        read_record(
            &self.training,
            "trustml train deploy",
            "--training",
            "a training deployment",
        )
    }

    async fn sender(&self, d: Option<&TrainingDeployment>) -> Result<Client> {
        let record = d.map(|d| (self.training.as_path(), d.chain_id));
        connect(&self.rpc_url, self.private_key.clone(), record).await
    }
}

/// `DIR/onchain.json`: the run's id in a training registry.
#[derive(Serialize, Deserialize)]
struct OnChain {
    chain_id: u64,
    training: trustml_chain::Address,
    run_id: U256,
}

fn onchain_path(dir: &Path) -> PathBuf {
    dir.join("onchain.json")
}

#[derive(Subcommand)]
pub enum TrainChainCmd {
    /// Deploy a VerifierRegistry and a TrainingRegistry (both owned by the sender); writes
    /// --training (default training.json).
    Deploy {
        #[command(flatten)]
        chain: TrainChain,
    },
    /// Owner: deploy the step circuit's verifier of training run DIR, register it and name
    /// it a step circuit.
    RegisterCircuit {
        #[command(flatten)]
        chain: TrainChain,
        /// A training run directory (`trustml train init`).
        dir: PathBuf,
    },
    /// Verify DIR's run here, open it on chain (once) and submit every step the chain has
    /// not verified yet, in order.
    Submit {
        #[command(flatten)]
        chain: TrainChain,
        dir: PathBuf,
    },
    /// What the chain says of DIR's run, or of a weights commitment (0x…): its steps, and
    /// the dataset it was trained on.
    Status {
        #[command(flatten)]
        chain: TrainChain,
        /// A training run directory, or a commitment C_W (0x…).
        what: String,
    },
}

pub fn run(cmd: TrainChainCmd) -> Result<()> {
    match cmd {
        TrainChainCmd::Deploy { chain } => {
            let d = block_on(async {
                let c = chain.sender(None).await?;
                anyhow::Ok(c.deploy_training().await?)
            })?;
            write_json(&chain.training, &d)?;
            println!(
                "TrainingRegistry {} over VerifierRegistry {} (owner {}) → {}",
                d.training,
                d.registry,
                d.deployer,
                chain.training.display()
            );
        }
        TrainChainCmd::RegisterCircuit { chain, dir } => {
            let mut d = chain.deployment()?;
            TrainRun::load(&dir)?;
            let (gen, compiled) = compiled_verifier(&dir)?;
            let s = block_on(async {
                let c = chain.sender(Some(&d)).await?;
                anyhow::Ok(
                    c.add_step_circuit(
                        &mut d,
                        artifacts(&gen, &compiled),
                        DEFAULT_VERIFIER_GAS_LIMIT,
                    )
                    .await?,
                )
            })?;
            write_json(&chain.training, &d)?;
            println!(
                "step circuit {} registered: verifier {}, adapter {}",
                s.circuit_id, s.verifier.verifier, s.verifier.adapter
            );
        }
        TrainChainCmd::Submit { chain, dir } => {
            let d = chain.deployment()?;
            let run = TrainRun::load(&dir)?;
            let keys = run.keys(false)?;
            run.verify(&keys, &NoProgress)
                .context("the run does not verify here: not sending it")?;
            let id = B256::from(verifier_gen::vk_digest(&keys.vk));
            if !d.step_circuits.iter().any(|s| s.circuit_id == id) {
                bail!(
                    "{} does not list this run's step circuit {id}: run `trustml train register-circuit {}` first",
                    chain.training.display(),
                    dir.display()
                );
            }
            let s = &run.settings;
            let c_at = |t: u64| u256_of(&run.chain.commitments[t as usize].0);
            block_on(async {
                let c = chain.sender(Some(&d)).await?;
                let run_id = match std::fs::read_to_string(onchain_path(&dir)) {
                    Ok(text) => {
                        let o: OnChain = serde_json::from_str(&text).with_context(|| {
                            format!("{} is not a run record", onchain_path(&dir).display())
                        })?;
                        if o.chain_id != d.chain_id || o.training != d.training {
                            bail!(
                                "{} records a run in another training registry; move it away to open a new run here",
                                onchain_path(&dir).display()
                            );
                        }
                        o.run_id
                    }
                    Err(_) => {
                        let sent = c
                            .open_run(
                                &d,
                                NewRun {
                                    circuit_id: id,
                                    initial: c_at(0),
                                    dataset_root: u256_of(&s.root.0),
                                    dataset_size: s.size,
                                    learning_rate: s.lr as u64,
                                    steps: s.steps,
                                },
                            )
                            .await?;
                        let run_id = sent.id.expect("openRun returns the run id");
                        write_json(
                            &onchain_path(&dir),
                            &OnChain {
                                chain_id: d.chain_id,
                                training: d.training,
                                run_id,
                            },
                        )?;
                        println!(
                            "run {run_id} opened (tx {}, gasUsed {})",
                            sent.tx, sent.gas_used
                        );
                        run_id
                    }
                };
                let r = c.training_run(&d, run_id).await?;
                for t in r.verified..s.steps {
                    let path = run.proof_path(t);
                    let pf = ProofFile::read(&path)?;
                    let sent = c
                        .submit_step(&d, run_id, c_at(t + 1), pf.proof_bytes(&path)?)
                        .await?;
                    println!(
                        "step {t} verified on chain: C_W{} = {:#066x} (tx {}, gasUsed {})",
                        t + 1,
                        c_at(t + 1),
                        sent.tx,
                        sent.gas_used
                    );
                }
                let done = c.trained_on(&d, c_at(s.steps)).await?;
                println!(
                    "run {run_id} complete: C_WT = {:#066x} trained on R_D = {:#066x} (by run {})",
                    c_at(s.steps),
                    done.datasetRoot,
                    done.runId
                );
                anyhow::Ok(())
            })?;
        }
        TrainChainCmd::Status { chain, what } => {
            let d = chain.deployment()?;
            block_on(async {
                let c = chain.sender(Some(&d)).await?;
                if what.starts_with("0x") {
                    let cw = from_hex(&what)
                        .with_context(|| format!("{what} is not a field element"))?;
                    let t = c.trained_on(&d, u256_of(&cw)).await?;
                    if t.runId == U256::ZERO {
                        println!("{what}: no completed run ends at this commitment");
                    } else {
                        println!(
                            "{what}: trained by run {} on R_D = {:#066x}",
                            t.runId, t.datasetRoot
                        );
                    }
                    return anyhow::Ok(());
                }
                let path = onchain_path(Path::new(&what));
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!(
                        "reading {} (run `trustml train submit {what}` first)",
                        path.display()
                    )
                })?;
                let o: OnChain = serde_json::from_str(&text)?;
                let r = c.training_run(&d, o.run_id).await?;
                println!(
                    "run {}: {}/{} steps verified, C_W = {:#066x}, R_D = {:#066x}, N = {}, η = {}/256",
                    o.run_id, r.verified, r.steps, r.current, r.datasetRoot, r.datasetSize, r.learningRate
                );
                anyhow::Ok(())
            })?;
        }
    }
    Ok(())
}
