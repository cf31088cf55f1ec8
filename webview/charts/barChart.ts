/**
 * Grouped bars: one group per category, one bar per normaliser (softmax, SSMax). Used by the distance profile and
 * the comparison. Each bar carries its exact value in data-value, for the tests and for screen readers (<title>).
 */
import type { Normaliser } from '../../src/protocol';
import { viewName } from '../format';
import { chartRoot, drawAxes, drawLegend, linearScale, linearTicks, seriesClass, svgElement, svgText, type PlotArea } from './svg';

export interface BarGroup {
  label: string;
  values: Record<Normaliser, number>;
}

export interface BarChartInput {
  label: string;
  groups: readonly BarGroup[];
  /** The model's own normaliser (solid; the counterfactual is lighter with a dashed outline), or undefined when groups mix models. */
  own: Normaliser | undefined;
  xTitle: string;
  yTitle: string;
  /** The y axis top; defaults to the largest value (rounded up to a tick). */
  yMax?: number;
  width?: number;
  height?: number;
}

export function barChart(input: BarChartInput): SVGSVGElement {
  const width = input.width ?? 820;
  const height = input.height ?? 300;
  const svg = chartRoot(width, height, input.label);
  const area: PlotArea = { left: 60, top: 36, width: width - 80, height: height - 90 };
  const largest = Math.max(1e-9, ...input.groups.flatMap((g) => [g.values.softmax, g.values.ssmax]));
  // Round the axis up to a tick so the tallest bar is labelled.
  const roughTicks = linearTicks([0, Math.max(input.yMax ?? 0, largest)], 4);
  const step = roughTicks.length > 1 ? roughTicks[1] - roughTicks[0] : largest;
  const top = Math.max(input.yMax ?? 0, Math.ceil(largest / step - 1e-9) * step);
  const ticks = linearTicks([0, top], 4);
  const y = linearScale([0, top], [area.top + area.height, area.top]);
  const g = svgElement('g', {}, 'chart-panel');
  // Category axis: draw labels ourselves (the shared axis helper is numeric), the value axis with drawAxes.
  const band = area.width / Math.max(1, input.groups.length);
  const x = linearScale([0, input.groups.length], [area.left, area.left + area.width]);
  drawAxes(g, area, { scale: x, ticks: [], title: input.xTitle }, { scale: y, ticks, title: input.yTitle });
  const barWidth = Math.min(28, (band - 8) / 2);
  input.groups.forEach((group, i) => {
    const cx = area.left + band * (i + 0.5);
    g.append(svgText(group.label, { x: cx, y: area.top + area.height + 14, 'text-anchor': 'middle' }, 'chart-text chart-tick'));
    (['softmax', 'ssmax'] as const).forEach((norm, k) => {
      const value = group.values[norm];
      const py = y(Math.max(0, value));
      const rect = svgElement(
        'rect',
        {
          x: cx - barWidth + k * barWidth,
          y: py,
          width: Math.max(1, barWidth - 1),
          height: Math.max(0, area.top + area.height - py),
          'data-series': norm,
          'data-group': i,
          'data-value': value,
        },
        `chart-bar ${seriesClass(norm, input.own)}`,
      );
      const title = svgElement('title');
      title.textContent = `${group.label}: ${viewName(norm, input.own)} ${value.toPrecision(3)}`;
      rect.append(title);
      g.append(rect);
    });
  });
  svg.append(g);
  const legend = svgElement('g', {}, 'chart-legend-row');
  drawLegend(legend, area.left, 14, input.own, 'bar');
  svg.append(legend);
  return svg;
}
