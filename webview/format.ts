/** Number and token formatting shared by the stats, the top-k list and the legend. */
import type { Normaliser } from '../src/protocol';

export const NORMALISER_NAME: Record<Normaliser, string> = { softmax: 'Softmax', ssmax: 'SSMax' };

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
