/**
 * Small helpers for hand-written SVG charts: element creation, scales, axes and a legend. Colours are never set
 * here: elements get classes that media/webview.css styles from --vscode-* variables, and the exporter
 * (export/serialise.ts) copies the resolved values onto a clone so the file renders on its own.
 * Every attribute goes through setAttribute (not markup), and text through textContent.
 */
import type { Normaliser } from '../../src/protocol';
import { NORMALISER_NAME, viewName } from '../format';

export const SVG_NS = 'http://www.w3.org/2000/svg';

type Attributes = Record<string, string | number>;

export function svgElement<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Attributes = {}, className?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
  if (className) el.setAttribute('class', className);
  return el;
}

export function svgText(text: string, attributes: Attributes, className = 'chart-text'): SVGTextElement {
  const el = svgElement('text', attributes, className);
  el.textContent = text;
  return el;
}

/** A root <svg> that scales to its container's width and keeps its aspect ratio. */
export function chartRoot(width: number, height: number, label: string): SVGSVGElement {
  const svg = svgElement('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label }, 'chart');
  const title = svgElement('title');
  title.textContent = label;
  svg.append(title);
  return svg;
}

export interface Scale {
  (value: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
}

export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const span = d1 - d0 || 1;
  const f = (v: number): number => range[0] + ((v - d0) / span) * (range[1] - range[0]);
  return Object.assign(f, { domain, range });
}

/** Log-10 scale; values at or below zero are clamped to the domain's lower end. */
export function logScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const l0 = Math.log10(Math.max(domain[0], 1e-12));
  const l1 = Math.log10(Math.max(domain[1], domain[0] * 10, 1e-12));
  const f = (v: number): number => range[0] + ((Math.log10(Math.max(v, domain[0], 1e-12)) - l0) / (l1 - l0 || 1)) * (range[1] - range[0]);
  return Object.assign(f, { domain, range });
}

/** Powers of ten inside the domain, plus 2× and 5× when there are few decades. */
export function logTicks(domain: readonly [number, number]): number[] {
  const ticks: number[] = [];
  const decades = Math.log10(domain[1] / Math.max(domain[0], 1e-12));
  const steps = decades <= 2 ? [1, 2, 5] : [1];
  for (let p = Math.floor(Math.log10(Math.max(domain[0], 1e-12))); 10 ** p <= domain[1]; p++) {
    for (const s of steps) {
      const v = s * 10 ** p;
      if (v >= domain[0] && v <= domain[1]) ticks.push(v);
    }
  }
  return ticks;
}

export function linearTicks(domain: readonly [number, number], count = 5): number[] {
  const [d0, d1] = domain;
  const raw = (d1 - d0) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = Math.ceil(d0 / step) * step; v <= d1 + step * 1e-9; v += step) ticks.push(+v.toPrecision(12));
  return ticks;
}

export function formatTick(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
}

export interface PlotArea {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Axes with ticks, grid lines and titles, drawn into `g`. */
export function drawAxes(
  g: SVGGElement,
  area: PlotArea,
  x: { scale: Scale; ticks: number[]; title: string; format?: (v: number) => string },
  y: { scale: Scale; ticks: number[]; title: string; format?: (v: number) => string },
): void {
  const bottom = area.top + area.height;
  const right = area.left + area.width;
  const xFormat = x.format ?? formatTick;
  const yFormat = y.format ?? formatTick;
  for (const t of y.ticks) {
    const py = y.scale(t);
    g.append(svgElement('line', { x1: area.left, x2: right, y1: py, y2: py }, 'chart-grid'));
    g.append(svgText(yFormat(t), { x: area.left - 4, y: py, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, 'chart-text chart-tick'));
  }
  for (const t of x.ticks) {
    const px = x.scale(t);
    g.append(svgElement('line', { x1: px, x2: px, y1: bottom, y2: bottom + 4 }, 'chart-axis'));
    g.append(svgText(xFormat(t), { x: px, y: bottom + 14, 'text-anchor': 'middle' }, 'chart-text chart-tick'));
  }
  g.append(svgElement('line', { x1: area.left, x2: right, y1: bottom, y2: bottom }, 'chart-axis'));
  g.append(svgElement('line', { x1: area.left, x2: area.left, y1: area.top, y2: bottom }, 'chart-axis'));
  g.append(svgText(x.title, { x: area.left + area.width / 2, y: bottom + 30, 'text-anchor': 'middle' }, 'chart-text chart-axis-title'));
  const yTitleX = area.left - 34;
  const yTitleY = area.top + area.height / 2;
  g.append(
    svgText(y.title, { x: yTitleX, y: yTitleY, 'text-anchor': 'middle', transform: `rotate(-90 ${yTitleX} ${yTitleY})` }, 'chart-text chart-axis-title'),
  );
}

/** What the legend says about a view: which normaliser is the model's own and which the counterfactual. */
export function viewRole(norm: Normaliser, own: Normaliser): string {
  return norm === own ? "model's own" : 'counterfactual';
}

/**
 * Series styling shared by every chart: colour by normaliser (softmax orange, SSMax blue, as in the token view),
 * and solid for the model's own view, dashed for the counterfactual, so the roles read without colour too.
 */
export function seriesClass(norm: Normaliser, own: Normaliser | undefined): string {
  return `series-${norm}${own === undefined || norm === own ? ' series-own' : ' series-counterfactual'}`;
}

/** A one-row legend: a line sample and "Softmax (counterfactual)" per normaliser (no roles when own is undefined). */
export function drawLegend(g: SVGGElement, x: number, y: number, own: Normaliser | undefined, shape: 'line' | 'bar' = 'line'): void {
  let cx = x;
  for (const norm of ['softmax', 'ssmax'] as const) {
    const item = svgElement('g', { 'data-legend': norm }, 'chart-legend-item');
    if (shape === 'line') item.append(svgElement('line', { x1: cx, x2: cx + 22, y1: y, y2: y }, `chart-line ${seriesClass(norm, own)}`));
    else item.append(svgElement('rect', { x: cx + 4, y: y - 6, width: 14, height: 12 }, `chart-bar ${seriesClass(norm, own)}`));
    const label = own === undefined ? NORMALISER_NAME[norm] : `${viewName(norm, own)} (${viewRole(norm, own)})`;
    item.append(svgText(label, { x: cx + 28, y, 'dominant-baseline': 'middle' }, 'chart-text chart-legend'));
    g.append(item);
    cx += 34 + label.length * 6.6;
  }
}

export function polylinePoints(xs: readonly number[], ys: readonly number[], x: Scale, y: Scale): string {
  const out: string[] = [];
  for (let i = 0; i < xs.length; i++) {
    const vx = xs[i];
    const vy = ys[i];
    if (!Number.isFinite(vx) || !Number.isFinite(vy)) continue;
    out.push(`${x(vx).toFixed(2)},${y(vy).toFixed(2)}`);
  }
  return out.join(' ');
}
