import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWebviewState, parseWebviewMessage } from '../../src/protocol';
import { tokenAtOffset, tokenInfos } from '../../src/core/tokenText';

describe('webview protocol validation', () => {
  it('accepts well-formed messages', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
    assert.deepEqual(parseWebviewMessage({ type: 'selectToken', position: 12 }), { type: 'selectToken', position: 12 });
    assert.deepEqual(parseWebviewMessage({ type: 'selectHead', head: { layer: 1, head: 'mean' } }), { type: 'selectHead', head: { layer: 1, head: 'mean' } });
    assert.deepEqual(parseWebviewMessage({ type: 'setOverlay', on: false }), { type: 'setOverlay', on: false });
    assert.deepEqual(parseWebviewMessage({ type: 'setComparison', on: true }), { type: 'setComparison', on: true });
    assert.deepEqual(parseWebviewMessage({ type: 'runProbe' }), { type: 'runProbe' });
    assert.deepEqual(parseWebviewMessage({ type: 'export', view: 'focus', format: 'svg', data: '<svg/>' }), {
      type: 'export',
      view: 'focus',
      format: 'svg',
      data: '<svg/>',
    });
    assert.deepEqual(parseWebviewMessage({ type: 'export', view: 'heads', format: 'png', data: 'iVBORw0KGgo=' }), {
      type: 'export',
      view: 'heads',
      format: 'png',
      data: 'iVBORw0KGgo=',
    });
  });

  it('rejects exports that are not one of ours: unknown view or format, empty, oversized, PNG that is not base64', () => {
    const bad: unknown[] = [
      { type: 'export', view: 'focus', format: 'exe', data: 'x' },
      { type: 'export', view: '../../etc', format: 'csv', data: 'x' },
      { type: 'export', view: 'focus', format: 'csv', data: '' },
      { type: 'export', view: 'focus', format: 'csv', data: 'x'.repeat(32 * 2 ** 20 + 1) },
      { type: 'export', view: 'focus', format: 'png', data: 'data:image/png;base64,iVBOR' },
      { type: 'export', view: 'focus', format: 'csv', data: 3 },
      { type: 'export', view: 'focus', format: 'csv', data: 'x', path: '/tmp/x' },
      { type: 'runProbe', depth: 1 },
      { type: 'setComparison', on: 1 },
    ];
    for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m).slice(0, 100));
  });

  it('rejects malformed, oversized and unknown messages', () => {
    const bad: unknown[] = [
      null,
      'ready',
      42,
      [],
      {},
      { type: 'nope' },
      { type: 'ready', extra: 1 },
      { type: 'selectToken' },
      { type: 'selectToken', position: -1 },
      { type: 'selectToken', position: 1.5 },
      { type: 'selectToken', position: '3' },
      { type: 'selectToken', position: 1e12 },
      { type: 'selectHead', head: { layer: 0 } },
      { type: 'selectHead', head: { layer: 0, head: 'max' } },
      { type: 'selectHead', head: { layer: 0, head: 1, x: 1 } },
      { type: 'setOverlay', on: 'yes' },
      { type: 'revealToken', position: 1, html: '<script>' },
    ];
    for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));
  });

  it('validates restored webview state', () => {
    assert.ok(isWebviewState({ uri: 'file:///a', position: 3, head: { layer: 0, head: 'mean' }, overlay: true }));
    assert.ok(!isWebviewState({ uri: 'file:///a', position: -3, head: { layer: 0, head: 'mean' }, overlay: true }));
    assert.ok(isWebviewState({ uri: 'file:///a', position: 3, head: { layer: 0, head: 'mean' }, overlay: true, view: 'focus' }));
    assert.ok(!isWebviewState({ uri: 'file:///a', position: 3, head: { layer: 0, head: 'mean' }, overlay: true, view: 'evil' }));
  });
});

describe('token text helpers', () => {
  it('gives lines for LF, CRLF and lone CR line ends', () => {
    const text = 'a\nb\r\nc\rd';
    const starts = Int32Array.from([0, 1, 2, 3, 5, 6, 7]);
    const ends = Int32Array.from([1, 2, 3, 5, 6, 7, 8]);
    const infos = tokenInfos(text, { starts, ends });
    assert.deepEqual(
      infos.map((t) => t.line),
      [0, 0, 1, 1, 2, 2, 3],
    );
    assert.equal(infos[3].text, '\r\n');
  });

  it('finds the token at an offset, skipping empty tokens inside a character', () => {
    const ranges = { starts: Int32Array.from([0, 2, 4, 4, 6]), ends: Int32Array.from([2, 4, 4, 6, 7]) };
    assert.equal(tokenAtOffset(ranges, 0), 0);
    assert.equal(tokenAtOffset(ranges, 3), 1);
    assert.equal(tokenAtOffset(ranges, 4), 3);
    assert.equal(tokenAtOffset(ranges, 6), 4);
    assert.equal(tokenAtOffset(ranges, 99), -1);
  });
});
