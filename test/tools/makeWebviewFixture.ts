/**
 * Writes test/webview/fixture.json from the real shipped model, so the Chromium webview test renders real model
 * output: the 'document' message for the first tokens of media/sample/long_sample.py and 'attention' payloads for
 * several query positions (last layer, mean over heads), exactly as the host would send them.
 *   node scripts/build.mjs && node out/test/tools/makeWebviewFixture.js
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Analysis } from '../../src/core/analysis';
import { AttentionModel } from '../../src/core/model';
import { tokenInfos } from '../../src/core/tokenText';
import { DEFAULT_PROBE, needleLine, questionText, runProbe } from '../../src/core/probe';
import { distanceProfile, focusCurve, headCell } from '../../src/core/views';
import { FOCUS_CURVE_POINTS, type AttentionPayload, type FocusCurvePayload, type HeadChoice, type HeadsPayload, type HostToWebview, type ModelInfo, type ProbePayload, type TokenInfo } from '../../src/protocol';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TOKENS = 1500;

const POSITIONS = [40, 300, 700, 1100, TOKENS - 1];

function modelInfo(model: AttentionModel): ModelInfo {
  const m = model.manifest;
  return { id: m.id, displayName: m.displayName, normaliser: m.normaliser, trainingContext: m.trainingContext, layers: m.architecture.layers, heads: m.architecture.heads, executionProvider: model.provider.toUpperCase() };
}

function attentionPayload(a: Analysis, infos: TokenInfo[], uri: string, position: number, head: HeadChoice): AttentionPayload {
  const rows = a.rows(position, head);
  return {
    uri, version: 1, position, n: rows.n, head,
    softmax: Array.from(rows.softmax, (v) => +v.toPrecision(5)),
    ssmax: Array.from(rows.ssmax, (v) => +v.toPrecision(5)),
    stats: { softmax: rows.stats.softmax, ssmax: rows.stats.ssmax },
    top: a.top(rows, 10).map((t) => ({ ...t, text: infos[t.position].text, line: infos[t.position].line })),
    distance: distanceProfile(rows.softmax, rows.ssmax, position),
  };
}

function headsPayload(a: Analysis, uri: string, position: number): HeadsPayload {
  const { layers, heads } = a.manifest.architecture;
  const cells = [];
  for (let l = 0; l < layers; l++) for (let h = 0; h < heads; h++) {
    const rows = a.rows(position, { layer: l, head: h });
    cells.push(headCell(l, h, rows.softmax, rows.ssmax, a.manifest.normaliser));
  }
  return { uri, version: 1, position, n: position + 1, cells };
}

async function main(): Promise<void> {
  const model = await AttentionModel.load({ manifestPath: path.join(ROOT, 'models', 'ssmax.json'), provider: 'cpu' });
  const other = await AttentionModel.load({ manifestPath: path.join(ROOT, 'models', 'softmax.json'), provider: 'cpu' });
  const text = readFileSync(path.join(ROOT, 'media', 'sample', 'long_sample.py'), 'utf8');
  const a = await model.analyse(text, { maxTokens: TOKENS });
  const b = await other.analyse(text, { maxTokens: TOKENS });
  const docText = text.slice(0, a.tokens.ends[a.length - 1]);
  const infos = tokenInfos(docText, a.tokens);
  const m = model.manifest;
  const uri = 'file:///workspace/long_sample.py';
  const document: HostToWebview = {
    type: 'document',
    doc: { uri, fileName: '/workspace/long_sample.py', version: 1, tokens: infos, totalTokens: a.tokens.ids.length, maxTokens: TOKENS },
    model: modelInfo(model),
  };
  const head: HeadChoice = { layer: m.architecture.layers - 1, head: 'mean' };
  const attention: Record<string, AttentionPayload> = {};
  const heads: Record<string, HeadsPayload> = {};
  const comparison: Record<string, AttentionPayload> = {};
  for (const position of POSITIONS) {
    attention[String(position)] = attentionPayload(a, infos, uri, position, head);
    heads[String(position)] = headsPayload(a, uri, position);
    comparison[String(position)] = attentionPayload(b, infos, uri, position, head);
  }
  // the focus curve of every choice the head picker offers, keyed "layer:head"
  const focus: Record<string, FocusCurvePayload> = {};
  for (let l = 0; l < m.architecture.layers; l++) {
    for (const h of ['mean' as const, ...Array.from({ length: m.architecture.heads }, (_, i) => i)]) {
      const choice: HeadChoice = { layer: l, head: h };
      focus[`${l}:${h}`] = { uri, version: 1, head: choice, trainingContext: m.trainingContext, analysedTokens: a.analysed, ...focusCurve(a, choice, FOCUS_CURVE_POINTS) };
    }
  }
  // the needle probe as the host sends it when done: both models, every default depth, 1024 tokens (2× training)
  const probeDepths = await runProbe([model, other], text, { ...DEFAULT_PROBE, depths: [...DEFAULT_PROBE.depths], contextTokens: 1024 });
  const probe: ProbePayload = {
    fileName: '/workspace/long_sample.py', needle: needleLine(DEFAULT_PROBE.key, DEFAULT_PROBE.value), question: questionText(DEFAULT_PROBE.key),
    expected: DEFAULT_PROBE.value, trainingContext: m.trainingContext, depths: probeDepths,
    completedRuns: probeDepths.length * 2, totalRuns: probeDepths.length * 2, done: true,
  };
  await model.dispose();
  await other.dispose();
  writeFileSync(
    path.join(ROOT, 'test', 'webview', 'fixture.json'),
    JSON.stringify({ model: m.provenance, document, attention, heads, focus, comparison: { model: modelInfo(other), attention: comparison }, probe }),
  );
  console.log(`fixture: ${a.length} tokens, ${Object.keys(attention).length} attention rows, ${Object.keys(focus).length} focus curves`);
}

void main();
