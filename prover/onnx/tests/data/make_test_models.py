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
    m.ir_version = 8
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
    # Malformed / unsupported models (no outputs computed).
    save("bad_unsupported_op", [N("Erf", ["x"], ["y"], name="my_erf")], [vi("x", [1, 3])], [vi("y", None)], run=False)
    save("bad_dynamic_dim", [N("Relu", ["x"], ["y"], name="relu")], [vi("x", ["N", "C"])], [vi("y", None)], run=False)
    save("bad_softmax_inner",
         [N("Softmax", ["x"], ["s"], name="sm"), N("Relu", ["s"], ["y"])],
         [vi("x", [1, 3])], [vi("y", None)], run=False)
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
                sess = ort.InferenceSession(os.path.join(d, "network.onnx"))
                inp = json.load(open(os.path.join(d, "input.json")))["input_data"]
                feeds = {i.name: np.array(v, np.float32).reshape([s if isinstance(s, int) else 1 for s in i.shape])
                         for i, v in zip(sess.get_inputs(), inp)}
                outs = sess.run(None, feeds)
                expected[os.path.basename(d)] = [o.astype(np.float64).flatten().tolist() for o in outs]
            except Exception as e:  # e.g. self_attention is not even a valid model for onnxruntime
                print("skip", d, type(e).__name__)
        with open(os.path.join(HERE, "peer_expected.json"), "w") as f:
            json.dump(expected, f)


if __name__ == "__main__":
    main()
