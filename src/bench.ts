/**
 * `npm run bench`: speed and memory of the analysis on a real source file, next to the machine's float32 matmul
 * floor and next to a baseline that materialises every head's full attention matrix (as BertViz-style tools do),
 * in one run. Each measurement runs in its own process so that peak RSS is its own. Prints a markdown table with the
 * machine and date and writes it to bench/results/.
 *
 *   node out/bench.js [--sizes 1024,4096,16384,32768] [--model ssmax|MANIFEST|FOLDER] [--file PATH] [--baseline-limit-gb 12]
 *                     [--previous-graph auto|none|MANIFEST] [--memory-budget-mb MB]
 *
 * Sizes past 32,768 tokens (`--sizes 65536,131072 --memory-budget-mb 1200`, only when asked: ~15 min here) time the
 * full analysis, its peak memory and the rows; the edits and the previous graph are left out there (each would
 * cost another full analysis). --memory-budget-mb is the extension's memoryBudgetMb: an analysis that does not fit
 * it with its queries keeps none (recomputed per clicked token).
 *
 * For a shipped model, the full analysis is also timed with the graph it shipped with before training/export.py
 * wrote its graph node by node (export_lean): the torch export of model.StreamingGPT, regenerated from the shipped
 * weights into bench/graphs/ (ignored) by training/from_onnx.py and `export.py --graph torch` (Debian's python3-torch).
 *   npm run bench:hf     the same for a random ~100M-parameter Llama-layout export (training/hf_decoders.py --shape 100m)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Analysis } from './core/analysis';
import { headMultipliers, scores, softmaxScaled } from './core/attention';
import { describeHfFolder, isHfFolder } from './core/hfModel';
import { forwardFlops, parseManifest, type ModelManifest } from './core/manifest';
import { AttentionModel } from './core/model';
import { defaultThreads } from './core/ort';
import { headCells } from './core/layerCells';
import { focusCurve } from './core/views';
import { FOCUS_CURVE_POINTS } from './protocol';

const ROOT = path.join(__dirname, '..');

interface CaseResult {
  [k: string]: number | string | boolean | undefined;
}

const { values } = parseArgs({
  options: {
    case: { type: 'string' },
    n: { type: 'string' },
    sizes: { type: 'string', default: '1024,4096,16384,32768' },
    model: { type: 'string', default: 'ssmax' },
    file: { type: 'string', default: path.join(ROOT, 'node_modules', 'typescript', 'lib', 'typescript.js') },
    'baseline-limit-gb': { type: 'string', default: '12' },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'results') },
    /** Intra-op thread counts to measure, e.g. 1,2 (default: every core); one row (and one floor) per count. */
    threads: { type: 'string' },
    /** The graph the shipped model is compared with: auto (regenerate the torch export), none, or a manifest. */
    'previous-graph': { type: 'string', default: 'auto' },
    'memory-budget-mb': { type: 'string' },
  },
});

/** A shipped id, a manifest, or a Hugging Face export folder. */
const manifestPath = existsSync(path.join(ROOT, 'models', `${values.model}.json`))
  ? path.join(ROOT, 'models', `${values.model}.json`)
  : path.resolve(values.model);
const manifestOf = (): ModelManifest =>
  isHfFolder(manifestPath) ? describeHfFolder(manifestPath).manifest : parseManifest(readFileSync(manifestPath, 'utf8'), manifestPath);
const maxRssMb = () => process.resourceUsage().maxRSS / 1024;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];

/** Past this many tokens only the full analysis, its memory and the views are measured (see the header). */
const LONG = 32768;

/** The model of `manifest` on the CPU at --threads, and the first n tokens' text of --file. */
async function modelAndDocument(manifest: string, n: number): Promise<{ model: AttentionModel; docText: string }> {
  const text = readFileSync(values.file, 'utf8');
  const model = await AttentionModel.load({ manifestPath: manifest, provider: 'cpu', threads: Number(values.threads ?? defaultThreads()) });
  const { tokens } = model.tokenize(text, n);
  return { model, docText: text.slice(0, tokens.ends[tokens.ids.length - 1]) };
}

async function caseOurs(n: number): Promise<CaseResult> {
  const { model, docText } = await modelAndDocument(manifestPath, n);
  const t0 = performance.now();
  let firstChunkMs = 0;
  const memoryBudgetBytes = values['memory-budget-mb'] ? Number(values['memory-budget-mb']) * 2 ** 20 : undefined;
  const full = await model.analyse(docText, {
    maxTokens: n,
    memoryBudgetBytes,
    onProgress: (a) => a.analysed > 0 && !firstChunkMs && (firstChunkMs = performance.now() - t0),
  });
  const fullMs = performance.now() - t0;
  const rssAfterFull = maxRssMb();
  // rows for one query: every layer × head, both views
  const { layers, heads } = model.manifest.architecture;
  const rowTimes: number[] = [];
  for (let r = 0; r < 40; r++) {
    const pos = Math.floor(full.length * (0.5 + (0.5 * ((r * 7919) % 97)) / 97)) % full.length;
    const t = performance.now();
    if (!full.storesQueries) await model.prepareQueries(full, [pos]); // a lean analysis (budget): one decode step
    for (let l = 0; l < layers; l++) {
      // one graph call per layer gives every head under both views with each row's focus statistics (max, entropy)
      const all = await model.layerRows(full, pos, l);
      if (!all) for (let h = 0; h < heads; h++) full.rows(pos, { layer: l, head: h });
    }
    rowTimes.push(performance.now() - t);
  }
  // where the runner can recompute queries (Hugging Face exports): the same rows from an analysis that keeps none,
  // as a tight memory budget gives (its keys, values and statistics copied from this one), each query's queries
  // recomputed first (a decode step against the cache)
  let recomputeMedianMs: number | undefined;
  let leanStoreMb: number | undefined;
  if (model.leanBytesPerToken < model.bytesPerToken && full.storesQueries) {
    const lean = new Analysis(model.manifest, full.tokens, full.totalTokens, false);
    lean.reusePrefix(full, full.length);
    leanStoreMb = lean.bytes / 2 ** 20;
    const times: number[] = [];
    for (let r = 0; r < 10; r++) {
      const pos = Math.floor(full.length * (0.5 + (0.5 * ((r * 7919) % 97)) / 97)) % full.length;
      const t = performance.now();
      await model.prepareQueries(lean, [pos]);
      for (let l = 0; l < layers; l++) for (let h = 0; h < heads; h++) lean.rows(pos, { layer: l, head: h });
      times.push(performance.now() - t);
    }
    recomputeMedianMs = median(times);
  }
  // the panel's views for one query, as the model process computes them: the model view's 16 cells (one rows-graph
  // call per layer, then strips, stats and top keys per head) and the focus-vs-length curve over every position
  const headsTimes: number[] = [];
  const curveTimes: number[] = [];
  for (let r = 0; r < 20; r++) {
    const pos = Math.floor(full.length * (0.5 + (0.5 * ((r * 7919) % 97)) / 97)) % full.length;
    if (!full.storesQueries) await model.prepareQueries(full, [pos]);
    let t = performance.now();
    await headCells(model, full, pos);
    headsTimes.push(performance.now() - t);
    t = performance.now();
    focusCurve(full, { layer: r % layers, head: 'mean' }, FOCUS_CURVE_POINTS);
    curveTimes.push(performance.now() - t);
  }
  // a one-line edit near the end and near the start, re-analysed from the previous analysis
  const editAt = (frac: number) => {
    const at = docText.indexOf('\n', Math.floor(docText.length * frac)) + 1;
    return docText.slice(0, at) + '// an edited line\n' + docText.slice(at);
  };
  let endEditMs = NaN;
  let startEditMs = NaN;
  if (n <= LONG) {
    let t = performance.now();
    const endEdit = await model.analyse(editAt(0.97), { maxTokens: n + 16, previous: full, memoryBudgetBytes });
    endEditMs = performance.now() - t;
    t = performance.now();
    await model.analyse(editAt(0.03), { maxTokens: n + 16, previous: endEdit, memoryBudgetBytes });
    startEditMs = performance.now() - t;
  }
  await model.dispose();
  return {
    n: full.length,
    fullMs,
    firstChunkMs,
    rssMb: rssAfterFull,
    storeMb: full.bytes / 2 ** 20,
    storesQueries: full.storesQueries,
    rowsMedianMs: median(rowTimes),
    rowsP95Ms: p95(rowTimes),
    recomputeMedianMs,
    leanStoreMb,
    headsMedianMs: median(headsTimes),
    curveMedianMs: median(curveTimes),
    endEditMs,
    startEditMs,
    flops: forwardFlops(full.length, model.manifest),
  };
}

/** The full analysis alone, with the model of --previous-graph (the same weights in the graph it replaced). */
async function casePreviousGraph(n: number): Promise<CaseResult> {
  const { model, docText } = await modelAndDocument(values['previous-graph'], n);
  const t0 = performance.now();
  const full = await model.analyse(docText, { maxTokens: n });
  const fullMs = performance.now() - t0;
  await model.dispose();
  return { n: full.length, fullMs, rssMb: maxRssMb() };
}

/**
 * The manifest of the previous graph for a shipped model, regenerated when missing (auto), or why there is none.
 * Its weights are the shipped ones, read back by from_onnx.py; only the graph differs.
 */
function previousGraph(): { manifest: string } | { error: string } {
  const choice = values['previous-graph'];
  if (choice === 'none') return { error: 'not asked for' };
  if (choice !== 'auto') return existsSync(choice) ? { manifest: path.resolve(choice) } : { error: `${choice} does not exist` };
  const id = values.model;
  if (!existsSync(path.join(ROOT, 'models', `${id}.json`)) || id === 'retrofit') return { error: 'only for a shipped model with its own weights' };
  const dir = path.join(ROOT, 'bench', 'graphs');
  const manifest = path.join(dir, `${id}.json`);
  // regenerated when the shipped weights are newer than the copy (a retrained or re-exported model)
  if (existsSync(manifest) && statSync(manifest).mtimeMs >= statSync(path.join(ROOT, 'models', `${id}.onnx`)).mtimeMs) return { manifest };
  const training = path.join(ROOT, 'training');
  const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  try {
    const run = (args: string[]) => execFileSync(py, args, { cwd: training, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    run(['from_onnx.py', '--ids', id, '--out', path.join(dir, 'runs')]);
    run([
      'export.py',
      '--graph',
      'torch',
      '--variants',
      id,
      '--runs',
      path.join(dir, 'runs'),
      '--data',
      path.join(ROOT, 'models'),
      '--models',
      dir,
      '--fixtures',
      path.join(dir, 'fixtures'),
    ]);
    return { manifest };
  } catch (e) {
    const err = e as { stderr?: string };
    return { error: `could not regenerate it (${(err.stderr ?? String(e)).trim().split('\n').pop()}); training/setup.sh installs what export.py needs` };
  }
}

/** The materialising baseline: the whole document in one forward, then every head's full n×n probabilities. */
async function caseBaseline(n: number): Promise<CaseResult> {
  const text = readFileSync(values.file, 'utf8');
  const model = await AttentionModel.load({ manifestPath, provider: 'cpu' });
  const { layers, heads, headDim } = model.manifest.architecture;
  const { tokens } = model.tokenize(text, n);
  const docText = text.slice(0, tokens.ends[tokens.ids.length - 1]);
  const t0 = performance.now();
  // one chunk = the whole document: the graph materialises [heads, n, n] scores per layer
  const a = await model.analyse(docText, { maxTokens: n, chunkSize: n + 1, unboundedChunks: true });
  const forwardMs = performance.now() - t0;
  const probs: Float32Array[] = [];
  const z = new Float32Array(n);
  for (let l = 0; l < layers; l++) {
    for (let h = 0; h < heads; h++) {
      const m = new Float32Array(n * n);
      for (let i = 0; i < n; i++) {
        const row = m.subarray(i * n, i * n + i + 1);
        scores(a.layers[l].q, (i * heads + h) * headDim, a.layers[l].k, h * headDim, i + 1, headDim, heads * headDim, z);
        const c = headMultipliers(model.manifest, l, h, i + 1);
        softmaxScaled(z.subarray(0, i + 1), model.manifest.normaliser === 'ssmax' ? c.ssmax : c.softmax, row);
      }
      probs.push(m);
    }
  }
  const totalMs = performance.now() - t0;
  await model.dispose();
  return { n, forwardMs, totalMs, rssMb: maxRssMb(), matrices: probs.length };
}

/** float32 matmul rate with the same onnxruntime and thread count: the floor the analysis is compared with. */
async function caseFloor(): Promise<CaseResult> {
  const ort = await import('onnxruntime-node');
  const threads = Number(values.threads ?? defaultThreads());
  const s = await ort.InferenceSession.create(path.join(ROOT, 'bench', 'matmul.onnx'), { intraOpNumThreads: threads });
  const N = 1024;
  const a = new ort.Tensor(
    'float32',
    Float32Array.from({ length: N * N }, () => Math.random()),
    [N, N],
  );
  const b = new ort.Tensor(
    'float32',
    Float32Array.from({ length: N * N }, () => Math.random()),
    [N, N],
  );
  await s.run({ a, b });
  const reps = 20;
  const t = performance.now();
  for (let i = 0; i < reps; i++) await s.run({ a, b });
  const sec = (performance.now() - t) / 1000;
  return { gflops: (reps * 2 * N ** 3) / sec / 1e9, threads };
}

function runCase(args: string[]): CaseResult | { error: string } {
  try {
    // each case process measures the same model on the same file (and memory budget) as this one
    const budget = values['memory-budget-mb'] ? ['--memory-budget-mb', values['memory-budget-mb']] : [];
    const out = execFileSync(process.execPath, ['--expose-gc', __filename, ...args, '--model', manifestPath, '--file', values.file, ...budget], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out.trim().split('\n').pop() ?? '') as CaseResult;
  } catch (e) {
    const err = e as { status?: number; signal?: string; stderr?: string };
    return { error: err.signal ? `killed by ${err.signal}` : `exit ${err.status}: ${(err.stderr ?? '').trim().split('\n').pop()}` };
  }
}

const pct = (part: number | null, whole: number) =>
  part === null || Number.isNaN(part) ? `not run past ${LONG} tokens` : `${((100 * part) / whole).toFixed(1)} %`;

function cpuName(): string {
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

async function orchestrate(): Promise<void> {
  const sizes = values.sizes.split(',').map(Number);
  const limitGb = Number(values['baseline-limit-gb']);
  const date = new Date().toISOString().slice(0, 10);
  const machine = `${os.type()} ${os.arch()}, ${os.availableParallelism()} cores (${cpuName()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, onnxruntime-node CPU`;
  const manifest = manifestOf();
  const kv = manifest.architecture.kvHeads ?? manifest.architecture.heads;
  const threadCounts = (values.threads ?? String(defaultThreads())).split(',').map(Number);
  const floors = new Map(threadCounts.map((t) => [t, runCase(['--case', 'floor', '--threads', String(t)])]));
  const previous = previousGraph();
  const gflopsAt = (t: number) => {
    const f = floors.get(t);
    return f && 'gflops' in f ? Number(f.gflops) : NaN;
  };
  const lines: string[] = [];
  const w = (s = '') => {
    lines.push(s);
    console.log(s);
  };
  w(`# Benchmark: ${date}`);
  w();
  w(
    `Machine: ${machine}. Model: ${manifest.displayName} (${manifest.architecture.layers} layers × ${manifest.architecture.heads} heads${kv !== manifest.architecture.heads ? ` (${kv} key heads)` : ''}, d ${manifest.architecture.dModel}, trained at ${manifest.trainingContext}). Document: the first n tokens of \`${path.relative(ROOT, values.file)}\` (real source). float32 matmul floor (1024³ MatMul in onnxruntime): ${threadCounts.map((t) => `${gflopsAt(t).toFixed(1)} GFLOP/s at ${t} thread${t > 1 ? 's' : ''}`).join(', ')}.`,
  );
  w();
  w(
    `| n | threads | full analysis | first results | FLOPs | vs floor | peak RSS | stored Q/K/V | rows, one query (all heads, both views) median / p95 | the same with queries recomputed, median (store without them) | previous graph: full analysis / vs floor / peak RSS | model view (${manifest.architecture.layers * manifest.architecture.heads} cells) / focus curve, median | edit near end | edit near start | baseline (all probabilities) | baseline peak RSS | time ratio | memory ratio |`,
  );
  w('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  const results: unknown[] = [];
  for (const n of sizes) {
    for (const t of threadCounts) {
      const ours = runCase(['--case', 'ours', '--n', String(n), '--threads', String(t)]);
      const { layers, heads } = manifest.architecture;
      const needGb = (layers * heads * n * n * 4) / 2 ** 30;
      // the baseline once per size, at the first thread count
      const base =
        t !== threadCounts[0]
          ? { error: 'see the first row of this n' }
          : needGb > limitGb
            ? { error: `not run: its ${layers * heads} attention matrices need ${needGb.toFixed(1)} GiB (> ${limitGb} GiB limit)` }
            : runCase(['--case', 'baseline', '--n', String(n)]);
      const prev =
        n > LONG
          ? { error: `not run past ${LONG} tokens` }
          : 'manifest' in previous
            ? runCase(['--case', 'previous', '--n', String(n), '--threads', String(t), '--previous-graph', previous.manifest])
            : previous;
      results.push({ n, threads: t, ours, previousGraph: prev, baseline: base });
      if ('error' in ours) {
        w(`| ${n} | ${t} | failed: ${ours.error} |`);
        continue;
      }
      const o = ours as Record<string, number>;
      const floorMs = (o.flops / (gflopsAt(t) * 1e9)) * 1000;
      const b = base as Record<string, number | string>;
      const baseOk = !('error' in base);
      const p = prev as Record<string, number | string>;
      const prevCell =
        'error' in prev
          ? `— (${prev.error})`
          : `${(Number(p.fullMs) / 1000).toFixed(2)} s / ${(Number(p.fullMs) / floorMs).toFixed(2)}× / ${Number(p.rssMb).toFixed(0)} MB`;
      w(
        `| ${o.n} | ${t} | ${(o.fullMs / 1000).toFixed(2)} s | ${o.firstChunkMs.toFixed(0)} ms | ${(o.flops / 1e9).toFixed(1)} G | ${(o.fullMs / floorMs).toFixed(2)}× | ${o.rssMb.toFixed(0)} MB | ${o.storeMb.toFixed(0)} MB${o.storesQueries ? '' : ' (no queries)'} | ${o.rowsMedianMs.toFixed(2)} / ${o.rowsP95Ms.toFixed(2)} ms | ${
          o.recomputeMedianMs === undefined
            ? o.storesQueries
              ? '— (always stored)'
              : '— (none stored: the rows column recomputes them)'
            : `${o.recomputeMedianMs.toFixed(1)} ms (${o.leanStoreMb.toFixed(0)} MB)`
        } | ${prevCell} | ${o.headsMedianMs.toFixed(1)} / ${o.curveMedianMs.toFixed(1)} ms | ${pct(o.endEditMs, o.fullMs)} | ${pct(o.startEditMs, o.fullMs)} | ${
          baseOk ? `${(Number(b.totalMs) / 1000).toFixed(2)} s` : String(b.error)
        } | ${baseOk ? `${Number(b.rssMb).toFixed(0)} MB` : '—'} | ${baseOk ? `${(Number(b.totalMs) / o.fullMs).toFixed(2)}×` : '—'} | ${baseOk ? `${(Number(b.rssMb) / o.rssMb).toFixed(2)}×` : '—'} |`,
      );
    }
  }
  w();
  w(
    'Columns: "vs floor" = full analysis time ÷ (forward FLOPs ÷ matmul rate); the graph also computes both views\' focus statistics for every query, which the FLOP count leaves out. "previous graph" = the same weights in the torch export of model.StreamingGPT, the graph shipped before export_lean (training/export.py), same document and threads. "edit near end/start" = re-analysis after inserting one line at 97 % / 3 % of the document, as a fraction of the full analysis. The baseline runs the whole document as one chunk and then builds every layer × head n×n probability matrix.',
  );
  mkdirSync(values.out, { recursive: true });
  const name = isHfFolder(manifestPath) ? `-${path.basename(manifestPath)}` : values.model === 'ssmax' ? '' : `-${values.model}`;
  const file = path.join(values.out, `${date}-${os.hostname().slice(0, 12)}${name}.md`);
  writeFileSync(file, lines.join('\n') + '\n');
  writeFileSync(
    file.replace(/\.md$/, '.json'),
    JSON.stringify({ date, machine, gflops: Object.fromEntries(threadCounts.map((t) => [t, gflopsAt(t)])), results }, null, 1),
  );
  console.log(`\nwritten to ${path.relative(ROOT, file)}`);
}

async function main(): Promise<void> {
  if (values.case === 'ours') console.log(JSON.stringify(await caseOurs(Number(values.n))));
  else if (values.case === 'baseline') console.log(JSON.stringify(await caseBaseline(Number(values.n))));
  else if (values.case === 'previous') console.log(JSON.stringify(await casePreviousGraph(Number(values.n))));
  else if (values.case === 'floor') console.log(JSON.stringify(await caseFloor()));
  else await orchestrate();
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? String(e));
  process.exit(1);
});
