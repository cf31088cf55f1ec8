/**
 * One analysed document: its tokens and, for every analysed position, each layer's post-RoPE queries, keys and
 * values (kept so that any position's attention rows cost O(n·d), and so that an edit only recomputes from the first
 * changed token), the per-head focus statistics the graph computed, and the model's next-token prediction.
 *
 * Layout per layer: position-major [capacity, heads, headDim], as the graph takes and returns them, so the cache
 * of the first P positions is a contiguous prefix that is handed to onnxruntime without a copy. Keys and values
 * have kvHeads heads (fewer than the query heads under grouped-query attention).
 *
 * Queries may be left out (`storesQueries` false) where they would cost most of the memory (a big grouped-query
 * model whose document does not fit the budget with them): a position's queries are then recomputed on demand, one
 * decode step against the cache (AttentionModel.prepareQueries), and kept for a few recent positions.
 */
import { focusStats, headMultipliers, scores, softmaxScaled, topK, type FocusStats } from './attention';
import { attentionShape, type ModelManifest } from './manifest';
import type { Encoding } from './tokenizer';
import { tokenAtOffset } from './tokenText';
import type { HeadChoice, Normaliser } from './domain';

export interface LayerStore {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  /** [capacity, heads, 4]: own max, own entropy, other max, other entropy (from the graph). */
  stats: Float32Array;
}

export interface AttentionRows {
  position: number;
  n: number;
  head: HeadChoice;
  softmax: Float32Array;
  ssmax: Float32Array;
  stats: Record<Normaliser, FocusStats>;
}

export interface AttendedKey {
  position: number;
  softmax: number;
  ssmax: number;
}

export class Analysis {
  /** Positions 0..analysed-1 have results. */
  analysed = 0;
  readonly layers: LayerStore[];
  /** argmax of the logits at each position (the model's guess for the next token). */
  readonly prediction: Int32Array;
  /** -log p(actual next token) at each position; NaN at the last. */
  readonly nll: Float32Array;
  /** Recomputed queries of recent positions ([layer] of [heads, headDim]) when the store holds none. */
  private readonly recomputed = new Map<number, Float32Array[]>();

  constructor(
    readonly manifest: ModelManifest,
    readonly tokens: Encoding,
    /** Tokens in the whole document (estimated when the cap cut tokenisation short). */
    readonly totalTokens: number,
    /** False: queries are not kept, and are recomputed for the positions asked about (see above). */
    readonly storesQueries = true,
  ) {
    const { layers } = manifest.architecture;
    const { heads, kvHeads, headDim } = attentionShape(manifest);
    const cap = tokens.ids.length;
    this.layers = Array.from({ length: layers }, () => ({
      q: new Float32Array(storesQueries ? heads * cap * headDim : 0),
      k: new Float32Array(kvHeads * cap * headDim),
      v: new Float32Array(kvHeads * cap * headDim),
      stats: new Float32Array(heads * cap * 4),
    }));
    this.prediction = new Int32Array(cap);
    this.nll = new Float32Array(cap).fill(NaN);
  }

  get length(): number {
    return this.tokens.ids.length;
  }

  get done(): boolean {
    return this.analysed >= this.length;
  }

  /** Bytes held by the per-position arrays. */
  get bytes(): number {
    return (
      this.layers.reduce((acc, l) => acc + l.q.byteLength + l.k.byteLength + l.v.byteLength + l.stats.byteLength, 0) +
      this.prediction.byteLength +
      this.nll.byteLength
    );
  }

  /** Copies results for positions [0, upTo) from an earlier analysis of the same token prefix. */
  reusePrefix(prev: Analysis, upTo: number): void {
    const { heads, kvHeads, headDim } = attentionShape(this.manifest);
    let n = Math.min(upTo, prev.analysed, this.length);
    // The last reused position's nll needs the logits for the token after it: when that token changed, recompute
    // the position (copying would leave its nll unknown, and that NaN would be copied on by every later edit).
    if (n > 0 && n === upTo && n < this.length) n--;
    // queries can be copied only where both keep them (a store without them recomputes them on demand)
    const keys = this.storesQueries && prev.storesQueries ? (['q', 'k', 'v'] as const) : (['k', 'v'] as const);
    if (this.storesQueries && !prev.storesQueries) n = 0;
    for (let l = 0; l < this.layers.length; l++) {
      for (const key of keys) this.layers[l][key].set(prev.layers[l][key].subarray(0, n * (key === 'q' ? heads : kvHeads) * headDim));
      this.layers[l].stats.set(prev.layers[l].stats.subarray(0, n * heads * 4));
    }
    this.prediction.set(prev.prediction.subarray(0, n));
    this.nll.set(prev.nll.subarray(0, n));
    if (n > 0 && n === this.length) this.nll[n - 1] = NaN; // the last token has no next one
    this.analysed = n;
  }

  /** Past keys or values of one layer, [P, kvHeads, headDim]: a view, not a copy. */
  past(layer: number, which: 'k' | 'v', P: number): Float32Array {
    const { kvHeads, headDim } = attentionShape(this.manifest);
    return this.layers[layer][which].subarray(0, P * kvHeads * headDim);
  }

  /** Stores one chunk's [T, heads, ...] outputs at positions [start, start+T). */
  storeChunk(layer: number, start: number, T: number, q: Float32Array, k: Float32Array, v: Float32Array, stats: Float32Array): void {
    const { heads, kvHeads, headDim } = attentionShape(this.manifest);
    const L = this.layers[layer];
    const row = heads * headDim;
    const kvRow = kvHeads * headDim;
    if (this.storesQueries) L.q.set(q.subarray(0, T * row), start * row);
    L.k.set(k.subarray(0, T * kvRow), start * kvRow);
    L.v.set(v.subarray(0, T * kvRow), start * kvRow);
    L.stats.set(stats.subarray(0, T * heads * 4), start * heads * 4);
  }

  /** Whether the queries of `position` are at hand (stored, or recomputed and kept). */
  hasQueries(position: number): boolean {
    return this.storesQueries || this.recomputed.has(position);
  }

  /** Keeps one position's recomputed queries ([layer] of [heads, headDim]); the oldest go beyond a few. */
  setQueries(position: number, perLayer: Float32Array[]): void {
    this.recomputed.delete(position);
    this.recomputed.set(position, perLayer);
    while (this.recomputed.size > RECOMPUTED_POSITIONS) this.recomputed.delete(this.recomputed.keys().next().value as number);
  }

  /** The query vectors of one layer at `position`, and where head 0's starts in them. */
  queriesAt(layer: number, position: number): { q: Float32Array; offset: number } {
    const { heads, headDim } = attentionShape(this.manifest);
    if (this.storesQueries) return { q: this.layers[layer].q, offset: position * heads * headDim };
    const q = this.recomputed.get(position);
    if (!q) throw new Error(`the queries of position ${position} were not recomputed (AttentionModel.prepareQueries)`);
    return { q: q[layer], offset: 0 };
  }

  /** Weights of one head (or the mean over a layer's heads) for the query at `position`, under both views. */
  rows(position: number, head: HeadChoice): AttentionRows {
    if (position < 0 || position >= this.analysed) throw new RangeError(`position ${position} is not analysed yet (${this.analysed} of ${this.length})`);
    const { heads, kvHeads, headDim, scoreScale, group } = attentionShape(this.manifest);
    if (head.layer < 0 || head.layer >= this.layers.length) throw new RangeError(`layer ${head.layer} does not exist`);
    if (head.head !== 'mean' && (head.head < 0 || head.head >= heads)) throw new RangeError(`head ${head.head} does not exist`);
    const n = position + 1;
    // under a sliding window the query sees keys first..position only (their weights; the rest stay 0)
    const first = firstKeySeen(this.manifest, position);
    const seen = n - first;
    const L = this.layers[head.layer];
    const which = head.head === 'mean' ? Array.from({ length: heads }, (_, h) => h) : [head.head];
    const softmax = new Float32Array(n);
    const ssmax = new Float32Array(n);
    const z = new Float32Array(seen);
    const p = new Float32Array(seen);
    const stride = kvHeads * headDim;
    const { q, offset } = this.queriesAt(head.layer, position);
    for (const h of which) {
      scores(q, offset + h * headDim, L.k, first * stride + Math.floor(h / group) * headDim, seen, headDim, stride, z, scoreScale);
      const c = headMultipliers(this.manifest, head.layer, h, seen);
      softmaxScaled(z, c.softmax, p);
      for (let j = 0; j < seen; j++) softmax[first + j] += p[j] / which.length;
      softmaxScaled(z, c.ssmax, p);
      for (let j = 0; j < seen; j++) ssmax[first + j] += p[j] / which.length;
    }
    return { position, n, head, softmax, ssmax, stats: { softmax: focusStats(softmax), ssmax: focusStats(ssmax) } };
  }

  /** The k most attended keys under the model's own normaliser, with both weights. */
  top(rows: AttentionRows, k: number): AttendedKey[] {
    const own = this.manifest.normaliser === 'ssmax' ? rows.ssmax : rows.softmax;
    return topK(own, k).map((j) => ({ position: j, softmax: rows.softmax[j], ssmax: rows.ssmax[j] }));
  }

  /** Per-head focus statistics from the graph at one position, by normaliser. */
  graphStats(position: number, layer: number, head: number): Record<Normaliser, { maxWeight: number; entropy: number }> {
    const s = this.layers[layer].stats;
    const o = (position * this.manifest.architecture.heads + head) * 4;
    const own = { maxWeight: s[o], entropy: s[o + 1] };
    const other = { maxWeight: s[o + 2], entropy: s[o + 3] };
    return this.manifest.normaliser === 'ssmax' ? { ssmax: own, softmax: other } : { softmax: own, ssmax: other };
  }

  /** Index of the token whose range holds `offset` (-1 when there is none). */
  tokenAt(offset: number): number {
    return tokenAtOffset(this.tokens, offset);
  }
}

/** Recomputed queries kept per analysis: the clicked token, its neighbours, a hover or two. */
const RECOMPUTED_POSITIONS = 64;

/** The first key the query at `position` sees: 0, or the start of its sliding window (manifest.architecture.slidingWindow). */
export function firstKeySeen(m: ModelManifest, position: number): number {
  const w = m.architecture.slidingWindow;
  return w ? Math.max(0, position + 1 - w) : 0;
}

/** How many keys the query at `position` sees: all before it and itself, or its sliding window. */
export function keysSeen(m: ModelManifest, position: number): number {
  return position + 1 - firstKeySeen(m, position);
}

/** First position at which two token sequences differ. */
export function commonPrefix(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
