/**
 * `npm run bench:diagnostics`: what the long-context diagnostics cost on the shipped pair, each beside the baseline it
 * adds to, in one run: retrieval-head scoring at 4k tokens (baseline: analysing the same copy), a 3 × 3 needle map up
 * to 4k tokens (baseline: one probe run at 4k), and the per-token loss of a 32k-token file (baseline: the analysis
 * that produces it; the loss is read from it), and an analysis under another what-if law (Llama 4's temperature,
 * which our graph does not compute: models/whatif.onnx recomputes the statistics) against the default law. Prints a markdown table with the machine and date, and writes it to
 * bench/results/. One run per row (each takes seconds to a minute on 2 cores), said so in the table.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AttentionModel } from '../../src/core/model';
import { runNeedleMap } from '../../src/core/needleMap';
import { DEFAULT_PROBE, runProbe } from '../../src/core/probe';
import { buildRetrievalText, findRetrievalHeads } from '../../src/core/retrieval';
import { defaultThreads } from '../../src/core/ort';
import type { WhatIfLaw } from '../../src/core/whatIf';

const ROOT = path.resolve(__dirname, '..', '..', '..');

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

async function main(): Promise<void> {
  const sample = readFileSync(path.join(ROOT, 'media', 'sample', 'long_sample.py'), 'utf8');
  const big = readFileSync(path.join(ROOT, 'node_modules', 'typescript', 'lib', 'typescript.js'), 'utf8');
  const threads = defaultThreads();
  const models = await Promise.all(
    ['ssmax', 'softmax'].map((id) => AttentionModel.load({ manifestPath: path.join(ROOT, 'models', `${id}.json`), provider: 'cpu', threads })),
  );
  const rows: string[][] = [];
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

  // retrieval heads at 4k: the scoring against the analyses it needs anyway
  const copy = buildRetrievalText((t, max) => models[0].tokenizer.encode(t, max), sample, 4096);
  const analysis = await timed(async () => {
    for (const m of models) await m.analyse(copy.text, { maxTokens: Number.MAX_SAFE_INTEGER });
  });
  const retrieval = await timed(() => findRetrievalHeads(models, sample, { contextTokens: 4096 }));
  const steps = retrieval.value[0].steps;
  rows.push([
    'retrieval heads, 4,096-token copy, both models',
    `${s(retrieval.ms)} (${steps} scored tokens × 16 heads each)`,
    `${s(analysis.ms)}: analysing the copy with both`,
    `${(retrieval.ms / analysis.ms).toFixed(2)}×`,
  ]);

  // a 3 × 3 needle map up to 4k (one haystack per cell) against one probe run at 4k
  const one = await timed(() => runProbe(models, sample, { ...DEFAULT_PROBE, depths: [0.5], contextTokens: 4096 }));
  const map = await timed(() => runNeedleMap(models, sample, { lengths: [1024, 2048, 4096], depths: [0, 0.5, 1], haystacks: 1 }));
  rows.push([
    'needle map 3 lengths (1,024 / 2,048 / 4,096) × 3 depths, 1 haystack, both models',
    `${s(map.ms)} (${map.value.length} cells, ${map.value.length * 2} runs)`,
    `${s(one.ms)}: one probe run at 4,096, both models`,
    `${(map.ms / one.ms).toFixed(2)}×`,
  ]);

  // the loss of a 32k-token file: read off the analysis
  const m = models[0];
  const { tokens } = m.tokenize(big, 32768);
  const text = big.slice(0, tokens.ends[tokens.ids.length - 1]);
  const full = await timed(() => m.analyse(text, { maxTokens: 32768 }));
  const loss = await timed(async () => full.value.nll.slice(0, full.value.analysed));
  rows.push([
    `per-token loss, ${full.value.length.toLocaleString('en-US')} tokens of typescript.js, SSMax model`,
    `${loss.ms.toFixed(1)} ms (read off the analysis)`,
    `${s(full.ms)}: the analysis`,
    `${(loss.ms / full.ms).toExponential(1)}×`,
  ]);
  await Promise.all(models.map((x) => x.dispose()));

  // another what-if law on the softmax model: its statistics recomputed per chunk, against the graph's own (SSMax)
  const softmaxPath = path.join(ROOT, 'models', 'softmax.json');
  const sampleTokens = models[1].tokenize(sample, 8192).tokens.ids.length;
  const lawRun = async (whatIf?: WhatIfLaw) => {
    const model = await AttentionModel.load({ manifestPath: softmaxPath, provider: 'cpu', threads, whatIf });
    try {
      return await timed(() => model.analyse(sample, { maxTokens: 8192 }));
    } finally {
      await model.dispose();
    }
  };
  const plain = await lawRun();
  const llama4 = await lawRun({ law: 'llama4' });
  rows.push([
    `analysis under Llama 4's what-if law, ${sampleTokens.toLocaleString('en-US')} tokens of long_sample.py, softmax model`,
    s(llama4.ms),
    `${s(plain.ms)}: the default law (SSMax, computed in the graph)`,
    `${(llama4.ms / plain.ms).toFixed(2)}×`,
  ]);

  const date = new Date().toISOString().slice(0, 10);
  const machine = `${os.type()} ${os.arch()}, ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, onnxruntime-node CPU, ${threads} threads`;
  const lines = [
    `# Diagnostics benchmark: ${date}`,
    '',
    `Machine: ${machine}. Models: the shipped SSMax- and softmax-trained 4.2M pair. One run per row.`,
    '',
    '| task | time | baseline | ratio |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  const out = lines.join('\n') + '\n';
  console.log(out);
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  const file = path.join(ROOT, 'bench', 'results', `${date}-${os.hostname().slice(0, 12)}-diagnostics.md`);
  writeFileSync(file, out);
  console.log(`written to ${path.relative(ROOT, file)}`);
}

void main();
