/**
 * The export buttons of the views area: PNG, SVG, CSV, JSON of the open tab, posted to the host as `export`
 * messages (the host asks where to save). A format with nothing to export is disabled.
 */
import { MAX_EXPORT_CHARS, type ExportFormat, type WebviewToHost } from '../../src/protocol';
import { createButton, type ButtonHandle } from '../components';
import type { InspectorView } from '../views/view';
import { svgToPngBase64 } from './png';
import { standaloneSvg } from './standaloneSvg';
import { toCsv, toJson } from './tableFiles';
import { required } from '../dom';

export interface ExportBarEvents {
  post(message: WebviewToHost): void;
  /** Context for the JSON file: model, document, token, head. */
  context(): Record<string, unknown>;
  error(text: string): void;
}

const LABEL: Record<ExportFormat, string> = { png: 'PNG', svg: 'SVG', csv: 'CSV', json: 'JSON' };
const WHAT: Record<ExportFormat, string> = {
  png: 'the chart as a PNG image',
  svg: 'the chart as an SVG file',
  csv: 'the rows as CSV',
  json: 'the rows and statistics as JSON',
};

export class ExportBar {
  readonly element = document.createElement('div');
  private readonly buttons = new Map<ExportFormat, ButtonHandle>();
  private view: InspectorView | undefined;

  constructor(private readonly events: ExportBarEvents) {
    this.element.className = 'export-bar';
    this.element.setAttribute('role', 'group');
    this.element.setAttribute('aria-label', 'Export the open view');
    const label = document.createElement('span');
    label.className = 'control-label';
    label.textContent = 'Export';
    this.element.append(label);
    for (const format of ['png', 'svg', 'csv', 'json'] as const) {
      const button = createButton(LABEL[format], { appearance: 'secondary', title: `Save ${WHAT[format]}` });
      button.element.dataset.format = format;
      button.onClick(() => void this.export(format));
      this.buttons.set(format, button);
      this.element.append(button.element);
    }
  }

  /** The open tab; call again when its content changes so the buttons' states follow. */
  setView(view: InspectorView): void {
    this.view = view;
    this.refresh();
  }

  refresh(): void {
    const figure = !!this.view?.figure();
    const data = !!this.view?.data();
    required(this.buttons.get('png'), 'the png button').setDisabled(!figure);
    required(this.buttons.get('svg'), 'the svg button').setDisabled(!figure);
    required(this.buttons.get('csv'), 'the csv button').setDisabled(!data);
    required(this.buttons.get('json'), 'the json button').setDisabled(!data);
  }

  async export(format: ExportFormat): Promise<void> {
    const view = this.view;
    if (!view) return;
    try {
      const data = await this.render(view, format);
      if (!data) return;
      if (data.length > MAX_EXPORT_CHARS) throw new Error('the file is too large to send');
      this.events.post({ type: 'export', view: view.id, format, data });
    } catch (e) {
      this.events.error(`Could not export ${view.label} as ${LABEL[format]}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async render(view: InspectorView, format: ExportFormat): Promise<string | undefined> {
    if (format === 'png' || format === 'svg') {
      const figure = view.figure();
      if (!figure) return undefined;
      const svg = standaloneSvg(figure);
      return format === 'svg' ? svg.text : svgToPngBase64(svg);
    }
    const data = view.data();
    if (!data) return undefined;
    return format === 'csv' ? toCsv(data) : toJson(data, this.events.context());
  }
}
