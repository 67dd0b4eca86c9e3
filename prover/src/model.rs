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
use crate::program::{lower, Instr, Program, ProgramError};
use crate::quant::QuantParams;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;
use trustml_onnx::{eval, load_onnx_bytes, Graph, OnnxError, Tensor};

/// Version of the directory layout and of every file trustml writes into it.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error(transparent)]
    Program(#[from] ProgramError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a trustml settings file ({source}); run `trustml compile` to make one")]
    Settings {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path} was written by format version {found}, this trustml reads version {FORMAT_VERSION}; recompile the model")]
    Version { path: String, found: u32 },
    #[error("{dir}/model.onnx does not match the hash in settings.json (it was changed after compiling); run `trustml compile` again")]
    ModelChanged { dir: String },
    #[error("invalid option: {0}")]
    Option(String),
    #[error("calibration: {0}")]
    Calibration(String),
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

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
}

/// How well the quantized model tracks the float one on the calibration samples.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CalibrationReport {
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
}

/// Everything the keys depend on, plus reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub format_version: u32,
    #[serde(default)]
    pub format: ModelFormat,
    /// Keccak-256 of model.onnx.
    pub model_keccak: String,
    pub quant: QuantParams,
    /// Lookup domain bits per function tag (see `FuncSet::bits`).
    #[serde(default)]
    pub func_bits: Vec<u32>,
    pub shape: CircuitShape,
    pub k: u32,
    pub rows: RowPlan,
    pub num_instances: usize,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    #[serde(default)]
    pub calibration: Option<CalibrationReport>,
}

impl Settings {
    /// Keccak-256 over what the circuit depends on; written into keys and proofs.
    pub fn digest(&self) -> [u8; 32] {
        let pinned = serde_json::json!({
            "format_version": self.format_version,
            "format": self.format,
            "model_keccak": self.model_keccak,
            "quant": self.quant,
            "func_bits": self.func_bits,
            "shape": self.shape,
            "k": self.k,
            "num_instances": self.num_instances,
        });
        Keccak256::digest(pinned.to_string().as_bytes()).into()
    }

    pub fn digest_hex(&self) -> String {
        format!("0x{}", hex::encode(self.digest()))
    }
}

/// Options of `trustml compile`.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    pub vis: Visibilities,
    /// Fractional bits; `None` lets calibration choose.
    pub scale_bits: Option<u32>,
    /// Lookup domain bits; `None` lets calibration choose.
    pub lookup_bits: Option<u32>,
    /// Extra bits of lookup range beyond what the calibration samples reach.
    pub headroom_bits: u32,
    pub dot_width: Option<usize>,
    pub lanes: Option<usize>,
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
        }
    }
}

/// A model ready to prove: its settings, graph and lowered program.
#[derive(Clone, Debug)]
pub struct CompiledModel {
    pub dir: PathBuf,
    pub settings: Settings,
    /// The imported graph (ONNX models only).
    pub graph: Option<Graph>,
    pub program: Arc<Program>,
}

fn keccak_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(Keccak256::digest(bytes)))
}

/// Largest |lookup input| the witness exercises.
/// Largest |lookup input| the witness exercises (and where), and per function tag in
/// `per_tag`.
fn lookup_extent(p: &Program, wires: &[i128], per_tag: &mut Vec<i128>) -> (i128, String) {
    let mut m = (0i128, String::new());
    per_tag.resize(p.funcs.funcs.len(), 0);
    for ins in &p.instrs {
        if let Instr::Lookup {
            input,
            rescale,
            wide: false,
            node,
            tag,
            ..
        } = ins
        {
            let v = wires[*input as usize];
            let q = if *rescale {
                crate::quant::rescale(v, p.qp.scale_bits).0
            } else {
                v
            };
            let e = if q < 0 { -q - 1 } else { q };
            per_tag[*tag as usize] = per_tag[*tag as usize].max(e);
            if e > m.0 {
                let name = p.node_names[(*node as usize).min(p.node_names.len() - 1)].clone();
                m = (e, name);
            }
        }
    }
    m
}

/// Domain bits per function: what calibration saw plus headroom, at most `cap`.
fn tag_bits(per_tag: &[i128], headroom: u32, cap: u32) -> Vec<u32> {
    per_tag
        .iter()
        .map(|&e| (bits_for(e) + headroom).clamp(2, cap))
        .collect()
}

/// Bits `B` so that `[-2^(B-1), 2^(B-1))` holds `[-m-1, m]`.
fn bits_for(m: i128) -> u32 {
    let mut b = 1;
    while (1i128 << (b - 1)) <= m {
        b += 1;
    }
    b
}

/// Smallest `k` that fits the plan, with the blinding rows halo2 needs.
pub fn k_for(plan: &RowPlan, shape: &CircuitShape) -> u32 {
    let mut cs = ConstraintSystem::<Fr>::default();
    let _ = ModelCircuit::configure_with_params(&mut cs, shape.clone());
    let need = plan.usable() + cs.minimum_rows();
    let mut k = 4;
    while (1usize << k) < need {
        k += 1;
    }
    k
}

/// A rough cost figure to compare layouts. Proving work grows with committed columns ×
/// rows; on-chain verification pays ~6k gas per commitment whatever the rows, which the
/// constant term stands for, so small models stay narrow (cheap to verify) and large ones
/// go wide (fast to prove).
fn layout_cost(shape: &CircuitShape, k: u32) -> u64 {
    let n = shape.grid_width() as u64;
    let lookups = shape.lanes as u64;
    let committed = n + 3 * lookups + (n + 2).div_ceil(3);
    committed * ((1u64 << k) + (1 << 13))
}

/// The cheapest dot width and lane count for `program` (or the ones the options fix).
fn best_layout(
    program: &Program,
    s: u32,
    opts: &CompileOptions,
) -> Result<(u64, CircuitShape, RowPlan), ModelError> {
    let widths: Vec<usize> = opts.dot_width.map_or(vec![4, 8, 16, 32], |w| vec![w]);
    let lanes: Vec<usize> = opts.lanes.map_or(vec![1, 2, 4], |l| vec![l]);
    let mut best: Option<(u64, CircuitShape, RowPlan)> = None;
    for &w in &widths {
        for &l in &lanes {
            if w == 0 || l == 0 {
                return Err(ModelError::Option(
                    "--dot-width and --lanes must be at least 1".into(),
                ));
            }
            let shape = CircuitShape {
                dot_width: w,
                lanes: l,
                scale_bits: s,
                vis: opts.vis,
                act_dot: program.has_activation_products(),
                arith: program
                    .instrs
                    .iter()
                    .any(|i| matches!(i, Instr::Arith { .. })),
                div: program
                    .instrs
                    .iter()
                    .any(|i| matches!(i, Instr::DivRound { .. })),
            };
            let plan = RowPlan::new(program, &shape);
            let cost = layout_cost(&shape, k_for(&plan, &shape));
            if best.as_ref().is_none_or(|b| cost < b.0) {
                best = Some((cost, shape, plan));
            }
        }
    }
    Ok(best.expect("at least one layout"))
}

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold(0, |best, (i, &x)| if x > v[best] { i } else { best })
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
        if ModelFormat::of(onnx) == ModelFormat::Zkml {
            return Self::compile_zkml(onnx, &bytes, samples, opts, out_dir);
        }
        let graph = load_onnx_bytes(&bytes)?;
        let shapes: Vec<Vec<usize>> = graph
            .inputs
            .iter()
            .map(|&v| graph.shape(v).to_vec())
            .collect();
        for s in samples {
            s.check(Path::new("calibration input"), &shapes)?;
        }
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
            let probe = lower(
                &graph,
                QuantParams {
                    scale_bits: s,
                    lookup_bits: 60,
                },
            )?;
            let mut extent = 0;
            let mut per_tag = vec![];
            let mut report = CalibrationReport {
                samples: samples.len(),
                ..Default::default()
            };
            for (sample, fl) in samples.iter().zip(&floats) {
                let w = probe.eval(&probe.quantize_inputs(&sample.input_data))?;
                let (e, node) = lookup_extent(&probe, &w, &mut per_tag);
                if e > extent {
                    extent = e;
                    report.widest_layer = node;
                }
                let outs = probe.output_values(&w);
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
            let mut program = lower(&graph, qp)?;
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
        let settings = Settings {
            format_version: FORMAT_VERSION,
            format: ModelFormat::Onnx,
            model_keccak: keccak_hex(&bytes),
            quant: program.qp,
            func_bits: program.funcs.bits.clone(),
            shape,
            k,
            rows,
            num_instances: num_instances(&program, &opts.vis),
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
        let sp = out_dir.join("settings.json");
        write_atomic(
            &sp,
            serde_json::to_string_pretty(&settings)
                .expect("settings serialize")
                .as_bytes(),
        )?;
        Ok(Self {
            dir: out_dir.to_path_buf(),
            settings,
            graph,
            program: Arc::new(program),
        })
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
        let probe = zm.to_program(60)?;
        let mut report = CalibrationReport {
            samples: samples.len(),
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
        let mut program = zm.to_program(lookup_bits)?;
        if opts.lookup_bits.is_none() && program.funcs.funcs == probe.funcs.funcs {
            program.funcs.bits = tag_bits(&per_tag, opts.headroom_bits, lookup_bits);
        }
        let (_, shape, rows) = best_layout(&program, s, opts)?;
        let k = k_for(&rows, &shape);
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
            num_instances: num_instances(&program, &opts.vis),
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
                let graph = load_onnx_bytes(&bytes)?;
                let program = lower(&graph, settings.quant)?;
                (Some(graph), program)
            }
            ModelFormat::Zkml => {
                let zm = crate::zkml::ZkmlModel::from_bytes(&bytes, &mp.display().to_string())?;
                (None, zm.to_program(settings.quant.lookup_bits)?)
            }
        };
        let mut program = program;
        program.funcs.bits = settings.func_bits.clone();
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
            graph,
            program: Arc::new(program),
        })
    }

    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.settings
            .inputs
            .iter()
            .map(|t| t.shape.clone())
            .collect()
    }

    /// Computes the witness of one input; errors name a layer that leaves the range.
    pub fn witness(
        &self,
        input: &InputData,
        path: &Path,
        salts: Salts,
    ) -> Result<Witness, ModelError> {
        input.check(path, &self.input_shapes())?;
        let wires = self
            .program
            .eval(&self.program.quantize_inputs(&input.input_data))?;
        Ok(Witness { wires, salts })
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
                    field: ints
                        .iter()
                        .map(|&v| crate::chips::fe(v))
                        .map(|f| crate::proof::fr_to_dec(&f))
                        .collect(),
                }
            })
            .collect()
    }
}

/// A proven output tensor, as written in a proof file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OutputTensor {
    pub name: String,
    pub shape: Vec<usize>,
    /// Dequantized values.
    pub values: Vec<f64>,
    /// The field elements the proof fixes, as decimal strings (negatives wrap mod r).
    pub field: Vec<String>,
}

/// Writes via a temporary file and a rename, so an existing file is never half-written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, bytes).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
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

pub type Fe = Fr;
