#!/usr/bin/env python3
"""Every intermediate tensor of an ONNX model, as onnxruntime computes it, for the differential
test of trustml's float evaluator (`cargo run -p trustml-onnx --example ort_diff`, and
`prover/onnx/tests/ort_diff.rs` on the committed figures).

    pip install onnx onnxruntime numpy
    python3 prover/scripts/ort_intermediates.py MODEL.onnx INPUT.json -o OUT.json

INPUT.json is trustml's input format ({"input_data": [[...], ...]}, flat, row-major, one list
per model input). OUT.json holds, for every node output onnxruntime can expose, its shape and
its first --keep values (default 4096) and its largest magnitude and mean.
"""
import argparse
import json

import numpy as np
import onnx
import onnxruntime as ort



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("input")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--keep", type=int, default=4096, help="values kept per tensor (the rest: summary figures)")
    a = ap.parse_args()

    model = onnx.load(a.model)
    inferred = onnx.shape_inference.infer_shapes(model)
    typed = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    have = {o.name for o in model.graph.output}
    for n in model.graph.node:
        for o in n.output:
            # Only outputs whose type shape inference knows: an untyped one would be taken as
            # float and make the graph invalid.
            if o and o not in have and o in typed:
                model.graph.output.append(typed[o])
                have.add(o)
    bumped = None
    try:
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - retried once, then re-raised
        # Exporters that target tract write e.g. a float Equal at opset 10, which onnxruntime
        # refuses; the same graph at opset 11 means the same thing for these ops.
        opset = next((o for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
        if opset is None or opset.version >= 11:
            raise
        print(f"onnxruntime refused opset {opset.version} ({str(e)[:80]}…): running it at opset 11")
        bumped = opset.version = 11
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    data = json.load(open(a.input))["input_data"]
    feeds = {}
    for arg, vals in zip(sess.get_inputs(), data):
        shape = [d if isinstance(d, int) else 1 for d in arg.shape]
        dtype = np.int64 if "int64" in arg.type else np.int32 if "int32" in arg.type else np.float32
        feeds[arg.name] = np.asarray(vals, dtype=dtype).reshape(shape)
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, feeds)
    values = {}
    for name, v in zip(names, outs):
        v = np.asarray(v)
        if v.dtype.kind not in "fiub":
            continue
        flat = v.astype(np.float64).reshape(-1)
        values[name] = {
            "shape": list(v.shape),
            "values": [float(np.float32(x)) for x in flat[: a.keep]],
            "abs_max": float(np.abs(flat).max()) if flat.size else 0.0,
            "mean": float(flat.mean()) if flat.size else 0.0,
        }
    json.dump({"onnxruntime": ort.__version__, "opset_bumped_to": bumped, "input": data, "values": values},
              open(a.out, "w"))
    print(f"{a.out}: {len(values)} tensors")


if __name__ == "__main__":
    main()
