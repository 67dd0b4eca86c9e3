//! ONNX → [`Graph`]: static shapes, constant folding, BatchNormalization folding, op mapping.
//!
//! Everything read from the file is untrusted: malformed input yields an [`OnnxError`]
//! naming the node (name and op type) and what to do, never a panic.

use crate::error::OnnxError;
use crate::eval::numel;
use crate::fold::{self, attr_f, attr_i, attr_ints, attr_s, axes_of, Const, Kind};
use crate::graph::{Graph, Node, Op, ValueId, ValueInfo};
use crate::proto::{data_type, dimension, GraphProto, ModelProto, NodeProto};
use crate::tensor::{broadcast_shape, Tensor};
use prost::Message;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

type R<T> = Result<T, OnnxError>;

/// Reads a `.onnx` file into a [`Graph`].
pub fn load_onnx(path: &Path) -> R<Graph> {
    let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
        path: path.display().to_string(),
        source,
    })?;
    load_onnx_bytes(&bytes)
}

/// Parses serialized `ModelProto` bytes into a [`Graph`].
pub fn load_onnx_bytes(bytes: &[u8]) -> R<Graph> {
    let model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let g = model
        .graph
        .as_ref()
        .ok_or_else(|| OnnxError::Model("the file contains no graph".into()))?;
    let opset = model
        .opset_import
        .iter()
        .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .max()
        .ok_or_else(|| OnnxError::Model("no opset_import for the default ONNX domain".into()))?;
    let g0 = Graph {
        values: vec![],
        inputs: vec![],
        outputs: vec![],
        nodes: vec![],
    };
    let imp = Importer {
        opset,
        vals: HashMap::new(),
        g: g0,
        uses: HashMap::new(),
        graph_outputs: HashSet::new(),
        producer: HashMap::new(),
    };
    imp.run(g)
}

#[derive(Clone)]
enum Val {
    C(Const),
    A(ValueId),
}

/// Error context for one node.
struct Ctx<'a> {
    n: &'a NodeProto,
    name: String,
}

impl Ctx<'_> {
    fn err(&self, msg: impl std::fmt::Display) -> OnnxError {
        OnnxError::Node {
            node: format!("\"{}\" ({})", self.name, self.n.op_type),
            msg: msg.to_string(),
        }
    }
    fn unsupported(&self, hint: impl Into<String>) -> OnnxError {
        OnnxError::Unsupported {
            name: self.name.clone(),
            op_type: self.n.op_type.clone(),
            hint: hint.into(),
        }
    }
}

struct Importer {
    opset: i64,
    vals: HashMap<String, Val>,
    g: Graph,
    /// Consumers of each ONNX value name (node inputs and graph outputs).
    uses: HashMap<String, usize>,
    graph_outputs: HashSet<String>,
    /// Which emitted node produced each value (for BatchNormalization folding).
    producer: HashMap<ValueId, usize>,
}

const SUPPORTED: &str = "supported ops: Gemm, MatMul (constant right operand, or two activations), Conv, \
     ConvTranspose, Add, Sub, Mul, Div, Pow (constant exponent), Neg, Sqrt, Reciprocal, Exp, Erf, \
     Gelu, Relu, LeakyRelu, Sigmoid, Tanh, Abs, Sign, Softplus, Softsign, Elu, Selu, Celu, HardSigmoid, \
     HardSwish, Mish, Log, ThresholdedRelu, Clip (constant bounds), Floor, Ceil, Round, Sin, Cos, \
     Max, Min (element-wise), Greater, Less, GreaterOrEqual, LessOrEqual, Equal, Not, And, Or (computed \
     operands), LogSoftmax, PRelu, DepthToSpace, SpaceToDepth, Tile, CumSum, \
     InstanceNormalization, Einsum (one matrix product), ReduceMax, ReduceMin, ArgMax, ArgMin (one axis), \
     GatherElements, GatherND, ScatterND (constant indices), ReverseSequence (constant lengths), \
     ReduceProd (one axis), LRN, Sum, Mean, Size, Range (constant), \
     Softmax, ReduceMean, ReduceSum, LayerNormalization, MaxPool, \
     AveragePool, GlobalAveragePool, Resize/Upsample (nearest, integer factors), Flatten, Reshape, Identity, \
     Dropout, Cast (to float), Squeeze, Unsqueeze, Transpose, Concat, Pad, Slice, Split, Gather (constant \
     indices), Where, Expand, BatchNormalization, plus constant folding of shape \
     arithmetic and masks; replace this op in the model before export";

impl Importer {
    fn run(mut self, g: &GraphProto) -> R<Graph> {
        for t in &g.initializer {
            let c = fold::from_proto(t)
                .map_err(|e| OnnxError::Model(format!("initializer \"{}\": {e}", t.name)))?;
            self.vals.insert(t.name.clone(), Val::C(c));
        }
        for vi in &g.input {
            if self.vals.contains_key(&vi.name) {
                continue; // an initializer also listed as input (older exporters)
            }
            let shape = input_shape(vi)?;
            let id = self.push_value(vi.name.clone(), shape);
            self.g.inputs.push(id);
            self.vals.insert(vi.name.clone(), Val::A(id));
        }
        for n in &g.node {
            for i in n.input.iter().filter(|i| !i.is_empty()) {
                *self.uses.entry(i.clone()).or_default() += 1;
            }
        }
        for o in &g.output {
            *self.uses.entry(o.name.clone()).or_default() += 1;
            self.graph_outputs.insert(o.name.clone());
        }
        let avail: HashSet<&str> = self.vals.keys().map(|s| s.as_str()).collect();
        for idx in topo_order(g, &avail)? {
            self.node(&g.node[idx], idx)?;
        }
        for o in &g.output {
            match self.vals.get(&o.name) {
                Some(Val::A(id)) => self.g.outputs.push(*id),
                Some(Val::C(_)) => {
                    return Err(OnnxError::Model(format!(
                        "graph output \"{}\" is a constant (it does not depend on any input)",
                        o.name
                    )))
                }
                None => {
                    return Err(OnnxError::Model(format!(
                        "graph output \"{}\" is never produced",
                        o.name
                    )))
                }
            }
        }
        if self.g.outputs.is_empty() {
            return Err(OnnxError::Model("the graph has no outputs".into()));
        }
        Ok(self.g)
    }

    fn push_value(&mut self, name: String, shape: Vec<usize>) -> ValueId {
        self.g.values.push(ValueInfo { name, shape });
        self.g.values.len() - 1
    }

    fn emit(
        &mut self,
        cx: &Ctx,
        value: &str,
        op: Op,
        inputs: Vec<ValueId>,
        shape: Vec<usize>,
    ) -> R<ValueId> {
        if numel(&shape).is_none() || shape.contains(&0) {
            return Err(cx.err(format!("output shape {shape:?} is empty or too large")));
        }
        let id = self.push_value(value.to_string(), shape);
        self.producer.insert(id, self.g.nodes.len());
        self.g.nodes.push(Node {
            name: cx.name.clone(),
            op,
            inputs,
            output: id,
        });
        Ok(id)
    }

    fn shape(&self, id: ValueId) -> Vec<usize> {
        self.g.values[id].shape.clone()
    }

    fn node(&mut self, n: &NodeProto, idx: usize) -> R<()> {
        let name = if n.name.is_empty() {
            format!("{}#{idx}", n.op_type)
        } else {
            n.name.clone()
        };
        let cx = Ctx { n, name };
        let ours = n.domain == crate::greedy::DOMAIN && n.op_type == "RequireEqual";
        if !(n.domain.is_empty() || n.domain == "ai.onnx" || ours) {
            return Err(cx.unsupported(format!(
                "ops of domain \"{}\" are not supported (onnxruntime's fused ops come from its \
                 graph optimizations: export standard ONNX without them); {SUPPORTED}",
                n.domain
            )));
        }
        let out = n
            .output
            .first()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| cx.err("the node has no output"))?;
        let ins: Vec<Option<Val>> = n.input.iter().map(|i| self.vals.get(i).cloned()).collect();
        if n.op_type == "Split" {
            // Several outputs: one Slice (or folded constant) each.
            return self.split(&cx, &ins);
        }
        let val = if n.op_type == "Constant" {
            Val::C(fold::constant_node(n).map_err(|e| cx.err(e))?)
        } else if n.op_type == "Size" {
            // Static shapes: the element count is a constant too.
            let s = match ins.first() {
                Some(Some(Val::A(id))) => self.shape(*id),
                Some(Some(Val::C(c))) => c.t.shape.clone(),
                _ => return Err(cx.err("missing input")),
            };
            Val::C(Const {
                t: Tensor {
                    shape: vec![],
                    data: vec![s.iter().product::<usize>() as f64],
                },
                kind: Kind::Int,
            })
        } else if n.op_type == "Shape" {
            // Shapes are static, so Shape of an activation is a constant too.
            let s = match ins.first() {
                Some(Some(Val::A(id))) => self.shape(*id),
                Some(Some(Val::C(c))) => c.t.shape.clone(),
                _ => return Err(cx.err("missing input")),
            };
            let r = s.len() as i64;
            let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
            let (a, b) = (clamp(attr_i(n, "start", 0)), clamp(attr_i(n, "end", r)));
            let dims: Vec<f64> = s
                .get(a..b.max(a))
                .unwrap_or(&[])
                .iter()
                .map(|&d| d as f64)
                .collect();
            Val::C(Const {
                t: Tensor {
                    shape: vec![dims.len()],
                    data: dims,
                },
                kind: Kind::Int,
            })
        } else if ins.iter().any(Option::is_some)
            && !ins.iter().any(|v| matches!(v, Some(Val::A(_))))
        {
            let cs: Vec<Option<&Const>> = ins
                .iter()
                .map(|v| {
                    if let Some(Val::C(c)) = v {
                        Some(c)
                    } else {
                        None
                    }
                })
                .collect();
            Val::C(fold::fold(n, &cs, self.opset).map_err(|e| cx.err(e))?)
        } else {
            Val::A(self.map(&cx, &ins, out)?)
        };
        for (k, o) in n.output.iter().enumerate().skip(1) {
            if !o.is_empty() && self.uses.get(o).copied().unwrap_or(0) > 0 {
                return Err(cx.err(format!(
                    "output #{k} \"{o}\" is used, but only the first output is supported"
                )));
            }
        }
        self.vals.insert(out.clone(), val);
        Ok(())
    }

    /// Maps one node with at least one activation input onto IR nodes; returns its output.
    fn map(&mut self, cx: &Ctx, ins: &[Option<Val>], out: &str) -> R<ValueId> {
        let n = cx.n;
        let act = |i: usize| -> R<ValueId> {
            match ins.get(i) {
                Some(Some(Val::A(id))) => Ok(*id),
                Some(Some(Val::C(_))) => Err(cx.err(format!(
                    "input #{i} is a constant; only an activation is supported there"
                ))),
                _ => Err(cx.err(format!("required input #{i} is missing"))),
            }
        };
        let cst = |i: usize| -> R<Option<&Const>> {
            match ins.get(i) {
                Some(Some(Val::C(c))) => Ok(Some(c)),
                Some(Some(Val::A(_))) => Err(cx
                    .err(format!("input #{i} must be a constant (an initializer), not computed from the model input"))),
                _ => Ok(None),
            }
        };
        let need = |i: usize| -> R<&Const> {
            cst(i)?.ok_or_else(|| cx.err(format!("required input #{i} is missing")))
        };
        let same = |op: Op, me: &mut Self| -> R<ValueId> {
            let x = act(0)?;
            let s = me.shape(x);
            me.emit(cx, out, op, vec![x], s)
        };
        let e = |r: Result<Vec<usize>, String>| r.map_err(|m| cx.err(m));
        if let Some(u) = crate::Unary::from_node(n) {
            return same(Op::Unary(u), self);
        }
        match n.op_type.as_str() {
            "Relu" => same(Op::Relu, self),
            "Clip" => {
                // Bounds: inputs 1 and 2 since opset 11, attributes before; absent = unbounded
                // (f32::MAX, not infinity: settings files are JSON).
                let bound = |i: usize, attr: &str, default: f32| -> R<f32> {
                    Ok(match cst(i)? {
                        Some(c) if c.t.data.len() == 1 => c.t.data[0] as f32,
                        Some(_) => {
                            return Err(cx.err(format!("Clip's input #{i} must be a scalar")))
                        }
                        None => n
                            .attribute
                            .iter()
                            .find(|a| a.name == attr)
                            .map_or(default, |a| a.f),
                    })
                };
                let (min, max) = (bound(1, "min", f32::MIN)?, bound(2, "max", f32::MAX)?);
                if min > max {
                    return Err(cx.err(format!("Clip's min {min} is above its max {max}")));
                }
                same(Op::Unary(crate::Unary::Clip { min, max }), self)
            }
            "Sigmoid" => same(Op::Sigmoid, self),
            "Tanh" => same(Op::Tanh, self),
            "LeakyRelu" => same(
                Op::LeakyRelu {
                    alpha: attr_f(n, "alpha", 0.01),
                },
                self,
            ),
            "Identity" | "Dropout" => same(Op::Reshape, self),
            "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => {
                let x = act(0)?;
                let s = self.shape(x);
                let cs = [None, cst(1)?];
                let shape = match n.op_type.as_str() {
                    "Flatten" => e(fold::flatten_shape(&s, attr_i(n, "axis", 1)))?,
                    "Reshape" => {
                        let spec = if self.opset < 5 {
                            attr_ints(n, "shape")
                                .ok_or_else(|| cx.err("missing shape attribute"))?
                        } else {
                            need(1)?.ints().map_err(|m| cx.err(m))?
                        };
                        e(fold::reshape_shape(
                            &s,
                            &spec,
                            attr_i(n, "allowzero", 0) != 0,
                        ))?
                    }
                    "Squeeze" => e(fold::squeeze_shape(
                        &s,
                        axes_of(n, &cs, 1).map_err(|m| cx.err(m))?.as_deref(),
                    ))?,
                    _ => {
                        let axes = axes_of(n, &cs, 1)
                            .map_err(|m| cx.err(m))?
                            .ok_or_else(|| cx.err("missing axes"))?;
                        e(fold::unsqueeze_shape(&s, &axes))?
                    }
                };
                self.emit(cx, out, Op::Reshape, vec![x], shape)
            }
            "Transpose" => {
                let x = act(0)?;
                let s = self.shape(x);
                let perm: Vec<usize> = match attr_ints(n, "perm") {
                    Some(p) => p
                        .iter()
                        .map(|&a| usize::try_from(a).unwrap_or(usize::MAX))
                        .collect(),
                    None => (0..s.len()).rev().collect(),
                };
                let mut sorted = perm.clone();
                sorted.sort_unstable();
                if sorted != (0..s.len()).collect::<Vec<_>>() {
                    return Err(cx.err(format!(
                        "perm {perm:?} is not a permutation of 0..{}",
                        s.len()
                    )));
                }
                let shape = perm.iter().map(|&p| s[p]).collect();
                self.emit(cx, out, Op::Transpose { perm }, vec![x], shape)
            }
            "Concat" => {
                let xs = (0..ins.len())
                    .map(|i| match &ins[i] {
                        Some(Val::C(_)) => Err(cx.unsupported(
                            "Concat with a constant operand is not supported; concatenate activations only",
                        )),
                        _ => act(i),
                    })
                    .collect::<R<Vec<_>>>()?;
                let first = self.shape(*xs.first().ok_or_else(|| cx.err("no inputs"))?);
                let axis =
                    fold::norm_axis(attr_i(n, "axis", 0), first.len()).map_err(|m| cx.err(m))?;
                let mut shape = first.clone();
                shape[axis] = 0;
                for &x in &xs {
                    let s = self.shape(x);
                    if s.len() != first.len() || (0..s.len()).any(|d| d != axis && s[d] != first[d])
                    {
                        return Err(cx.err(format!(
                            "cannot concatenate shapes {first:?} and {s:?} on axis {axis}"
                        )));
                    }
                    shape[axis] += s[axis];
                }
                self.emit(cx, out, Op::Concat { axis }, xs, shape)
            }
            "Add" | "Sub" | "Mul" | "Div" => self.arith(cx, ins, out),
            "Max" | "Min" => self.min_max(cx, ins, out),
            "Greater" | "Less" | "GreaterOrEqual" | "LessOrEqual" | "Equal" => {
                self.compare(cx, ins, out)
            }
            "Not" | "And" | "Or" => self.logic(cx, ins, out),
            "LogSoftmax" => self.log_softmax(cx, ins, out),
            "PRelu" => self.prelu(cx, ins, out),
            "DepthToSpace" | "SpaceToDepth" => self.depth_space(cx, ins, out),
            "Tile" => self.tile(cx, ins, out),
            "CumSum" => self.cumsum(cx, ins, out),
            "InstanceNormalization" => self.instance_norm(cx, ins, out),
            "Einsum" => self.einsum(cx, ins, out),
            "ReduceMax" | "ReduceMin" | "ReduceProd" => self.reduce_extreme(cx, ins, out),
            "ReverseSequence" => self.reverse_sequence(cx, ins, out),
            "ScatterND" => self.scatter_nd(cx, ins, out),
            "ArgMax" | "ArgMin" => self.arg_extreme(cx, ins, out),
            "GatherElements" | "GatherND" => self.gather_flat(cx, ins, out),
            "LRN" => self.lrn(cx, ins, out),
            "Gemm" => self.gemm(cx, ins, out),
            "Conv" => self.conv(cx, ins, out),
            "MaxPool" | "AveragePool" => self.pool(cx, ins, out),
            "GlobalAveragePool" => {
                let x = act(0)?;
                let mut s = self.shape(x);
                if s.len() < 3 {
                    return Err(cx.err(format!("input must be [N, C, spatial...], got {s:?}")));
                }
                s[2..].iter_mut().for_each(|d| *d = 1);
                self.emit(cx, out, Op::GlobalAvgPool, vec![x], s)
            }
            "Pad" => self.pad(cx, ins, out),
            "BatchNormalization" => self.batch_norm(cx, ins, out),
            "Gather" => self.gather(cx, ins, out),
            "MatMul" => self.matmul(cx, ins, out),
            "Softmax" => self.softmax(cx, ins, out),
            "ReduceMean" | "ReduceSum" => self.reduce(cx, ins, out),
            "Sqrt" => same(Op::Sqrt, self),
            "Reciprocal" => same(Op::Reciprocal, self),
            "Exp" => same(Op::Exp, self),
            "Erf" => same(Op::Erf, self),
            "Neg" => same(
                Op::MulConst {
                    c: Tensor::new(vec![], vec![-1.0]),
                },
                self,
            ),
            "Pow" => self.pow(cx, ins, out),
            "Gelu" => self.gelu(cx, ins, out),
            "LayerNormalization" => self.layer_norm(cx, ins, out),
            "Cast" => self.cast(cx, ins, out),
            "Slice" => self.slice(cx, ins, out),
            "Where" => self.where_op(cx, ins, out),
            "Sum" | "Mean" => self.sum_mean(cx, ins, out),
            "RequireEqual" if n.domain == crate::greedy::DOMAIN => {
                let (a, b) = (act(0)?, act(1)?);
                let s = self.shape(a);
                if self.shape(b) != s {
                    return Err(cx.err("RequireEqual takes two tensors of one shape"));
                }
                self.emit(cx, out, Op::RequireEqual, vec![a, b], s)
            }
            "Expand" => self.expand(cx, ins, out),
            "Resize" | "Upsample" => self.resize(cx, ins, out),
            "ConvTranspose" => self.conv_transpose(cx, ins, out),
            op => Err(cx.unsupported(match refusal(op) {
                Some(why) => format!("{why}; {SUPPORTED}"),
                None => SUPPORTED.to_string(),
            })),
        }
    }
}

/// Why an op of onnxruntime's mobile set is not proven, and what to export instead.
fn refusal(op: &str) -> Option<&'static str> {
    Some(match op {
        "If" | "Loop" | "Scan" => {
            "control flow cannot be a fixed circuit: export a static graph (unrolled loops, one branch)"
        }
        "NonZero" | "Unique" | "NonMaxSuppression" => {
            "its output shape depends on the data, and a circuit's shapes are fixed"
        }
        "TopK" => "sorting is not supported; for k = 1 use ArgMax (and ReduceMax)",
        "QuantizeLinear" | "DequantizeLinear" | "DynamicQuantizeLinear" | "MatMulInteger"
        | "QLinearConv" | "QLinearMatMul" | "ConvInteger" => {
            "a quantized graph: export the float32 model; trustml quantizes it itself"
        }
        _ => return None,
    })
}

/// Static shape of a graph input: a symbolic leading (batch) dim becomes 1.
fn input_shape(vi: &crate::proto::ValueInfoProto) -> R<Vec<usize>> {
    let bad = |msg: String| OnnxError::Input {
        input: vi.name.clone(),
        msg,
    };
    let tt = vi
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| bad("is not a tensor".into()))?;
    // Integer inputs (token ids, class indices) are numbers like any other: quantized exactly.
    if !matches!(
        tt.elem_type,
        data_type::FLOAT | data_type::INT64 | data_type::INT32
    ) {
        return Err(bad(format!(
            "has element type {}; only float32, int64 and int32 inputs are supported",
            tt.elem_type
        )));
    }
    let sh = tt
        .shape
        .as_ref()
        .ok_or_else(|| bad("has no shape; export the model with static input shapes".into()))?;
    let mut shape = Vec::with_capacity(sh.dim.len());
    for (i, d) in sh.dim.iter().enumerate() {
        shape.push(match &d.value {
            Some(dimension::Value::DimValue(v)) if *v > 0 => *v as usize,
            Some(dimension::Value::DimValue(v)) if *v < 0 || i > 0 => {
                return Err(bad(format!("dimension {i} has invalid size {v}")));
            }
            _ if i == 0 => 1, // symbolic batch dimension: prove one sample at a time
            _ => {
                return Err(bad(format!(
                    "dimension {i} is symbolic; only the batch dimension (0) may be dynamic. \
                     Export with static shapes (e.g. torch.onnx.export without dynamic_axes for this dim)"
                )))
            }
        });
    }
    if numel(&shape).is_none() {
        return Err(bad(format!("shape {shape:?} is too large")));
    }
    Ok(shape)
}

/// Kahn's topological order of the ONNX nodes; errors on missing tensors and cycles.
fn topo_order(g: &GraphProto, avail: &HashSet<&str>) -> R<Vec<usize>> {
    let label = |n: &NodeProto, i: usize| {
        format!(
            "\"{}\" ({})",
            if n.name.is_empty() {
                format!("{}#{i}", n.op_type)
            } else {
                n.name.clone()
            },
            n.op_type
        )
    };
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in g.node.iter().enumerate() {
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if avail.contains(o.as_str()) || producer.insert(o, i).is_some() {
                return Err(OnnxError::Node {
                    node: label(n, i),
                    msg: format!("value \"{o}\" is defined twice"),
                });
            }
        }
    }
    let mut indeg = vec![0usize; g.node.len()];
    let mut consumers = vec![Vec::new(); g.node.len()];
    for (i, n) in g.node.iter().enumerate() {
        for inp in n.input.iter().filter(|s| !s.is_empty()) {
            if let Some(&p) = producer.get(inp.as_str()) {
                indeg[i] += 1;
                consumers[p].push(i);
            } else if !avail.contains(inp.as_str()) {
                return Err(OnnxError::Node {
                    node: label(n, i),
                    msg: format!("input tensor \"{inp}\" is not a graph input, an initializer or any node's output"),
                });
            }
        }
    }
    let mut queue: VecDeque<usize> = (0..g.node.len()).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(g.node.len());
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for &c in &consumers[i] {
            indeg[c] -= 1;
            if indeg[c] == 0 {
                queue.push_back(c);
            }
        }
    }
    if order.len() != g.node.len() {
        let i = (0..g.node.len()).find(|&i| indeg[i] > 0).unwrap_or(0);
        return Err(OnnxError::Node {
            node: label(&g.node[i], i),
            msg: "the graph has a cycle".into(),
        });
    }
    Ok(order)
}

// The larger op mappings (arithmetic, Gemm, Conv, pooling, Pad, BatchNormalization).
mod ops;
// Resize / Upsample, ConvTranspose.
mod ops_nn;
// MatMul, Softmax, reductions, Pow, LayerNormalization, Slice, Split, Gather, Where...
mod ops_tf;
// LogSoftmax, PRelu, DepthToSpace/SpaceToDepth, Tile, CumSum, InstanceNormalization, Einsum.
mod ops_more;

/// Reads an attribute's raw string (e.g. `auto_pad`, `mode`).
fn attr_str(n: &NodeProto, name: &str, default: &str) -> String {
    attr_s(n, name)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Broadcast shape of two values, or an error naming the node.
fn bcast(cx: &Ctx, a: &[usize], b: &[usize]) -> R<Vec<usize>> {
    broadcast_shape(a, b).ok_or_else(|| cx.err(format!("shapes {a:?} and {b:?} do not broadcast")))
}
