#!/usr/bin/env python3
"""Models for the onnxruntime differential test that make_test_models.py does not make:
attention on a 4-D input (heads already split) with two stacked layers, at opset 13 and at
opset 11 with an explicit axis, opset-11 Softmax over a non-last axis (which coerces the
input to 2-D), every element-wise function trustml proves by lookup (with Max/Min), comparisons and
Where on computed values, and the reshaping and summing ops (DepthToSpace, Tile, CumSum…). Then regenerates every reference in ort/ (needs onnx, onnxruntime, numpy):

    python3 prover/onnx/tests/data/make_ort_cases.py
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
rng = np.random.default_rng(3)


def attention4d(opset, softmax_axis):
    nodes, inits, x = [], [], "x"
    for l in range(2):
        for nm in "qkv":
            w = (rng.standard_normal((4, 4)) * 0.7).astype(np.float32)
            inits.append(nh.from_array(w, f"w{nm}{l}"))
            nodes.append(h.make_node("MatMul", [x, f"w{nm}{l}"], [f"{nm}{l}"]))
        nodes.append(h.make_node("Transpose", [f"k{l}"], [f"kt{l}"], perm=[0, 1, 3, 2]))
        nodes.append(h.make_node("MatMul", [f"q{l}", f"kt{l}"], [f"s{l}"]))
        inits.append(nh.from_array(np.array(2.0, np.float32), f"d{l}"))
        nodes.append(h.make_node("Div", [f"s{l}", f"d{l}"], [f"sd{l}"]))
        nodes.append(h.make_node("Softmax", [f"sd{l}"], [f"p{l}"], axis=softmax_axis))
        nodes.append(h.make_node("MatMul", [f"p{l}", f"v{l}"], [f"c{l}"]))
        nodes.append(h.make_node("Add", [f"c{l}", x], [f"y{l}"]))
        x = f"y{l}"
    g = h.make_graph(nodes, "attention4d", [h.make_tensor_value_info("x", T.FLOAT, [1, 4, 8, 4])],
                     [h.make_tensor_value_info(x, T.FLOAT, None)], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid("", opset)]), 128


def softmax_coerced():
    n = h.make_node("Softmax", ["x"], ["y"])  # opset 11 default axis 1: over axes 1.. flattened
    g = h.make_graph([n], "softmax_coerced", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 4, 5])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 11)]), 60


def unary_ops():
    """Every element-wise function trustml proves by lookup, plus Max/Min, at opset 18."""
    ops = [("Abs", {}), ("Sign", {}), ("Softplus", {}), ("Softsign", {}), ("Elu", {"alpha": 0.7}),
           ("Selu", {}), ("Celu", {"alpha": 1.5}), ("HardSigmoid", {}), ("HardSwish", {}), ("Mish", {}),
           ("ThresholdedRelu", {}), ("Floor", {}), ("Ceil", {}), ("Round", {}), ("Sin", {}), ("Cos", {})]
    nodes = [h.make_node(op, ["x"], [op], **kw) for op, kw in ops]
    nodes.append(h.make_node("Log", ["Abs"], ["Log"]))
    nodes.append(h.make_node("Clip", ["x", "lo", "hi"], ["Clip"]))
    nodes.append(h.make_node("Max", ["Sin", "Cos"], ["Max"]))
    nodes.append(h.make_node("Min", ["x", "lo"], ["Min"]))
    names = [op for op, _ in ops] + ["Log", "Clip", "Max", "Min"]
    nodes.append(h.make_node("Concat", names, ["y"], axis=1))
    inits = [nh.from_array(np.array(-1.0, np.float32), "lo"), nh.from_array(np.array(0.5, np.float32), "hi")]
    g = h.make_graph(nodes, "unary_ops", [h.make_tensor_value_info("x", T.FLOAT, [1, 12])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid("", 18)]), 12


def compare_where():
    """Comparisons, logic and Where on computed values (inputs chosen away from the ties)."""
    f = lambda name, v: nh.from_array(np.array(v, np.float32), name)
    nodes = [
        h.make_node("Cos", ["x"], ["c"]),
        h.make_node("Greater", ["x", "c"], ["gt"]),
        h.make_node("LessOrEqual", ["x", "q"], ["le"]),
        h.make_node("Round", ["x"], ["r"]),
        h.make_node("Equal", ["r", "zero"], ["eq"]),
        h.make_node("Not", ["eq"], ["ne"]),
        h.make_node("And", ["gt", "ne"], ["both"]),
        h.make_node("Or", ["le", "eq"], ["any"]),
        h.make_node("Where", ["gt", "x", "c"], ["w1"]),
        h.make_node("Where", ["both", "hi", "lo"], ["w2"]),
        h.make_node("Where", ["any", "x", "two"], ["w3"]),
    ]
    bools = ["gt", "le", "eq", "ne", "both", "any"]
    nodes += [h.make_node("Cast", [b], [b + "_f"], to=T.FLOAT) for b in bools]
    nodes.append(h.make_node("Concat", [b + "_f" for b in bools] + ["w1", "w2", "w3"], ["y"], axis=1))
    inits = [f("q", 0.25), f("zero", 0.0), f("hi", 1.5), f("lo", -0.5), f("two", 2.0)]
    g = h.make_graph(nodes, "compare_where", [h.make_tensor_value_info("x", T.FLOAT, [1, 8])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    x = [-2.1, -1.3, -0.7, -0.2, 0.3, 0.9, 1.6, 2.4]
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), x


def moves_and_sums():
    """DepthToSpace (DCR, CRD), SpaceToDepth, Tile, CumSum (plain; exclusive + reverse), PRelu
    (per channel) and LogSoftmax, each flattened, concatenated."""
    f = lambda name, v: nh.from_array(np.array(v, np.float32), name)
    i64 = lambda name, v: nh.from_array(np.array(v, np.int64), name)
    nodes = [
        h.make_node("DepthToSpace", ["x"], ["d2s"], blocksize=2),
        h.make_node("DepthToSpace", ["x"], ["d2s_crd"], blocksize=2, mode="CRD"),
        h.make_node("SpaceToDepth", ["d2s"], ["s2d"], blocksize=2),
        h.make_node("Tile", ["x", "reps"], ["tile"]),
        h.make_node("CumSum", ["x", "ax1"], ["cs"]),
        h.make_node("CumSum", ["x", "axlast"], ["cs_rev"], exclusive=1, reverse=1),
        h.make_node("PRelu", ["x", "slope"], ["prelu"]),
        h.make_node("LogSoftmax", ["x"], ["lsm"], axis=-1),
    ]
    outs = ["d2s", "d2s_crd", "s2d", "tile", "cs", "cs_rev", "prelu", "lsm"]
    nodes += [h.make_node("Flatten", [o], [o + "_flat"], axis=1) for o in outs]
    nodes.append(h.make_node("Concat", [o + "_flat" for o in outs], ["y"], axis=1))
    slope = (np.arange(8, dtype=np.float32) / 10 - 0.3).reshape(8, 1, 1)
    inits = [i64("reps", [1, 1, 2, 1]), i64("ax1", 1), i64("axlast", -1), f("slope", slope)]
    g = h.make_graph(nodes, "moves_and_sums", [h.make_tensor_value_info("x", T.FLOAT, [1, 8, 2, 2])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), 32


def norm_einsum():
    """InstanceNormalization, and Einsum as a dense layer, as A·Bᵀ and as Aᵀ·B."""
    f = lambda name, v: nh.from_array(np.asarray(v, np.float32), name)
    w = (np.random.default_rng(11).standard_normal((16, 5)) * 0.3).astype(np.float32)
    nodes = [
        h.make_node("InstanceNormalization", ["x", "g", "b"], ["inorm"], epsilon=1e-3),
        h.make_node("Reshape", ["x", "shape3"], ["x3"]),
        h.make_node("Einsum", ["x3", "w"], ["dense"], equation="bij,jk->bik"),
        h.make_node("Einsum", ["x3", "x3"], ["gram"], equation="bij,bkj->bik"),
        h.make_node("Einsum", ["x3", "x3"], ["outer"], equation="bij,bik->bjk"),
    ]
    outs = ["inorm", "dense", "gram", "outer"]
    nodes += [h.make_node("Flatten", [o], [o + "_flat"], axis=1) for o in outs]
    nodes.append(h.make_node("Concat", [o + "_flat" for o in outs], ["y"], axis=1))
    inits = [f("g", [1.5, 0.5, -1.0]), f("b", [0.1, -0.2, 0.3]), f("w", w),
             nh.from_array(np.array([1, 3, 16], np.int64), "shape3")]
    g = h.make_graph(nodes, "norm_einsum", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 4, 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), 48


def extremes():
    """ReduceMax/ReduceMin and ArgMax/ArgMin over one axis, with ties (first index, and last
    with select_last_index)."""
    nodes = [
        h.make_node("ReduceMax", ["x"], ["rmax"], axes=[2], keepdims=1),
        h.make_node("ReduceMin", ["x"], ["rmin"], axes=[1], keepdims=0),
        h.make_node("ArgMax", ["x"], ["amax"], axis=2, keepdims=0),
        h.make_node("ArgMax", ["x"], ["amax_last"], axis=2, keepdims=0, select_last_index=1),
        h.make_node("ArgMin", ["x"], ["amin"], axis=1, keepdims=1),
    ]
    outs = ["rmax", "rmin", "amax", "amax_last", "amin"]
    for o in ["amax", "amax_last", "amin"]:
        nodes.append(h.make_node("Cast", [o], [o + "_f"], to=T.FLOAT))
    flat_in = ["rmax", "rmin", "amax_f", "amax_last_f", "amin_f"]
    nodes += [h.make_node("Flatten", [o], [o + "_flat"], axis=1) for o in flat_in]
    nodes.append(h.make_node("Concat", [o + "_flat" for o in flat_in], ["y"], axis=1))
    g = h.make_graph(nodes, "extremes", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 5])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)])
    x = [0.5, 1.25, 1.25, -0.5, 0.0, -1.0, 2.0, 0.75, 2.0, 0.25, 0.3, -0.7, 0.9, -0.7, 0.1]
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), x


def gathers():
    """GatherElements and GatherND with constant indices (negative ones included)."""
    i64 = lambda name, v: nh.from_array(np.array(v, np.int64), name)
    nodes = [
        h.make_node("GatherElements", ["x", "ge"], ["g_el"], axis=1),
        h.make_node("GatherND", ["x", "nd_rows"], ["g_rows"]),
        h.make_node("GatherND", ["x", "nd_points"], ["g_points"]),
    ]
    outs = ["g_el", "g_rows", "g_points"]
    nodes += [h.make_node("Reshape", [o, "row"], [o + "_row"]) for o in outs]
    nodes.append(h.make_node("Concat", [o + "_row" for o in outs], ["y"], axis=1))
    inits = [i64("ge", [[[2, 0, -1, 1], [0, 0, 2, 2]]]), i64("nd_rows", [[0, 2], [0, -2]]),
             i64("nd_points", [[0, 1, 3], [0, 2, 0]]), i64("row", [1, -1])]
    g = h.make_graph(nodes, "gathers", [h.make_tensor_value_info("x", T.FLOAT, [1, 3, 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), [round(0.1 * i - 0.55, 2) for i in range(12)]


def resize_linear():
    """Resize linear (bilinear on NCHW): up by 2 (half_pixel), to given sizes (align_corners),
    down and up by fractions (asymmetric), and pytorch_half_pixel to a single row."""
    f = lambda name, v: nh.from_array(np.array(v, np.float32), name)
    i64 = lambda name, v: nh.from_array(np.array(v, np.int64), name)
    nodes = [
        h.make_node("Resize", ["x", "", "s2"], ["up2"], mode="linear"),
        h.make_node("Resize", ["x", "", "", "sz"], ["ac"], mode="linear",
                    coordinate_transformation_mode="align_corners"),
        h.make_node("Resize", ["x", "", "sfrac"], ["asym"], mode="linear",
                    coordinate_transformation_mode="asymmetric"),
        h.make_node("Resize", ["x", "", "", "sz1"], ["pt"], mode="linear",
                    coordinate_transformation_mode="pytorch_half_pixel"),
    ]
    outs = ["up2", "ac", "asym", "pt"]
    nodes += [h.make_node("Reshape", [o, "row"], [o + "_row"]) for o in outs]
    nodes.append(h.make_node("Concat", [o + "_row" for o in outs], ["y"], axis=1))
    inits = [f("s2", [1, 1, 2, 2]), i64("sz", [1, 2, 5, 7]), f("sfrac", [1, 1, 1.5, 0.5]),
             i64("sz1", [1, 2, 1, 3]), i64("row", [1, -1])]
    g = h.make_graph(nodes, "resize_linear", [h.make_tensor_value_info("x", T.FLOAT, [1, 2, 3, 4])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), [round(0.1 * ((7 * i) % 24) - 1.1, 2) for i in range(24)]


def lrn_pow():
    """LRN across channels (sizes 3 and 5; onnxruntime takes odd sizes only) and Pow with general exponents."""
    f = lambda name, v: nh.from_array(np.array(v, np.float32), name)
    nodes = [
        h.make_node("LRN", ["x"], ["lrn3"], size=3, alpha=0.3, beta=0.75, bias=1.0),
        h.make_node("LRN", ["x"], ["lrn5"], size=5, alpha=0.2, beta=0.5, bias=2.0),
        h.make_node("Abs", ["x"], ["ax"]),
        h.make_node("Pow", ["ax", "e1"], ["p1"]),
        h.make_node("Pow", ["ax", "e2"], ["p2"]),
    ]
    outs = ["lrn3", "lrn5", "p1", "p2"]
    nodes += [h.make_node("Flatten", [o], [o + "_flat"], axis=1) for o in outs]
    nodes.append(h.make_node("Concat", [o + "_flat" for o in outs], ["y"], axis=1))
    g = h.make_graph(nodes, "lrn_pow", [h.make_tensor_value_info("x", T.FLOAT, [1, 5, 2, 2])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], [f("e1", 1.5), f("e2", 0.25)])
    x = [round(0.13 * ((5 * i) % 20) - 1.2, 2) or 0.35 for i in range(20)]
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), x


def token_embedding():
    """Private int64 token ids into an embedding Gather, then a small dense head."""
    r = np.random.default_rng(17)
    emb = (r.standard_normal((12, 4)) * 0.5).astype(np.float32)
    w = (r.standard_normal((4, 3)) * 0.5).astype(np.float32)
    nodes = [h.make_node("Gather", ["emb", "ids"], ["e"], axis=0),
             h.make_node("MatMul", ["e", "w"], ["y"])]
    g = h.make_graph(nodes, "token_embedding", [h.make_tensor_value_info("ids", T.INT64, [1, 5])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [nh.from_array(emb, "emb"), nh.from_array(w, "w")])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), [3, 0, 11, 7, 3]


def sums_and_shapes():
    """Sum and Mean of several inputs (a constant among them), and constants made from shapes:
    Size, Shape → ConstantOfShape, Range."""
    f = lambda name, v: nh.from_array(np.array(v, np.float32), name)
    nodes = [
        h.make_node("Sum", ["x", "c", "x"], ["s"]),
        h.make_node("Mean", ["x", "s"], ["m"]),
        h.make_node("Range", ["zero", "three", "one"], ["r"]),
        h.make_node("Add", ["m", "r"], ["mr"]),
        h.make_node("Shape", ["x"], ["sh"]),
        h.make_node("ConstantOfShape", ["sh"], ["half"], value=nh.from_array(np.array([0.5], np.float32))),
        h.make_node("Mul", ["mr", "half"], ["a"]),
        h.make_node("Size", ["x"], ["n"]),
        h.make_node("Cast", ["n"], ["nf"], to=T.FLOAT),
        h.make_node("Div", ["a", "nf"], ["y"]),
    ]
    g = h.make_graph(nodes, "sums_and_shapes", [h.make_tensor_value_info("x", T.FLOAT, [1, 2, 3])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [f("c", [0.25, -0.5, 1.0]), f("zero", 0.0), f("three", 3.0), f("one", 1.0)])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), [0.3, -1.2, 0.7, 1.5, -0.4, 0.05]


def scatter_reverse_prod():
    """ReverseSequence (constant lengths), ScatterND of computed updates at constant indices,
    ReduceProd over one axis."""
    i64 = lambda name, v: nh.from_array(np.array(v, np.int64), name)
    nodes = [
        h.make_node("ReverseSequence", ["x", "lens"], ["rs"], time_axis=0, batch_axis=1),
        h.make_node("Gather", ["x", "one"], ["g"], axis=0),
        h.make_node("Slice", ["g", "s0", "s2", "s0"], ["u"]),
        h.make_node("ScatterND", ["rs", "at", "u"], ["sc"]),
        h.make_node("ReduceProd", ["x"], ["p"], axes=[2], keepdims=0),
        h.make_node("Reshape", ["sc", "row"], ["sc_row"]),
        h.make_node("Reshape", ["p", "row"], ["p_row"]),
        h.make_node("Concat", ["sc_row", "p_row"], ["y"], axis=1),
    ]
    inits = [i64("lens", [3, 1, 2]), i64("one", 1), i64("s0", [0]), i64("s2", [2]),
             i64("at", [[0, 1], [2, 2]]), i64("row", [1, -1])]
    g = h.make_graph(nodes, "scatter_reverse_prod", [h.make_tensor_value_info("x", T.FLOAT, [3, 3, 2])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], inits)
    x = [round(0.15 * ((7 * i) % 18) - 1.2, 2) or 0.4 for i in range(18)]
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), x


def gather_computed():
    """Gather of a computed tensor at computed indices (ArgMax results), on two axes, and
    GatherElements and GatherND at computed indices."""
    i64 = lambda name, v: nh.from_array(np.array(v, np.int64), name)
    nodes = [
        h.make_node("ArgMax", ["x"], ["i2"], axis=2, keepdims=0),      # [1, 4], values < 3
        h.make_node("Gather", ["x", "i2"], ["g2"], axis=2),            # [1, 4, 1, 4]
        h.make_node("ArgMax", ["x"], ["i1"], axis=1, keepdims=0),      # [1, 3], values < 4
        h.make_node("Gather", ["x", "i1"], ["g1"], axis=1),            # [1, 1, 3, 3]
        h.make_node("ArgMax", ["x"], ["i2k"], axis=2, keepdims=1),     # [1, 4, 1]
        h.make_node("GatherElements", ["x", "i2k"], ["ge"], axis=2),   # each row's max
        # GatherND at computed tuples (0, argmax over axis 1): [1, 3] tuples of 2 → [1, 3, 3]
        h.make_node("Sub", ["i1", "i1"], ["zero"]),
        h.make_node("Unsqueeze", ["zero", "last"], ["zero_u"]),
        h.make_node("Unsqueeze", ["i1", "last"], ["i1_u"]),
        h.make_node("Concat", ["zero_u", "i1_u"], ["tup"], axis=2),
        h.make_node("GatherND", ["x", "tup"], ["gnd"]),
        h.make_node("Reshape", ["g2", "row"], ["g2_row"]),
        h.make_node("Reshape", ["g1", "row"], ["g1_row"]),
        h.make_node("Reshape", ["ge", "row"], ["ge_row"]),
        h.make_node("Reshape", ["gnd", "row"], ["gnd_row"]),
        h.make_node("Concat", ["g2_row", "g1_row", "ge_row", "gnd_row"], ["y"], axis=1),
    ]
    g = h.make_graph(nodes, "gather_computed", [h.make_tensor_value_info("x", T.FLOAT, [1, 4, 3])],
                     [h.make_tensor_value_info("y", T.FLOAT, None)], [i64("row", [1, -1]), i64("last", [2])])
    x = [0.5, -1.1, 0.9, 1.3, 0.2, -0.4, -0.8, 1.7, 0.05, 0.6, 0.35, -1.4]
    return h.make_model(g, opset_imports=[h.make_opsetid("", 13)]), x


def main():
    for name, (model, n) in {
        "attention4d_o13": attention4d(13, -1),
        "attention4d_o11": attention4d(11, 3),
        "softmax_coerced": softmax_coerced(),
        "unary_ops": unary_ops(),
        "compare_where": compare_where(),
        "moves_and_sums": moves_and_sums(),
        "norm_einsum": norm_einsum(),
        "extremes": extremes(),
        "gathers": gathers(),
        "resize_linear": resize_linear(),
        "lrn_pow": lrn_pow(),
        "token_embedding": token_embedding(),
        "sums_and_shapes": sums_and_shapes(),
        "scatter_reverse_prod": scatter_reverse_prod(),
        "gather_computed": gather_computed(),
    }.items():
        model.ir_version = 8
        onnx.save(model, os.path.join(HERE, f"{name}.onnx"))
        x = np.array(n if isinstance(n, list) else [round(float(v), 6) for v in rng.standard_normal(n)],
                     np.int64 if name == "token_embedding" else np.float32)
        import onnxruntime as ort
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        arg = sess.get_inputs()[0]
        (y,) = sess.run(None, {arg.name: x.reshape(arg.shape)})
        json.dump({"input_data": [[float(v) for v in x]], "output_data": [[float(v) for v in np.asarray(y).reshape(-1)]]},
                  open(os.path.join(HERE, f"{name}.json"), "w"))
    # References: every committed model with an input file.
    models = [(os.path.join(HERE, f), os.path.join(HERE, f[:-5] + ".json"))
              for f in sorted(os.listdir(HERE)) if f.endswith(".onnx") and not f.startswith("bad_")]
    fx = os.path.join(ROOT, "prover", "fixtures")
    models += [(os.path.join(fx, "digits_mlp.onnx"), os.path.join(fx, "digits_mlp.input.json")),
               (os.path.join(fx, "digits_cnn.onnx"), os.path.join(fx, "digits_cnn.input.json")),
               (os.path.join(fx, "prompt_generator", "generator.onnx"),
                os.path.join(fx, "prompt_generator", "generator.input.json")),
               (os.path.join(fx, "transformer", "transformer.onnx"),
                os.path.join(fx, "transformer", "transformer.input.json")),
               (os.path.join(fx, "text_lm", "text_lm.onnx"),
                os.path.join(fx, "text_lm", "text_lm.input.json"))]
    os.makedirs(os.path.join(HERE, "ort"), exist_ok=True)
    script = os.path.join(ROOT, "prover", "scripts", "ort_intermediates.py")
    for m, inp in models:
        if not os.path.exists(inp):
            continue
        out = os.path.join(HERE, "ort", os.path.basename(m)[:-5] + ".json")
        subprocess.run([sys.executable, script, m, inp, "-o", out, "--keep", "64"], check=True)


if __name__ == "__main__":
    main()
