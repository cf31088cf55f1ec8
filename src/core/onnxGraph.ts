/**
 * Just enough of the ONNX file format to find the attention inside an exported graph and to ask onnxruntime for
 * it: a reader of the protobuf wire format that lists the graph's nodes (weights are skipped by their length, never
 * decoded), and a writer that adds graph outputs without re-encoding anything.
 *
 * Why not a protobuf library with onnx.proto: the one published for ONNX (onnx-proto) is at ONNX 1.10 and drops
 * newer fields when it re-encodes, and reading five fields of two messages is ~60 lines. Adding outputs relies on
 * protobuf's merge rule: a message field that occurs twice is merged, repeated fields appended. So a second
 * `graph` (field 7 of ModelProto) holding only `output` entries (field 12, ValueInfoProto with a name) appended to
 * the original bytes makes those tensors outputs; the weights and any external data stay where they are.
 */

export interface OnnxNode {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  inputs: string[];
  outputs: string[];
  /** Names of the graph's initializers (the weights). */
  initializers: Set<string>;
  /** Opset domains the model imports ('' is the default ONNX domain). */
  domains: string[];
}

export class OnnxFormatError extends Error {}

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly end = buf.length,
    start = 0,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new OnnxFormatError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
      if (shift > 63) throw new OnnxFormatError('varint too long');
    }
  }

  /** Returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t % 8];
  }

  /** Start and end of a length-delimited field's payload; the reader moves past it. */
  bytes(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new OnnxFormatError('field runs past the end of the file');
    this.pos += len;
    return [start, start + len];
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new OnnxFormatError(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new OnnxFormatError('field runs past the end of the file');
  }
}

const text = new TextDecoder();

function str(buf: Uint8Array, [s, e]: [number, number]): string {
  return text.decode(buf.subarray(s, e));
}

function readNode(buf: Uint8Array, range: [number, number]): OnnxNode {
  const r = new Reader(buf, range[1], range[0]);
  const node: OnnxNode = { opType: '', domain: '', name: '', inputs: [], outputs: [] };
  while (!r.done) {
    const [field, wire] = r.tag();
    if (wire !== 2) {
      r.skip(wire);
      continue;
    }
    const b = r.bytes();
    if (field === 1) node.inputs.push(str(buf, b));
    else if (field === 2) node.outputs.push(str(buf, b));
    else if (field === 3) node.name = str(buf, b);
    else if (field === 4) node.opType = str(buf, b);
    else if (field === 7) node.domain = str(buf, b);
  }
  return node;
}

/** The name of a ValueInfoProto or TensorProto (field 1 of the first, field 8 of the second). */
function nameField(buf: Uint8Array, range: [number, number], field: number): string {
  const r = new Reader(buf, range[1], range[0]);
  while (!r.done) {
    const [f, wire] = r.tag();
    if (f === field && wire === 2) return str(buf, r.bytes());
    r.skip(wire);
  }
  return '';
}

/** Reads the graph structure of an ONNX ModelProto (throws OnnxFormatError when the bytes are not one). */
export function readGraph(buf: Uint8Array): OnnxGraph {
  const graph: OnnxGraph = { nodes: [], inputs: [], outputs: [], initializers: new Set(), domains: [] };
  const r = new Reader(buf);
  let sawGraph = false;
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 7 && wire === 2) {
      sawGraph = true;
      const [s, e] = r.bytes();
      const g = new Reader(buf, e, s);
      while (!g.done) {
        const [gf, gw] = g.tag();
        if (gw !== 2) {
          g.skip(gw);
          continue;
        }
        const b = g.bytes();
        if (gf === 1) graph.nodes.push(readNode(buf, b));
        else if (gf === 5) graph.initializers.add(nameField(buf, b, 8));
        else if (gf === 11) graph.inputs.push(nameField(buf, b, 1));
        else if (gf === 12) graph.outputs.push(nameField(buf, b, 1));
      }
    } else if (field === 8 && wire === 2) {
      graph.domains.push(nameField(buf, r.bytes(), 1));
    } else {
      r.skip(wire);
    }
  }
  if (!sawGraph) throw new OnnxFormatError('no graph in the file');
  return graph;
}

function varintBytes(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  const head = [...varintBytes(field * 8 + 2), ...varintBytes(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

/** The model bytes with extra graph outputs (tensor names already in the graph), without touching the original. */
export function withOutputs(model: Uint8Array, names: readonly string[]): Uint8Array {
  const enc = new TextEncoder();
  const entries = names.map((n) => lengthDelimited(12, lengthDelimited(1, enc.encode(n))));
  const graph = new Uint8Array(entries.reduce((a, e) => a + e.length, 0));
  let at = 0;
  for (const e of entries) {
    graph.set(e, at);
    at += e.length;
  }
  const extra = lengthDelimited(7, graph);
  const out = new Uint8Array(model.length + extra.length);
  out.set(model);
  out.set(extra, model.length);
  return out;
}
