//! The text-listing statement as a graph: a causal language model's greedy decoding,
//! checked in one forward pass.
//!
//! A causal LM maps token ids `t[0..T)` to logits `[1, T, V]`, position `i` predicting token
//! `i + 1`. For a prompt of `P` tokens and a completion of `N = T − P`, the input is
//! `prompt ‖ completion`, and the completion is the model's greedy decoding exactly when
//! `argmax(logits[P − 1 + j]) = t[P + j]` for every `j < N` (ties to the lowest id): one
//! forward pass instead of `N`, since position `P − 1 + j` only sees tokens up to it.
//! [`wrap`] appends to the model
//!
//! ```text
//! choice     = ArgMax(Slice(logits, P−1 .. T−1, axis 1), axis 2)      [1, N]
//! fed        = Slice(tokens, P .. T, axis 1)                          [1, N]
//! completion = RequireEqual(choice, fed)    (domain ai.trustml)       [1, N], the output
//! ```
//!
//! `RequireEqual` is [`crate::Op::RequireEqual`]: the circuit proves both differences
//! non-negative, so a completion that is not the greedy decoding has no witness. The float
//! evaluator passes `choice` through (it reports what the float model would choose).

use crate::error::OnnxError;
use crate::graph::Graph;
use crate::import::load_onnx_bytes;
use crate::proto::ValueInfoProto;
use crate::proto::{data_type, dimension, ModelProto, NodeProto, TensorProto};
use crate::proto::{AttributeProto, Dimension, TensorShapeProto, TypeProto, TypeProtoTensor};
use prost::Message;

/// The domain of trustml's own graph operators.
pub const DOMAIN: &str = "ai.trustml";
/// The name of the check node (errors of the quantized check name it).
pub const CHECK_NODE: &str = "greedy/check";
/// The name of the wrapped model's output.
pub const OUTPUT: &str = "completion";

/// The shape a greedy-decoding statement needs, read from the unwrapped model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LmShape {
    /// Tokens per forward pass (prompt + completion).
    pub context: usize,
    /// Vocabulary size (logits per position).
    pub vocab: usize,
}

/// Checks that `bytes` is a causal LM of one token input `[1, T]` and one logits output
/// `[1, T, V]`, and returns `T` and `V`.
pub fn lm_shape(bytes: &[u8]) -> Result<LmShape, OnnxError> {
    let g = load_onnx_bytes(bytes)?;
    lm_shape_of(&g)
}

fn lm_shape_of(g: &Graph) -> Result<LmShape, OnnxError> {
    let bad = |m: String| OnnxError::Model(format!("not a causal language model: {m}"));
    let ([i], [o]) = (&g.inputs[..], &g.outputs[..]) else {
        return Err(bad(format!(
            "it has {} inputs and {} outputs; one input (token ids [1, T]) and one output \
             (logits [1, T, V]) are needed",
            g.inputs.len(),
            g.outputs.len()
        )));
    };
    let (si, so) = (g.shape(*i), g.shape(*o));
    match (si, so) {
        ([1, t], [1, t2, v]) if t == t2 && *v >= 2 && *t >= 2 => Ok(LmShape {
            context: *t,
            vocab: *v,
        }),
        _ => Err(bad(format!(
            "input {si:?} and output {so:?}; token ids [1, T] and logits [1, T, V] are needed"
        ))),
    }
}

/// Appends the greedy-decoding check for prompts of `prompt_len` tokens to the model in
/// `bytes` and imports it. The graph's one output is `completion` (`[1, T − P]`).
pub fn wrap(bytes: &[u8], prompt_len: usize) -> Result<Graph, OnnxError> {
    let shape = lm_shape(bytes)?;
    let t = shape.context;
    if prompt_len == 0 || prompt_len >= t {
        return Err(OnnxError::Model(format!(
            "a prompt of {prompt_len} tokens leaves no completion in a context of {t}; \
             choose 1 to {}",
            t - 1
        )));
    }
    let mut model = ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let g = model
        .graph
        .as_mut()
        .ok_or_else(|| OnnxError::Model("the file contains no graph".into()))?;
    let initializers: std::collections::HashSet<&str> =
        g.initializer.iter().map(|t| t.name.as_str()).collect();
    let tokens = g
        .input
        .iter()
        .find(|v| !initializers.contains(v.name.as_str()))
        .map(|v| v.name.clone())
        .expect("lm_shape found one input");
    let logits = g.output[0].name.clone();
    let ints = |name: &str, v: i64| TensorProto {
        dims: vec![1],
        data_type: data_type::INT64,
        int64_data: vec![v],
        name: format!("greedy/{name}"),
        ..Default::default()
    };
    let (p, t) = (prompt_len as i64, t as i64);
    g.initializer.extend([
        ints("logits_from", p - 1),
        ints("logits_to", t - 1),
        ints("tokens_from", p),
        ints("tokens_to", t),
        ints("axis", 1),
    ]);
    let node =
        |op: &str, name: &str, ins: &[&str], out: &str, attrs: Vec<AttributeProto>| NodeProto {
            input: ins.iter().map(|s| s.to_string()).collect(),
            output: vec![out.into()],
            name: name.into(),
            op_type: op.into(),
            domain: if op == "RequireEqual" {
                DOMAIN.into()
            } else {
                String::new()
            },
            attribute: attrs,
        };
    let int_attr = |name: &str, i: i64| AttributeProto {
        name: name.into(),
        r#type: 2,
        i,
        ..Default::default()
    };
    let nodes: [NodeProto; 4] = [
        node(
            "Slice",
            "greedy/next_logits",
            &[
                &logits,
                "greedy/logits_from",
                "greedy/logits_to",
                "greedy/axis",
            ],
            "greedy/next_logits",
            vec![],
        ),
        node(
            "ArgMax",
            "greedy/choice",
            &["greedy/next_logits"],
            "greedy/choice",
            vec![int_attr("axis", 2), int_attr("keepdims", 0)],
        ),
        node(
            "Slice",
            "greedy/fed",
            &[
                &tokens,
                "greedy/tokens_from",
                "greedy/tokens_to",
                "greedy/axis",
            ],
            "greedy/fed",
            vec![],
        ),
        node(
            "RequireEqual",
            CHECK_NODE,
            &["greedy/choice", "greedy/fed"],
            OUTPUT,
            vec![],
        ),
    ];
    g.node.extend(nodes);
    let dim = |d: i64| Dimension {
        value: Some(dimension::Value::DimValue(d)),
    };
    g.output = vec![ValueInfoProto {
        name: OUTPUT.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TypeProtoTensor {
                elem_type: data_type::INT64,
                shape: Some(TensorShapeProto {
                    dim: vec![dim(1), dim(t - p)],
                }),
            }),
        }),
    }];
    load_onnx_bytes(&model.encode_to_vec())
}
