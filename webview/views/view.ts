/**
 * What every tab of the views area provides: its panel content, the figure to save as SVG/PNG, and the rows and
 * statistics it shows, to save as CSV/JSON (webview/export/ turns these into files).
 */
import type { AttentionPayload, DocumentPayload, HeadChoice, HostToWebview, ModelInfo, ViewId } from '../../src/protocol';

export type Cell = string | number | boolean;

/** The rows a view shows, column names first; numbers are exact (not the rounded text on screen). */
export interface TableData {
  columns: string[];
  rows: Cell[][];
}

export interface ViewData {
  /** What the rows are, e.g. "Focus vs n, L3 mean, long_sample.py". */
  title: string;
  table: TableData;
  /** Extra context for the JSON file (model, token, head, summary statistics). */
  meta: Record<string, unknown>;
}

/** Whether a payload is for the document (and version) the panel shows: anything else is stale. */
export type IsCurrent = (p: { uri: string; version: number }) => boolean;

/**
 * What main.ts tells every view, in one loop over the views (each hook optional): a view takes what it needs, and
 * a new view is one file here and one entry in main.ts's list.
 */
export interface ViewHooks {
  /** A document (a new file, or a new version of the same one: `sameUri`) and the model that analysed it. */
  onDocument?(doc: DocumentPayload, model: ModelInfo, sameUri: boolean): void;
  /** The selected token's attention arrived. */
  onAttention?(a: AttentionPayload): void;
  /** A token was selected in the panel (its attention follows from the host). */
  onPosition?(position: number): void;
  /** The head changed (dropdown, heads grid, shortcut, or the host's settings). */
  onHead?(head: HeadChoice): void;
  /** Every message from the host: a view takes its own payload type (and may follow others, e.g. settings). */
  onMessage?(msg: HostToWebview, isCurrent: IsCurrent): void;
}

export interface InspectorView extends ViewHooks {
  readonly id: ViewId;
  /** The tab's label. */
  readonly label: string;
  readonly element: HTMLElement;
  /** The chart to export as SVG/PNG, or undefined while there is nothing to show. */
  figure(): SVGSVGElement | undefined;
  /** The rows to export as CSV/JSON, or undefined while there is nothing to show. */
  data(): ViewData | undefined;
}

/** A paragraph shown in place of a chart: waiting for data, comparison off, and so on. */
export function placeholder(text: string): HTMLParagraphElement {
  const p = document.createElement('p');
  p.className = 'view-placeholder';
  p.textContent = text;
  return p;
}
