//! The listing proof ("proof of prompt"): a hidden prompt, run through a public generative
//! model, yields a public output.
//!
//! It is an inference proof of a model compiled with `--listing` (input `hashed`, weights
//! `fixed`, i.e. public, output `hashed`; see [`crate::circuit::CircuitShape::listing`]):
//! the three public inputs are
//!
//! ```text
//! C      = Poseidon(prompt blocks ‖ salt)   the prompt commitment (salt: random, secret):
//!                                           the commitment of a hashed model input
//! H      = Poseidon(output ‖ 0)             the output hash: its salt is the constant 0 in
//!                                           the circuit, so anyone holding the published
//!                                           output recomputes it
//! seller = the seller's address (uint160)   copied into the circuit; the marketplace
//!                                           supplies msg.sender here, so a listing proof
//!                                           copied from the mempool or an old listing
//!                                           cannot be listed by anyone else
//! ```
//!
//! The prompt blocks are the model's quantized inputs (token `t` is the value `t·2^scale`)
//! packed several to a field element as the circuit commits a hashed input
//! ([`crate::packing`]): exactly the words under `C`, so the delivery proof, which encrypts
//! the blocks, opens the same `C`; the buyer unpacks them with the model's packing.

use super::{read, MarketError};
use crate::circuit::Salts;
use crate::data::InputData;
use crate::model::CompiledModel;
use crate::packing::InputPacking;
use crate::proof::{self, Keys};
use crate::text::TextSpec;
use halo2_proofs::halo2curves::ff::Field;
use serde::{Deserialize, Serialize};
use std::path::Path;
use trustml_babyjubjub::Fr;
use trustml_kit::field::{from_hex as fr_from_hex, to_hex as fr_to_hex};
use trustml_kit::fs::write_json;
use trustml_kit::progress::{step, NoProgress, Progress};
use trustml_kit::ProofFile;

/// What the seller keeps after listing: it opens the commitment (needed for every delivery).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ListingSecret {
    /// Version of this file's format (1).
    pub format_version: u32,
    /// Settings digest of the model the prompt was proven with.
    pub model_digest: String,
    /// `C`, hex.
    pub commitment: String,
    /// The commitment salt, hex.
    pub salt: String,
    /// The committed prompt blocks (quantized model inputs), hex.
    pub blocks: Vec<String>,
    /// The prompt as given (tokens / model input values).
    pub prompt: Vec<f32>,
    /// Fractional bits: token `t` is the block `t·2^scale_bits`.
    pub scale_bits: u32,
}

impl ListingSecret {
    /// Reads a secret file.
    pub fn read(path: &Path) -> Result<Self, MarketError> {
        read(path, "listing secret")
    }

    /// The blocks and salt as field elements, checked to open `commitment`.
    pub fn opening(&self, path: &Path) -> Result<(Vec<Fr>, Fr, Fr), MarketError> {
        let bad = |v: &str| MarketError::Format {
            path: path.display().to_string(),
            what: "listing secret",
            msg: format!("{v} is not a field element"),
        };
        let blocks = self
            .blocks
            .iter()
            .map(|b| fr_from_hex(b).ok_or_else(|| bad(b)))
            .collect::<Result<Vec<_>, _>>()?;
        let salt = fr_from_hex(&self.salt).ok_or_else(|| bad(&self.salt))?;
        let c = fr_from_hex(&self.commitment).ok_or_else(|| bad(&self.commitment))?;
        if blocks.is_empty() || trustml_poseidon::commit(&blocks, salt) != c {
            return Err(MarketError::Format {
                path: path.display().to_string(),
                what: "listing secret",
                msg: "its blocks and salt do not open its commitment".into(),
            });
        }
        Ok((blocks, salt, c))
    }
}

/// The public part of a listing: a proof file (instances `[C, H, seller]`, and the generated
/// output in `outputs`) with `C`, `H` and the seller named. `trustml verify` reads it as a
/// proof file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Listing {
    /// `C`, hex.
    pub commitment: String,
    /// `H`, hex.
    pub output_hash: String,
    /// The seller the proof is bound to: a `0x`-prefixed 20-byte address.
    pub seller: String,
    /// The proof (instances `[C, H, seller]`, the generated output in `outputs`).
    #[serde(flatten)]
    pub proof: ProofFile,
}

impl Listing {
    /// Reads a listing file.
    pub fn read(path: &Path) -> Result<Self, MarketError> {
        read(path, "listing")
    }

    /// The seller's address.
    pub fn seller(&self, path: &Path) -> Result<[u8; 20], MarketError> {
        parse_address(&self.seller).ok_or_else(|| MarketError::Format {
            path: path.display().to_string(),
            what: "listing",
            msg: format!(
                "seller {} is not a 0x-prefixed 20-byte address",
                self.seller
            ),
        })
    }

    /// Checks that the published output (the preview buyers see) is what the listing's
    /// output hash commits to: `H = Poseidon(output ‖ 0)`, and that `C`, `H` and the seller
    /// are the proof's public inputs. A listing whose preview was swapped is refused before
    /// any gas is spent on it.
    pub fn check_preview(&self, path: &Path) -> Result<(), MarketError> {
        let bad = |msg: String| MarketError::Format {
            path: path.display().to_string(),
            what: "listing",
            msg,
        };
        let seller = fr_to_hex(&address_field(&self.seller(path)?));
        if self.proof.instances != [self.commitment.clone(), self.output_hash.clone(), seller] {
            return Err(bad(
                "its commitment, output hash and seller are not the proof's public inputs".into(),
            ));
        }
        let fields = self
            .proof
            .outputs
            .iter()
            .flat_map(|o| o.field.iter())
            .map(|f| {
                trustml_kit::field::parse(f)
                    .ok_or_else(|| bad(format!("{f} is not a field element")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let h = fr_from_hex(&self.output_hash).ok_or_else(|| bad("bad output hash".into()))?;
        if fields.is_empty() || trustml_poseidon::commit(&fields, Fr::zero()) != h {
            return Err(bad(
                "its published output does not hash to its output hash H (the preview is not what was proven)".into(),
            ));
        }
        Ok(())
    }
}

/// A text listing's completion: its published output (token ids), as text.
pub fn completion_text(listing: &Listing, spec: &TextSpec) -> Result<String, MarketError> {
    let ids: Vec<i128> = listing
        .proof
        .outputs
        .iter()
        .flat_map(|o| o.values.iter())
        .map(|&v| if v.fract() == 0.0 { v as i128 } else { -1 })
        .collect();
    Ok(spec.decode(&ids)?)
}

/// An address as the field element the listing statement takes (its 160-bit integer).
pub fn address_field(addr: &[u8; 20]) -> Fr {
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(addr);
    trustml_kit::field::from_be_bytes(&word).expect("160 bits are below r")
}

/// Parses a `0x`-prefixed 20-byte hex address.
pub fn parse_address(s: &str) -> Option<[u8; 20]> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    hex::decode(h).ok()?.try_into().ok()
}

/// Checks that `model` is compiled the way listings need.
pub fn check_listing_model(model: &CompiledModel) -> Result<(), MarketError> {
    let shape = &model.settings.shape;
    let vis = shape.vis;
    if !shape.listing {
        return Err(MarketError::WrongModel(format!(
            "{} was not compiled for listings (input/weights/output {}/{}/{}); a listing's \
             circuit fixes its output hash's salt to 0 and binds its seller",
            model.dir.display(),
            vis.input,
            vis.weights,
            vis.output
        )));
    }
    Ok(())
}

/// Proves a listing for `seller`: `prompt` (one model input) through `model`; the salt is
/// fresh.
pub fn prove_listing(
    model: &CompiledModel,
    keys: &Keys,
    prompt: &InputData,
    prompt_path: &Path,
    seller: [u8; 20],
) -> Result<(Listing, ListingSecret), MarketError> {
    prove_listing_with(model, keys, prompt, prompt_path, seller, &NoProgress)
}

/// [`prove_listing`], reporting the stages `witness` and `prove` to `progress` and stopping
/// with [`MarketError::Cancelled`] when it is cancelled between them.
pub fn prove_listing_with(
    model: &CompiledModel,
    keys: &Keys,
    prompt: &InputData,
    prompt_path: &Path,
    seller: [u8; 20],
    progress: &dyn Progress,
) -> Result<(Listing, ListingSecret), MarketError> {
    check_listing_model(model)?;
    let salts = Salts {
        input: Fr::random(rand::rngs::OsRng),
        weights: Fr::zero(),
        output: Fr::zero(),
    };
    let mut witness = step(progress, "witness", || {
        model.witness(prompt, prompt_path, salts)
    })
    .ok_or(MarketError::Cancelled)??;
    witness.seller = address_field(&seller);
    let values: Vec<i128> = model
        .program
        .inputs
        .iter()
        .flat_map(|(_, ws)| ws.iter().map(|&w| witness.wires[w as usize]))
        .collect();
    let blocks = InputPacking::of(&model.program)
        .pack(&values)
        .map_err(|msg| MarketError::Format {
            path: prompt_path.display().to_string(),
            what: "prompt",
            msg,
        })?;
    let pf = step(progress, "prove", || {
        proof::prove_witness(model, keys, witness)
    })
    .ok_or(MarketError::Cancelled)??;
    let secret = ListingSecret {
        format_version: 2,
        model_digest: model.settings.digest_hex(),
        commitment: pf.instances[0].clone(),
        salt: fr_to_hex(&salts.input),
        blocks: blocks.iter().map(fr_to_hex).collect(),
        prompt: prompt.input_data.iter().flatten().copied().collect(),
        scale_bits: model.settings.quant.scale_bits,
    };
    let listing = Listing {
        commitment: pf.instances[0].clone(),
        output_hash: pf.instances[1].clone(),
        seller: format!("0x{}", hex::encode(seller)),
        proof: pf,
    };
    Ok((listing, secret))
}

/// Writes `listing` to `out` and `secret` to `secret_out` (refusing to overwrite a secret:
/// it is the only opening of a listed commitment).
pub fn write_listing(
    listing: &Listing,
    out: &Path,
    secret: &ListingSecret,
    secret_out: &Path,
) -> Result<(), MarketError> {
    if secret_out.exists() {
        return Err(MarketError::WouldOverwrite(
            secret_out.display().to_string(),
        ));
    }
    write_json(secret_out, secret)?;
    write_json(out, listing)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustml_kit::{ArtifactHeader, OutputTensor};

    const SELLER: [u8; 20] = [0xab; 20];

    fn listing(fields: &[u64], h_of: &[u64]) -> Listing {
        let f: Vec<Fr> = h_of.iter().map(|&v| Fr::from(v)).collect();
        let c = Fr::from(9u64);
        let h = trustml_poseidon::commit(&f, Fr::zero());
        let header = ArtifactHeader::new("model", 1, [0; 32], 10, 3);
        let s = address_field(&SELLER);
        let mut pf = ProofFile::new(&header, &[c, h, s], &[0u8; 4], vec![], false);
        pf.outputs = vec![OutputTensor {
            name: "image".into(),
            shape: vec![fields.len()],
            values: fields.iter().map(|&v| v as f64).collect(),
            field: fields.iter().map(|v| v.to_string()).collect(),
        }];
        Listing {
            commitment: fr_to_hex(&c),
            output_hash: fr_to_hex(&h),
            seller: format!("0x{}", hex::encode(SELLER)),
            proof: pf,
        }
    }

    #[test]
    fn preview_must_hash_to_the_output_hash() {
        let p = Path::new("listing.json");
        assert!(listing(&[1, 2, 3], &[1, 2, 3]).check_preview(p).is_ok());
        let e = listing(&[1, 2, 4], &[1, 2, 3])
            .check_preview(p)
            .unwrap_err();
        assert!(e.to_string().contains("does not hash"), "{e}");
        let mut l = listing(&[1, 2, 3], &[1, 2, 3]);
        l.output_hash = fr_to_hex(&Fr::from(5u64));
        assert!(l.check_preview(p).is_err(), "H not the proof's");
        let mut l = listing(&[1, 2, 3], &[1, 2, 3]);
        l.seller = format!("0x{}", hex::encode([0xcd; 20]));
        let e = l.check_preview(p).unwrap_err();
        assert!(e.to_string().contains("seller"), "another seller: {e}");
    }

    #[test]
    fn addresses_are_160_bit_integers() {
        let mut a = [0u8; 20];
        a[19] = 7;
        assert_eq!(address_field(&a), Fr::from(7u64));
        assert_eq!(
            parse_address("0x0000000000000000000000000000000000000007"),
            Some(a)
        );
        assert_eq!(parse_address("0x07"), None);
        assert_eq!(parse_address("07"), None);
    }
}
