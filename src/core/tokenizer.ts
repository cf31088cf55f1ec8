/**
 * Byte-level BPE tokenizer, the TypeScript twin of training/tokenizer.py: same pre-tokenising regex, same merges,
 * same ids (a parity test checks it on the pipeline's fixtures). It also returns each token's exact range in the
 * document in UTF-16 code units, which is what VS Code positions are made of.
 *
 * Offsets rule: a character belongs to the token that holds its first UTF-8 byte. Token ranges therefore tile the
 * text exactly; a token made only of continuation bytes of a character has an empty range. Lone surrogates (which
 * JavaScript strings may hold and UTF-8 cannot) are encoded as U+FFFD, like TextEncoder does, and keep their range.
 */

export interface TokenizerSpec {
  format: 'byte-bpe-v1';
  pattern: string;
  merges: [number, number][];
  eot_id: number;
  vocab_size: number;
}

/** What the model core needs of a tokenizer: ours (below) or a Hugging Face tokenizer.json (hfTokenizer.ts). */
export interface Tokenizer {
  readonly eotId: number;
  readonly vocabSize: number;
  encode(text: string, maxTokens?: number): Encoding;
  decode(ids: ArrayLike<number>): string;
  decodeToken(id: number): string;
}

export interface Encoding {
  ids: Int32Array;
  /** UTF-16 offsets into the text, end exclusive; ranges tile the text. */
  starts: Int32Array;
  ends: Int32Array;
}

const MAX_CACHE = 50_000;

export class BpeTokenizer implements Tokenizer {
  readonly eotId: number;
  readonly vocabSize: number;
  private readonly pattern: RegExp;
  private readonly ranks = new Map<number, number>();
  private readonly tokenBytes: Uint8Array[] = [];
  private readonly cache = new Map<string, Int32Array>();
  private readonly utf8 = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  constructor(spec: TokenizerSpec) {
    if (spec.format !== 'byte-bpe-v1' || !Array.isArray(spec.merges) || typeof spec.pattern !== 'string') {
      throw new Error('not a byte-bpe-v1 tokenizer file');
    }
    // `u`: match code points, as Python's `re` does on str.
    this.pattern = new RegExp(spec.pattern, 'gu');
    for (let i = 0; i < 256; i++) this.tokenBytes.push(Uint8Array.of(i));
    spec.merges.forEach(([a, b], rank) => {
      if (!Number.isInteger(a) || !Number.isInteger(b) || a >= 256 + rank || b >= 256 + rank) {
        throw new Error(`tokenizer merge ${rank} refers to an unknown id`);
      }
      this.ranks.set(a * 65536 + b, rank);
      const ab = new Uint8Array(this.tokenBytes[a].length + this.tokenBytes[b].length);
      ab.set(this.tokenBytes[a]);
      ab.set(this.tokenBytes[b], this.tokenBytes[a].length);
      this.tokenBytes.push(ab);
    });
    this.eotId = spec.eot_id;
    this.vocabSize = spec.vocab_size;
  }

  static parse(json: string): BpeTokenizer {
    let spec: unknown;
    try {
      spec = JSON.parse(json);
    } catch (e) {
      throw new Error(`tokenizer file is not valid JSON (${(e as Error).message})`, { cause: e });
    }
    return new BpeTokenizer(spec as TokenizerSpec);
  }

  /** Ids only (what the Python tokenizer returns). */
  encodeIds(text: string): number[] {
    return Array.from(this.encode(text).ids);
  }

  encode(text: string, maxTokens = Infinity): Encoding {
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    this.pattern.lastIndex = 0;
    for (const match of text.matchAll(this.pattern)) {
      if (ids.length >= maxTokens) break;
      const chunk = match[0];
      const chunkStart = match.index ?? 0;
      const pieceIds = this.bpe(chunk);
      // byte boundary -> UTF-16 offset of the first character whose lead byte is at or after it
      const boundaryOffset = this.byteBoundaries(chunk, chunkStart);
      let byte = 0;
      for (const id of pieceIds) {
        if (ids.length >= maxTokens) break;
        const len = this.tokenBytes[id].length;
        ids.push(id);
        starts.push(boundaryOffset[byte]);
        ends.push(boundaryOffset[byte + len]);
        byte += len;
      }
    }
    return { ids: Int32Array.from(ids), starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
  }

  /** Text of one token id, for display (partial UTF-8 sequences become U+FFFD). */
  decodeToken(id: number): string {
    return this.decoder.decode(this.tokenBytes[id] ?? new Uint8Array());
  }

  /** Text of a sequence of ids (bytes joined before decoding, so characters split across tokens come out whole). */
  decode(ids: ArrayLike<number>): string {
    const parts = Array.from(ids, (id) => this.tokenBytes[id] ?? new Uint8Array());
    const bytes = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of parts) {
      bytes.set(b, at);
      at += b.length;
    }
    return this.decoder.decode(bytes);
  }

  private byteBoundaries(chunk: string, chunkStart: number): Int32Array {
    const bytes = this.utf8.encode(chunk).length;
    const out = new Int32Array(bytes + 1);
    let b = 0;
    let i = 0;
    while (i < chunk.length) {
      const cp = chunk.codePointAt(i) ?? 0;
      const units = cp > 0xffff ? 2 : 1;
      const isLone = cp >= 0xd800 && cp <= 0xdfff;
      const n = isLone ? 3 : cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      out[b] = chunkStart + i;
      for (let k = 1; k < n; k++) out[b + k] = chunkStart + i + units; // continuation bytes: the next character
      b += n;
      i += units;
    }
    out[bytes] = chunkStart + chunk.length;
    return out;
  }

  private bpe(chunk: string): Int32Array {
    const hit = this.cache.get(chunk);
    if (hit) return hit;
    let ids = Array.from(this.utf8.encode(chunk));
    while (ids.length > 1) {
      let bestRank = Infinity;
      let bestPair = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(ids[i] * 65536 + ids[i + 1]);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          bestPair = ids[i] * 65536 + ids[i + 1];
        }
      }
      if (bestPair < 0) break;
      const a = Math.floor(bestPair / 65536);
      const b = bestPair % 65536;
      const merged: number[] = [];
      for (let i = 0; i < ids.length; i++) {
        if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
          merged.push(256 + bestRank);
          i++;
        } else {
          merged.push(ids[i]);
        }
      }
      ids = merged;
    }
    const result = Int32Array.from(ids);
    if (this.cache.size >= MAX_CACHE) this.cache.clear();
    this.cache.set(chunk, result);
    return result;
  }
}
