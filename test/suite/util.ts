/**
 * Helpers shared by the in-host suites (bundled into each test file; not a test file itself). Every document a test
 * edits is an untitled one made here: the tests never write to a file.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AttentionInspectorApi } from '../../src/extension';

export const EXTENSION_ID = 'attention-inspector.attention-inspector';

export async function activeApi(): Promise<{ ext: vscode.Extension<AttentionInspectorApi>; api: AttentionInspectorApi }> {
  const ext = vscode.extensions.getExtension<AttentionInspectorApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
  const api = await ext.activate();
  return { ext, api };
}

/** The shipped sample's text (read, never written), as material for untitled documents. */
export function sampleText(ext: vscode.Extension<unknown>): string {
  return fs.readFileSync(path.join(ext.extensionPath, 'media', 'sample', 'long_sample.py'), 'utf8');
}

/** Polls `probe` until it gives a value; `what` (a function: worded when the deadline has passed) says what for. */
export async function until<T>(
  what: string | (() => string),
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 30_000,
  every = 50,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms / 1000} s waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An untitled Python document with `content`, shown in the first column (the active editor). */
export async function openUntitled(content: string): Promise<{ doc: vscode.TextDocument; editor: vscode.TextEditor }> {
  const doc = await vscode.workspace.openTextDocument({ content, language: 'python' });
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
  return { doc, editor };
}

/** Closes a document's editor without a save prompt (untitled documents are reverted, so nothing is written). */
export async function closeDocument(doc: vscode.TextDocument): Promise<void> {
  if (doc.isClosed) return;
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preview: false });
  await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
}

/** The tabs of our webview panel, in every editor group. */
export function panelTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('attentionInspector.panel'));
}

export function hoverText(hovers: vscode.Hover[] | undefined): string {
  return (hovers ?? [])
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : c.value))
    .join('\n');
}

/** The attention hover at `pos`, once the document is analysed there. */
export async function attentionHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<string> {
  return until('an attention hover', async () => {
    const t = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, pos));
    // its statistics line names both views (the length-scaled one by its what-if law, SSMax by default)
    return /max weight: softmax/.test(t) && !/not analysed yet/.test(t) ? t : undefined;
  });
}
