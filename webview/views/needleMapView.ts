/**
 * The "Needle map" tab: the probe over context lengths × depths (needleMapChart.ts), each cell over several
 * haystacks of the document. "Run needle map" posts runNeedleMap; the host streams NeedleMapPayloads cell by cell.
 */
import type { NeedleMapPayload } from '../../src/protocol';
import { needleMapChart } from '../charts/needleMapChart';
import { createButton, createProgress } from '../components';
import { placeholder, type InspectorView, type ViewData } from './view';

export interface NeedleMapViewEvents {
  runNeedleMap(): void;
}

export class NeedleMapView implements InspectorView {
  readonly id = 'needle' as const;
  readonly label = 'Needle map';
  readonly element = document.createElement('div');
  private readonly body = document.createElement('div');
  private readonly status = document.createElement('span');
  private readonly runButton = createButton('Run needle map', { appearance: 'primary', title: 'Probe copies of this document over lengths × depths' });
  private readonly progress = createProgress('Running the needle map');
  private map: NeedleMapPayload | undefined;
  private chart: SVGSVGElement | undefined;
  private waiting = false;

  constructor(events: NeedleMapViewEvents) {
    this.element.className = 'view view-needle';
    const bar = document.createElement('div');
    bar.className = 'view-toolbar';
    this.runButton.element.id = 'run-needle-map';
    this.runButton.onClick(() => {
      this.waiting = true;
      this.runButton.setDisabled(true);
      this.progress.set(true, 'Starting…');
      events.runNeedleMap();
    });
    this.progress.element.id = 'needle-progress';
    this.progress.set(false);
    this.status.className = 'probe-status';
    this.status.id = 'needle-status';
    this.status.setAttribute('role', 'status');
    bar.append(this.runButton.element, this.progress.element, this.status);
    this.element.append(bar, this.body);
    this.render();
  }

  show(map: NeedleMapPayload): void {
    this.map = map;
    this.waiting = false;
    this.render();
  }

  /** The host reported an error (or the grid pick was dismissed): allow another try. */
  stopWaiting(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.render();
  }

  figure(): SVGSVGElement | undefined {
    return this.chart;
  }

  data(): ViewData | undefined {
    const m = this.map;
    if (!m) return undefined;
    return {
      title: `Needle map, ${m.fileName}`,
      table: {
        columns: [
          'length',
          'contextTokens',
          'depth',
          'model',
          'trainedWith',
          'haystacks',
          'correct',
          'best_softmax',
          'best_ssmax',
          'mean_softmax',
          'mean_ssmax',
        ],
        rows: m.cells.flatMap((c) =>
          c.models.map((x) => [
            c.length,
            c.contextTokens,
            c.depth,
            x.modelId,
            x.normaliser,
            x.haystacks,
            x.correct,
            x.best.softmax,
            x.best.ssmax,
            x.mean.softmax,
            x.mean.ssmax,
          ]),
        ),
      },
      meta: {
        lengths: m.lengths,
        depths: m.depths,
        haystacks: m.haystacks,
        trainingContext: m.trainingContext,
        completedRuns: m.completedRuns,
        totalRuns: m.totalRuns,
        done: m.done,
        error: m.error ?? null,
      },
    };
  }

  private render(): void {
    const m = this.map;
    const running = this.waiting || (!!m && !m.done);
    this.runButton.setDisabled(running);
    if (m && !m.done) this.progress.set(true, `${m.completedRuns} / ${m.totalRuns} runs`);
    else if (!this.waiting) this.progress.set(false);
    this.status.textContent = m?.error ? `Needle map stopped: ${m.error}` : m?.done ? `Done: ${m.cells.length} cells, ${m.completedRuns} runs` : '';
    this.status.classList.toggle('error', !!m?.error);
    if (!m || !m.cells.length) {
      this.chart = undefined;
      this.body.replaceChildren(
        placeholder(
          'A passkey line planted at several depths of copies of this document (never the document itself), at several context lengths, several haystacks per cell: how often each model answers, and its attention on the needle.',
        ),
      );
      return;
    }
    this.chart = needleMapChart(m);
    const caption = document.createElement('p');
    caption.className = 'view-caption';
    caption.textContent = `${m.haystacks} haystack${m.haystacks === 1 ? '' : 's'} per cell, cut from different places of ${m.fileName.split(/[\\/]/).pop() ?? m.fileName}; the value is five random digits per haystack. Training length N = ${m.trainingContext}. Hover a cell for the weights under both views; CSV/JSON have every number.`;
    this.body.replaceChildren(this.chart, caption);
  }
}
