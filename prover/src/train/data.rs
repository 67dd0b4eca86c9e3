//! The 8×8 digits: 1,437 training and 360 test samples (scikit-learn's `load_digits`,
//! stratified 80/20 split, `random_state = 0`; `prover/fixtures/README.md`). A sample is
//! 64 pixels `0..=16` (the models read `pixel / 16`) and a label `0..=9`.

use super::TrainError;
use serde::Deserialize;
use std::path::Path;

/// Pixels per sample.
pub const PIXELS: usize = 64;
/// Classes.
pub const CLASSES: usize = 10;

/// A labelled set of digits.
#[derive(Clone, Debug)]
pub struct Digits {
    /// Pixels `0..=16`, one row per sample.
    pub pixels: Vec<[i64; PIXELS]>,
    /// Labels `0..=9`.
    pub labels: Vec<usize>,
}

#[derive(Deserialize)]
struct TrainFile {
    pixels: Vec<Vec<i64>>,
    labels: Vec<usize>,
}

#[derive(Deserialize)]
struct TestFile {
    inputs: Vec<Vec<f64>>,
    labels: Vec<usize>,
}

/// `prover/fixtures`.
pub fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

impl Digits {
    /// The training set (`digits_train.json`).
    pub fn train() -> Result<Self, TrainError> {
        let path = fixtures().join("digits_train.json");
        let f: TrainFile = read(&path)?;
        Self::new(f.pixels, f.labels, &path)
    }

    /// The held-out test set (`digits_test.json`: pixel/16 floats, all exact).
    pub fn test() -> Result<Self, TrainError> {
        let path = fixtures().join("digits_test.json");
        let f: TestFile = read(&path)?;
        let pixels = f
            .inputs
            .iter()
            .map(|r| r.iter().map(|&v| (v * 16.0).round() as i64).collect())
            .collect();
        Self::new(pixels, f.labels, &path)
    }

    fn new(pixels: Vec<Vec<i64>>, labels: Vec<usize>, path: &Path) -> Result<Self, TrainError> {
        let bad = |msg: String| TrainError::File {
            path: path.display().to_string(),
            msg,
        };
        if pixels.len() != labels.len() {
            return Err(bad(format!(
                "{} samples but {} labels",
                pixels.len(),
                labels.len()
            )));
        }
        let pixels = pixels
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                if r.iter().any(|&p| !(0..=16).contains(&p)) {
                    return Err(bad(format!("sample {i}: a pixel outside 0..=16")));
                }
                r.try_into()
                    .map_err(|r: Vec<i64>| bad(format!("sample {i}: {} pixels, not 64", r.len())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(i) = labels.iter().position(|&l| l >= CLASSES) {
            return Err(bad(format!(
                "sample {i}: label {} is not a digit",
                labels[i]
            )));
        }
        Ok(Self { pixels, labels })
    }

    /// Samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Steps that cover the training set `epochs` times at batch size `batch` (one epoch
    /// of the 1,437 digits at batch 8 is 180 steps).
    pub fn steps(&self, epochs: usize, batch: usize) -> usize {
        (epochs * self.len()).div_ceil(batch)
    }

    /// The batch of step `t`: dataset positions `(t·batch + i) mod N`, `i < batch` — the
    /// committed dataset's order, fixed before training, read as one stream (a batch
    /// crossing the end of the set continues at its start, so every step has `batch`
    /// samples).
    pub fn batch(&self, t: usize, batch: usize) -> (Vec<[i64; PIXELS]>, Vec<usize>) {
        (0..batch)
            .map(|i| {
                let k = (t * batch + i) % self.len();
                (self.pixels[k], self.labels[k])
            })
            .unzip()
    }
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, TrainError> {
    let bad = |msg: String| TrainError::File {
        path: path.display().to_string(),
        msg,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
}
