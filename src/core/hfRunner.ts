/**
 * Runs a Hugging Face decoder export (hfModel.ts finds its attention) chunk by chunk, as our own graphs are run:
 * the chunk's tokens against the cache of earlier positions, with the inputs optimum's exports take
 * (`input_ids`, `attention_mask`, `position_ids`, `past_key_values.N.key|value` [1, kvHeads, P, headDim], and
 * `use_cache_branch` in merged decoders). The cache comes back as `present.N.*` [1, kvHeads, P+T, headDim] and is
 * fed to the next chunk as it is; it is rebuilt from the analysis only when a chunk does not follow the last one
 * (an edited document reusing its unchanged prefix).
 *
 * Per layer, the graph's own scores z (the Softmax's input) give every query's focus statistics under both views,
 * and its query (the scores MatMul's input) and key are stored, so any position's rows later cost O(n·d) without
 * running the model again. The SSMax view of these softmax-trained models is the what-if softmax((ln n / ln N)·z).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { keysSeen, type Analysis } from './analysis';
import { describeHfFolder, externalDataFiles, findAttention, readExportGraph, type AttentionTaps, type HfFolder } from './hfModel';
import { HfTokenizer } from './hfTokenizer';
import { attentionShape, ModelFileError, type ModelFiles, type ModelManifest } from './manifest';
import { withOutputs } from './onnxGraph';
import { helperSessionOptions, ort, sessionOptions, shippedGraph, thisHost } from './ort';
import { createWithFallback, providerOrder, type ProviderChoice, type ProviderName, type SkippedProvider } from './providers';
import type { ChunkOutputs, ChunkRunner } from './runner';
import { DEFAULT_WHAT_IF, lawMultiplier, type WhatIfLaw } from './whatIf';

/**
 * Score floats all layers' exposed scores may hold in one chunk (64 MiB): every layer's [heads, T, P+T] is an
 * output at once, so the chunk shrinks as the cache grows, down to one token.
 */
const HF_SCORE_FLOATS = 1 << 24;
/** Tokens the scale is measured on when the model loads. */
const CALIBRATION_TOKENS = 16;

export interface HfLoadOptions {
  provider: ProviderChoice;
  threads: number;
  trainingContext?: number;
  createSession?: (provider: ProviderName, onnxPath: string) => Promise<OrtSession>;
}

export interface LoadedHf {
  files: ModelFiles;
  tokenizer: HfTokenizer;
  runner: HfRunner;
  provider: ProviderName;
  skipped: SkippedProvider[];
}

export async function loadHfFolder(dir: string, opts: HfLoadOptions): Promise<LoadedHf> {
  const folder = describeHfFolder(dir, { trainingContext: opts.trainingContext });
  const { manifest } = folder;
  const tokenizer = readHfTokenizer(folder);
  if (tokenizer.vocabSize > manifest.architecture.vocabSize) {
    throw new ModelFileError(
      folder.tokenizerPath,
      `the tokenizer has ${tokenizer.vocabSize} tokens but the model (config.json vocab_size) only ${manifest.architecture.vocabSize}: they belong to different models`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(folder.onnxPath);
  } catch (e) {
    throw new ModelFileError(folder.onnxPath, `cannot read the ONNX model: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const graph = readExportGraph(bytes, folder.onnxPath);
  const { layers } = manifest.architecture;
  const needed = ['input_ids', ...Array.from({ length: layers }, (_, l) => [`past_key_values.${l}.key`, `past_key_values.${l}.value`]).flat()];
  const missingIn = needed.filter((n) => !graph.inputs.includes(n));
  const missingOut = ['logits', ...Array.from({ length: layers }, (_, l) => [`present.${l}.key`, `present.${l}.value`]).flat()].filter(
    (n) => !graph.outputs.includes(n),
  );
  if (missingIn.length || missingOut.length) {
    throw new ModelFileError(
      folder.onnxPath,
      `the graph lacks ${[...missingIn, ...missingOut].slice(0, 4).join(', ')}${missingIn.length + missingOut.length > 4 ? ', …' : ''}: export it with its cache (optimum-cli export onnx --task text-generation-with-past) for ${layers} layers as config.json says`,
    );
  }
  const taps = findAttention(graph, layers, folder.onnxPath);
  const patched = withOutputs(bytes, [...taps.scores, ...taps.queries]);
  const onnxName = folder.manifest.onnx;
  const externalData = externalDataFiles(dir, onnxName).map((f) => ({ path: f, data: readFileSync(join(dir, f)) }));
  const create =
    opts.createSession ??
    ((provider: ProviderName) =>
      ort().InferenceSession.create(patched, { ...sessionOptions(provider, opts.threads), ...(externalData.length ? { externalData } : {}) }));
  let result;
  try {
    result = await createWithFallback(providerOrder(opts.provider, thisHost()), (p) => create(p, folder.onnxPath));
  } catch (e) {
    const hint = /external|data/i.test((e as Error).message) ? ' (its weights live in external data beside it: is that file complete?)' : '';
    throw new ModelFileError(folder.onnxPath, `the ONNX model could not be loaded${hint}: ${(e as Error).message}`);
  }
  const statsPath = shippedGraph('stats.onnx');
  // optional: without it (an install without the file) the statistics are computed in JavaScript, several times slower
  const statsSession =
    statsPath && !opts.createSession
      ? await ort()
          .InferenceSession.create(statsPath, helperSessionOptions(opts.threads, true))
          .catch(() => undefined)
      : undefined;
  const runner = new HfRunner(result.session, manifest, taps, folder, statsSession);
  try {
    manifest.architecture.scoreScale = await runner.measureScale();
  } catch (e) {
    await runner.release();
    throw e;
  }
  return {
    files: { manifestPath: dir, manifest, onnxPath: folder.onnxPath, tokenizerPath: folder.tokenizerPath },
    tokenizer,
    runner,
    provider: result.provider,
    skipped: result.skipped,
  };
}

export function readHfTokenizer(folder: HfFolder): HfTokenizer {
  try {
    const config = folder.tokenizerConfigPath ? readFileSync(folder.tokenizerConfigPath, 'utf8') : undefined;
    return HfTokenizer.parse(readFileSync(folder.tokenizerPath, 'utf8'), config);
  } catch (e) {
    throw new ModelFileError(folder.tokenizerPath, `the tokenizer cannot be used: ${(e as Error).message}`);
  }
}

interface HeldCache {
  analysis: Analysis;
  length: number;
  tensors: Record<string, OrtTensor>;
}

export class HfRunner implements ChunkRunner {
  readonly maxPositions: number | undefined;
  private held: HeldCache | undefined;
  private readonly inputs: Set<string>;

  constructor(
    private readonly session: OrtSession,
    private readonly manifest: ModelManifest,
    private readonly taps: AttentionTaps,
    private readonly folder: HfFolder,
    /** models/stats.onnx: the statistics of a chunk's scores on onnxruntime's threads. */
    private readonly statsSession?: OrtSession,
  ) {
    this.maxPositions = folder.maxPositions;
    this.inputs = new Set(session.inputNames);
  }

  chunkFor(P: number, requested: number, unbounded: boolean): number {
    if (unbounded) return requested;
    const { layers, heads } = this.manifest.architecture;
    return Math.max(1, Math.min(requested, Math.floor(HF_SCORE_FLOATS / (layers * heads * (P + requested)))));
  }

  /**
   * One forward pass over `ids` at positions P.. against `past` (tensors by input name). `cached`: the past holds
   * this many positions (default P), of which those from P on are masked out.
   */
  private async forward(ids: ArrayLike<number>, P: number, past: Record<string, OrtTensor>, cached = P): Promise<Record<string, OrtTensor>> {
    const { Tensor } = ort();
    const T = ids.length;
    const feeds: Record<string, OrtTensor> = { ...past, input_ids: new Tensor('int64', BigInt64Array.from(Array.from(ids, (x) => BigInt(x))), [1, T]) };
    if (this.inputs.has('attention_mask')) {
      const mask = new BigInt64Array(cached + T).fill(1n);
      mask.fill(0n, P, cached);
      feeds.attention_mask = new Tensor('int64', mask, [1, cached + T]);
    }
    if (this.inputs.has('position_ids'))
      feeds.position_ids = new Tensor(
        'int64',
        BigInt64Array.from({ length: T }, (_, i) => BigInt(P + i)),
        [1, T],
      );
    if (this.inputs.has('use_cache_branch')) feeds.use_cache_branch = new Tensor('bool', [cached > 0], [1]);
    const out = await this.session.run(feeds);
    if (out.logits.type !== 'float32')
      throw new ModelFileError(this.folder.onnxPath, `the model computes in ${out.logits.type}; export it in float32 (optimum's default)`);
    return out;
  }

  /** The empty cache, or the cache of an analysis's first P positions rebuilt head-major. */
  private pastFrom(analysis: Analysis | undefined, P: number): Record<string, OrtTensor> {
    if (analysis && this.held && this.held.analysis === analysis && this.held.length === P) return this.held.tensors;
    const { Tensor } = ort();
    const { kvHeads, headDim } = attentionShape(this.manifest);
    const past: Record<string, OrtTensor> = {};
    for (let l = 0; l < this.manifest.architecture.layers; l++) {
      for (const [which, name] of [
        ['k', 'key'],
        ['v', 'value'],
      ] as const) {
        const src = analysis ? analysis.past(l, which, P) : new Float32Array(0);
        const dst = new Float32Array(kvHeads * P * headDim);
        for (let p = 0; p < P; p++)
          for (let h = 0; h < kvHeads; h++) dst.set(src.subarray((p * kvHeads + h) * headDim, (p * kvHeads + h + 1) * headDim), (h * P + p) * headDim);
        past[`past_key_values.${l}.${name}`] = new Tensor('float32', dst, [1, kvHeads, P, headDim]);
      }
    }
    return past;
  }

  async run(analysis: Analysis, P: number, T: number): Promise<ChunkOutputs> {
    const ids = analysis.tokens.ids.subarray(P, P + T);
    const out = await this.forward(ids, P, this.pastFrom(analysis, P));
    const { layers } = this.manifest.architecture;
    const { heads, kvHeads, headDim } = attentionShape(this.manifest);
    const n = P + T;
    const held: Record<string, OrtTensor> = {};
    const result: ChunkOutputs = { logits: out.logits.data as Float32Array, layers: [] };
    for (let l = 0; l < layers; l++) {
      const key = out[`present.${l}.key`];
      const value = out[`present.${l}.value`];
      held[`past_key_values.${l}.key`] = key;
      held[`past_key_values.${l}.value`] = value;
      result.layers.push({
        q: headMajorToPositions(out[this.taps.queries[l]].data as Float32Array, heads, T, headDim, 0, T),
        k: headMajorToPositions(key.data as Float32Array, kvHeads, n, headDim, P, T),
        v: headMajorToPositions(value.data as Float32Array, kvHeads, n, headDim, P, T),
        stats: await this.stats(out[this.taps.scores[l]], T, P),
      });
    }
    this.held = { analysis, length: n, tensors: held };
    return result;
  }

  /** [T, heads, 4] statistics of one layer's scores [1, heads, T, P+T], by the stats graph when there is one. */
  private async stats(z: OrtTensor, T: number, P: number): Promise<Float32Array> {
    const { heads } = this.manifest.architecture;
    const data = z.data as Float32Array;
    const law = this.manifest.whatIf ?? DEFAULT_WHAT_IF;
    const window = this.manifest.architecture.slidingWindow;
    if (!this.statsSession) return statsFromScores(data, heads, T, P, this.manifest.trainingContext, law, window);
    const { Tensor } = ort();
    // n is the keys the query sees: all before it, or its sliding window (the graph's scores mask the rest)
    const c = Float32Array.from({ length: T }, (_, t) => lawMultiplier(law, keysSeen(this.manifest, P + t), this.manifest.trainingContext));
    const r = await this.statsSession.run({ z: new Tensor('float32', data, [heads, T, P + T]), c_other: new Tensor('float32', c, [T]) });
    const parts = ['own_max', 'own_entropy', 'other_max', 'other_entropy'].map((n) => r[n].data as Float32Array);
    const out = new Float32Array(T * heads * 4);
    for (let h = 0; h < heads; h++) for (let t = 0; t < T; t++) for (let k = 0; k < 4; k++) out[(t * heads + h) * 4 + k] = parts[k][h * T + t];
    return out;
  }

  async queriesAt(analysis: Analysis, position: number): Promise<Float32Array[]> {
    const id = [analysis.tokens.ids[position]];
    // the cache of the whole analysis, held from its last chunk, with the keys from `position` on masked out: no copy
    // (a rebuilt one would hold as much memory again as the keys and values, in the very case that keeps no queries
    // to save memory). Not under a sliding window (its mask counts back from the end of the cache fed), nor without
    // an attention_mask input: there the cache of the positions before it is rebuilt from the store.
    const held = this.held?.analysis === analysis && this.held.length > position ? this.held : undefined;
    const out =
      held && !this.manifest.architecture.slidingWindow && this.inputs.has('attention_mask')
        ? await this.forward(id, position, held.tensors, held.length)
        : await this.forward(id, position, this.pastFrom(analysis, position));
    const { heads, headDim } = attentionShape(this.manifest);
    // the tapped query of one token is [1, heads, 1, headDim]: already [heads, headDim]
    return this.taps.queries.map((name) => (out[name].data as Float32Array).slice(0, heads * headDim));
  }

  /**
   * The constant c with z = c·(q·k) for the tapped queries and cached keys, measured on a short run and checked
   * on every layer, head and unmasked score of it: a graph whose scores are not that is refused.
   */
  async measureScale(): Promise<number> {
    const { layers } = this.manifest.architecture;
    const { heads, kvHeads, headDim, group } = attentionShape(this.manifest);
    const T = Math.min(CALIBRATION_TOKENS, this.maxPositions ?? CALIBRATION_TOKENS);
    const ids = Array.from({ length: T }, (_, i) => (i * 7919 + 3) % this.manifest.architecture.vocabSize);
    const out = await this.forward(ids, 0, this.pastFrom(undefined, 0));
    this.held = undefined;
    const pairs: [number, number][] = [];
    for (let l = 0; l < layers; l++) {
      const q = out[this.taps.queries[l]].data as Float32Array;
      const k = out[`present.${l}.key`].data as Float32Array;
      const z = out[this.taps.scores[l]].data as Float32Array;
      if (q.length !== heads * T * headDim || z.length !== heads * T * T) {
        throw new ModelFileError(
          this.folder.onnxPath,
          `layer ${l}: the attention's query or scores do not have the shape config.json implies (${heads} heads × ${headDim})`,
        );
      }
      for (let h = 0; h < heads; h++) {
        const kh = Math.floor(h / group);
        for (let t = 0; t < T; t++) {
          for (let j = 0; j <= t; j++) {
            let dot = 0;
            for (let x = 0; x < headDim; x++) dot += q[(h * T + t) * headDim + x] * k[(kh * T + j) * headDim + x];
            pairs.push([dot, z[(h * T + t) * T + j]]);
          }
        }
      }
    }
    let zd = 0;
    let dd = 0;
    for (const [d, zz] of pairs) {
      zd += d * zz;
      dd += d * d;
    }
    const scale = dd > 0 ? zd / dd : NaN;
    const worst = pairs.reduce((w, [d, zz]) => Math.max(w, Math.abs(zz - scale * d) / (1 + Math.abs(zz))), 0);
    if (!Number.isFinite(scale) || worst > 1e-3) {
      throw new ModelFileError(
        this.folder.onnxPath,
        `the attention scores are not a scaled product of the query and the cached key (off by ${worst.toPrecision(2)}); this export's attention layout is not one Attention Inspector knows (kvHeads ${kvHeads})`,
      );
    }
    // the usual 1/√d, measured to float32 precision: keep it exact
    const usual = 1 / Math.sqrt(headDim);
    return Math.abs(scale / usual - 1) < 1e-5 ? usual : scale;
  }

  async release(): Promise<void> {
    this.held = undefined;
    await this.statsSession?.release();
    await this.session.release();
  }
}

/** [heads, n, d] positions [from, from+T) → [T, heads, d]. */
export function headMajorToPositions(src: Float32Array, heads: number, n: number, d: number, from: number, T: number): Float32Array {
  const out = new Float32Array(T * heads * d);
  for (let h = 0; h < heads; h++) for (let t = 0; t < T; t++) out.set(src.subarray((h * n + from + t) * d, (h * n + from + t + 1) * d), (t * heads + h) * d);
  return out;
}

/** Scores at or below this are masked keys (the graph's stats.onnx uses the same floor). */
const MASKED = -1e30;

/**
 * Per query (row t of the chunk, n = P+t+1 keys) and head: max weight and entropy of softmax(c·z) for the model's
 * own view (c = 1) and the what-if (c = the law's multiplier, by default SSMax's ln n / ln N), as [T, heads, 4]
 * like our graphs' statistics.
 * z is [heads, T, P+T]; keys past the query are masked in it and not read.
 */
export function statsFromScores(
  z: Float32Array,
  heads: number,
  T: number,
  P: number,
  trainingContext: number,
  law: WhatIfLaw = DEFAULT_WHAT_IF,
  window?: number,
): Float32Array {
  const out = new Float32Array(T * heads * 4);
  const width = P + T;
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < T; t++) {
      const n = P + t + 1;
      const base = (h * T + t) * width;
      let zmax = -Infinity;
      for (let j = 0; j < n; j++) if (z[base + j] > zmax) zmax = z[base + j];
      const o = (t * heads + h) * 4;
      for (const [slot, c] of [
        [0, 1],
        [2, lawMultiplier(law, Math.min(n, window ?? Infinity), trainingContext)],
      ] as const) {
        const m = c * zmax;
        let sum = 0;
        let pz = 0;
        for (let j = 0; j < n; j++) {
          // a masked key (the float minimum, or -Infinity in some exports: 0·-Infinity would be NaN) weighs nothing,
          // as models/stats.onnx clamps it
          if (!(z[base + j] > MASKED)) continue;
          const cz = c * z[base + j];
          const e = Math.exp(cz - m);
          sum += e;
          pz += e * cz;
        }
        const lse = m + Math.log(sum);
        out[o + slot] = 1 / sum;
        out[o + slot + 1] = Math.max(0, lse - pz / sum); // rounding can leave a hair below 0 for a one-hot row
      }
    }
  }
  return out;
}
