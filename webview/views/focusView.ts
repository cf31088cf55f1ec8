/** The "Focus vs length" tab: focusChart.ts for the selected head's FocusCurvePayload. */
import { headLabel, type FocusCurvePayload, type HostToWebview, type ModelInfo, type Normaliser } from '../../src/protocol';
import { focusChart } from '../charts/focusChart';
import { focusCaption } from '../focusCaption';
import { placeholder, type InspectorView, type IsCurrent, type ViewData } from './view';

export class FocusView implements InspectorView {
  readonly id = 'focus' as const;
  readonly label = 'Focus vs length';
  readonly element = document.createElement('div');
  private curve: FocusCurvePayload | undefined;
  private own: Normaliser = 'softmax';
  private selectedN: number | undefined;
  private chart: SVGSVGElement | undefined;

  constructor() {
    this.element.className = 'view view-focus';
    this.render();
  }

  onDocument(_doc: unknown, model: ModelInfo, sameUri: boolean): void {
    if (!sameUri) this.clear();
    this.setOwn(model.normaliser);
  }

  onAttention(a: { n: number }): void {
    this.setSelectedN(a.n);
  }

  onMessage(msg: HostToWebview, isCurrent: IsCurrent): void {
    if (msg.type === 'focusCurve' && isCurrent(msg.curve)) this.show(msg.curve);
  }

  setOwn(own: Normaliser): void {
    this.own = own;
    this.render();
  }

  show(curve: FocusCurvePayload): void {
    this.curve = curve;
    this.render();
  }

  setSelectedN(n: number | undefined): void {
    if (n === this.selectedN) return;
    this.selectedN = n;
    this.render();
  }

  clear(): void {
    this.curve = undefined;
    this.render();
  }

  figure(): SVGSVGElement | undefined {
    return this.chart;
  }

  data(): ViewData | undefined {
    const c = this.curve;
    if (!c) return undefined;
    return {
      title: `Focus vs n, ${headLabel(c.head)}`,
      table: {
        columns: [
          'n',
          'maxWeight_softmax',
          'maxWeight_ssmax',
          'normalisedEntropy_softmax',
          'normalisedEntropy_ssmax',
          ...(c.sink ? ['sink_softmax', 'sink_ssmax'] : []),
        ],
        rows: c.n.map((n, i) => [
          n,
          c.maxWeight.softmax[i],
          c.maxWeight.ssmax[i],
          c.normalisedEntropy.softmax[i],
          c.normalisedEntropy.ssmax[i],
          ...(c.sink ? [c.sink.softmax[i], c.sink.ssmax[i]] : []),
        ]),
      },
      meta: {
        head: c.head,
        trainingContext: c.trainingContext,
        analysedTokens: c.analysedTokens,
        selectedN: this.selectedN ?? null,
        ownNormaliser: this.own,
        sink: c.sink ? { tokens: c.sink.tokens, samplesPerBin: c.sink.samples } : null,
      },
    };
  }

  private render(): void {
    const c = this.curve;
    if (!c) {
      this.chart = undefined;
      this.element.replaceChildren(placeholder('Waiting for the focus curve of the selected head…'));
      return;
    }
    this.chart = focusChart({ curve: c, own: this.own, selectedN: this.selectedN, headLabel: headLabel(c.head) });
    const caption = document.createElement('p');
    caption.className = 'view-caption';
    caption.textContent = focusCaption(c, this.own, headLabel(c.head));
    this.element.replaceChildren(this.chart, caption);
  }
}
