import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Analysis } from '../../src/core/analysis';
import { AttentionModel } from '../../src/core/model';
import { DEFAULT_PROBE, plantNeedle, probeBase, runProbe } from '../../src/core/probe';
import { distanceBucket, distanceProfile, focusCurve, headCell, logBins, quantile, samplePositions, sinkShare, strip } from '../../src/core/views';
import { STRIP_BINS } from '../../src/protocol';
import { modelsDir, ROOT } from './paths';

const sample = readFileSync(path.join(ROOT, 'media', 'sample', 'long_sample.py'), 'utf8');
const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((s, x) => s + x, 0);

describe('view summaries', () => {
  it('buckets distances by powers of two: 0 | 1 | 2-3 | 4-7 | ...', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 7, 8, 1023, 1024].map(distanceBucket), [0, 1, 2, 2, 3, 3, 4, 10, 11]);
  });

  it('distance profile: every key in one bucket, masses sum to 1, edges end at n', () => {
    const n = 100;
    const row = Float32Array.from({ length: n }, (_, j) => (j === n - 1 ? 0.5 : 0.5 / (n - 1)));
    const p = distanceProfile(row, row, n - 1);
    assert.equal(p.edges[0], 0);
    assert.equal(p.edges.at(-1), n);
    assert.equal(p.softmax.length, p.edges.length - 1);
    assert.ok(Math.abs(sum(p.softmax) - 1) < 1e-5);
    assert.ok(Math.abs(p.softmax[0] - 0.5) < 1e-6, 'distance 0 is the query itself');
    // bucket 3 holds distances 4..7: four keys
    assert.ok(Math.abs(p.softmax[3] - (4 * 0.5) / (n - 1)) < 1e-6);
  });

  it('strip: equal slices that keep the mass; one slice per key for short rows', () => {
    const row = Float32Array.from({ length: 1000 }, () => 1 / 1000);
    const s = strip(row);
    assert.equal(s.length, STRIP_BINS);
    assert.ok(Math.abs(sum(s) - 1) < 1e-5);
    assert.deepEqual(
      strip(Float32Array.of(0.2, 0.3, 0.5)),
      [0.2, 0.3, 0.5].map((v) => Math.fround(v)),
    );
  });

  it('log bins start at position 0, ascend strictly, and cover short and long documents', () => {
    assert.deepEqual(logBins(0), []);
    assert.deepEqual(logBins(3), [0, 1, 2]);
    const b = logBins(32768, 256);
    assert.equal(b[0], 0);
    assert.ok(b.length <= 256 && b.length > 200);
    for (let i = 1; i < b.length; i++) assert.ok(b[i] > b[i - 1]);
    assert.ok((b.at(-1) ?? Infinity) < 32768);
  });
});

describe('views on the shipped model', () => {
  let model: AttentionModel;
  let a: Analysis;
  before(async () => {
    model = await AttentionModel.load({ manifestPath: path.join(modelsDir, 'ssmax.json'), provider: 'cpu' });
    a = await model.analyse(sample, { maxTokens: 1400 });
  });
  after(async () => model.dispose());

  it('a head cell agrees with the rows it summarises (stats, top keys, strip mass)', () => {
    const rows = a.rows(1300, { layer: 2, head: 1 });
    const cell = headCell(2, 1, rows.softmax, rows.ssmax, 'ssmax');
    // against the row itself, computed here in plain loops (not through the stats code under test)
    let max = 0;
    let entropy = 0;
    for (const p of rows.ssmax) {
      max = Math.max(max, p);
      if (p > 0) entropy -= p * Math.log(p);
    }
    assert.ok(Math.abs(cell.stats.ssmax.maxWeight - max) < 1e-6);
    assert.ok(Math.abs(cell.stats.ssmax.entropy - entropy) < 1e-3);
    assert.equal(cell.top[0].ssmax, rows.stats.ssmax.maxWeight, 'the first top key carries the max weight');
    for (const v of ['softmax', 'ssmax'] as const) assert.ok(Math.abs(sum(cell.strip[v]) - 1) < 1e-4);
  });

  it('the focus curve of one head equals the graph statistics it bins (first bins are single positions)', () => {
    const c = focusCurve(a, { layer: 3, head: 2 });
    assert.equal(c.n[0], 1);
    assert.equal(c.maxWeight.ssmax[0], 1, 'one key: all weight on it');
    assert.equal(c.normalisedEntropy.softmax[0], 0);
    const s = a.graphStats(5, 3, 2);
    assert.equal(c.n[5], 6);
    assert.ok(Math.abs(c.maxWeight.softmax[5] - s.softmax.maxWeight) < 1e-7);
    assert.ok(Math.abs(c.normalisedEntropy.ssmax[5] - s.ssmax.entropy / Math.log(6)) < 1e-6);
    // the mean curve is the mean of the heads' curves
    const mean = focusCurve(a, { layer: 3, head: 'mean' });
    const heads = [0, 1, 2, 3].map((h) => focusCurve(a, { layer: 3, head: h }));
    const i = mean.n.length - 1;
    assert.ok(Math.abs(mean.maxWeight.softmax[i] - heads.reduce((s, h) => s + h.maxWeight.softmax[i], 0) / 4) < 1e-6);
  });

  it("each bin's band is the interquartile range of its queries' own statistics", () => {
    const c = focusCurve(a, { layer: 2, head: 1 }, 16);
    const starts = logBins(a.analysed, 16);
    const b = starts.length - 1; // the widest bin: the last
    const values = Array.from({ length: a.analysed - starts[b] }, (_, k) => a.graphStats(starts[b] + k, 2, 1).ssmax.maxWeight).sort((x, y) => x - y);
    assert.ok(values.length > 8);
    // nearest-rank bounds: the band lies between the values around the 25th and 75th percentiles
    const lo = values[Math.floor((values.length - 1) * 0.25)];
    const hi = values[Math.ceil((values.length - 1) * 0.75)];
    const q = c.quartiles.maxWeight.ssmax;
    assert.ok(q.q1[b] >= lo - 1e-6 && q.q1[b] <= values[Math.ceil((values.length - 1) * 0.25)] + 1e-6, `q1 ${q.q1[b]}`);
    assert.ok(q.q3[b] <= hi + 1e-6 && q.q3[b] >= values[Math.floor((values.length - 1) * 0.75)] - 1e-6, `q3 ${q.q3[b]}`);
    assert.ok(q.q1[b] <= c.maxWeight.ssmax[b] + 0.5 && q.q1[b] <= q.q3[b]);
    // single-position bins have no spread
    assert.equal(c.quartiles.normalisedEntropy.softmax.q1[0], c.quartiles.normalisedEntropy.softmax.q3[0]);
  });

  it('the sink share is the attention on the first k keys, per view, in every head cell', () => {
    assert.equal(sinkShare([0.5, 0.25, 0.125, 0.125], 2), 0.75);
    assert.equal(sinkShare([1], 4), 1, 'a row shorter than k: all of it');
    const p = a.analysed - 1;
    const rows = a.rows(p, { layer: 0, head: 1 });
    const cell = headCell(0, 1, rows.softmax, rows.ssmax, 'ssmax', rows.stats, 3, 4);
    let soft = 0;
    let ss = 0;
    for (let j = 0; j < 4; j++) {
      soft += rows.softmax[j];
      ss += rows.ssmax[j];
    }
    assert.ok(Math.abs(cell.sink.softmax - soft) < 1e-7 && Math.abs(cell.sink.ssmax - ss) < 1e-7);
    assert.equal(cell.sinkTokens, 4);
    assert.ok(cell.sink.softmax > 0 && cell.sink.softmax < 1);
  });

  it('the sink curve: per bin the mean sink share of its sampled queries; 1 where n ≤ k', () => {
    const c = focusCurve(a, { layer: 1, head: 2 }, 32, { tokens: 4, samples: 3 });
    const sink = c.sink;
    assert.ok(sink && sink.tokens === 4 && sink.samples === 3);
    assert.equal(sink.softmax.length, c.n.length);
    const starts = logBins(a.analysed, 32);
    for (let b = 0; b < starts.length; b++) {
      const to = b + 1 < starts.length ? starts[b + 1] : a.analysed;
      if (to <= 4) {
        assert.deepEqual([sink.softmax[b], sink.ssmax[b]], [1, 1], `bin ${b}: n ≤ 4`);
        continue;
      }
      // by hand: the first 4 weights of each sampled row, averaged
      const at = samplePositions(Math.max(starts[b], 4), to, 3);
      const want = { softmax: 0, ssmax: 0 };
      for (const p of at) {
        const r = a.rows(p, { layer: 1, head: 2 });
        for (const v of ['softmax', 'ssmax'] as const) want[v] += (r[v][0] + r[v][1] + r[v][2] + r[v][3]) / at.length;
      }
      for (const v of ['softmax', 'ssmax'] as const) assert.ok(Math.abs(sink[v][b] - want[v]) < 1e-6, `bin ${b} ${v}: ${sink[v][b]} vs ${want[v]}`);
    }
    assert.deepEqual(samplePositions(10, 13, 3), [10, 11, 12]);
    assert.deepEqual(samplePositions(10, 20, 3), [10, 15, 19]);
    assert.deepEqual(samplePositions(0, 9, 1), [4]);
    assert.equal(focusCurve(a, { layer: 1, head: 2 }, 32).sink, undefined, 'no sink unless asked');
  });

  it('quantiles interpolate between neighbours', () => {
    assert.equal(quantile([1, 2, 3, 4, 5], 0.25), 2);
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });
});

describe('needle probe', () => {
  let models: AttentionModel[];
  before(async () => {
    models = await Promise.all(['ssmax', 'softmax'].map((v) => AttentionModel.load({ manifestPath: path.join(modelsDir, `${v}.json`), provider: 'cpu' })));
  });
  after(async () => Promise.all(models.map((m) => m.dispose())));

  it('plants the needle on a line of its own at the requested depth, and asks for it at the end', () => {
    const base = 'line one\nline two\nline three\nline four\n';
    for (const depth of [0, 0.5, 1]) {
      const p = plantNeedle(base, depth, 'PASSKEY', '48151');
      assert.equal(p.text.slice(p.valueStart, p.valueEnd), '48151');
      assert.ok(p.text.includes('\nPASSKEY = 48151\n') || p.text.startsWith('PASSKEY = 48151\n'));
      assert.ok(p.text.endsWith('\nPASSKEY ='));
      assert.equal(p.text.replace(/PASSKEY = 48151\n/, '').replace(/\nPASSKEY =$/, ''), base, 'the rest is the document, unchanged');
    }
    assert.ok(plantNeedle(base, 0, 'K', '1').text.startsWith('K = 1\n'));
    assert.ok(plantNeedle(base, 1, 'K', '1').text.startsWith(base));
  });

  it('cuts the document to the context budget at a line end', () => {
    const base = probeBase(models[0], sample, 300, 'PASSKEY', '48151');
    assert.ok(sample.startsWith(base) && base.endsWith('\n'));
    const n = models[0].tokenize(plantNeedle(base, 0.5, 'PASSKEY', '48151').text, Infinity).tokens.ids.length;
    assert.ok(n <= 300 && n > 200, `${n} tokens`);
  });

  it('measures the weight on the needle for every depth and both models, with a prediction, and leaves the text alone', async () => {
    const before = sample.slice();
    const seen: number[] = [];
    const results = await runProbe(models, sample, { ...DEFAULT_PROBE, depths: [0, 1], contextTokens: 400, onResult: (_r, done) => seen.push(done) });
    assert.equal(sample, before);
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.equal(results.length, 2);
    for (const r of results) {
      assert.deepEqual(
        r.models.map((m) => m.normaliser),
        ['ssmax', 'softmax'],
      );
      assert.ok(r.needlePosition >= 0 && r.needlePosition < r.queryPosition && r.queryPosition === r.contextTokens - 1);
      for (const m of r.models) {
        for (const v of ['softmax', 'ssmax'] as const) {
          // weights on the needle's tokens: shares of one row (the best head is chosen by the model's own view, so
          // only there must it beat the mean; see below)
          assert.ok(m.best[v] >= 0 && m.best[v] <= 1 + 1e-5 && m.mean[v] >= 0 && m.mean[v] <= 1 + 1e-5);
        }
        assert.ok(m.best[m.normaliser] + 1e-6 >= m.mean[m.normaliser], 'the best head has at least the mean');
        assert.equal(typeof m.prediction, 'string');
        assert.equal(m.correct, m.prediction.trim().startsWith('48151'));
      }
    }
    // the needle at the end sits just before the question: its value tokens are near the query
    assert.ok(results[1].queryPosition - results[1].needlePosition < 12);
  });
});
