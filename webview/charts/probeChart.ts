/**
 * The needle probe as small multiples, one panel per model: weight the question puts on the planted value (the
 * head with the most, under each view) against the needle's depth, and ✓/✗ for the model's answer at each depth.
 */
import type { Normaliser, ProbePayload } from '../../src/protocol';
import { chartRoot, drawAxes, linearScale, linearTicks, polylinePoints, seriesClass, svgElement, svgText, viewRole, type PlotArea } from './svg';
import { NORMALISER_NAME, viewName } from '../format';

const WIDTH = 820;
const HEIGHT = 300;

export function probeChart(probe: ProbePayload): SVGSVGElement {
  const svg = chartRoot(WIDTH, HEIGHT, `Needle probe: weight on "${probe.expected}" by depth, per model, softmax and SSMax`);
  const models = new Map<string, { displayName: string; normaliser: Normaliser }>();
  for (const d of probe.depths)
    for (const m of d.models) if (!models.has(m.modelId)) models.set(m.modelId, { displayName: m.displayName, normaliser: m.normaliser });
  const count = Math.max(1, models.size);
  const panelWidth = (WIDTH - 60 - 70 * (count - 1) - 20) / count;
  const depths = [...probe.depths].sort((a, b) => a.depth - b.depth);
  let index = 0;
  for (const [modelId, info] of models) {
    const area: PlotArea = { left: 60 + index * (panelWidth + 70), top: 54, width: panelWidth, height: 170 };
    const g = svgElement('g', { 'data-model': modelId }, 'chart-panel');
    g.append(svgText(`${info.displayName} (own normaliser ${NORMALISER_NAME[info.normaliser]})`, { x: area.left, y: 14 }, 'chart-text chart-panel-title'));
    // Per-panel legend: which view is this model's own differs between the panels.
    let lx = area.left;
    for (const norm of ['softmax', 'ssmax'] as const) {
      g.append(svgElement('line', { x1: lx, x2: lx + 18, y1: 32, y2: 32 }, `chart-line ${seriesClass(norm, info.normaliser)}`));
      const label = `${viewName(norm, info.normaliser)} (${viewRole(norm, info.normaliser)})`;
      g.append(svgText(label, { x: lx + 22, y: 32, 'dominant-baseline': 'middle' }, 'chart-text chart-legend'));
      lx += 30 + label.length * 6.4;
    }
    const x = linearScale([0, 1], [area.left, area.left + area.width]);
    const y = linearScale([0, 1], [area.top + area.height, area.top]);
    drawAxes(
      g,
      area,
      { scale: x, ticks: linearTicks([0, 1], 4), title: 'Needle depth (0 = start, 1 = end)' },
      { scale: y, ticks: linearTicks([0, 1], 4), title: 'Weight on the needle' },
    );
    const rows = depths.flatMap((d) => {
      const result = d.models.find((m) => m.modelId === modelId);
      return result ? [{ depth: d.depth, result }] : [];
    });
    for (const norm of ['softmax', 'ssmax'] as const) {
      g.append(
        svgElement(
          'polyline',
          {
            points: polylinePoints(
              rows.map((r) => r.depth),
              rows.map((r) => r.result.best[norm]),
              x,
              y,
            ),
            'data-series': norm,
            'data-points': rows.length,
          },
          `chart-line ${seriesClass(norm, info.normaliser)}`,
        ),
      );
      for (const r of rows)
        g.append(svgElement('circle', { cx: x(r.depth), cy: y(r.result.best[norm]), r: 2.5 }, `chart-dot ${seriesClass(norm, info.normaliser)}`));
    }
    for (const r of rows) {
      const ok = r.result.correct;
      g.append(
        svgText(
          ok ? '✓' : '✗',
          { x: x(r.depth), y: area.top - 4, 'text-anchor': 'middle', 'data-correct': String(ok) },
          `chart-text ${ok ? 'probe-correct' : 'probe-wrong'}`,
        ),
      );
    }
    svg.append(g);
    index++;
  }
  return svg;
}
