/**
 * The loss strip: each model's next-token loss along the document (mean nats per token in equal slices of
 * positions) as a line, each position bucket's mean (0–N, N–4N, …) as a bar across the bucket, the training
 * length and the bucket edges 4N, 16N, … marked.
 */
import type { LossPayload } from '../../src/protocol';
import { NORMALISER_NAME } from '../format';
import { chartRoot, drawAxes, linearScale, linearTicks, polylinePoints, svgElement, svgText, type PlotArea } from './svg';

const WIDTH = 820;
const HEIGHT = 260;

export function lossChart(loss: LossPayload): SVGSVGElement {
  const svg = chartRoot(
    WIDTH,
    HEIGHT,
    `Next-token loss along the document, nats per token, for ${loss.models.map((m) => m.displayName).join(' and ')}; the training length marked`,
  );
  const area: PlotArea = { left: 60, top: 34, width: WIDTH - 90, height: 170 };
  const end = loss.edges[loss.edges.length - 1] ?? 1;
  const centres = loss.edges.slice(0, -1).map((from, b) => (from + loss.edges[b + 1]) / 2);
  const top = Math.max(1, ...loss.models.flatMap((m) => m.mean.filter(Number.isFinite)));
  const x = linearScale([0, end], [area.left, area.left + area.width]);
  const y = linearScale([0, Math.ceil(top)], [area.top + area.height, area.top]);
  const g = svgElement('g', { 'data-panel': 'loss' }, 'chart-panel');
  drawAxes(
    g,
    area,
    { scale: x, ticks: linearTicks([0, end], 6), title: 'token position' },
    { scale: y, ticks: linearTicks([0, Math.ceil(top)], 4), title: 'nats per token' },
  );
  for (let e = loss.trainingContext; e < end; e *= 4) {
    const m = svgElement('g', { 'data-marker': e === loss.trainingContext ? 'training' : 'bucket' });
    m.append(svgElement('line', { x1: x(e), x2: x(e), y1: area.top, y2: area.top + area.height }, 'chart-marker chart-marker-training'));
    m.append(
      svgText(
        e === loss.trainingContext ? `N = ${e}` : `${e / loss.trainingContext}N`,
        { x: x(e) + 3, y: area.top + 10 },
        'chart-text chart-marker-label chart-marker-training',
      ),
    );
    g.append(m);
  }
  loss.models.forEach((m, k) => {
    for (const b of m.buckets) {
      if (!Number.isFinite(b.mean)) continue;
      g.append(
        svgElement(
          'rect',
          { x: x(b.from), y: y(b.mean) - 1.5, width: Math.max(1, x(b.to) - x(b.from)), height: 3, 'data-bucket': b.from, 'data-value': b.mean },
          `chart-bar loss-bucket series-${m.normaliser} ${k === 0 ? 'series-own' : 'series-counterfactual'}`,
        ),
      );
    }
  });
  loss.models.forEach((m, k) => {
    // drawn as the series of the normaliser the model was trained with; the comparison model dashed
    const points = centres.flatMap((c, b) => (Number.isFinite(m.mean[b]) ? [[c, m.mean[b]] as const] : []));
    g.append(
      svgElement(
        'polyline',
        {
          points: polylinePoints(
            points.map((p) => p[0]),
            points.map((p) => p[1]),
            x,
            y,
          ),
          'data-model': k === 0 ? 'main' : 'comparison',
          'data-points': points.length,
        },
        `chart-line series-${m.normaliser} ${k === 0 ? 'series-own' : 'series-counterfactual'}`,
      ),
    );
  });
  svg.append(g);
  const legend = svgElement('g', {}, 'chart-legend-row');
  loss.models.forEach((m, k) => {
    const lx = 60 + k * 330;
    legend.append(
      svgElement('line', { x1: lx, x2: lx + 22, y1: 14, y2: 14 }, `chart-line series-${m.normaliser} ${k === 0 ? 'series-own' : 'series-counterfactual'}`),
    );
    legend.append(svgText(`${m.displayName} (trained with ${NORMALISER_NAME[m.normaliser]})`, { x: lx + 28, y: 18 }, 'chart-text chart-legend'));
  });
  svg.append(legend);
  return svg;
}
