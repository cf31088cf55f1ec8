#!/usr/bin/env node
/**
 * Command-line entry over the same core as the extension:
 *   npx attention-inspector FILE --at LINE:COL [--json] [--model ID|MANIFEST] [--top K]
 *                               [--max-tokens N] [--provider auto|webgpu|cuda|dml|coreml|cpu]
 *   npx attention-inspector FILE --probe [--models ssmax,softmax] [--context N] [--depths 0,0.5,1] [--json]
 *   npx attention-inspector FILE --focus [--model ID|MANIFEST] [--json]
 *   npx attention-inspector tokens FILE [--model ID|MANIFEST|FOLDER] [--max-tokens N] [--json]
 * Prints, for the token at LINE:COL (1-based), the top attended tokens of every layer × head under softmax and
 * SSMax, their focus statistics, and the timings. With --probe, runs the needle probe (src/core/probe.ts) on a copy
 * of FILE's first N tokens with the models named (shipped ids from models/catalogue.json, or manifest paths).
 * With `tokens`, prints every token's id, UTF-16 range and text (to debug a tokenizer).
 * --model takes a shipped id (ssmax, softmax, retrofit, ...), a manifest path, or a folder exported from Hugging Face
 * (optimum-cli export onnx --task text-generation-with-past).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { findModel, loadCatalogue } from './core/catalogue';
import { AttentionModel, loadTokenizer } from './core/model';
import { DEFAULT_PROBE, needleLine, runProbe } from './core/probe';
import { focusCurve } from './core/views';
import type { ProviderChoice } from './core/providers';
import { PROVIDER_CHOICES, PROVIDER_LABEL } from './core/providers';
import { tokenAtOffset, tokenInfos, tokenLabel } from './core/tokenText';

const USAGE =
  'usage: attention-inspector FILE --at LINE:COL [--all] [--json] [--model ID|MANIFEST] [--top K] [--max-tokens N] [--provider auto|cpu|webgpu|cuda|dml|coreml]\n' +
  '       attention-inspector FILE --probe [--models ID,ID,...] [--context N] [--depths 0,0.25,0.5,0.75,1] [--json] [--provider ...]\n' +
  '       attention-inspector FILE --focus [--model ID|MANIFEST|FOLDER] [--max-tokens N] [--json]\n' +
  '       attention-inspector tokens FILE [--model ID|MANIFEST|FOLDER] [--max-tokens N] [--json]\n' +
  'MODEL: a shipped id (see models/catalogue.json), a manifest path, or a Hugging Face ONNX export folder\n' +
  "       (--training-context N: the N of its SSMax what-if, softmax((ln n / ln N)·z), instead of config.json's).";

/**
 * The focus-vs-length view in numbers: mean over every head of the max weight and normalised entropy, under both
 * views, for query positions in windows around 1×, 2×, 4×, ... the training length.
 */
async function focus(file: string, manifestPath: string, maxTokens: number, provider: ProviderChoice, json: boolean): Promise<number> {
  const model = await AttentionModel.load({ manifestPath, provider, trainingContext });
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
    rows.push({
      times: k,
      n: to,
      maxWeight: { softmax: acc.softmaxMax / count, ssmax: acc.ssmaxMax / count },
      normalisedEntropy: { softmax: acc.softmaxEnt / count, ssmax: acc.ssmaxEnt / count },
    });
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
  for (const r of rows)
    console.log(
      `| ${r.n} | ${r.times}× | ${r.maxWeight.softmax.toFixed(3)} | ${r.maxWeight.ssmax.toFixed(3)} | ${r.normalisedEntropy.softmax.toFixed(3)} | ${r.normalisedEntropy.ssmax.toFixed(3)} |`,
    );
  return 0;
}

const MODELS_DIR = path.join(__dirname, '..', 'models');

/** A shipped model's id (models/catalogue.json), a path to a manifest, or a Hugging Face export folder. */
function resolveModel(idOrPath: string): string {
  const shipped = findModel(loadCatalogue(MODELS_DIR), idOrPath);
  if (shipped) return shipped.manifestPath;
  const isFolder = existsSync(idOrPath) && statSync(idOrPath).isDirectory();
  if (!isFolder && !/[\\/]|\.json$/.test(idOrPath)) {
    throw new Error(
      `unknown model "${idOrPath}": shipped models are ${loadCatalogue(MODELS_DIR)
        .map((e) => e.id)
        .join(', ')} (or give a manifest path or an exported folder)`,
    );
  }
  return path.resolve(idOrPath);
}

/** `tokens FILE`: each token's index, id, UTF-16 range and text. */
function tokens(file: string, modelPath: string, maxTokens: number, json: boolean): number {
  const text = readFileSync(file, 'utf8');
  const tokenizer = loadTokenizer(modelPath);
  const enc = tokenizer.encode(text, maxTokens);
  const rows = Array.from(enc.ids, (id, i) => ({
    i,
    id,
    start: enc.starts[i],
    end: enc.ends[i],
    text: text.slice(enc.starts[i], enc.ends[i]),
    token: tokenizer.decodeToken(id),
  }));
  if (json) {
    console.log(JSON.stringify({ file, model: modelPath, count: rows.length, tokens: rows }));
    return 0;
  }
  console.log('| # | id | start–end | text |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.i} | ${r.id} | ${r.start}–${r.end} | ${JSON.stringify(r.text)} |`);
  console.log(`${rows.length} tokens`);
  return 0;
}

async function probe(file: string, manifests: string[], contextTokens: number, depths: number[], provider: ProviderChoice, json: boolean): Promise<number> {
  const text = readFileSync(file, 'utf8');
  const models = await Promise.all(manifests.map((manifestPath) => AttentionModel.load({ manifestPath, provider, trainingContext })));
  const t0 = performance.now();
  const pct = (v: number) => `${(v * 100).toFixed(2).padStart(6)}%`;
  if (!json)
    console.log(
      `needle "${needleLine(DEFAULT_PROBE.key, DEFAULT_PROBE.value)}" in the first ${contextTokens} tokens of ${file}; weight of the last question token on the value (best head by the model's own view · mean of all heads)`,
    );
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
  if (json)
    console.log(JSON.stringify({ file, needle: needleLine(DEFAULT_PROBE.key, DEFAULT_PROBE.value), contextTokens, ms: Math.round(ms), results }, null, 2));
  else console.log(`${(ms / 1000).toFixed(1)} s`);
  return 0;
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive whole number, got ${JSON.stringify(value)}`);
  return n;
}

/** Why a query past the cap has no answer, and what it would take to get one. */
export function pastCap(at: string, position: number, total: number, maxTokens: number, bytesPerToken: number): string {
  const n = position + 1;
  const mb = (n * bytesPerToken) / 2 ** 20;
  // the full analysis grows about quadratically with n: 84 s at 32,768 tokens on a 2-core machine
  // (bench/results/2026-11-24-vm.md); the prefix up to the query is what it costs
  const seconds = 84 * (n / 32768) ** 2;
  const time = seconds < 90 ? `${Math.max(1, Math.round(seconds))} s` : `${Math.round(seconds / 60)} min`;
  return (
    `${at} is token ${position.toLocaleString('en-US')} (0-based) of ${total.toLocaleString('en-US')}, past --max-tokens ${maxTokens.toLocaleString('en-US')}. ` +
    `Rerun with --max-tokens ${n} to reach it: the analysis of its ${n.toLocaleString('en-US')}-token prefix holds about ${Math.round(mb)} MB ` +
    `and takes roughly ${time} on a 2-core CPU (it grows about as n²).`
  );
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

/** `--training-context N`: the SSMax what-if's N_train for an exported folder, instead of its config.json's. */
let trainingContext: number | undefined;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      at: { type: 'string' },
      json: { type: 'boolean', default: false },
      model: { type: 'string' },
      models: { type: 'string', default: 'ssmax,softmax' },
      top: { type: 'string', default: '5' },
      'max-tokens': { type: 'string', default: '32768' },
      'training-context': { type: 'string' },
      provider: { type: 'string', default: 'auto' },
      probe: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      focus: { type: 'boolean', default: false },
      context: { type: 'string', default: '4096' },
      depths: { type: 'string', default: DEFAULT_PROBE.depths.join(',') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (positionals[0] === 'tokens') {
    if (values.help || positionals.length !== 2) {
      console.error(USAGE);
      return values.help ? 0 : 2;
    }
    return tokens(positionals[1], resolveModel(values.model ?? 'ssmax'), positiveInt('--max-tokens', values['max-tokens']), values.json);
  }
  if (values['training-context'] !== undefined) trainingContext = positiveInt('--training-context', values['training-context']);
  const provider = PROVIDER_CHOICES.find((p) => p === values.provider);
  if (!provider) throw new Error(`--provider must be one of ${PROVIDER_CHOICES.join(', ')}, got ${values.provider}`);
  if (!values.help && positionals.length === 1 && values.probe) {
    if (values.model !== undefined) throw new Error('--model does not apply to --probe, which runs several models: use --models ID,ID');
    const depths = values.depths.split(',').map(Number);
    if (depths.some((d) => !(d >= 0 && d <= 1))) throw new Error('--depths must be numbers between 0 and 1');
    return probe(
      positionals[0],
      values.models.split(',').map((m) => resolveModel(m.trim())),
      positiveInt('--context', values.context),
      depths,
      provider,
      values.json,
    );
  }
  const manifestPath = resolveModel(values.model ?? 'ssmax');
  if (!values.help && positionals.length === 1 && values.focus)
    return focus(positionals[0], manifestPath, positiveInt('--max-tokens', values['max-tokens']), provider, values.json);
  if (values.help || positionals.length !== 1 || !values.at) {
    console.error(USAGE);
    return values.help ? 0 : 2;
  }
  const m = /^(\d+):(\d+)$/.exec(values.at);
  if (!m) throw new Error(`--at must be LINE:COL, got ${values.at}`);
  const text = readFileSync(positionals[0], 'utf8');
  const maxTokens = positiveInt('--max-tokens', values['max-tokens']);
  const k = positiveInt('--top', values.top);
  const t0 = performance.now();
  const model = await AttentionModel.load({ manifestPath, provider, trainingContext });
  const tLoad = performance.now() - t0;
  // the model is causal: the query at token p depends only on tokens 0…p, so only that prefix is analysed (--all:
  // the whole file up to --max-tokens, e.g. to time it)
  const whole = model.tokenize(text, Number.MAX_SAFE_INTEGER).tokens;
  const position = tokenAtOffset(whole, offsetOf(text, Number(m[1]), Number(m[2])));
  if (position < 0) throw new Error(`${values.at} has no token (the file is empty)`);
  if (position >= maxTokens) {
    await model.dispose();
    throw new Error(pastCap(values.at, position, whole.ids.length, maxTokens, model.bytesPerToken));
  }
  const analysis = await model.analyse(text, { maxTokens: values.all ? maxTokens : position + 1 });
  const tAnalyse = performance.now() - t0 - tLoad;
  const infos = tokenInfos(text, analysis.tokens);
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
    totalTokens: whole.ids.length,
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
  const prefix = summary.tokens < summary.totalTokens ? ` (the prefix up to the query, of ${summary.totalTokens}; --all for more)` : '';
  console.log(
    `${summary.file}: ${summary.tokens} tokens analysed${prefix}; query "${tokenLabel(summary.query.text)}" at position n=${summary.query.n} (line ${summary.query.line})`,
  );
  console.log(`load ${summary.timingsMs.load} ms · analysis ${summary.timingsMs.analyse} ms · rows for all heads ${summary.timingsMs.rowsAllHeads} ms\n`);
  for (const r of results) {
    const s = r.stats;
    console.log(
      `L${r.layer} H${r.head}  max softmax ${pct(s.softmax.maxWeight)} SSMax ${pct(s.ssmax.maxWeight)} · entropy softmax ${s.softmax.entropy.toFixed(2)} SSMax ${s.ssmax.entropy.toFixed(2)} nats`,
    );
    for (const t of r.top)
      console.log(`    ${tokenLabel(t.text).padEnd(24)} line ${String(t.line).padStart(5)}  softmax ${pct(t.softmax)}  SSMax ${pct(t.ssmax)}`);
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
