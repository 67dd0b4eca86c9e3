//! A compiled model directory: the ONNX file, its settings and (after `setup`) keys.
//!
//! ```text
//! DIR/model.onnx      the imported model, byte for byte
//! DIR/settings.json   fixed-point format, circuit shape, k, visibilities, calibration report
//! DIR/srs.bin         KZG parameters trimmed to k (written by setup)
//! DIR/pk.bin, vk.bin  proving and verifying keys (written by setup)
//! ```
//! Every step re-imports and re-lowers the model (deterministic and fast), so the
//! program is never stored twice; the settings digest pins everything the keys depend on.

use crate::circuit::{
    num_instances, CircuitShape, ModelCircuit, RowPlan, Salts, Visibilities, Visibility, Witness,
};
use crate::data::{DataError, InputData};
use crate::program::{lower_traced_with, lower_with, Program, ProgramError};
use crate::quant::QuantParams;
use crate::text::{TextError, TextSpec};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
use trustml_kit::fs::write_json;
use trustml_kit::{field, ArtifactHeader};
use trustml_onnx::{eval, load_onnx_bytes, Graph, OnnxError, Tensor};

/// Version of `settings.json` (2: a `hashed` input is range-checked and committed packed,
/// [`crate::packing`]).
pub const FORMAT_VERSION: u32 = 2;

/// The artifact kind of a model directory.
pub const KIND: &str = "model";

/// An error compiling, loading or running a model directory.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The ONNX model could not be imported.
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    /// Lowering or evaluating the program failed.
    #[error(transparent)]
    Program(#[from] ProgramError),
    /// An input data file is invalid.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Keys, headers and atomic writes.
    #[error(transparent)]
    Kit(#[from] trustml_kit::KitError),
    /// A salts file is malformed.
    #[error("{path} is not a salts file ({{\"input\": \"0x…\", \"weights\": \"0x…\", \"output\": \"0x…\"}}, each optional)")]
    SaltsFile {
        /// The file.
        path: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// `settings.json` is not a settings file.
    #[error("{path} is not a trustml settings file")]
    Settings {
        /// The file.
        path: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// `settings.json` is of another format version.
    #[error("{path} was written by format version {found}, this trustml reads version {FORMAT_VERSION}; the model must be compiled again")]
    Version {
        /// The file.
        path: String,
        /// Its version.
        found: u32,
    },
    /// The model file changed after compiling.
    #[error("{dir}/model.onnx does not match the hash in settings.json (it was changed after compiling); the model must be compiled again")]
    ModelChanged {
        /// The directory.
        dir: String,
    },
    /// A compile option is invalid or conflicts with the model.
    #[error("invalid option: {0}")]
    Option(String),
    /// A text model's vocabulary, prompt or decoding.
    #[error(transparent)]
    Text(#[from] TextError),
    /// Calibration found no usable fixed-point format.
    #[error("calibration: {0}")]
    Calibration(String),
    /// A zkml `model.msgpack` or input could not be read or lowered.
    #[error(transparent)]
    Zkml(#[from] crate::zkml::ZkmlError),
}

/// The file format a model came in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    /// ONNX, as `torch.onnx.export` writes it: quantized by calibration.
    #[default]
    Onnx,
    /// The original zkml project's `model.msgpack`: already integer, its semantics kept.
    Zkml,
}

impl ModelFormat {
    /// By file extension: `.msgpack` is zkml, anything else ONNX.
    pub fn of(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("msgpack") => ModelFormat::Zkml,
            _ => ModelFormat::Onnx,
        }
    }

    /// The model's file name inside a compiled directory.
    pub fn file_name(&self) -> &'static str {
        match self {
            ModelFormat::Onnx => "model.onnx",
            ModelFormat::Zkml => "model.msgpack",
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The name and shape of a model input or output.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TensorInfo {
    /// The tensor's name in the model (or `"input i"` / `"output i"` for zkml models).
    pub name: String,
    /// The tensor's shape.
    pub shape: Vec<usize>,
}

/// How well the quantized model tracks the float one on the calibration samples.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// Number of calibration samples.
    pub samples: usize,
    /// Largest |quantized − float| over all outputs and samples.
    pub max_abs_error: f64,
    /// Samples whose quantized argmax (over the first output) equals the float argmax.
    pub argmax_matches: usize,
    /// Largest |lookup input| seen, as an integer at the chosen scale.
    pub max_lookup_input: i128,
    /// The layer whose lookup input is largest (it sets the table size).
    #[serde(default)]
    pub widest_layer: String,
    /// The graph value (ONNX tensor name) whose quantized values are furthest from the
    /// float model's, relative to its magnitude: where precision is lost first.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub worst_layer: String,
    /// That value's largest |quantized − float| / (1 + max |float|).
    #[serde(default)]
    pub worst_layer_error: f64,
    /// The model has no float version to compare with (a zkml model's integers are its
    /// definition): `max_abs_error` and `argmax_matches` then mean nothing and are not shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_float_reference: bool,
    /// A text model: completion positions compared (its outputs are token ids, so
    /// `max_abs_error` and `argmax_matches` are not shown).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub text_positions: usize,
    /// Of those, the positions where the quantized model's next-token choice (after the
    /// float model's greedy completion so far) is the float model's.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub text_matches: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Everything the keys depend on, plus reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    /// Version of this file's format ([`FORMAT_VERSION`] when written).
    pub format_version: u32,
    /// The file format the model came in.
    #[serde(default)]
    pub format: ModelFormat,
    /// Keccak-256 of model.onnx.
    pub model_keccak: String,
    /// Fixed-point format: scale bits and lookup domain bits.
    pub quant: QuantParams,
    /// Lookup domain bits per function tag (see `FuncSet::bits`).
    #[serde(default)]
    pub func_bits: Vec<u32>,
    /// The circuit's column shape.
    pub shape: CircuitShape,
    /// Log2 of the circuit's row count (the circuit has `2^k` rows).
    pub k: u32,
    /// Row counts of each section of the layout.
    pub rows: RowPlan,
    /// Number of public instance cells a proof exposes.
    pub num_instances: usize,
    /// The model inputs, in order.
    pub inputs: Vec<TensorInfo>,
    /// The model outputs, in order.
    pub outputs: Vec<TensorInfo>,
    /// The calibration report, if the model was calibrated.
    #[serde(default)]
    pub calibration: Option<CalibrationReport>,
    /// A text model: its input is `prompt ‖ completion` (token ids), its output the
    /// completion, proven to be the model's greedy decoding ([`crate::text`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextSpec>,
}

impl Settings {
    /// Keccak-256 over what the circuit depends on; written into keys and proofs.
    pub fn digest(&self) -> [u8; 32] {
        let mut pinned = serde_json::json!({
            "format_version": self.format_version,
            "format": self.format,
            "model_keccak": self.model_keccak,
            "quant": self.quant,
            "func_bits": self.func_bits,
            "shape": self.shape,
            "k": self.k,
            "num_instances": self.num_instances,
        });
        // Only text models pin it, so other models keep their digests.
        if let Some(t) = &self.text {
            pinned["text"] = serde_json::json!(t);
        }
        Keccak256::digest(pinned.to_string().as_bytes()).into()
    }

    /// [`Settings::digest`] as `0x`-prefixed hex.
    pub fn digest_hex(&self) -> String {
        format!("0x{}", hex::encode(self.digest()))
    }
}

/// Options of `trustml compile`.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// Visibility of the inputs, weights and outputs.
    pub vis: Visibilities,
    /// Fractional bits; `None` lets calibration choose.
    pub scale_bits: Option<u32>,
    /// Lookup domain bits; `None` lets calibration choose.
    pub lookup_bits: Option<u32>,
    /// Extra bits of lookup range beyond what the calibration samples reach.
    pub headroom_bits: u32,
    /// Multiply-accumulates per dot row; `None` picks the cheapest layout.
    pub dot_width: Option<usize>,
    /// Lookup lanes per row; `None` picks the cheapest layout.
    pub lanes: Option<usize>,
    /// Compile for the marketplace listing statement (see [`CircuitShape::listing`]):
    /// needs input `hashed`, weights `fixed` and output `hashed`.
    pub listing: bool,
    /// Compile a causal language model as a text model (see [`crate::text`]).
    pub text: Option<TextSpec>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            vis: Visibilities::default(),
            scale_bits: None,
            lookup_bits: None,
            headroom_bits: 1,
            dot_width: None,
            lanes: None,
            listing: false,
            text: None,
        }
    }
}

/// A model ready to prove: its settings, graph and lowered program.
#[derive(Clone, Debug)]
pub struct CompiledModel {
    /// The model directory.
    pub dir: PathBuf,
    /// The contents of `settings.json`.
    pub settings: Settings,
    /// The imported graph (ONNX models only).
    pub graph: Option<Graph>,
    /// The lowered program.
    pub program: Arc<Program>,
}

fn keccak_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(Keccak256::digest(bytes)))
}

mod calibrate;

pub(crate) use calibrate::bits_for;
pub use calibrate::k_for;
use calibrate::{argmax, best_layout, lookup_extent, tag_bits};

/// The lowered program with what its visibilities add: a `hashed` input is range-checked
/// for its packed commitment ([`crate::packing`]).
/// `samples` (token ids) with each completion replaced by the float model's greedy one.
fn float_greedy(
    graph: &Graph,
    samples: &[InputData],
    t: &TextSpec,
) -> Result<Vec<InputData>, ModelError> {
    let shape = graph.shape(graph.inputs[0]).to_vec();
    samples
        .iter()
        .map(|s| {
            let mut tokens = s.input_data[0].clone();
            for j in 0..t.completion_len {
                let outs = eval::eval(graph, &[Tensor::new(shape.clone(), tokens.clone())])?;
                tokens[t.prompt_len + j] = outs[graph.outputs[0]].data[j];
            }
            Ok(InputData {
                input_data: vec![tokens],
                input_shapes: None,
                output_data: None,
            })
        })
        .collect()
}

/// A calibration sample's witness. A text model's quantized choices may differ from the
/// float model's that completed the sample: the check then stops the run, after every
/// layer whose range calibration measures.
fn calibration_witness(
    probe: &Program,
    input: &[Vec<f32>],
    text: bool,
) -> Result<Vec<i128>, ModelError> {
    let (w, stopped) = probe.eval_lenient(&probe.quantize_inputs(input))?;
    match stopped {
        Some(ProgramError::OutOfRange { node, .. })
            if text && node == trustml_onnx::greedy::CHECK_NODE =>
        {
            Ok(w)
        }
        Some(e) => Err(e.into()),
        None => Ok(w),
    }
}

/// The graph of an ONNX model: a text model's with its greedy-decoding check.
fn import_graph(bytes: &[u8], text: Option<&TextSpec>) -> Result<Graph, OnnxError> {
    match text {
        Some(t) => trustml_onnx::greedy::wrap(bytes, t.prompt_len),
        None => load_onnx_bytes(bytes),
    }
}

fn finish(mut program: Program, vis: Visibilities) -> Program {
    if vis.input == Visibility::Hashed {
        program.range_check_inputs();
    }
    program
}

impl CompiledModel {
    /// Imports `onnx`, calibrates on `samples` and writes `out_dir`.
    pub fn compile(
        onnx: &Path,
        samples: &[InputData],
        opts: &CompileOptions,
        out_dir: &Path,
    ) -> Result<Self, ModelError> {
        let bytes = std::fs::read(onnx).map_err(io_err(onnx))?;
        if opts.vis.input == Visibility::Fixed || opts.vis.output == Visibility::Fixed {
            return Err(ModelError::Option(
                "only weights may be `fixed`; inputs and outputs are private, public or hashed"
                    .into(),
            ));
        }
        if opts.listing && opts.vis != Visibilities::LISTING {
            return Err(ModelError::Option(format!(
                "a listing model has input hashed, weights fixed and output hashed, not {}/{}/{}",
                opts.vis.input, opts.vis.weights, opts.vis.output
            )));
        }
        if ModelFormat::of(onnx) == ModelFormat::Zkml {
            return Self::compile_zkml(onnx, &bytes, samples, opts, out_dir);
        }
        if let Some(t) = &opts.text {
            if TextSpec::for_onnx(&bytes, t.prompt_len, t.vocab.clone())? != *t {
                return Err(ModelError::Option(format!(
                    "this model's context is not {} tokens",
                    t.prompt_len + t.completion_len
                )));
            }
        }
        let graph = import_graph(&bytes, opts.text.as_ref())?;
        let shapes: Vec<Vec<usize>> = graph
            .inputs
            .iter()
            .map(|&v| graph.shape(v).to_vec())
            .collect();
        for s in samples {
            s.check(Path::new("calibration input"), &shapes)?;
        }
        // A text model calibrates on its prompts completed as the float model would.
        let completed;
        let samples = match &opts.text {
            Some(t) => {
                completed = float_greedy(&graph, samples, t)?;
                &completed[..]
            }
            None => samples,
        };
        let floats: Vec<Vec<Tensor<f32>>> = samples
            .iter()
            .map(|s| {
                let ins: Vec<Tensor<f32>> = s
                    .input_data
                    .iter()
                    .zip(&shapes)
                    .map(|(d, sh)| Tensor::new(sh.clone(), d.clone()))
                    .collect();
                eval::eval(&graph, &ins)
            })
            .collect::<Result<_, _>>()?;

        // Fixed weights are in the verifying key anyway: embeddings may be lookup tables.
        let public_tables = opts.vis.weights == Visibility::Fixed;
        let scales: Vec<u32> = match opts.scale_bits {
            Some(s) => vec![s],
            None => (5..=10).collect(),
        };
        let mut best: Vec<(u32, u64, CircuitShape, Program, RowPlan, CalibrationReport)> = vec![];
        for &s in &scales {
            if !(1..=16).contains(&s) {
                return Err(ModelError::Option(format!(
                    "--scale {s} is out of range 1..=16"
                )));
            }
            // Integer run with an unbounded lookup domain to measure the range needed.
            let (probe, value_wires) = lower_traced_with(
                &graph,
                QuantParams {
                    scale_bits: s,
                    lookup_bits: 60,
                },
                public_tables,
            )?;
            let probe = finish(probe, opts.vis);
            let mut extent = 0;
            let mut per_tag = vec![];
            let mut report = CalibrationReport {
                samples: samples.len(),
                ..Default::default()
            };
            for (sample, fl) in samples.iter().zip(&floats) {
                let w = calibration_witness(&probe, &sample.input_data, opts.text.is_some())?;
                let (e, node) = lookup_extent(&probe, &w, &mut per_tag);
                if e > extent {
                    extent = e;
                    report.widest_layer = node;
                }
                // Layer by layer: where the quantized values drift furthest from the float ones.
                for (&v, ws) in &value_wires {
                    // The greedy check's values are token ids and indices, not activations.
                    let name = &graph.values[v].name;
                    if opts.text.is_some()
                        && (name.starts_with("greedy/") || name == trustml_onnx::greedy::OUTPUT)
                    {
                        continue;
                    }
                    let f = &fl[v].data;
                    if f.len() != ws.len() || f.is_empty() {
                        continue;
                    }
                    // Mask sentinels (−1e9) are clamped on purpose: not a precision loss.
                    let real = |x: &f32| crate::program::clamp_mask(*x) == *x;
                    let fmax = f
                        .iter()
                        .filter(|x| real(x))
                        .fold(0f64, |m, &x| m.max((x as f64).abs()));
                    let d = ws
                        .iter()
                        .zip(f)
                        .filter(|(_, x)| real(x))
                        .fold(0f64, |m, (&wi, &x)| {
                            m.max((w[wi as usize] as f64 / probe.qp.scale() - x as f64).abs())
                        });
                    let rel = d / (1.0 + fmax);
                    if rel > report.worst_layer_error {
                        report.worst_layer_error = rel;
                        report.worst_layer = graph.values[v].name.clone();
                    }
                }
                let outs = probe.output_values(&w);
                if opts.text.is_some() {
                    let s = probe.qp.scale();
                    let same = outs[0].iter().zip(&fl[graph.outputs[0]].data);
                    report.text_positions += outs[0].len();
                    report.text_matches += same.filter(|(&q, &f)| q as f64 / s == f as f64).count();
                    continue;
                }
                for (oi, (&gv, q)) in graph.outputs.iter().zip(&outs).enumerate() {
                    let qf: Vec<f64> = q.iter().map(|&x| x as f64 / probe.qp.scale()).collect();
                    for (a, b) in qf.iter().zip(&fl[gv].data) {
                        report.max_abs_error = report.max_abs_error.max((a - *b as f64).abs());
                    }
                    if oi == 0 {
                        let ff: Vec<f64> = fl[gv].data.iter().map(|&x| x as f64).collect();
                        report.argmax_matches += (argmax(&qf) == argmax(&ff)) as usize;
                    }
                }
            }
            report.max_lookup_input = extent;
            let lookup_bits = match opts.lookup_bits {
                Some(b) => b,
                None => bits_for(extent) + opts.headroom_bits,
            };
            if !(2..=24).contains(&lookup_bits) {
                if opts.scale_bits.is_some() || opts.lookup_bits.is_some() {
                    return Err(ModelError::Option(format!(
                        "a lookup domain of {lookup_bits} bits is needed at scale {s}; lower --scale (or set --lookup-bits between 2 and 24)"
                    )));
                }
                continue;
            }
            let qp = QuantParams {
                scale_bits: s,
                lookup_bits,
            };
            let mut program = finish(lower_with(&graph, qp, public_tables)?, opts.vis);
            // Each function's table spans only its own inputs (unless the user fixed the
            // domain): Identity (coarse checks) usually needs far fewer bits than Relu.
            if opts.lookup_bits.is_none() && program.funcs.funcs == probe.funcs.funcs {
                program.funcs.bits = tag_bits(&per_tag, opts.headroom_bits, lookup_bits);
            }
            let (cost, shape, plan) = best_layout(&program, s, opts)?;
            best.push((s, cost, shape, program, plan, report));
        }
        // Accuracy is worth up to twice the cheapest proving cost: the finest scale within it.
        let min_cost = best.iter().map(|c| c.1).min().ok_or_else(|| ModelError::Calibration("no scale between 5 and 10 bits keeps the lookup domain within 24 bits; pass --scale".into()))?;
        let pick = best
            .iter()
            .enumerate()
            .filter(|(_, c)| c.1 <= 2 * min_cost)
            .max_by_key(|(_, c)| (c.0, std::cmp::Reverse(c.1)))
            .map(|(i, _)| i)
            .expect("non-empty");
        let (_, _, shape, program, rows, report) = best.swap_remove(pick);
        let k = k_for(&rows, &shape);
        let n_instances = num_instances(&program, &shape);
        let settings = Settings {
            format_version: FORMAT_VERSION,
            format: ModelFormat::Onnx,
            model_keccak: keccak_hex(&bytes),
            quant: program.qp,
            func_bits: program.funcs.bits.clone(),
            shape,
            k,
            rows,
            num_instances: n_instances,
            inputs: graph
                .inputs
                .iter()
                .map(|&v| TensorInfo {
                    name: graph.values[v].name.clone(),
                    shape: graph.shape(v).to_vec(),
                })
                .collect(),
            outputs: graph
                .outputs
                .iter()
                .map(|&v| TensorInfo {
                    name: graph.values[v].name.clone(),
                    shape: graph.shape(v).to_vec(),
                })
                .collect(),
            calibration: Some(report),
            text: opts.text.clone(),
        };
        Self::write_dir(out_dir, &bytes, settings, Some(graph), program)
    }

    fn write_dir(
        out_dir: &Path,
        bytes: &[u8],
        settings: Settings,
        graph: Option<Graph>,
        program: Program,
    ) -> Result<Self, ModelError> {
        std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
        let model_path = out_dir.join(settings.format.file_name());
        std::fs::write(&model_path, bytes).map_err(io_err(&model_path))?;
        write_json(&out_dir.join("settings.json"), &settings)?;
        let m = Self {
            dir: out_dir.to_path_buf(),
            settings,
            graph,
            program: Arc::new(program),
        };
        m.header().write(out_dir)?;
        Ok(m)
    }

    /// A zkml model keeps its own integer semantics and scale; calibration only sizes the
    /// lookup domain.
    fn compile_zkml(
        path: &Path,
        bytes: &[u8],
        samples: &[InputData],
        opts: &CompileOptions,
        out_dir: &Path,
    ) -> Result<Self, ModelError> {
        let zm = crate::zkml::ZkmlModel::from_bytes(bytes, &path.display().to_string())?;
        let s = zm.scale_bits()?;
        if opts.scale_bits.is_some_and(|x| x != s) {
            return Err(ModelError::Option(format!(
                "a zkml model fixes its own scale (2^{s}); drop --scale"
            )));
        }
        let shapes = zm.input_shapes()?;
        for sample in samples {
            sample.check(Path::new("calibration input"), &shapes)?;
        }
        let probe = finish(zm.to_program(60)?, opts.vis);
        let mut report = CalibrationReport {
            samples: samples.len(),
            no_float_reference: true,
            ..Default::default()
        };
        let mut per_tag = vec![];
        for sample in samples {
            let w = probe.eval(&probe.quantize_inputs(&sample.input_data))?;
            let (e, node) = lookup_extent(&probe, &w, &mut per_tag);
            if e > report.max_lookup_input {
                report.max_lookup_input = e;
                report.widest_layer = node;
            }
        }
        let lookup_bits = opts
            .lookup_bits
            .unwrap_or((bits_for(report.max_lookup_input) + opts.headroom_bits).max(s + 4));
        let mut program = finish(zm.to_program(lookup_bits)?, opts.vis);
        if opts.lookup_bits.is_none() && program.funcs.funcs == probe.funcs.funcs {
            program.funcs.bits = tag_bits(&per_tag, opts.headroom_bits, lookup_bits);
        }
        let (_, shape, rows) = best_layout(&program, s, opts)?;
        let k = k_for(&rows, &shape);
        let n_instances = num_instances(&program, &shape);
        let info = |i: usize, shape: &Vec<usize>, what: &str| TensorInfo {
            name: format!("{what} {i}"),
            shape: shape.clone(),
        };
        let settings = Settings {
            format_version: FORMAT_VERSION,
            format: ModelFormat::Zkml,
            model_keccak: keccak_hex(bytes),
            quant: program.qp,
            func_bits: program.funcs.bits.clone(),
            shape,
            k,
            rows,
            num_instances: n_instances,
            inputs: shapes
                .iter()
                .enumerate()
                .map(|(i, s)| info(i, s, "input"))
                .collect(),
            outputs: program
                .outputs
                .iter()
                .enumerate()
                .map(|(i, (s, _))| info(i, s, "output"))
                .collect(),
            calibration: Some(report),
            text: None,
        };
        Self::write_dir(out_dir, bytes, settings, None, program)
    }

    /// Loads a compiled directory and re-lowers its model.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let sp = dir.join("settings.json");
        let text = std::fs::read_to_string(&sp).map_err(io_err(&sp))?;
        let version: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ModelError::Settings {
                path: sp.display().to_string(),
                source,
            })?;
        if let Some(v) = version.get("format_version").and_then(|v| v.as_u64()) {
            if v != FORMAT_VERSION as u64 {
                return Err(ModelError::Version {
                    path: sp.display().to_string(),
                    found: v as u32,
                });
            }
        }
        let settings: Settings =
            serde_json::from_value(version).map_err(|source| ModelError::Settings {
                path: sp.display().to_string(),
                source,
            })?;
        let mp = dir.join(settings.format.file_name());
        let bytes = std::fs::read(&mp).map_err(io_err(&mp))?;
        if keccak_hex(&bytes) != settings.model_keccak {
            return Err(ModelError::ModelChanged {
                dir: dir.display().to_string(),
            });
        }
        let (graph, program) = match settings.format {
            ModelFormat::Onnx => {
                let graph = import_graph(&bytes, settings.text.as_ref())?;
                let fixed = settings.shape.vis.weights == Visibility::Fixed;
                let program = lower_with(&graph, settings.quant, fixed)?;
                (Some(graph), program)
            }
            ModelFormat::Zkml => {
                let zm = crate::zkml::ZkmlModel::from_bytes(&bytes, &mp.display().to_string())?;
                (None, zm.to_program(settings.quant.lookup_bits)?)
            }
        };
        let mut program = finish(program, settings.shape.vis);
        program.funcs.bits = settings.func_bits.clone();
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
            graph,
            program: Arc::new(program),
        })
    }

    /// The shape of each model input, in order.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.settings
            .inputs
            .iter()
            .map(|t| t.shape.clone())
            .collect()
    }

    /// Reads one input for this model: JSON, or a zkml `inp.msgpack`.
    pub fn read_input(&self, path: &Path) -> Result<InputData, ModelError> {
        if ModelFormat::of(path) == ModelFormat::Zkml {
            return Ok(crate::zkml::input_data(
                path,
                self.settings.quant.scale_bits,
            )?);
        }
        Ok(crate::data::read_input(path)?)
    }

    /// Whether some public input is a salted commitment (then a proof has salts to keep).
    pub fn has_hashed(&self) -> bool {
        let v = self.settings.shape.vis;
        [v.input, v.weights, v.output].contains(&Visibility::Hashed)
    }

    /// Computes the witness of one input; errors name a layer that leaves the range.
    pub fn witness(
        &self,
        input: &InputData,
        path: &Path,
        salts: Salts,
    ) -> Result<Witness, ModelError> {
        let quantized = match &self.settings.text {
            // A text model's prompt alone: the model completes it.
            Some(t) if input.input_data.len() == 1 && input.input_data[0].len() == t.prompt_len => {
                let ids = t.prompt_ids(&input.input_data[0])?;
                vec![crate::text::complete(&self.program, t, &ids)?]
            }
            _ => {
                input.check(path, &self.input_shapes())?;
                self.program.quantize_inputs(&input.input_data)
            }
        };
        let wires = self.program.eval(&quantized).map_err(|e| match (e, &self.settings.text) {
            (ProgramError::OutOfRange { node, .. }, Some(t))
                if node == trustml_onnx::greedy::CHECK_NODE =>
            {
                ModelError::Text(TextError::Prompt(format!(
                    "{}: its last {} tokens are not the model's greedy completion of its first {}; give the prompt alone and the completion is computed",
                    path.display(),
                    t.completion_len,
                    t.prompt_len
                )))
            }
            (e, _) => e.into(),
        })?;
        Ok(Witness {
            wires,
            salts,
            seller: field::Fr::zero(),
        })
    }

    /// The artifact header of this model's circuit (`circuit.json`).
    pub fn header(&self) -> ArtifactHeader {
        ArtifactHeader::new(
            KIND,
            FORMAT_VERSION,
            self.settings.digest(),
            self.settings.k,
            self.settings.num_instances,
        )
    }

    /// The circuit, with or without a witness.
    pub fn circuit(&self, witness: Option<Witness>) -> ModelCircuit {
        ModelCircuit::new(
            self.settings.shape.clone(),
            self.program.clone(),
            witness.map(Arc::new),
        )
    }

    /// Outputs of a witness: field integers and their dequantized floats.
    pub fn outputs(&self, w: &Witness) -> Vec<OutputTensor> {
        self.program
            .outputs
            .iter()
            .zip(&self.settings.outputs)
            .map(|((_, ws), info)| {
                let ints: Vec<i128> = ws.iter().map(|&x| w.wires[x as usize]).collect();
                OutputTensor {
                    name: info.name.clone(),
                    shape: info.shape.clone(),
                    values: ints
                        .iter()
                        .map(|&v| v as f64 / self.program.qp.scale())
                        .collect(),
                    field: ints.iter().map(|&v| field::to_dec(&field::fe(v))).collect(),
                }
            })
            .collect()
    }
}

pub use trustml_kit::OutputTensor;

/// Salts from a file `{"input": "0x..", "weights": "0x..", "output": "0x.."}`; classes the
/// file leaves out (or all, without a file) get fresh random salts.
pub fn read_salts(path: Option<&Path>) -> Result<Salts, ModelError> {
    #[derive(Deserialize)]
    struct SaltsFile {
        input: Option<field::FrHex>,
        weights: Option<field::FrHex>,
        output: Option<field::FrHex>,
    }
    let mut salts = random_salts();
    let Some(path) = path else { return Ok(salts) };
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let f: SaltsFile = serde_json::from_str(&text).map_err(|source| ModelError::SaltsFile {
        path: path.display().to_string(),
        source,
    })?;
    for (v, slot) in [
        (f.input, &mut salts.input),
        (f.weights, &mut salts.weights),
        (f.output, &mut salts.output),
    ] {
        if let Some(v) = v {
            *slot = v.0;
        }
    }
    Ok(salts)
}

/// Writes the salts a proof used (they open its commitments: keep the file secret).
pub fn write_salts(path: &Path, salts: &Salts) -> Result<(), ModelError> {
    let json = serde_json::json!({
        "input": field::FrHex(salts.input),
        "weights": field::FrHex(salts.weights),
        "output": field::FrHex(salts.output),
    });
    Ok(write_json(path, &json)?)
}

/// Calibration samples of `model`: JSON (`{"input_data": …}` or a list of them), or a zkml
/// `inp.msgpack` for a zkml model.
pub fn read_calibration(model: &Path, sample: &Path) -> Result<Vec<InputData>, ModelError> {
    if ModelFormat::of(sample) == ModelFormat::Zkml {
        let bytes = std::fs::read(model).map_err(io_err(model))?;
        let zm = crate::zkml::ZkmlModel::from_bytes(&bytes, &model.display().to_string())?;
        return Ok(vec![crate::zkml::input_data(sample, zm.scale_bits()?)?]);
    }
    Ok(crate::data::read_samples(sample)?)
}

/// A fresh random salt for each hashed class.
pub fn random_salts() -> Salts {
    let mut rng = rand::rngs::OsRng;
    Salts {
        input: trustml_poseidon::random_salt(&mut rng),
        weights: trustml_poseidon::random_salt(&mut rng),
        output: trustml_poseidon::random_salt(&mut rng),
    }
}
