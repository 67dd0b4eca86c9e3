//! A listing's off-chain metadata: title, description and the example output buyers see.
//!
//! The document is stored off chain (the server's content-addressed artifacts) and bound to
//! the listing by `metadataHash` = sha256 of its exact bytes, which the seller passes to
//! `PromptMarketplace.list`. Anyone holding the bytes checks them against the chain; the
//! example output is checked against the proven output hash `H = Poseidon(output ‖ 0)`, so a
//! document can neither be swapped after listing nor show an output that was not proven.

use super::MarketError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trustml_babyjubjub::Fr;
use trustml_kit::proof_file::OutputTensor;

/// [`ListingMetadata::format_version`] this build writes and reads.
pub const METADATA_FORMAT_VERSION: u32 = 1;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 120;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
/// Most tags, and the longest tag in characters.
pub const MAX_TAGS: usize = 8;
const MAX_TAG_CHARS: usize = 32;

/// The metadata document of a listing.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ListingMetadata {
    /// [`METADATA_FORMAT_VERSION`].
    pub format_version: u32,
    /// One line, shown on cards.
    pub title: String,
    /// Plain text.
    pub description: String,
    /// Search tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Digest of the listing circuit's settings (the proof file's `settings_digest`).
    pub settings_digest: String,
    /// The proven output of the hidden prompt (the listing proof's `outputs`).
    pub example_output: Vec<OutputTensor>,
}

impl ListingMetadata {
    /// Parses and checks a document's bytes (limits, version); says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let m: Self = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a listing metadata document: {e}"))?;
        m.check()?;
        Ok(m)
    }

    /// The limits every stored document meets.
    pub fn check(&self) -> Result<(), String> {
        if self.format_version != METADATA_FORMAT_VERSION {
            return Err(format!(
                "format_version {} is not {METADATA_FORMAT_VERSION}",
                self.format_version
            ));
        }
        let title = self.title.trim();
        if title.is_empty() || self.title.chars().count() > MAX_TITLE_CHARS {
            return Err(format!(
                "the title must have 1 to {MAX_TITLE_CHARS} characters"
            ));
        }
        if self.title.contains('\n') {
            return Err("the title must be one line".into());
        }
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(format!(
                "the description must have at most {MAX_DESCRIPTION_CHARS} characters"
            ));
        }
        if self.tags.len() > MAX_TAGS
            || self
                .tags
                .iter()
                .any(|t| t.is_empty() || t.chars().count() > MAX_TAG_CHARS)
        {
            return Err(format!(
                "at most {MAX_TAGS} tags of 1 to {MAX_TAG_CHARS} characters"
            ));
        }
        if self.example_output.is_empty() {
            return Err("example_output is empty: copy the listing proof's outputs".into());
        }
        for t in &self.example_output {
            let n: usize = t.shape.iter().product();
            if t.field.len() != n || t.values.len() != n {
                return Err(format!(
                    "example output {}: shape {:?} needs {n} values and field elements",
                    t.name, t.shape
                ));
            }
        }
        Ok(())
    }

    /// The document's bytes as written (pretty JSON, one trailing newline); its sha256 is
    /// what `list` takes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("metadata serializes");
        v.push(b'\n');
        v
    }

    /// Whether the example output is the proven one: `Poseidon(fields ‖ 0) == output_hash`.
    pub fn output_matches(&self, output_hash: Fr) -> Result<bool, MarketError> {
        let fields = self
            .example_output
            .iter()
            .flat_map(|o| o.field.iter())
            .map(|f| {
                trustml_kit::field::parse(f).ok_or_else(|| {
                    MarketError::WrongModel(format!(
                        "example output element {f} is not a field element"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(trustml_poseidon::commit(&fields, Fr::zero()) == output_hash)
    }
}

/// sha256 of `bytes`: a metadata hash, an artifact's address.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> ListingMetadata {
        let f = [Fr::from(3u64), Fr::from(4u64)];
        ListingMetadata {
            format_version: 1,
            title: "A digit".into(),
            description: "draws a 7".into(),
            tags: vec!["digits".into()],
            settings_digest: "00".into(),
            example_output: vec![OutputTensor {
                name: "y".into(),
                shape: vec![2],
                values: vec![3.0, 4.0],
                field: f.iter().map(trustml_kit::field::to_dec).collect(),
            }],
        }
    }

    #[test]
    fn round_trips_and_checks_the_output_hash() {
        let d = doc();
        let back = ListingMetadata::parse(&d.to_bytes()).unwrap();
        assert_eq!(back, d);
        let h = trustml_poseidon::commit(&[Fr::from(3u64), Fr::from(4u64)], Fr::zero());
        assert!(d.output_matches(h).unwrap());
        assert!(!d.output_matches(h + Fr::one()).unwrap());
        let mut swapped = d.clone();
        swapped.example_output[0].field.swap(0, 1);
        assert!(!swapped.output_matches(h).unwrap());
    }

    #[test]
    fn refuses_what_breaks_the_limits() {
        let mut d = doc();
        d.title = " ".into();
        assert!(d.check().unwrap_err().contains("title"));
        let mut d = doc();
        d.example_output[0].shape = vec![3];
        assert!(d.check().unwrap_err().contains("needs 3"));
        let mut d = doc();
        d.format_version = 9;
        assert!(d.check().is_err());
        assert!(ListingMetadata::parse(b"{\"title\":1}")
            .unwrap_err()
            .contains("not a listing metadata document"));
        let mut v: serde_json::Value = serde_json::from_slice(&doc().to_bytes()).unwrap();
        v["extra"] = 1.into();
        assert!(ListingMetadata::parse(v.to_string().as_bytes()).is_err());
    }
}
