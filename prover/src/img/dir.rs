//! Edit circuit directories (`trustml img setup`): `img.json` (the edit, the input size and
//! the circuit's shape: what the keys depend on), the header `circuit.json` (kind
//! `img-edit`), `srs.bin`, `vk.bin`, `pk.bin`. One verifying key per (edit, input size);
//! proofs are ordinary proof files with public inputs `[H_in, H_out, params…]`, so
//! `trustml verify` and `trustml evm …` take the directory like any other circuit.
//!
//! An image's **secret file** (`IMG.png.secret.json`) holds the secret its band salts derive
//! from and the hash it gives; an image without one is public (salt 0).

use super::circuit::{ImgCircuit, ImgShape, ImgWitness};
use super::edit::Edit;
use super::format::{band_salts, Dims, Image};
use super::ImgError;
use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::{Path, PathBuf};
use trustml_kit::field::FrHex;
use trustml_kit::fs::write_json;
use trustml_kit::{keys, ArtifactHeader, Keys, ProofFile};
use trustml_srs::Srs;

/// The `kind` of an edit directory's header.
pub const KIND: &str = "img-edit";
/// Version of `img.json`.
pub const FORMAT_VERSION: u32 = 1;
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
}

impl ImgSettings {
    /// Keccak-256 of what the keys depend on.
    pub fn digest(&self) -> [u8; 32] {
        let pinned = serde_json::json!({
            "kind": KIND,
            "format_version": self.format_version,
            "shape": self.shape,
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
}

/// A proven edit.
pub struct EditProof {
    /// The proof file.
    pub proof: ProofFile,
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

impl ImgDir {
    /// Makes the circuit of `edit` on `input` images (see [`ImgShape::choose`] for `wide`);
    /// writes `img.json` and the header.
    pub fn create(dir: &Path, edit: &Edit, input: Dims, wide: bool) -> Result<Self, ImgError> {
        let shape = ImgShape::choose(edit, input, wide)?;
        let settings = ImgSettings {
            format_version: FORMAT_VERSION,
            output: edit.output(input)?,
            shape,
        };
        std::fs::create_dir_all(dir).map_err(|e| ImgError::File {
            path: dir.display().to_string(),
            msg: e.to_string(),
        })?;
        write_json(&dir.join(SETTINGS), &settings)?;
        let d = Self {
            dir: dir.to_path_buf(),
            settings,
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
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
        })
    }

    /// The header of this circuit.
    pub fn header(&self) -> ArtifactHeader {
        ArtifactHeader::new(
            KIND,
            FORMAT_VERSION,
            self.settings.digest(),
            self.settings.shape.k,
            self.settings.shape.num_instances(),
        )
    }

    /// The edit.
    pub fn edit(&self) -> &Edit {
        &self.settings.shape.edit
    }

    /// What the directory proves, in words.
    pub fn describe(&self) -> String {
        let s = &self.settings;
        format!(
            "{} of a {} image into {} (k = {})",
            s.shape.edit.name(),
            s.shape.input,
            s.output,
            s.shape.k
        )
    }

    fn circuit(&self) -> ImgCircuit {
        ImgCircuit {
            shape: self.settings.shape.clone(),
            witness: None,
        }
    }

    /// Key generation with `srs`.
    pub fn setup(&self, srs: &Srs, step: impl FnMut(&str)) -> Result<Keys, ImgError> {
        Ok(keys::setup(
            &self.dir,
            &self.header(),
            srs,
            &self.circuit(),
            step,
        )?)
    }

    /// The directory's keys.
    pub fn keys(&self, with_pk: bool) -> Result<Keys, ImgError> {
        Ok(keys::load::<ImgCircuit>(
            &self.dir,
            &self.header(),
            self.settings.shape.clone(),
            with_pk,
        )?)
    }

    /// The witness of `input` edited with `params`, salts from the secrets.
    pub fn witness(
        &self,
        input: &Image,
        params: &[u64],
        secret_in: Fr,
        secret_out: Fr,
    ) -> Result<ImgWitness, ImgError> {
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
        shape.edit.check_params(params)?;
        Ok(ImgWitness {
            input: input.clone(),
            params: params.to_vec(),
            salts_in: band_salts(secret_in, input.dims.bands()),
            salts_out: band_salts(secret_out, self.settings.output.bands()),
            prank: Default::default(),
        })
    }

    /// Proves the edit of `input` with `params`; the input's salts derive from `secret_in`,
    /// the output's from `secret_out` (0: a public output).
    pub fn prove(
        &self,
        keys: &Keys,
        input: &Image,
        params: &[u64],
        secret_in: Fr,
        secret_out: Fr,
    ) -> Result<EditProof, ImgError> {
        let witness = self.witness(input, params, secret_in, secret_out)?;
        let shape = &self.settings.shape;
        let plan = shape.plan()?;
        let output = plan.eval(input, params);
        // The rows and the reference are written separately: a disagreement is a bug here,
        // never something to prove.
        if output != shape.edit.apply(input, params)? {
            return Err(ImgError::Edit(format!(
                "internal error: the rows of {} disagree with its reference",
                shape.edit.name()
            )));
        }
        let c = ImgCircuit {
            shape: shape.clone(),
            witness: Some(witness),
        };
        let instances = c.instances()?;
        let proof = keys::prove(keys, c, &instances)?;
        Ok(EditProof {
            proof: ProofFile::new(
                &self.header(),
                &instances,
                &proof,
                vec![],
                keys.insecure_srs,
            ),
            output,
            input_hash: instances[0],
            output_hash: instances[1],
        })
    }

    /// Checks a proof file of this directory; returns `(H_in, H_out, params)` of a valid
    /// proof, `None` for an invalid one.
    pub fn verify(
        &self,
        keys: &Keys,
        pf: &ProofFile,
        path: &Path,
    ) -> Result<Option<(Fr, Fr, Vec<u64>)>, ImgError> {
        if !pf.verify(&self.header(), keys, path)? {
            return Ok(None);
        }
        let inst = pf.instances_fr(path)?;
        let params = self.checked_params(&inst)?;
        Ok(Some((inst[0], inst[1], params)))
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
            let keys = dir.keys(true)?;
            let last = k + 1 == n;
            let secret_out = if last && self.reveal {
                Fr::zero()
            } else {
                random_secret()
            };
            let p = dir.prove(&keys, &img, &params, secret, secret_out)?;
            write_json(&at(&s.proof), &p.proof)?;
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
        for (k, s) in self.steps.iter().enumerate() {
            let dir = ImgDir::load(&at(&s.dir))?;
            let path = at(&s.proof);
            let pf = ProofFile::read(&path)?;
            let keys = dir.keys(false)?;
            let Some((h_in, h_out, params)) = dir.verify(&keys, &pf, &path)? else {
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
        Ok(ChainReport { hashes, edits })
    }
}
