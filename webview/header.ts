/**
 * The header: model and execution provider, the layer/head dropdown, the overlay checkbox, analysis
 * progress, the cap note, the legend and the message banner.
 */
import type { DocumentPayload, HeadChoice, ModelInfo, Normaliser, ProgressPayload } from '../src/protocol';
import { SCALE_DESCRIPTION } from './colors';
import { createButton, createCheckbox, createDropdown, createProgress, type DropdownOption } from './components';
import { NORMALISER_NAME, otherLaw, viewName } from './format';
import { byId, required } from './dom';

export interface HeaderElements {
  controls: HTMLElement;
  message: HTMLElement;
  capNote: HTMLElement;
  legend: HTMLElement;
}

export interface HeaderEvents {
  selectHead(head: HeadChoice): void;
  setOverlay(on: boolean): void;
}

/** Dropdown values: "layer:head" or "layer:mean". */
export function headValue(h: HeadChoice): string {
  return `${h.layer}:${h.head}`;
}

export function parseHeadValue(value: string): HeadChoice | undefined {
  const m = /^(\d+):(mean|\d+)$/.exec(value);
  if (!m) return undefined;
  return { layer: Number(m[1]), head: m[2] === 'mean' ? 'mean' : Number(m[2]) };
}

export function headOptions(layers: number, heads: number): DropdownOption[] {
  const options: DropdownOption[] = [];
  for (let layer = 0; layer < layers; layer++) {
    options.push({ value: headValue({ layer, head: 'mean' }), label: `Layer ${layer} · mean of heads` });
    for (let head = 0; head < heads; head++) options.push({ value: headValue({ layer, head }), label: `Layer ${layer} · H${head}` });
  }
  return options;
}

export class Header {
  private readonly headDropdown = createDropdown('Layer and head');
  private readonly overlayCheckbox = createCheckbox('SSMax overlay');
  private readonly progress = createProgress('Analysing the document');
  private shape = '';
  private trainingContext = 0;

  constructor(
    private readonly el: HeaderElements,
    events: HeaderEvents,
  ) {
    this.headDropdown.element.id = 'head-select';
    this.overlayCheckbox.element.id = 'overlay-toggle';
    this.progress.element.id = 'progress';
    this.progress.set(false);
    const headLabel = document.createElement('label');
    headLabel.className = 'control-label';
    headLabel.textContent = 'Head';
    headLabel.htmlFor = 'head-select';
    el.controls.append(headLabel, this.headDropdown.element, this.overlayCheckbox.element, this.progress.element);

    this.headDropdown.onChange((value) => {
      const head = parseHeadValue(value);
      if (head) events.selectHead(head);
    });
    this.overlayCheckbox.onChange((on) => events.setOverlay(on));

    const dismiss = createButton('✕', { appearance: 'icon', title: 'Dismiss message' });
    dismiss.element.classList.add('message-dismiss');
    dismiss.onClick(() => {
      el.message.hidden = true;
    });
    const text = document.createElement('span');
    text.className = 'message-text';
    el.message.append(text, dismiss.element);
  }

  showDocument(doc: DocumentPayload, model: ModelInfo, head: HeadChoice): void {
    setText('model-name', model.displayName);
    setText('model-normaliser', `own normaliser: ${NORMALISER_NAME[model.normaliser]}`);
    setText('execution-provider', model.executionProvider);
    byId('execution-provider').title = 'Execution provider';
    byId('model-normaliser').title = `${model.summary} · training context ${model.trainingContext} tokens`;

    const shape = `${model.layers}x${model.heads}`;
    if (shape !== this.shape) {
      this.shape = shape;
      this.headDropdown.setOptions(headOptions(model.layers, model.heads), headValue(head));
    } else {
      this.headDropdown.setValue(headValue(head));
    }
    // Always SSMax drawn over softmax (the paper's comparison); the legend says which one the model was trained with.
    const scaled = viewName('ssmax', model.normaliser);
    this.overlayCheckbox.element.textContent = `${scaled} overlay`;
    this.overlayCheckbox.element.title = `Draw the ${scaled} weights over the softmax ones (the model's own normaliser is ${NORMALISER_NAME[model.normaliser]})`;

    const capped = doc.totalTokens > doc.tokens.length;
    this.el.capNote.hidden = !capped;
    this.el.capNote.textContent = capped ? `Analysed the first ${doc.tokens.length} of ${doc.totalTokens} tokens (attentionInspector.maxTokens)` : '';
    this.trainingContext = model.trainingContext;
    this.renderLegend(model.normaliser);
  }

  setHead(head: HeadChoice): void {
    this.headDropdown.setValue(headValue(head));
  }

  setOverlay(on: boolean): void {
    this.overlayCheckbox.setChecked(on);
  }

  showProgress(p: ProgressPayload): void {
    // a stopped analysis (Cancel) shows no spinner: the message banner says where it stopped
    this.progress.set(!p.done && p.running, `${p.analysedTokens} / ${p.totalTokens} tokens`);
  }

  showMessage(level: 'info' | 'error', text: string): void {
    const banner = this.el.message;
    banner.setAttribute('role', level === 'error' ? 'alert' : 'status');
    banner.classList.toggle('error', level === 'error');
    required(banner.querySelector('.message-text'), 'message text').textContent = text;
    banner.hidden = false;
  }

  private renderLegend(own: Normaliser): void {
    const whatIf = otherLaw(own);
    const role = (n: Normaliser) =>
      n === own
        ? "the model's own"
        : whatIf
          ? `what if: ${whatIf.formula}, ${whatIf.source}`
          : `counterfactual, agrees with the model's at n = ${this.trainingContext}`;
    const item = (swatchClass: string, text: string, extraClass = ''): HTMLElement => {
      const span = document.createElement('span');
      span.className = `legend-item ${extraClass}`.trim();
      const swatch = document.createElement('span');
      swatch.className = `swatch ${swatchClass}`;
      swatch.setAttribute('aria-hidden', 'true');
      span.append(swatch, text);
      return span;
    };
    const scale = document.createElement('span');
    scale.className = 'legend-scale';
    scale.textContent = `Per row, ${SCALE_DESCRIPTION}`;
    this.el.legend.replaceChildren(
      item('swatch-own', `Background: Softmax (${role('softmax')})`),
      item('swatch-other', `Underline: ${viewName('ssmax', own)} (${role('ssmax')})`, 'legend-other'),
      item('swatch-query', 'Outline: the query token'),
      scale,
    );
  }
}

function setText(id: string, text: string): void {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}
