/**
 * Hugging Face `tokenizer.json` (BPE models) with exact UTF-16 offsets, for models users add.
 *
 * Two families of file, as the `tokenizers` library runs them:
 *  - byte-level BPE (GPT-2, Llama 3, Qwen2/2.5/3, SmolLM, Pythia): added tokens split out first, then the
 *    normalizer (none or NFC), the pre-tokenizer (ByteLevel with GPT-2's regex, or Split(regex) + ByteLevel), and
 *    BPE over GPT-2's byte alphabet per piece (`ignore_merges`: a piece that is a whole vocabulary entry is kept);
 *  - SentencePiece-style BPE (Llama 2, TinyLlama, Mistral): `▁` for spaces (a Prepend + Replace normalizer, or a
 *    Metaspace pre-tokenizer), BPE over characters, characters missing from the vocabulary as `<0xNN>` byte tokens.
 * Ids equal `@huggingface/tokenizers` (the parity tests run both on real files from npm). Why our own code at run time:
 * that library returns ids only, and every feature here needs each token's range in the document.
 *
 * Offsets follow the rule of the shipped tokenizer: a character belongs to the token that holds its first byte, so
 * the ranges tile the text; tokens made of later bytes of a character, and added-at-start tokens (BOS), are empty.
 */
import type { Encoding, Tokenizer } from './tokenizer';

/** GPT-2's reversible map from bytes to printable characters (the alphabet byte-level vocabularies are written in). */
function byteAlphabet(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
  return out;
}
const BYTE_CHAR = byteAlphabet();

const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/**
 * A `tokenizers` (Rust regex / Oniguruma) pattern as a JavaScript RegExp. The one construct these files use that
 * Node 20's V8 lacks is a scoped case-insensitive group of literals, `(?i:'s|'t|…)`: each letter becomes a class.
 */
export function jsPattern(pattern: string): RegExp {
  const js = pattern.replace(
    /\(\?i:((?:[^()\\]|\\.)*)\)/g,
    (_, body: string) => `(?:${body.replace(/[a-zA-Z]/g, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`)})`,
  );
  return new RegExp(js, 'gu');
}

export class TokenizerFileError extends Error {}

interface AddedToken {
  id: number;
  content: string;
  lstrip: boolean;
  rstrip: boolean;
  special: boolean;
}

type Mode = { kind: 'byte-level'; split: RegExp; addPrefixSpace: boolean } | { kind: 'metaspace'; prepend: boolean };

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A segment of the text between added tokens, normalised, with each normalised UTF-16 unit's original offset. */
interface Normalised {
  text: string;
  /** origin[i]: offset in the document of normalised unit i; origin[text.length]: the segment's end. */
  origin: Int32Array;
}

const MAX_CACHE = 50_000;

/** Tokens of one pre-token and the bytes of it each covers. */
interface Pieces {
  ids: Int32Array;
  lens: Int32Array;
}

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eotId: number;
  /** Prepended to every encoding when the tokenizer's post-processor or config says so (Llama's `<s>`). */
  readonly bosId: number | undefined;
  private readonly vocab = new Map<string, number>();
  private readonly idToToken: string[] = [];
  /** (left id, right id) → [rank, merged id]. */
  private readonly merges = new Map<number, [number, number]>();
  private readonly added: AddedToken[];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedPattern: RegExp | undefined;
  private readonly mode: Mode;
  private readonly nfc: boolean;
  private readonly ignoreMerges: boolean;
  private readonly byteFallback: boolean;
  private readonly unkId: number | undefined;
  private readonly byteTokens: (number | undefined)[] = [];
  private readonly cache = new Map<string, Pieces>();
  private readonly utf8 = new TextEncoder();

  constructor(spec: unknown, config: Json = {}) {
    const fail: (what: string) => never = (what) => {
      throw new TokenizerFileError(what);
    };
    if (!isObj(spec) || !isObj(spec.model)) fail('not a tokenizer.json (no "model")');
    const model = spec.model;
    if (model.type !== 'BPE' && !(model.type === undefined && isObj(model.vocab) && Array.isArray(model.merges))) {
      fail(`the tokenizer model is ${String(model.type)}; only BPE tokenizers are supported (WordPiece and Unigram are not)`);
    }
    if (!isObj(model.vocab) || !Array.isArray(model.merges)) fail('the BPE model has no vocab or merges');
    for (const [token, id] of Object.entries(model.vocab)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) fail(`vocabulary entry ${JSON.stringify(token)} has no integer id`);
      this.vocab.set(token, id);
      this.idToToken[id] = token;
    }
    const file = spec;
    this.added = (Array.isArray(file.added_tokens) ? file.added_tokens : []).filter(isObj).map((t) => ({
      id: Number(t.id),
      content: String(t.content),
      lstrip: t.lstrip === true,
      rstrip: t.rstrip === true,
      special: t.special === true,
    }));
    for (const t of this.added) {
      if (!Number.isInteger(t.id) || t.id < 0 || !t.content) fail(`added token ${JSON.stringify(t.content)} is invalid`);
      this.addedById.set(t.id, t);
      this.idToToken[t.id] ??= t.content;
    }
    this.vocabSize = this.idToToken.length;
    (model.merges as unknown[]).forEach((m, rank) => {
      const pair = typeof m === 'string' ? splitMerge(m) : Array.isArray(m) && m.length === 2 ? (m as [string, string]) : undefined;
      if (!pair) return fail(`merge ${rank} is not a pair`);
      const a = this.vocab.get(pair[0]);
      const b = this.vocab.get(pair[1]);
      const ab = this.vocab.get(pair[0] + pair[1]);
      // a merge whose parts are not in the vocabulary can never fire (the tokenizers library skips it too)
      if (a === undefined || b === undefined || ab === undefined) return;
      const key = a * 2 ** 21 + b;
      if (!this.merges.has(key)) this.merges.set(key, [rank, ab]);
    });
    this.ignoreMerges = model.ignore_merges === true;
    this.byteFallback = model.byte_fallback === true;
    this.unkId = typeof model.unk_token === 'string' ? this.vocab.get(model.unk_token) : undefined;
    for (let b = 0; b < 256; b++) this.byteTokens.push(this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
    if (this.added.length) {
      const escaped = [...this.added].sort((x, y) => y.content.length - x.content.length).map((t) => t.content.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      this.addedPattern = new RegExp(escaped.join('|'), 'g');
    }
    const norm = describeNormalizer(file.normalizer, fail);
    this.nfc = norm.nfc;
    this.mode = describeMode(file.pre_tokenizer, norm.metaspace, fail);
    this.bosId = bosOf(file.post_processor, config, this.vocab, this.addedByContent());
    const eot = [config.eos_token, this.added.find((t) => /end.?of.?text|^<\/s>$|^<\|im_end\|>$/.test(t.content))?.content]
      .map((t) => (isObj(t) ? t.content : t))
      .find((t): t is string => typeof t === 'string' && (this.vocab.has(t) || this.addedByContent().has(t)));
    this.eotId = eot !== undefined ? (this.vocab.get(eot) ?? this.addedByContent().get(eot) ?? -1) : -1;
  }

  static parse(json: string, configJson?: string): HfTokenizer {
    let spec: unknown;
    let config: Json = {};
    try {
      spec = JSON.parse(json);
    } catch (e) {
      throw new TokenizerFileError(`tokenizer.json is not valid JSON (${(e as Error).message})`);
    }
    if (configJson) {
      try {
        const c: unknown = JSON.parse(configJson);
        if (isObj(c)) config = c;
      } catch {
        // tokenizer_config.json only adds the BOS flag; a broken one is ignored rather than refusing the model
      }
    }
    return new HfTokenizer(spec, config);
  }

  private addedByContent(): Map<string, number> {
    return new Map(this.added.map((t) => [t.content, t.id]));
  }

  encode(text: string, maxTokens = Infinity): Encoding {
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    if (this.bosId !== undefined && maxTokens > 0) {
      ids.push(this.bosId);
      starts.push(0);
      ends.push(0);
    }
    const emit = (id: number, s: number, e: number) => {
      ids.push(id);
      starts.push(s);
      ends.push(e);
    };
    let at = 0;
    const segments: [number, number, AddedToken | undefined][] = [];
    if (this.addedPattern) {
      this.addedPattern.lastIndex = 0;
      for (const m of text.matchAll(this.addedPattern)) {
        const token = this.added.find((t) => t.content === m[0]);
        let s = m.index ?? 0;
        let e = s + m[0].length;
        if (token?.lstrip) while (s > at && /\s/.test(text[s - 1])) s--;
        if (token?.rstrip) while (e < text.length && /\s/.test(text[e])) e++;
        if (s > at) segments.push([at, s, undefined]);
        segments.push([s, e, token]);
        at = e;
      }
    }
    if (at < text.length) segments.push([at, text.length, undefined]);
    for (const [s, e, token] of segments) {
      if (ids.length >= maxTokens) break;
      if (token) emit(token.id, s, e);
      else this.encodeSegment(this.normalise(text, s, e), ids.length, maxTokens, emit);
    }
    return { ids: Int32Array.from(ids), starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
  }

  private normalise(text: string, start: number, end: number): Normalised {
    const raw = text.slice(start, end);
    if (!this.nfc || raw.normalize('NFC') === raw) {
      const origin = new Int32Array(raw.length + 1);
      for (let i = 0; i <= raw.length; i++) origin[i] = start + i;
      return { text: raw, origin };
    }
    // NFC changed something: normalise cluster by cluster (a character and the marks that follow it), so every
    // normalised unit still knows where in the document it came from
    let out = '';
    const origin: number[] = [];
    for (const m of raw.matchAll(/[\s\S][\p{M}\u1160-\u11ff]*/gu)) {
      const n = m[0].normalize('NFC');
      for (let k = 0; k < n.length; k++) origin.push(start + (m.index ?? 0));
      out += n;
    }
    origin.push(end);
    return { text: out, origin: Int32Array.from(origin) };
  }

  private encodeSegment(seg: Normalised, count: number, maxTokens: number, emit: (id: number, s: number, e: number) => void): void {
    if (this.mode.kind === 'metaspace') {
      if (!seg.text) return;
      // "▁" for every space, and one before the segment (Llama 2's legacy Prepend, Metaspace's "first"/"always")
      const prefix = this.mode.prepend ? '\u2581' : '';
      const text = prefix + seg.text.replace(/ /g, '\u2581');
      const origin = new Int32Array(text.length + 1);
      if (prefix) origin[0] = seg.origin[0];
      origin.set(seg.origin, prefix.length);
      this.emitPiece(text, 0, text.length, origin, count, maxTokens, emit, false);
      return;
    }
    let piece = seg.text;
    const origin = seg.origin;
    const shifted = this.mode.addPrefixSpace && !piece.startsWith(' ');
    if (shifted) piece = ' ' + piece;
    const originOf = shifted ? Int32Array.from([origin[0], ...origin]) : origin;
    const split = this.mode.split;
    split.lastIndex = 0;
    let last = 0;
    const pieces: [number, number][] = [];
    for (const m of piece.matchAll(split)) {
      const s = m.index ?? 0;
      if (!m[0].length) continue;
      if (s > last) pieces.push([last, s]); // Isolated: the text between matches is a piece of its own
      pieces.push([s, s + m[0].length]);
      last = s + m[0].length;
    }
    if (last < piece.length) pieces.push([last, piece.length]);
    for (const [s, e] of pieces) {
      if (count >= maxTokens) return;
      count = this.emitPiece(piece, s, e, originOf, count, maxTokens, emit, true);
    }
  }

  /** BPE over one pre-token; returns the new token count. */
  private emitPiece(
    text: string,
    s: number,
    e: number,
    origin: Int32Array,
    count: number,
    maxTokens: number,
    emit: (id: number, s: number, e: number) => void,
    byteLevel: boolean,
  ): number {
    const chunk = text.slice(s, e);
    // byte → offset in the document of the character whose first byte it is (later bytes: the next character)
    const bytes = this.utf8.encode(chunk);
    const boundary = new Int32Array(bytes.length + 1);
    // per pre-token symbol (a byte in byte-level mode, a character otherwise): its first byte
    let b = 0;
    for (let i = 0; i < chunk.length;) {
      const cp = chunk.codePointAt(i) ?? 0;
      const units = cp > 0xffff ? 2 : 1;
      const n = cp >= 0xd800 && cp <= 0xdfff ? 3 : cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      boundary[b] = origin[s + i];
      for (let k = 1; k < n; k++) boundary[b + k] = origin[s + i + units];
      b += n;
      i += units;
    }
    boundary[bytes.length] = origin[e];
    const { ids, lens } = byteLevel ? this.bpeBytes(chunk, bytes) : this.bpeChars(chunk);
    let byte = 0;
    for (let k = 0; k < ids.length; k++) {
      if (count >= maxTokens) break;
      emit(ids[k], boundary[byte], boundary[byte + lens[k]]);
      byte += lens[k];
      count++;
    }
    return count;
  }

  private bpeBytes(chunk: string, bytes: Uint8Array): Pieces {
    const hit = this.cache.get(chunk);
    if (hit) return hit;
    let mapped = '';
    for (const x of bytes) mapped += BYTE_CHAR[x];
    const whole = this.ignoreMerges ? this.vocab.get(mapped) : undefined;
    let out: Pieces;
    if (whole !== undefined) {
      out = { ids: Int32Array.of(whole), lens: Int32Array.of(bytes.length) };
    } else {
      const symbols: number[] = [];
      for (const c of mapped) symbols.push(this.vocab.get(c) ?? this.unkId ?? 0);
      out = this.merge(symbols, new Array<number>(symbols.length).fill(1));
    }
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(chunk, out);
    return out;
  }

  private bpeChars(chunk: string): Pieces {
    const symbols: number[] = [];
    const lens: number[] = [];
    let unk = false;
    for (const c of chunk) {
      const cb = this.utf8.encode(c);
      const id = this.vocab.get(c);
      if (id !== undefined) {
        symbols.push(id);
        lens.push(cb.length);
        unk = false;
        continue;
      }
      const fallback = this.byteFallback ? Array.from(cb, (x) => this.byteTokens[x]) : [];
      if (fallback.length && fallback.every((x) => x !== undefined)) {
        symbols.push(...fallback);
        lens.push(...fallback.map(() => 1));
        unk = false;
      } else if (this.unkId !== undefined && unk) {
        lens[lens.length - 1] += cb.length; // fuse_unk: one unknown token for a run of unknown characters
      } else if (this.unkId !== undefined) {
        symbols.push(this.unkId);
        lens.push(cb.length);
        unk = true;
      } else if (lens.length) {
        lens[lens.length - 1] += cb.length; // nothing to emit for it: the previous token covers the character
      }
    }
    return this.merge(symbols, lens);
  }

  /**
   * Applies merges lowest rank first (ties: leftmost), as the tokenizers library does, with a heap over adjacent
   * pairs, so a long piece (SentencePiece files have no pre-tokenizer: a whole line is one piece) costs n log n.
   */
  private merge(symbols: number[], symbolLens: number[]): Pieces {
    const n = symbols.length;
    if (n < 2) return { ids: Int32Array.from(symbols), lens: Int32Array.from(symbolLens) };
    const id = Int32Array.from(symbols);
    const len = Int32Array.from(symbolLens);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new PairHeap();
    const push = (i: number) => {
      const j = next[i];
      if (j < 0) return;
      const m = this.merges.get(id[i] * 2 ** 21 + id[j]);
      if (m) heap.push(m[0], i, id[i], id[j]);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    for (;;) {
      const top = heap.pop();
      if (!top) break;
      const [, i, left, right] = top;
      const j = next[i];
      // stale: one side was merged away since this pair was queued
      if (!alive[i] || j < 0 || id[i] !== left || id[j] !== right) continue;
      const m = this.merges.get(left * 2 ** 21 + right);
      if (!m) continue;
      id[i] = m[1];
      len[i] += len[j];
      alive[j] = 0;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      if (prev[i] >= 0) push(prev[i]);
      push(i);
    }
    const ids: number[] = [];
    const lens: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]) {
      ids.push(id[i]);
      lens.push(len[i]);
    }
    return { ids: Int32Array.from(ids), lens: Int32Array.from(lens) };
  }

  decodeToken(id: number): string {
    return this.decode([id]);
  }

  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    const inverse = byteInverse();
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      const added = this.addedById.get(id);
      const token = added ? added.content : (this.idToToken[id] ?? '');
      if (added) {
        bytes.push(...this.utf8.encode(token));
      } else if (this.mode.kind === 'byte-level') {
        for (const c of token) bytes.push(inverse.get(c) ?? 0x3f);
      } else {
        const b = this.byteTokens.indexOf(id);
        if (b >= 0) bytes.push(b);
        else bytes.push(...this.utf8.encode(token.replace(/\u2581/g, ' ')));
      }
    }
    return new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes));
  }
}

let inverseMap: Map<string, number> | undefined;
function byteInverse(): Map<string, number> {
  return (inverseMap ??= new Map(BYTE_CHAR.map((c, b) => [c, b])));
}

function splitMerge(m: string): [string, string] | undefined {
  const i = m.indexOf(' ', 1);
  return i > 0 ? [m.slice(0, i), m.slice(i + 1)] : undefined;
}

function describeNormalizer(n: unknown, fail: (what: string) => never): { nfc: boolean; metaspace: boolean } {
  if (n === null || n === undefined) return { nfc: false, metaspace: false };
  if (!isObj(n)) return fail('the normalizer is not an object');
  if (n.type === 'NFC') return { nfc: true, metaspace: false };
  if (n.type === 'Sequence' && Array.isArray(n.normalizers)) {
    const parts = n.normalizers.filter(isObj);
    const types = parts.map((p) => p.type);
    // Llama 2's legacy pair: Prepend("▁") + Replace(" ", "▁")
    if (
      types.length === 2 &&
      types[0] === 'Prepend' &&
      types[1] === 'Replace' &&
      parts[0].prepend === '\u2581' &&
      isObj(parts[1].pattern) &&
      parts[1].pattern.String === ' ' &&
      parts[1].content === '\u2581'
    ) {
      return { nfc: false, metaspace: true };
    }
    if (types.every((t) => t === 'NFC')) return { nfc: true, metaspace: false };
    return fail(`the normalizer sequence ${types.join(' + ')} is not supported`);
  }
  return fail(`the normalizer ${String(n.type)} is not supported`);
}

function describeMode(p: unknown, metaspaceNormalizer: boolean, fail: (what: string) => never): Mode {
  if (metaspaceNormalizer) {
    if (p !== null && p !== undefined) fail('a tokenizer with both a Prepend normalizer and a pre-tokenizer is not supported');
    return { kind: 'metaspace', prepend: true };
  }
  if (!isObj(p)) return fail('the tokenizer has no pre-tokenizer this extension knows (byte-level BPE needs ByteLevel)');
  if (p.type === 'ByteLevel') {
    return { kind: 'byte-level', split: p.use_regex === false ? /[\s\S]+/gu : jsPattern(GPT2_PATTERN), addPrefixSpace: p.add_prefix_space === true };
  }
  if (p.type === 'Metaspace') {
    if (p.split === true) fail('a Metaspace pre-tokenizer that splits on spaces is not supported');
    return { kind: 'metaspace', prepend: p.prepend_scheme !== 'never' && p.add_prefix_space !== false };
  }
  if (p.type === 'Sequence' && Array.isArray(p.pretokenizers)) {
    const [split, byteLevel, ...rest] = p.pretokenizers.filter(isObj);
    const pattern = split && isObj(split.pattern) ? split.pattern.Regex : undefined;
    if (
      split?.type === 'Split' &&
      typeof pattern === 'string' &&
      split.behavior === 'Isolated' &&
      split.invert !== true &&
      byteLevel?.type === 'ByteLevel' &&
      byteLevel.use_regex === false &&
      rest.length === 0
    ) {
      return { kind: 'byte-level', split: jsPattern(pattern), addPrefixSpace: byteLevel.add_prefix_space === true };
    }
    return fail(
      `the pre-tokenizer sequence ${p.pretokenizers
        .filter(isObj)
        .map((x) => String(x.type))
        .join(' + ')} is not supported`,
    );
  }
  return fail(`the pre-tokenizer ${String(p.type)} is not supported`);
}

function bosOf(post: unknown, config: Json, vocab: Map<string, number>, added: Map<string, number>): number | undefined {
  const idOf = (t: unknown) => {
    const s = isObj(t) ? t.content : t;
    return typeof s === 'string' ? (added.get(s) ?? vocab.get(s)) : undefined;
  };
  if (isObj(post) && post.type === 'TemplateProcessing' && Array.isArray(post.single)) {
    const first: unknown = post.single[0];
    if (isObj(first) && isObj(first.SpecialToken)) return idOf(first.SpecialToken.id);
    return undefined;
  }
  if (config.add_bos_token === true) return idOf(config.bos_token);
  return undefined;
}

/** Min-heap of (rank, position) with the pair's ids, for BPE. */
class PairHeap {
  private readonly items: [number, number, number, number][] = [];

  push(rank: number, pos: number, left: number, right: number): void {
    const a = this.items;
    a.push([rank, pos, left, right]);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  pop(): [number, number, number, number] | undefined {
    const a = this.items;
    if (!a.length) return undefined;
    const top = a[0];
    const last = a.pop();
    if (last && a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(x: [number, number, number, number], y: [number, number, number, number]): boolean {
  return x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]);
}
