/**
 * The Focus view's caption, computed from the curve it describes: what this file shows, not what the paper says
 * it should show. Compares each view's mean over the query positions up to the training length with its mean over
 * the last stretch of the file (the upper half of n, when that lies past twice the training length).
 */
import type { FocusCurvePayload, Normaliser } from '../src/protocol';
import { otherLaw } from './format';

const NAME: Record<Normaliser, string> = { softmax: 'softmax', ssmax: 'SSMax' };
/** Changes smaller than this (in max weight) are called "about the same". */
const SAME = 0.02;

/**
 * Mean of ys over the bins with lo < n ≤ hi, each bin weighted by the span of n it covers: bins are log-spaced, so
 * a boundary lies at the geometric mean of neighbouring bins' n (the first bin starts at n = 1, and the last ends as
 * far past its n as its left boundary lies before it).
 */
export function meanOver(n: readonly number[], ys: readonly number[], lo: number, hi: number): number | undefined {
  let sum = 0;
  let weight = 0;
  const edge = (i: number) => Math.sqrt(n[i] * n[i + 1]);
  for (let i = 0; i < n.length; i++) {
    if (!(n[i] > lo && n[i] <= hi)) continue;
    const left = i > 0 ? edge(i - 1) : 0.5;
    const right = i + 1 < n.length ? edge(i) : (n[i] * n[i]) / Math.max(0.5, left);
    const w = Math.max(1e-9, right - left);
    sum += w * ys[i];
    weight += w;
  }
  return weight > 0 ? sum / weight : undefined;
}

export interface FocusSummary {
  early: { upTo: number; maxWeight: Record<Normaliser, number> };
  late: { from: number; to: number; maxWeight: Record<Normaliser, number> };
}

/** The numbers behind the caption; undefined when the file does not reach past twice the training length. */
export function summariseFocus(curve: FocusCurvePayload): FocusSummary | undefined {
  const { n, trainingContext: N } = curve;
  const maxN = n.length ? n[n.length - 1] : 0;
  if (maxN <= 2 * N) return undefined;
  const from = Math.max(2 * N, Math.floor(maxN / 2));
  const pick = (lo: number, hi: number) => {
    const s = meanOver(n, curve.maxWeight.softmax, lo, hi);
    const x = meanOver(n, curve.maxWeight.ssmax, lo, hi);
    return s === undefined || x === undefined ? undefined : { softmax: s, ssmax: x };
  };
  const early = pick(0, N);
  const late = pick(from, maxN);
  if (!early || !late) return undefined;
  return { early: { upTo: N, maxWeight: early }, late: { from, to: Math.round(maxN), maxWeight: late } };
}

function trend(a: number, b: number): string {
  if (Math.abs(b - a) < SAME) return `stayed at about ${a.toFixed(2)}`;
  return `${b < a ? 'fell' : 'rose'} from ${a.toFixed(2)} to ${b.toFixed(2)}`;
}

/** One or two sentences: what the curve of this file shows, and which view is the model's own. */
export function focusCaption(curve: FocusCurvePayload, own: Normaliser, head: string): string {
  const other: Normaliser = own === 'softmax' ? 'ssmax' : 'softmax';
  // the what-if's name: the law's label for a softmax-trained model under a law other than SSMax's (format.ts)
  const law = otherLaw(own);
  const name = (v: Normaliser) => (v === 'ssmax' && law ? law.label : NAME[v]);
  const roles = law
    ? `${NAME[own]} is the model's own normaliser; ${name(other)} is a what-if, ${law.formula} (${law.source}).`
    : `${NAME[own]} is the model's own normaliser; ${NAME[other]} is a what-if that agrees with it at n = ${curve.trainingContext}.`;
  const s = summariseFocus(curve);
  const scope = `${head}, every query position of the first ${curve.analysedTokens.toLocaleString('en-US')} tokens, ${curve.n.length} log-spaced bins of n.`;
  if (!s) {
    return `${scope} This file does not reach past twice the training length (${curve.trainingContext} keys), so it cannot show how focus changes with length. ${roles}`;
  }
  const range = `n ≤ ${s.early.upTo.toLocaleString('en-US')} to n ${s.late.from.toLocaleString('en-US')}–${s.late.to.toLocaleString('en-US')}`;
  const said = (v: Normaliser) => `${name(v)}'s ${trend(s.early.maxWeight[v], s.late.maxWeight[v])}`;
  return `${scope} Mean max weight from ${range}: ${said(own)}; ${said(other)}.${sinkSentence(curve, s, name)} ${roles}`;
}

/** What the sink panel shows over the same two stretches of n, or nothing when the curve has no sink. */
function sinkSentence(curve: FocusCurvePayload, s: FocusSummary, name: (v: Normaliser) => string): string {
  const sink = curve.sink;
  if (!sink) return '';
  // n ≤ tokens is 1 by definition: the early stretch starts past it
  const at = (v: Normaliser, lo: number, hi: number) => meanOver(curve.n, sink[v], lo, hi);
  const parts = (['softmax', 'ssmax'] as const).flatMap((v) => {
    const a = at(v, sink.tokens, s.early.upTo);
    const b = at(v, s.late.from, s.late.to);
    return a === undefined || b === undefined ? [] : [`${name(v)} ${pct(a)} → ${pct(b)}`];
  });
  if (!parts.length) return '';
  return ` Attention on the first ${sink.tokens} tokens (a sink; ${sink.samples} sampled queries per bin), the same stretches: ${parts.join(', ')}.`;
}

function pct(v: number): string {
  return `${(100 * v).toFixed(v < 0.01 ? 2 : 1)} %`;
}
