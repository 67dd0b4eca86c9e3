//! Input files: `{"input_data": [[...], ...]}` with one flat row-major float list per
//! model input (the format EZKL writes); `input_shapes` and `output_data` are optional.
//! A calibration file may also be a JSON list of such objects (one per sample).

use serde::{Deserialize, Serialize};
use std::path::Path;
use thiserror::Error;

/// Errors reading or checking an input / calibration JSON file.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// Path of the file.
        path: String,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not JSON of the expected shape.
    #[error("{path} is not valid input JSON (expected {{\"input_data\": [[numbers, ...]]}}, one flat list per model input)")]
    Parse {
        /// Path of the file.
        path: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// `input_data` has a different number of lists than the model has inputs.
    #[error("{path}: expected {expected} model input(s), found {got} list(s) in input_data")]
    InputCount {
        /// Path of the file.
        path: String,
        /// Number of model inputs.
        expected: usize,
        /// Number of lists in `input_data`.
        got: usize,
    },
    /// One input list has a different length than its input's shape requires.
    #[error("{path}: model input {index} has shape {shape:?} ({expected} values) but input_data[{index}] has {got} values")]
    InputSize {
        /// Path of the file.
        path: String,
        /// Index of the model input.
        index: usize,
        /// The model input's shape.
        shape: Vec<usize>,
        /// Number of values the shape requires.
        expected: usize,
        /// Number of values in the list.
        got: usize,
    },
    /// An input list contains NaN or an infinity.
    #[error("{path}: input_data[{index}] contains a non-finite number")]
    NonFinite {
        /// Path of the file.
        path: String,
        /// Index of the model input.
        index: usize,
    },
    /// A calibration file with an empty list of samples.
    #[error("{path}: the file holds no samples")]
    Empty {
        /// Path of the file.
        path: String,
    },
}

/// One sample: a flat float list per model input.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputData {
    /// Values of each model input, flat and row-major, in model input order.
    pub input_data: Vec<Vec<f32>>,
    /// Shapes of the inputs, if the file gives them (informational; not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_shapes: Option<Vec<Vec<usize>>>,
    /// Expected outputs, flat and row-major, if the file gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_data: Option<Vec<Vec<f32>>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(InputData),
    Many(Vec<InputData>),
}

fn read(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Reads one or many samples.
pub fn read_samples(path: &Path) -> Result<Vec<InputData>, DataError> {
    let text = read(path)?;
    let p = path.display().to_string();
    let parsed: OneOrMany = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str::<InputData>(&text).map(OneOrMany::One))
        .map_err(|source| DataError::Parse {
            path: p.clone(),
            source,
        })?;
    let v = match parsed {
        OneOrMany::One(d) => vec![d],
        OneOrMany::Many(v) => v,
    };
    if v.is_empty() {
        return Err(DataError::Empty { path: p });
    }
    Ok(v)
}

/// Reads exactly one sample.
pub fn read_input(path: &Path) -> Result<InputData, DataError> {
    let text = read(path)?;
    serde_json::from_str(&text).map_err(|source| DataError::Parse {
        path: path.display().to_string(),
        source,
    })
}

impl InputData {
    /// Checks the sample against the model's input shapes.
    pub fn check(&self, path: &Path, shapes: &[Vec<usize>]) -> Result<(), DataError> {
        let p = path.display().to_string();
        if self.input_data.len() != shapes.len() {
            return Err(DataError::InputCount {
                path: p,
                expected: shapes.len(),
                got: self.input_data.len(),
            });
        }
        for (index, (vals, shape)) in self.input_data.iter().zip(shapes).enumerate() {
            let expected: usize = shape.iter().product();
            if vals.len() != expected {
                return Err(DataError::InputSize {
                    path: p,
                    index,
                    shape: shape.clone(),
                    expected,
                    got: vals.len(),
                });
            }
            if vals.iter().any(|v| !v.is_finite()) {
                return Err(DataError::NonFinite { path: p, index });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn reads_one_and_many() {
        let f = write(r#"{"input_data": [[1.0, 2.5]]}"#);
        assert_eq!(read_samples(f.path()).unwrap().len(), 1);
        let f = write(r#"[{"input_data": [[1.0, 2.5]]}, {"input_data": [[0, 1]]}]"#);
        assert_eq!(read_samples(f.path()).unwrap().len(), 2);
        read_input(f.path()).unwrap_err();
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let f = write(r#"{"input": [[1.0]]}"#);
        let e = read_input(f.path()).unwrap_err().to_string();
        assert!(e.contains("input_data"), "{e}");
        let f = write(r#"{"input_data": [[1.0, 2.0, 3.0]]}"#);
        let d = read_input(f.path()).unwrap();
        let e = d.check(f.path(), &[vec![1, 2]]).unwrap_err().to_string();
        assert!(e.contains("2 values") && e.contains("has 3"), "{e}");
        let e = d
            .check(f.path(), &[vec![3], vec![1]])
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 model input"), "{e}");
        let e = read_samples(Path::new("/nonexistent/x.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read"), "{e}");
    }
}
