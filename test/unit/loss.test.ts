import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lossBucketEdges, lossBuckets, lossDifference, lossStrip } from '../../src/core/loss';
import { AttentionModel } from '../../src/core/model';
import { ort } from '../../src/core/ort';
import { fixture, modelsDir } from './paths';

describe('loss on the file', () => {
  it('buckets 0–N, N–4N, 4N–16N, … cut at the document length', () => {
    assert.deepEqual(lossBucketEdges(10_000, 512), [0, 512, 2048, 8192, 10_000]);
    assert.deepEqual(lossBucketEdges(300, 512), [0, 300]);
    assert.deepEqual(lossBucketEdges(0, 512), [0]);
  });

  it('bucket means skip positions without a loss (the last token) and count what they average', () => {
    const b = lossBuckets(Float32Array.from([1, 2, 3, 5, NaN]), 2);
    assert.deepEqual(
      b.map((x) => [x.from, x.to, x.count]),
      [
        [0, 2, 2],
        [2, 5, 2],
      ],
    );
    assert.equal(b[0].mean, 1.5);
    assert.equal(b[1].mean, 4);
    assert.deepEqual(Array.from(lossDifference([3, 2, NaN], [1, 2.5, 1])), [2, -0.5, NaN]);
  });

  it('the strip: equal slices of positions, each the mean of its finite losses', () => {
    const s = lossStrip(Float32Array.from([1, 3, 5, 7, 9, NaN]), 3);
    assert.deepEqual(s.edges, [0, 2, 4, 6]);
    assert.deepEqual(s.mean, [2, 6, 9], 'the last slice averages only the position with a loss');
    assert.deepEqual(lossStrip([1, 2], 200), { edges: [0, 1, 2], mean: [1, 2] }, 'no more slices than positions');
    assert.deepEqual(lossStrip([], 10), { edges: [0], mean: [] });
  });

  describe("the losses are the model's own next-token losses", () => {
    let model: AttentionModel;
    const ref = JSON.parse(readFileSync(fixture('softmax.reference.json'), 'utf8')) as { text: string; ids: number[] };
    before(async () => {
      model = await AttentionModel.load({ manifestPath: path.join(modelsDir, 'softmax.json'), provider: 'cpu', threads: 2 });
    });
    after(() => model.dispose());

    it('equal −log softmax(logits)[next token] from one run of the graph over the whole text, far past the training length', async () => {
      const a = await model.analyse(ref.text, { maxTokens: ref.ids.length, chunkSize: 256 });
      const n = a.analysed;
      const { Tensor, InferenceSession } = ort();
      const session = await InferenceSession.create(path.join(modelsDir, 'softmax.onnx'));
      const { layers, heads, headDim, vocabSize: V } = model.manifest.architecture;
      const feeds: Record<string, InstanceType<typeof Tensor>> = {
        input_ids: new Tensor('int64', BigInt64Array.from(Array.from(a.tokens.ids.subarray(0, n), BigInt)), [1, n]),
      };
      for (let l = 0; l < layers; l++) for (const w of ['k', 'v']) feeds[`past_${w}_${l}`] = new Tensor('float32', new Float32Array(0), [0, heads, headDim]);
      const logits = (await session.run(feeds)).logits.data as Float32Array;
      await session.release();
      let worst = 0;
      for (let p = 0; p + 1 < n; p++) {
        let max = -Infinity;
        for (let j = 0; j < V; j++) max = Math.max(max, logits[p * V + j]);
        let sum = 0;
        for (let j = 0; j < V; j++) sum += Math.exp(logits[p * V + j] - max);
        const want = max + Math.log(sum) - logits[p * V + a.tokens.ids[p + 1]];
        worst = Math.max(worst, Math.abs(a.nll[p] - want));
      }
      assert.ok(worst < 1e-3, `streamed losses differ from the one-shot ones by ${worst}`);
      assert.ok(Number.isNaN(a.nll[n - 1]), 'the last token has no next one');
      assert.ok(n > 4 * model.manifest.trainingContext);
      const buckets = lossBuckets(a.nll.subarray(0, n), model.manifest.trainingContext);
      const first = Array.from(a.nll.subarray(0, model.manifest.trainingContext));
      assert.ok(Math.abs(buckets[0].mean - first.reduce((s, v) => s + v, 0) / first.length) < 1e-5);
      assert.deepEqual(
        buckets.map((b) => b.to),
        [512, 2048, n],
      );
    });
  });
});
