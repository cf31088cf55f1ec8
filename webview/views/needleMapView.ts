/**
 * The "Needle map" tab: the probe over context lengths × depths (needleMapChart.ts), each cell over several
 * haystacks of the document. "Run needle map" posts runNeedleMap; the host streams NeedleMapPayloads cell by cell.
 */
import type { HostToWebview, NeedleMapPayload } from '../../src/protocol';
import { needleMapChart } from '../charts/needleMapChart';
import { RunBar } from './runBar';
import { placeholder, type InspectorView, type ViewData } from './view';

export interface NeedleMapViewEvents {
  runNeedleMap(): void;
}

export class NeedleMapView implements InspectorView {
  readonly id = 'needle' as const;
  readonly label = 'Needle map';
  readonly element = document.createElement('div');
  private readonly body = document.createElement('div');
  private readonly bar: RunBar;
  private map: NeedleMapPayload | undefined;
  private chart: SVGSVGElement | undefined;

  constructor(events: NeedleMapViewEvents) {
    this.element.className = 'view view-needle';
    this.bar = new RunBar({
      label: 'Run needle map',
      title: 'Probe copies of this document over lengths × depths',
      buttonId: 'run-needle-map',
      progressId: 'needle-progress',
      progressLabel: 'Running the needle map',
      statusId: 'needle-status',
      onRun: () => events.runNeedleMap(),
    });
    this.element.append(this.bar.element, this.body);
    this.render();
  }

  onMessage(msg: HostToWebview): void {
    if (msg.type === 'needleMap') this.show(msg.map);
    else if (msg.type === 'message' && msg.level === 'error') this.stopWaiting();
  }

  show(map: NeedleMapPayload): void {
    this.map = map;
    this.bar.received();
    this.render();
  }

  /** The host reported an error instead of a needle map: allow another try. */
  stopWaiting(): void {
    if (this.bar.stopWaiting()) this.render();
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
    this.bar.update(
      m && { ...m, status: m.error ? `Needle map stopped: ${m.error}` : `Done: ${m.cells.length} cells, ${m.completedRuns} runs`, error: !!m.error },
    );
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
