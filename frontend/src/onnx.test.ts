// The browser's ONNX runner against onnxruntime's output for the committed generator.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { OnnxError, maxAbsDiff, parseModel, run } from "./onnx";

const dir = new URL("../../prover/fixtures/prompt_generator/", import.meta.url);
const bytes = new Uint8Array(readFileSync(new URL("generator.onnx", dir)));
const golden = JSON.parse(readFileSync(new URL("generator.input.json", dir), "utf8"));

describe("onnx runner", () => {
  it("reads the generator's graph", () => {
    const g = parseModel(bytes);
    expect(g.nodes.map((n) => n.op)).toEqual(["Gemm", "Relu", "Gemm", "Relu", "Gemm", "Sigmoid"]);
    expect(g.inputs).toEqual(["input"]);
    expect(g.outputs).toEqual(["output"]);
    expect(g.initializers.get("fc1.weight")?.shape).toEqual([48, 6]);
  });

  it("reproduces onnxruntime's output on the held-out prompt", () => {
    const g = parseModel(bytes);
    const [out] = run(g, [{ shape: [1, 6], data: Float64Array.from(golden.input_data[0]) }]);
    expect(out.shape).toEqual([1, 64]);
    // float32 weights evaluated in float64: agreement to float32 rounding.
    expect(maxAbsDiff(out.data, golden.output_data[0])).toBeLessThan(1e-5);
  });

  it("another prompt gives another image", () => {
    const g = parseModel(bytes);
    const other = golden.input_data[0].map((t: number) => (t + 5) % 16);
    const [out] = run(g, [{ shape: [1, 6], data: Float64Array.from(other) }]);
    expect(maxAbsDiff(out.data, golden.output_data[0])).toBeGreaterThan(0.1);
  });

  it("refuses what it cannot run, by name", () => {
    expect(() => parseModel(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(OnnxError);
    const g = parseModel(bytes);
    g.nodes[1] = { ...g.nodes[1], op: "LeakyRelu" };
    expect(() => run(g, [{ shape: [1, 6], data: new Float64Array(6) }])).toThrow(/operator LeakyRelu/);
    expect(() => run(g, [])).toThrow(/takes 1 input/);
  });
});
