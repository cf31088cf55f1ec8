/**
 * The views' commands in the real extension host: "Probe Key Retrieval" (on a copy: the document is never touched)
 * and "Compare Models Side by Side" (the other shipped model analyses the same document).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ProbePayload } from '../../src/protocol';

const EXTENSION_ID = 'attention-inspector.attention-inspector';

interface Api {
  whenIdle(uri?: string): Promise<void>;
  comparison(): { uri: string; version: number; analysed: number; length: number; done: boolean; normaliser?: string } | undefined;
  model(): { normaliser: string; provider: string } | undefined;
  selection(): { comparison: boolean };
}

async function until<T>(what: string, probe: () => T | undefined | false, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

suite('Views (extension host)', () => {
  let api: Api;
  let sampleText: string;

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<Api>(EXTENSION_ID);
    assert.ok(ext);
    api = await ext.activate();
    sampleText = fs.readFileSync(path.join(ext.extensionPath, 'media', 'sample', 'long_sample.py'), 'utf8');
  });

  test('Probe Key Retrieval: every depth for both models, and the document is unchanged', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'python', content: sampleText.slice(0, 8000) });
    await vscode.window.showTextDocument(doc);
    const version = doc.version;
    const probe = (await vscode.commands.executeCommand('attentionInspector.probe', doc.uri, 600)) as ProbePayload | undefined;
    assert.ok(probe, 'the probe ran');
    assert.equal(probe.error, undefined);
    assert.ok(probe.done);
    assert.match(probe.expected, /^\d{5}$/);
    assert.equal(probe.needle, `PASSKEY = ${probe.expected}`);
    assert.deepEqual(probe.depths.map((d) => d.depth), [0, 0.25, 0.5, 0.75, 1]);
    for (const d of probe.depths) {
      assert.deepEqual(d.models.map((m) => m.normaliser), ['ssmax', 'softmax']);
      assert.ok(d.contextTokens <= 600 && d.needlePosition < d.queryPosition);
      for (const m of d.models) assert.ok(m.best.softmax >= 0 && m.best.softmax <= 1 && m.best.ssmax >= 0 && m.best.ssmax <= 1);
    }
    assert.equal(doc.version, version, 'the probe never edits the document');
    assert.equal(doc.getText(), sampleText.slice(0, 8000));
    assert.equal(doc.isDirty, true, 'an untitled document stays as it was (dirty because it is untitled, not because of us)');
  });

  test('Compare Models Side by Side: the other shipped model analyses the document too, and turns off again', async () => {
    const doc = await vscode.workspace.openTextDocument({ language: 'python', content: sampleText.slice(0, 6000) });
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('attentionInspector.inspect');
    await api.whenIdle(doc.uri.toString());
    await vscode.commands.executeCommand('attentionInspector.compareModels');
    assert.equal(api.selection().comparison, true);
    const c = await until('the comparison analysis', () => {
      const s = api.comparison();
      return s && s.uri === doc.uri.toString() && s.done ? s : undefined;
    });
    assert.equal(c.version, doc.version);
    assert.ok(c.analysed > 1000 && c.analysed === c.length);
    assert.notEqual(c.normaliser, api.model()?.normaliser, 'the comparison uses the model trained with the other normaliser');
    await vscode.commands.executeCommand('attentionInspector.compareModels');
    assert.equal(api.selection().comparison, false);
    assert.equal(api.comparison(), undefined, 'turning comparison off frees its analysis');
  });
});
