/**
 * How attention weights become token colours. Each channel is scaled relative to its own row maximum, so the
 * most-attended key is always at full intensity, and through a square root, so weights a hundred times
 * smaller than the maximum still show (at a tenth of the intensity). The legend states this scale.
 * The colours themselves come from --vscode-* variables in media/webview.css; here we only set the
 * per-token custom properties --w-own and --w-other (0..1) through CSSOM, which a strict CSP allows.
 */

export const SCALE_DESCRIPTION = 'intensity = √(weight ÷ row max)';

/** Largest finite weight in weights[0..count). */
export function rowMax(weights: readonly number[], count: number): number {
  let max = 0;
  for (let i = 0; i < count; i++) {
    const w = weights[i] ?? 0;
    if (Number.isFinite(w) && w > max) max = w;
  }
  return max;
}

/** 0..1; 0 for a zero, negative or non-finite weight or row. */
export function intensity(weight: number, max: number): number {
  if (!(max > 0) || !(weight > 0) || !Number.isFinite(weight)) return 0;
  return Math.min(1, Math.sqrt(weight / max));
}

/** Four decimals keep the style text short while weights down to ~1e-8 of the max stay non-zero. */
export function cssIntensity(value: number): string {
  return value.toFixed(4);
}
