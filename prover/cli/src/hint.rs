//! What to run next, for library errors that describe a problem without naming a command.

use trustml::artifact::ArtifactError;
use trustml::market::MarketError;
use trustml::model::ModelError;
use trustml::proof::ProofError;
use trustml_chain::ChainError;
use trustml_kit::KitError;

const SETUP: &str = "run `trustml setup DIR --srs FILE` (or `trustml prompt setup-delivery`) again";
const COMPILE: &str = "run `trustml compile MODEL --calibrate … -o DIR` again";

fn kit(e: &KitError) -> Option<String> {
    match e {
        KitError::NotAKey { .. } | KitError::DigestMismatch { .. } | KitError::BadHeader { .. } => {
            Some(SETUP.into())
        }
        KitError::Io { path, .. } if path.ends_with(".bin") || path.ends_with("circuit.json") => {
            Some(format!("no keys yet? {SETUP}"))
        }
        KitError::Srs(e) => srs(e),
        _ => None,
    }
}

/// A circuit directory's `srs.bin` is written by its setup: missing, the setup was not run.
fn srs(e: &trustml_srs::SrsError) -> Option<String> {
    match e {
        trustml_srs::SrsError::Io { path, .. } if path.ends_with("srs.bin") => {
            Some(format!("no keys yet? {SETUP}"))
        }
        _ => None,
    }
}

fn model(e: &ModelError) -> Option<String> {
    match e {
        ModelError::Settings { .. }
        | ModelError::Version { .. }
        | ModelError::ModelChanged { .. } => Some(COMPILE.into()),
        ModelError::Kit(k) => kit(k),
        _ => None,
    }
}

fn audit(e: &trustml::audit::AuditError) -> Option<String> {
    use trustml::audit::AuditError;
    match e {
        AuditError::Kit(k) => kit(k),
        AuditError::Model(m) => model(m),
        AuditError::Param(m) if m.contains("hashed weights") => {
            Some("recompile the model with `trustml compile … --weights-visibility hashed`".into())
        }
        _ => None,
    }
}

fn img(e: &trustml::img::ImgError) -> Option<String> {
    match e {
        trustml::img::ImgError::Kit(k) => kit(k),
        _ => None,
    }
}

fn train(e: &trustml::train::TrainError) -> Option<String> {
    match e {
        trustml::train::TrainError::Kit(k) => kit(k),
        _ => None,
    }
}

fn market(e: &MarketError) -> Option<String> {
    match e {
        MarketError::Kit(k) => kit(k),
        MarketError::Model(m) => model(m),
        MarketError::Proof(p) => proof(p),
        MarketError::BadBuyerKey => {
            Some("ask the buyer for the \"public\" of their `trustml prompt keygen` file".into())
        }
        MarketError::WrongModel(m) if m.contains("not compiled for listings") => {
            Some("recompile the generator with `trustml compile … --listing`".into())
        }
        MarketError::WrongModel(m) if m.contains("blocks") => Some(
            "make a delivery circuit of the prompt's size with `trustml prompt setup-delivery \
             DIR --model MODEL_DIR --srs FILE`"
                .into(),
        ),
        MarketError::Format { what, .. } if *what == "delivery settings" => {
            Some("run `trustml prompt setup-delivery` again".into())
        }
        _ => None,
    }
}

fn proof(e: &ProofError) -> Option<String> {
    match e {
        ProofError::Kit(k) => kit(k),
        ProofError::Model(m) => model(m),
        ProofError::OutputsMismatch(_) => None,
    }
}

/// A hint for the first error in the chain that has one.
pub fn hint(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|c| {
        if let Some(e) = c.downcast_ref::<KitError>() {
            return kit(e);
        }
        if let Some(e) = c.downcast_ref::<trustml_srs::SrsError>() {
            return srs(e);
        }
        if let Some(e) = c.downcast_ref::<ModelError>() {
            return model(e);
        }
        if let Some(e) = c.downcast_ref::<ProofError>() {
            return proof(e);
        }
        if let Some(e) = c.downcast_ref::<MarketError>() {
            return market(e);
        }
        if let Some(e) = c.downcast_ref::<trustml::audit::AuditError>() {
            return audit(e);
        }
        if let Some(e) = c.downcast_ref::<trustml::img::ImgError>() {
            return img(e);
        }
        if let Some(e) = c.downcast_ref::<trustml::train::TrainError>() {
            return train(e);
        }
        if let Some(e) = c.downcast_ref::<ArtifactError>() {
            return match e {
                ArtifactError::Kit(k) => kit(k),
                ArtifactError::Model(m) => model(m),
                ArtifactError::Proof(p) => proof(p),
                ArtifactError::Market(m) => market(m),
                ArtifactError::Audit(a) => audit(a),
                ArtifactError::Img(i) => img(i),
                ArtifactError::Train(t) => train(t),
                ArtifactError::StaleHeader { .. } => Some(SETUP.into()),
                ArtifactError::UnknownKind { .. } => None,
            };
        }
        if let Some(e) = c.downcast_ref::<ChainError>() {
            return match e {
                ChainError::SeedBlockNotMined { .. } => Some(
                    "wait for the next block and reveal again (on a local Anvil: `cast rpc \
                     anvil_mine 1`)"
                        .into(),
                ),
                ChainError::NoKey(_) | ChainError::NoSender => {
                    Some("pass --private-key or set TRUSTML_PRIVATE_KEY".into())
                }
                ChainError::TooClose {
                    step: trustml_chain::market::Step::Commit,
                    ..
                } => Some(
                    "nothing was sent. Past the deadline the buyer may refund (`trustml market \
                     refund`); if it is still ahead and you accept the risk, retry with a \
                     smaller --margin"
                        .into(),
                ),
                ChainError::TooClose {
                    step: trustml_chain::market::Step::Reveal,
                    ..
                } => Some(
                    "the ciphertext was not sent. Run `trustml market deliver` again before the \
                     order's deadline: it commits anew (a new commitment restarts the reveal \
                     window); after the deadline, let the reveal deadline pass (the buyer is \
                     then refunded)"
                        .into(),
                ),
                _ => None,
            };
        }
        if let Some(verifier_gen::Error::CodeTooLarge { .. }) = c.downcast_ref() {
            return Some(code_too_large());
        }
        None
    })
}

/// What to do about a verifier over EIP-170.
pub fn code_too_large() -> String {
    "recompile the model with fewer columns (`trustml compile … --dot-width W --lanes L` with \
     smaller W and L) or fewer lookups (fewer non-linear layers), then run `trustml setup` again"
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_command() {
        let e = anyhow::Error::new(ProofError::Kit(KitError::DigestMismatch {
            path: "vk.bin".into(),
            found: "0x1".into(),
            expected: "0x2".into(),
        }));
        assert!(hint(&e).unwrap().contains("trustml setup"));
        // `prove` on a directory without keys: its srs.bin is missing.
        let missing = || std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = anyhow::Error::new(ProofError::Kit(KitError::Srs(trustml_srs::SrsError::Io {
            path: "m/srs.bin".into(),
            source: missing(),
        })));
        assert!(hint(&e).unwrap().contains("trustml setup"));
        let e = anyhow::Error::new(trustml_srs::SrsError::Io {
            path: "ceremony.srs".into(),
            source: missing(),
        });
        assert_eq!(
            hint(&e),
            None,
            "a file the user named: the error says it all"
        );
        let e = anyhow::Error::new(ChainError::NoKey(1));
        assert!(hint(&e).unwrap().contains("TRUSTML_PRIVATE_KEY"));
        let e = anyhow::Error::new(verifier_gen::Error::CodeTooLarge {
            size: 24_577,
            limit: 24_576,
            hint: String::new(),
        });
        let h = hint(&e).unwrap();
        assert!(h.contains("--dot-width") && h.contains("--lanes") && h.contains("lookups"));
    }
}
