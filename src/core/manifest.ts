/**
 * The model manifest written by training/export.py: what the network is, how it was trained, and which files
 * belong to it. Loading validates everything the rest of the core relies on, and errors name the file.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Normaliser } from './domain';
import type { WhatIfLaw } from './whatIf';

export interface ModelManifest {
  format: 'attention-inspector-model-v1';
  id: string;
  displayName: string;
  onnx: string;
  tokenizer: string;
  normaliser: Normaliser;
  architecture: {
    vocabSize: number;
    dModel: number;
    layers: number;
    heads: number;
    headDim: number;
    ropeBase: number;
    /** Key (and value) heads under grouped-query attention: query head h reads key head h / (heads / kvHeads). Default: heads. */
    kvHeads?: number;
    /** z = scoreScale · q·k for the stored queries and keys. Default 1/√headDim. */
    scoreScale?: number;
    /** MLP width and whether it is gated (3 matrices, Llama-style) rather than 2 (GPT-2): for FLOP counts. Default 4·dModel, not gated. */
    intermediateSize?: number;
    gatedMlp?: boolean;
    /** Keys a query sees under a sliding window (Mistral v0.1, Phi-3): the last this many, its own included. Default: all. */
    slidingWindow?: number;
  };
  trainingContext: number;
  /** Learned SSMax s per layer and head (SSMax-trained models only). */
  s: number[][] | null;
  eotId: number;
  /** One line for pickers and the README: what this model is. */
  summary?: string;
  /** The shipped model this one is compared with by default (its counterpart: the other normaliser, or its source). */
  counterpart?: string;
  provenance: Record<string, unknown>;
  /** The graph's input and output names, in role order (see graphIo); absent in hand-written manifests: the defaults. */
  io?: { inputs: string[]; outputs: string[] };
  /**
   * The law of a softmax-trained model's what-if view, chosen when the model is loaded (never read from the file):
   * undefined is SSMax with s = 1/ln N_train. See whatIf.ts.
   */
  whatIf?: WhatIfLaw;
}

/** The names of our graph's inputs and outputs by role, one per layer where the role is per layer. */
export interface GraphIo {
  tokens: string;
  pastKey: string[];
  pastValue: string[];
  logits: string;
  query: string[];
  key: string[];
  value: string[];
  stats: string[];
}

/**
 * The manifest's `io` block read by role. training/export.py writes `inputs` as [tokens, then past key and past value
 * per layer] and `outputs` as [logits, then query, key, value and statistics per layer]; a manifest without the
 * block gets the names export.py has always used.
 */
export function graphIo(m: ModelManifest): GraphIo {
  const L = m.architecture.layers;
  const perLayer = <T>(f: (l: number) => T) => Array.from({ length: L }, (_, l) => f(l));
  const inputs = m.io?.inputs ?? ['input_ids', ...perLayer((l) => [`past_k_${l}`, `past_v_${l}`]).flat()];
  const outputs = m.io?.outputs ?? ['logits', ...perLayer((l) => [`q_${l}`, `k_${l}`, `v_${l}`, `stats_${l}`]).flat()];
  return {
    tokens: inputs[0],
    pastKey: perLayer((l) => inputs[1 + 2 * l]),
    pastValue: perLayer((l) => inputs[2 + 2 * l]),
    logits: outputs[0],
    query: perLayer((l) => outputs[1 + 4 * l]),
    key: perLayer((l) => outputs[2 + 4 * l]),
    value: perLayer((l) => outputs[3 + 4 * l]),
    stats: perLayer((l) => outputs[4 + 4 * l]),
  };
}

/** Key heads and the score scale, with their defaults. */
export function attentionShape(m: ModelManifest): { heads: number; kvHeads: number; headDim: number; scoreScale: number; group: number } {
  const { heads, headDim } = m.architecture;
  const kvHeads = m.architecture.kvHeads ?? heads;
  return { heads, kvHeads, headDim, scoreScale: m.architecture.scoreScale ?? 1 / Math.sqrt(headDim), group: heads / kvHeads };
}

/**
 * Bytes an analysis holds per token: queries (unless they are recomputed on demand), keys, values and four statistics
 * per head of every layer, and the prediction.
 */
export function bytesPerTokenOf(m: ModelManifest, storeQueries = true): number {
  const { heads, kvHeads, headDim } = attentionShape(m);
  return m.architecture.layers * (((storeQueries ? heads : 0) + 2 * kvHeads) * headDim + heads * 4) * 4 + 8;
}

/**
 * Multiply-add FLOPs (×2) of a forward pass over n tokens: the linear layers (q, k, v, o with key heads, the MLP)
 * and the output head per token, plus q·kᵀ and p·v over the causal prefix. The benchmark's floor is this ÷ the matmul rate.
 */
export function forwardFlops(n: number, m: ModelManifest): number {
  const { layers: L, dModel: d, vocabSize: V } = m.architecture;
  const { heads, kvHeads, headDim } = attentionShape(m);
  const inter = m.architecture.intermediateSize ?? 4 * d;
  const mlp = (m.architecture.gatedMlp ? 3 : 2) * d * inter;
  const attnProj = d * headDim * (2 * heads + 2 * kvHeads);
  return 2 * n * (L * (attnProj + mlp) + d * V) + L * 2 * heads * headDim * n * (n + 1);
}

export interface ModelFiles {
  manifestPath: string;
  manifest: ModelManifest;
  onnxPath: string;
  tokenizerPath: string;
}

export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${detail} (${file})`);
  }
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

export function parseManifest(text: string, file: string): ModelManifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ModelFileError(file, `model manifest is not valid JSON: ${(e as Error).message}`);
  }
  const fail: (what: string) => never = (what) => {
    throw new ModelFileError(file, `model manifest is invalid: ${what}`);
  };
  if (m.format !== 'attention-inspector-model-v1') fail('unknown format');
  if (m.normaliser !== 'softmax' && m.normaliser !== 'ssmax') fail('normaliser must be softmax or ssmax');
  if (typeof m.onnx !== 'string' || typeof m.tokenizer !== 'string') fail('onnx and tokenizer file names missing');
  const a = m.architecture as Record<string, unknown> | undefined;
  if (!a || !isPosInt(a.layers) || !isPosInt(a.heads) || !isPosInt(a.headDim) || !isPosInt(a.vocabSize)) fail('architecture incomplete');
  if (a.kvHeads !== undefined && (!isPosInt(a.kvHeads) || a.heads % a.kvHeads !== 0)) fail('kvHeads must divide heads');
  if (a.slidingWindow !== undefined && !isPosInt(a.slidingWindow)) fail('slidingWindow must be a positive whole number');
  if (!isPosInt(m.trainingContext)) fail('trainingContext missing');
  if (typeof m.id !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(m.id)) fail('id must be a short lower-case name');
  if (m.summary !== undefined && typeof m.summary !== 'string') fail('summary must be a string');
  if (m.counterpart !== undefined && typeof m.counterpart !== 'string') fail('counterpart must be a model id');
  if (m.normaliser === 'ssmax') {
    const s = m.s;
    const ok =
      Array.isArray(s) &&
      s.length === a.layers &&
      s.every((row) => Array.isArray(row) && row.length === a.heads && row.every((v) => typeof v === 'number' && Number.isFinite(v)));
    if (!ok) fail('an SSMax model needs s as [layers][heads] numbers');
  }
  if (m.io !== undefined) {
    const io = m.io as { inputs?: unknown; outputs?: unknown };
    const names = (v: unknown, count: number) => Array.isArray(v) && v.length === count && v.every((x) => typeof x === 'string' && x.length > 0);
    if (!names(io.inputs, 1 + 2 * a.layers) || !names(io.outputs, 1 + 4 * a.layers))
      fail(
        `io must list ${1 + 2 * a.layers} input names (tokens, then past key and value per layer) and ${1 + 4 * a.layers} outputs (logits, then q, k, v, stats per layer)`,
      );
  }
  // chosen when the model is loaded, never read from a file
  delete m.whatIf;
  return m as unknown as ModelManifest;
}

export function loadModelFiles(manifestPath: string): ModelFiles {
  let text: string;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch (e) {
    throw new ModelFileError(manifestPath, `cannot read the model manifest: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const manifest = parseManifest(text, manifestPath);
  const dir = dirname(manifestPath);
  return { manifestPath, manifest, onnxPath: resolve(dir, manifest.onnx), tokenizerPath: resolve(dir, manifest.tokenizer) };
}
