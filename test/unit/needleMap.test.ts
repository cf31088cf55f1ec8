import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AttentionModel } from '../../src/core/model';
import { haystackStart, needleValue, runNeedleMap, type NeedleMapCell } from '../../src/core/needleMap';
import { modelsDir, ROOT } from './paths';

describe('needle map: the probe over lengths × depths × haystacks', () => {
  it('haystacks start at line starts spread over the text, the first at 0; values are fixed per cell and haystack', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    assert.equal(haystackStart(text, 0, 3, 100), 0);
    const starts = [1, 2].map((h) => haystackStart(text, h, 3, 100));
    for (const s of starts) assert.ok(s > 0 && text[s - 1] === '\n', `a line start (${s})`);
    assert.ok(starts[0] < starts[1]);
    assert.equal(haystackStart(text, 2, 3, 10 * text.length), 0, 'a text shorter than asked: every haystack is the whole text');
    assert.match(needleValue(512, 0.5, 1), /^\d{5}$/);
    assert.equal(needleValue(512, 0.5, 1), needleValue(512, 0.5, 1));
    assert.notEqual(needleValue(512, 0.5, 1), needleValue(512, 0.5, 2));
  });

  describe('on the shipped pair', () => {
    const text = readFileSync(path.join(ROOT, 'media', 'sample', 'long_sample.py'), 'utf8');
    let models: AttentionModel[];
    before(async () => {
      models = await Promise.all(
        ['ssmax', 'softmax'].map((id) => AttentionModel.load({ manifestPath: path.join(modelsDir, `${id}.json`), provider: 'cpu', threads: 2 })),
      );
    });
    after(() => Promise.all(models.map((m) => m.dispose())));

    it('a cell per length × depth, in order, each over every haystack for both models, reported as it finishes', async () => {
      const seen: { cell: NeedleMapCell; done: number; total: number }[] = [];
      const cells = await runNeedleMap(models, text, {
        lengths: [128, 256],
        depths: [0, 1],
        haystacks: 2,
        onCell: (cell, done, total) => seen.push({ cell, done, total }),
      });
      assert.deepEqual(
        cells.map((c) => [c.length, c.depth]),
        [
          [128, 0],
          [128, 1],
          [256, 0],
          [256, 1],
        ],
      );
      assert.deepEqual(
        seen.map((s) => [s.done, s.total]),
        [
          [4, 16],
          [8, 16],
          [12, 16],
          [16, 16],
        ],
      );
      for (const c of cells) {
        assert.ok(c.contextTokens <= c.length && c.contextTokens > c.length / 2, `${c.contextTokens} tokens for ${c.length}`);
        assert.deepEqual(
          c.models.map((m) => m.modelId),
          ['ssmax', 'softmax'],
        );
        for (const m of c.models) {
          assert.equal(m.haystacks, 2);
          assert.ok(m.correct >= 0 && m.correct <= 2);
          assert.ok(m.mean[m.normaliser] <= m.best[m.normaliser] + 1e-9, 'the mean of the heads is at most the best head (own view)');
          for (const v of ['softmax', 'ssmax'] as const) {
            assert.ok(m.best[v] >= 0 && m.best[v] <= 1, `${v} weights are shares`);
            assert.ok(m.mean[v] >= 0 && m.mean[v] <= 1);
          }
        }
      }
    });
  });
});
