//! Any circuit directory, opened by its header (`circuit.json`): what `verify`, the Solidity
//! verifier generator and deployment need, whatever the circuit.
//!
//! A new circuit kind adds one [`Kind`] to [`KINDS`]: its name, how its verifying key is
//! read (halo2 re-runs the circuit's `configure` for that, so the type must be known) and
//! what to shrink when its verifier is too large. Nothing else dispatches on the kind.

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

/// One circuit kind.
pub struct Kind {
    /// The `kind` in `circuit.json`.
    pub name: &'static str,
    /// Loads the kind's settings from a directory; returns its header (to compare with
    /// `circuit.json`) and what to shrink when its verifier is too large.
    pub open: fn(&Path) -> Result<(ArtifactHeader, String), ArtifactError>,
    /// Loads its keys (and the proving key when asked).
    pub keys: fn(&Path, bool) -> Result<Keys, ArtifactError>,
    /// Checks what a valid proof file says beyond its public inputs (a model's readable
    /// outputs); returns a note for the reader, if any.
    pub check: fn(&Path, &ProofFile) -> Result<Option<&'static str>, ArtifactError>,
}

/// Every circuit kind this build knows.
pub const KINDS: &[Kind] = &[
    Kind {
        name: crate::model::KIND,
        open: |dir| {
            let m = CompiledModel::load(dir)?;
            let s = &m.settings.shape;
            let hint = format!("dot width {}, {} lanes", s.dot_width, s.lanes);
            Ok((m.header(), hint))
        },
        keys: |dir, with_pk| {
            Ok(crate::proof::load_keys(
                &CompiledModel::load(dir)?,
                with_pk,
            )?)
        },
        check: |dir, pf| {
            use crate::proof::OutputsStatus::*;
            Ok(match crate::proof::check_outputs(&CompiledModel::load(dir)?, pf)? {
                Proven => None,
                HashOpened => Some("the readable outputs open the output commitment (salt 0)"),
                NotCovered => Some(
                    "the readable outputs are the prover's word: the proof hides them (private or salted)",
                ),
            })
        },
    },
    Kind {
        name: crate::market::delivery::KIND,
        open: |dir| {
            let d = DeliveryDir::load(dir)?;
            let hint = format!("delivery circuit of {} blocks", d.settings.blocks);
            Ok((d.header(), hint))
        },
        keys: |dir, with_pk| Ok(DeliveryDir::load(dir)?.keys(with_pk)?),
        check: |_, _| Ok(None),
    },
];

/// A circuit directory of any kind.
pub struct CircuitDir {
    /// The directory.
    pub dir: PathBuf,
    /// Its header.
    pub header: ArtifactHeader,
    /// What to shrink when the verifier is too large (for messages).
    pub shape_hint: String,
    kind: &'static Kind,
}

impl CircuitDir {
    /// Opens `dir`: reads its header, loads the kind's settings and checks they agree. A
    /// directory without a header (made before headers existed) is taken for what its
    /// settings file says it is.
    pub fn open(dir: &Path) -> Result<Self, ArtifactError> {
        if !ArtifactHeader::exists(dir) {
            let name = if DeliveryDir::is_delivery_dir(dir) {
                crate::market::delivery::KIND
            } else {
                crate::model::KIND
            };
            let kind = KINDS.iter().find(|k| k.name == name).expect("a known kind");
            let (header, shape_hint) = (kind.open)(dir)?;
            return Ok(Self {
                dir: dir.to_path_buf(),
                header,
                shape_hint,
                kind,
            });
        }
        let header = ArtifactHeader::read(dir)?;
        let kind = KINDS
            .iter()
            .find(|k| k.name == header.kind)
            .ok_or_else(|| ArtifactError::UnknownKind {
                dir: dir.display().to_string(),
                kind: header.kind.clone(),
                known: KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", "),
            })?;
        let (settings, shape_hint) = (kind.open)(dir)?;
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
            shape_hint,
            kind,
        })
    }

    /// The directory's keys.
    pub fn keys(&self, with_pk: bool) -> Result<Keys, ArtifactError> {
        (self.kind.keys)(&self.dir, with_pk)
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
        Ok(Some((self.kind.check)(&self.dir, pf)?))
    }
}
