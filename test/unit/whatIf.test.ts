import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { viewMultipliers } from '../../src/core/attention';
import { statsFromScores } from '../../src/core/hfRunner';
import { AttentionModel } from '../../src/core/model';
import { describeWhatIf, lawMultiplier, parseWhatIf, type WhatIfLaw } from '../../src/core/whatIf';
import { fixture, modelsDir } from './paths';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('what-if length-scaling laws (whatIf.ts) against their cited definitions', () => {
  const N = 512;

  it('SSMax with s = 1/ln N: ln n / ln N (1 at the training length, 2 at N²)', () => {
    const law: WhatIfLaw = { law: 'ssmax' };
    close(lawMultiplier(law, N, N), 1);
    close(lawMultiplier(law, N * N, N), 2);
    close(lawMultiplier(law, 1, N), 0);
  });

  it('SSMax with a chosen s: s·ln n', () => {
    close(lawMultiplier({ law: 'ssmax-s', s: 0.3 }, 1000, N), 0.3 * Math.log(1000));
  });

  it("Qwen's logn: 1 up to N, then log_N(n) — the reference list [log(i, N) if i > N else 1 for i in 1..]", () => {
    const law: WhatIfLaw = { law: 'qwen-logn' };
    // the cited list, written out as Qwen-7B's modeling_qwen.py builds it (i is the 1-based position, i.e. n)
    const qwenList = (i: number, seq: number) => (i > seq ? Math.log(i) / Math.log(seq) : 1);
    for (const n of [1, 2, 100, 511, 512, 513, 2048, 32768]) close(lawMultiplier(law, n, N), qwenList(n, N));
    close(lawMultiplier(law, 4096, N), Math.log(4096) / Math.log(512)); // 4/3
  });

  it("Llama 4's temperature: ln(⌊(pos+1)/F⌋ + 1)·β + 1 with 0-based pos (n = pos + 1)", () => {
    // Llama 4 Scout: F = 8192, β = 0.1
    const law: WhatIfLaw = { law: 'llama4', beta: 0.1, floor: 8192 };
    const reference = (pos: number) => Math.log(Math.floor((pos + 1) / 8192) + 1) * 0.1 + 1;
    for (const pos of [0, 8190, 8191, 8192, 16383, 100_000, 1_000_000 - 1]) close(lawMultiplier(law, pos + 1, N), reference(pos));
    close(lawMultiplier(law, 8191, N), 1); // below F: no change
    close(lawMultiplier(law, 8192, N), 1 + 0.1 * Math.log(2));
    assert.ok(Math.abs(lawMultiplier(law, 1_000_000, N) - 1.48) < 0.005, 'about 1.48 at 1M tokens');
    // F defaults to the training length
    close(lawMultiplier({ law: 'llama4' }, 4 * N, N), 1 + 0.1 * Math.log(5));
  });

  it('a law applies to the length-scaled view of a softmax-trained model only', () => {
    const law: WhatIfLaw = { law: 'qwen-logn' };
    const soft = viewMultipliers('softmax', undefined, 4096, N, law);
    assert.equal(soft.softmax, 1);
    close(soft.ssmax, Math.max(1, Math.log(4096) / Math.log(N)));
    assert.deepEqual(viewMultipliers('ssmax', 0.2, 4096, N, law), viewMultipliers('ssmax', 0.2, 4096, N));
  });

  it('descriptions name the law and give its formula with the model its numbers', () => {
    assert.match(describeWhatIf({ law: 'llama4' }, 512).formula, /1 \+ 0\.1·ln\(1 \+ ⌊n\/512⌋\)/);
    assert.match(describeWhatIf({ law: 'qwen-logn' }, 512).formula, /max\(1, ln n \/ ln 512\)/);
    assert.match(describeWhatIf({ law: 'ssmax-s', s: 0.25 }, 512).label, /s=0\.25/);
  });

  it('parseWhatIf takes laws and refuses anything else', () => {
    assert.deepEqual(parseWhatIf({ law: 'llama4', beta: 0.2, floor: 1024 }), { law: 'llama4', beta: 0.2, floor: 1024 });
    for (const bad of [null, 'llama4', { law: 'yarn' }, { law: 'ssmax-s', s: -1 }, { law: 'llama4', floor: 1.5 }, { law: 'llama4', beta: Infinity }])
      assert.equal(parseWhatIf(bad), undefined, JSON.stringify(bad));
  });

  it('Hugging Face statistics from scores follow the law (JavaScript fallback of models/stats.onnx)', () => {
    // one head, one query that sees 3 keys; the what-if slot is softmax(c·z) with the law's c at n = 3
    const z = Float32Array.from([1, 0, -1]);
    const law: WhatIfLaw = { law: 'ssmax-s', s: 2 };
    const s = statsFromScores(z, 1, 1, 2, 64, law);
    const c = 2 * Math.log(3);
    const e = [1, 0, -1].map((x) => Math.exp(c * x));
    const sum = e.reduce((a, b) => a + b);
    close(s[2], e[0] / sum, 1e-6);
    close(s[3], -e.reduce((h, v) => h + (v / sum) * Math.log(v / sum), 0), 1e-5);
  });
});

describe('what-if statistics of our own softmax model (models/whatif.onnx)', () => {
  const text = readFileSync(path.join(fixture('..', '..', 'media', 'sample', 'long_sample.py')), 'utf8');
  const manifestPath = path.join(modelsDir, 'softmax.json');
  const laws: WhatIfLaw[] = [{ law: 'llama4', beta: 0.5, floor: 64 }, { law: 'qwen-logn' }, { law: 'ssmax-s', s: 0.3 }];
  const models: AttentionModel[] = [];
  let base: AttentionModel;

  before(async () => {
    base = await AttentionModel.load({ manifestPath, provider: 'cpu', threads: 2 });
    for (const whatIf of laws) models.push(await AttentionModel.load({ manifestPath, provider: 'cpu', threads: 2, whatIf }));
  });
  after(async () => {
    await base.dispose();
    for (const m of models) await m.dispose();
  });

  it("each position's what-if max weight and entropy equal those of its rows under the law; the own view is untouched", async () => {
    const plain = await base.analyse(text, { maxTokens: 1400, chunkSize: 300 });
    for (const [i, model] of models.entries()) {
      const a = await model.analyse(text, { maxTokens: 1400, chunkSize: 300 });
      assert.equal(a.analysed, 1400);
      for (const position of [0, 5, 299, 300, 700, 1399]) {
        for (const layer of [0, 3]) {
          for (const head of [0, 2]) {
            const g = a.graphStats(position, layer, head);
            const rows = a.rows(position, { layer, head });
            close(g.ssmax.maxWeight, rows.stats.ssmax.maxWeight, 2e-5);
            close(g.ssmax.entropy, rows.stats.ssmax.entropy, 2e-4);
            const p = plain.graphStats(position, layer, head);
            assert.deepEqual(g.softmax, p.softmax, 'own view unchanged');
            // far past F = 64, Llama 4's temperature with β = 0.5 (c ≈ 2.5) is much sharper than SSMax's (c ≈ 1.16)
            if (i === 0 && position === 1399) assert.ok(g.ssmax.entropy < p.ssmax.entropy - 0.1, `${g.ssmax.entropy} vs ${p.ssmax.entropy}`);
          }
        }
      }
    }
  });

  it('a Hugging Face export follows the law too: its statistics (models/stats.onnx) equal its rows under the law', async () => {
    const law: WhatIfLaw = { law: 'llama4', beta: 0.5, floor: 16 };
    const m = await AttentionModel.load({ manifestPath: fixture('hf', 'mistral'), provider: 'cpu', threads: 2, whatIf: law });
    try {
      const a = await m.analyse(text, { maxTokens: 300, chunkSize: 64 });
      for (const position of [3, 63, 64, 200, 299])
        for (const head of [0, 3]) {
          const g = a.graphStats(position, 1, head);
          const rows = a.rows(position, { layer: 1, head });
          close(g.ssmax.maxWeight, rows.stats.ssmax.maxWeight, 1e-4);
          close(g.ssmax.entropy, rows.stats.ssmax.entropy, 1e-3);
        }
    } finally {
      await m.dispose();
    }
  });

  it('the SSMax-trained model ignores the law (its own view is learned)', async () => {
    const m = await AttentionModel.load({ manifestPath: path.join(modelsDir, 'ssmax.json'), provider: 'cpu', threads: 2, whatIf: laws[0] });
    try {
      assert.equal(m.manifest.whatIf, undefined);
    } finally {
      await m.dispose();
    }
  });
});
