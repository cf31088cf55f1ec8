import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { figure1SoftmaxMax, figure1SsmaxMax, focusStats, softmaxScaled, ssmaxMultiplier, topK, viewMultipliers } from '../../src/core/attention';

function figure1Scores(n: number): Float64Array {
  const z = new Float64Array(n).fill(-2);
  z[n - 1] = 3;
  return z;
}

describe('attention maths (shared/notes/ssmax.md)', () => {
  const sizes = [2, 3, 5, 10, 32, 100, 512, 1000, 4096, 10_000, 100_000, 1_000_000];
  const s = 0.43;

  it("softmax's largest weight follows the paper's Figure 1 closed form and fades towards 0", () => {
    let prev = Infinity;
    for (const n of sizes) {
      const p = softmaxScaled(figure1Scores(n), 1, new Float32Array(n));
      const max = p[n - 1];
      assert.ok(Math.abs(max - figure1SoftmaxMax(n)) < 1e-5 * Math.max(1, figure1SoftmaxMax(n)) + 1e-7, `n=${n}: ${max} vs ${figure1SoftmaxMax(n)}`);
      assert.ok(max < prev);
      prev = max;
    }
    assert.ok(prev < 0.001);
  });

  it("SSMax's largest weight follows the closed form 1/(1+(n-1)n^(-5s)) and tends to 1", () => {
    for (const n of sizes) {
      const p = softmaxScaled(figure1Scores(n), ssmaxMultiplier(s, n), new Float32Array(n));
      assert.ok(Math.abs(p[n - 1] - figure1SsmaxMax(n, s)) < 1e-5, `n=${n}: ${p[n - 1]} vs ${figure1SsmaxMax(n, s)}`);
    }
    assert.ok(figure1SsmaxMax(1_000_000, s) > 0.999);
  });

  it('n = 1 gives the single key weight 1 (scale 0 is not a special case)', () => {
    const p = softmaxScaled([5], ssmaxMultiplier(0.3, 1));
    assert.equal(p[0], 1);
  });

  it('never overflows: large scores are normalised with the row maximum subtracted', () => {
    const p = softmaxScaled([1000, 999, -1000], 50);
    assert.ok(p.every((v) => Number.isFinite(v)));
    assert.ok(Math.abs(p[0] + p[1] + p[2] - 1) < 1e-6);
  });

  it('the two views agree at the training length and differ by ln n / ln N elsewhere', () => {
    const N = 512;
    for (const own of ['softmax', 'ssmax'] as const) {
      const at = viewMultipliers(own, 0.2, N, N);
      assert.ok(Math.abs(at.softmax - at.ssmax) < 1e-12, own);
      const far = viewMultipliers(own, 0.2, 16 * N, N);
      assert.ok(Math.abs(far.ssmax / far.softmax - Math.log(16 * N) / Math.log(N)) < 1e-12);
    }
    assert.deepEqual(viewMultipliers('softmax', undefined, 10, N).softmax, 1);
    assert.throws(() => viewMultipliers('ssmax', undefined, 10, N));
  });

  it('focus statistics: max, entropy, normalised entropy', () => {
    const u = focusStats([0.25, 0.25, 0.25, 0.25]);
    assert.ok(Math.abs(u.entropy - Math.log(4)) < 1e-12);
    assert.ok(Math.abs(u.normalisedEntropy - 1) < 1e-12);
    assert.equal(u.maxWeight, 0.25);
    const d = focusStats([0, 1, 0]);
    assert.equal(d.entropy, 0);
    assert.equal(d.effectiveSupport, 1);
  });

  it('top-k returns the largest weights, largest first', () => {
    assert.deepEqual(topK([0.1, 0.5, 0.05, 0.3, 0.05], 3), [1, 3, 0]);
  });
});
