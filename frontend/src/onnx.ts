// A small ONNX runner for the public generator a listing was proven with: after decryption the
// browser re-runs the model on the bought prompt and shows that it reproduces the listed output.
// It reads the protobuf wire format directly and evaluates the dense operators generator MLPs
// use (Gemm, MatMul, Add/Sub/Mul/Div with broadcasting, Relu, Sigmoid, Tanh, Softmax, Flatten,
// Reshape, Identity, Constant); any other operator is refused by name, never guessed. A few
// hundred lines instead of onnxruntime-web's 10 MB of WebAssembly; checked in onnx.test.ts
// against onnxruntime's output for the committed generator.

export interface Tensor {
  shape: number[];
  data: Float64Array;
}

interface Attribute {
  f?: number;
  i?: number;
  ints?: number[];
  floats?: number[];
  t?: Tensor;
}

interface Node {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attribute>;
}

export interface Graph {
  nodes: Node[];
  initializers: Map<string, Tensor>;
  inputs: string[];
  outputs: string[];
}

export class OnnxError extends Error {}

// ------------------------------------------------------------------ protobuf wire format

class Reader {
  pos = 0;
  constructor(private buf: Uint8Array) {}
  get done() {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let r = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new OnnxError("truncated varint: not an ONNX file");
      const b = this.buf[this.pos++];
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
      shift += 7n;
      if (shift > 70n) throw new OnnxError("varint too long: not an ONNX file");
    }
  }
  int(): number {
    return Number(BigInt.asIntN(64, this.varint()));
  }
  bytes(): Uint8Array {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new OnnxError("truncated field: not an ONNX file");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  f32(): number {
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }
  /** Each field as (number, wire type, reader for it). */
  *fields(): Generator<[number, number]> {
    while (!this.done) {
      const key = Number(this.varint());
      yield [key >>> 3, key & 7];
    }
  }
  skip(wire: number) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new OnnxError(`unknown protobuf wire type ${wire}: not an ONNX file`);
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Repeated int64 (packed or not). */
function ints(r: Reader, wire: number, out: number[]) {
  if (wire === 2) {
    const sub = new Reader(r.bytes());
    while (!sub.done) out.push(sub.int());
  } else out.push(r.int());
}

/** Repeated float (packed or not). */
function floats(r: Reader, wire: number, out: number[]) {
  if (wire === 2) {
    const sub = new Reader(r.bytes());
    while (!sub.done) out.push(sub.f32());
  } else out.push(r.f32());
}

const FLOAT = 1;
const INT64 = 7;
const DOUBLE = 11;
const INT32 = 6;

function tensor(buf: Uint8Array): [string, Tensor] {
  const r = new Reader(buf);
  const dims: number[] = [];
  let type = 0;
  let name = "";
  let raw: Uint8Array | null = null;
  const fl: number[] = [];
  const i64: number[] = [];
  for (const [f, w] of r.fields()) {
    if (f === 1) ints(r, w, dims);
    else if (f === 2) type = r.int();
    else if (f === 4) floats(r, w, fl);
    else if (f === 5 || f === 7) ints(r, w, i64);
    else if (f === 8) name = text(r.bytes());
    else if (f === 9) raw = r.bytes().slice();
    else r.skip(w);
  }
  const size = dims.reduce((a, b) => a * b, 1);
  let data: Float64Array;
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = type === FLOAT || type === INT32 ? 4 : type === INT64 || type === DOUBLE ? 8 : 0;
    if (!width) throw new OnnxError(`tensor ${name}: element type ${type} is not supported (float, double, int32, int64 are)`);
    data = new Float64Array(raw.byteLength / width);
    for (let i = 0; i < data.length; i++) {
      data[i] =
        type === FLOAT ? view.getFloat32(i * 4, true)
        : type === INT32 ? view.getInt32(i * 4, true)
        : type === DOUBLE ? view.getFloat64(i * 8, true)
        : Number(view.getBigInt64(i * 8, true));
    }
  } else data = Float64Array.from(fl.length ? fl : i64);
  if (data.length !== size) throw new OnnxError(`tensor ${name}: ${data.length} values for shape [${dims}]`);
  return [name, { shape: dims, data }];
}

function attribute(buf: Uint8Array): [string, Attribute] {
  const r = new Reader(buf);
  let name = "";
  const a: Attribute = {};
  for (const [f, w] of r.fields()) {
    if (f === 1) name = text(r.bytes());
    else if (f === 2) a.f = r.f32();
    else if (f === 3) a.i = r.int();
    else if (f === 5) a.t = tensor(r.bytes())[1];
    else if (f === 7) floats(r, w, (a.floats ??= []));
    else if (f === 8) ints(r, w, (a.ints ??= []));
    else r.skip(w);
  }
  return [name, a];
}

function node(buf: Uint8Array): Node {
  const r = new Reader(buf);
  const n: Node = { op: "", name: "", inputs: [], outputs: [], attrs: {} };
  for (const [f, w] of r.fields()) {
    if (f === 1) n.inputs.push(text(r.bytes()));
    else if (f === 2) n.outputs.push(text(r.bytes()));
    else if (f === 3) n.name = text(r.bytes());
    else if (f === 4) n.op = text(r.bytes());
    else if (f === 5) {
      const [k, v] = attribute(r.bytes());
      n.attrs[k] = v;
    } else r.skip(w);
  }
  return n;
}

const valueName = (buf: Uint8Array) => {
  const r = new Reader(buf);
  for (const [f, w] of r.fields()) {
    if (f === 1) return text(r.bytes());
    r.skip(w);
  }
  return "";
};

/** Parses an ONNX model's graph. */
export function parseModel(bytes: Uint8Array): Graph {
  const r = new Reader(bytes);
  let graph: Uint8Array | null = null;
  for (const [f, w] of r.fields()) {
    if (f === 7 && w === 2) graph = r.bytes();
    else r.skip(w);
  }
  if (!graph) throw new OnnxError("no graph: not an ONNX model");
  const g: Graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  const gr = new Reader(graph);
  for (const [f, w] of gr.fields()) {
    if (f === 1) g.nodes.push(node(gr.bytes()));
    else if (f === 5) {
      const [k, t] = tensor(gr.bytes());
      g.initializers.set(k, t);
    } else if (f === 11) g.inputs.push(valueName(gr.bytes()));
    else if (f === 12) g.outputs.push(valueName(gr.bytes()));
    else gr.skip(w);
  }
  g.inputs = g.inputs.filter((n) => !g.initializers.has(n));
  return g;
}

// ------------------------------------------------------------------ evaluation

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Numpy broadcasting of an element-wise binary operator. */
function broadcast(a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...Array(rank - a.shape.length).fill(1), ...a.shape];
  const pb = [...Array(rank - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => {
    if (d !== pb[i] && d !== 1 && pb[i] !== 1) throw new OnnxError(`shapes [${a.shape}] and [${b.shape}] do not broadcast`);
    return Math.max(d, pb[i]);
  });
  const out = new Float64Array(size(shape));
  const idx = new Array(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < rank; k++) {
      ia = ia * pa[k] + (pa[k] === 1 ? 0 : idx[k]);
      ib = ib * pb[k] + (pb[k] === 1 ? 0 : idx[k]);
    }
    out[o] = f(a.data[ia], b.data[ib]);
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return { shape, data: out };
}

function matmul2(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  if (a.shape.length !== 2 || b.shape.length !== 2) {
    throw new OnnxError(`matrix product of ranks ${a.shape.length} and ${b.shape.length}: only 2-D is supported`);
  }
  const [m, k] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [k2, n] = transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (k !== k2) throw new OnnxError(`matrix product [${m}×${k}]·[${k2}×${n}]: inner sizes differ`);
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) {
        s += (transA ? a.data[t * m + i] : a.data[i * k + t]) * (transB ? b.data[j * k + t] : b.data[t * n + j]);
      }
      out[i * n + j] = s;
    }
  return { shape: [m, n], data: out };
}

const map = (t: Tensor, f: (x: number) => number): Tensor => ({ shape: t.shape, data: t.data.map(f) });

function step(n: Node, x: Tensor[]): Tensor {
  const a = n.attrs;
  switch (n.op) {
    case "Gemm": {
      let y = matmul2(x[0], x[1], a.transA?.i === 1, a.transB?.i === 1);
      const alpha = a.alpha?.f ?? 1;
      if (alpha !== 1) y = map(y, (v) => v * alpha);
      if (x[2]) {
        const beta = a.beta?.f ?? 1;
        y = broadcast(y, x[2], (p, q) => p + beta * q);
      }
      return y;
    }
    case "MatMul":
      return matmul2(x[0], x[1]);
    case "Add":
      return broadcast(x[0], x[1], (p, q) => p + q);
    case "Sub":
      return broadcast(x[0], x[1], (p, q) => p - q);
    case "Mul":
      return broadcast(x[0], x[1], (p, q) => p * q);
    case "Div":
      return broadcast(x[0], x[1], (p, q) => p / q);
    case "Relu":
      return map(x[0], (v) => Math.max(0, v));
    case "Sigmoid":
      return map(x[0], (v) => 1 / (1 + Math.exp(-v)));
    case "Tanh":
      return map(x[0], Math.tanh);
    case "Identity":
      return x[0];
    case "Constant":
      if (!a.value?.t) throw new OnnxError(`${n.name}: only tensor Constants are supported`);
      return a.value.t;
    case "Flatten": {
      const axis = a.axis?.i ?? 1;
      const s = x[0].shape;
      return { shape: [size(s.slice(0, axis)), size(s.slice(axis))], data: x[0].data };
    }
    case "Reshape": {
      const want = Array.from(x[1].data);
      const known = want.map((d, i) => (d === 0 ? x[0].shape[i] : d));
      const free = known.indexOf(-1);
      if (free >= 0) known[free] = x[0].data.length / size(known.filter((d) => d !== -1));
      if (size(known) !== x[0].data.length) throw new OnnxError(`${n.name}: cannot reshape [${x[0].shape}] to [${want}]`);
      return { shape: known, data: x[0].data };
    }
    case "Softmax": {
      const s = x[0].shape;
      const axis = ((a.axis?.i ?? -1) + s.length) % s.length;
      if (axis !== s.length - 1) throw new OnnxError(`${n.name}: Softmax over a non-last axis is not supported`);
      const w = s[axis];
      const out = new Float64Array(x[0].data.length);
      for (let r = 0; r < out.length; r += w) {
        const row = x[0].data.subarray(r, r + w);
        const m = Math.max(...row);
        let z = 0;
        for (let i = 0; i < w; i++) z += out[r + i] = Math.exp(row[i] - m);
        for (let i = 0; i < w; i++) out[r + i] /= z;
      }
      return { shape: s, data: out };
    }
    default:
      throw new OnnxError(
        `node ${n.name || "?"}: operator ${n.op} cannot be re-run in the browser (supported: Gemm, MatMul, Add, Sub, Mul, Div, Relu, Sigmoid, Tanh, Softmax, Flatten, Reshape, Identity, Constant); the proof on chain still stands`,
      );
  }
}

/** Runs `g` on its inputs, in graph order; returns the graph's outputs. */
export function run(g: Graph, inputs: Tensor[]): Tensor[] {
  if (inputs.length !== g.inputs.length) throw new OnnxError(`the model takes ${g.inputs.length} input(s), got ${inputs.length}`);
  const env = new Map(g.initializers);
  g.inputs.forEach((name, i) => env.set(name, inputs[i]));
  for (const n of g.nodes) {
    const args = n.inputs.map((name) => {
      if (name === "") return undefined as unknown as Tensor;
      const t = env.get(name);
      if (!t) throw new OnnxError(`node ${n.name}: input ${name} is not computed before it`);
      return t;
    });
    const out = step(n, args);
    env.set(n.outputs[0], out);
  }
  return g.outputs.map((name) => env.get(name)!);
}

/** The largest absolute difference between two equally long value lists. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
