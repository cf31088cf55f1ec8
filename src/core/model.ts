/**
 * The model: manifest + tokenizer + one onnxruntime session, and the streamed analysis of a document.
 *
 * The document runs in chunks of query tokens against the growing key/value cache (the exported graph takes past
 * keys and values), so memory stays bounded by the chunk's scores and results arrive chunk by chunk. An analysis of
 * an edited document starts from the first token that changed: everything before it is copied from the previous one.
 * Between chunks the loop yields to the event loop, so queries for rows are answered while a long file still runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { Analysis, commonPrefix, type AttentionRows } from './analysis';
import { focusStats, headMultipliers, statsOf, type FocusStats } from './attention';
import { loadHfFolder, readHfTokenizer } from './hfRunner';
import { defaultThreads, helperSessionOptions, ort, sessionOptions, shippedGraph, thisHost } from './ort';
import type { ChunkOutputs, ChunkRunner } from './runner';
import { describeHfFolder, isHfFolder } from './hfModel';
import { attentionShape, bytesPerTokenOf, graphIo, loadModelFiles, ModelFileError, type GraphIo, type ModelFiles, type ModelManifest } from './manifest';
import { createWithFallback, providerOrder, type ProviderChoice, type ProviderName, type SkippedProvider } from './providers';

import { BpeTokenizer, type Tokenizer } from './tokenizer';
import type { HeadChoice, Normaliser } from './domain';
import { isDefaultWhatIf, type WhatIfLaw } from './whatIf';
import { whatIfStatsFor, type WhatIfStats } from './whatIfStats';

export { thisHost } from './ort';

export interface LoadOptions {
  /** A manifest written by training/export.py, or a folder exported from Hugging Face (see hfModel.ts). */
  manifestPath: string;
  /** For a Hugging Face folder: the training length of its SSMax what-if, when config.json's is not the one wanted. */
  trainingContext?: number;
  /** The law of a softmax-trained model's what-if view (default: SSMax with s = 1/ln N_train). */
  whatIf?: WhatIfLaw;
  provider: ProviderChoice;
  threads?: number;
  /** For tests: replaces session creation (e.g. to make a provider fail). */
  createSession?: (provider: ProviderName, onnxPath: string) => Promise<OrtSession>;
}

export interface AnalyseOptions {
  maxTokens: number;
  /** Refuse to hold more than this many bytes of per-position results: the token cap is lowered to fit. */
  memoryBudgetBytes?: number;
  chunkSize?: number;
  signal?: AbortSignal;
  previous?: Analysis;
  onProgress?: (analysis: Analysis) => void;
  /** Use chunkSize as it is, however long the cache (only the materialising benchmark baseline wants this). */
  unboundedChunks?: boolean;
}

export class CancelledError extends Error {
  constructor() {
    super('analysis cancelled');
  }
}

/**
 * 2^23 floats = 32 MiB per score-sized tensor ([heads, T, P+T]) in the graph. The graph export_lean writes keeps 3 of
 * them alive at its peak (scores, a view's probabilities, one product; each layer's before the next layer starts), and
 * onnxruntime's arena, as chunk sizes change, holds about twice its live peak, so this sets most of the per-chunk
 * memory. For the shipped 4-head models, past 65k keys the bound asks for fewer than 32 tokens: 16 keeps 131k tokens
 * within 1.5 GB (the arena ~200 MiB beside the 1 GiB store, against ~410 MiB at 32) for ~30 % more time a token there
 * (16.6 against 12.7 ms at 131k keys, 2 threads, 2026-12-04); below 16 the per-chunk reads of every past key and value
 * would dominate. (More heads reach the floor sooner, and their scores then grow past the bound.) Smaller chunks cost
 * more per token below that too: 1.65 ms a token at 64 and 1.25 ms at 128 with 16k keys.
 */
export const MAX_SCORE_FLOATS = 1 << 23;
const MIN_CHUNK = 16;
export { MIN_CHUNK };

/** Below this many keys the plain JavaScript rows are as fast as a graph call. */
const ROWS_GRAPH_MIN_KEYS = 1024;
const VIEWS: readonly Normaliser[] = ['softmax', 'ssmax'];

/** Every head's rows of one layer under both views ([heads, n] each), and each row's max weight and entropy. */
export interface LayerRows {
  softmax: Float32Array;
  ssmax: Float32Array;
  /** [heads] per view. */
  max: Record<Normaliser, Float32Array>;
  entropy: Record<Normaliser, Float32Array>;
}

/** Runs the graphs training/export.py writes: tokens and each layer's past keys/values in, q/k/v/stats per layer out (names from the manifest's io). */
class OwnGraphRunner implements ChunkRunner {
  private readonly io: GraphIo;

  constructor(
    private readonly session: OrtSession,
    private readonly manifest: ModelManifest,
  ) {
    this.io = graphIo(manifest);
  }

  chunkFor(P: number, requested: number, unbounded: boolean): number {
    // Bound the graph's biggest intermediates ([heads, T, P+T] scores) so memory stays flat as P grows.
    const bounded = unbounded ? requested : Math.floor(MAX_SCORE_FLOATS / (this.manifest.architecture.heads * (P + requested)));
    return Math.max(MIN_CHUNK, Math.min(requested, bounded));
  }

  /** The graph's inputs for tokens [P, P+T) against the cache of the first P positions (views of the store). */
  private feeds(analysis: Analysis, P: number, T: number): Record<string, OrtTensor> {
    const { Tensor } = ort();
    const { layers, heads, headDim } = this.manifest.architecture;
    const ids = new BigInt64Array(T);
    for (let i = 0; i < T; i++) ids[i] = BigInt(analysis.tokens.ids[P + i]);
    const io = this.io;
    const feeds: Record<string, OrtTensor> = { [io.tokens]: new Tensor('int64', ids, [1, T]) };
    for (let l = 0; l < layers; l++) {
      feeds[io.pastKey[l]] = new Tensor('float32', analysis.past(l, 'k', P), [P, heads, headDim]);
      feeds[io.pastValue[l]] = new Tensor('float32', analysis.past(l, 'v', P), [P, heads, headDim]);
    }
    return feeds;
  }

  async run(analysis: Analysis, P: number, T: number): Promise<ChunkOutputs> {
    const { layers } = this.manifest.architecture;
    const io = this.io;
    const out = await this.session.run(this.feeds(analysis, P, T));
    const get = (name: string) => out[name].data as Float32Array;
    return {
      logits: get(io.logits),
      layers: Array.from({ length: layers }, (_, l) => ({ q: get(io.query[l]), k: get(io.key[l]), v: get(io.value[l]), stats: get(io.stats[l]) })),
    };
  }

  /** One position's queries: the graph run on its token alone against the stored cache before it (a view, no copy). */
  async queriesAt(analysis: Analysis, position: number): Promise<Float32Array[]> {
    const { heads, headDim } = this.manifest.architecture;
    const out = await this.session.run(this.feeds(analysis, position, 1));
    return this.io.query.map((name) => (out[name].data as Float32Array).slice(0, heads * headDim));
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

export class AttentionModel {
  private constructor(
    readonly files: ModelFiles,
    readonly tokenizer: Tokenizer,
    private readonly runner: ChunkRunner,
    readonly provider: ProviderName,
    readonly skippedProviders: SkippedProvider[],
    /** models/rows.onnx: one layer's rows for every head and both views as one multi-threaded MatMul + Softmax. */
    private readonly rowsSession?: OrtSession,
    /** models/whatif.onnx, when the what-if law is not the one our graph computes (whatIfStats.ts). */
    private readonly whatIfStats?: WhatIfStats,
  ) {}

  get manifest() {
    return this.files.manifest;
  }

  static async load(opts: LoadOptions): Promise<AttentionModel> {
    if (isHfFolder(opts.manifestPath)) {
      const threads = opts.threads ?? defaultThreads();
      const hf = await loadHfFolder(opts.manifestPath, {
        provider: opts.provider,
        threads,
        trainingContext: opts.trainingContext,
        createSession: opts.createSession,
      });
      hf.files.manifest.whatIf = isDefaultWhatIf(opts.whatIf) ? undefined : opts.whatIf; // its statistics follow it (hfRunner.ts)
      // no rows graph: it takes one key per query head and 1/√d scores (our layout); rows of these models are computed in JavaScript
      return new AttentionModel(hf.files, hf.tokenizer, hf.runner, hf.provider, hf.skipped);
    }
    const files = loadModelFiles(opts.manifestPath);
    files.manifest.whatIf = !isDefaultWhatIf(opts.whatIf) && files.manifest.normaliser === 'softmax' ? opts.whatIf : undefined;
    const tokenizer = readOwnTokenizer(files.tokenizerPath);
    let modelBytes: Buffer;
    try {
      modelBytes = readFileSync(files.onnxPath);
    } catch (e) {
      throw new ModelFileError(files.onnxPath, `cannot read the ONNX model: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const threads = opts.threads ?? defaultThreads();
    const create = opts.createSession ?? ((provider: ProviderName) => ort().InferenceSession.create(modelBytes, sessionOptions(provider, threads)));
    let result;
    try {
      result = await createWithFallback(providerOrder(opts.provider, thisHost()), (p) => create(p, files.onnxPath));
    } catch (e) {
      throw new ModelFileError(files.onnxPath, `the ONNX model could not be loaded: ${(e as Error).message}`);
    }
    const { session } = result;
    const io = graphIo(files.manifest);
    const missing = [
      ...[io.tokens, ...io.pastKey, ...io.pastValue].filter((i) => !session.inputNames.includes(i)),
      ...[io.logits, ...io.query, ...io.key, ...io.value, ...io.stats].filter((o) => !session.outputNames.includes(o)),
    ];
    if (missing.length) {
      await session.release();
      throw new ModelFileError(files.onnxPath, `the ONNX model does not have the inputs/outputs its manifest's io names (missing: ${missing.join(', ')})`);
    }
    return new AttentionModel(
      files,
      tokenizer,
      new OwnGraphRunner(session, files.manifest),
      result.provider,
      result.skipped,
      await rowsSessionFor(files, threads, opts),
      await whatIfStatsFor(files.manifest, threads),
    );
  }

  tokenize(text: string, maxTokens: number): { tokens: ReturnType<BpeTokenizer['encode']>; totalTokens: number } {
    const tokens = this.tokenizer.encode(text, maxTokens);
    const n = tokens.ids.length;
    const covered = n ? tokens.ends[n - 1] : 0;
    const totalTokens = covered >= text.length || n === 0 ? n : Math.round((n * text.length) / Math.max(1, covered));
    return { tokens, totalTokens };
  }

  /** Bytes an analysis holds per token: q, k, v and the graph's statistics of every layer, and the prediction. */
  get bytesPerToken(): number {
    return bytesPerTokenOf(this.manifest);
  }

  /** The same without the queries, where the runner can recompute them on demand (else bytesPerToken). */
  get leanBytesPerToken(): number {
    return bytesPerTokenOf(this.manifest, !this.runner.queriesAt);
  }

  /** Positions the graph can take at all (GPT-2's learned positions end at n_positions); undefined: no limit. */
  get maxPositions(): number | undefined {
    return this.runner.maxPositions;
  }

  /**
   * The token cap that honours the max-token setting, the memory budget and the model's own position limit; with
   * `storeQueries` false, for an analysis that recomputes its queries (when the runner can).
   */
  tokenCap(maxTokens: number, memoryBudgetBytes?: number, storeQueries = false): number {
    const capped = Math.min(maxTokens, this.runner.maxPositions ?? Infinity);
    const perToken = storeQueries ? this.bytesPerToken : this.leanBytesPerToken;
    return memoryBudgetBytes ? Math.max(1, Math.min(capped, Math.floor(memoryBudgetBytes / perToken))) : capped;
  }

  async analyse(text: string, opts: AnalyseOptions): Promise<Analysis> {
    const { tokens, totalTokens } = this.tokenize(text, this.tokenCap(opts.maxTokens, opts.memoryBudgetBytes));
    // queries are kept when the tokens fit the budget with them; otherwise recomputed on demand (cheaper than a
    // shorter analysis: for a big grouped-query model they are most of what a token holds)
    const storeQueries = tokens.ids.length <= this.tokenCap(opts.maxTokens, opts.memoryBudgetBytes, true);
    const analysis = new Analysis(this.manifest, tokens, totalTokens, storeQueries);
    if (opts.previous && opts.previous.manifest.id === this.manifest.id) {
      analysis.reusePrefix(opts.previous, commonPrefix(opts.previous.tokens.ids, tokens.ids));
    }
    opts.onProgress?.(analysis);
    await this.run(analysis, opts);
    return analysis;
  }

  /**
   * Attention rows of one head or a layer's mean, like `analysis.rows`, but through the rows graph for long rows
   * (~6x faster than scalar JavaScript at 32k keys). Same numbers: the unit tests compare the two.
   */
  async rows(analysis: Analysis, position: number, head: HeadChoice): Promise<AttentionRows> {
    await this.prepareQueries(analysis, [position]);
    const n = position + 1;
    const all = await this.layerRows(analysis, position, head.layer);
    if (!all) return analysis.rows(position, head);
    const heads = this.manifest.architecture.heads;
    const pick = (rows: Float32Array): Float32Array => {
      if (head.head !== 'mean') return rows.slice(head.head * n, (head.head + 1) * n);
      const mean = new Float32Array(n);
      for (let h = 0; h < heads; h++) for (let j = 0; j < n; j++) mean[j] += rows[h * n + j] / heads;
      return mean;
    };
    const softmax = pick(all.softmax);
    const ssmax = pick(all.ssmax);
    // one head: the graph's statistics; the mean over heads is another distribution, so its own (one row per view)
    const stat = (view: Normaliser, row: Float32Array): FocusStats =>
      head.head === 'mean' ? focusStats(row) : statsOf(all.max[view][head.head], all.entropy[view][head.head], n);
    return { position, n, head, softmax, ssmax, stats: { softmax: stat('softmax', softmax), ssmax: stat('ssmax', ssmax) } };
  }

  /** Recomputes the queries of these positions where the analysis keeps none (one decode step each), so that rows can be read. */
  async prepareQueries(analysis: Analysis, positions: readonly number[]): Promise<void> {
    for (const p of positions) {
      if (analysis.hasQueries(p)) continue;
      if (!this.runner.queriesAt) throw new Error('this model cannot recompute queries');
      if (p < 0 || p >= analysis.analysed) throw new RangeError(`position ${p} is not analysed yet (${analysis.analysed} of ${analysis.length})`);
      analysis.setQueries(p, await this.runner.queriesAt(analysis, p));
    }
  }

  /** Every head's rows of one layer under both views, with their statistics, from the rows graph (undefined: use JS). */
  async layerRows(analysis: Analysis, position: number, layer: number): Promise<LayerRows | undefined> {
    const n = position + 1;
    const L = analysis.layers[layer];
    const shape = attentionShape(this.manifest);
    // the rows graph takes one key per query head and scores scaled by 1/√d: our own models' layout
    if (
      !this.rowsSession ||
      n < ROWS_GRAPH_MIN_KEYS ||
      position >= analysis.analysed ||
      !L ||
      shape.kvHeads !== shape.heads ||
      this.manifest.architecture.scoreScale !== undefined
    )
      return undefined;
    const { Tensor } = ort();
    const { heads, headDim } = this.manifest.architecture;
    // scores[n, heads] = K[n, heads·d] × Q_blockdiag[heads·d, heads]: no transpose of the key buffer, which is fed as is
    const qbd = new Float32Array(heads * headDim * heads);
    const inv = 1 / Math.sqrt(headDim);
    const { q, offset } = analysis.queriesAt(layer, position);
    for (let h = 0; h < heads; h++) for (let t = 0; t < headDim; t++) qbd[(h * headDim + t) * heads + h] = q[offset + h * headDim + t] * inv;
    const cSoftmax = new Float32Array(heads);
    const cSsmax = new Float32Array(heads);
    for (let h = 0; h < heads; h++) {
      const c = headMultipliers(this.manifest, layer, h, n);
      cSoftmax[h] = c.softmax;
      cSsmax[h] = c.ssmax;
    }
    const out = await this.rowsSession.run({
      keys: new Tensor('float32', L.k.subarray(0, n * heads * headDim), [n, heads * headDim]),
      q_blockdiag: new Tensor('float32', qbd, [heads * headDim, heads]),
      c_softmax: new Tensor('float32', cSoftmax, [heads, 1]),
      c_ssmax: new Tensor('float32', cSsmax, [heads, 1]),
    });
    const rows: LayerRows = {
      softmax: out.softmax.data as Float32Array,
      ssmax: out.ssmax.data as Float32Array,
      max: { softmax: new Float32Array(heads), ssmax: new Float32Array(heads) },
      entropy: { softmax: new Float32Array(heads), ssmax: new Float32Array(heads) },
    };
    for (const view of VIEWS) {
      const max = out[`${view}_max`];
      const entropy = out[`${view}_entropy`];
      if (max && entropy) {
        rows.max[view] = max.data as Float32Array;
        rows.entropy[view] = entropy.data as Float32Array;
        continue;
      }
      // a rows.onnx from before the statistics were part of it (one beside a custom model's manifest)
      for (let h = 0; h < heads; h++) {
        const s = focusStats(rows[view].subarray(h * n, (h + 1) * n));
        rows.max[view][h] = s.maxWeight;
        rows.entropy[view][h] = s.entropy;
      }
    }
    return rows;
  }

  /** Runs the remaining positions of an analysis chunk by chunk. */
  async run(analysis: Analysis, opts: Pick<AnalyseOptions, 'chunkSize' | 'signal' | 'onProgress' | 'unboundedChunks'>): Promise<void> {
    const chunk = opts.chunkSize ?? 256;
    while (analysis.analysed < analysis.length) {
      if (opts.signal?.aborted) throw new CancelledError();
      const P = analysis.analysed;
      const T = Math.min(this.runner.chunkFor(P, chunk, opts.unboundedChunks === true), analysis.length - P);
      const out = await this.runner.run(analysis, P, T);
      out.layers.forEach((o, l) => analysis.storeChunk(l, P, T, o.q, o.k, o.v, o.stats));
      await this.whatIfStats?.apply(
        analysis,
        P,
        T,
        out.layers.map((o) => o.q),
      );
      this.storePredictions(analysis, P, T, out.logits);
      analysis.analysed = P + T;
      opts.onProgress?.(analysis);
      // let row queries and cancellation in between chunks
      await new Promise((r) => setImmediate(r));
    }
  }

  private storePredictions(a: Analysis, P: number, T: number, logits: Float32Array): void {
    const V = this.manifest.architecture.vocabSize;
    for (let i = 0; i < T; i++) {
      const row = logits.subarray(i * V, (i + 1) * V);
      let best = 0;
      let max = -Infinity;
      for (let j = 0; j < V; j++) {
        if (row[j] > max) {
          max = row[j];
          best = j;
        }
      }
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp(row[j] - max);
      a.prediction[P + i] = best;
      const next = P + i + 1 < a.length ? a.tokens.ids[P + i + 1] : -1;
      a.nll[P + i] = next >= 0 ? Math.log(sum) + max - row[next] : NaN;
    }
  }

  async dispose(): Promise<void> {
    await this.rowsSession?.release();
    await this.whatIfStats?.release();
    await this.runner.release();
  }
}

function readOwnTokenizer(tokenizerPath: string): BpeTokenizer {
  try {
    return BpeTokenizer.parse(readFileSync(tokenizerPath, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(tokenizerPath, code ? `cannot read the tokenizer file: ${code}` : `tokenizer file is corrupt: ${(e as Error).message}`);
  }
}

/** The tokenizer of a model (manifest or Hugging Face folder) without loading its graph. */
export function loadTokenizer(manifestPath: string): Tokenizer {
  if (isHfFolder(manifestPath)) return readHfTokenizer(describeHfFolder(manifestPath));
  return readOwnTokenizer(loadModelFiles(manifestPath).tokenizerPath);
}

/** models/rows.onnx beside the manifest or shipped (optional: without it rows are computed in JavaScript). */
async function rowsSessionFor(files: ModelFiles, threads: number, opts: LoadOptions): Promise<OrtSession | undefined> {
  const beside = path.join(path.dirname(files.manifestPath), 'rows.onnx');
  const rowsPath = existsSync(beside) ? beside : shippedGraph('rows.onnx');
  if (opts.createSession || !rowsPath) return undefined;
  return ort()
    .InferenceSession.create(rowsPath, helperSessionOptions(threads, false))
    .catch(() => undefined);
}
