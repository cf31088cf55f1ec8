import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FocusCurvePayload } from '../../src/protocol';
import { focusCaption, meanOver, summariseFocus } from '../../webview/focusCaption';

/** A curve over n = 1..maxN (one bin per n) with the given max-weight functions. */
function curve(maxN: number, softmax: (n: number) => number, ssmax: (n: number) => number): FocusCurvePayload {
  const n = Array.from({ length: maxN }, (_, i) => i + 1);
  return {
    uri: 'file:///x',
    version: 1,
    head: { layer: 0, head: 'mean' },
    trainingContext: 512,
    analysedTokens: maxN,
    n,
    maxWeight: { softmax: n.map(softmax), ssmax: n.map(ssmax) },
    normalisedEntropy: { softmax: n.map(() => 0.5), ssmax: n.map(() => 0.5) },
    quartiles: {
      maxWeight: { softmax: { q1: n.map(softmax), q3: n.map(softmax) }, ssmax: { q1: n.map(ssmax), q3: n.map(ssmax) } },
      normalisedEntropy: { softmax: { q1: n.map(() => 0.5), q3: n.map(() => 0.5) }, ssmax: { q1: n.map(() => 0.5), q3: n.map(() => 0.5) } },
    },
  };
}

describe('focus caption: says what the curve of this file shows', () => {
  it('a fading softmax and a steady SSMax, with the numbers of each range', () => {
    const c = curve(
      8192,
      (n) => (n <= 512 ? 0.5 : 0.2),
      () => 0.4,
    );
    const s = summariseFocus(c);
    assert.ok(s);
    assert.equal(s.early.upTo, 512);
    assert.deepEqual([s.late.from, s.late.to], [4096, 8192]);
    assert.ok(Math.abs(s.early.maxWeight.softmax - 0.5) < 1e-9 && Math.abs(s.late.maxWeight.softmax - 0.2) < 1e-9);
    const text = focusCaption(c, 'softmax', 'L0 mean');
    assert.match(text, /softmax's fell from 0\.50 to 0\.20/);
    assert.match(text, /SSMax's stayed at about 0\.40/);
    assert.match(text, /softmax is the model's own normaliser; SSMax is a what-if/);
  });

  it('does not claim fading when the data show none (or the reverse)', () => {
    const text = focusCaption(
      curve(
        8192,
        (n) => (n <= 512 ? 0.2 : 0.3),
        (n) => (n <= 512 ? 0.4 : 0.1),
      ),
      'ssmax',
      'L1 H2',
    );
    assert.match(text, /SSMax's fell from 0\.40 to 0\.10/);
    assert.match(text, /softmax's rose from 0\.20 to 0\.30/);
    assert.doesNotMatch(text, /keeps|fades/);
  });

  it('a file that does not reach past twice the training length says so instead', () => {
    const c = curve(
      900,
      () => 0.5,
      () => 0.5,
    );
    assert.equal(summariseFocus(c), undefined);
    assert.match(focusCaption(c, 'ssmax', 'L0 mean'), /does not reach past twice the training length/);
  });

  it('bins are weighted by the span of n they cover, not counted', () => {
    // two bins: n = 10 (covers ~10) and n = 100 (covers ~90): the wide one dominates
    const m = meanOver([10, 100], [0, 1], 0, 1000);
    assert.ok(m !== undefined && m > 0.8, `${m}`);
    assert.equal(meanOver([10, 100], [0, 1], 200, 300), undefined);
  });
});
