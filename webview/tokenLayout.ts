/**
 * Splits a document's tokens into visual lines, so the token view can render only the lines in view.
 *
 * A byte-level BPE token may contain newlines ("\n    " is one token in code): its text before the first newline
 * stays on the line where it starts (the token's main piece, span.tok), and what follows each newline starts a
 * new line (a continuation piece, span.tok-cont, drawn with the same weight). Newline characters themselves are
 * not rendered: every line is its own row. Pure data, no DOM, so it is cheap to build for 32k tokens.
 */
import type { TokenInfo } from '../src/protocol';

export interface Piece {
  /** The token this piece belongs to. */
  position: number;
  text: string;
  /** false for the token's first piece (span.tok), true for the text after one of its newlines (span.tok-cont). */
  continuation: boolean;
  /** Column (UTF-16 code units from the line start) of the piece's first character. */
  column: number;
}

export interface TokenLayout {
  /** lines[i]: the pieces of visual line i, left to right (empty for a blank line). */
  readonly lines: readonly (readonly Piece[])[];
  /** Line of each token's main piece. */
  readonly lineOf: Int32Array;
  /** Column of each token's main piece. */
  readonly columnOf: Int32Array;
  /** Widest line in columns, tabs expanded (sizes the horizontal scroll range). */
  readonly maxColumns: number;
}

export function layoutTokens(tokens: readonly TokenInfo[], tabSize = 4): TokenLayout {
  const lines: Piece[][] = [[]];
  const lineOf = new Int32Array(tokens.length);
  const columnOf = new Int32Array(tokens.length);
  let column = 0;
  let visualColumn = 0;
  let maxColumns = 0;
  for (let position = 0; position < tokens.length; position++) {
    const segments = tokens[position].text.split('\n');
    for (let k = 0; k < segments.length; k++) {
      if (k > 0) {
        lines.push([]);
        column = 0;
        visualColumn = 0;
      }
      // A "\r\n" line break leaves a "\r" at the end of the segment: it is part of the break, not visible text.
      const text = k < segments.length - 1 ? segments[k].replace(/\r$/, '') : segments[k];
      if (k > 0 && text === '') continue;
      const line = lines[lines.length - 1];
      if (k === 0) {
        lineOf[position] = lines.length - 1;
        columnOf[position] = column;
      }
      line.push({ position, text, continuation: k > 0, column });
      column += text.length;
      visualColumn += visualWidth(text, visualColumn, tabSize);
      if (visualColumn > maxColumns) maxColumns = visualColumn;
    }
  }
  return { lines, lineOf, columnOf, maxColumns };
}

function visualWidth(text: string, startColumn: number, tabSize: number): number {
  if (!text.includes('\t')) return text.length;
  let col = startColumn;
  for (const ch of text) col = ch === '\t' ? (Math.floor(col / tabSize) + 1) * tabSize : col + 1;
  return col - startColumn;
}

/**
 * The token to select when moving from `position` one line up (direction -1) or down (+1): the token under the
 * same column on the nearest line in that direction that has a token other than this one, or that line's last
 * token when it is shorter. Returns `position` when there is no such line.
 */
export function tokenOnAdjacentLine(layout: TokenLayout, position: number, direction: -1 | 1): number {
  const column = layout.columnOf[position];
  for (let line = layout.lineOf[position] + direction; line >= 0 && line < layout.lines.length; line += direction) {
    const pieces = layout.lines[line];
    let found: number | undefined;
    for (const piece of pieces) {
      if (piece.position === position) continue;
      found = piece.position;
      if (piece.column + Math.max(1, piece.text.length) > column) break;
    }
    if (found !== undefined) return found;
  }
  return position;
}
