//! Edit circuit directories (`trustml img setup`): `img.json` (the edit, the input size and
//! the circuit's shape: what the keys depend on), the header `circuit.json` (kind
//! `img-edit`), `srs.bin`, `vk.bin`, `pk.bin`. One verifying key per (edit, input size);
//! proofs are ordinary proof files with public inputs `[H_in, H_out, params…]`, so
//! `trustml verify` and `trustml evm …` take the directory like any other circuit.
//!
//! An image too large for one proof (`img setup --wide` of an HD photo) gets **band
//! proofs** instead ([`super::bands`]): `img.json` lists the strips, `band-keys-N/` holds
//! each distinct strip circuit's keys, and a proof file holds both images' band commitments
//! and one proof per strip; `img verify` checks them all and recomputes `H_in` and `H_out`.
//!
//! An image's **secret file** (`IMG.png.secret.json`) holds the secret its band salts derive
//! from and the hash it gives; an image without one is public (salt 0).

use super::bands::{BandPlan, BandedProof, CheckedBands, PART_KIND};
use super::circuit::{ImgCircuit, ImgShape, ImgWitness, MAX_PART_K};
use super::edit::Edit;
use super::format::{band_salts, image_hash, Dims, Image};
use super::ImgError;
use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::{Path, PathBuf};
use trustml_kit::field::FrHex;
use trustml_kit::fs::write_json;
use trustml_kit::keys::{verify_many, Claim};
use trustml_kit::{keys, ArtifactHeader, Keys, ProofFile};
use trustml_srs::Srs;

/// The `kind` of an edit directory's header.
pub const KIND: &str = "img-edit";
/// Version of `img.json` (2: band commitments without their index; band proofs).
pub const FORMAT_VERSION: u32 = 2;
const SETTINGS: &str = "img.json";

/// Everything an edit circuit's keys depend on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImgSettings {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The edit, the input size and the columns.
    pub shape: ImgShape,
    /// The output size (for readers; implied by the shape).
    pub output: Dims,
    /// Band proofs, for an image too large for one proof (`shape` is then the first
    /// strip's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands: Option<BandPlan>,
}

impl ImgSettings {
    /// Keccak-256 of what the keys depend on.
    pub fn digest(&self) -> [u8; 32] {
        let pinned = serde_json::json!({
            "kind": KIND,
            "format_version": self.format_version,
            "shape": self.shape,
            "bands": self.bands,
        });
        Keccak256::digest(pinned.to_string().as_bytes()).into()
    }
}

/// A loaded edit directory.
pub struct ImgDir {
    /// The directory.
    pub dir: PathBuf,
    /// Its settings.
    pub settings: ImgSettings,
    /// Band proofs: each strip's bands and each key's digest.
    checked: Option<CheckedBands>,
}

/// The verifying keys of an edit directory.
pub enum EditKeys {
    /// Of its single proof.
    Whole(Box<Keys>),
    /// Of each distinct strip circuit.
    Bands(Vec<Keys>),
}

/// An edit's proof file: one proof, or band proofs.
#[derive(Clone, Debug)]
pub enum EditProofFile {
    /// One proof of `[H_in, H_out, params…]`.
    Whole(ProofFile),
    /// One proof per strip of bands.
    Banded(BandedProof),
}

impl EditProofFile {
    /// Reads either kind.
    pub fn read(path: &Path) -> Result<Self, ImgError> {
        let bad = |msg: String| ImgError::File {
            path: path.display().to_string(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a proof file ({e})")))?;
        if v.get("bands").is_some() {
            let b = serde_json::from_value(v)
                .map_err(|e| bad(format!("not a band proof file ({e})")))?;
            Ok(Self::Banded(b))
        } else {
            Ok(Self::Whole(ProofFile::read(path)?))
        }
    }

    /// Writes it.
    pub fn write(&self, path: &Path) -> Result<(), ImgError> {
        match self {
            Self::Whole(p) => write_json(path, p)?,
            Self::Banded(b) => write_json(path, b)?,
        }
        Ok(())
    }

    /// Whether its keys came from an insecure development SRS.
    pub fn insecure_srs(&self) -> bool {
        match self {
            Self::Whole(p) => p.insecure_srs,
            Self::Banded(b) => b.insecure_srs,
        }
    }

    /// The single proof (band proofs are verified natively only).
    pub fn whole(&self, path: &Path) -> Result<&ProofFile, ImgError> {
        match self {
            Self::Whole(p) => Ok(p),
            Self::Banded(b) => Err(ImgError::Edit(format!(
                "{} holds {} band proofs of an image too large for one proof: they are verified natively (`trustml img verify`), not on chain",
                path.display(),
                b.bands.len()
            ))),
        }
    }
}

/// What a valid proof says.
#[derive(Clone, Debug)]
pub struct Verified {
    /// `H_in`.
    pub input_hash: Fr,
    /// `H_out`.
    pub output_hash: Fr,
    /// The edit's parameters.
    pub params: Vec<u64>,
}

/// A proven edit.
pub struct EditProof {
    /// The proof file.
    pub proof: EditProofFile,
    /// The edited image.
    pub output: Image,
    /// `H_in`.
    pub input_hash: Fr,
    /// `H_out`.
    pub output_hash: Fr,
}

/// An image's secret file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecretFile {
    /// The image's size.
    pub dims: Dims,
    /// The secret the band salts derive from.
    pub secret: FrHex,
    /// The hash the image and secret give.
    pub hash: FrHex,
}

/// `path` with `suffix` appended to its name (`a.png` → `a.png.secret.json`).
pub fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The secret file of `image`: `IMAGE.secret.json`.
pub fn secret_path(image: &Path) -> PathBuf {
    beside(image, ".secret.json")
}

/// Writes `img`'s secret file next to `image`, replacing an older one (a freshly written
/// image gets the secret it was committed with).
pub fn replace_secret(image: &Path, img: &Image, secret: Fr) -> Result<PathBuf, ImgError> {
    let path = secret_path(image);
    if path.exists() {
        std::fs::remove_file(&path).map_err(|e| ImgError::File {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
    }
    write_secret(image, img, secret)
}

/// Writes `img`'s secret file next to `image` (refusing to overwrite one).
pub fn write_secret(image: &Path, img: &Image, secret: Fr) -> Result<PathBuf, ImgError> {
    let path = secret_path(image);
    if path.exists() {
        return Err(ImgError::File {
            path: path.display().to_string(),
            msg: "exists; refusing to overwrite a secret (move it away first)".into(),
        });
    }
    let f = SecretFile {
        dims: img.dims,
        secret: FrHex(secret),
        hash: FrHex(img.commit(secret).hash),
    };
    write_json(&path, &f)?;
    Ok(path)
}

/// The secret of `image`: from its secret file, else 0 (a public image).
pub fn read_secret(image: &Path, img: &Image) -> Result<Fr, ImgError> {
    let path = secret_path(image);
    if !path.exists() {
        return Ok(Fr::zero());
    }
    let bad = |msg: String| ImgError::File {
        path: path.display().to_string(),
        msg,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let f: SecretFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if f.dims != img.dims || img.commit(f.secret.0).hash != f.hash.0 {
        return Err(bad(format!(
            "it belongs to another image than {} (its hash does not match)",
            image.display()
        )));
    }
    Ok(f.secret.0)
}

/// A random secret.
pub fn random_secret() -> Fr {
    trustml_poseidon::random_salt(rand::rngs::OsRng)
}

/// How `img setup` shapes an edit's circuit.
#[derive(Clone, Copy, Debug, Default)]
pub struct SetupOptions {
    /// Several Poseidon chips and affine lanes (see [`ImgShape::choose`]); an image too
    /// large for one such proof gets band proofs. Verified natively.
    pub wide: bool,
    /// Largest k of one proof of a wide circuit (default [`MAX_PART_K`]: under 8 GiB).
    pub band_k: Option<u32>,
}

impl ImgDir {
    /// Makes the circuit of `edit` on `input` images; writes `img.json` and the header.
    pub fn create(
        dir: &Path,
        edit: &Edit,
        input: Dims,
        opts: SetupOptions,
    ) -> Result<Self, ImgError> {
        let (shape, bands, checked) = if opts.wide {
            let parts = ImgShape::parts(edit, input, opts.band_k.unwrap_or(MAX_PART_K))?;
            if parts.len() == 1 {
                (ImgShape::choose(edit, input, true)?, None, None)
            } else {
                let first = parts[0].clone();
                let (b, checked) = BandPlan::new(parts)?;
                (first, Some(b), Some(checked))
            }
        } else {
            (ImgShape::choose(edit, input, false)?, None, None)
        };
        let settings = ImgSettings {
            format_version: FORMAT_VERSION,
            output: edit.output(input)?,
            shape,
            bands,
        };
        std::fs::create_dir_all(dir).map_err(|e| ImgError::File {
            path: dir.display().to_string(),
            msg: e.to_string(),
        })?;
        write_json(&dir.join(SETTINGS), &settings)?;
        let d = Self {
            dir: dir.to_path_buf(),
            settings,
            checked,
        };
        d.header().write(dir)?;
        Ok(d)
    }

    /// Opens an edit directory.
    pub fn load(dir: &Path) -> Result<Self, ImgError> {
        let path = dir.join(SETTINGS);
        let bad = |msg: String| ImgError::File {
            path: path.display().to_string(),
            msg,
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| bad(format!("{e} (make one with `trustml img setup`)")))?;
        let settings: ImgSettings = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if settings.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "format version {} (this trustml reads {FORMAT_VERSION}): set it up again",
                settings.format_version
            )));
        }
        settings
            .shape
            .plan()
            .map_err(|e| bad(format!("its edit does not apply: {e}")))?;
        let checked = match &settings.bands {
            Some(b) => Some(
                b.check(&settings.shape, settings.output.bands())
                    .map_err(|e| bad(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
            checked,
        })
    }

    /// The header of this circuit (of a banded edit: the largest strip's k, and the
    /// statement's `[H_in, H_out, params…]`).
    pub fn header(&self) -> ArtifactHeader {
        let s = &self.settings;
        let (k, instances) = match &s.bands {
            None => (s.shape.k, s.shape.num_instances().expect("checked at load")),
            Some(b) => (
                b.parts.iter().map(|p| p.k).max().unwrap_or(0),
                2 + s.shape.edit.num_params(),
            ),
        };
        ArtifactHeader::new(KIND, FORMAT_VERSION, s.digest(), k, instances)
    }

    /// The edit.
    pub fn edit(&self) -> &Edit {
        &self.settings.shape.edit
    }

    /// What the directory proves, in words.
    pub fn describe(&self) -> String {
        let s = &self.settings;
        let how = match &s.bands {
            None => format!("k = {}", s.shape.k),
            Some(b) => format!(
                "{} band proofs, {} key{}, k = {}",
                b.parts.len(),
                b.keys(),
                if b.keys() == 1 { "" } else { "s" },
                self.header().k
            ),
        };
        format!(
            "{} of a {} image into {} ({how})",
            s.shape.edit.name(),
            s.shape.input,
            s.output
        )
    }

    fn circuit(shape: &ImgShape) -> ImgCircuit {
        ImgCircuit {
            shape: shape.clone(),
            witness: None,
        }
    }

    fn band_dir(&self, k: usize) -> PathBuf {
        self.dir.join(format!("band-keys-{k}"))
    }

    /// Each strip's bands and each key's digest (of a banded directory).
    fn checked(&self) -> &CheckedBands {
        self.checked.as_ref().expect("a banded directory")
    }

    /// The header of band key `k`.
    fn band_header(&self, b: &BandPlan, k: usize) -> ArtifactHeader {
        let i = b.representative(k);
        let c = self.checked();
        let (ins, outs) = &c.strips[i];
        ArtifactHeader::new(
            PART_KIND,
            FORMAT_VERSION,
            c.digests[k],
            b.parts[i].k,
            ins.len() + outs.len() + b.parts[i].edit.num_params(),
        )
    }

    /// Key generation with `srs` (of every strip circuit, for band proofs).
    pub fn setup(&self, srs: &Srs, mut step: impl FnMut(&str)) -> Result<(), ImgError> {
        let Some(b) = &self.settings.bands else {
            keys::setup(
                &self.dir,
                &self.header(),
                srs,
                &Self::circuit(&self.settings.shape),
                step,
            )?;
            return Ok(());
        };
        for k in 0..b.keys() {
            let dir = self.band_dir(k);
            std::fs::create_dir_all(&dir).map_err(|e| ImgError::File {
                path: dir.display().to_string(),
                msg: e.to_string(),
            })?;
            let n = b.keys();
            keys::setup(
                &dir,
                &self.band_header(b, k),
                srs,
                &Self::circuit(&b.parts[b.representative(k)]),
                |s| step(&format!("strip circuit {}/{n}: {s}", k + 1)),
            )?;
        }
        self.header().write(&self.dir)?;
        Ok(())
    }

    /// The directory's keys (of a single-proof edit).
    pub fn keys(&self, with_pk: bool) -> Result<Keys, ImgError> {
        if self.settings.bands.is_some() {
            return Err(ImgError::Edit(format!(
                "{} proves {} in band proofs, each with its own keys: use `trustml img prove` and `img verify`",
                self.dir.display(),
                self.describe()
            )));
        }
        Ok(keys::load::<ImgCircuit>(
            &self.dir,
            &self.header(),
            self.settings.shape.clone(),
            with_pk,
        )?)
    }

    /// Band key `k`.
    fn band_keys(&self, b: &BandPlan, k: usize, with_pk: bool) -> Result<Keys, ImgError> {
        Ok(keys::load::<ImgCircuit>(
            &self.band_dir(k),
            &self.band_header(b, k),
            b.parts[b.representative(k)].clone(),
            with_pk,
        )?)
    }

    /// The verifying keys (every strip circuit's, for band proofs).
    pub fn verifier_keys(&self) -> Result<EditKeys, ImgError> {
        Ok(match &self.settings.bands {
            None => EditKeys::Whole(Box::new(self.keys(false)?)),
            Some(b) => EditKeys::Bands(
                (0..b.keys())
                    .map(|k| self.band_keys(b, k, false))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// Checks `input` and `params` against the directory.
    fn check_input(&self, input: &Image, params: &[u64]) -> Result<(), ImgError> {
        let shape = &self.settings.shape;
        if input.dims != shape.input {
            return Err(ImgError::Size(format!(
                "the image is {} but {} proves {} of {} images: set up a directory for this size (`trustml img setup {} --size {}x{}x{}`)",
                input.dims,
                self.dir.display(),
                shape.edit.name(),
                shape.input,
                shape.edit.name(),
                input.dims.width,
                input.dims.height,
                input.dims.channels
            )));
        }
        shape.edit.check_params(params)
    }

    /// The witness of `input` edited with `params`, salts from the secrets (of a
    /// single-proof edit).
    pub fn witness(
        &self,
        input: &Image,
        params: &[u64],
        secret_in: Fr,
        secret_out: Fr,
    ) -> Result<ImgWitness, ImgError> {
        self.check_input(input, params)?;
        Ok(ImgWitness {
            input: input.clone(),
            params: params.to_vec(),
            salts_in: band_salts(secret_in, input.dims.bands()),
            salts_out: band_salts(secret_out, self.settings.output.bands()),
            prank: Default::default(),
        })
    }

    /// Proves the edit of `input` with `params`; the input's salts derive from `secret_in`,
    /// the output's from `secret_out` (0: a public output). Band proofs report each strip
    /// to `progress(done, total)`.
    pub fn prove(
        &self,
        input: &Image,
        params: &[u64],
        secret_in: Fr,
        secret_out: Fr,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<EditProof, ImgError> {
        self.check_input(input, params)?;
        let edit = &self.settings.shape.edit;
        // The reference, written separately from the rows; each proof's rows must agree with
        // it (a disagreement is a bug here, never something to prove).
        let output = edit.apply(input, params)?;
        let disagree = || {
            ImgError::Edit(format!(
                "internal error: the rows of {} disagree with its reference",
                edit.name()
            ))
        };
        let Some(b) = &self.settings.bands else {
            let keys = self.keys(true)?;
            let c = ImgCircuit {
                shape: self.settings.shape.clone(),
                witness: Some(self.witness(input, params, secret_in, secret_out)?),
            };
            let instances = c.instances()?;
            if instances[1] != output.commit(secret_out).hash {
                return Err(disagree());
            }
            progress(0, 1);
            let proof = keys::prove(&keys, c, &instances)?;
            progress(1, 1);
            return Ok(EditProof {
                proof: EditProofFile::Whole(ProofFile::new(
                    &self.header(),
                    &instances,
                    &proof,
                    vec![],
                    keys.insecure_srs,
                )),
                output,
                input_hash: instances[0],
                output_hash: instances[1],
            });
        };
        let (salts_in, salts_out) = (
            band_salts(secret_in, input.dims.bands()),
            band_salts(secret_out, output.dims.bands()),
        );
        let (cin, cout) = (input.commit_with(&salts_in), output.commit_with(&salts_out));
        let mut banded = BandedProof {
            settings_digest: self.header().settings_digest,
            input_hash: FrHex(cin.hash),
            output_hash: FrHex(cout.hash),
            params: params.to_vec(),
            input_bands: cin.bands.into_iter().map(FrHex).collect(),
            output_bands: cout.bands.into_iter().map(FrHex).collect(),
            bands: vec![],
            insecure_srs: false,
        };
        let n = b.parts.len();
        let mut proofs: Vec<Option<ProofFile>> = vec![None; n];
        progress(0, n);
        // Key by key, so one proving key is in memory at a time.
        for k in 0..b.keys() {
            let keys = self.band_keys(b, k, true)?;
            let header = self.band_header(b, k);
            for (i, shape) in b
                .parts
                .iter()
                .enumerate()
                .filter(|(i, _)| b.key_of[*i] == k)
            {
                let bands = &self.checked().strips[i];
                let (ins, outs) = bands.clone();
                let strip = Image::new(
                    input.dims.strip(ins.clone()),
                    input.data[input.dims.bands_range(ins.clone())].to_vec(),
                )?;
                let c = ImgCircuit {
                    shape: shape.clone(),
                    witness: Some(ImgWitness {
                        input: strip,
                        params: params.to_vec(),
                        salts_in: salts_in[ins].to_vec(),
                        salts_out: salts_out[outs].to_vec(),
                        prank: Default::default(),
                    }),
                };
                let instances = c.instances()?;
                if instances != banded.expected_instances(bands)? {
                    return Err(disagree());
                }
                let proof = keys::prove(&keys, c, &instances)?;
                proofs[i] = Some(ProofFile::new(
                    &header,
                    &instances,
                    &proof,
                    vec![],
                    keys.insecure_srs,
                ));
                banded.insecure_srs |= keys.insecure_srs;
                progress(proofs.iter().flatten().count(), n);
            }
        }
        banded.bands = proofs
            .into_iter()
            .map(|p| p.expect("every strip"))
            .collect();
        Ok(EditProof {
            proof: EditProofFile::Banded(banded),
            output,
            input_hash: cin.hash,
            output_hash: cout.hash,
        })
    }

    /// Checks a proof file of this directory with its [`ImgDir::verifier_keys`] (`path`
    /// names it in errors); `None` for an invalid proof.
    pub fn verify(
        &self,
        keys: &EditKeys,
        pf: &EditProofFile,
        path: &Path,
    ) -> Result<Option<Verified>, ImgError> {
        match (pf, &self.settings.bands, keys) {
            (EditProofFile::Whole(pf), None, EditKeys::Whole(keys)) => {
                if !pf.verify(&self.header(), keys, path)? {
                    return Ok(None);
                }
                let inst = pf.instances_fr(path)?;
                let params = self.checked_params(&inst)?;
                Ok(Some(Verified {
                    input_hash: inst[0],
                    output_hash: inst[1],
                    params,
                }))
            }
            (EditProofFile::Banded(p), Some(b), EditKeys::Bands(keys)) => {
                self.verify_bands(b, keys, p, path)
            }
            (EditProofFile::Whole(_), Some(_), _) => Err(ImgError::Edit(format!(
                "{} is a single proof but {} proves {} in band proofs",
                path.display(),
                self.dir.display(),
                self.describe()
            ))),
            (EditProofFile::Banded(_), None, _) => Err(ImgError::Edit(format!(
                "{} holds band proofs but {} proves {} in one proof",
                path.display(),
                self.dir.display(),
                self.describe()
            ))),
            _ => Err(ImgError::Edit(format!(
                "keys of another directory than {}",
                self.dir.display()
            ))),
        }
    }

    /// See [`super::bands`] for what a valid banded proof shows.
    fn verify_bands(
        &self,
        b: &BandPlan,
        keys: &[Keys],
        p: &BandedProof,
        path: &Path,
    ) -> Result<Option<Verified>, ImgError> {
        let s = &self.settings;
        if p.settings_digest != self.header().settings_digest {
            return Err(ImgError::Edit(format!(
                "{} is a proof for another edit directory than {}",
                path.display(),
                self.dir.display()
            )));
        }
        if p.input_bands.len() != s.shape.input.bands()
            || p.output_bands.len() != s.output.bands()
            || p.bands.len() != b.parts.len()
        {
            return Ok(None);
        }
        s.shape.edit.check_params(&p.params)?;
        let headers: Vec<ArtifactHeader> = (0..b.keys()).map(|k| self.band_header(b, k)).collect();
        let mut parts = Vec::with_capacity(p.bands.len());
        for (i, pf) in p.bands.iter().enumerate() {
            let k = b.key_of[i];
            let (instances, proof) = pf.checked_parts(&headers[k], path)?;
            if instances != p.expected_instances(&self.checked().strips[i])? {
                return Ok(None);
            }
            parts.push((k, instances, proof));
        }
        // One folded pairing check per thread for all strips (see `verify_many`).
        let claims: Vec<Claim<'_>> = parts
            .iter()
            .map(|(k, instances, proof)| Claim::new(&keys[*k], instances, proof))
            .collect();
        // The image hashes (≈ 93 Poseidon permutations each for HD) are rebuilt while the
        // proofs are checked.
        let d = |v: &[FrHex]| v.iter().map(|x| x.0).collect::<Vec<_>>();
        let (valid, (input_hash, output_hash)) = rayon::join(
            || verify_many(&claims),
            || {
                rayon::join(
                    || image_hash(&s.shape.input, &d(&p.input_bands)),
                    || image_hash(&s.output, &d(&p.output_bands)),
                )
            },
        );
        if !valid || input_hash != p.input_hash.0 || output_hash != p.output_hash.0 {
            return Ok(None);
        }
        Ok(Some(Verified {
            input_hash,
            output_hash,
            params: p.params.clone(),
        }))
    }

    /// The public parameters of a proof's instances `[H_in, H_out, params…]`, refused when
    /// out of the edit's range (a value past u64 counts as out of range).
    pub fn checked_params(&self, instances: &[Fr]) -> Result<Vec<u64>, ImgError> {
        let params: Vec<u64> = instances
            .get(2..)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                trustml_kit::field::to_u128(p)
                    .and_then(|v| u64::try_from(v).ok())
                    .unwrap_or(u64::MAX)
            })
            .collect();
        self.edit().check_params(&params)?;
        Ok(params)
    }
}

/// One step of a chain file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainStep {
    /// The edit directory (set up).
    pub dir: PathBuf,
    /// Its `--params`, if the edit takes any.
    #[serde(default)]
    pub params: String,
    /// Where its proof goes.
    pub proof: PathBuf,
}

/// A chain of edits (`trustml img chain CHAIN.json`); paths are relative to the file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChainFile {
    /// The original image (its secret file beside it, if it is not public).
    pub input: PathBuf,
    /// The edits in order.
    pub steps: Vec<ChainStep>,
    /// Where the final image goes.
    pub output: PathBuf,
    /// Publish the final image: its salt is 0, so anyone recomputes its hash. Otherwise
    /// its secret file is written beside it.
    #[serde(default)]
    pub reveal: bool,
}

/// What a checked chain says: `H_0 → H_1 → … → H_n` and each step's edit and parameters.
#[derive(Clone, Debug)]
pub struct ChainReport {
    /// The image hashes, original first.
    pub hashes: Vec<Fr>,
    /// Each step's edit and parameters, in words.
    pub edits: Vec<String>,
    /// Some proof's keys came from an insecure development SRS.
    pub insecure_srs: bool,
}

impl ChainFile {
    /// Reads a chain file.
    pub fn read(path: &Path) -> Result<Self, ImgError> {
        let bad = |msg: String| ImgError::File {
            path: path.display().to_string(),
            msg,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let c: Self = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "{e} (expected {{\"input\": \"in.png\", \"steps\": [{{\"dir\": \"crop\", \"proof\": \"1.proof.json\"}}, {{\"dir\": \"contrast\", \"params\": \"alpha=1.2\", \"proof\": \"2.proof.json\"}}], \"output\": \"out.png\", \"reveal\": true}})"
            ))
        })?;
        if c.steps.is_empty() {
            return Err(bad("the chain has no steps".into()));
        }
        Ok(c)
    }

    /// Proves every step (`step(k, what)` reports progress), writing each proof and the
    /// final image; intermediate images get fresh secret salts and are not written. Then
    /// checks the chain as [`ChainFile::verify`] does.
    pub fn prove(
        &self,
        base: &Path,
        mut step: impl FnMut(usize, &str),
    ) -> Result<ChainReport, ImgError> {
        let at = |p: &Path| base.join(p);
        let input_path = at(&self.input);
        let mut img = Image::read(&input_path)?;
        let mut secret = read_secret(&input_path, &img)?;
        let n = self.steps.len();
        for (k, s) in self.steps.iter().enumerate() {
            let dir = ImgDir::load(&at(&s.dir))?;
            step(k, &format!("{} ({})", dir.describe(), s.params));
            let params = dir.edit().parse_params(&s.params)?;
            let last = k + 1 == n;
            let secret_out = if last && self.reveal {
                Fr::zero()
            } else {
                random_secret()
            };
            let p = dir.prove(&img, &params, secret, secret_out, |_, _| {})?;
            p.proof.write(&at(&s.proof))?;
            img = p.output;
            secret = secret_out;
        }
        let out = at(&self.output);
        img.write_png(&out)?;
        if !self.reveal {
            replace_secret(&out, &img, secret)?;
        }
        self.verify(base)
    }

    /// Checks every step's proof against its directory, that each step's output hash is the
    /// next one's input hash, and that the original and the final image (with their secret
    /// files, or public) open the ends of the chain.
    pub fn verify(&self, base: &Path) -> Result<ChainReport, ImgError> {
        let at = |p: &Path| base.join(p);
        let mut hashes: Vec<Fr> = vec![];
        let mut edits = vec![];
        let mut insecure_srs = false;
        for (k, s) in self.steps.iter().enumerate() {
            let dir = ImgDir::load(&at(&s.dir))?;
            let path = at(&s.proof);
            let pf = EditProofFile::read(&path)?;
            insecure_srs |= pf.insecure_srs();
            let Some(Verified {
                input_hash: h_in,
                output_hash: h_out,
                params,
            }) = dir.verify(&dir.verifier_keys()?, &pf, &path)?
            else {
                return Err(ImgError::Chain(format!(
                    "step {} ({}): the proof {} does not verify",
                    k + 1,
                    dir.edit().name(),
                    path.display()
                )));
            };
            if let Some(prev) = hashes.last() {
                if *prev != h_in {
                    return Err(ImgError::Chain(format!(
                        "step {} ({}) starts from another image than step {} produced: the chain is broken",
                        k + 1,
                        dir.edit().name(),
                        k
                    )));
                }
            } else {
                hashes.push(h_in);
            }
            hashes.push(h_out);
            let p = dir.edit().describe_params(&params);
            edits.push(if p.is_empty() {
                dir.edit().name()
            } else {
                format!("{} {p}", dir.edit().name())
            });
        }
        for (path, h, what) in [
            (at(&self.input), hashes[0], "the original"),
            (
                at(&self.output),
                *hashes.last().expect("steps"),
                "the final image",
            ),
        ] {
            if !path.exists() {
                continue;
            }
            let img = Image::read(&path)?;
            let secret = read_secret(&path, &img)?;
            if img.commit(secret).hash != h {
                return Err(ImgError::Chain(format!(
                    "{} ({}) does not open the chain's hash",
                    what,
                    path.display()
                )));
            }
        }
        Ok(ChainReport {
            hashes,
            edits,
            insecure_srs,
        })
    }
}
