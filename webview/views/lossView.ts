/**
 * The "Loss" tab: where on this file each model stops predicting. The strip (lossChart.ts) and, per position bucket
 * (0–N, N–4N, …), each model's mean next-token loss and, with two models, their difference: the paper's long-context
 * loss result on the user's own file. Sent by the host once an analysis is done.
 */
import type { HostToWebview, LossPayload } from '../../src/protocol';
import { lossChart } from '../charts/lossChart';
import { placeholder, type InspectorView, type IsCurrent, type ViewData } from './view';

export class LossView implements InspectorView {
  readonly id = 'loss' as const;
  readonly label = 'Loss';
  readonly element = document.createElement('div');
  private loss: LossPayload | undefined;
  private chart: SVGSVGElement | undefined;

  constructor() {
    this.element.className = 'view view-loss';
    this.render();
  }

  onDocument(_doc: unknown, _model: unknown, sameUri: boolean): void {
    if (!sameUri) this.clear();
  }

  onMessage(msg: HostToWebview, isCurrent: IsCurrent): void {
    if (msg.type === 'loss' && isCurrent(msg.loss)) this.show(msg.loss);
  }

  show(loss: LossPayload): void {
    this.loss = loss;
    this.render();
  }

  clear(): void {
    this.loss = undefined;
    this.render();
  }

  figure(): SVGSVGElement | undefined {
    return this.chart;
  }

  data(): ViewData | undefined {
    const l = this.loss;
    if (!l) return undefined;
    return {
      title: 'Next-token loss along the document',
      table: {
        columns: ['from', 'to', ...l.models.map((_, k) => (k === 0 ? 'loss_main' : 'loss_comparison'))],
        rows: l.edges.slice(0, -1).map((from, b) => [from, l.edges[b + 1], ...l.models.map((m) => m.mean[b])]),
      },
      meta: { trainingContext: l.trainingContext, models: l.models.map((m) => ({ displayName: m.displayName, normaliser: m.normaliser, buckets: m.buckets })) },
    };
  }

  private render(): void {
    const l = this.loss;
    if (!l || !l.models.length) {
      this.chart = undefined;
      this.element.replaceChildren(
        placeholder('Each token’s next-token loss appears here when the analysis is done (turn Compare on for a second model beside it).'),
      );
      return;
    }
    this.chart = lossChart(l);
    this.element.replaceChildren(this.chart, this.table(l));
  }

  private table(l: LossPayload): HTMLTableElement {
    const table = document.createElement('table');
    table.className = 'data-table loss-table';
    table.createCaption().textContent = `Mean nats per token by position (N = ${l.trainingContext}, the training length)`;
    const head = table.createTHead().insertRow();
    const two = l.models.length === 2;
    for (const label of ['Positions', ...l.models.map((m) => m.displayName), ...(two ? ['Difference (first − second)'] : [])]) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = label;
      head.append(th);
    }
    const body = table.createTBody();
    l.models[0].buckets.forEach((b, i) => {
      const row = body.insertRow();
      row.dataset.from = String(b.from);
      row.insertCell().textContent = `${b.from.toLocaleString('en-US')}–${b.to.toLocaleString('en-US')}`;
      const values = l.models.map((m) => m.buckets[i]?.mean ?? NaN);
      for (const v of two ? [...values, values[0] - values[1]] : values) {
        const c = row.insertCell();
        c.className = 'num';
        c.dataset.value = String(v);
        c.textContent = Number.isFinite(v) ? v.toFixed(3) : '—';
      }
    });
    return table;
  }
}
