/**
 * Saving what the webview exports (a view as PNG or SVG, rows and statistics as CSV or JSON). The webview cannot
 * write files, so it sends the bytes and the host asks where to put them. The user picks the file; we never pick
 * one for them, and never the inspected document itself.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExportFormat, ViewId } from '../protocol';

const FILTERS: Record<ExportFormat, Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  svg: { 'SVG image': ['svg'] },
  csv: { 'CSV table': ['csv'] },
  json: { JSON: ['json'] },
};

/** `${document name}-${view}.${format}`, e.g. "long_sample.py-focus.svg". */
export function exportFileName(documentUri: string, view: ViewId, format: ExportFormat): string {
  const base = path.posix.basename(vscode.Uri.parse(documentUri).path) || 'document';
  return `${base}-${view}.${format}`;
}

export async function saveExport(documentUri: string, view: ViewId, format: ExportFormat, data: string): Promise<void> {
  const doc = vscode.Uri.parse(documentUri);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? (doc.scheme === 'file' ? vscode.Uri.joinPath(doc, '..') : undefined);
  const name = exportFileName(documentUri, view, format);
  const target = await vscode.window.showSaveDialog({
    title: `Export the ${view} view as ${format.toUpperCase()}`,
    defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
    filters: FILTERS[format],
  });
  if (!target) return;
  if (target.toString() === doc.toString()) throw new Error('that is the inspected document: choose another file');
  const bytes = format === 'png' ? Buffer.from(data, 'base64') : Buffer.from(data, 'utf8');
  await vscode.workspace.fs.writeFile(target, bytes);
  void vscode.window.showInformationMessage(`Attention Inspector: saved ${path.posix.basename(target.path)}`);
}
