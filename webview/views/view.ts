/**
 * What every tab of the views area provides: its panel content, the figure to save as SVG/PNG, and the rows and
 * statistics it shows, to save as CSV/JSON (webview/export/ turns these into files).
 */
import type { ViewId } from '../../src/protocol';

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

export interface InspectorView {
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
