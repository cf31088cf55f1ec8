/**
 * Loss on the user's file: each token's next-token loss (−log p of the token that follows, in nats) is a
 * by-product of the analysis (the logits of every position are seen once); these summarise it by position bucket,
 * 0–N, N–4N, 4N–16N, … with N the training length: where on this file a model stops predicting, the paper's
 * long-context loss result on the user's own text. The difference of two models is taken token by token.
 */

export interface LossBucket {
  from: number;
  to: number;
  /** Mean nats per token over the bucket's positions with a loss (the last token has none). */
  mean: number;
  /** Positions averaged. */
  count: number;
}

/** Edges 0, N, 4N, 16N, … up to `length`. */
export function lossBucketEdges(length: number, trainingContext: number): number[] {
  const edges = [0];
  for (let e = trainingContext; e < length; e *= 4) edges.push(e);
  if (length > 0) edges.push(length);
  return edges;
}

/** Mean of the finite values in [from, to) (NaN if none), and how many there were. */
function finiteMean(values: ArrayLike<number>, from: number, to: number): { mean: number; count: number } {
  let sum = 0;
  let count = 0;
  for (let i = from; i < Math.min(to, values.length); i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      sum += v;
      count++;
    }
  }
  return { mean: count ? sum / count : NaN, count };
}

export function lossBuckets(nll: ArrayLike<number>, trainingContext: number): LossBucket[] {
  const edges = lossBucketEdges(nll.length, trainingContext);
  const out: LossBucket[] = [];
  for (let b = 0; b + 1 < edges.length; b++) out.push({ from: edges[b], to: edges[b + 1], ...finiteMean(nll, edges[b], edges[b + 1]) });
  return out;
}

/**
 * Token-by-token difference a − b over the positions both have (the same tokenizer, so the same tokens: the
 * caller checks the ids). NaN where either has no loss.
 */
export function lossDifference(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  const n = Math.min(a.length, b.length);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i] - b[i];
  return out;
}

/** Slices of the loss strip in the panel when not told: one per ~2 px of a panel's width. */
export const LOSS_STRIP_BINS = 200;

/**
 * The loss along the file in `bins` equal slices of positions (fewer when shorter): `edges` are the slices'
 * first positions and the end, `mean` each slice's mean over its positions with a loss (NaN if none).
 */
export function lossStrip(nll: ArrayLike<number>, bins = LOSS_STRIP_BINS): { edges: number[]; mean: number[] } {
  const n = nll.length;
  const B = Math.max(0, Math.min(bins, n));
  const edges = Array.from({ length: B + 1 }, (_, b) => Math.round((b * n) / Math.max(1, B)));
  return { edges, mean: stripMeans(nll, edges) };
}

/** Each slice's mean over given edges (another model's losses on the slices of the first one's strip). */
export function stripMeans(nll: ArrayLike<number>, edges: readonly number[]): number[] {
  return edges.slice(0, -1).map((from, b) => finiteMean(nll, from, edges[b + 1]).mean);
}
