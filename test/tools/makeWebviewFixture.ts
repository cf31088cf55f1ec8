/**
 * Writes test/webview/fixture.json from the real shipped model, so the Chromium webview test renders real model
 * output: the 'document' message for the first tokens of media/sample/long_sample.py and 'attention' payloads for
 * several query positions (last layer, mean over heads), exactly as the host would send them.
 *   node scripts/build.mjs && node out/test/tools/makeWebviewFixture.js
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AttentionModel } from '../../src/core/model';
import { tokenInfos } from '../../src/core/tokenText';
import type { AttentionPayload, HeadChoice, HostToWebview } from '../../src/protocol';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TOKENS = 1500;

async function main(): Promise<void> {
  const model = await AttentionModel.load({ manifestPath: path.join(ROOT, 'models', 'ssmax.json'), provider: 'cpu' });
  const text = readFileSync(path.join(ROOT, 'media', 'sample', 'long_sample.py'), 'utf8');
  const a = await model.analyse(text, { maxTokens: TOKENS });
  const docText = text.slice(0, a.tokens.ends[a.length - 1]);
  const infos = tokenInfos(docText, a.tokens);
  const m = model.manifest;
  const uri = 'file:///workspace/long_sample.py';
  const document: HostToWebview = {
    type: 'document',
    doc: { uri, fileName: '/workspace/long_sample.py', version: 1, tokens: infos, totalTokens: a.tokens.ids.length, maxTokens: TOKENS },
    model: { id: m.id, displayName: m.displayName, normaliser: m.normaliser, trainingContext: m.trainingContext, layers: m.architecture.layers, heads: m.architecture.heads, executionProvider: model.provider.toUpperCase() },
  };
  const head: HeadChoice = { layer: m.architecture.layers - 1, head: 'mean' };
  const attention: Record<string, AttentionPayload> = {};
  for (const position of [40, 300, 700, 1100, TOKENS - 1]) {
    const rows = a.rows(position, head);
    attention[String(position)] = {
      uri, version: 1, position, n: rows.n, head,
      softmax: Array.from(rows.softmax, (v) => +v.toPrecision(5)),
      ssmax: Array.from(rows.ssmax, (v) => +v.toPrecision(5)),
      stats: { softmax: rows.stats.softmax, ssmax: rows.stats.ssmax },
      top: a.top(rows, 10).map((t) => ({ ...t, text: infos[t.position].text, line: infos[t.position].line })),
    };
  }
  await model.dispose();
  writeFileSync(path.join(ROOT, 'test', 'webview', 'fixture.json'), JSON.stringify({ model: m.provenance, document, attention }));
  console.log(`fixture: ${a.length} tokens, ${Object.keys(attention).length} attention rows`);
}

void main();
