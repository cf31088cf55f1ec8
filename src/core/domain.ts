/**
 * The domain's shared vocabulary: normalisers, head choices, tokens, focus statistics, head cells, probe results.
 * The model core, the model process's protocol and the webview protocol all import these from here, so none of
 * them depends on another's messages. It imports nothing (no vscode, no Node).
 */

export type Normaliser = 'softmax' | 'ssmax';

/** A layer and a head, or the mean over the layer's heads. */
export interface HeadChoice {
  layer: number;
  head: number | 'mean';
}

export interface TokenInfo {
  /** The token's text as it appears in the document (may be '' for a token inside a multi-byte character). */
  text: string;
  /** 0-based line of the token's first character. */
  line: number;
  /** Document offsets (UTF-16 code units), end exclusive. */
  start: number;
  end: number;
}

export interface ModelInfo {
  id: string;
  displayName: string;
  /** The model's own normaliser (what it was trained with, or for a retrofit what it now runs): the other view is
   * the counterfactual. */
  normaliser: Normaliser;
  /** One line: what this model is (e.g. "softmax-trained weights run with SSMax, no training"). */
  summary: string;
  trainingContext: number;
  layers: number;
  heads: number;
  executionProvider: string;
  /**
   * The law softmax-trained models' length-scaled ("ssmax") view follows as a what-if (whatIf.ts): one for every
   * model, since it is a setting. An SSMax-trained model's length-scaled view is its own and does not follow it.
   */
  whatIf?: WhatIfDescription;
}

/** How the UI names a what-if law: a short label for the view, the formula for the legend, where it comes from. */
export interface WhatIfDescription {
  label: string;
  formula: string;
  source: string;
}

export interface FocusStats {
  maxWeight: number;
  /** Shannon entropy in nats. */
  entropy: number;
  /** entropy / ln n: 1 = uniform over the keys. */
  normalisedEntropy: number;
}

/**
 * Attention mass by query-key distance in log-spaced buckets: bucket b holds keys at distance
 * [edges[b], edges[b+1]) from the query (distance 0 is the query token itself). edges = 0, 1, 2, 4, 8, ... and the
 * last edge is n (so every key is in exactly one bucket); each view's masses sum to 1.
 */
export interface DistanceProfile {
  edges: number[];
  softmax: number[];
  ssmax: number[];
}

/** Cells of the model view's strips: this many equal slices of keys 0..position. */
export const STRIP_BINS = 64;

/** One cell of the model view: where one layer × head looks from the selected token, and how focused it is. */
export interface HeadCell {
  layer: number;
  head: number;
  stats: Record<Normaliser, FocusStats>;
  /**
   * Attention mass in STRIP_BINS equal slices of keys 0..position, per view (each sums to 1). With fewer keys than
   * bins, one slice per key.
   */
  strip: Record<Normaliser, number[]>;
  /** The 3 most attended keys under the model's own view, with both weights. */
  top: { position: number; softmax: number; ssmax: number }[];
  /** Attention on the first `sinkTokens` keys (the attention sink, StreamingLLM arXiv 2309.17453), per view. */
  sink: Record<Normaliser, number>;
  sinkTokens: number;
}

export const FOCUS_CURVE_POINTS = 256;

/** One model's answer at one depth of the needle probe. */
export interface ProbeModelResult {
  modelId: string;
  displayName: string;
  normaliser: Normaliser;
  /** The model's greedy continuation after the question (a few tokens). */
  prediction: string;
  /** Whether the prediction starts with the planted value. */
  correct: boolean;
  /** Weight the last question token puts on the value's tokens: the head with the most (own view), both views. */
  best: { layer: number; head: number; softmax: number; ssmax: number };
  /** The same weight averaged over every layer × head. */
  mean: { softmax: number; ssmax: number };
}

export interface ProbeDepthResult {
  /** 0 = the needle at the start of the copy, 1 = just before the question. */
  depth: number;
  /** Tokens in the probed copy (the needle and the question included). */
  contextTokens: number;
  /** Token position of the value's first token, and of the query (last question token). */
  needlePosition: number;
  queryPosition: number;
  models: ProbeModelResult[];
}

export interface NeedleMapModelCell {
  modelId: string;
  displayName: string;
  normaliser: Normaliser;
  haystacks: number;
  correct: number;
  /** Mean over the haystacks of the best head's weight on the value (the head chosen per haystack by the own view). */
  best: Record<Normaliser, number>;
  /** Mean over the haystacks of the mean weight of every layer × head. */
  mean: Record<Normaliser, number>;
}

export interface NeedleMapCell {
  /** The length asked for; `contextTokens` is the copies' mean actual length (shorter where the file runs out). */
  length: number;
  contextTokens: number;
  depth: number;
  models: NeedleMapModelCell[];
}

/** A whole number in [0, max]: positions, layers and heads in anything received. */
export function isIndex(v: unknown, max = Number.MAX_SAFE_INTEGER): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

export function isHeadChoice(v: unknown): v is HeadChoice {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return isIndex(o.layer, 1024) && (o.head === 'mean' || isIndex(o.head, 1024)) && Object.keys(o).length === 2;
}

export function headLabel(h: HeadChoice): string {
  return `L${h.layer} ${h.head === 'mean' ? 'mean' : `H${h.head}`}`;
}
