/**
 * The "Probe" tab: the needle probe (a key-value line planted at several depths of a copy of the document, then
 * a question). "Run probe" posts runProbe; the host streams ProbePayloads until done. A chart (probeChart.ts) and a
 * table per depth × model: the prediction, whether it is right, and the weight on the needle under both views.
 */
import type { HostToWebview, ProbePayload } from '../../src/protocol';
import { probeChart } from '../charts/probeChart';
import { formatWeight, NORMALISER_NAME } from '../format';
import { RunBar } from './runBar';
import { placeholder, type InspectorView, type ViewData } from './view';

export interface ProbeViewEvents {
  runProbe(): void;
}

export class ProbeView implements InspectorView {
  readonly id = 'probe' as const;
  readonly label = 'Probe';
  readonly element = document.createElement('div');
  private readonly body = document.createElement('div');
  private readonly bar: RunBar;
  private probe: ProbePayload | undefined;
  private chart: SVGSVGElement | undefined;

  constructor(events: ProbeViewEvents) {
    this.element.className = 'view view-probe';
    this.bar = new RunBar({
      label: 'Run probe',
      title: 'Run the needle probe on a copy of this document',
      buttonId: 'run-probe',
      progressId: 'probe-progress',
      progressLabel: 'Running the needle probe',
      onRun: () => events.runProbe(),
    });
    this.element.append(this.bar.element, this.body);
    this.render();
  }

  onMessage(msg: HostToWebview): void {
    if (msg.type === 'probe') this.show(msg.probe);
    else if (msg.type === 'message' && msg.level === 'error') this.stopWaiting();
  }

  show(probe: ProbePayload): void {
    this.probe = probe;
    this.bar.received();
    this.render();
  }

  /** The host reported an error instead of probe results: allow another try. */
  stopWaiting(): void {
    if (this.bar.stopWaiting()) this.render();
  }

  figure(): SVGSVGElement | undefined {
    return this.chart;
  }

  data(): ViewData | undefined {
    const p = this.probe;
    if (!p) return undefined;
    const rows = p.depths.flatMap((d) =>
      d.models.map((m) => [
        d.depth,
        d.contextTokens,
        d.needlePosition,
        d.queryPosition,
        m.modelId,
        m.normaliser,
        m.prediction,
        m.correct,
        m.best.layer,
        m.best.head,
        m.best.softmax,
        m.best.ssmax,
        m.mean.softmax,
        m.mean.ssmax,
      ]),
    );
    return {
      title: `Needle probe, ${p.fileName}`,
      table: {
        columns: [
          'depth',
          'contextTokens',
          'needlePosition',
          'queryPosition',
          'model',
          'trainedWith',
          'prediction',
          'correct',
          'bestLayer',
          'bestHead',
          'best_softmax',
          'best_ssmax',
          'mean_softmax',
          'mean_ssmax',
        ],
        rows,
      },
      meta: {
        needle: p.needle,
        question: p.question,
        expected: p.expected,
        trainingContext: p.trainingContext,
        completedRuns: p.completedRuns,
        totalRuns: p.totalRuns,
        done: p.done,
        error: p.error ?? null,
      },
    };
  }

  private render(): void {
    const p = this.probe;
    this.bar.update(p && { ...p, status: p.error ? `Probe stopped: ${p.error}` : `Done: ${p.completedRuns} runs`, error: !!p.error });
    if (!p) {
      this.chart = undefined;
      this.body.replaceChildren(
        placeholder('Plants a key-value line at several depths of a copy of this document (never the document itself) and asks each model for the value.'),
      );
      return;
    }
    const intro = document.createElement('p');
    intro.className = 'view-caption';
    intro.append('Needle ');
    intro.append(code(p.needle));
    intro.append(', question ');
    intro.append(code(p.question.trim()));
    intro.append(`, expected ${p.expected}. Training length ${p.trainingContext}.`);
    this.chart = p.depths.length ? probeChart(p) : undefined;
    this.body.replaceChildren(intro, ...(this.chart ? [this.chart] : []), this.table(p));
  }

  private table(p: ProbePayload): HTMLTableElement {
    const table = document.createElement('table');
    table.className = 'data-table probe-table';
    const caption = table.createCaption();
    caption.textContent = 'Weight on the needle: the best head (own view) and the mean over every head, under both views';
    const head = table.createTHead().insertRow();
    for (const label of [
      'Depth',
      'Tokens',
      'Model',
      'Answer',
      'Best head',
      `Best ${NORMALISER_NAME.softmax}`,
      `Best ${NORMALISER_NAME.ssmax}`,
      `Mean ${NORMALISER_NAME.softmax}`,
      `Mean ${NORMALISER_NAME.ssmax}`,
    ]) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = label;
      head.append(th);
    }
    const body = table.createTBody();
    for (const d of [...p.depths].sort((a, b) => a.depth - b.depth)) {
      for (const m of d.models) {
        const row = body.insertRow();
        row.dataset.depth = String(d.depth);
        row.dataset.model = m.modelId;
        cell(row, d.depth.toFixed(2));
        cell(row, String(d.contextTokens));
        cell(row, `${m.displayName} (${NORMALISER_NAME[m.normaliser]})`);
        const answer = cell(row, `${m.correct ? '✓' : '✗'} ${m.prediction}`);
        answer.className = m.correct ? 'probe-correct' : 'probe-wrong';
        answer.dataset.correct = String(m.correct);
        answer.title = m.correct ? 'Starts with the planted value' : `Expected ${p.expected}`;
        cell(row, `L${m.best.layer} H${m.best.head}`);
        for (const value of [m.best.softmax, m.best.ssmax, m.mean.softmax, m.mean.ssmax]) {
          const c = cell(row, formatWeight(value));
          c.dataset.value = String(value);
          c.className = 'num';
        }
      }
    }
    return table;
  }
}

function cell(row: HTMLTableRowElement, text: string): HTMLTableCellElement {
  const c = row.insertCell();
  c.textContent = text;
  return c;
}

function code(text: string): HTMLElement {
  const el = document.createElement('code');
  el.textContent = text;
  return el;
}
