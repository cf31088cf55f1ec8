/**
 * The needle map as SVG: one grid per model (context length across, needle depth down). A cell's fill is its
 * answer accuracy over the haystacks (opacity 0 → none right, 1 → all right); its text is "right/haystacks" and the
 * best head's weight on the value under the model's own view. Cells still to run are outlined only.
 */
import type { NeedleMapPayload } from '../../src/protocol';
import { NORMALISER_NAME } from '../format';
import { chartRoot, svgElement, svgText } from './svg';

const CELL_W = 92;
const CELL_H = 40;
const LEFT = 56;
const TOP = 44;
const GRID_GAP = 40;

export function needleMapChart(map: NeedleMapPayload): SVGSVGElement {
  const models = map.cells[0]?.models ?? [];
  const gridW = map.lengths.length * CELL_W;
  const width = Math.max(820, LEFT + Math.max(1, models.length) * (gridW + GRID_GAP));
  const height = TOP + map.depths.length * CELL_H + 36;
  const svg = chartRoot(
    width,
    height,
    `Needle map of ${map.fileName}: answer accuracy and the weight on the needle by context length and depth, for ${models.map((m) => m.displayName).join(' and ') || 'the models'}`,
  );
  svg.classList.add('needle-map');
  models.forEach((model, k) => {
    const left = LEFT + k * (gridW + GRID_GAP);
    const g = svgElement('g', { 'data-model': model.modelId }, 'needle-grid');
    g.append(svgText(`${model.displayName} (own: ${NORMALISER_NAME[model.normaliser]})`, { x: left, y: 14 }, 'chart-text chart-title'));
    map.lengths.forEach((length, i) => {
      const label = length === map.trainingContext ? `${length} (= N)` : String(length);
      g.append(svgText(label, { x: left + i * CELL_W + CELL_W / 2, y: TOP - 8, 'text-anchor': 'middle' }, 'chart-text chart-tick'));
    });
    map.depths.forEach((depth, j) => {
      if (k === 0)
        g.append(
          svgText(
            depth.toFixed(2),
            { x: LEFT - 8, y: TOP + j * CELL_H + CELL_H / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle' },
            'chart-text chart-tick',
          ),
        );
      map.lengths.forEach((length, i) => {
        const cell = map.cells.find((c) => c.length === length && c.depth === depth);
        const m = cell?.models.find((x) => x.modelId === model.modelId);
        const x = left + i * CELL_W;
        const y = TOP + j * CELL_H;
        const attrs: Record<string, string | number> = {
          x: x + 1,
          y: y + 1,
          width: CELL_W - 2,
          height: CELL_H - 2,
          'data-length': length,
          'data-depth': depth,
        };
        if (!m) {
          g.append(svgElement('rect', attrs, 'needle-cell needle-cell-pending'));
          return;
        }
        const accuracy = m.correct / Math.max(1, m.haystacks);
        const rect = svgElement('rect', { ...attrs, 'fill-opacity': (0.08 + 0.72 * accuracy).toFixed(3), 'data-correct': m.correct }, 'needle-cell');
        const title = svgElement('title');
        title.textContent = `${length} tokens, depth ${depth}: ${m.correct} of ${m.haystacks} right; weight on the needle, best head softmax ${m.best.softmax.toFixed(3)} / SSMax ${m.best.ssmax.toFixed(3)}, mean of heads ${m.mean.softmax.toFixed(3)} / ${m.mean.ssmax.toFixed(3)}`;
        rect.append(title);
        g.append(rect);
        g.append(svgText(`${m.correct}/${m.haystacks}`, { x: x + CELL_W / 2, y: y + 15, 'text-anchor': 'middle' }, 'chart-text needle-cell-text'));
        g.append(svgText(`w ${m.best[m.normaliser].toFixed(2)}`, { x: x + CELL_W / 2, y: y + 30, 'text-anchor': 'middle' }, 'chart-text needle-cell-text'));
      });
    });
    svg.append(g);
  });
  svg.append(svgText('depth', { x: 4, y: TOP - 8 }, 'chart-text chart-axis-title'));
  svg.append(
    svgText(
      'across: context length (tokens) · down: needle depth · fill: share answered · w: best head’s weight on the needle (own view)',
      { x: LEFT, y: height - 10 },
      'chart-text chart-note',
    ),
  );
  return svg;
}
