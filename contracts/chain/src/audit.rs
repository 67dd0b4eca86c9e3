//! Trustless accuracy audits on chain: `AuditModelRegistry` (owner-curated audit circuits,
//! provider-registered models) and `AuditEscrow` (create → accept → reveal the seed → submit
//! every batch → finalize → withdraw).
//!
//! * deploy: [`Client::deploy_audit`] (registry owned by the sender + escrow), then per audit
//!   circuit [`Client::deploy_audit_circuit`] (generated verifier, its adapter pinned to six
//!   public inputs, registered with circuit id = vk digest) or
//!   [`Client::register_audit_circuit`] for a verifier deployed elsewhere;
//! * the provider: [`Client::register_audit_model`] (circuit + C_W), [`Client::accept_audit`]
//!   (seed share + bond), [`Client::submit_batch`] (anyone may submit);
//! * the requester: [`Client::create_audit`] with a secret s_R (its commitment
//!   [`requester_commitment`] is computed here, exactly as the contract checks it), then
//!   [`Client::reveal_seed`] once the block after the accept is mined;
//! * anyone: [`Client::finalize_audit`]; each party: [`Client::withdraw_audit`];
//! * views: [`Client::get_audit`] ([`AuditStatus`], [`Outcome`]), [`Client::audit_seed`],
//!   [`Client::batch_public_inputs`] (what the prover must prove), [`Client::pending_batches`]
//!   (what is left to submit), [`Client::audit_withdrawable`], registry entries.
//!
//! The seed is `keccak256(abi.encode(chainid, escrow, auditId, s_R, s_P,
//! blockhash(acceptBlock + 1))) mod r` ([`seed_of`]); it can only be revealed in blocks
//! `acceptBlock + 2 ..= acceptBlock + 257` (while that block hash is available).

use crate::bindings::{AuditEscrow as E, AuditModelRegistry as R};
use crate::market::{event, sent, tx_to, view_err, CircuitArtifacts};
use crate::verifier::Deployment;
use crate::{ChainError, Client, Result};
use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolEvent, SolValue};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

pub use crate::bindings::AuditModelRegistry::{Circuit, Model};
pub use crate::bindings::IAuditEscrow::{Audit, AuditTerms};
pub use crate::bindings::IAuditModelRegistry::AuditModel;
pub use crate::market::Sent;

/// Public inputs of the audit circuit: `[C_W, R_D, N, seed, j0, count]`.
pub const AUDIT_PUBLIC_INPUTS: usize = 6;
/// Blocks during which `blockhash` is available: a reveal must land in
/// `acceptBlock + 2 ..= acceptBlock + 1 + BLOCKHASH_WINDOW`.
pub const BLOCKHASH_WINDOW: u64 = 256;

/// The BN254 scalar field modulus r.
pub fn snark_scalar_field() -> U256 {
    U256::from_str_radix(
        "21888242871839275222246405745257275088548364400416034343698204186575808495617",
        10,
    )
    .expect("r")
}

/// h_R, the requester's commitment to its secret s_R, as `AuditEscrow.seedCommitment` computes
/// and `revealSeed` checks it: `keccak256(abi.encode(requester, secret))`. It binds the
/// requester's address (not the audit id, which is only known once the creation is mined).
pub fn requester_commitment(requester: Address, secret: B256) -> B256 {
    keccak256((requester, secret).abi_encode())
}

/// The seed formula of `AuditEscrow.seedOf`: `keccak256(abi.encode(chainid, escrow, auditId,
/// s_R, s_P, blockHash)) mod r`, `blockHash` being `blockhash(acceptBlock + 1)`.
pub fn seed_of(
    chain_id: u64,
    escrow: Address,
    audit_id: U256,
    requester_secret: B256,
    provider_share: B256,
    block_hash: B256,
) -> U256 {
    let h = keccak256(
        (
            U256::from(chain_id),
            escrow,
            audit_id,
            requester_secret,
            provider_share,
            block_hash,
        )
            .abi_encode(),
    );
    U256::from_be_bytes(h.0) % snark_scalar_field()
}

/// m = ⌈n / b⌉, the number of batches of an audit of `num_samples` with batches of
/// `batch_size` (as `createAudit` computes it).
pub fn num_batches(num_samples: u64, batch_size: u32) -> u64 {
    num_samples.div_ceil(u64::from(batch_size.max(1)))
}

/// The pass rule of `AuditEscrow.passes`: `total_correct · θ_den ≥ θ_num · samples` with
/// `samples` = m·b.
pub fn passes(total_correct: u64, samples: u64, theta_num: u64, theta_den: u64) -> bool {
    u128::from(total_correct) * u128::from(theta_den) >= u128::from(theta_num) * u128::from(samples)
}

/// A fresh random 32-byte secret s_R (from the OS's cryptographic generator). Keep it: the
/// reveal needs it, and an audit whose secret is lost ends as `NotRevealed` (the requester
/// pays the fee).
pub fn random_secret() -> B256 {
    alloy::signers::local::PrivateKeySigner::random().to_bytes()
}

/// An audit's lifecycle (`IAuditEscrow.Status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditStatus {
    /// No such audit.
    None,
    /// Created, waiting for the provider's accept.
    Created,
    /// Accepted, waiting for the requester's seed reveal.
    Accepted,
    /// Seed revealed: batches are being proven.
    Proving,
    /// Settled (see [`Outcome`]).
    Finalized,
}

impl AuditStatus {
    /// The status of an audit as the contract stores it.
    pub fn of(audit: &Audit) -> Result<Self> {
        Ok(match audit.status {
            0 => Self::None,
            1 => Self::Created,
            2 => Self::Accepted,
            3 => Self::Proving,
            4 => Self::Finalized,
            s => return Err(ChainError::Invalid(format!("unknown audit status {s}"))),
        })
    }
}

/// How a finalized audit ended (`IAuditEscrow.Outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Not finalized.
    None,
    /// Every batch proven, accuracy ≥ θ: bounty + bond to the provider.
    Passed,
    /// Every batch proven, accuracy < θ: fee + bond to the provider, the rest to the requester.
    Failed,
    /// Not accepted before the accept deadline: the bounty back to the requester.
    NotAccepted,
    /// The seed was never revealed: fee + bond to the provider, the rest to the requester.
    NotRevealed,
    /// Batches missing at the proving deadline: bounty + bond to the requester.
    NotProven,
}

impl Outcome {
    /// The outcome code the contract stores and emits.
    pub fn from_code(code: u8) -> Result<Self> {
        Ok(match code {
            0 => Self::None,
            1 => Self::Passed,
            2 => Self::Failed,
            3 => Self::NotAccepted,
            4 => Self::NotRevealed,
            5 => Self::NotProven,
            s => return Err(ChainError::Invalid(format!("unknown audit outcome {s}"))),
        })
    }

    /// The outcome of an audit as the contract stores it.
    pub fn of(audit: &Audit) -> Result<Self> {
        Self::from_code(audit.outcome)
    }
}

/// What [`Client::deploy_audit`] made (`audit.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditDeployment {
    /// The chain.
    pub chain_id: u64,
    /// Who deployed (the registry's owner).
    pub deployer: Address,
    /// `AuditModelRegistry`.
    pub registry: Address,
    /// `AuditEscrow`.
    pub escrow: Address,
    /// The registry's deployment.
    pub registry_tx: B256,
    /// The escrow's deployment.
    pub escrow_tx: B256,
    /// Gas of the registry's deployment.
    pub registry_deploy_gas: u64,
    /// Gas of the escrow's deployment.
    pub escrow_deploy_gas: u64,
}

/// An audit circuit deployed and registered by [`Client::deploy_audit_circuit`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditCircuitDeployment {
    /// Its id in the registry (the vk digest).
    pub circuit_id: B256,
    /// b, samples per batch proof.
    pub batch_size: u32,
    /// d, depth of the dataset tree.
    pub tree_depth: u8,
    /// The raw verifier and its adapter (six public inputs).
    pub verifier: Deployment,
    /// The `registerCircuit` transaction.
    pub register_tx: B256,
}

/// What a requester asks for ([`Client::create_audit`]); the seed commitment is added from
/// the requester's secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRequest {
    /// The registry's model id.
    pub model_id: U256,
    /// R_D, root of the dataset Merkle tree (< r).
    pub dataset_root: U256,
    /// N, samples in the tree (0 < N ≤ 2^d).
    pub dataset_size: U256,
    /// n, samples the audit must cover (the contract makes m = ⌈n/b⌉ batches).
    pub num_samples: u64,
    /// θ = theta_num / theta_den ∈ [0, 1].
    pub theta_num: u64,
    /// θ's denominator (> 0).
    pub theta_den: u64,
    /// Wei escrowed by the requester (msg.value of `createAudit`).
    pub bounty: U256,
    /// The proving fee (≤ bounty): the provider's when the model fails or the seed is never
    /// revealed.
    pub fee: U256,
    /// Exact wei the provider posts at accept.
    pub provider_bond: U256,
    /// Unix time before which the provider must accept.
    pub accept_deadline: u64,
    /// Seconds the provider has, from the reveal, to prove every batch.
    pub prove_window: u64,
}

impl AuditRequest {
    /// The contract's `AuditTerms` with `seed_commitment` = h_R.
    pub fn terms(&self, seed_commitment: B256) -> AuditTerms {
        AuditTerms {
            modelId: self.model_id,
            datasetRoot: self.dataset_root,
            datasetSize: self.dataset_size,
            numSamples: self.num_samples,
            thetaNum: self.theta_num,
            thetaDen: self.theta_den,
            fee: self.fee,
            providerBond: self.provider_bond,
            acceptDeadline: self.accept_deadline,
            proveWindow: self.prove_window,
            seedCommitment: seed_commitment,
        }
    }
}

/// The revealed seed (from the `SeedRevealed` event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedReveal {
    /// s_R, now public.
    pub requester_secret: B256,
    /// The audit's seed (public input 3 of every batch).
    pub seed: U256,
    /// Unix time before which every batch must be submitted.
    pub prove_deadline: u64,
}

/// [`Client::reveal_seed`]'s transaction and the seed it fixed.
#[derive(Clone, Debug)]
pub struct Revealed {
    /// The transaction.
    pub sent: Sent,
    /// The seed.
    pub reveal: SeedReveal,
}

/// [`Client::submit_batch`]'s transaction and the audit's progress after it.
#[derive(Clone, Debug)]
pub struct SubmittedBatch {
    /// The transaction.
    pub sent: Sent,
    /// Batches proven so far.
    pub batches_submitted: u64,
    /// Correct predictions so far.
    pub total_correct: u64,
}

/// [`Client::finalize_audit`]'s transaction and the settlement.
#[derive(Clone, Debug)]
pub struct Settlement {
    /// The transaction.
    pub sent: Sent,
    /// How the audit ended.
    pub outcome: Outcome,
    /// Correct predictions over the proven batches.
    pub total_correct: u64,
    /// Samples proven (batches proven · b).
    pub samples_proven: U256,
    /// Samples required (m · b ≥ n).
    pub samples_required: U256,
    /// Wei credited to each party (withdraw with [`Client::withdraw_audit`]).
    pub credited: Vec<(Address, U256)>,
}

fn events<Ev: SolEvent>(r: &TransactionReceipt) -> Vec<Ev> {
    r.inner
        .logs()
        .iter()
        .filter_map(|l| Ev::decode_log(&l.inner).ok().map(|d| d.data))
        .collect()
}

fn missing_event(what: &str, tx: B256) -> ChainError {
    ChainError::Invalid(format!("no {what} event in the receipt of {tx}"))
}

impl Client {
    /// Deploys an `AuditModelRegistry` owned by the sender and an `AuditEscrow` reading it.
    pub async fn deploy_audit(&self) -> Result<AuditDeployment> {
        let me = self.sender()?;
        let mut code = R::BYTECODE.to_vec();
        code.extend(me.abi_encode());
        let reg = self.deploy_code(code, "AuditModelRegistry").await?;
        let mut code = E::BYTECODE.to_vec();
        code.extend(reg.address.abi_encode());
        let esc = self.deploy_code(code, "AuditEscrow").await?;
        Ok(AuditDeployment {
            chain_id: self.chain_id(),
            deployer: me,
            registry: reg.address,
            escrow: esc.address,
            registry_tx: reg.tx,
            escrow_tx: esc.tx,
            registry_deploy_gas: reg.gas_used,
            escrow_deploy_gas: esc.gas_used,
        })
    }

    /// `registerCircuit` (registry owner only): audit circuit `circuit_id` verified by the
    /// `IProofVerifier` at `verifier`, for batches of `batch_size` from trees of depth
    /// `tree_depth`.
    pub async fn register_audit_circuit(
        &self,
        d: &AuditDeployment,
        circuit_id: B256,
        verifier: Address,
        vk_digest: B256,
        batch_size: u32,
        tree_depth: u8,
    ) -> Result<Sent> {
        let call = R::registerCircuitCall {
            circuitId: circuit_id,
            verifier,
            vkDigest: vk_digest,
            batchSize: batch_size,
            treeDepth: tree_depth,
        };
        let r = self
            .send(
                tx_to(d.registry, call.abi_encode(), U256::ZERO),
                "registerCircuit",
            )
            .await?;
        Ok(sent(&r, None))
    }

    /// Deploys the audit circuit's generated verifier and its adapter (which pins the proof
    /// length and six public inputs) and registers it with circuit id = its vk digest.
    pub async fn deploy_audit_circuit(
        &self,
        d: &AuditDeployment,
        circuit: CircuitArtifacts<'_>,
        batch_size: u32,
        tree_depth: u8,
        verifier_gas_limit: u64,
    ) -> Result<AuditCircuitDeployment> {
        if circuit.num_public_inputs != AUDIT_PUBLIC_INPUTS {
            return Err(ChainError::Invalid(format!(
                "an audit circuit has {AUDIT_PUBLIC_INPUTS} public inputs [C_W, R_D, N, seed, \
                 j0, count], not {}",
                circuit.num_public_inputs
            )));
        }
        let v = self
            .deploy_verifier(
                circuit.verifier,
                AUDIT_PUBLIC_INPUTS,
                circuit.proof_len,
                circuit.vk_digest,
                verifier_gas_limit,
            )
            .await?;
        let id = B256::from(circuit.vk_digest);
        let reg = self
            .register_audit_circuit(d, id, v.adapter, id, batch_size, tree_depth)
            .await?;
        Ok(AuditCircuitDeployment {
            circuit_id: id,
            batch_size,
            tree_depth,
            verifier: v,
            register_tx: reg.tx,
        })
    }

    /// `deprecateCircuit` (registry owner only; irreversible): no new model or audit may use it.
    pub async fn deprecate_audit_circuit(
        &self,
        d: &AuditDeployment,
        circuit_id: B256,
    ) -> Result<Sent> {
        let call = R::deprecateCircuitCall {
            circuitId: circuit_id,
        };
        let r = self
            .send(
                tx_to(d.registry, call.abi_encode(), U256::ZERO),
                "deprecateCircuit",
            )
            .await?;
        Ok(sent(&r, None))
    }

    /// `registerModel`: the sender becomes the provider of a model with weights commitment
    /// `weights_commitment` (C_W) audited with circuit `circuit_id`; `id` is the model id.
    pub async fn register_audit_model(
        &self,
        d: &AuditDeployment,
        circuit_id: B256,
        weights_commitment: U256,
    ) -> Result<Sent> {
        let call = R::registerModelCall {
            circuitId: circuit_id,
            weightsCommitment: weights_commitment,
        };
        let r = self
            .send(
                tx_to(d.registry, call.abi_encode(), U256::ZERO),
                "registerModel",
            )
            .await?;
        let id = event::<R::ModelRegistered>(&r)
            .ok_or_else(|| missing_event("ModelRegistered", r.transaction_hash))?
            .modelId;
        Ok(sent(&r, Some(id)))
    }

    /// `retireModel` (the model's provider; irreversible): no new audit of it.
    pub async fn retire_audit_model(&self, d: &AuditDeployment, model_id: U256) -> Result<Sent> {
        let call = R::retireModelCall { modelId: model_id };
        let r = self
            .send(
                tx_to(d.registry, call.abi_encode(), U256::ZERO),
                "retireModel",
            )
            .await?;
        Ok(sent(&r, None))
    }

    /// `createAudit`: escrows `request.bounty` with h_R = [`requester_commitment`]`(sender,
    /// secret)`; `id` is the audit id. Keep `secret`: [`Client::reveal_seed`] needs it.
    pub async fn create_audit(
        &self,
        d: &AuditDeployment,
        request: &AuditRequest,
        secret: B256,
    ) -> Result<Sent> {
        if secret == B256::ZERO {
            return Err(ChainError::Invalid(
                "the requester secret is zero: use a random 32-byte secret".into(),
            ));
        }
        let h = requester_commitment(self.sender()?, secret);
        let call = E::createAuditCall {
            terms: request.terms(h),
        };
        let r = self
            .send(
                tx_to(d.escrow, call.abi_encode(), request.bounty),
                "createAudit",
            )
            .await?;
        let id = event::<E::AuditCreated>(&r)
            .ok_or_else(|| missing_event("AuditCreated", r.transaction_hash))?
            .auditId;
        Ok(sent(&r, Some(id)))
    }

    /// `accept` (the audit's provider, before the accept deadline): posts the seed share s_P
    /// (public) and exactly the audit's bond, read from the chain.
    pub async fn accept_audit(
        &self,
        d: &AuditDeployment,
        audit_id: U256,
        provider_share: B256,
    ) -> Result<Sent> {
        let a = self.existing_audit(d, audit_id).await?;
        let call = E::acceptCall {
            auditId: audit_id,
            providerShare: provider_share,
        };
        let r = self
            .send(tx_to(d.escrow, call.abi_encode(), a.providerBond), "accept")
            .await?;
        Ok(sent(&r, None))
    }

    /// `revealSeed` (the requester): opens h_R with `secret`, fixing the seed and starting the
    /// proving window. Refused here with [`ChainError::SeedBlockNotMined`] while block
    /// `acceptBlock + 1` is not mined (see [`Client::wait_for_seed_block`]).
    pub async fn reveal_seed(
        &self,
        d: &AuditDeployment,
        audit_id: U256,
        secret: B256,
    ) -> Result<Revealed> {
        let a = self.existing_audit(d, audit_id).await?;
        if AuditStatus::of(&a)? == AuditStatus::Accepted {
            let latest = self.block_number().await?;
            let seed_block = a.acceptBlock + 1;
            if latest < seed_block {
                return Err(ChainError::SeedBlockNotMined {
                    audit: audit_id,
                    seed_block,
                    latest,
                });
            }
        }
        let call = E::revealSeedCall {
            auditId: audit_id,
            requesterSecret: secret,
        };
        let r = self
            .send(tx_to(d.escrow, call.abi_encode(), U256::ZERO), "revealSeed")
            .await?;
        let e = event::<E::SeedRevealed>(&r)
            .ok_or_else(|| missing_event("SeedRevealed", r.transaction_hash))?;
        Ok(Revealed {
            sent: sent(&r, None),
            reveal: SeedReveal {
                requester_secret: e.requesterSecret,
                seed: e.seed,
                prove_deadline: e.proveDeadline,
            },
        })
    }

    /// Waits (polling every `poll`) until block `acceptBlock + 1` of an accepted audit is
    /// mined, so that a reveal can land; gives up after `timeout` with
    /// [`ChainError::SeedBlockNotMined`]. On an automining Anvil nothing is mined without
    /// transactions: use [`Client::anvil_mine`].
    pub async fn wait_for_seed_block(
        &self,
        d: &AuditDeployment,
        audit_id: U256,
        poll: Duration,
        timeout: Duration,
    ) -> Result<()> {
        let a = self.existing_audit(d, audit_id).await?;
        if AuditStatus::of(&a)? != AuditStatus::Accepted {
            return Err(ChainError::Invalid(format!(
                "audit {audit_id} is {:?}, not waiting for its seed reveal",
                AuditStatus::of(&a)?
            )));
        }
        let seed_block = a.acceptBlock + 1;
        let t = Instant::now();
        loop {
            let latest = self.block_number().await?;
            if latest >= seed_block {
                return Ok(());
            }
            if t.elapsed() >= timeout {
                return Err(ChainError::SeedBlockNotMined {
                    audit: audit_id,
                    seed_block,
                    latest,
                });
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// `submitBatch` (anyone, before the proving deadline): the proof of batch `batch_idx`
    /// (samples `batch_idx·b ..`) with `count` correct predictions; the contract rebuilds
    /// the public inputs ([`Client::batch_public_inputs`]) and verifies.
    pub async fn submit_batch(
        &self,
        d: &AuditDeployment,
        audit_id: U256,
        batch_idx: u64,
        count: u64,
        proof: &[u8],
    ) -> Result<SubmittedBatch> {
        let call = E::submitBatchCall {
            auditId: audit_id,
            batchIdx: U256::from(batch_idx),
            count: U256::from(count),
            proof: proof.to_vec().into(),
        };
        let r = self
            .send(
                tx_to(d.escrow, call.abi_encode(), U256::ZERO),
                "submitBatch",
            )
            .await?;
        let e = event::<E::BatchSubmitted>(&r)
            .ok_or_else(|| missing_event("BatchSubmitted", r.transaction_hash))?;
        Ok(SubmittedBatch {
            sent: sent(&r, None),
            batches_submitted: e.batchesSubmitted,
            total_correct: e.totalCorrect,
        })
    }

    /// `finalize` (anyone): settles the audit once every batch is in, or once the deadline
    /// of the step that is due has passed; returns the outcome and what each party was
    /// credited.
    pub async fn finalize_audit(&self, d: &AuditDeployment, audit_id: U256) -> Result<Settlement> {
        let call = E::finalizeCall { auditId: audit_id };
        let r = self
            .send(tx_to(d.escrow, call.abi_encode(), U256::ZERO), "finalize")
            .await?;
        let e = event::<E::AuditFinalized>(&r)
            .ok_or_else(|| missing_event("AuditFinalized", r.transaction_hash))?;
        let credited = events::<E::Credited>(&r)
            .into_iter()
            .filter(|c| c.auditId == audit_id)
            .map(|c| (c.account, c.amount))
            .collect();
        Ok(Settlement {
            sent: sent(&r, None),
            outcome: Outcome::from_code(e.outcome)?,
            total_correct: e.totalCorrect,
            samples_proven: e.samplesProven,
            samples_required: e.samplesRequired,
            credited,
        })
    }

    /// `withdraw` from the escrow: pays the sender its whole balance; `id` is the amount.
    pub async fn withdraw_audit(&self, d: &AuditDeployment) -> Result<Sent> {
        let r = self
            .send(
                tx_to(d.escrow, E::withdrawCall {}.abi_encode(), U256::ZERO),
                "withdraw",
            )
            .await?;
        Ok(sent(&r, event::<E::Withdrawn>(&r).map(|e| e.amount)))
    }

    /// `withdrawTo`: pays the sender's whole escrow balance to `to`; `id` is the amount.
    pub async fn withdraw_audit_to(&self, d: &AuditDeployment, to: Address) -> Result<Sent> {
        let call = E::withdrawToCall { to };
        let r = self
            .send(tx_to(d.escrow, call.abi_encode(), U256::ZERO), "withdrawTo")
            .await?;
        Ok(sent(&r, event::<E::Withdrawn>(&r).map(|e| e.amount)))
    }

    fn escrow(
        &self,
        d: &AuditDeployment,
    ) -> E::AuditEscrowInstance<&alloy::providers::DynProvider> {
        E::new(d.escrow, self.provider())
    }

    fn audit_registry(
        &self,
        d: &AuditDeployment,
    ) -> R::AuditModelRegistryInstance<&alloy::providers::DynProvider> {
        R::new(d.registry, self.provider())
    }

    /// An audit (all zero, status `None`, when there is none).
    pub async fn get_audit(&self, d: &AuditDeployment, audit_id: U256) -> Result<Audit> {
        self.escrow(d)
            .getAudit(audit_id)
            .call()
            .await
            .map_err(|e| view_err("getAudit", e))
    }

    async fn existing_audit(&self, d: &AuditDeployment, audit_id: U256) -> Result<Audit> {
        let a = self.get_audit(d, audit_id).await?;
        if AuditStatus::of(&a)? == AuditStatus::None {
            return Err(ChainError::Invalid(format!(
                "no audit {audit_id} on the escrow {}",
                d.escrow
            )));
        }
        Ok(a)
    }

    /// Number of audits created (ids are 1..=count).
    pub async fn audit_count(&self, d: &AuditDeployment) -> Result<U256> {
        self.escrow(d)
            .auditCount()
            .call()
            .await
            .map_err(|e| view_err("auditCount", e))
    }

    /// The audit's seed, once revealed.
    pub async fn audit_seed(&self, d: &AuditDeployment, audit_id: U256) -> Result<Option<U256>> {
        let a = self.existing_audit(d, audit_id).await?;
        Ok((a.proveDeadline != 0).then_some(a.seed))
    }

    /// The escrow's `seedOf` view (the seed formula evaluated by the contract itself, on its
    /// chain id and address).
    pub async fn audit_seed_of(
        &self,
        d: &AuditDeployment,
        audit_id: U256,
        requester_secret: B256,
        provider_share: B256,
        block_hash: B256,
    ) -> Result<U256> {
        self.escrow(d)
            .seedOf(audit_id, requester_secret, provider_share, block_hash)
            .call()
            .await
            .map_err(|e| view_err("seedOf", e))
    }

    /// The escrow's `seedCommitment` view: h_R for `requester` and `secret`.
    pub async fn audit_seed_commitment(
        &self,
        d: &AuditDeployment,
        requester: Address,
        secret: B256,
    ) -> Result<B256> {
        self.escrow(d)
            .seedCommitment(requester, secret)
            .call()
            .await
            .map_err(|e| view_err("seedCommitment", e))
    }

    /// The seed an accepted audit will get when `secret` is revealed (the requester's preview;
    /// needs block `acceptBlock + 1` mined).
    pub async fn expected_audit_seed(
        &self,
        d: &AuditDeployment,
        audit_id: U256,
        secret: B256,
    ) -> Result<U256> {
        let a = self.existing_audit(d, audit_id).await?;
        if a.acceptBlock == 0 {
            return Err(ChainError::Invalid(format!(
                "audit {audit_id} is not accepted yet: the seed depends on the accept's block"
            )));
        }
        let seed_block = a.acceptBlock + 1;
        let b = self
            .provider()
            .get_block_by_number(seed_block.into())
            .await
            .map_err(crate::rpc_err("eth_getBlockByNumber"))?
            .ok_or(ChainError::SeedBlockNotMined {
                audit: audit_id,
                seed_block,
                latest: self.block_number().await?,
            })?;
        Ok(seed_of(
            self.chain_id(),
            d.escrow,
            audit_id,
            secret,
            a.providerShare,
            b.header.hash,
        ))
    }

    /// The `SeedRevealed` event of an audit (`None` before the reveal).
    pub async fn seed_reveal(
        &self,
        d: &AuditDeployment,
        audit_id: U256,
    ) -> Result<Option<SeedReveal>> {
        let filter = alloy::rpc::types::Filter::new()
            .address(d.escrow)
            .event_signature(E::SeedRevealed::SIGNATURE_HASH)
            .topic1(B256::from(audit_id))
            .from_block(0);
        let logs = self
            .provider()
            .get_logs(&filter)
            .await
            .map_err(crate::rpc_err("eth_getLogs"))?;
        Ok(logs.iter().find_map(|l| {
            E::SeedRevealed::decode_log(&l.inner)
                .ok()
                .map(|e| SeedReveal {
                    requester_secret: e.data.requesterSecret,
                    seed: e.data.seed,
                    prove_deadline: e.data.proveDeadline,
                })
        }))
    }

    /// The exact public inputs `[C_W, R_D, N, seed, j0, count]` `submitBatch` verifies for
    /// batch `batch_idx` with `count` (the seed must be revealed).
    pub async fn batch_public_inputs(
        &self,
        d: &AuditDeployment,
        audit_id: U256,
        batch_idx: u64,
        count: u64,
    ) -> Result<Vec<U256>> {
        self.escrow(d)
            .batchPublicInputs(audit_id, U256::from(batch_idx), U256::from(count))
            .call()
            .await
            .map_err(|e| view_err("batchPublicInputs", e))
    }

    /// Whether batch `batch_idx` of the audit has been proven.
    pub async fn is_batch_submitted(
        &self,
        d: &AuditDeployment,
        audit_id: U256,
        batch_idx: u64,
    ) -> Result<bool> {
        self.escrow(d)
            .isBatchSubmitted(audit_id, U256::from(batch_idx))
            .call()
            .await
            .map_err(|e| view_err("isBatchSubmitted", e))
    }

    /// The batches of the audit not proven yet, in order (one view call per batch).
    pub async fn pending_batches(&self, d: &AuditDeployment, audit_id: U256) -> Result<Vec<u64>> {
        let a = self.existing_audit(d, audit_id).await?;
        if a.batchesSubmitted == a.numBatches {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for i in 0..a.numBatches {
            if !self.is_batch_submitted(d, audit_id, i).await? {
                out.push(i);
            }
        }
        Ok(out)
    }

    /// What `who` can withdraw from the escrow.
    pub async fn audit_withdrawable(&self, d: &AuditDeployment, who: Address) -> Result<U256> {
        self.escrow(d)
            .withdrawable(who)
            .call()
            .await
            .map_err(|e| view_err("withdrawable", e))
    }

    /// The registry's view of a model as an audit pins it (all zero when there is none).
    pub async fn audit_model(&self, d: &AuditDeployment, model_id: U256) -> Result<AuditModel> {
        self.audit_registry(d)
            .auditModel(model_id)
            .call()
            .await
            .map_err(|e| view_err("auditModel", e))
    }

    /// A registered audit circuit (all zero when unregistered).
    pub async fn audit_circuit(&self, d: &AuditDeployment, circuit_id: B256) -> Result<Circuit> {
        self.audit_registry(d)
            .getCircuit(circuit_id)
            .call()
            .await
            .map_err(|e| view_err("getCircuit", e))
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.provider()
            .get_block_number()
            .await
            .map_err(crate::rpc_err("eth_blockNumber"))
    }

    /// Mines `blocks` empty blocks on an Anvil chain (tests, demos: e.g. the seed block after
    /// an accept, or past an audit's reveal window).
    pub async fn anvil_mine(&self, blocks: u64) -> Result<()> {
        let _: serde_json::Value = self
            .provider()
            .raw_request("anvil_mine".into(), (U256::from(blocks),))
            .await
            .map_err(crate::rpc_err("anvil_mine"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_pass_rule() {
        assert_eq!(num_batches(600, 16), 38);
        assert_eq!(num_batches(10, 4), 3);
        assert_eq!(num_batches(8, 4), 2);
        // 9 of 12 against θ = 3/4 passes exactly; 8 does not.
        assert!(passes(9, 12, 3, 4));
        assert!(!passes(8, 12, 3, 4));
        assert!(passes(0, 12, 0, 1));
        assert!(passes(u64::MAX, u64::MAX, u64::MAX, u64::MAX));
    }

    #[test]
    fn seed_is_a_field_element_and_depends_on_every_part() {
        let base = (
            1u64,
            Address::repeat_byte(1),
            U256::from(1),
            B256::ZERO,
            B256::ZERO,
        );
        let s = seed_of(base.0, base.1, base.2, base.3, base.4, B256::ZERO);
        assert!(s < snark_scalar_field());
        assert_ne!(s, seed_of(2, base.1, base.2, base.3, base.4, B256::ZERO));
        assert_ne!(
            s,
            seed_of(base.0, Address::ZERO, base.2, base.3, base.4, B256::ZERO)
        );
        assert_ne!(
            s,
            seed_of(base.0, base.1, U256::from(2), base.3, base.4, B256::ZERO)
        );
        let one = B256::with_last_byte(1);
        assert_ne!(s, seed_of(base.0, base.1, base.2, one, base.4, B256::ZERO));
        assert_ne!(s, seed_of(base.0, base.1, base.2, base.3, one, B256::ZERO));
        assert_ne!(s, seed_of(base.0, base.1, base.2, base.3, base.4, one));
        assert_ne!(random_secret(), random_secret());
    }

    #[test]
    fn request_and_deployment_records_round_trip() {
        let r = AuditRequest {
            model_id: U256::from(1),
            dataset_root: U256::from(2),
            dataset_size: U256::from(1u128 << 64),
            num_samples: 600,
            theta_num: 9,
            theta_den: 10,
            bounty: U256::from(100),
            fee: U256::from(10),
            provider_bond: U256::from(50),
            accept_deadline: 1_700_000_000,
            prove_window: 3600,
        };
        let back: AuditRequest = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let t = r.terms(B256::repeat_byte(7));
        assert_eq!(
            (t.numSamples, t.seedCommitment),
            (600, B256::repeat_byte(7))
        );
        assert_eq!(
            Outcome::from_code(5).unwrap(),
            Outcome::NotProven,
            "codes follow IAuditEscrow.Outcome"
        );
        assert!(Outcome::from_code(6).is_err());
    }
}
