//! `trustml audit deploy | register | create | accept | reveal | submit | finalize | withdraw
//! | show`: the audit escrow's steps over an RPC URL (`trustml_chain::audit`).
//!
//! The requester's secret `s_R` is written to a file *before* `createAudit` is sent, so a crash
//! after the transaction never loses what the reveal needs; batch proofs are checked against
//! the public inputs the contract will rebuild before any gas is spent on them.

use crate::block_on;
use crate::evm::{artifacts, compiled_verifier, connect, read_record, u256_of};
use crate::market::parse_price;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;
use trustml::audit::dataset::DatasetCommitment;
use trustml::audit::dir::AuditDir;
use trustml::audit::{self, weights_commitment};
use trustml_chain::audit::{
    random_secret, AuditDeployment, AuditRequest, AuditStatus, Outcome, AUDIT_PUBLIC_INPUTS,
};
use trustml_chain::verifier::DEFAULT_VERIFIER_GAS_LIMIT;
use trustml_chain::{Address, Client, B256, U256};
use trustml_kit::fs::write_json;
use trustml_kit::ProofFile;

/// Where the chain is and who sends.
#[derive(clap::Args)]
pub struct AuditChain {
    /// JSON-RPC endpoint: http(s):// or ws(s)://.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Sender key (hex). Default: $TRUSTML_PRIVATE_KEY, else Anvil's first dev account when
    /// the chain id is 31337.
    #[arg(long)]
    private_key: Option<String>,
    /// The deployment record written by `audit deploy`.
    #[arg(long, default_value = "audit-escrow.json")]
    escrow: PathBuf,
}

impl AuditChain {
    fn deployment(&self) -> Result<AuditDeployment> {
        read_record(
            &self.escrow,
            "trustml audit deploy",
            "--escrow",
            "an audit escrow record",
        )
    }

    /// A sender on the chain the escrow was deployed to.
    async fn sender(&self, d: Option<&AuditDeployment>) -> Result<Client> {
        let record = d.map(|d| (self.escrow.as_path(), d.chain_id));
        connect(&self.rpc_url, self.private_key.clone(), record).await
    }
}

#[derive(Subcommand)]
pub enum AuditChainCmd {
    /// Deploy an AuditModelRegistry (owned by the sender) and an AuditEscrow reading it;
    /// writes --escrow (default audit-escrow.json).
    Deploy {
        #[command(flatten)]
        chain: AuditChain,
    },
    /// Provider: register the model of AUDIT_DIR (its commitment C_W, opened by
    /// --weights-salts) for audits with that circuit. The circuit's verifier is deployed and
    /// registered first if the registry does not know it yet (the registry owner's key only).
    Register {
        #[command(flatten)]
        chain: AuditChain,
        /// The audit circuit directory (`trustml audit setup`).
        audit_dir: PathBuf,
        /// The salts file of the model's hashed weights ({"weights": "0x…"}).
        #[arg(long)]
        weights_salts: PathBuf,
    },
    /// Requester: escrow a bounty for an audit of model --model on the committed dataset
    /// --dataset. Writes a random secret to --secret before sending (keep it: the reveal
    /// needs it, and it is the requester's half of the seed).
    Create {
        #[command(flatten)]
        chain: AuditChain,
        /// The registry's model id (`audit register` printed it).
        #[arg(long)]
        model: u64,
        /// The directory `audit commit-dataset` wrote (R_D, N).
        #[arg(long)]
        dataset: PathBuf,
        /// Samples to audit; default: Hoeffding's n for --epsilon and --delta.
        #[arg(long)]
        samples: Option<u64>,
        #[arg(long, default_value_t = 0.05)]
        epsilon: f64,
        #[arg(long, default_value_t = 0.1)]
        delta: f64,
        /// The accuracy the model must reach: a fraction (0.9) or a ratio (9/10).
        #[arg(long)]
        theta: String,
        /// Wei (or e.g. 0.5eth) escrowed now.
        #[arg(long)]
        bounty: String,
        /// Part of the bounty the provider keeps when the model fails (or the seed is never
        /// revealed): its cost of proving.
        #[arg(long, default_value = "0")]
        fee: String,
        /// Bond the provider posts on accepting (lost if it never proves).
        #[arg(long, default_value = "0")]
        bond: String,
        /// Seconds the provider has to accept.
        #[arg(long, default_value_t = 86_400)]
        accept_within: u64,
        /// Seconds the provider has, from the reveal, to prove every batch.
        #[arg(long, default_value_t = 3 * 86_400)]
        prove_window: u64,
        /// Where the requester's secret goes (must not exist).
        #[arg(long, default_value = "audit-secret.json")]
        secret: PathBuf,
    },
    /// Provider: accept an audit, posting a random seed share and the bond.
    Accept {
        #[command(flatten)]
        chain: AuditChain,
        #[arg(long)]
        audit: u64,
    },
    /// Requester: open the secret; the contract fixes the seed (from both shares and the
    /// hash of the block after the accept). Waits up to --wait seconds for that block.
    Reveal {
        #[command(flatten)]
        chain: AuditChain,
        #[arg(long)]
        audit: u64,
        /// The file `audit create` wrote.
        #[arg(long, default_value = "audit-secret.json")]
        secret: PathBuf,
        #[arg(long, default_value_t = 60)]
        wait: u64,
    },
    /// Anyone: submit the batch proofs of PROOFS_DIR (`audit prove`'s batch-i.json) not yet
    /// on chain. Each is checked against the public inputs the contract rebuilds first.
    Submit {
        #[command(flatten)]
        chain: AuditChain,
        #[arg(long)]
        audit: u64,
        /// The folder of batch proofs (`trustml audit prove`'s output).
        proofs: PathBuf,
    },
    /// Anyone: settle an audit (every batch proven, or a deadline passed).
    Finalize {
        #[command(flatten)]
        chain: AuditChain,
        #[arg(long)]
        audit: u64,
    },
    /// Withdraw what the escrow credited to the sender.
    Withdraw {
        #[command(flatten)]
        chain: AuditChain,
    },
    /// An audit's terms, seed, progress and outcome, and the next step.
    Show {
        #[command(flatten)]
        chain: AuditChain,
        #[arg(long)]
        audit: u64,
    },
}

/// The requester's secret file.
#[derive(Serialize, Deserialize)]
struct SecretFile {
    chain_id: u64,
    escrow: Address,
    requester: Address,
    /// s_R (hex).
    secret: B256,
    /// Filled in once `createAudit` is mined.
    audit_id: Option<u64>,
}

/// θ from "0.9" or "9/10".
fn parse_theta(s: &str) -> Result<(u64, u64)> {
    let bad = || format!("bad --theta {s}: expected a fraction in [0, 1] such as 0.9 or 9/10");
    let (num, den) = if let Some((n, d)) = s.split_once('/') {
        (
            n.trim().parse::<u64>().with_context(bad)?,
            d.trim().parse::<u64>().with_context(bad)?,
        )
    } else {
        let (int, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
        if frac.len() > 9 || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
            bail!(bad());
        }
        let den = 10u64.pow(frac.len() as u32);
        let num = format!("{int}{frac}").parse::<u64>().with_context(bad)?;
        (num, den)
    };
    if den == 0 || num > den {
        bail!(bad());
    }
    Ok((num, den))
}

fn eth(wei: U256) -> String {
    let s = format!("{wei:0>19}");
    let (i, f) = s.split_at(s.len() - 18);
    let f = f.trim_end_matches('0');
    if f.is_empty() {
        format!("{i} ETH")
    } else {
        format!("{i}.{f} ETH")
    }
}

pub fn run(cmd: AuditChainCmd) -> Result<()> {
    match cmd {
        AuditChainCmd::Deploy { chain } => {
            let d = block_on(async {
                chain
                    .sender(None)
                    .await?
                    .deploy_audit()
                    .await
                    .map_err(anyhow::Error::from)
            })?;
            write_json(&chain.escrow, &d)?;
            println!(
                "chain {}: AuditEscrow {}, AuditModelRegistry {} (owner {})",
                d.chain_id, d.escrow, d.registry, d.deployer
            );
            println!("wrote {}", chain.escrow.display());
        }
        AuditChainCmd::Register {
            chain,
            audit_dir,
            weights_salts,
        } => {
            let d = chain.deployment()?;
            let a = AuditDir::load(&audit_dir)?;
            let salt = crate::audit::weights_salt(&weights_salts)?;
            let c_w = weights_commitment(&a.model.program, salt);
            let (gen, compiled) = compiled_verifier(&audit_dir)?;
            if gen.num_instances != AUDIT_PUBLIC_INPUTS {
                bail!("{} is not an audit circuit", audit_dir.display());
            }
            let s = &a.settings.shape;
            let id = B256::from(gen.vk_digest);
            block_on(async {
                let c = chain.sender(Some(&d)).await?;
                let known = c.audit_circuit(&d, id).await?;
                if known.verifier == Address::ZERO {
                    let dep = c
                        .deploy_audit_circuit(
                            &d,
                            artifacts(&gen, &compiled),
                            s.batch as u32,
                            s.depth as u8,
                            DEFAULT_VERIFIER_GAS_LIMIT,
                        )
                        .await?;
                    println!(
                        "circuit {id} registered: verifier {} (adapter {}), b = {}, d = {}",
                        dep.verifier.verifier, dep.verifier.adapter, s.batch, s.depth
                    );
                }
                let sent = c.register_audit_model(&d, id, u256_of(&c_w)).await?;
                println!(
                    "model id {} registered for provider {} (C_W = {}; tx {}, gasUsed {})",
                    sent.id.unwrap_or_default(),
                    c.sender()?,
                    trustml_kit::field::to_hex(&c_w),
                    sent.tx,
                    sent.gas_used
                );
                anyhow::Ok(())
            })?;
        }
        AuditChainCmd::Create {
            chain,
            model,
            dataset,
            samples,
            epsilon,
            delta,
            theta,
            bounty,
            fee,
            bond,
            accept_within,
            prove_window,
            secret,
        } => {
            let d = chain.deployment()?;
            let ds = DatasetCommitment::read(&dataset)?;
            let n = match samples {
                Some(n) => n,
                None => audit::sample_size(epsilon, delta)?,
            };
            let (theta_num, theta_den) = parse_theta(&theta)?;
            let (bounty, fee, bond) = (
                parse_price(&bounty)?,
                parse_price(&fee)?,
                parse_price(&bond)?,
            );
            if secret.exists() {
                bail!(
                    "{} exists (it may hold another audit's secret): pass --secret NEW_FILE",
                    secret.display()
                );
            }
            block_on(async {
                let c = chain.sender(Some(&d)).await?;
                let s_r = random_secret();
                let mut file = SecretFile {
                    chain_id: d.chain_id,
                    escrow: d.escrow,
                    requester: c.sender()?,
                    secret: s_r,
                    audit_id: None,
                };
                write_json(&secret, &file)?;
                let now = c.block_timestamp().await?;
                let request = AuditRequest {
                    model_id: U256::from(model),
                    dataset_root: u256_of(&ds.root.0),
                    dataset_size: U256::from(ds.size),
                    num_samples: n,
                    theta_num,
                    theta_den,
                    bounty,
                    fee,
                    provider_bond: bond,
                    accept_deadline: now + accept_within,
                    prove_window,
                };
                let sent = c.create_audit(&d, &request, s_r).await?;
                let id = sent.id.unwrap_or_default();
                file.audit_id = Some(id.to::<u64>());
                write_json(&secret, &file)?;
                println!(
                    "audit {id} created: model {model}, {n} samples of R_D = {} (N = {}), θ = {theta_num}/{theta_den}, bounty {} (tx {}, gasUsed {})",
                    trustml_kit::field::to_hex(&ds.root.0),
                    ds.size,
                    eth(bounty),
                    sent.tx,
                    sent.gas_used
                );
                println!("  secret in {} (the reveal needs it)", secret.display());
                anyhow::Ok(())
            })?;
        }
        AuditChainCmd::Accept { chain, audit } => {
            let d = chain.deployment()?;
            block_on(async {
                let c = chain.sender(Some(&d)).await?;
                let sent = c
                    .accept_audit(&d, U256::from(audit), random_secret())
                    .await?;
                println!(
                    "audit {audit} accepted (tx {}, gasUsed {}); the requester reveals next",
                    sent.tx, sent.gas_used
                );
                anyhow::Ok(())
            })?;
        }
        AuditChainCmd::Reveal {
            chain,
            audit,
            secret,
            wait,
        } => {
            let d = chain.deployment()?;
            let text = std::fs::read_to_string(&secret)
                .with_context(|| format!("cannot read {}", secret.display()))?;
            let f: SecretFile = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an audit secret file", secret.display()))?;
            if f.escrow != d.escrow || f.audit_id.is_some_and(|id| id != audit) {
                bail!(
                    "{} holds the secret of audit {:?} at escrow {}, not audit {audit} at {}",
                    secret.display(),
                    f.audit_id,
                    f.escrow,
                    d.escrow
                );
            }
            block_on(async {
                let c = chain.sender(Some(&d)).await?;
                let id = U256::from(audit);
                c.wait_for_seed_block(&d, id, Duration::from_secs(1), Duration::from_secs(wait))
                    .await?;
                let r = c.reveal_seed(&d, id, f.secret).await?;
                println!(
                    "audit {audit}: seed {} (tx {}, gasUsed {}); every batch is due by unix time {}",
                    hex_of(r.reveal.seed),
                    r.sent.tx,
                    r.sent.gas_used,
                    r.reveal.prove_deadline
                );
                anyhow::Ok(())
            })?;
        }
        AuditChainCmd::Submit {
            chain,
            audit,
            proofs,
        } => {
            let d = chain.deployment()?;
            block_on(async {
                let c = chain.sender(Some(&d)).await?;
                let id = U256::from(audit);
                let pending = c.pending_batches(&d, id).await?;
                if pending.is_empty() {
                    println!("audit {audit}: every batch is on chain; `trustml audit finalize` settles it");
                    return anyhow::Ok(());
                }
                let mut sent_n = 0;
                for i in pending {
                    let path = proofs.join(format!("batch-{i}.json"));
                    if !path.exists() {
                        continue;
                    }
                    let pf = ProofFile::read(&path)?;
                    let count = crate::audit::count_of(&pf, &path)?;
                    let want = c.batch_public_inputs(&d, id, i, count).await?;
                    let have = pf.instances_fr(&path)?;
                    if want.len() != have.len()
                        || want.iter().zip(&have).any(|(w, h)| *w != u256_of(h))
                    {
                        bail!(
                            "{}: proven for other public inputs than audit {audit}'s batch {i} \
                             (another seed, model, dataset or batch): prove it with `trustml audit \
                             prove --seed` of this audit",
                            path.display()
                        );
                    }
                    let proof = pf.proof_bytes(&path)?;
                    let s = c.submit_batch(&d, id, i, count, &proof).await?;
                    sent_n += 1;
                    println!(
                        "batch {i}: {count} correct (tx {}, gasUsed {}); {} batches, {} correct so far",
                        s.sent.tx, s.sent.gas_used, s.batches_submitted, s.total_correct
                    );
                }
                let left = c.pending_batches(&d, id).await?;
                if left.is_empty() {
                    println!("audit {audit}: all batches proven; `trustml audit finalize --audit {audit}` settles it");
                } else {
                    println!(
                        "{sent_n} submitted; {} still missing (first: batch {})",
                        left.len(),
                        left[0]
                    );
                }
                anyhow::Ok(())
            })?;
        }
        AuditChainCmd::Finalize { chain, audit } => {
            let d = chain.deployment()?;
            block_on(async {
                let c = chain.sender(Some(&d)).await?;
                let s = c.finalize_audit(&d, U256::from(audit)).await?;
                println!(
                    "audit {audit}: {:?}, {} correct of {} proven ({} required) (tx {}, gasUsed {})",
                    s.outcome,
                    s.total_correct,
                    s.samples_proven,
                    s.samples_required,
                    s.sent.tx,
                    s.sent.gas_used
                );
                for (who, amount) in s.credited {
                    println!(
                        "  credited {} to {who} (`trustml audit withdraw`)",
                        eth(amount)
                    );
                }
                anyhow::Ok(())
            })?;
        }
        AuditChainCmd::Withdraw { chain } => {
            let d = chain.deployment()?;
            block_on(async {
                let c = chain.sender(Some(&d)).await?;
                let owed = c.audit_withdrawable(&d, c.sender()?).await?;
                if owed.is_zero() {
                    println!("nothing to withdraw for {}", c.sender()?);
                    return anyhow::Ok(());
                }
                let s = c.withdraw_audit(&d).await?;
                println!(
                    "withdrew {} (tx {}, gasUsed {})",
                    eth(owed),
                    s.tx,
                    s.gas_used
                );
                anyhow::Ok(())
            })?;
        }
        AuditChainCmd::Show { chain, audit } => {
            let d = chain.deployment()?;
            block_on(async {
                let c = Client::connect(&chain.rpc_url).await?;
                let a = c.get_audit(&d, U256::from(audit)).await?;
                let status = AuditStatus::of(&a)?;
                println!("audit {audit}: {status:?}");
                println!(
                    "  model {} (provider {}), C_W {}",
                    a.modelId,
                    a.provider,
                    hex_of(a.weightsCommitment)
                );
                println!(
                    "  dataset R_D {} (N = {}), tree depth {}",
                    hex_of(a.datasetRoot),
                    a.datasetSize,
                    a.treeDepth
                );
                println!(
                    "  {} samples in {} batches of {}, θ = {}/{}",
                    a.numSamples, a.numBatches, a.batchSize, a.thetaNum, a.thetaDen
                );
                println!(
                    "  requester {}, bounty {}, fee {}, bond {}",
                    a.requester,
                    eth(a.bounty),
                    eth(a.fee),
                    eth(a.providerBond)
                );
                match status {
                    AuditStatus::Created => println!(
                        "  next: the provider accepts (`trustml audit accept --audit {audit}`) before unix time {}",
                        a.acceptDeadline
                    ),
                    AuditStatus::Accepted => println!(
                        "  next: the requester reveals (`trustml audit reveal --audit {audit}`)"
                    ),
                    AuditStatus::Proving => {
                        println!(
                            "  seed {}; {} of {} batches proven, {} correct so far; due by unix time {}",
                            hex_of(a.seed),
                            a.batchesSubmitted,
                            a.numBatches,
                            a.totalCorrect,
                            a.proveDeadline
                        );
                        println!(
                            "  next: trustml audit prove AUDIT_DIR --seed {} --samples {} … then `audit submit --audit {audit}`",
                            hex_of(a.seed),
                            a.numSamples
                        );
                    }
                    AuditStatus::Finalized => println!(
                        "  {:?}: {} correct of {} samples proven",
                        Outcome::of(&a)?,
                        a.totalCorrect,
                        a.batchesSubmitted * u64::from(a.batchSize)
                    ),
                    AuditStatus::None => bail!("no audit {audit} at escrow {}", d.escrow),
                }
                anyhow::Ok(())
            })?;
        }
    }
    Ok(())
}

fn hex_of(v: U256) -> String {
    format!("0x{v:064x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theta_parses_fractions_and_ratios() {
        assert_eq!(parse_theta("0.9").unwrap(), (9, 10));
        assert_eq!(parse_theta("0.875").unwrap(), (875, 1000));
        assert_eq!(parse_theta("9/10").unwrap(), (9, 10));
        assert_eq!(parse_theta("1").unwrap(), (1, 1));
        for bad in ["1.5", "11/10", "x", "0.9.1", "3/0", "-0.5"] {
            assert!(parse_theta(bad).is_err(), "{bad}");
        }
        assert_eq!(eth(U256::from(1_500_000_000_000_000_000u128)), "1.5 ETH");
        assert_eq!(eth(U256::ZERO), "0 ETH");
    }
}
