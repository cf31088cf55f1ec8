/**
 * The rows a view shows as CSV (RFC 4180: quoted when needed, CRLF line ends) and as JSON. Numbers are written
 * with full precision (String(n)), so both files round-trip the exact values behind the rounded text on screen.
 */
import type { Cell, ViewData } from '../views/view';

function csvField(value: Cell): string {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(data: ViewData): string {
  const lines = [data.table.columns, ...data.table.rows].map((row) => row.map(csvField).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export function toJson(data: ViewData, context: Record<string, unknown>): string {
  const { columns, rows } = data.table;
  const records = rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null])));
  return `${JSON.stringify({ title: data.title, ...context, ...data.meta, columns, rows: records }, null, 2)}\n`;
}
