/**
 * The length-scaling laws a softmax-trained model's what-if view can take. Each multiplies the scores of a query
 * that sees n keys by c(n), the temperature a shipped model (or the SSMax paper) applies as its context grows:
 * the extension shows softmax(c(n)·z) beside the model's own softmax(z). Every law is 1 (or close to it) at short
 * contexts, so the two views agree where the model was trained, and differ by how each law sharpens past it.
 *
 * SSMax-trained models learned their own law (s·ln n with s per head): their what-if is plain softmax calibrated at
 * N_train (see attention.ts), and the choice here does not apply to them.
 */
import type { WhatIfDescription } from './domain';
import type { ModelManifest } from './manifest';

export type WhatIfLawId = 'ssmax' | 'ssmax-s' | 'qwen-logn' | 'llama4';

export interface WhatIfLaw {
  law: WhatIfLawId;
  /** SSMax's s for 'ssmax-s'. */
  s?: number;
  /** Llama 4's β ("attn_scale") for 'llama4'. */
  beta?: number;
  /** Llama 4's F ("floor_scale") for 'llama4'; undefined: the model's training length. */
  floor?: number;
}

export const WHAT_IF_LAWS: readonly WhatIfLawId[] = ['ssmax', 'ssmax-s', 'qwen-logn', 'llama4'];
export const DEFAULT_WHAT_IF: WhatIfLaw = { law: 'ssmax' };
export const DEFAULT_SSMAX_S = 0.25;
/** Llama 4 Scout's attn_scale. */
export const DEFAULT_LLAMA4_BETA = 0.1;

/**
 * c(n) for a query that sees n ≥ 1 keys of a model trained at N tokens.
 *  - ssmax:     ln n / ln N, SSMax with s = 1/ln N (arXiv 2501.19399, eq. 2): equals softmax at n = N.
 *  - ssmax-s:   s·ln n, SSMax with a chosen s (the same equation; s = 1/ln N is the case above).
 *  - qwen-logn: max(1, ln n / ln N), Qwen-7B's `use_logn_attn` (modeling_qwen.py: the query at 1-based position i is
 *               multiplied by log_N(i) when i > N, by 1 otherwise; dropped from Qwen1.5 on).
 *  - llama4:    1 + β·ln(1 + ⌊n / F⌋), Llama 4's attention temperature tuning (meta-llama/llama-models
 *               models/llama4/model.py and transformers' modeling_llama4.py: q × (ln(⌊(pos + 1) / F⌋ + 1)·β + 1)
 *               with 0-based pos, so pos + 1 = n; F = 8192, β = 0.1 in Scout, on its NoPE layers only — applied to
 *               every layer here, as Ministral 3 does with F = its original length; its code floors pos / F, one
 *               position later at each multiple of F).
 */
export function lawMultiplier(w: WhatIfLaw, n: number, trainingContext: number): number {
  const lnN = Math.log(trainingContext);
  switch (w.law) {
    case 'ssmax':
      return Math.log(n) / lnN;
    case 'ssmax-s':
      return (w.s ?? DEFAULT_SSMAX_S) * Math.log(n);
    case 'qwen-logn':
      return Math.max(1, Math.log(n) / lnN);
    case 'llama4':
      return 1 + (w.beta ?? DEFAULT_LLAMA4_BETA) * Math.log(1 + Math.floor(n / (w.floor ?? trainingContext)));
  }
}

export function describeWhatIf(w: WhatIfLaw, trainingContext: number): WhatIfDescription {
  const N = trainingContext;
  switch (w.law) {
    case 'ssmax':
      return { label: 'SSMax', formula: `softmax((ln n / ln ${N})·z)`, source: 'SSMax with s = 1/ln N (arXiv 2501.19399)' };
    case 'ssmax-s':
      return {
        label: `SSMax s=${fmt(w.s ?? DEFAULT_SSMAX_S)}`,
        formula: `softmax(${fmt(w.s ?? DEFAULT_SSMAX_S)}·ln n·z)`,
        source: 'SSMax with a chosen s (arXiv 2501.19399)',
      };
    case 'qwen-logn':
      return { label: 'Qwen log-n', formula: `softmax(max(1, ln n / ln ${N})·z)`, source: "Qwen-7B's use_logn_attn" };
    case 'llama4': {
      const F = w.floor ?? N;
      const b = fmt(w.beta ?? DEFAULT_LLAMA4_BETA);
      return { label: 'Llama 4 temp.', formula: `softmax((1 + ${b}·ln(1 + ⌊n/${F}⌋))·z)`, source: "Llama 4's attention temperature tuning (also Ministral 3)" };
    }
  }
}

/** A model's what-if law, described: softmax-trained models only (an SSMax-trained model's scaled view is its own). */
export function modelWhatIf(m: ModelManifest): WhatIfDescription | undefined {
  return m.normaliser === 'softmax' ? describeWhatIf(m.whatIf ?? DEFAULT_WHAT_IF, m.trainingContext) : undefined;
}

export function isDefaultWhatIf(w: WhatIfLaw | undefined): boolean {
  return w === undefined || w.law === 'ssmax';
}

/** A law from anything received (a setting, a message, a CLI flag): undefined when it is not one. */
export function parseWhatIf(v: unknown): WhatIfLaw | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!WHAT_IF_LAWS.includes(o.law as WhatIfLawId)) return undefined;
  const positive = (x: unknown, max: number) => (typeof x === 'number' && Number.isFinite(x) && x > 0 && x <= max ? x : undefined);
  const law: WhatIfLaw = { law: o.law as WhatIfLawId };
  if (o.s !== undefined) {
    law.s = positive(o.s, 10);
    if (law.s === undefined) return undefined;
  }
  if (o.beta !== undefined) {
    law.beta = positive(o.beta, 10);
    if (law.beta === undefined) return undefined;
  }
  if (o.floor !== undefined) {
    law.floor = positive(o.floor, 1 << 30);
    if (law.floor === undefined || !Number.isInteger(law.floor)) return undefined;
  }
  return law;
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(3)));
}
