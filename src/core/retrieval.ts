/**
 * Retrieval heads (Wu et al. 2024, "Retrieval Head Mechanistically Explains Long-Context Factuality", arXiv
 * 2404.15574), found on a copy of the user's document (never the document itself).
 *
 * The copy is the document's first tokens followed by a few of its own spans repeated at the end. While the model
 * reads a repeated span it can predict each next token by copying it from the span's earlier occurrence. Wu et al.
 * say a head copies and pastes token w when the model produces w, w is in the needle, and the head's largest
 * attention weight is on a needle token equal to w; a head's retrieval score is the share of the needle's tokens it
 * copies that way (|g_h ∩ k| / |k|). Here the needle is each earlier span, "produces" is the model's greedy
 * prediction under teacher forcing (the copy is fed, not generated), and |k| counts every scored step.
 *
 * The argmax of softmax(c·z) does not depend on c > 0, so the score is the same under both views; the weight each
 * head puts on the copied token does differ, and is reported per view.
 */
import type { Analysis } from './analysis';
import { everyHeadRows } from './layerCells';
import { CancelledError, type AttentionModel } from './model';
import type { Normaliser } from './domain';
import type { Encoding } from './tokenizer';

export interface RetrievalHeadScore {
  layer: number;
  head: number;
  /** Share of the scored steps at which the model copied the token and this head's top key was that earlier token. */
  score: number;
  /** Steps behind the score. */
  hits: number;
  /** Mean weight on the earlier occurrence of the token being predicted, per view. */
  weight: Record<Normaliser, number>;
}

export interface RetrievalModelResult {
  modelId: string;
  displayName: string;
  normaliser: Normaliser;
  /** Tokens in the copy the model read. */
  contextTokens: number;
  /** Steps scored: positions inside a repeated span whose next token also repeats the span. */
  steps: number;
  /** Steps at which the model's prediction was the copied token. */
  copied: number;
  /** Every layer × head, highest score first (ties: higher own-view weight first). */
  heads: RetrievalHeadScore[];
}

export interface RetrievalOptions {
  /** Tokens of the copy, the repeated spans included (fewer if the document is shorter). */
  contextTokens: number;
  /** Spans repeated at the end, taken at these depths (0..1) of the document's first tokens. */
  depths?: number[];
  /** Tokens per repeated span (cut at a line end). */
  spanTokens?: number;
  signal?: AbortSignal;
  onProgress?: (completedSteps: number, totalSteps: number) => void;
}

export const DEFAULT_RETRIEVAL = { depths: [0.15, 0.45, 0.75], spanTokens: 64 } as const;

/** A repeated span: characters [sourceStart, sourceEnd) of the copy appear again at [copyStart, copyStart + length). */
export interface RepeatedSpan {
  sourceStart: number;
  sourceEnd: number;
  copyStart: number;
}

export interface RetrievalText {
  text: string;
  spans: RepeatedSpan[];
}

function lineStartAtOrAfter(text: string, at: number): number {
  if (at <= 0) return 0;
  if (text[at - 1] === '\n') return at;
  const nl = text.indexOf('\n', at);
  return nl < 0 ? text.length : nl + 1;
}

/**
 * The copy: the first tokens of `documentText` (cut at a line end, leaving room for the repeats), then for each depth
 * the whole lines from there that hold about `spanTokens` tokens, appended in order.
 */
export function buildRetrievalText(
  tokenize: (text: string, maxTokens: number) => Encoding,
  documentText: string,
  contextTokens: number,
  depths: readonly number[] = DEFAULT_RETRIEVAL.depths,
  spanTokens: number = DEFAULT_RETRIEVAL.spanTokens,
): RetrievalText {
  const repeatBudget = depths.length * (spanTokens + 2) + 4;
  const baseTokens = Math.max(8, contextTokens - repeatBudget);
  const enc = tokenize(documentText, baseTokens);
  const n = enc.ids.length;
  if (!n) return { text: '', spans: [] };
  let base = documentText;
  const end = enc.ends[n - 1];
  if (end < documentText.length) {
    const cut = documentText.lastIndexOf('\n', end - 1);
    base = documentText.slice(0, cut > 0 ? cut + 1 : end);
  }
  let text = base.endsWith('\n') || !base.length ? base : `${base}\n`;
  const spans: RepeatedSpan[] = [];
  for (const depth of depths) {
    const first = Math.min(n - 1, Math.floor(Math.min(1, Math.max(0, depth)) * n));
    const sourceStart = lineStartAtOrAfter(base, enc.starts[first]);
    const lastToken = Math.min(n - 1, first + spanTokens - 1);
    // whole lines within the span's tokens; a first line longer than that is taken whole, within a character bound
    let sourceEnd = base.lastIndexOf('\n', enc.ends[lastToken] - 1) + 1;
    if (sourceEnd <= sourceStart) sourceEnd = Math.min(lineStartAtOrAfter(base, enc.ends[lastToken]), sourceStart + spanTokens * 16);
    sourceEnd = Math.min(sourceEnd, base.length);
    if (sourceEnd - sourceStart < 2) continue;
    const copyStart = text.length;
    text += base.slice(sourceStart, sourceEnd);
    if (!text.endsWith('\n')) text += '\n';
    spans.push({ sourceStart, sourceEnd, copyStart });
  }
  return { text, spans };
}

/** Index of the first token that starts at or after `offset` (`below` if none). */
function firstTokenFrom(starts: Int32Array, offset: number, below: number): number {
  let lo = 0;
  let hi = below;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the token that starts at `offset`, or -1. */
function tokenStartingAt(starts: Int32Array, offset: number, below: number): number {
  let lo = 0;
  let hi = below - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] === offset) return mid;
    if (starts[mid] < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * For each token of the repeated spans that is tokenised as in its earlier occurrence (same text, same id), the
 * position of that earlier token: copy position → source position.
 */
export function alignCopies(a: Pick<Analysis, 'tokens' | 'length'>, spans: RepeatedSpan[]): Map<number, number> {
  const { ids, starts, ends } = a.tokens;
  const out = new Map<number, number>();
  for (const s of spans) {
    const length = s.sourceEnd - s.sourceStart;
    // a line's first token may include the newline before it (pre-tokenisers join "\n" and indentation), so the
    // copy's first token can start after copyStart; every token inside is matched by its offset and id
    const firstCopy = firstTokenFrom(starts, s.copyStart, a.length);
    for (let i = firstCopy; i < a.length && ends[i] <= s.copyStart + length; i++) {
      const j = tokenStartingAt(starts, starts[i] - s.copyStart + s.sourceStart, firstCopy);
      if (j >= 0 && ids[j] === ids[i] && ends[j] - starts[j] === ends[i] - starts[i]) out.set(i, j);
    }
  }
  return out;
}

/** The steps scored: query p inside a repeat whose next token p + 1 also repeats its source (so it can be copied). */
export function copySteps(aligned: Map<number, number>): { query: number; source: number }[] {
  const steps: { query: number; source: number }[] = [];
  for (const [i, j] of aligned) {
    // the first token of a span has no earlier copy step before it; p = i - 1 predicts token i
    if (aligned.has(i - 1)) steps.push({ query: i - 1, source: j });
  }
  return steps.sort((x, y) => x.query - y.query);
}

/** Index of the largest weight (the first of equals). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

/** Scores every head of one model on an analysed copy. */
export async function scoreRetrievalHeads(
  model: AttentionModel,
  a: Analysis,
  spans: RepeatedSpan[],
  opts: Pick<RetrievalOptions, 'signal' | 'onProgress'> = {},
): Promise<RetrievalModelResult> {
  const { layers, heads } = model.manifest.architecture;
  const own = model.manifest.normaliser;
  const aligned = alignCopies(a, spans);
  const steps = copySteps(aligned).filter((s) => s.query < a.analysed);
  const sourceSpan = (pos: number) => spans.some((s) => a.tokens.starts[pos] >= s.sourceStart && a.tokens.ends[pos] <= s.sourceEnd);
  const hits = new Float64Array(layers * heads);
  const weight = { softmax: new Float64Array(layers * heads), ssmax: new Float64Array(layers * heads) };
  let copied = 0;
  for (let t = 0; t < steps.length; t++) {
    if (opts.signal?.aborted) throw new CancelledError();
    const { query, source } = steps[t];
    const w = a.tokens.ids[query + 1];
    const copies = a.prediction[query] === w;
    if (copies) copied++;
    for await (const r of everyHeadRows(model, a, query)) {
      const k = r.layer * heads + r.head;
      weight.softmax[k] += r.softmax[source];
      weight.ssmax[k] += r.ssmax[source];
      if (!copies) continue;
      const top = argmax(r[own]);
      if (a.tokens.ids[top] === w && sourceSpan(top)) hits[k]++;
    }
    opts.onProgress?.(t + 1, steps.length);
  }
  const scored = steps.length || 1;
  const list: RetrievalHeadScore[] = [];
  for (let l = 0; l < layers; l++)
    for (let h = 0; h < heads; h++) {
      const k = l * heads + h;
      list.push({
        layer: l,
        head: h,
        score: hits[k] / scored,
        hits: hits[k],
        weight: { softmax: weight.softmax[k] / scored, ssmax: weight.ssmax[k] / scored },
      });
    }
  list.sort((x, y) => y.score - x.score || y.weight[own] - x.weight[own]);
  return {
    modelId: model.manifest.id,
    displayName: model.manifest.displayName,
    normaliser: own,
    contextTokens: a.length,
    steps: steps.length,
    copied,
    heads: list,
  };
}

/** Builds the copy of `documentText`, analyses it with each model and scores their heads. */
export async function findRetrievalHeads(models: AttentionModel[], documentText: string, opts: RetrievalOptions): Promise<RetrievalModelResult[]> {
  if (!models.length) throw new Error('no model to score');
  // within every model's own cap (GPT-2's learned positions stop at n_positions): the repeats sit at the copy's end
  const context = Math.min(opts.contextTokens, ...models.map((m) => m.tokenCap(opts.contextTokens)));
  const copy = buildRetrievalText((t, max) => models[0].tokenizer.encode(t, max), documentText, context, opts.depths, opts.spanTokens);
  if (!copy.spans.length) throw new Error('the document is too short to repeat a span of it');
  const results: RetrievalModelResult[] = [];
  // progress over every model's steps: each model's step count is known only after its analysis, so the first
  // model's count stands for the others (they share the tokenizer in a pair; a different one differs by a few steps)
  let done = 0;
  let perModel = 0;
  for (const model of models) {
    if (opts.signal?.aborted) throw new CancelledError();
    const a = await model.analyse(copy.text, { maxTokens: Number.MAX_SAFE_INTEGER, signal: opts.signal });
    const before = done;
    results.push(
      await scoreRetrievalHeads(model, a, copy.spans, {
        signal: opts.signal,
        onProgress: (k, total) => {
          perModel ||= total;
          done = before + k;
          opts.onProgress?.(done, Math.max(done, perModel * models.length));
        },
      }),
    );
  }
  return results;
}
