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
use trustml_kit::artifact::{digest_from_hex, digest_hex};
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
    /// Each key's circuit digest, found at setup (`0x…`): what the key headers pin. Loading
    /// takes them from here instead of hashing every output byte's row again (≈ 0.4 s of an
    /// HD verification). Directories made before it recompute them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub digests: Vec<String>,
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
        let hex = digests.iter().map(digest_hex).collect();
        Ok((
            Self {
                parts,
                key_of,
                digests: hex,
            },
            CheckedBands { strips, digests },
        ))
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

    /// Checks the plan against the edit it is for: strips tile the output's bands in order
    /// and there is a digest per key. Returns each strip's bands and each key's circuit
    /// digest. That each strip lays out the circuit of its key (so a key never proves a strip
    /// it was not made for) was checked at setup ([`BandPlan::new`]); a plan without stored
    /// digests is checked for it here ([`BandPlan::check_circuits`]).
    pub fn check(&self, whole: &ImgShape, output_bands: usize) -> Result<CheckedBands, ImgError> {
        if self.digests.is_empty() {
            return self.check_circuits(whole, output_bands);
        }
        self.check_tiling(whole, output_bands)?;
        let digests = self
            .digests
            .iter()
            .map(|d| digest_from_hex(d))
            .collect::<Option<Vec<_>>>();
        let Some(digests) = digests.filter(|d| d.len() == self.keys()) else {
            return Err(ImgError::Size(format!(
                "band proofs: {} circuit digests for {} keys (32-byte 0x… values): set the directory up again",
                self.digests.len(),
                self.keys()
            )));
        };
        let strips = self
            .parts
            .iter()
            .map(|p| Ok(p.plan()?.bands()))
            .collect::<Result<_, ImgError>>()?;
        Ok(CheckedBands { strips, digests })
    }

    /// That the strips tile the output's bands in order, each a strip of `whole`'s edit.
    fn check_tiling(&self, whole: &ImgShape, output_bands: usize) -> Result<(), ImgError> {
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
        if (0..self.keys()).any(|k| !self.key_of.contains(&k)) {
            return bad("a key no strip uses".into());
        }
        Ok(())
    }

    /// Every strip's circuit digest, recomputed (a Keccak over every output byte's row) and
    /// compared with its key's and with the stored one; with [`BandPlan::check`]'s result.
    pub fn check_circuits(
        &self,
        whole: &ImgShape,
        output_bands: usize,
    ) -> Result<CheckedBands, ImgError> {
        self.check_tiling(whole, output_bands)?;
        let bad = |m: String| Err(ImgError::Size(format!("band proofs: {m}")));
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
        let digests: Vec<[u8; 32]> = digests
            .into_iter()
            .map(|d| d.expect("check_tiling: every key is used"))
            .collect();
        if !self.digests.is_empty()
            && self.digests != digests.iter().map(digest_hex).collect::<Vec<_>>()
        {
            return bad(
                "the stored circuit digests are not the strips': set the directory up again".into(),
            );
        }
        Ok(CheckedBands { strips, digests })
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
    let mut head = serde_json::json!({
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
    // Only when set: digests of strips set up before a layout existed stay as they were.
    let layouts = [
        ("table", shape.table),
        ("fused", shape.fused),
        ("window", shape.window),
        ("shared_hash", shape.shared_hash),
        ("split", shape.split),
        ("merged", shape.merged),
    ];
    for (key, _) in layouts.iter().filter(|(_, on)| *on) {
        head[key] = true.into();
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::img::edit::Edit;
    use crate::img::format::Dims;

    /// A blur of 200×150 (six bands) in strips of 2^14 rows: its first, middle and last
    /// strips differ (the image's top and bottom edges), so there are several keys.
    fn blur_plan() -> (BandPlan, ImgShape, usize) {
        let edit = Edit::parse("blur").unwrap();
        let input = Dims::new(200, 150, 3).unwrap();
        let parts = ImgShape::parts(&edit, input, 14).unwrap();
        let whole = parts[0].clone();
        let (plan, _) = BandPlan::new(parts).unwrap();
        assert!(plan.keys() >= 2, "{} keys", plan.keys());
        (plan, whole, input.bands())
    }

    #[test]
    fn stored_digests_are_the_strips_circuits_and_old_plans_recompute_them() {
        let (plan, whole, nb) = blur_plan();
        assert_eq!(plan.digests.len(), plan.keys());
        let fast = plan.check(&whole, nb).unwrap();
        let full = plan.check_circuits(&whole, nb).unwrap();
        assert_eq!(fast.strips, full.strips);
        assert_eq!(fast.digests, full.digests);
        // A directory set up before digests were stored: its img.json has none, and the
        // settings (so the key headers' digests) serialise as they did.
        let mut old = plan.clone();
        old.digests.clear();
        let json = serde_json::to_value(&old).unwrap();
        assert!(json.get("digests").is_none());
        let back: BandPlan = serde_json::from_value(json).unwrap();
        assert_eq!(back.check(&whole, nb).unwrap().digests, full.digests);
    }

    #[test]
    fn a_strip_given_another_circuits_key_or_digest_is_refused() {
        let (plan, whole, nb) = blur_plan();
        let last = plan.parts.len() - 1;
        assert_ne!(plan.key_of[last], plan.key_of[0]);
        // The last strip (the image's bottom edge) mapped to the first strip's key.
        let mut p = plan.clone();
        p.key_of[last] = p.key_of[0];
        p.digests.truncate(p.keys());
        let e = p.check_circuits(&whole, nb).unwrap_err().to_string();
        assert!(e.contains("is not the circuit of key"), "{e}");
        // A key no strip uses.
        let mut p = plan.clone();
        p.key_of.iter_mut().for_each(|k| *k += 1);
        p.digests.push(p.digests[0].clone());
        let e = p.check(&whole, nb).unwrap_err().to_string();
        assert!(e.contains("a key no strip uses"), "{e}");
        // A stored digest that is not its key's circuit.
        let mut p = plan.clone();
        p.digests.swap(0, 1);
        let e = p.check_circuits(&whole, nb).unwrap_err().to_string();
        assert!(e.contains("stored circuit digests"), "{e}");
        // One digest short, or one not 32 bytes.
        let mut p = plan.clone();
        p.digests.pop();
        let e = p.check(&whole, nb).unwrap_err().to_string();
        assert!(e.contains("circuit digests for"), "{e}");
        let mut p = plan.clone();
        p.digests[0].truncate(20);
        assert!(p.check(&whole, nb).is_err());
        // Strips that no longer tile the output.
        let mut p = plan.clone();
        p.parts.swap(0, 1);
        let e = p.check(&whole, nb).unwrap_err().to_string();
        assert!(e.contains("does not follow band"), "{e}");
    }
}
