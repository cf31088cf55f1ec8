/**
 * The paper's Figure 1 on the user's own document: max weight and normalised entropy against n (keys seen, log
 * axis), softmax and SSMax as one line each (the mean of each bin's queries) inside a band (their interquartile
 * range), the training length and the selected token's n marked; when the curve has it, a third panel: the share of
 * attention on the first k tokens (the sink), the mean of a few sampled queries per bin.
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
  type Scale,
} from './svg';

const WIDTH = 1000;
const HEIGHT = 300;
const PANEL_WIDTH = 260;
const GAP = 70;

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
    `Focus against context length n for ${headLabel}: max weight and normalised entropy, softmax and SSMax, mean and interquartile band of the queries at each n${curve.sink ? `, and the attention on the first ${curve.sink.tokens} tokens` : ''}`,
  );
  const maxN = Math.max(curve.analysedTokens, curve.trainingContext, ...curve.n);
  const area = (i: number): PlotArea => ({ left: 60 + i * (PANEL_WIDTH + GAP), top: 40, width: PANEL_WIDTH, height: 200 });
  const panels: { key: 'maxWeight' | 'normalisedEntropy' | 'sink'; title: string; area: PlotArea }[] = [
    { key: 'maxWeight', title: 'Max weight', area: area(0) },
    { key: 'normalisedEntropy', title: 'Entropy ÷ ln n (1 = uniform)', area: area(1) },
  ];
  const sink = curve.sink;
  if (sink) panels.push({ key: 'sink', title: `On the first ${sink.tokens} tokens (sink)`, area: area(2) });
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
    if (panel.key === 'sink') {
      if (sink) drawSink(g, curve.n, sink, own, x, y);
      svg.append(g);
      continue;
    }
    const key = panel.key;
    for (const norm of ['softmax', 'ssmax'] as const) {
      const q = curve.quartiles[key][norm];
      // the band: along the upper quartile, back along the lower one
      const upper = polylinePoints(curve.n, q.q3, x, y);
      const lower = polylinePoints([...curve.n].reverse(), [...q.q1].reverse(), x, y);
      g.append(svgElement('polygon', { points: `${upper} ${lower}`, 'data-band': norm }, `chart-band ${seriesClass(norm, own)}`));
    }
    for (const norm of ['softmax', 'ssmax'] as const) {
      const line = svgElement(
        'polyline',
        { points: polylinePoints(curve.n, curve[key][norm], x, y), 'data-series': norm, 'data-points': curve.n.length },
        `chart-line ${seriesClass(norm, own)}`,
      );
      g.append(line);
    }
    svg.append(g);
  }
  return svg;
}

/** The sink panel's lines: one per view, no band (a few sampled queries per bin, not every query). */
function drawSink(g: SVGGElement, n: number[], sink: NonNullable<FocusCurvePayload['sink']>, own: Normaliser, x: Scale, y: Scale): void {
  for (const norm of ['softmax', 'ssmax'] as const)
    g.append(
      svgElement(
        'polyline',
        { points: polylinePoints(n, sink[norm], x, y), 'data-series': norm, 'data-points': n.length },
        `chart-line ${seriesClass(norm, own)}`,
      ),
    );
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
