/**
 * "Attention: Add Model…" in the real extension host, with a folder argument (the e2e test goes through the dialog):
 * a broken folder is refused and changes nothing; a Hugging Face export is added, used, analysed and listed, and
 * its folder is left as it was.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AttentionInspectorApi } from '../../src/extension';
import { activeApi, closeDocument, openUntitled, sampleText, until } from './util';

suite('Add Model (extension host)', () => {
  let api: AttentionInspectorApi;
  let ext: vscode.Extension<AttentionInspectorApi>;
  let tmp: string;

  suiteSetup(async () => {
    ({ api, ext } = await activeApi());
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ai-add-model-'));
  });

  suiteTeardown(async () => {
    await vscode.workspace.getConfiguration('attentionInspector').update('model', undefined, vscode.ConfigurationTarget.Global);
    await until('the shipped model again', () => api.model()?.id === 'ssmax', 60_000, 100);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const listing = (dir: string) =>
    fs
      .readdirSync(dir)
      .sort()
      .map((f) => `${f}:${fs.statSync(path.join(dir, f)).size}:${fs.statSync(path.join(dir, f)).mtimeMs}`);

  test('a folder that is not an export is refused; the catalogue and the model stay as they were', async () => {
    const bad = path.join(tmp, 'not-a-model');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'config.json'), JSON.stringify({ model_type: 'bert', num_hidden_layers: 2 }));
    const before = api.catalogue();
    const added = await vscode.commands.executeCommand('attentionInspector.addModel', bad);
    assert.equal(added, undefined);
    assert.deepEqual(api.catalogue(), before);
    assert.deepEqual(listing(bad), [
      'config.json:' + fs.statSync(path.join(bad, 'config.json')).size + ':' + fs.statSync(path.join(bad, 'config.json')).mtimeMs,
    ]);
  });

  test('an export is added, listed after the shipped models, used, and analyses a document; its folder is unchanged', async () => {
    const dir = path.join(tmp, 'qwen2-export');
    fs.cpSync(path.join(ext.extensionPath, 'test', 'fixtures', 'hf', 'qwen2'), dir, { recursive: true });
    const before = listing(dir);
    const id = await vscode.commands.executeCommand('attentionInspector.addModel', dir);
    assert.equal(id, 'hf-qwen2-export');
    const ids = api.catalogue();
    assert.equal(ids[ids.length - 1], 'hf-qwen2-export', 'listed after the shipped models');
    assert.ok(ids.includes('ssmax'));
    await until('the added model loaded', () => api.model()?.id === 'hf-qwen2-export', 60_000, 100);
    assert.equal(api.model()?.normaliser, 'softmax');
    const { doc } = await openUntitled(sampleText(ext).slice(0, 3000));
    await vscode.commands.executeCommand('attentionInspector.inspect');
    await api.whenIdle(doc.uri.toString());
    const a = await until('the analysis', () => api.analysis(doc.uri.toString())?.done && api.analysis(doc.uri.toString()), 60_000, 100);
    assert.ok(a.length > 500 && a.analysed === a.length);
    await closeDocument(doc);
    assert.deepEqual(listing(dir), before, 'nothing written into the model folder');
  });
});
