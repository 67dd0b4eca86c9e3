//! Any circuit directory, opened by its header (`circuit.json`): what `verify`, the Solidity
//! verifier generator and deployment need, whatever the circuit.
//!
//! A new circuit kind implements [`CircuitArtifact`] for its loaded directory (header, keys — halo2
//! re-runs the circuit's `configure` to read a verifying key, so the type must be known —,
//! what to shrink when its verifier is too large, what a proof file says beyond its public
//! inputs) and adds one line to [`KINDS`]. Nothing else dispatches on the kind, and a
//! directory is loaded once.

use crate::market::delivery::DeliveryDir;
use crate::model::CompiledModel;
use std::path::{Path, PathBuf};
use thiserror::Error;
use trustml_kit::{ArtifactHeader, Keys, KitError, ProofFile};

/// Errors of opening a circuit directory.
#[derive(Debug, Error)]
pub enum ArtifactError {
    /// The header, keys or proof file.
    #[error(transparent)]
    Kit(#[from] KitError),
    /// A model directory.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// A model's keys.
    #[error(transparent)]
    Proof(#[from] crate::proof::ProofError),
    /// A delivery circuit directory.
    #[error(transparent)]
    Market(#[from] crate::market::MarketError),
    /// An audit circuit directory.
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    /// An image edit directory.
    #[error(transparent)]
    Img(#[from] crate::img::ImgError),
    /// A training run directory.
    #[error(transparent)]
    Train(#[from] crate::train::TrainError),
    /// The header names a kind this build does not know.
    #[error(
        "{dir} holds a circuit of kind '{kind}', which this trustml does not know (known: {known})"
    )]
    UnknownKind {
        /// The directory.
        dir: String,
        /// Its kind.
        kind: String,
        /// The kinds this build knows.
        known: String,
    },
    /// The header disagrees with the kind's own settings.
    #[error("{dir}/circuit.json does not match the directory's settings (digest {header}, settings {settings}); the circuit must be set up again")]
    StaleHeader {
        /// The directory.
        dir: String,
        /// The header's digest.
        header: String,
        /// The settings' digest.
        settings: String,
    },
}

/// A loaded circuit directory of some kind.
pub trait CircuitArtifact {
    /// The header the directory's own settings imply (compared with `circuit.json`).
    fn header(&self) -> ArtifactHeader;
    /// What to shrink when the verifier is too large (for messages).
    fn shape_hint(&self) -> String;
    /// Its keys (and the proving key when asked).
    fn keys(&self, with_pk: bool) -> Result<Keys, ArtifactError>;
    /// Checks what a valid proof file says beyond its public inputs (a model's readable
    /// outputs); returns a note for the reader, if any.
    fn check(&self, pf: &ProofFile) -> Result<Option<&'static str>, ArtifactError>;
}

impl CircuitArtifact for CompiledModel {
    fn header(&self) -> ArtifactHeader {
        CompiledModel::header(self)
    }
    fn shape_hint(&self) -> String {
        let s = &self.settings.shape;
        format!("dot width {}, {} lanes", s.dot_width, s.lanes)
    }
    fn keys(&self, with_pk: bool) -> Result<Keys, ArtifactError> {
        Ok(crate::proof::load_keys(self, with_pk)?)
    }
    fn check(&self, pf: &ProofFile) -> Result<Option<&'static str>, ArtifactError> {
        use crate::proof::OutputsStatus::*;
        Ok(match crate::proof::check_outputs(self, pf)? {
            Proven => None,
            HashOpened => Some("the readable outputs open the output commitment (salt 0)"),
            NotCovered => Some(
                "the readable outputs are the prover's word: the proof hides them (private or salted)",
            ),
        })
    }
}

impl CircuitArtifact for DeliveryDir {
    fn header(&self) -> ArtifactHeader {
        DeliveryDir::header(self)
    }
    fn shape_hint(&self) -> String {
        format!("delivery circuit of {} blocks", self.settings.blocks)
    }
    fn keys(&self, with_pk: bool) -> Result<Keys, ArtifactError> {
        Ok(DeliveryDir::keys(self, with_pk)?)
    }
    fn check(&self, _: &ProofFile) -> Result<Option<&'static str>, ArtifactError> {
        Ok(None)
    }
}

impl CircuitArtifact for crate::audit::dir::AuditDir {
    fn header(&self) -> ArtifactHeader {
        crate::audit::dir::AuditDir::header(self)
    }
    fn shape_hint(&self) -> String {
        let s = &self.settings.shape;
        format!(
            "audit batches of {} (dot width {}, {} lanes)",
            s.batch, s.model.dot_width, s.model.lanes
        )
    }
    fn keys(&self, with_pk: bool) -> Result<Keys, ArtifactError> {
        Ok(crate::audit::dir::AuditDir::keys(self, with_pk)?)
    }
    fn check(&self, _: &ProofFile) -> Result<Option<&'static str>, ArtifactError> {
        Ok(None)
    }
}

impl CircuitArtifact for crate::img::ImgDir {
    fn header(&self) -> ArtifactHeader {
        crate::img::ImgDir::header(self)
    }
    fn shape_hint(&self) -> String {
        let s = &self.settings.shape;
        format!(
            "{} with {} Poseidon chips and {} affine lanes",
            s.edit.name(),
            s.hash_lanes,
            s.lanes
        )
    }
    fn keys(&self, with_pk: bool) -> Result<Keys, ArtifactError> {
        Ok(crate::img::ImgDir::keys(self, with_pk)?)
    }
    fn check(&self, pf: &ProofFile) -> Result<Option<&'static str>, ArtifactError> {
        self.checked_params(&pf.instances_fr(Path::new("proof"))?)?;
        Ok(None)
    }
}

impl CircuitArtifact for crate::train::run::TrainRun {
    fn header(&self) -> ArtifactHeader {
        self.settings.header()
    }
    fn shape_hint(&self) -> String {
        let s = &self.settings.shape;
        format!(
            "SGD steps of {} samples ({}→{}→{})",
            s.batch(),
            s.dims.input,
            s.dims.hidden,
            s.dims.classes
        )
    }
    fn keys(&self, with_pk: bool) -> Result<Keys, ArtifactError> {
        Ok(crate::train::run::TrainRun::keys(self, with_pk)?)
    }
    fn check(&self, _: &ProofFile) -> Result<Option<&'static str>, ArtifactError> {
        Ok(Some(
            "one step alone: `trustml train verify` checks that the steps chain",
        ))
    }
}

/// Opens a directory of one kind.
type Open = fn(&Path) -> Result<Box<dyn CircuitArtifact>, ArtifactError>;

/// Every circuit kind this build knows: the `kind` of `circuit.json` and how to open it.
pub const KINDS: &[(&str, Open)] = &[
    (crate::model::KIND, |dir| {
        Ok(Box::new(CompiledModel::load(dir)?))
    }),
    (crate::market::delivery::KIND, |dir| {
        Ok(Box::new(DeliveryDir::load(dir)?))
    }),
    (crate::audit::dir::KIND, |dir| {
        Ok(Box::new(crate::audit::dir::AuditDir::load(dir)?))
    }),
    (crate::img::dir::KIND, |dir| {
        Ok(Box::new(crate::img::ImgDir::load(dir)?))
    }),
    (crate::train::run::KIND, |dir| {
        Ok(Box::new(crate::train::run::TrainRun::load(dir)?))
    }),
];

/// A circuit directory of any kind.
pub struct CircuitDir {
    /// The directory.
    pub dir: PathBuf,
    /// Its header.
    pub header: ArtifactHeader,
    /// What to shrink when the verifier is too large (for messages).
    pub shape_hint: String,
    circuit: Box<dyn CircuitArtifact>,
}

impl CircuitDir {
    /// Opens `dir`: reads its header, loads the kind's settings and checks they agree. A
    /// directory without a header (made before headers existed) is taken for what its
    /// settings file says it is.
    pub fn open(dir: &Path) -> Result<Self, ArtifactError> {
        let header = if ArtifactHeader::exists(dir) {
            Some(ArtifactHeader::read(dir)?)
        } else {
            None
        };
        let name = match &header {
            Some(h) => h.kind.as_str(),
            None if DeliveryDir::is_delivery_dir(dir) => crate::market::delivery::KIND,
            None => crate::model::KIND,
        };
        let open = KINDS
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, open)| open)
            .ok_or_else(|| ArtifactError::UnknownKind {
                dir: dir.display().to_string(),
                kind: name.to_string(),
                known: KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "),
            })?;
        let circuit = open(dir)?;
        let settings = circuit.header();
        let header = header.unwrap_or_else(|| settings.clone());
        if settings != header {
            return Err(ArtifactError::StaleHeader {
                dir: dir.display().to_string(),
                header: header.settings_digest,
                settings: settings.settings_digest,
            });
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            header,
            shape_hint: circuit.shape_hint(),
            circuit,
        })
    }

    /// The directory's keys.
    pub fn keys(&self, with_pk: bool) -> Result<Keys, ArtifactError> {
        self.circuit.keys(with_pk)
    }

    /// Checks a proof file against this directory's keys: `Ok(None)` for an invalid proof,
    /// `Ok(Some(note))` for a valid one (with what to know about it), an error when the file
    /// does not belong here or says more than the proof does.
    pub fn verify(
        &self,
        keys: &Keys,
        pf: &ProofFile,
        path: &Path,
    ) -> Result<Option<Option<&'static str>>, ArtifactError> {
        if !pf.verify(&self.header, keys, path)? {
            return Ok(None);
        }
        Ok(Some(self.circuit.check(pf)?))
    }
}
