/** The "Distance" tab: attention mass of the selected token by query-key distance (log buckets), both views. */
import { headLabel, type AttentionPayload, type ModelInfo, type Normaliser } from '../../src/protocol';
import { barChart } from '../charts/barChart';
import { NORMALISER_NAME } from '../format';
import { placeholder, type InspectorView, type ViewData } from './view';

/** "0", "1", "2–3", "512–700": the distances bucket b covers, [edges[b], edges[b+1]). */
export function bucketLabel(edges: readonly number[], b: number): string {
  const from = edges[b];
  const to = edges[b + 1] - 1;
  return to <= from ? String(from) : `${from}–${to}`;
}

export class DistanceView implements InspectorView {
  readonly id = 'distance' as const;
  readonly label = 'Distance';
  readonly element = document.createElement('div');
  private attention: AttentionPayload | undefined;
  private own: Normaliser = 'softmax';
  private chart: SVGSVGElement | undefined;

  constructor() {
    this.element.className = 'view view-distance';
    this.render();
  }

  onDocument(_doc: unknown, model: ModelInfo): void {
    this.setOwn(model.normaliser);
    this.show(undefined);
  }

  onAttention(a: AttentionPayload): void {
    this.show(a);
  }

  setOwn(own: Normaliser): void {
    this.own = own;
    this.render();
  }

  show(attention: AttentionPayload | undefined): void {
    this.attention = attention;
    this.render();
  }

  figure(): SVGSVGElement | undefined {
    return this.chart;
  }

  data(): ViewData | undefined {
    const a = this.attention;
    if (!a?.distance) return undefined;
    const d = a.distance;
    return {
      title: `Mass by distance, token ${a.position}, ${headLabel(a.head)}`,
      table: {
        columns: ['distance_from', 'distance_to_exclusive', 'softmax', 'ssmax'],
        rows: d.softmax.map((mass, b) => [d.edges[b], d.edges[b + 1], mass, d.ssmax[b]]),
      },
      meta: { position: a.position, n: a.n, head: a.head, ownNormaliser: this.own, sum: { softmax: sum(d.softmax), ssmax: sum(d.ssmax) } },
    };
  }

  private render(): void {
    const a = this.attention;
    if (!a?.distance) {
      this.chart = undefined;
      this.element.replaceChildren(placeholder('Select a token to see how far back its attention reaches.'));
      return;
    }
    const d = a.distance;
    this.chart = barChart({
      label: `Attention mass of token ${a.position} by distance to the key, ${headLabel(a.head)}, softmax and SSMax`,
      groups: d.softmax.map((mass, b) => ({ label: bucketLabel(d.edges, b), values: { softmax: mass, ssmax: d.ssmax[b] } })),
      own: this.own,
      xTitle: 'Distance from the query (tokens, log buckets)',
      yTitle: 'Attention mass',
    });
    const caption = document.createElement('p');
    caption.className = 'view-caption';
    caption.textContent = `Token ${a.position} (n = ${a.n}), ${headLabel(a.head)}. Each view's bars sum to 1; distance 0 is the query itself. ${NORMALISER_NAME[this.own]} is the model's own normaliser.`;
    this.element.replaceChildren(this.chart, caption);
  }
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
