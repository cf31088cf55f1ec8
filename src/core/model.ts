/**
 * The model: manifest + tokenizer + one onnxruntime session, and the streamed analysis of a document.
 *
 * The document runs in chunks of query tokens against the growing key/value cache (the exported graph takes past
 * keys and values), so memory stays bounded by the chunk's scores and results arrive chunk by chunk. An analysis of
 * an edited document starts from the first token that changed: everything before it is copied from the previous one.
 * Between chunks the loop yields to the event loop, so queries for rows are answered while a long file still runs.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { Analysis, commonPrefix } from './analysis';
import { loadModelFiles, ModelFileError, type ModelFiles } from './manifest';
import { createWithFallback, providerOrder, type ProviderChoice, type ProviderName, type SkippedProvider } from './providers';
import { BpeTokenizer } from './tokenizer';

type Ort = typeof import('onnxruntime-node');

export interface LoadOptions {
  manifestPath: string;
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

/** 2^23 floats = 32 MiB per score-sized tensor in the graph. */
const MAX_SCORE_FLOATS = 1 << 23;
const MIN_CHUNK = 32;

let ortModule: Ort | undefined;
function ort(): Ort {
  // Loaded lazily so that the tokenizer and maths can be used (and tested) without the native addon.
  if (!ortModule) {
    ortModule = require('onnxruntime-node') as Ort;
    // A GPU provider that is missing logs a native error at session creation; we report it ourselves, once.
    ortModule.env.logLevel = 'fatal';
  }
  return ortModule;
}

const EXPECTED_OUTPUTS = (layers: number) => ['logits', ...Array.from({ length: layers }, (_, l) => [`q_${l}`, `k_${l}`, `v_${l}`, `stats_${l}`]).flat()];

export class AttentionModel {
  private constructor(
    readonly files: ModelFiles,
    readonly tokenizer: BpeTokenizer,
    private readonly session: OrtSession,
    readonly provider: ProviderName,
    readonly skippedProviders: SkippedProvider[],
  ) {}

  get manifest() {
    return this.files.manifest;
  }

  static async load(opts: LoadOptions): Promise<AttentionModel> {
    const files = loadModelFiles(opts.manifestPath);
    let tokenizer: BpeTokenizer;
    try {
      tokenizer = BpeTokenizer.parse(readFileSync(files.tokenizerPath, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ModelFileError(files.tokenizerPath, code ? `cannot read the tokenizer file: ${code}` : `tokenizer file is corrupt: ${(e as Error).message}`);
    }
    let modelBytes: Buffer;
    try {
      modelBytes = readFileSync(files.onnxPath);
    } catch (e) {
      throw new ModelFileError(files.onnxPath, `cannot read the ONNX model: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const threads = opts.threads ?? Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
    const create =
      opts.createSession ??
      ((provider: ProviderName) =>
        ort().InferenceSession.create(modelBytes, {
          executionProviders: [provider],
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
          // the arena keeps the peak of every chunk's scores for the life of the session; without it memory follows use
          enableCpuMemArena: false,
        }));
    let result;
    try {
      result = await createWithFallback(providerOrder(opts.provider, process.platform), (p) => create(p, files.onnxPath));
    } catch (e) {
      throw new ModelFileError(files.onnxPath, `the ONNX model could not be loaded: ${(e as Error).message}`);
    }
    const { session } = result;
    const missing = EXPECTED_OUTPUTS(files.manifest.architecture.layers).filter((o) => !session.outputNames.includes(o));
    if (missing.length || !session.inputNames.includes('input_ids')) {
      await session.release();
      throw new ModelFileError(files.onnxPath, `the ONNX model does not have the inputs/outputs this extension needs (missing: ${missing.join(', ') || 'input_ids'})`);
    }
    return new AttentionModel(files, tokenizer, session, result.provider, result.skipped);
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
    const { layers, heads, headDim } = this.manifest.architecture;
    return layers * (3 * heads * headDim + heads * 4) * 4 + 8;
  }

  /** The token cap that honours both the max-token setting and the memory budget. */
  tokenCap(maxTokens: number, memoryBudgetBytes?: number): number {
    return memoryBudgetBytes ? Math.max(1, Math.min(maxTokens, Math.floor(memoryBudgetBytes / this.bytesPerToken))) : maxTokens;
  }

  async analyse(text: string, opts: AnalyseOptions): Promise<Analysis> {
    const { tokens, totalTokens } = this.tokenize(text, this.tokenCap(opts.maxTokens, opts.memoryBudgetBytes));
    const analysis = new Analysis(this.manifest, tokens, totalTokens);
    if (opts.previous && opts.previous.manifest.id === this.manifest.id) {
      analysis.reusePrefix(opts.previous, commonPrefix(opts.previous.tokens.ids, tokens.ids));
    }
    opts.onProgress?.(analysis);
    await this.run(analysis, opts);
    return analysis;
  }

  /** Runs the remaining positions of an analysis chunk by chunk. */
  async run(analysis: Analysis, opts: Pick<AnalyseOptions, 'chunkSize' | 'signal' | 'onProgress' | 'unboundedChunks'>): Promise<void> {
    const { Tensor } = ort();
    const { layers, heads, headDim } = this.manifest.architecture;
    const chunk = opts.chunkSize ?? 256;
    while (analysis.analysed < analysis.length) {
      if (opts.signal?.aborted) throw new CancelledError();
      const P = analysis.analysed;
      // Bound the graph's biggest intermediates ([heads, T, P+T] scores) so memory stays flat as P grows.
      const bounded = opts.unboundedChunks ? chunk : Math.floor(MAX_SCORE_FLOATS / (heads * (P + chunk)));
      const T = Math.min(Math.max(MIN_CHUNK, Math.min(chunk, bounded)), analysis.length - P);
      const ids = new BigInt64Array(T);
      for (let i = 0; i < T; i++) ids[i] = BigInt(analysis.tokens.ids[P + i]);
      const feeds: Record<string, OrtTensor> = { input_ids: new Tensor('int64', ids, [1, T]) };
      for (let l = 0; l < layers; l++) {
        feeds[`past_k_${l}`] = new Tensor('float32', analysis.past(l, 'k', P), [P, heads, headDim]);
        feeds[`past_v_${l}`] = new Tensor('float32', analysis.past(l, 'v', P), [P, heads, headDim]);
      }
      const out = await this.session.run(feeds);
      for (let l = 0; l < layers; l++) {
        const get = (name: string) => out[`${name}_${l}`].data as Float32Array;
        analysis.storeChunk(l, P, T, get('q'), get('k'), get('v'), get('stats'));
      }
      this.storePredictions(analysis, P, T, out.logits.data as Float32Array);
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
      for (let j = 0; j < V; j++) if (row[j] > max) ((max = row[j]), (best = j));
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp(row[j] - max);
      a.prediction[P + i] = best;
      const next = P + i + 1 < a.length ? a.tokens.ids[P + i + 1] : -1;
      a.nll[P + i] = next >= 0 ? Math.log(sum) + max - row[next] : NaN;
    }
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
