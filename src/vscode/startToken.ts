/**
 * Which token an inspection starts on. Pure (no `vscode`), so that it is unit-tested in plain Node.
 */

/** Below this many keys a query's attention says little (every weight is large): Inspect starts elsewhere. */
export const MIN_TELLING_KEYS = 64;

/**
 * The first query of an inspection: the token at the cursor, unless it sees fewer than MIN_TELLING_KEYS keys (a
 * file just opened has the cursor on token 0, where n = 1 and every weight is 1); then the last token in view, or
 * the middle of the document when that is no better.
 */
export function startToken(cursor: number, length: number, lastVisible: number): number {
  if (cursor + 1 >= MIN_TELLING_KEYS || length < MIN_TELLING_KEYS) return cursor;
  if (lastVisible + 1 >= MIN_TELLING_KEYS && lastVisible < length) return lastVisible;
  return Math.max(cursor, Math.floor(length / 2));
}
