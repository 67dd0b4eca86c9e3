//! A directory with keys: a compiled model (`settings.json`) or a delivery circuit
//! (`delivery.json`). What the `evm` commands and the marketplace need of either.

use crate::model::CompiledModel;
use crate::prompt::delivery::DeliveryDir;
use crate::prompt::PromptError;
use crate::proof::{self, Keys};
use std::path::Path;

pub enum CircuitDir {
    Model(Box<CompiledModel>),
    Delivery(DeliveryDir),
}

impl CircuitDir {
    pub fn load(dir: &Path) -> Result<Self, PromptError> {
        if DeliveryDir::is_delivery_dir(dir) {
            Ok(Self::Delivery(DeliveryDir::load(dir)?))
        } else {
            Ok(Self::Model(Box::new(CompiledModel::load(dir)?)))
        }
    }

    pub fn keys(&self, with_pk: bool) -> Result<Keys, PromptError> {
        match self {
            Self::Model(m) => Ok(proof::load_keys(m, with_pk)?),
            Self::Delivery(d) => d.keys(with_pk),
        }
    }

    pub fn num_instances(&self) -> usize {
        match self {
            Self::Model(m) => m.settings.num_instances,
            Self::Delivery(d) => d.settings.num_instances,
        }
    }

    pub fn digest_hex(&self) -> String {
        match self {
            Self::Model(m) => m.settings.digest_hex(),
            Self::Delivery(d) => d.settings.digest_hex(),
        }
    }

    /// What to change when the verifier is too large (for error messages).
    pub fn shape_hint(&self) -> String {
        match self {
            Self::Model(m) => format!(
                "dot width {}, {} lanes",
                m.settings.shape.dot_width, m.settings.shape.lanes
            ),
            Self::Delivery(d) => format!("delivery circuit of {} blocks", d.settings.blocks),
        }
    }
}

impl CircuitDir {
    /// Checks a proof file against this directory's keys.
    pub fn verify(
        &self,
        keys: &Keys,
        pf: &proof::ProofFile,
        path: &Path,
    ) -> Result<bool, PromptError> {
        Ok(proof::verify_file(
            &self.digest_hex(),
            self.num_instances(),
            keys,
            pf,
            path,
        )?)
    }
}
