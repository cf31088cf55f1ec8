import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { BpeTokenizer } from '../../src/core/tokenizer';
import { fixture, modelsDir } from './paths';

const tokenizer = BpeTokenizer.parse(readFileSync(path.join(modelsDir, 'tokenizer.json'), 'utf8'));

function assertTiles(text: string) {
  const { ids, starts, ends } = tokenizer.encode(text);
  assert.equal(ids.length, starts.length);
  let expected = 0;
  for (let i = 0; i < ids.length; i++) {
    assert.equal(starts[i], expected, `token ${i} starts where the previous ended`);
    assert.ok(ends[i] >= starts[i]);
    expected = ends[i];
  }
  assert.equal(expected, text.length, 'tokens cover the whole text');
  // a non-empty range never splits a surrogate pair
  for (let i = 0; i < ids.length; i++) {
    if (ends[i] > starts[i]) {
      const first = text.charCodeAt(starts[i]);
      assert.ok(
        !(first >= 0xdc00 && first <= 0xdfff && starts[i] > 0 && text.charCodeAt(starts[i] - 1) >= 0xd800 && text.charCodeAt(starts[i] - 1) <= 0xdbff),
        'range starts inside a surrogate pair',
      );
    }
  }
}

describe('tokenizer', () => {
  const cases = JSON.parse(readFileSync(fixture('tokenizer-parity.json'), 'utf8')) as { name: string; text: string; ids: number[] }[];

  for (const c of cases) {
    it(`matches the training pipeline's ids: ${c.name}`, () => {
      assert.deepEqual(tokenizer.encodeIds(c.text), c.ids);
    });
  }

  it('covers code, prose, CRLF, tabs, emoji, CJK and combining marks in its fixtures', () => {
    const names = new Set(cases.map((c) => c.name));
    for (const n of ['python', 'typescript', 'prose', 'crlf', 'tabs', 'emoji', 'cjk', 'combining']) assert.ok(names.has(n), n);
  });

  it('gives token ranges that tile the text exactly, whatever the text (generated strings)', () => {
    const alphabet = [
      'a',
      'Z',
      '_',
      ' ',
      '  ',
      '\t',
      '\n',
      '\r\n',
      '\r',
      '7',
      '{',
      '}',
      '(',
      "'s",
      'é',
      'e\u0301',
      '注',
      '😀',
      '👨‍👩‍👧',
      '\u200d',
      'ש',
      'م',
      '\ud800',
      '\udfff',
      '\u0000',
      '\ufeff',
    ];
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let t = 0; t < 300; t++) {
      const len = Math.floor(rand() * 40);
      let s = '';
      for (let i = 0; i < len; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
      assertTiles(s);
    }
  });

  it('decodes its tokens back to the text for well-formed strings', () => {
    for (const c of cases) {
      const enc = tokenizer.encode(c.text);
      const bytes = Array.from(enc.ids).map((id) => tokenizer.decodeToken(id));
      if (c.name !== 'emoji' && c.name !== 'cjk' && c.name !== 'combining' && c.name !== 'rtl') assert.equal(bytes.join(''), c.text);
      // every token's range text, concatenated, is the text
      let joined = '';
      for (let i = 0; i < enc.ids.length; i++) joined += c.text.slice(enc.starts[i], enc.ends[i]);
      assert.equal(joined, c.text);
    }
  });

  it('stops at the token cap', () => {
    const text = 'word '.repeat(1000);
    assert.equal(tokenizer.encode(text, 100).ids.length, 100);
  });

  it('maps CRLF line ends to exact ranges', () => {
    const text = 'a = 1\r\nb = 2\r\n';
    const { starts, ends } = tokenizer.encode(text);
    const pieces = Array.from(starts, (s, i) => text.slice(s, ends[i]));
    assert.equal(pieces.join(''), text);
    // the '\r' and the '\n' of each line end are covered by tokens at their exact offsets
    for (const at of [5, 6, 12, 13])
      assert.ok(
        Array.from(starts).some((s, i) => s <= at && at < ends[i]),
        `offset ${at} covered`,
      );
  });

  it('rejects a corrupt tokenizer file with a clear message', () => {
    assert.throws(() => BpeTokenizer.parse('{"format": "byte-bpe-v1"'), /not valid JSON/);
    assert.throws(() => BpeTokenizer.parse('{"format": "other"}'), /not a byte-bpe-v1/);
  });
});
