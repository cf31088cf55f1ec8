#!/usr/bin/env node
/**
 * Command-line entry over the same core as the extension:
 *   npx attention-inspector FILE --at LINE:COL [--json] [--model ssmax|softmax|MANIFEST] [--top K]
 *                               [--max-tokens N] [--provider auto|cuda|dml|coreml|cpu]
 *   npx attention-inspector FILE --probe [--context N] [--depths 0,0.5,1] [--json]
 *   npx attention-inspector FILE --focus [--model ssmax|softmax|MANIFEST] [--json]
 * Prints, for the token at LINE:COL (1-based), the top attended tokens of every layer × head under softmax and
 * SSMax, their focus statistics, and the timings. With --probe, runs the needle probe (src/core/probe.ts) on a copy
 * of FILE's first N tokens with both shipped models.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { AttentionModel } from './core/model';
import { DEFAULT_PROBE, needleLine, runProbe } from './core/probe';
import { focusCurve } from './core/views';
import type { ProviderChoice } from './core/providers';
import { PROVIDER_LABEL } from './core/providers';
import { tokenAtOffset, tokenInfos, tokenLabel } from './core/tokenText';

const USAGE =
  'usage: attention-inspector FILE --at LINE:COL [--json] [--model ssmax|softmax|MANIFEST] [--top K] [--max-tokens N] [--provider auto|cpu|cuda|dml|coreml]\n' +
  '       attention-inspector FILE --probe [--context N] [--depths 0,0.25,0.5,0.75,1] [--json] [--provider ...]\n' +
  '       attention-inspector FILE --focus [--model ssmax|softmax|MANIFEST] [--max-tokens N] [--json]';

/**
 * The focus-vs-length view in numbers: mean over every head of the max weight and normalised entropy, under both
 * views, for query positions in windows around 1×, 2×, 4×, ... the training length.
 */
async function focus(file: string, manifestPath: string, maxTokens: number, provider: ProviderChoice, json: boolean): Promise<number> {
  const model = await AttentionModel.load({ manifestPath, provider });
  const a = await model.analyse(readFileSync(file, 'utf8'), { maxTokens });
  const { layers } = model.manifest.architecture;
  const N = model.manifest.trainingContext;
  const rows = [];
  for (let k = 1; k * N <= a.analysed; k *= 2) {
    // positions [k·N·0.9, k·N): a window just below k× the training length
    const from = Math.floor(k * N * 0.9);
    const to = k * N;
    const acc = { softmaxMax: 0, ssmaxMax: 0, softmaxEnt: 0, ssmaxEnt: 0 };
    let count = 0;
    for (let l = 0; l < layers; l++) {
      const c = focusCurve(a, { layer: l, head: 'mean' }, 4096);
      c.n.forEach((n, i) => {
        if (n <= from || n > to) return;
        acc.softmaxMax += c.maxWeight.softmax[i];
        acc.ssmaxMax += c.maxWeight.ssmax[i];
        acc.softmaxEnt += c.normalisedEntropy.softmax[i];
        acc.ssmaxEnt += c.normalisedEntropy.ssmax[i];
        count++;
      });
    }
    rows.push({ times: k, n: to, maxWeight: { softmax: acc.softmaxMax / count, ssmax: acc.ssmaxMax / count }, normalisedEntropy: { softmax: acc.softmaxEnt / count, ssmax: acc.ssmaxEnt / count } });
  }
  const summary = { file, model: model.manifest.displayName, normaliser: model.manifest.normaliser, trainingContext: N, tokens: a.analysed, rows };
  await model.dispose();
  if (json) {
    console.log(JSON.stringify(summary, null, 2));
    return 0;
  }
  console.log(`${summary.model} (own: ${summary.normaliser}) on ${file}: ${summary.tokens} tokens; mean over all heads, query positions in (0.9·n, n]`);
  console.log('| n | × training | max weight softmax | max weight SSMax | entropy/ln n softmax | entropy/ln n SSMax |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.n} | ${r.times}× | ${r.maxWeight.softmax.toFixed(3)} | ${r.maxWeight.ssmax.toFixed(3)} | ${r.normalisedEntropy.softmax.toFixed(3)} | ${r.normalisedEntropy.ssmax.toFixed(3)} |`);
  return 0;
}

async function probe(file: string, contextTokens: number, depths: number[], provider: ProviderChoice, json: boolean): Promise<number> {
  const text = readFileSync(file, 'utf8');
  const modelsDir = path.join(__dirname, '..', 'models');
  const models = await Promise.all(['ssmax', 'softmax'].map((v) => AttentionModel.load({ manifestPath: path.join(modelsDir, `${v}.json`), provider })));
  const t0 = performance.now();
  const pct = (v: number) => `${(v * 100).toFixed(2).padStart(6)}%`;
  if (!json) console.log(`needle "${needleLine(DEFAULT_PROBE.key, DEFAULT_PROBE.value)}" in the first ${contextTokens} tokens of ${file}; weight of the last question token on the value (best head by the model's own view · mean of all heads)`);
  const results = await runProbe(models, text, {
    ...DEFAULT_PROBE,
    depths,
    contextTokens,
    onResult: (r, done, total) => {
      if (json || r.models.length !== models.length) return;
      for (const m of r.models) {
        console.log(
          `depth ${r.depth.toFixed(2)} n=${r.contextTokens} ${m.displayName.padEnd(24)} best L${m.best.layer}H${m.best.head} softmax ${pct(m.best.softmax)} SSMax ${pct(m.best.ssmax)} · mean softmax ${pct(m.mean.softmax)} SSMax ${pct(m.mean.ssmax)} · predicts ${JSON.stringify(m.prediction)}${m.correct ? ' ✓' : ''}  (${done}/${total})`,
        );
      }
    },
  });
  const ms = performance.now() - t0;
  await Promise.all(models.map((m) => m.dispose()));
  if (json) console.log(JSON.stringify({ file, needle: needleLine(DEFAULT_PROBE.key, DEFAULT_PROBE.value), contextTokens, ms: Math.round(ms), results }, null, 2));
  else console.log(`${(ms / 1000).toFixed(1)} s`);
  return 0;
}

function offsetOf(text: string, line: number, col: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) throw new Error(`line ${line} is past the end of the file`);
    offset = nl + 1;
  }
  return offset + col - 1;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      at: { type: 'string' },
      json: { type: 'boolean', default: false },
      model: { type: 'string', default: 'ssmax' },
      top: { type: 'string', default: '5' },
      'max-tokens': { type: 'string', default: '32768' },
      provider: { type: 'string', default: 'auto' },
      probe: { type: 'boolean', default: false },
      focus: { type: 'boolean', default: false },
      context: { type: 'string', default: '4096' },
      depths: { type: 'string', default: DEFAULT_PROBE.depths.join(',') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (!values.help && positionals.length === 1 && values.probe) {
    const depths = values.depths.split(',').map(Number);
    if (depths.some((d) => !(d >= 0 && d <= 1))) throw new Error('--depths must be numbers between 0 and 1');
    return probe(positionals[0], Number(values.context), depths, values.provider as ProviderChoice, values.json);
  }
  const modelsDir = path.join(__dirname, '..', 'models');
  const manifestPath = values.model === 'ssmax' || values.model === 'softmax' ? path.join(modelsDir, `${values.model}.json`) : path.resolve(values.model);
  if (!values.help && positionals.length === 1 && values.focus) return focus(positionals[0], manifestPath, Number(values['max-tokens']), values.provider as ProviderChoice, values.json);
  if (values.help || positionals.length !== 1 || !values.at) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const m = /^(\d+):(\d+)$/.exec(values.at);
  if (!m) throw new Error(`--at must be LINE:COL, got ${values.at}`);
  const text = readFileSync(positionals[0], 'utf8');
  const t0 = performance.now();
  const model = await AttentionModel.load({ manifestPath, provider: values.provider as ProviderChoice });
  const tLoad = performance.now() - t0;
  const analysis = await model.analyse(text, { maxTokens: Number(values['max-tokens']) });
  const tAnalyse = performance.now() - t0 - tLoad;
  const position = tokenAtOffset(analysis.tokens, offsetOf(text, Number(m[1]), Number(m[2])));
  if (position < 0 || position >= analysis.analysed) throw new Error(`no analysed token at ${values.at}`);
  const infos = tokenInfos(text, analysis.tokens);
  const k = Number(values.top);
  const { layers, heads } = model.manifest.architecture;
  const tRows0 = performance.now();
  const results = [];
  for (let layer = 0; layer < layers; layer++) {
    for (let head = 0; head < heads; head++) {
      const rows = analysis.rows(position, { layer, head });
      results.push({
        layer,
        head,
        stats: rows.stats,
        top: analysis.top(rows, k).map((t) => ({ ...t, text: infos[t.position].text, line: infos[t.position].line + 1 })),
      });
    }
  }
  const tRows = performance.now() - tRows0;
  const summary = {
    file: positionals[0],
    model: model.manifest.displayName,
    normaliser: model.manifest.normaliser,
    trainingContext: model.manifest.trainingContext,
    provider: model.provider,
    tokens: analysis.length,
    query: { position, n: position + 1, text: infos[position].text, line: infos[position].line + 1 },
    timingsMs: { load: Math.round(tLoad), analyse: Math.round(tAnalyse), rowsAllHeads: +tRows.toFixed(2) },
    heads: results,
  };
  await model.dispose();
  if (values.json) {
    console.log(JSON.stringify(summary, null, 2));
    return 0;
  }
  const pct = (v: number) => `${(v * 100).toFixed(1).padStart(5)}%`;
  console.log(`${summary.model} (own normaliser: ${summary.normaliser}, trained at ${summary.trainingContext}) on ${PROVIDER_LABEL[model.provider]}`);
  console.log(`${summary.file}: ${summary.tokens} tokens; query "${tokenLabel(summary.query.text)}" at position n=${summary.query.n} (line ${summary.query.line})`);
  console.log(`load ${summary.timingsMs.load} ms · analysis ${summary.timingsMs.analyse} ms · rows for all heads ${summary.timingsMs.rowsAllHeads} ms\n`);
  for (const r of results) {
    const s = r.stats;
    console.log(`L${r.layer} H${r.head}  max softmax ${pct(s.softmax.maxWeight)} SSMax ${pct(s.ssmax.maxWeight)} · entropy softmax ${s.softmax.entropy.toFixed(2)} SSMax ${s.ssmax.entropy.toFixed(2)} nats`);
    for (const t of r.top) console.log(`    ${tokenLabel(t.text).padEnd(24)} line ${String(t.line).padStart(5)}  softmax ${pct(t.softmax)}  SSMax ${pct(t.ssmax)}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`attention-inspector: ${(e as Error).message}`);
    process.exit(1);
  },
);
