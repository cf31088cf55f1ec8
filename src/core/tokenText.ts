/**
 * Host-side helpers over a document's tokens (ids and UTF-16 ranges): their text and line, and the token at an
 * offset. Pure functions, shared by the panel, the hover, the decorations and the CLI.
 */
import type { TokenInfo } from './domain';

export interface TokenRanges {
  starts: Int32Array;
  ends: Int32Array;
}

/** Text and 0-based line of each token, in one pass over the text. */
export function tokenInfos(text: string, tokens: TokenRanges): TokenInfo[] {
  const out = new Array<TokenInfo>(tokens.starts.length);
  let line = 0;
  let scanned = 0;
  for (let i = 0; i < tokens.starts.length; i++) {
    const start = tokens.starts[i];
    const end = tokens.ends[i];
    for (; scanned < start; scanned++) {
      const c = text.charCodeAt(scanned);
      // \r\n counts once; a lone \r is a line end too (as in VS Code)
      if (c === 10 || (c === 13 && text.charCodeAt(scanned + 1) !== 10)) line++;
    }
    out[i] = { text: text.slice(start, end), line, start, end };
  }
  return out;
}

/** Index of the token whose range contains `offset` (a token ending at offset counts when no later one starts there). */
export function tokenAtOffset(tokens: TokenRanges, offset: number): number {
  const { starts, ends } = tokens;
  if (starts.length === 0) return -1;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  // skip empty tokens (inside a multi-byte character) back to the one that holds the character
  while (lo > 0 && starts[lo] === ends[lo]) lo--;
  return offset > ends[starts.length - 1] ? -1 : lo;
}

/** A short, single-line label for a token (whitespace made visible). */
export function tokenLabel(text: string): string {
  const shown = text
    .replace(/\r\n/g, '↵')
    .replace(/[\n\r]/g, '↵')
    .replace(/\t/g, '→')
    .replace(/ /g, '·');
  return shown.length > 24 ? `${shown.slice(0, 23)}…` : shown || '∅';
}
