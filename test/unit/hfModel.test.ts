/**
 * Hugging Face exports: the random-weight decoders of training/hf_decoders.py in GPT-2, Llama (grouped-query),
 * Qwen2 (q/k/v biases), GPT-NeoX (partial rotary), Mistral (sliding window), Qwen3 (q/k norms, wide heads) and
 * Phi-3 (fused projections, sliding window) layouts, one with its weights in external data.
 * Rows are checked against a float64 recompute from the graph's own scores (its Softmax inputs, run in one shot).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeHfFolder, findAttention, hfModelId, readExportGraph } from '../../src/core/hfModel';
import { statsFromScores } from '../../src/core/hfRunner';
import { attentionShape, ModelFileError } from '../../src/core/manifest';
import { AttentionModel } from '../../src/core/model';
import { withOutputs, type OnnxGraph } from '../../src/core/onnxGraph';
import { ort } from '../../src/core/ort';
import { fixture, ROOT } from './paths';

const FAMILIES = ['gpt2', 'llama', 'qwen2', 'gpt_neox', 'mistral', 'qwen3', 'phi3'] as const;
const TEXT = readFileSync(path.join(ROOT, 'src', 'core', 'model.ts'), 'utf8');
const PROB_TOL = 1e-4;

/** The graph's Softmax inputs for every query of `ids`, from one run with no cache: [layer][heads, n, n]. */
async function graphScores(dir: string, ids: ArrayLike<number>, layers: number): Promise<Float32Array[]> {
  const bytes = readFileSync(path.join(dir, 'model.onnx'));
  const taps = findAttention(readExportGraph(bytes, dir), layers, dir);
  const { Tensor, InferenceSession: S } = ort();
  const session = await S.create(withOutputs(bytes, taps.scores));
  const n = ids.length;
  const feeds: Record<string, InstanceType<typeof Tensor>> = {
    input_ids: new Tensor('int64', BigInt64Array.from(Array.from(ids, BigInt)), [1, n]),
    attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    position_ids: new Tensor(
      'int64',
      BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
      [1, n],
    ),
  };
  const m = describeHfFolder(dir).manifest;
  const { kvHeads, headDim } = attentionShape(m);
  for (let l = 0; l < layers; l++)
    for (const w of ['key', 'value']) feeds[`past_key_values.${l}.${w}`] = new Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
  const out = await session.run(feeds);
  const z = taps.scores.map((name) => out[name].data as Float32Array);
  await session.release();
  return z;
}

/** float64 softmax(c·z) over the first n entries of a row. */
function softmax64(z: Float32Array, offset: number, n: number, c: number): number[] {
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, c * z[offset + j]);
  const e = Array.from({ length: n }, (_, j) => Math.exp(c * z[offset + j] - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

for (const family of FAMILIES) {
  describe(`Hugging Face ${family} export`, () => {
    const dir = fixture('hf', family);
    let model: AttentionModel;
    before(async () => {
      model = await AttentionModel.load({ manifestPath: dir, provider: 'cpu', threads: 2 });
    });
    after(() => model.dispose());

    it('reads its shape from config.json and its scale from the graph', () => {
      const m = model.manifest;
      const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, number>;
      assert.equal(m.architecture.layers, config.num_hidden_layers ?? config.n_layer);
      assert.equal(m.architecture.heads, config.num_attention_heads ?? config.n_head);
      assert.equal(attentionShape(m).kvHeads, config.num_key_value_heads ?? m.architecture.heads);
      // Phi-3 writes its pretraining length beside a longer max_position_embeddings
      assert.equal(m.trainingContext, config.original_max_position_embeddings ?? config.max_position_embeddings ?? config.n_positions);
      assert.equal(m.architecture.slidingWindow, config.sliding_window, 'the sliding window (Mistral, Phi-3) or none');
      assert.equal(m.architecture.headDim, config.head_dim ?? (config.hidden_size ?? config.n_embd) / m.architecture.heads);
      assert.equal(m.normaliser, 'softmax');
      assert.ok(Math.abs((m.architecture.scoreScale ?? 0) - 1 / Math.sqrt(m.architecture.headDim)) < 1e-9, 'eager attention scales by 1/√d');
      assert.equal(m.id, hfModelId(dir));
    });

    it('rows of every layer and head, both views, equal a float64 recompute from the graph’s own scores, far past N_train', async () => {
      const a = await model.analyse(TEXT, { maxTokens: 320, chunkSize: 48 });
      const N = model.manifest.trainingContext;
      const n = a.analysed;
      assert.ok(n > 0);
      const z = await graphScores(dir, a.tokens.ids.subarray(0, n), model.manifest.architecture.layers);
      const { heads } = attentionShape(model.manifest);
      // GPT-2's learned positions end at n_positions: it cannot be run past N at all
      const positions = family === 'gpt2' ? [0, 5, n - 1] : [0, 5, N - 1, N + 40, n - 1];
      if (family !== 'gpt2') assert.ok(n - 1 > 4 * N, 'queries reach far past the training length');
      let checked = 0;
      for (const p of positions) {
        for (let l = 0; l < model.manifest.architecture.layers; l++) {
          for (let h = 0; h < heads; h++) {
            const rows = a.rows(p, { layer: l, head: h });
            const offset = (h * n + p) * n;
            // n: the keys the query sees (its sliding window, where the model has one; the graph masks the rest)
            const window = model.manifest.architecture.slidingWindow;
            const c = Math.log(Math.min(p + 1, window ?? Infinity)) / Math.log(N);
            const soft = softmax64(z[l], offset, p + 1, 1);
            const ss = softmax64(z[l], offset, p + 1, c);
            for (let j = 0; j <= p; j++) {
              assert.ok(Math.abs(rows.softmax[j] - soft[j]) < PROB_TOL, `softmax view ${p},${l},${h},${j}: ${rows.softmax[j]} vs ${soft[j]}`);
              assert.ok(Math.abs(rows.ssmax[j] - ss[j]) < PROB_TOL, `SSMax what-if ${p},${l},${h},${j}`);
            }
            // the statistics computed while streaming agree with the rows
            const g = a.graphStats(p, l, h);
            assert.ok(Math.abs(g.softmax.maxWeight - Math.max(...soft)) < PROB_TOL);
            assert.ok(Math.abs(g.ssmax.maxWeight - Math.max(...ss)) < PROB_TOL);
            checked++;
          }
        }
      }
      assert.ok(checked >= 3 * heads * 2);
    });

    it('a streamed analysis in small chunks equals one in a single chunk', async () => {
      const small = await model.analyse(TEXT, { maxTokens: 200, chunkSize: 7 });
      const whole = await model.analyse(TEXT, { maxTokens: 200, chunkSize: 200, unboundedChunks: true });
      assert.equal(small.analysed, whole.analysed);
      for (let l = 0; l < small.layers.length; l++) {
        for (const key of ['q', 'k', 'stats'] as const) {
          const x = small.layers[l][key];
          const y = whole.layers[l][key];
          let worst = 0;
          for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
          assert.ok(worst < 1e-4, `${key} of layer ${l} differs by ${worst}`);
        }
      }
      assert.deepEqual(Array.from(small.prediction), Array.from(whole.prediction));
    });

    it('an edited document, reusing its unchanged prefix, equals an analysis from scratch', async () => {
      const before = await model.analyse(TEXT, { maxTokens: 150, chunkSize: 32 });
      const edited = TEXT.slice(0, 200) + 'EDITED here ' + TEXT.slice(200);
      const reused = await model.analyse(edited, { maxTokens: 150, chunkSize: 32, previous: before });
      const scratch = await model.analyse(edited, { maxTokens: 150, chunkSize: 32 });
      assert.equal(reused.analysed, scratch.analysed);
      for (let l = 0; l < reused.layers.length; l++) {
        const x = reused.layers[l].stats;
        const y = scratch.layers[l].stats;
        for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) < 1e-4, `stats ${l}/${i}`);
      }
      const p = reused.analysed - 1;
      const r1 = reused.rows(p, { layer: 1, head: 'mean' });
      const r2 = scratch.rows(p, { layer: 1, head: 'mean' });
      for (let j = 0; j <= p; j++) assert.ok(Math.abs(r1.softmax[j] - r2.softmax[j]) < 1e-4);
    });
  });
}

describe('Hugging Face exports: memory and limits', () => {
  it('grouped-query attention stores one key per key head', async () => {
    const model = await AttentionModel.load({ manifestPath: fixture('hf', 'llama'), provider: 'cpu', threads: 1 });
    try {
      const a = await model.analyse(TEXT, { maxTokens: 50 });
      const { heads, kvHeads, headDim } = attentionShape(model.manifest);
      assert.ok(kvHeads < heads);
      assert.equal(a.layers[0].k.length, 50 * kvHeads * headDim);
      assert.equal(a.layers[0].q.length, 50 * heads * headDim);
      assert.equal(model.bytesPerToken, model.manifest.architecture.layers * ((heads + 2 * kvHeads) * headDim + heads * 4) * 4 + 8);
    } finally {
      await model.dispose();
    }
  });

  it('a model too big for the memory budget keeps no queries, and is analysed up to what fits without them; the cap says so', async () => {
    const model = await AttentionModel.load({ manifestPath: fixture('hf', 'llama'), provider: 'cpu', threads: 1 });
    try {
      const { heads, headDim } = attentionShape(model.manifest);
      assert.equal(model.bytesPerToken - model.leanBytesPerToken, model.manifest.architecture.layers * heads * headDim * 4, 'the queries are what is left out');
      const budget = 50 * model.leanBytesPerToken + 10;
      assert.equal(model.tokenCap(100_000, budget), 50);
      assert.ok(model.tokenCap(100_000, budget, true) < 50, 'with its queries fewer tokens would fit');
      const a = await model.analyse(TEXT, { maxTokens: 100_000, memoryBudgetBytes: budget });
      assert.equal(a.length, 50);
      assert.equal(a.storesQueries, false);
      assert.ok(a.totalTokens > 50, 'the whole document is counted, so the host can say how much was left out');
      assert.ok(a.bytes <= budget);
      // a budget the document fits with its queries keeps them
      const roomy = await model.analyse(TEXT, { maxTokens: 50, memoryBudgetBytes: 50 * model.bytesPerToken + 10 });
      assert.equal(roomy.storesQueries, true);
    } finally {
      await model.dispose();
    }
  });

  it('recomputed queries (one decode step against the cache) give the rows stored queries give, for every layer and head', async () => {
    for (const family of ['llama', 'phi3', 'gpt2'] as const) {
      const model = await AttentionModel.load({ manifestPath: fixture('hf', family), provider: 'cpu', threads: 1 });
      try {
        const stored = await model.analyse(TEXT, { maxTokens: 150, chunkSize: 40 });
        const lean = await model.analyse(TEXT, { maxTokens: 150, chunkSize: 40, memoryBudgetBytes: 150 * model.leanBytesPerToken + 10 });
        assert.equal(stored.storesQueries, true);
        assert.equal(lean.storesQueries, false);
        assert.equal(lean.layers[0].q.length, 0, 'no queries held');
        assert.throws(() => lean.rows(7, { layer: 0, head: 0 }), /not recomputed/);
        for (const position of [0, 7, 64, 149]) {
          await model.prepareQueries(lean, [position]);
          for (let layer = 0; layer < model.manifest.architecture.layers; layer++) {
            for (const head of [0, 'mean'] as const) {
              const a = stored.rows(position, { layer, head });
              const b = lean.rows(position, { layer, head });
              for (let j = 0; j <= position; j++) {
                assert.ok(Math.abs(a.softmax[j] - b.softmax[j]) < 1e-5, `${family} ${position} L${layer} ${head} softmax ${j}`);
                assert.ok(Math.abs(a.ssmax[j] - b.ssmax[j]) < 1e-5, `${family} ${position} L${layer} ${head} what-if ${j}`);
              }
            }
          }
        }
        // through the model's own rows (what the views ask): prepared on demand
        const r = await model.rows(lean, 120, { layer: 1, head: 2 });
        const want = stored.rows(120, { layer: 1, head: 2 });
        assert.ok(Math.abs(r.stats.softmax.maxWeight - want.stats.softmax.maxWeight) < 1e-5);
      } finally {
        await model.dispose();
      }
    }
  });

  it("GPT-2's learned positions cap the analysis at n_positions", async () => {
    const model = await AttentionModel.load({ manifestPath: fixture('hf', 'gpt2'), provider: 'cpu', threads: 1 });
    try {
      assert.equal(model.maxPositions, 256);
      assert.equal(model.tokenCap(100_000), 256);
      const a = await model.analyse(TEXT, { maxTokens: 100_000 });
      assert.equal(a.length, 256);
    } finally {
      await model.dispose();
    }
  });

  it('weights in external data (model.onnx_data) load, and a truncated data file is refused with its name', async () => {
    const model = await AttentionModel.load({ manifestPath: fixture('hf-external', 'llama'), provider: 'cpu', threads: 1 });
    const a = await model.analyse('def f(x):\n    return x\n', { maxTokens: 100 });
    assert.ok(a.analysed > 5);
    await model.dispose();
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'ai-hf-'));
    try {
      cpSync(fixture('hf-external', 'llama'), tmp, { recursive: true });
      truncateSync(path.join(tmp, 'model.onnx_data'), 1000);
      await assert.rejects(
        AttentionModel.load({ manifestPath: tmp, provider: 'cpu' }),
        (e: Error) => e instanceof ModelFileError && /model\.onnx/.test(e.message),
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('statistics from scores: a one-hot row has max 1 and entropy 0; a flat row max 1/n and entropy ln n', () => {
    // heads 1, T 2, P 1: rows see 2 and 3 keys
    const z = Float32Array.from([50, 0, -1e30, 0, 0, 0]);
    const s = statsFromScores(z, 1, 2, 1, 64);
    assert.ok(Math.abs(s[0] - 1) < 1e-9 && s[1] < 1e-9, 'one-hot');
    assert.ok(Math.abs(s[4] - 1 / 3) < 1e-7 && Math.abs(s[5] - Math.log(3)) < 1e-6, 'flat');
  });
});

describe('Hugging Face folders that cannot be used say why, and nothing is written to them', () => {
  let tmp: string;
  const fresh = () => {
    rmSync(tmp, { recursive: true, force: true });
    cpSync(fixture('hf', 'llama'), tmp, { recursive: true });
  };
  const config = () => JSON.parse(readFileSync(path.join(tmp, 'config.json'), 'utf8')) as Record<string, unknown>;
  const writeConfig = (c: Record<string, unknown>) => writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(c));
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'ai-hf-bad-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const cases: [string, () => void, RegExp][] = [
    ['no config.json', () => rmSync(path.join(tmp, 'config.json')), /no config\.json/],
    ['no tokenizer.json', () => rmSync(path.join(tmp, 'tokenizer.json')), /no tokenizer\.json/],
    ['unknown architecture', () => writeConfig({ ...config(), model_type: 'mamba' }), /model_type "mamba" is not supported; supported: gpt2/],
    ['an encoder-only model', () => writeConfig({ ...config(), model_type: 'bert' }), /bert is an encoder/],
    [
      'no ONNX graph',
      () => rmSync(path.join(tmp, 'model.onnx')),
      /no model\.onnx \(nor a legacy export's decoder_with_past_model\.onnx or decoder_model_merged\.onnx\)/,
    ],
    ['a corrupt ONNX file', () => writeFileSync(path.join(tmp, 'model.onnx'), Buffer.from('this is not a protobuf at all, just text')), /model\.onnx/],
    ['a tokenizer from a bigger model', () => writeConfig({ ...config(), vocab_size: 1000 }), /tokenizer has 4096 tokens but the model .* only 1000/],
    ['a config with fewer layers than the graph', () => writeConfig({ ...config(), num_hidden_layers: 3 }), /lacks past_key_values\.2\.key/],
    [
      "Qwen's per-layer sliding window",
      () => writeConfig({ ...config(), model_type: 'qwen2', use_sliding_window: true, sliding_window: 32 }),
      /use_sliding_window is true: qwen2's per-layer sliding window is not supported/,
    ],
    [
      'a tokenizer.json that is not JSON',
      () => writeFileSync(path.join(tmp, 'tokenizer.json'), '{ nope'),
      /tokenizer cannot be used: tokenizer\.json is not valid JSON/,
    ],
  ];
  for (const [name, breakIt, message] of cases) {
    it(name, async () => {
      fresh();
      breakIt();
      const before = snapshot(tmp);
      await assert.rejects(AttentionModel.load({ manifestPath: tmp, provider: 'cpu' }), (e: Error) => {
        assert.ok(e instanceof ModelFileError, `a ModelFileError, not ${e.constructor.name}: ${e.message}`);
        assert.match(e.message, message);
        return true;
      });
      assert.deepEqual(snapshot(tmp), before, 'the folder is unchanged');
    });
  }

  it('a working folder is left exactly as it was after a load and an analysis', async () => {
    fresh();
    const before = snapshot(tmp);
    const model = await AttentionModel.load({ manifestPath: tmp, provider: 'cpu', threads: 1 });
    await model.analyse(TEXT, { maxTokens: 80 });
    await model.dispose();
    assert.deepEqual(snapshot(tmp), before);
  });

  it('a graph with a fused attention op is refused, naming the op and the export that avoids it', () => {
    const graph: OnnxGraph = {
      nodes: [{ opType: 'GroupQueryAttention', domain: 'com.microsoft', name: 'gqa', inputs: ['q', 'k', 'v'], outputs: ['o'] }],
      inputs: [],
      outputs: [],
      initializers: new Set(),
      domains: ['', 'com.microsoft'],
    };
    assert.throws(() => findAttention(graph, 1, 'model.onnx'), /com\.microsoft\.GroupQueryAttention.*optimum-cli export onnx --task text-generation-with-past/);
  });

  it('a legacy export (optimum before 1.14) is run from its decoder_with_past_model.onnx, not the If-merged decoder beside it', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'ai-hf-legacy-'));
    try {
      cpSync(fixture('hf', 'llama'), tmp, { recursive: true });
      // the legacy layout: the with-past decoder under its own name, a merged decoder beside it (never read), no model.onnx
      cpSync(path.join(tmp, 'model.onnx'), path.join(tmp, 'decoder_with_past_model.onnx'));
      rmSync(path.join(tmp, 'model.onnx'));
      writeFileSync(path.join(tmp, 'decoder_model_merged.onnx'), 'an If-merged decoder is not read when the with-past one is there');
      const before = snapshot(tmp);
      const model = await AttentionModel.load({ manifestPath: tmp, provider: 'cpu', threads: 1 });
      try {
        assert.equal(model.files.onnxPath, path.join(tmp, 'decoder_with_past_model.onnx'));
        const a = await model.analyse(TEXT, { maxTokens: 120, chunkSize: 50 });
        assert.equal(a.analysed, 120, 'its first chunk runs against an empty cache');
        const reference = await AttentionModel.load({ manifestPath: fixture('hf', 'llama'), provider: 'cpu', threads: 1 });
        try {
          const b = await reference.analyse(TEXT, { maxTokens: 120, chunkSize: 50 });
          const x = a.rows(119, { layer: 1, head: 'mean' });
          const y = b.rows(119, { layer: 1, head: 'mean' });
          for (let j = 0; j <= 119; j++) assert.ok(Math.abs(x.softmax[j] - y.softmax[j]) < 1e-6);
        } finally {
          await reference.dispose();
        }
      } finally {
        await model.dispose();
      }
      assert.deepEqual(snapshot(tmp), before, 'nothing written into the folder');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("an older optimum's merged decoder (an If on use_cache_branch) is refused, saying why and which export to use", () => {
    const graph: OnnxGraph = {
      nodes: [{ opType: 'If', domain: '', name: 'optimum::if', inputs: ['use_cache_branch'], outputs: ['logits', 'present.0.key', 'present.0.value'] }],
      inputs: ['input_ids', 'attention_mask', 'past_key_values.0.key', 'past_key_values.0.value', 'use_cache_branch'],
      outputs: ['logits', 'present.0.key', 'present.0.value'],
      initializers: new Set(),
      domains: [''],
    };
    assert.throws(() => findAttention(graph, 1, 'decoder_model_merged.onnx'), /merged decoder .*use_cache_branch.*single model\.onnx/);
  });
});

/** Names, sizes and modification times of a folder's files. */
function snapshot(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((f) => {
      const s = statSync(path.join(dir, f));
      return `${f}:${s.size}:${s.mtimeMs}`;
    });
}

describe('models/stats.onnx', () => {
  it('gives the same statistics as the JavaScript reference, masked keys and one-key rows included', async () => {
    const { Tensor, InferenceSession: S } = ort();
    const session = await S.create(path.join(ROOT, 'models', 'stats.onnx'));
    const H = 3;
    const T = 5;
    const P = 4;
    const W = P + T;
    const N = 8;
    const MIN = -3.4028234663852886e38;
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 8 - 4;
    const z = new Float32Array(H * T * W);
    for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) for (let j = 0; j < W; j++) z[(h * T + t) * W + j] = j <= P + t ? rand() : MIN;
    const c = Float32Array.from({ length: T }, (_, t) => Math.log(P + t + 1) / Math.log(N));
    const r = await session.run({ z: new Tensor('float32', z, [H, T, W]), c_other: new Tensor('float32', c, [T]) });
    const ref = statsFromScores(z, H, T, P, N);
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const names = ['own_max', 'own_entropy', 'other_max', 'other_entropy'];
        names.forEach((name, k) => {
          const got = (r[name].data as Float32Array)[h * T + t];
          const want = ref[(t * H + h) * 4 + k];
          assert.ok(Number.isFinite(got) && Math.abs(got - want) < 1e-5, `${name} h${h} t${t}: ${got} vs ${want}`);
        });
      }
    }
    // a row that sees one key (the first query of a document): weight 1, entropy 0, whatever c is
    const one = Float32Array.from([2.5, MIN, MIN]);
    const r1 = await session.run({ z: new Tensor('float32', one, [1, 1, 3]), c_other: new Tensor('float32', Float32Array.of(0), [1]) });
    assert.equal((r1.other_max.data as Float32Array)[0], 1);
    assert.equal((r1.other_entropy.data as Float32Array)[0], 0);
    await session.release();
  });
});
