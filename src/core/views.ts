/**
 * Summaries behind the panel's views, computed where the analysis lives (the model process), so that only small
 * arrays cross to the host and the webview: a full row at 32k keys is 128 KB per head and view, a strip is 64 numbers.
 *   - distanceProfile: attention mass by query-key distance, log-spaced buckets (the distance view);
 *   - strip / headCell: where one head looks, in equal slices of the document (the model view's small multiples);
 *   - focusCurve: max weight and normalised entropy against n over the whole file (the paper's Figure 1, live).
 */
import type { Analysis } from './analysis';
import { focusStats, topK, type FocusStats } from './attention';
import { FOCUS_CURVE_POINTS, STRIP_BINS, type DistanceProfile, type HeadCell, type HeadChoice, type Normaliser } from '../protocol';

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

/**
 * One cell of the model view from a head's two rows. `stats`, when the rows graph already computed them, saves a
 * logarithm per key (a third of the cell's cost at 32k keys).
 */
export function headCell(layer: number, head: number, softmax: Float32Array, ssmax: Float32Array, own: Normaliser, stats?: Record<Normaliser, FocusStats>, top = 3): HeadCell {
  const ownRow = own === 'ssmax' ? ssmax : softmax;
  return {
    layer,
    head,
    stats: stats ?? { softmax: focusStats(softmax), ssmax: focusStats(ssmax) },
    strip: { softmax: strip(softmax), ssmax: strip(ssmax) },
    top: topK(ownRow, top).map((j) => ({ position: j, softmax: softmax[j], ssmax: ssmax[j] })),
  };
}

export interface FocusCurve {
  n: number[];
  maxWeight: Record<Normaliser, number[]>;
  normalisedEntropy: Record<Normaliser, number[]>;
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

/**
 * Focus against context length for one head, or the mean of a layer's heads' statistics (not the statistics of
 * the mean row), from the statistics the graph computed for every analysed position.
 */
export function focusCurve(analysis: Analysis, head: HeadChoice, points = FOCUS_CURVE_POINTS): FocusCurve {
  const heads = analysis.manifest.architecture.heads;
  const which = head.head === 'mean' ? Array.from({ length: heads }, (_, h) => h) : [head.head];
  const count = analysis.analysed;
  const starts = logBins(count, points);
  const curve: FocusCurve = { n: [], maxWeight: { softmax: [], ssmax: [] }, normalisedEntropy: { softmax: [], ssmax: [] } };
  // read the graph's [position, head, 4] statistics directly (own max, own entropy, other max, other entropy):
  // a call per position and head would allocate 2 objects each, 130k of them at 32k tokens
  const stats = analysis.layers[head.layer].stats;
  const ownIsSsmax = analysis.manifest.normaliser === 'ssmax';
  for (let b = 0; b < starts.length; b++) {
    const from = starts[b];
    const to = b + 1 < starts.length ? starts[b + 1] : count;
    let nSum = 0;
    let ownMax = 0, ownEnt = 0, otherMax = 0, otherEnt = 0;
    for (let p = from; p < to; p++) {
      const n = p + 1;
      nSum += n;
      const invLn = n > 1 ? 1 / Math.log(n) : 0;
      for (const h of which) {
        const o = (p * heads + h) * 4;
        ownMax += stats[o];
        ownEnt += stats[o + 1] * invLn;
        otherMax += stats[o + 2];
        otherEnt += stats[o + 3] * invLn;
      }
    }
    const k = (to - from) * which.length;
    curve.n.push(nSum / (to - from));
    curve.maxWeight[ownIsSsmax ? 'ssmax' : 'softmax'].push(ownMax / k);
    curve.maxWeight[ownIsSsmax ? 'softmax' : 'ssmax'].push(otherMax / k);
    curve.normalisedEntropy[ownIsSsmax ? 'ssmax' : 'softmax'].push(ownEnt / k);
    curve.normalisedEntropy[ownIsSsmax ? 'softmax' : 'ssmax'].push(otherEnt / k);
  }
  return curve;
}
