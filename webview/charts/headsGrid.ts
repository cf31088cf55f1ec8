/**
 * The model view as SVG small multiples: one cell per layer × head (layers down, heads across). Each cell shows
 * where that head looks over the document from the selected token (two strips of STRIP_BINS slices, softmax above
 * SSMax, opacity = √(mass ÷ strip max)) and its max weight, normalised entropy and attention-sink share (the first
 * k keys, StreamingLLM) under both views.
 * Cells are focusable buttons (data-layer, data-head); the caller wires clicks and keys.
 */
import type { HeadCell, HeadsPayload, Normaliser } from '../../src/protocol';
import { viewName } from '../format';
import { chartRoot, drawLegend, seriesClass, svgElement, svgText } from './svg';

const WIDTH = 820;
const GUTTER = 34;
const LEGEND_HEIGHT = 28;
const CELL_HEIGHT = 76;
const CELL_GAP = 6;
const STRIP_HEIGHT = 11;

export interface HeadsGridInput {
  heads: HeadsPayload;
  layers: number;
  headsPerLayer: number;
  own: Normaliser;
  /** The head the main view shows (highlighted), if it is a single head. */
  selected?: { layer: number; head: number };
}

export function headsGrid({ heads, layers, headsPerLayer, own, selected }: HeadsGridInput): SVGSVGElement {
  const cellWidth = (WIDTH - GUTTER - CELL_GAP * (headsPerLayer - 1)) / headsPerLayer;
  const height = LEGEND_HEIGHT + layers * (CELL_HEIGHT + CELL_GAP) + 14;
  const svg = chartRoot(
    WIDTH,
    height,
    `Every layer and head for token ${heads.position} (n = ${heads.n}): where it looks, max weight and entropy under softmax and SSMax`,
  );
  svg.classList.add('heads-grid');
  const legend = svgElement('g', {}, 'chart-legend-row');
  drawLegend(legend, GUTTER, 12, own, 'bar');
  legend.append(
    svgText('strips: keys 0 → query, left to right', { x: WIDTH - 4, y: 12, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, 'chart-text chart-note'),
  );
  svg.append(legend);
  for (let layer = 0; layer < layers; layer++) {
    const top = LEGEND_HEIGHT + layer * (CELL_HEIGHT + CELL_GAP);
    svg.append(svgText(`L${layer}`, { x: 4, y: top + CELL_HEIGHT / 2, 'dominant-baseline': 'middle' }, 'chart-text chart-axis-title'));
    for (let head = 0; head < headsPerLayer; head++) {
      const cell = heads.cells[layer * headsPerLayer + head];
      if (!cell) continue;
      const left = GUTTER + head * (cellWidth + CELL_GAP);
      const isSelected = selected?.layer === layer && selected.head === head;
      svg.append(headCellGroup(cell, left, top, cellWidth, own, isSelected));
    }
  }
  return svg;
}

function headCellGroup(cell: HeadCell, left: number, top: number, width: number, own: Normaliser, selected: boolean): SVGGElement {
  const g = svgElement(
    'g',
    {
      tabindex: 0,
      role: 'button',
      'data-layer': cell.layer,
      'data-head': cell.head,
      'aria-pressed': String(selected),
      'aria-label': `Layer ${cell.layer} head ${cell.head}: ${describe(cell, 'softmax', own)}; ${describe(cell, 'ssmax', own)}. Press Enter to show this head.`,
    },
    `head-cell${selected ? ' head-cell-selected' : ''}`,
  );
  const title = svgElement('title');
  title.textContent = `L${cell.layer} H${cell.head}: ${describe(cell, 'softmax', own)}; ${describe(cell, 'ssmax', own)}; top keys ${cell.top.map((t) => t.position).join(', ')}`;
  g.append(title);
  g.append(svgElement('rect', { x: left, y: top, width, height: CELL_HEIGHT, rx: 3 }, 'head-cell-frame'));
  g.append(svgText(`H${cell.head}`, { x: left + 6, y: top + 13 }, 'chart-text head-cell-label'));
  const stripLeft = left + 6;
  const stripWidth = width - 12;
  // Two text lines (a cell is too narrow for both statistics on one): max weight beside the label, entropy below.
  g.append(statLine('max', cell.stats.softmax.maxWeight, cell.stats.ssmax.maxWeight, left + width - 6, top + 13, 'max', 'end'));
  (['softmax', 'ssmax'] as const).forEach((norm, k) => {
    const strip = cell.strip[norm];
    const stripTop = top + 19 + k * (STRIP_HEIGHT + 2);
    g.append(svgElement('rect', { x: stripLeft, y: stripTop, width: stripWidth, height: STRIP_HEIGHT }, 'head-strip-bg'));
    const max = Math.max(1e-12, ...strip);
    const binWidth = stripWidth / Math.max(1, strip.length);
    strip.forEach((mass, i) => {
      if (!(mass > 0)) return;
      g.append(
        svgElement(
          'rect',
          {
            x: stripLeft + i * binWidth,
            y: stripTop,
            width: binWidth + 0.3,
            height: STRIP_HEIGHT,
            'fill-opacity': Math.sqrt(mass / max).toFixed(3),
            'data-series': norm,
          },
          `head-strip ${seriesClass(norm, own)}`,
        ),
      );
    });
  });
  const statsTop = top + 19 + 2 * (STRIP_HEIGHT + 2) + 11;
  g.append(statLine('entropy ÷ ln n', cell.stats.softmax.normalisedEntropy, cell.stats.ssmax.normalisedEntropy, left + width - 6, statsTop, 'entropy', 'end'));
  g.append(statLine(`sink (first ${cell.sinkTokens})`, cell.sink.softmax, cell.sink.ssmax, left + width - 6, statsTop + 12, 'sink', 'end'));
  return g;
}

/** "max 0.367 / 0.397" with the softmax and SSMax numbers in their series colours. */
function statLine(name: string, softmax: number, ssmax: number, x: number, y: number, stat: string, anchor: 'start' | 'end'): SVGTextElement {
  const text = svgElement('text', { x, y, 'data-stat': stat, 'text-anchor': anchor }, 'chart-text head-cell-stat');
  const label = svgElement('tspan', {}, 'head-cell-stat-name');
  label.textContent = `${name} `;
  const a = svgElement('tspan', { 'data-series': 'softmax', 'data-value': softmax }, 'series-text-softmax');
  a.textContent = softmax.toFixed(3);
  const sep = svgElement('tspan');
  sep.textContent = ' / ';
  const b = svgElement('tspan', { 'data-series': 'ssmax', 'data-value': ssmax }, 'series-text-ssmax');
  b.textContent = ssmax.toFixed(3);
  text.append(label, a, sep, b);
  return text;
}

function describe(cell: HeadCell, norm: Normaliser, own: Normaliser): string {
  const s = cell.stats[norm];
  return `${viewName(norm, own)} max ${s.maxWeight.toFixed(3)}, entropy ÷ ln n ${s.normalisedEntropy.toFixed(3)}, sink ${cell.sink[norm].toFixed(3)}`;
}
