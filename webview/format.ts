/** Number and token formatting shared by the stats, the top-k list and the legend. */
import type { Normaliser, WhatIfDescription } from '../src/protocol';

export const NORMALISER_NAME: Record<Normaliser, string> = { softmax: 'Softmax', ssmax: 'SSMax' };

let whatIf: WhatIfDescription | undefined;

/** The law softmax-trained models' what-if view follows (one for every model: it is a setting), from the model shown. */
export function setWhatIf(d: WhatIfDescription | undefined): void {
  whatIf = d;
}

/** The law a model's length-scaled view follows when it is not SSMax's default: softmax-trained models only. */
export function otherLaw(own: Normaliser): WhatIfDescription | undefined {
  return own === 'softmax' && whatIf && whatIf.label !== NORMALISER_NAME.ssmax ? whatIf : undefined;
}

/**
 * A view's name: for a softmax-trained model, the length-scaled ("ssmax") view is the what-if and carries its law's
 * label (SSMax by default); otherwise the normaliser's name. `own` undefined: a series that mixes models.
 */
export function viewName(norm: Normaliser, own: Normaliser | undefined): string {
  return norm === 'ssmax' && own === 'softmax' && whatIf ? whatIf.label : NORMALISER_NAME[norm];
}

export function otherNormaliser(n: Normaliser): Normaliser {
  return n === 'softmax' ? 'ssmax' : 'softmax';
}

/** Attention weights span many orders of magnitude: three significant digits keep 0.412 and 3.10e-5 readable. */
export function formatWeight(w: number): string {
  if (!Number.isFinite(w)) return '–';
  if (w === 0) return '0';
  return w >= 0.001 ? w.toPrecision(3) : w.toExponential(2);
}

export function formatEntropy(nats: number): string {
  return Number.isFinite(nats) ? nats.toFixed(3) : '–';
}

/** Makes whitespace in a token visible in one-line lists (the token view itself shows it as is). */
export function visibleTokenText(text: string): string {
  if (text === '') return '∅';
  return text.replace(/\n/g, '⏎').replace(/\t/g, '⇥').replace(/ /g, '·');
}
