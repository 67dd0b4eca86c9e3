#!/usr/bin/env python3
"""Generates the small ONNX test models under tests/data/ and their onnxruntime outputs.

Run from anywhere: python3 make_test_models.py  (needs onnx, numpy, onnxruntime).
Each model X.onnx gets X.json = {"input_data": [[flat]], "output_data": [[flat]]}, the
same layout as the peer fixtures' input.json. The Rust tests only read these files.

If /work/shared/fixtures/peer-onnx exists, also writes peer_expected.json: onnxruntime's
outputs for every peer model on its own input.json (the peers' output_data is quantized).
"""
import glob
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def save(name, nodes, inputs, outputs, inits=(), opset=13, run=True):
    g = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset <= 18 else 9
    path = os.path.join(HERE, name + ".onnx")
    onnx.save(m, path)
    if not run:
        return
    sess = ort.InferenceSession(path)
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = f32(*shape)
    outs = sess.run(None, feeds)
    data = {
        "input_data": [v.flatten().tolist() for v in feeds.values()],
        "output_data": [o.astype(np.float64).flatten().tolist() for o in outs],
        "output_shapes": [list(o.shape) for o in outs],
    }
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(data, f)


N = helper.make_node


def main():
    # Conv: asymmetric pads, strides, dilations, bias.
    save("conv_pads_stride",
         [N("Conv", ["x", "w", "b"], ["y"], name="conv", pads=[1, 0, 2, 1], strides=[2, 1], dilations=[1, 2])],
         [vi("x", ["N", 3, 7, 7])], [vi("y", None)], [init("w", f32(4, 3, 3, 3)), init("b", f32(4))])
    # Depthwise conv, SAME_UPPER; grouped conv, SAME_LOWER.
    save("conv_groups",
         [N("Conv", ["x", "wd"], ["d"], name="dw", group=4, auto_pad="SAME_UPPER", strides=[2, 2]),
          N("Conv", ["x", "wg", "bg"], ["g"], name="grouped", group=2, auto_pad="SAME_LOWER", kernel_shape=[2, 2])],
         [vi("x", [1, 4, 6, 5])], [vi("d", None), vi("g", None)],
         [init("wd", f32(4, 1, 3, 3)), init("wg", f32(6, 2, 2, 2)), init("bg", f32(6))])
    # Gemm with transB=0, alpha, beta, [1, N] bias; then LeakyRelu and a second Gemm (transB=1).
    save("gemm",
         [N("Gemm", ["x", "b1", "c1"], ["h"], name="fc1", alpha=0.5, beta=2.0),
          N("LeakyRelu", ["h"], ["a"], alpha=0.2),
          N("Gemm", ["a", "b2", "c2"], ["y"], name="fc2", transB=1)],
         [vi("x", ["batch", 5])], [vi("y", None)],
         [init("b1", f32(5, 3)), init("c1", f32(1, 3)), init("b2", f32(2, 3)), init("c2", f32(2))])
    # MatMul by a constant on a 3-D activation, then Sigmoid.
    save("matmul_const",
         [N("MatMul", ["x", "w"], ["m"], name="mm"), N("Sigmoid", ["m"], ["y"])],
         [vi("x", [1, 3, 4])], [vi("y", None)], [init("w", f32(4, 5))])
    # Conv -> BatchNormalization (folded into the conv).
    bn = [init(n, v) for n, v in [("s", f32(3)), ("bb", f32(3)), ("mu", f32(3)),
                                  ("var", np.abs(f32(3)) + 0.5)]]
    save("conv_bn",
         [N("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
          N("BatchNormalization", ["c", "s", "bb", "mu", "var"], ["y"], name="bn", epsilon=1e-3)],
         [vi("x", [1, 2, 5, 5])], [vi("y", None)], [init("w", f32(3, 2, 3, 3)), init("b", f32(3))] + bn)
    # Same, but the conv output is also a graph output: BN cannot be folded (standalone).
    save("conv_bn_shared",
         [N("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
          N("BatchNormalization", ["c", "s", "bb", "mu", "var"], ["y"], name="bn", epsilon=1e-3)],
         [vi("x", [1, 2, 5, 5])], [vi("y", None), vi("c", None)],
         [init("w", f32(3, 2, 3, 3)), init("b", f32(3))] + bn)
    # Broadcasting elementwise ops between activations and with constants on either side.
    save("broadcast",
         [N("Add", ["x", "z"], ["s"], name="add"),
          N("Mul", ["k", "s"], ["m"], name="mul_const_first"),
          N("Sub", ["one", "m"], ["r"], name="rsub"),
          N("Div", ["r", "two"], ["d"], name="div"),
          N("Mul", ["d", "x"], ["p"], name="mul"),
          N("Sub", ["p", "z"], ["y"], name="sub")],
         [vi("x", [1, 3, 4, 5]), vi("z", [1, 1, 4, 1])], [vi("y", None)],
         [init("k", f32(3, 1, 1)), init("one", np.float32(1.0)), init("two", f32(5))])
    # Pad (opset 13, pads + constant_value inputs), Transpose, Concat, Flatten, Tanh.
    save("pad_transpose_concat",
         [N("Pad", ["x", "pads", "cv"], ["p"], name="pad"),
          N("Transpose", ["p"], ["t"], name="tr", perm=[0, 2, 3, 1]),
          N("Transpose", ["x"], ["u"], name="tr2"),
          N("Transpose", ["u"], ["v"], name="tr3"),
          N("Pad", ["v", "pads"], ["q"], name="pad2"),
          N("Transpose", ["q"], ["w"], name="tr4", perm=[0, 2, 3, 1]),
          N("Concat", ["t", "w"], ["c"], name="cat", axis=-1),
          N("Flatten", ["c"], ["f"], axis=2),
          N("Tanh", ["f"], ["y"])],
         [vi("x", [1, 2, 3, 4])], [vi("y", None)],
         [init("pads", np.array([0, 0, 1, 2, 0, 0, 2, 0], np.int64)), init("cv", np.float32(0.5))])
    # Pooling with pads; average with and without count_include_pad; global average.
    save("pools",
         [N("MaxPool", ["x"], ["mp"], name="max", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
          N("AveragePool", ["x"], ["a0"], name="avg0", kernel_shape=[3, 2], strides=[1, 2], pads=[1, 0, 2, 1]),
          N("AveragePool", ["x"], ["a1"], name="avg1", kernel_shape=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1),
          N("GlobalAveragePool", ["x"], ["g"], name="gap")],
         [vi("x", [1, 2, 6, 7])], [vi("mp", None), vi("a0", None), vi("a1", None), vi("g", None)])
    # Shape arithmetic as torch exports it, folded at import; Softmax as model output.
    save("shape_arith",
         [N("Shape", ["x"], ["s"]),
          N("Gather", ["s", "i0"], ["b"], axis=0),
          N("Gather", ["s", "i1"], ["c"], axis=0),
          N("Cast", ["c"], ["cf"], to=TensorProto.FLOAT),
          N("Div", ["cf", "twof"], ["half"]),
          N("Sqrt", ["half"], ["sq"]),
          N("Cast", ["half"], ["hi"], to=TensorProto.INT64),
          N("Unsqueeze", ["b", "ax0"], ["bu"]),
          N("Unsqueeze", ["hi", "ax0"], ["hu"]),
          N("Concat", ["bu", "hu", "m1"], ["shape"], axis=0),
          N("Reshape", ["x", "shape"], ["r"], name="reshape"),
          N("Mul", ["r", "sq"], ["rs"]),
          N("Squeeze", ["rs", "ax0"], ["sqz"]),
          N("Unsqueeze", ["sqz", "ax0"], ["usq"]),
          N("Identity", ["usq"], ["id"]),
          N("Softmax", ["id"], ["y"], name="softmax")],
         [vi("x", ["batch", 4, 3])], [vi("y", None)],
         [init("i0", np.array(0, np.int64)), init("i1", np.array(1, np.int64)),
          init("twof", np.float32(2.0)), init("ax0", np.array([0], np.int64)),
          init("m1", np.array([-1], np.int64))])
    # Opset 10 style: Pad/Squeeze/Unsqueeze attributes, Dropout, Constant node.
    save("opset10",
         [N("Constant", [], ["k"], value=helper.make_tensor("k", TensorProto.FLOAT, [3], [1.0, -2.0, 0.5])),
          N("Pad", ["x"], ["p"], name="pad", pads=[0, 1, 0, 2], value=-1.0),
          N("Unsqueeze", ["p"], ["u"], axes=[1]),
          N("Dropout", ["u"], ["d"], ratio=0.3),
          N("Squeeze", ["d"], ["s"], axes=[1]),
          N("Relu", ["s"], ["r"]),
          N("Constant", [], ["w"], value=helper.make_tensor("w", TensorProto.FLOAT, [6, 3], list(f32(18)))),
          N("MatMul", ["r", "w"], ["m"]),
          N("Add", ["m", "k"], ["y"])],
         [vi("x", [1, 3])], [vi("y", None)], opset=10)
    transformer_models()
    # Malformed / unsupported models (no outputs computed).
    save("bad_unsupported_op", [N("Cos", ["x"], ["y"], name="my_cos")], [vi("x", [1, 3])], [vi("y", None)], run=False)
    save("bad_dynamic_dim", [N("Relu", ["x"], ["y"], name="relu")], [vi("x", ["N", "C"])], [vi("y", None)], run=False)
    save("bad_softmax_inner",
         [N("Softmax", ["x"], ["s"], name="sm", axis=1), N("Relu", ["s"], ["y"])],
         [vi("x", [1, 3, 4])], [vi("y", None)], opset=11, run=False)
    # Activation token ids into a constant embedding table (x stands for the ids).
    save("bad_embedding", [N("Gather", ["emb", "x"], ["y"], name="wte")],
         [vi("x", [1, 3])], [vi("y", None)], [init("emb", f32(10, 4))], run=False)
    save("bad_where_cond", [N("Where", ["x", "a", "b"], ["y"], name="wh")],
         [vi("x", [1, 3])], [vi("y", None)], [init("a", f32(3)), init("b", f32(3))], run=False)
    save("bad_matmul_const_left", [N("MatMul", ["w", "x"], ["y"], name="mm")],
         [vi("x", [3, 2])], [vi("y", None)], [init("w", f32(4, 3))], run=False)
    save("bad_resize_linear",
         [N("Resize", ["x", "", "sc"], ["y"], name="rs", mode="linear")],
         [vi("x", [1, 1, 2, 2])], [vi("y", None)], [init("sc", np.array([1, 1, 2, 2], np.float32))], run=False)
    save("bad_slice_neg_step",
         [N("Slice", ["x", "st", "en", "ax", "sp"], ["y"], name="sl")], [vi("x", [1, 5])], [vi("y", None)],
         [init("st", np.array([-1], np.int64)), init("en", np.array([-6], np.int64)),
          init("ax", np.array([1], np.int64)), init("sp", np.array([-1], np.int64))], run=False)
    save("bad_int_input", [N("Relu", ["x"], ["y"])],
         [helper.make_tensor_value_info("x", TensorProto.INT64, [1, 3])], [vi("y", None)], run=False)
    save("bad_missing_input", [N("Add", ["x", "nowhere"], ["y"], name="add")],
         [vi("x", [1, 3])], [vi("y", None)], run=False)
    save("bad_ceil_mode", [N("MaxPool", ["x"], ["y"], name="mp", kernel_shape=[2, 2], ceil_mode=1)],
         [vi("x", [1, 1, 5, 5])], [vi("y", None)], run=False)

    peer = "/work/shared/fixtures/peer-onnx"
    if os.path.isdir(peer):
        expected = {}
        for d in sorted(glob.glob(os.path.join(peer, "*"))):
            try:
                try:
                    sess = ort.InferenceSession(os.path.join(d, "network.onnx"))
                except Exception:
                    # self_attention (opset 10) applies Equal to floats, valid from opset 11
                    # on; nothing else it uses changes between 10 and 11.
                    m = onnx.load(os.path.join(d, "network.onnx"))
                    for o in m.opset_import:
                        if o.domain in ("", "ai.onnx") and o.version == 10:
                            o.version = 11
                    sess = ort.InferenceSession(m.SerializeToString())
                inp = json.load(open(os.path.join(d, "input.json")))["input_data"]
                feeds = {i.name: np.array(v, np.float32).reshape([s if isinstance(s, int) else 1 for s in i.shape])
                         for i, v in zip(sess.get_inputs(), inp)}
                outs = sess.run(None, feeds)
                expected[os.path.basename(d)] = [o.astype(np.float64).flatten().tolist() for o in outs]
            except Exception as e:  # e.g. self_attention is not even a valid model for onnxruntime
                print("skip", d, type(e).__name__)
        with open(os.path.join(HERE, "peer_expected.json"), "w") as f:
            json.dump(expected, f)


I64 = lambda *v: np.array(v, np.int64)
INT64_MAX = np.iinfo(np.int64).max


def transformer_models():
    # Causal multi-head self-attention: MatMul Q·Kᵀ, Div, Where with a mask folded from
    # Range/Unsqueeze/LessOrEqual, Softmax (last axis), MatMul ·V.
    save("attention",
         [N("MatMul", ["x", "wq"], ["q"]), N("MatMul", ["x", "wk"], ["k"]), N("MatMul", ["x", "wv"], ["v"]),
          N("Reshape", ["q", "hs"], ["q4"]), N("Transpose", ["q4"], ["qh"], perm=[0, 2, 1, 3]),
          N("Reshape", ["k", "hs"], ["k4"]), N("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1]),
          N("Reshape", ["v", "hs"], ["v4"]), N("Transpose", ["v4"], ["vh"], perm=[0, 2, 1, 3]),
          N("MatMul", ["qh", "kt"], ["s"], name="qk"),
          N("Div", ["s", "scale"], ["sd"]),
          N("Range", ["i0", "i4", "i1"], ["r"]),
          N("Unsqueeze", ["r", "ax1"], ["row"]), N("Unsqueeze", ["r", "ax0"], ["col"]),
          N("LessOrEqual", ["col", "row"], ["causal"]),
          N("Where", ["causal", "sd", "neg"], ["masked"], name="mask"),
          N("Softmax", ["masked"], ["p"], axis=-1, name="sm"),
          N("MatMul", ["p", "vh"], ["o"], name="pv"),
          N("Transpose", ["o"], ["ot"], perm=[0, 2, 1, 3]), N("Reshape", ["ot", "ms"], ["om"]),
          N("MatMul", ["om", "wo"], ["y"])],
         [vi("x", [1, 4, 8])], [vi("y", None)],
         [init("wq", f32(8, 8)), init("wk", f32(8, 8)), init("wv", f32(8, 8)), init("wo", f32(8, 8)),
          init("hs", I64(1, 4, 2, 4)), init("ms", I64(1, 4, 8)), init("scale", np.float32(2.0)),
          init("i0", np.int64(0)), init("i4", np.int64(4)), init("i1", np.int64(1)),
          init("ax0", I64(0)), init("ax1", I64(1)), init("neg", np.float32(-1e9))], opset=17)
    # Single head with an additive constant mask; batched broadcast MatMul of two inputs.
    mask = np.triu(np.full((4, 4), -1e4, np.float32), 1)
    save("attention_addmask",
         [N("MatMul", ["x", "wq"], ["q"]), N("MatMul", ["x", "wk"], ["k"]),
          N("Transpose", ["k"], ["kt"], perm=[0, 2, 1]), N("MatMul", ["q", "kt"], ["s"]),
          N("Mul", ["s", "c"], ["sc"]), N("Add", ["sc", "mask"], ["sm"]),
          N("Softmax", ["sm"], ["p"], axis=-1), N("MatMul", ["p", "x"], ["y"]),
          N("MatMul", ["a", "b"], ["z"], name="bcast")],
         [vi("x", [1, 4, 6]), vi("a", [2, 1, 3, 4]), vi("b", [5, 4, 2])], [vi("y", None), vi("z", None)],
         [init("wq", f32(6, 6)), init("wk", f32(6, 6)), init("c", np.float32(0.4)), init("mask", mask)])
    save("layernorm_op",
         [N("LayerNormalization", ["x", "s", "b"], ["y"], name="ln", epsilon=1e-5),
          N("LayerNormalization", ["x", "s2"], ["z"], name="ln2", axis=1, epsilon=1e-3)],
         [vi("x", [1, 5, 6])], [vi("y", None), vi("z", None)],
         [init("s", f32(6)), init("b", f32(6)), init("s2", f32(5, 6))], opset=17)
    # The torch decomposition of LayerNorm (as in GPT-2 exports).
    save("layernorm_decomposed",
         [N("ReduceMean", ["x"], ["m"], axes=[-1]), N("Sub", ["x", "m"], ["d"]),
          N("Pow", ["d", "two"], ["d2"]), N("ReduceMean", ["d2"], ["var"], axes=[-1]),
          N("Add", ["var", "eps"], ["ve"]), N("Sqrt", ["ve"], ["sd"]), N("Div", ["d", "sd"], ["n"]),
          N("Mul", ["n", "w"], ["nw"]), N("Add", ["nw", "b"], ["y"])],
         [vi("x", [1, 4, 8])], [vi("y", None)],
         [init("two", np.float32(2.0)), init("eps", np.float32(1e-5)), init("w", f32(8)), init("b", f32(8))])
    save("gelu_erf",
         [N("Div", ["x", "r2"], ["h"]), N("Erf", ["h"], ["e"]), N("Add", ["e", "one"], ["e1"]),
          N("Mul", ["x", "e1"], ["m"]), N("Mul", ["m", "half"], ["y"])],
         [vi("x", [2, 3, 5])], [vi("y", None)],
         [init("r2", np.float32(np.sqrt(2.0))), init("one", np.float32(1.0)), init("half", np.float32(0.5))])
    save("gelu_op",
         [N("Gelu", ["x"], ["y"]), N("Gelu", ["x"], ["z"], approximate="tanh")],
         [vi("x", [1, 3, 5])], [vi("y", None), vi("z", None)], opset=20)
    save("reduce",
         [N("ReduceSum", ["x", "axs"], ["a"], keepdims=0), N("ReduceMean", ["x"], ["b"], axes=[2]),
          N("ReduceSum", ["x"], ["c"]), N("ReduceSum", ["x", "none"], ["d"], noop_with_empty_axes=1)],
         [vi("x", [1, 3, 4, 5])], [vi("a", None), vi("b", None), vi("c", None), vi("d", None)],
         [init("axs", I64(1, -1)), init("none", np.zeros(0, np.int64))])
    save("split_slice",
         [N("Split", ["x", "sp"], ["a", "b", "c"], axis=1),
          N("Slice", ["x", "st", "en", "ax", "step"], ["s"]),
          N("Slice", ["x", "st2", "en2"], ["t"]), N("Relu", ["b"], ["rb"])],
         [vi("x", [1, 6, 4])], [vi("a", None), vi("rb", None), vi("c", None), vi("s", None), vi("t", None)],
         [init("sp", I64(1, 2, 3)), init("st", I64(-5, 1)), init("en", I64(INT64_MAX, 100)),
          init("ax", I64(1, 2)), init("step", I64(2, 1)), init("st2", I64(0, 0, 1)), init("en2", I64(1, 3, -1))])
    save("split18",
         [N("Split", ["x"], ["a", "b", "c"], axis=2, num_outputs=3),
          N("ReduceMean", ["x", "ax"], ["m"], keepdims=0)],
         [vi("x", [1, 2, 7])], [vi("a", None), vi("b", None), vi("c", None), vi("m", None)],
         [init("ax", I64(-1))], opset=18)
    save("slice_opset9",
         [N("Slice", ["x"], ["s"], starts=[1], ends=[-1], axes=[2]),
          N("Split", ["s"], ["a", "b"], axis=1, split=[1, 2]), N("Upsample", ["a"], ["y"], scales=[1.0, 1.0, 2.0, 3.0])],
         [vi("x", [1, 3, 4, 4])], [vi("y", None), vi("b", None)], opset=8)
    save("gather_const",
         [N("Gather", ["x", "i1"], ["a"], axis=1), N("Gather", ["x", "i2"], ["b"], axis=-1),
          N("Gather", ["x", "i3"], ["c"], axis=2)],
         [vi("x", [1, 5, 6])], [vi("a", None), vi("b", None), vi("c", None)],
         [init("i1", I64(4, 0, -1)), init("i2", np.int64(2)), init("i3", np.array([[0, 1], [-1, 3]], np.int64))])
    save("resize",
         [N("Resize", ["x", "", "sc"], ["a"], mode="nearest", coordinate_transformation_mode="asymmetric",
            nearest_mode="floor"),
          N("Resize", ["x", "", "", "sz"], ["b"], mode="nearest")],
         [vi("x", [1, 2, 3, 4])], [vi("a", None), vi("b", None)],
         [init("sc", np.array([1, 1, 2, 2], np.float32)), init("sz", I64(1, 2, 9, 12))])
    save("upsample9", [N("Upsample", ["x", "sc"], ["y"], mode="nearest")],
         [vi("x", [1, 2, 3, 2])], [vi("y", None)], [init("sc", np.array([1, 1, 2, 2], np.float32))], opset=9)
    save("conv_transpose",
         [N("ConvTranspose", ["x", "w", "b"], ["a"], strides=[2, 2], pads=[1, 0, 1, 1], output_padding=[1, 0]),
          N("ConvTranspose", ["x", "wg"], ["g"], group=2, dilations=[2, 1], strides=[2, 1], pads=[0, 1, 1, 0]),
          N("ConvTranspose", ["x", "w"], ["o"], strides=[2, 2], output_shape=[10, 10])],
         [vi("x", [1, 4, 5, 5])], [vi("a", None), vi("g", None), vi("o", None)],
         [init("w", f32(4, 3, 3, 3)), init("b", f32(3)), init("wg", f32(4, 2, 2, 3))])
    cond = np.array([[True, False, True]])
    save("elementwise_misc",
         [N("Mul", ["x", "x"], ["xx"]), N("Add", ["xx", "half"], ["p"]),
          N("Sqrt", ["p"], ["a"]), N("Reciprocal", ["p"], ["b"]), N("Exp", ["x"], ["c"]),
          N("Pow", ["p", "h"], ["d"]), N("Pow", ["p", "mh"], ["e"]), N("Pow", ["x", "two"], ["f"]),
          N("Pow", ["p", "m1"], ["g"]), N("Div", ["x", "p"], ["h2"]), N("Div", ["three", "p"], ["i"]),
          N("Cast", ["x"], ["j"], to=TensorProto.FLOAT), N("Expand", ["x", "shp"], ["k"]), N("Neg", ["x"], ["l"]),
          N("Where", ["cond", "x", "bc"], ["m"]), N("Where", ["cond", "ac", "x"], ["n"]),
          N("Where", ["cond2", "x", "p"], ["o"]),
          N("Softmax", ["x"], ["sm"], axis=0), N("Relu", ["sm"], ["q"]),
          N("Abs", ["three"], ["t3"]), N("Sqrt", ["t3"], ["s3"]), N("Exp", ["s3"], ["e3"]),
          N("Erf", ["e3"], ["f3"]), N("Mul", ["x", "f3"], ["r"])],
         [vi("x", [2, 3])], [vi(v, None) for v in "abcdefgijklmnoqr"] + [vi("h2", None)],
         [init("half", np.float32(0.5)), init("h", np.float32(0.5)), init("mh", np.float32(-0.5)),
          init("two", np.float32(2.0)), init("m1", np.float32(-1.0)), init("three", f32(3)),
          init("shp", I64(4, 2, 1)), init("cond", cond), init("bc", f32(2, 3)), init("ac", f32(3)),
          init("cond2", np.array([[False], [True]]))])


if __name__ == "__main__":
    main()
