//! Band proofs: an edit too large for one proof (an HD photo) is proven strip by strip.
//!
//! **Statement of a banded edit** (public `H_in`, `H_out`, `params`): there are band
//! commitments `D_in` and `D_out` with `H_in = image_hash(input size, D_in)` and `H_out =
//! image_hash(output size, D_out)` (recomputed by the verifier), and for each strip `s` of
//! output bands a proof of its circuit ([`ImgShape::part`]) with public
//! `[D_in[reads(s)]…, D_out[s]…, params…]`. The strips tile the output's bands, each strip's
//! circuit reads every input band its bytes need (a convolution's or resize's neighbour
//! rows across a seam included), and one `D_in[k]` is the same value in every proof that
//! reads band `k` — so the output is the edit of one input image. Input bands no strip reads
//! (outside a crop) are opened by no proof: `H_in` binds them and they stay hidden.
//!
//! Strips that lay out the same circuit (same strip sizes and, byte for byte, the same rows
//! relative to the strip) share one key, found by the digest of that circuit
//! (`circuit_digest`): the strips of a colour conversion or a convolution of an HD image are
//! all alike but the last.

use super::circuit::ImgShape;
use super::edit::Plan;
use super::ImgError;
use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::ops::Range;
use trustml_kit::field::FrHex;
use trustml_kit::ProofFile;

/// The `kind` of a band key directory's header.
pub const PART_KIND: &str = "img-edit-band";

/// The band proofs of an edit directory (`img.json`'s `bands`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BandPlan {
    /// Each strip's circuit (its output bands in `part`), in output order.
    pub parts: Vec<ImgShape>,
    /// Each strip's key: `band-keys-N/` of the directory.
    pub key_of: Vec<usize>,
}

impl BandPlan {
    /// The strips of `edit` on `input`, grouped by circuit; with what [`BandPlan::check`]
    /// finds of them.
    pub fn new(parts: Vec<ImgShape>) -> Result<(Self, CheckedBands), ImgError> {
        let survey = survey(&parts)?;
        let mut digests: Vec<[u8; 32]> = vec![];
        let mut key_of = vec![];
        let mut strips = vec![];
        for (bands, d) in survey {
            let k = match digests.iter().position(|x| *x == d) {
                Some(k) => k,
                None => {
                    digests.push(d);
                    digests.len() - 1
                }
            };
            key_of.push(k);
            strips.push(bands);
        }
        Ok((Self { parts, key_of }, CheckedBands { strips, digests }))
    }

    /// Number of keys.
    pub fn keys(&self) -> usize {
        self.key_of.iter().max().map_or(0, |m| m + 1)
    }

    /// The strip proven with key `k` first (the one its key was generated for).
    pub fn representative(&self, k: usize) -> usize {
        self.key_of
            .iter()
            .position(|&x| x == k)
            .expect("key in use")
    }

    /// Checks the plan against the edit it is for: strips tile the output's bands in order,
    /// and each strip lays out the circuit of its key (so a key never proves a strip it was
    /// not made for). Returns each strip's bands and each key's circuit digest.
    pub fn check(&self, whole: &ImgShape, output_bands: usize) -> Result<CheckedBands, ImgError> {
        let bad = |m: String| Err(ImgError::Size(format!("band proofs: {m}")));
        if self.parts.is_empty() || self.parts.len() != self.key_of.len() {
            return bad("no strips".into());
        }
        let mut next = 0;
        for p in &self.parts {
            let Some((a, b)) = p.part else {
                return bad("a strip without its bands".into());
            };
            if p.edit != whole.edit || p.input != whole.input || a != next || b <= a {
                return bad(format!(
                    "strip {a}..{b} does not follow band {next} of the same edit"
                ));
            }
            next = b;
        }
        if next != output_bands {
            return bad(format!("the strips end at band {next} of {output_bands}"));
        }
        let mut digests: Vec<Option<[u8; 32]>> = vec![None; self.keys()];
        let mut strips = Vec::with_capacity(self.parts.len());
        for ((bands, d), (p, &k)) in survey(&self.parts)?
            .into_iter()
            .zip(self.parts.iter().zip(&self.key_of))
        {
            strips.push(bands);
            match digests[k] {
                Some(x) if x != d => {
                    return bad(format!(
                        "strip {:?} is not the circuit of key {k}: set the directory up again",
                        p.part
                    ))
                }
                _ => digests[k] = Some(d),
            }
        }
        Ok(CheckedBands {
            strips,
            digests: digests.into_iter().map(|d| d.expect("every key")).collect(),
        })
    }
}

/// A strip's input bands (read) and output bands (written), of the whole images.
pub type Strip = (Range<usize>, Range<usize>);

/// What [`BandPlan::check`] found.
#[derive(Clone, Debug)]
pub struct CheckedBands {
    /// Each strip's input bands (read) and output bands (written), of the whole images.
    pub strips: Vec<Strip>,
    /// Each key's circuit digest.
    pub digests: Vec<[u8; 32]>,
}

/// Keccak-256 of everything a strip's circuit lays out: its columns, its strips' sizes, the
/// edit (parameters count, not values) and each output byte's row (or copied byte) in the
/// strip's own indices. Equal digests: equal circuits, so equal keys.
fn circuit_digest(shape: &ImgShape, plan: &Plan) -> [u8; 32] {
    let mut h = Keccak256::new();
    let head = serde_json::json!({
        "kind": PART_KIND,
        "format_version": super::dir::FORMAT_VERSION,
        "edit": shape.edit,
        "lanes": shape.lanes,
        "hash_lanes": shape.hash_lanes,
        "grid": shape.grid,
        "k": shape.k,
        "input": plan.input,
        "output": plan.output,
    });
    h.update(head.to_string().as_bytes());
    for i in 0..plan.len() {
        if plan.is_copy() {
            h.update((plan.source(i) as u64).to_le_bytes());
            continue;
        }
        let r = plan.row(i);
        for &(t, c) in r.taps() {
            h.update(u64::from(t).to_le_bytes());
            h.update(c.to_le_bytes());
        }
        let (pi, pm, pf) = r
            .param
            .map_or((u64::MAX, 0, 0), |p| (p.index as u64, p.m, p.f));
        for v in [
            r.n as u64,
            pi,
            pm as u64,
            pf as u64,
            r.e as u64,
            u64::from(r.d),
        ] {
            h.update(v.to_le_bytes());
        }
    }
    h.finalize().into()
}

/// Each strip's bands (read, written) and circuit digest.
fn survey(parts: &[ImgShape]) -> Result<Vec<(Strip, [u8; 32])>, ImgError> {
    parts
        .iter()
        .map(|p| {
            let plan = p.plan()?;
            Ok((plan.bands(), circuit_digest(p, &plan)))
        })
        .collect()
}

/// A banded edit's proof file: the band commitments of both images, the parameters, one
/// proof per strip; `H_in` and `H_out` for the reader (the verifier recomputes them).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BandedProof {
    /// Digest of the edit directory's settings.
    pub settings_digest: String,
    /// `H_in`.
    pub input_hash: FrHex,
    /// `H_out`.
    pub output_hash: FrHex,
    /// The parameters.
    pub params: Vec<u64>,
    /// `D_in`, every band of the input.
    pub input_bands: Vec<FrHex>,
    /// `D_out`.
    pub output_bands: Vec<FrHex>,
    /// One proof per strip, in the order of the directory's strips.
    pub bands: Vec<ProofFile>,
    /// Set when the keys came from an insecure development SRS.
    #[serde(default)]
    pub insecure_srs: bool,
}

impl BandedProof {
    /// The public inputs of the strip reading input bands `ins` and writing output bands
    /// `outs`.
    pub fn expected_instances(&self, (ins, outs): &Strip) -> Result<Vec<Fr>, ImgError> {
        let (Some(din), Some(dout)) = (
            self.input_bands.get(ins.clone()),
            self.output_bands.get(outs.clone()),
        ) else {
            return Err(ImgError::Chain(
                "the proof file holds fewer band commitments than the image has bands".into(),
            ));
        };
        Ok(din
            .iter()
            .chain(dout)
            .map(|x| x.0)
            .chain(self.params.iter().map(|&p| Fr::from(p)))
            .collect())
    }
}
