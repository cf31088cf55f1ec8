/**
 * The paper's Figure 1 on the user's own document: max weight and normalised entropy against n (keys seen, log
 * axis), softmax and SSMax as one line each (the mean of each bin's queries) inside a band (their interquartile
 * range), the training length and the selected token's n marked.
 */
import type { FocusCurvePayload, Normaliser } from '../../src/protocol';
import {
  chartRoot,
  drawAxes,
  drawLegend,
  linearScale,
  linearTicks,
  logScale,
  logTicks,
  polylinePoints,
  seriesClass,
  svgElement,
  svgText,
  type PlotArea,
} from './svg';

const WIDTH = 820;
const HEIGHT = 300;
const PANEL_WIDTH = 330;

export interface FocusChartInput {
  curve: FocusCurvePayload;
  own: Normaliser;
  /** The selected token's n, marked when known. */
  selectedN?: number;
  headLabel: string;
}

export function focusChart({ curve, own, selectedN, headLabel }: FocusChartInput): SVGSVGElement {
  const svg = chartRoot(
    WIDTH,
    HEIGHT,
    `Focus against context length n for ${headLabel}: max weight and normalised entropy, softmax and SSMax, mean and interquartile band of the queries at each n`,
  );
  const maxN = Math.max(curve.analysedTokens, curve.trainingContext, ...curve.n);
  const panels: { key: 'maxWeight' | 'normalisedEntropy'; title: string; area: PlotArea }[] = [
    { key: 'maxWeight', title: 'Max weight', area: { left: 60, top: 40, width: PANEL_WIDTH, height: 200 } },
    { key: 'normalisedEntropy', title: 'Entropy ÷ ln n (1 = uniform)', area: { left: 60 + PANEL_WIDTH + 70, top: 40, width: PANEL_WIDTH, height: 200 } },
  ];
  const legend = svgElement('g', {}, 'chart-legend-row');
  drawLegend(legend, 60, 14, own);
  svg.append(legend);
  for (const panel of panels) {
    const g = svgElement('g', { 'data-panel': panel.key }, 'chart-panel');
    const { area } = panel;
    const x = logScale([1, maxN], [area.left, area.left + area.width]);
    const y = linearScale([0, 1], [area.top + area.height, area.top]);
    drawAxes(
      g,
      area,
      { scale: x, ticks: logTicks([1, maxN]), title: 'n (keys seen, log scale)' },
      { scale: y, ticks: linearTicks([0, 1], 4), title: panel.title },
    );
    marker(g, x(curve.trainingContext), area, `training length ${curve.trainingContext}`, 'chart-marker-training', 'training');
    if (selectedN !== undefined && selectedN >= 1) marker(g, x(selectedN), area, `n = ${selectedN}`, 'chart-marker-selected', 'selected', true);
    for (const norm of ['softmax', 'ssmax'] as const) {
      const q = curve.quartiles[panel.key][norm];
      // the band: along the upper quartile, back along the lower one
      const upper = polylinePoints(curve.n, q.q3, x, y);
      const lower = polylinePoints([...curve.n].reverse(), [...q.q1].reverse(), x, y);
      g.append(svgElement('polygon', { points: `${upper} ${lower}`, 'data-band': norm }, `chart-band ${seriesClass(norm, own)}`));
    }
    for (const norm of ['softmax', 'ssmax'] as const) {
      const line = svgElement(
        'polyline',
        { points: polylinePoints(curve.n, curve[panel.key][norm], x, y), 'data-series': norm, 'data-points': curve.n.length },
        `chart-line ${seriesClass(norm, own)}`,
      );
      g.append(line);
    }
    svg.append(g);
  }
  return svg;
}

function marker(g: SVGGElement, px: number, area: PlotArea, label: string, className: string, kind: string, below = false): void {
  const m = svgElement('g', { 'data-marker': kind });
  m.append(svgElement('line', { x1: px, x2: px, y1: area.top, y2: area.top + area.height }, `chart-marker ${className}`));
  // The label sits on the side of the line with more room, so neither runs off the plot.
  const right = px < area.left + area.width * 0.6;
  m.append(
    svgText(
      label,
      { x: right ? px + 4 : px - 4, y: below ? area.top + 26 : area.top + 10, 'text-anchor': right ? 'start' : 'end' },
      `chart-text chart-marker-label ${className}`,
    ),
  );
  g.append(m);
}
