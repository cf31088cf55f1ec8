import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { focusStats } from '../../src/core/attention';
import { loadModelFiles, ModelFileError } from '../../src/core/manifest';
import { AttentionModel, CancelledError, thisHost } from '../../src/core/model';
import { fixture, modelsDir } from './paths';

interface Reference {
  variant: string;
  text: string;
  ids: number[];
  positions: number[];
  logits: Record<string, number[]>;
  argmax: Record<string, number>;
  attention: { layer: number; head: number; position: number; probs: number[] }[];
}

// Tolerances from the fp32 floor: the reference is float64 torch with the same fp16-rounded weights; onnxruntime
// runs in float32, whose error on these logits is ~1e-4 (shared/notes/training-on-cpu.md).
const LOGIT_TOL = 5e-3;
const PROB_TOL = 2e-4;

// the retrofit is the softmax model's weights run with SSMax (s = 1/ln N): its own graph and its own reference
for (const [variant, normaliser] of [
  ['softmax', 'softmax'],
  ['ssmax', 'ssmax'],
  ['retrofit', 'ssmax'],
] as const) {
  describe(`shipped ${variant} model`, () => {
    let model: AttentionModel;
    const ref = JSON.parse(readFileSync(fixture(`${variant}.reference.json`), 'utf8')) as Reference;

    before(async () => {
      model = await AttentionModel.load({ manifestPath: path.join(modelsDir, `${variant}.json`), provider: 'cpu', threads: 2 });
    });
    after(() => model.dispose());

    it('has a manifest that matches the graph', () => {
      const m = model.manifest;
      assert.equal(m.normaliser, normaliser);
      assert.ok(m.trainingContext >= 256);
      if (normaliser === 'ssmax') assert.equal(m.s?.length, m.architecture.layers);
      else assert.equal(m.s, null);
      if (variant === 'retrofit') {
        for (const row of m.s ?? []) for (const v of row) assert.ok(Math.abs(v - 1 / Math.log(m.trainingContext)) < 1e-6, 'retrofit s = 1/ln N');
      }
    });

    it('tokenises the reference document exactly like the pipeline', () => {
      const { tokens } = model.tokenize(ref.text, ref.ids.length);
      assert.deepEqual(Array.from(tokens.ids), ref.ids);
    });

    it('streamed analysis (KV cache, chunks of 256) reproduces the float64 reference logits and attention, far past the training length', async () => {
      const text = ref.text;
      const a = await model.analyse(text, { maxTokens: ref.ids.length, chunkSize: 256 });
      assert.equal(a.analysed, ref.ids.length);
      assert.ok(
        ref.positions.some((p) => p > model.manifest.trainingContext),
        'references include positions beyond the training length',
      );
      // logits: the graph's logits are not kept by the analysis, so compare its predictions (the next test re-runs
      // one chunk for the logits themselves)
      for (const p of ref.positions) assert.equal(a.prediction[p], ref.argmax[String(p)], `argmax at ${p}`);
      let worstProb = 0;
      for (const r of ref.attention) {
        const rows = a.rows(r.position, { layer: r.layer, head: r.head });
        const own = normaliser === 'ssmax' ? rows.ssmax : rows.softmax;
        assert.equal(own.length, r.probs.length);
        for (let j = 0; j < own.length; j++) worstProb = Math.max(worstProb, Math.abs(own[j] - r.probs[j]));
      }
      assert.ok(worstProb < PROB_TOL, `attention rows differ from the reference by ${worstProb}`);
      // the graph's own focus statistics (computed inside ONNX with its own s) agree with rows from the manifest's s
      for (const r of ref.attention.filter((x) => x.position > 0)) {
        const rows = a.rows(r.position, { layer: r.layer, head: r.head });
        const g = a.graphStats(r.position, r.layer, r.head);
        for (const view of ['softmax', 'ssmax'] as const) {
          const js = focusStats(rows[view]);
          assert.ok(Math.abs(js.maxWeight - g[view].maxWeight) < 1e-3, `${view} max at L${r.layer}H${r.head}@${r.position}`);
          assert.ok(Math.abs(js.entropy - g[view].entropy) < 1e-2, `${view} entropy`);
        }
      }
    });

    it('computes logits that match the reference (one forward over the first chunk)', async () => {
      const ort = await import('onnxruntime-node');
      const session = await ort.InferenceSession.create(readFileSync(loadModelFiles(path.join(modelsDir, `${variant}.json`)).onnxPath));
      const T = 256;
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ref.ids.slice(0, T), BigInt), [1, T]),
      };
      const { layers, heads, headDim } = model.manifest.architecture;
      for (let l = 0; l < layers; l++)
        for (const kv of ['k', 'v']) feeds[`past_${kv}_${l}`] = new ort.Tensor('float32', new Float32Array(0), [0, heads, headDim]);
      const out = await session.run(feeds);
      const logits = out.logits.data as Float32Array;
      const vocab = model.manifest.architecture.vocabSize;
      let worst = 0;
      for (const p of ref.positions.filter((x) => x < T)) {
        const want = ref.logits[String(p)];
        for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(logits[p * vocab + j] - want[j]));
      }
      assert.ok(worst < LOGIT_TOL, `logits differ by ${worst}`);
      await session.release();
    });

    it('rows from the rows graph equal the JavaScript rows (long rows, every head and the mean)', async () => {
      const a = await model.analyse(ref.text, { maxTokens: ref.ids.length });
      const position = ref.ids.length - 1;
      for (const head of [
        { layer: 0, head: 0 },
        { layer: 2, head: 3 },
        { layer: 3, head: 'mean' as const },
      ]) {
        const fast = await model.rows(a, position, head);
        const slow = a.rows(position, head);
        assert.equal(fast.n, slow.n);
        let worst = 0;
        for (let j = 0; j < slow.n; j++) worst = Math.max(worst, Math.abs(fast.softmax[j] - slow.softmax[j]), Math.abs(fast.ssmax[j] - slow.ssmax[j]));
        assert.ok(worst < 1e-5, `graph and JS rows differ by ${worst}`);
        // for one head the statistics come from the rows graph, for the mean from JavaScript: both agree with JS
        for (const view of ['softmax', 'ssmax'] as const) {
          assert.ok(Math.abs(fast.stats[view].entropy - slow.stats[view].entropy) < 1e-3, `${view} entropy`);
          assert.ok(Math.abs(fast.stats[view].maxWeight - slow.stats[view].maxWeight) < 1e-5, `${view} max weight`);
          assert.ok(
            Math.abs(fast.stats[view].effectiveSupport - slow.stats[view].effectiveSupport) < 1e-3 * slow.stats[view].effectiveSupport,
            `${view} support`,
          );
        }
      }
    });

    it('re-analyses an edited document from the first changed token, with the same results as from scratch', async () => {
      const base = ref.text.slice(0, 3000);
      const first = await model.analyse(base, { maxTokens: 4096 });
      const edited = base.slice(0, 2800) + '# an edit near the end\n' + base.slice(2800);
      const incremental = await model.analyse(edited, { maxTokens: 4096, previous: first });
      const fresh = await model.analyse(edited, { maxTokens: 4096 });
      const firstChange = incremental.tokens.ids.findIndex((id, i) => id !== first.tokens.ids[i]);
      assert.ok(firstChange > incremental.length / 2, 'the edit is near the end');
      for (const p of [0, firstChange - 1, firstChange, incremental.length - 1]) {
        const x = incremental.rows(p, { layer: 1, head: 'mean' });
        const y = fresh.rows(p, { layer: 1, head: 'mean' });
        for (let j = 0; j < x.ssmax.length; j++) assert.ok(Math.abs(x.ssmax[j] - y.ssmax[j]) < 1e-5);
      }
    });

    it('stops when cancelled', async () => {
      const ctrl = new AbortController();
      const run = model.analyse(ref.text, { maxTokens: 1200, chunkSize: 64, signal: ctrl.signal, onProgress: (a) => a.analysed >= 128 && ctrl.abort() });
      await assert.rejects(run, CancelledError);
    });
  });
}

describe('model loading failures', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'ai-model-'));
  const copyModel = () => {
    for (const f of ['ssmax.json', 'ssmax.onnx', 'tokenizer.json']) copyFileSync(path.join(modelsDir, f), path.join(tmp, f));
    return path.join(tmp, 'ssmax.json');
  };

  it('names the missing manifest', async () => {
    await assert.rejects(
      AttentionModel.load({ manifestPath: path.join(tmp, 'nope.json'), provider: 'cpu' }),
      (e: Error) => e instanceof ModelFileError && /nope\.json/.test(e.message) && /ENOENT/.test(e.message),
    );
  });

  it('names a truncated ONNX file', async () => {
    const manifest = copyModel();
    const bytes = readFileSync(path.join(tmp, 'ssmax.onnx'));
    writeFileSync(path.join(tmp, 'ssmax.onnx'), bytes.subarray(0, bytes.length / 3));
    await assert.rejects(
      AttentionModel.load({ manifestPath: manifest, provider: 'cpu' }),
      (e: Error) => /ssmax\.onnx/.test(e.message) && /could not be loaded/.test(e.message),
    );
  });

  it('names a file that is not ONNX at all', async () => {
    const manifest = copyModel();
    writeFileSync(path.join(tmp, 'ssmax.onnx'), 'this is not a model');
    await assert.rejects(AttentionModel.load({ manifestPath: manifest, provider: 'cpu' }), /ssmax\.onnx/);
  });

  it('names a corrupt tokenizer', async () => {
    const manifest = copyModel();
    writeFileSync(path.join(tmp, 'tokenizer.json'), '{"format":');
    await assert.rejects(AttentionModel.load({ manifestPath: manifest, provider: 'cpu' }), /tokenizer\.json.*|tokenizer file is corrupt/);
  });

  it('rejects an ONNX model without the outputs it needs', async () => {
    const manifest = copyModel();
    // a valid ONNX model with other inputs and outputs in place of the model's graph: the shipped rows graph
    copyFileSync(path.join(modelsDir, 'rows.onnx'), path.join(tmp, 'ssmax.onnx'));
    await assert.rejects(AttentionModel.load({ manifestPath: manifest, provider: 'cpu' }), /inputs\/outputs/);
  });

  it("runs the graph by the names in its manifest's io block, and refuses names the graph does not have", async () => {
    const manifest = copyModel();
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { io: { inputs: string[]; outputs: string[] } };
    assert.equal(m.io.outputs[4], 'stats_0', 'export.py lists outputs in role order: logits, then q, k, v, stats per layer');
    m.io.outputs[4] = 'statistics_0';
    writeFileSync(manifest, JSON.stringify(m));
    await assert.rejects(AttentionModel.load({ manifestPath: manifest, provider: 'cpu' }), /missing: statistics_0\b/);
    m.io.outputs.pop();
    writeFileSync(manifest, JSON.stringify(m));
    await assert.rejects(AttentionModel.load({ manifestPath: manifest, provider: 'cpu' }), /io must list 9 input names .* and 17 outputs/);
  });

  it('rejects a manifest that claims more layers than its graph has', async () => {
    const manifest = copyModel();
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as { architecture: { layers: number }; s: number[][]; io?: unknown };
    m.architecture.layers += 1;
    m.s.push(m.s[0]);
    delete m.io; // the default names then: a fifth layer's past_k_4 the graph does not have
    writeFileSync(manifest, JSON.stringify(m));
    await assert.rejects(AttentionModel.load({ manifestPath: manifest, provider: 'cpu' }), /inputs\/outputs .*missing: past_k_4, past_v_4/);
  });
});

describe('execution providers', () => {
  it('an explicit CUDA choice: falls back to the CPU with a clear reason where its libraries are not installed', async () => {
    const model = await AttentionModel.load({ manifestPath: path.join(modelsDir, 'ssmax.json'), provider: 'cuda' });
    try {
      // which outcome is right is decided by the install, not by what happened
      if (thisHost().cudaInstalled) {
        assert.equal(model.provider, 'cuda', 'CUDA libraries are installed: CUDA must run (a GPU machine)');
      } else {
        assert.equal(model.provider, 'cpu');
        assert.equal(model.skippedProviders[0].provider, 'cuda');
        assert.match(model.skippedProviders[0].reason, /CUDA 12/);
      }
    } finally {
      await model.dispose();
    }
  });

  it('reports every provider when none can create the session', async () => {
    await assert.rejects(
      AttentionModel.load({
        manifestPath: path.join(modelsDir, 'ssmax.json'),
        provider: 'auto',
        createSession: async (p) => {
          throw new Error(`${p} refused`);
        },
      }),
      /CPU: cpu refused/,
    );
  });
});
