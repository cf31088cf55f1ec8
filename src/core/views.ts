/**
 * Summaries behind the panel's views, computed where the analysis lives (the model process), so that only small
 * arrays cross to the host and the webview: a full row at 32k keys is 128 KB per head and view, a strip is 64 numbers.
 *   - distanceProfile: attention mass by query-key distance, log-spaced buckets (the distance view);
 *   - strip / headCell: where one head looks, in equal slices of the document (the model view's small multiples);
 *   - focusCurve: max weight and normalised entropy against n over the whole file (the paper's Figure 1, live).
 */
import type { Analysis } from './analysis';
import { focusStats, topK, type FocusStats } from './attention';
import { FOCUS_CURVE_POINTS, STRIP_BINS, type DistanceProfile, type HeadCell, type HeadChoice, type Normaliser } from './domain';

/** Bucket of a distance: 0 → 0, 1 → 1, 2–3 → 2, 4–7 → 3, … (so bucket b ≥ 1 holds [2^(b-1), 2^b)). */
export function distanceBucket(d: number): number {
  return d === 0 ? 0 : 32 - Math.clz32(d);
}

/** Mass by distance from the query at `position` (whose rows cover keys 0..position), both views. */
export function distanceProfile(softmax: ArrayLike<number>, ssmax: ArrayLike<number>, position: number): DistanceProfile {
  const n = position + 1;
  const buckets = distanceBucket(position) + 1;
  const edges = Array.from({ length: buckets }, (_, b) => (b === 0 ? 0 : 2 ** (b - 1)));
  edges.push(n);
  const s = new Array<number>(buckets).fill(0);
  const x = new Array<number>(buckets).fill(0);
  for (let j = 0; j < n; j++) {
    const b = distanceBucket(position - j);
    s[b] += softmax[j];
    x[b] += ssmax[j];
  }
  return { edges, softmax: s, ssmax: x };
}

/** Mass in `bins` equal slices of a row (one slice per key when the row is shorter). Slices sum to the row's sum. */
export function strip(row: ArrayLike<number>, bins = STRIP_BINS): number[] {
  const n = row.length;
  const B = Math.min(bins, n);
  const out = new Array<number>(B).fill(0);
  for (let j = 0; j < n; j++) out[Math.min(B - 1, Math.floor((j * B) / n))] += row[j];
  return out;
}

/** Keys 0..k-1 a sink share sums over when no setting says otherwise (StreamingLLM keeps 4 such tokens). */
export const DEFAULT_SINK_TOKENS = 4;

/**
 * The share of a row's attention on its first k keys: the "attention sink" of StreamingLLM (Xiao et al. 2023,
 * arXiv 2309.17453), where softmax models park attention they have nowhere better to put.
 */
export function sinkShare(row: ArrayLike<number>, k = DEFAULT_SINK_TOKENS): number {
  let s = 0;
  for (let j = 0; j < Math.min(k, row.length); j++) s += row[j];
  return s;
}

/**
 * One cell of the model view from a head's two rows. `stats`, when the rows graph already computed them, saves a
 * logarithm per key (a third of the cell's cost at 32k keys).
 */
export function headCell(
  layer: number,
  head: number,
  softmax: Float32Array,
  ssmax: Float32Array,
  own: Normaliser,
  stats?: Record<Normaliser, FocusStats>,
  top = 3,
  sinkTokens = DEFAULT_SINK_TOKENS,
): HeadCell {
  const ownRow = own === 'ssmax' ? ssmax : softmax;
  return {
    layer,
    head,
    stats: stats ?? { softmax: focusStats(softmax), ssmax: focusStats(ssmax) },
    strip: { softmax: strip(softmax), ssmax: strip(ssmax) },
    top: topK(ownRow, top).map((j) => ({ position: j, softmax: softmax[j], ssmax: ssmax[j] })),
    sink: { softmax: sinkShare(softmax, sinkTokens), ssmax: sinkShare(ssmax, sinkTokens) },
    sinkTokens,
  };
}

export interface FocusCurve {
  n: number[];
  maxWeight: Record<Normaliser, number[]>;
  normalisedEntropy: Record<Normaliser, number[]>;
  /** The interquartile range of each bin's queries (for the mean of heads: of each query's mean over heads). */
  quartiles: {
    maxWeight: Record<Normaliser, { q1: number[]; q3: number[] }>;
    normalisedEntropy: Record<Normaliser, { q1: number[]; q3: number[] }>;
  };
  /**
   * Each bin's mean share of attention on the first `tokens` keys (the sink, StreamingLLM), over up to `samples`
   * queries spread across the bin: a share needs the whole row (its normaliser), which the graph's statistics do not
   * give, so it is sampled. Bins with n ≤ tokens are 1 by definition.
   */
  sink?: { tokens: number; samples: number } & Record<Normaliser, number[]>;
}

/** Queries per bin the sink curve samples when not told: rows cost O(n·d) each, 64 bins × 3 at 32k keys ≈ 1 s. */
export const SINK_SAMPLES_PER_BIN = 3;

/** The q-quantile of sorted values (linear between neighbours, as numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/**
 * Start positions of up to `points` bins over positions 0..count-1, log-spaced in n = position + 1 (the first bins
 * are single positions, later ones wider), so both the short-context start and the long tail are resolved.
 */
export function logBins(count: number, points = FOCUS_CURVE_POINTS): number[] {
  const starts: number[] = [];
  if (count <= 0) return starts;
  const lnMax = Math.log(count + 1);
  let prev = -1;
  for (let i = 0; i < points; i++) {
    const start = Math.max(prev + 1, Math.round(Math.exp((lnMax * i) / points)) - 1);
    if (start >= count) break;
    starts.push(start);
    prev = start;
  }
  return starts;
}

const VIEWS: readonly Normaliser[] = ['softmax', 'ssmax'];

/**
 * Focus against context length for one head, or the mean of a layer's heads' statistics (not the statistics of
 * the mean row), from the statistics the graph computed for every analysed position: per bin the mean over its
 * queries and their interquartile range.
 */
export function focusCurve(analysis: Analysis, head: HeadChoice, points = FOCUS_CURVE_POINTS, sink?: { tokens: number; samples?: number }): FocusCurve {
  const heads = analysis.manifest.architecture.heads;
  const which = head.head === 'mean' ? Array.from({ length: heads }, (_, h) => h) : [head.head];
  const count = analysis.analysed;
  const starts = logBins(count, points);
  const empty = () => ({ softmax: [] as number[], ssmax: [] as number[] });
  const emptyQ = () => ({ softmax: { q1: [] as number[], q3: [] as number[] }, ssmax: { q1: [] as number[], q3: [] as number[] } });
  const curve: FocusCurve = { n: [], maxWeight: empty(), normalisedEntropy: empty(), quartiles: { maxWeight: emptyQ(), normalisedEntropy: emptyQ() } };
  // read the graph's [position, head, 4] statistics directly (own max, own entropy, other max, other entropy):
  // a call per position and head would allocate 2 objects each, 130k of them at 32k tokens
  const stats = analysis.layers[head.layer].stats;
  const own: Normaliser = analysis.manifest.normaliser === 'ssmax' ? 'ssmax' : 'softmax';
  const slot: Record<Normaliser, number> = own === 'ssmax' ? { ssmax: 0, softmax: 2 } : { softmax: 0, ssmax: 2 };
  for (let b = 0; b < starts.length; b++) {
    const from = starts[b];
    const to = b + 1 < starts.length ? starts[b + 1] : count;
    const width = to - from;
    let nSum = 0;
    // per query of the bin, its value (the mean over the chosen heads), per statistic and view
    const values = {
      maxWeight: { softmax: new Float64Array(width), ssmax: new Float64Array(width) },
      normalisedEntropy: { softmax: new Float64Array(width), ssmax: new Float64Array(width) },
    };
    for (let p = from; p < to; p++) {
      const n = p + 1;
      nSum += n;
      const invLn = n > 1 ? 1 / Math.log(n) : 0;
      for (const view of VIEWS) {
        let max = 0;
        let ent = 0;
        for (const h of which) {
          const o = (p * heads + h) * 4 + slot[view];
          max += stats[o];
          ent += stats[o + 1] * invLn;
        }
        values.maxWeight[view][p - from] = max / which.length;
        values.normalisedEntropy[view][p - from] = ent / which.length;
      }
    }
    curve.n.push(nSum / width);
    for (const key of ['maxWeight', 'normalisedEntropy'] as const) {
      for (const view of VIEWS) {
        const v = values[key][view];
        let sum = 0;
        for (let i = 0; i < width; i++) sum += v[i];
        curve[key][view].push(sum / width);
        v.sort();
        curve.quartiles[key][view].q1.push(quantile(v, 0.25));
        curve.quartiles[key][view].q3.push(quantile(v, 0.75));
      }
    }
  }
  if (sink) curve.sink = sinkCurve(analysis, head, starts, count, sink.tokens, sink.samples ?? SINK_SAMPLES_PER_BIN);
  return curve;
}

/** Positions `samples` queries of [from, to) sit at: spread evenly, the first and last included. */
export function samplePositions(from: number, to: number, samples: number): number[] {
  const width = to - from;
  if (width <= samples) return Array.from({ length: width }, (_, i) => from + i);
  if (samples === 1) return [from + Math.floor(width / 2)];
  return Array.from({ length: samples }, (_, i) => from + Math.round((i * (width - 1)) / (samples - 1)));
}

/** The sink share per bin of `starts` (see FocusCurve.sink), from the rows of the sampled queries. */
function sinkCurve(analysis: Analysis, head: HeadChoice, starts: number[], count: number, tokens: number, samples: number): FocusCurve['sink'] {
  const out = { tokens, samples, softmax: [] as number[], ssmax: [] as number[] };
  for (let b = 0; b < starts.length; b++) {
    const from = starts[b];
    const to = b + 1 < starts.length ? starts[b + 1] : count;
    if (to <= tokens) {
      // every query of the bin sees at most `tokens` keys: all its weight is on them
      out.softmax.push(1);
      out.ssmax.push(1);
      continue;
    }
    const at = samplePositions(Math.max(from, tokens), to, samples);
    let soft = 0;
    let ss = 0;
    for (const p of at) {
      const rows = analysis.rows(p, head); // the mean row's sink share is the mean of its heads' shares (linear)
      soft += sinkShare(rows.softmax, tokens);
      ss += sinkShare(rows.ssmax, tokens);
    }
    out.softmax.push(soft / at.length);
    out.ssmax.push(ss / at.length);
  }
  return out;
}
