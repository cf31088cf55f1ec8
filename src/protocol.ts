/**
 * The one protocol between the extension host and the webview. Both sides import this module, and nothing
 * else crosses the boundary. The host pushes state (document, progress, attention for the selected token);
 * the webview sends intents (select a token, a head, the overlay). Every message the host receives is
 * untrusted and goes through `parseWebviewMessage`, which returns undefined for anything malformed.
 */

export type Normaliser = 'softmax' | 'ssmax';

/** A layer and a head, or the mean over the layer's heads. */
export interface HeadChoice {
  layer: number;
  head: number | 'mean';
}

export interface TokenInfo {
  /** The token's text as it appears in the document (may be '' for a token inside a multi-byte character). */
  text: string;
  /** 0-based line of the token's first character. */
  line: number;
  /** Document offsets (UTF-16 code units), end exclusive. */
  start: number;
  end: number;
}

export interface ModelInfo {
  id: string;
  displayName: string;
  /** The normaliser the model was trained with: the other view is the counterfactual. */
  normaliser: Normaliser;
  trainingContext: number;
  layers: number;
  heads: number;
  executionProvider: string;
}

export interface DocumentPayload {
  uri: string;
  fileName: string;
  version: number;
  tokens: TokenInfo[];
  /** Tokens in the whole document; more than tokens.length when the max-token cap cut it. */
  totalTokens: number;
  maxTokens: number;
}

export interface FocusStats {
  maxWeight: number;
  /** Shannon entropy in nats. */
  entropy: number;
  /** entropy / ln n: 1 = uniform over the keys. */
  normalisedEntropy: number;
}

export interface AttendedToken {
  position: number;
  text: string;
  line: number;
  softmax: number;
  ssmax: number;
}

export interface AttentionPayload {
  uri: string;
  version: number;
  /** The query token. */
  position: number;
  /** Keys seen by the query: position + 1. */
  n: number;
  head: HeadChoice;
  /** Weights over keys 0..position under each normaliser. */
  softmax: number[];
  ssmax: number[];
  stats: Record<Normaliser, FocusStats>;
  top: AttendedToken[];
}

export interface ProgressPayload {
  uri: string;
  version: number;
  analysedTokens: number;
  totalTokens: number;
  done: boolean;
  elapsedMs: number;
}

export type HostToWebview =
  | { type: 'document'; doc: DocumentPayload; model: ModelInfo }
  | { type: 'progress'; progress: ProgressPayload }
  | { type: 'attention'; attention: AttentionPayload }
  | { type: 'settings'; overlay: boolean; head: HeadChoice }
  | { type: 'message'; level: 'info' | 'error'; text: string };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'selectToken'; position: number }
  | { type: 'revealToken'; position: number }
  | { type: 'selectHead'; head: HeadChoice }
  | { type: 'setOverlay'; on: boolean };

/** What the webview keeps with `setState`, so a reloaded window restores the panel. */
export interface WebviewState {
  uri: string;
  position: number;
  head: HeadChoice;
  overlay: boolean;
}

const MAX_INDEX = 10_000_000;

function isIndex(v: unknown, max = MAX_INDEX): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
}

export function isHeadChoice(v: unknown): v is HeadChoice {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return isIndex(o.layer, 1024) && (o.head === 'mean' || isIndex(o.head, 1024)) && Object.keys(o).length === 2;
}

/** Validates a message from the webview; undefined means reject (and log) it. */
export function parseWebviewMessage(raw: unknown): WebviewToHost | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const m = raw as Record<string, unknown>;
  const keys = Object.keys(m).length;
  switch (m.type) {
    case 'ready':
      return keys === 1 ? { type: 'ready' } : undefined;
    case 'selectToken':
    case 'revealToken':
      return keys === 2 && isIndex(m.position) ? { type: m.type, position: m.position } : undefined;
    case 'selectHead':
      return keys === 2 && isHeadChoice(m.head) ? { type: 'selectHead', head: { layer: m.head.layer, head: m.head.head } } : undefined;
    case 'setOverlay':
      return keys === 2 && typeof m.on === 'boolean' ? { type: 'setOverlay', on: m.on } : undefined;
    default:
      return undefined;
  }
}

export function isWebviewState(v: unknown): v is WebviewState {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.uri === 'string' && isIndex(o.position) && isHeadChoice(o.head) && typeof o.overlay === 'boolean';
}

export function headLabel(h: HeadChoice): string {
  return `L${h.layer} ${h.head === 'mean' ? 'mean' : `H${h.head}`}`;
}
