/**
 * The needle probe: a passkey test modelled on the paper's key-information retrieval experiment, on a copy of the
 * user's document (never the document itself).
 * A key-value line ("PASSKEY = 48151") is planted at several depths of the document's first tokens, and the same key
 * is asked for at the end ("PASSKEY ="). For each depth and each model we record how much attention the asking token
 * puts on the value's tokens (every layer × head, under both views), and what the model predicts next (greedy, a few
 * tokens). The document itself is only read: the probe works on strings it builds.
 */
import type { Analysis } from './analysis';
import { everyHeadRows } from './layerCells';
import { CancelledError, type AttentionModel } from './model';
import type { Normaliser, ProbeDepthResult, ProbeModelResult } from './domain';

export interface ProbeOptions {
  /** The planted key and value; the needle line is `${key} = ${value}`. */
  key: string;
  value: string;
  /** 0 = at the start, 1 = just before the question. */
  depths: number[];
  /** Tokens of the probed copy, the needle and the question included (fewer if the document is shorter). */
  contextTokens: number;
  /** Tokens of greedy continuation to read the model's answer from. */
  answerTokens?: number;
  signal?: AbortSignal;
  onResult?: (result: ProbeDepthResult, completedRuns: number, totalRuns: number) => void;
}

export interface ProbeText {
  text: string;
  /** UTF-16 range of the value inside `text`. */
  valueStart: number;
  valueEnd: number;
}

export const DEFAULT_PROBE = { key: 'PASSKEY', value: '48151', depths: [0, 0.25, 0.5, 0.75, 1] } as const;

export function needleLine(key: string, value: string): string {
  return `${key} = ${value}`;
}

export function questionText(key: string): string {
  return `\n${key} =`;
}

/**
 * The probed copy: `base` with the needle on a line of its own at the line boundary nearest `depth` of its length,
 * and the question appended.
 */
export function plantNeedle(base: string, depth: number, key: string, value: string): ProbeText {
  const target = Math.round(Math.min(1, Math.max(0, depth)) * base.length);
  // nearest line start at or before the target (or the end), so the needle never splits a line
  let at = target >= base.length ? base.length : base.lastIndexOf('\n', target - 1) + 1;
  if (at < 0) at = 0;
  const before = base.slice(0, at);
  const lead = before.length && !before.endsWith('\n') ? '\n' : '';
  const line = `${lead}${needleLine(key, value)}\n`;
  const text = before + line + base.slice(at) + questionText(key);
  const valueStart = before.length + lead.length + key.length + 3;
  return { text, valueStart, valueEnd: valueStart + value.length };
}

/** The document's first tokens, cut at a line end, leaving room for the needle and the question. */
export function probeBase(model: AttentionModel, documentText: string, contextTokens: number, key: string, value: string): string {
  const extra = model.tokenizer.encode(`\n${needleLine(key, value)}\n${questionText(key)}`).ids.length + 8;
  const enc = model.tokenizer.encode(documentText, Math.max(1, contextTokens - extra));
  const n = enc.ids.length;
  if (!n) return '';
  const end = enc.ends[n - 1];
  if (end >= documentText.length) return documentText;
  const cut = documentText.lastIndexOf('\n', end - 1);
  return documentText.slice(0, cut > 0 ? cut + 1 : end);
}

function tokensIn(a: Analysis, start: number, end: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a.tokens.ends[i] > start && a.tokens.starts[i] < end) out.push(i);
  return out;
}

/** Weight the query puts on the needle's tokens, for every layer × head, under both views. */
async function needleWeights(model: AttentionModel, a: Analysis, query: number, needle: number[]): Promise<ProbeModelResult['best'][]> {
  const out: ProbeModelResult['best'][] = [];
  for await (const r of everyHeadRows(model, a, query)) {
    let softmax = 0;
    let ssmax = 0;
    for (const j of needle) {
      softmax += r.softmax[j];
      ssmax += r.ssmax[j];
    }
    out.push({ layer: r.layer, head: r.head, softmax, ssmax });
  }
  return out;
}

/** The model's greedy continuation of `text`, `count` tokens (stops at a line end). Reuses `a` as the prefix. */
async function continuation(model: AttentionModel, text: string, a: Analysis, count: number, signal?: AbortSignal): Promise<string> {
  const ids: number[] = [];
  let current = a;
  for (let i = 0; i < count; i++) {
    const next = current.prediction[current.length - 1];
    ids.push(next);
    const sofar = model.tokenizer.decode(ids);
    if (sofar.includes('\n') || i === count - 1) break;
    current = await model.analyse(text + sofar, { maxTokens: current.length + ids.length + 8, previous: current, signal });
  }
  return model.tokenizer.decode(ids).split('\n')[0];
}

/** Runs the probe for every depth and model; results arrive per depth through `onResult`. */
export async function runProbe(models: AttentionModel[], documentText: string, opts: ProbeOptions): Promise<ProbeDepthResult[]> {
  if (!models.length) throw new Error('no model to probe');
  const base = probeBase(models[0], documentText, opts.contextTokens, opts.key, opts.value);
  const totalRuns = opts.depths.length * models.length;
  const previous = new Map<AttentionModel, Analysis>();
  const results: ProbeDepthResult[] = [];
  let completed = 0;
  for (const depth of opts.depths) {
    const planted = plantNeedle(base, depth, opts.key, opts.value);
    const result: ProbeDepthResult = { depth, contextTokens: 0, needlePosition: -1, queryPosition: -1, models: [] };
    for (const model of models) {
      if (opts.signal?.aborted) throw new CancelledError();
      const a = await model.analyse(planted.text, { maxTokens: Number.MAX_SAFE_INTEGER, previous: previous.get(model), signal: opts.signal });
      previous.set(model, a);
      const needle = tokensIn(a, planted.valueStart, planted.valueEnd);
      const query = a.length - 1;
      const weights = await needleWeights(model, a, query, needle);
      const own: Normaliser = model.manifest.normaliser;
      const best = weights.reduce((b, w) => (w[own] > b[own] ? w : b));
      const mean = {
        softmax: weights.reduce((s, w) => s + w.softmax, 0) / weights.length,
        ssmax: weights.reduce((s, w) => s + w.ssmax, 0) / weights.length,
      };
      const prediction = await continuation(model, planted.text, a, opts.answerTokens ?? 4, opts.signal);
      result.contextTokens = a.length;
      result.needlePosition = needle[0] ?? -1;
      result.queryPosition = query;
      result.models.push({
        modelId: model.manifest.id,
        displayName: model.manifest.displayName,
        normaliser: own,
        prediction,
        correct: prediction.trim().startsWith(opts.value),
        best,
        mean,
      });
      completed++;
      if (result.models.length === models.length) results.push(result);
      opts.onResult?.(result, completed, totalRuns);
    }
  }
  return results;
}
