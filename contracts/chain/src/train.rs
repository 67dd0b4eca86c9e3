//! Verified training on chain: `TrainingRegistry` (runs of SGD-step proofs linking `C_W0` to
//! `C_WT` on a committed dataset) over a `VerifierRegistry` that pins the step circuit's
//! verifier.
//!
//! * deploy: [`Client::deploy_training`] (registry + training registry, owned by the sender),
//!   then [`Client::add_step_circuit`] (generated verifier, adapter pinned to six public
//!   inputs and the proof length, registered with circuit id = vk digest, named a step
//!   circuit);
//! * a trainer: [`Client::open_run`], then anyone [`Client::submit_step`] in order (the
//!   contract rebuilds `[C_W, C_W', R_D, N, t, c]` from the run);
//! * views: [`Client::training_run`], [`Client::trained_on`].

use crate::bindings::{TrainingRegistry as T, VerifierRegistry as R};
use crate::market::{event, sent, tx_to, view_err, CircuitArtifacts};
use crate::verifier::Deployment;
use crate::{ChainError, Client, Result};
use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::{SolCall, SolValue};
use serde::{Deserialize, Serialize};

pub use crate::bindings::TrainingRegistry::{Run, Trained};
pub use crate::market::Sent;

/// What [`Client::deploy_training`] made (written to a JSON file by the CLI).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainingDeployment {
    /// The chain.
    pub chain_id: u64,
    /// Owner of both contracts.
    pub deployer: Address,
    /// The `VerifierRegistry`.
    pub registry: Address,
    /// The `TrainingRegistry`.
    pub training: Address,
    /// Step circuits added since: (circuit id, verifier deployment).
    #[serde(default)]
    pub step_circuits: Vec<StepCircuit>,
}

/// A step circuit on chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepCircuit {
    /// Its id (the vk digest).
    pub circuit_id: B256,
    /// Its verifier and adapter.
    pub verifier: Deployment,
}

/// A run as [`Client::open_run`] opens it.
#[derive(Clone, Copy, Debug)]
pub struct NewRun {
    /// The step circuit.
    pub circuit_id: B256,
    /// `C_W0`.
    pub initial: U256,
    /// `R_D`.
    pub dataset_root: U256,
    /// `N`.
    pub dataset_size: u64,
    /// `c` of η = c/256.
    pub learning_rate: u64,
    /// `T`.
    pub steps: u64,
}

impl Client {
    /// Deploys a `VerifierRegistry` and a `TrainingRegistry` over it, both owned by the
    /// sender.
    pub async fn deploy_training(&self) -> Result<TrainingDeployment> {
        let me = self.sender()?;
        let mut code = R::BYTECODE.to_vec();
        code.extend(me.abi_encode());
        let registry = self.deploy_code(code, "VerifierRegistry").await?.address;
        let mut code = T::BYTECODE.to_vec();
        code.extend((me, registry).abi_encode_params());
        let training = self.deploy_code(code, "TrainingRegistry").await?.address;
        Ok(TrainingDeployment {
            chain_id: self.chain_id(),
            deployer: me,
            registry,
            training,
            step_circuits: vec![],
        })
    }

    /// Deploys a step circuit's verifier and adapter, registers it (circuit id = vk digest)
    /// and names it a step circuit (owner of both contracts only).
    pub async fn add_step_circuit(
        &self,
        d: &mut TrainingDeployment,
        circuit: CircuitArtifacts<'_>,
        verifier_gas_limit: u64,
    ) -> Result<StepCircuit> {
        if circuit.num_public_inputs != 6 {
            return Err(ChainError::Invalid(format!(
                "a step circuit has public inputs [C_W, C_W', R_D, N, t, c], not {}",
                circuit.num_public_inputs
            )));
        }
        let (id, v) = self
            .deploy_and_register(d.registry, &circuit, verifier_gas_limit)
            .await?;
        let call = T::addStepCircuitCall { circuitId: id };
        self.send(
            tx_to(d.training, call.abi_encode(), U256::ZERO),
            "addStepCircuit",
        )
        .await?;
        let s = StepCircuit {
            circuit_id: id,
            verifier: v,
        };
        d.step_circuits.push(s.clone());
        Ok(s)
    }

    /// `openRun`: the new run's id is [`Sent::id`].
    pub async fn open_run(&self, d: &TrainingDeployment, run: NewRun) -> Result<Sent> {
        let call = T::openRunCall {
            circuitId: run.circuit_id,
            initial: run.initial,
            datasetRoot: run.dataset_root,
            datasetSize: run.dataset_size,
            learningRate: run.learning_rate,
            steps: run.steps,
        };
        let r = self
            .send(tx_to(d.training, call.abi_encode(), U256::ZERO), "openRun")
            .await?;
        let e = event::<T::RunOpened>(&r).ok_or_else(|| {
            ChainError::Invalid(format!("no RunOpened event in {}", r.transaction_hash))
        })?;
        Ok(sent(&r, Some(e.runId)))
    }

    /// `submitStep`: verifies the run's next step `C_W → next` with `proof`.
    pub async fn submit_step(
        &self,
        d: &TrainingDeployment,
        run_id: U256,
        next: U256,
        proof: Vec<u8>,
    ) -> Result<Sent> {
        let call = T::submitStepCall {
            runId: run_id,
            next,
            proof: proof.into(),
        };
        let r = self
            .send(
                tx_to(d.training, call.abi_encode(), U256::ZERO),
                "submitStep",
            )
            .await?;
        event::<T::StepVerified>(&r).ok_or_else(|| {
            ChainError::Invalid(format!("no StepVerified event in {}", r.transaction_hash))
        })?;
        Ok(sent(&r, None))
    }

    /// Run `run_id` (`trainer` zero: none).
    pub async fn training_run(&self, d: &TrainingDeployment, run_id: U256) -> Result<Run> {
        T::new(d.training, self.provider())
            .run(run_id)
            .call()
            .await
            .map_err(|e| view_err("run", e))
    }

    /// Where `commitment` was trained (`runId` 0: by no completed run).
    pub async fn trained_on(&self, d: &TrainingDeployment, commitment: U256) -> Result<Trained> {
        T::new(d.training, self.provider())
            .trainedOn(commitment)
            .call()
            .await
            .map_err(|e| view_err("trainedOn", e))
    }
}
