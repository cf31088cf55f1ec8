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
  /** The model's own normaliser (what it was trained with, or for a retrofit what it now runs): the other view is
   * the counterfactual. */
  normaliser: Normaliser;
  /** One line: what this model is (e.g. "softmax-trained weights run with SSMax, no training"). */
  summary: string;
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
  /** Attention mass by distance from the query, both views. */
  distance: DistanceProfile;
}

/**
 * Attention mass by query-key distance in log-spaced buckets: bucket b holds keys at distance
 * [edges[b], edges[b+1]) from the query (distance 0 is the query token itself). edges = 0, 1, 2, 4, 8, ... and the
 * last edge is n (so every key is in exactly one bucket); each view's masses sum to 1.
 */
export interface DistanceProfile {
  edges: number[];
  softmax: number[];
  ssmax: number[];
}

/** Cells of the model view's strips: this many equal slices of keys 0..position. */
export const STRIP_BINS = 64;

/** One cell of the model view: where one layer × head looks from the selected token, and how focused it is. */
export interface HeadCell {
  layer: number;
  head: number;
  stats: Record<Normaliser, FocusStats>;
  /**
   * Attention mass in STRIP_BINS equal slices of keys 0..position, per view (each sums to 1). With fewer keys than
   * bins, one slice per key.
   */
  strip: Record<Normaliser, number[]>;
  /** The 3 most attended keys under the model's own view, with both weights. */
  top: { position: number; softmax: number; ssmax: number }[];
  /** Attention on the first `sinkTokens` keys (the attention sink, StreamingLLM arXiv 2309.17453), per view. */
  sink: Record<Normaliser, number>;
  sinkTokens: number;
}

/** The model view for the selected token: every layer × head, layer-major (cells[layer * heads + head]). */
export interface HeadsPayload {
  uri: string;
  version: number;
  position: number;
  n: number;
  cells: HeadCell[];
}

/**
 * Focus against context length for one head (or a layer's mean): the paper's Figure 1 on the user's document.
 * Query positions 0..analysedTokens-1 are grouped in up to FOCUS_CURVE_POINTS bins, log-spaced in n; each point is
 * the mean over its bin. Computed from the per-position statistics the analysis keeps, so it covers the whole file.
 */
export interface FocusCurvePayload {
  uri: string;
  version: number;
  head: HeadChoice;
  trainingContext: number;
  analysedTokens: number;
  /** The mean n (keys seen) of each bin, ascending. */
  n: number[];
  maxWeight: Record<Normaliser, number[]>;
  /** Entropy ÷ ln n (1 = uniform); 0 at n = 1. */
  normalisedEntropy: Record<Normaliser, number[]>;
  /** Each bin's interquartile range over its queries (the band around the mean). */
  quartiles: {
    maxWeight: Record<Normaliser, { q1: number[]; q3: number[] }>;
    normalisedEntropy: Record<Normaliser, { q1: number[]; q3: number[] }>;
  };
}

export const FOCUS_CURVE_POINTS = 256;

/** One model's answer at one depth of the needle probe. */
export interface ProbeModelResult {
  modelId: string;
  displayName: string;
  normaliser: Normaliser;
  /** The model's greedy continuation after the question (a few tokens). */
  prediction: string;
  /** Whether the prediction starts with the planted value. */
  correct: boolean;
  /** Weight the last question token puts on the value's tokens: the head with the most (own view), both views. */
  best: { layer: number; head: number; softmax: number; ssmax: number };
  /** The same weight averaged over every layer × head. */
  mean: { softmax: number; ssmax: number };
}

export interface ProbeDepthResult {
  /** 0 = the needle at the start of the copy, 1 = just before the question. */
  depth: number;
  /** Tokens in the probed copy (the needle and the question included). */
  contextTokens: number;
  /** Token position of the value's first token, and of the query (last question token). */
  needlePosition: number;
  queryPosition: number;
  models: ProbeModelResult[];
}

/** The needle probe: a key-value line planted at several depths of a copy of the document (never the document). */
export interface ProbePayload {
  fileName: string;
  /** The planted line, e.g. "PASSKEY = 48151". */
  needle: string;
  /** The text appended at the end, e.g. "\nThe PASSKEY is". */
  question: string;
  expected: string;
  trainingContext: number;
  depths: ProbeDepthResult[];
  completedRuns: number;
  totalRuns: number;
  done: boolean;
  /** Set when the probe failed or was cancelled. */
  error?: string;
}

/** The comparison model’s view of the same token, for side-by-side comparison. */
export interface ComparisonPayload {
  model: ModelInfo;
  analysedTokens: number;
  totalTokens: number;
  /** Undefined until the other model has analysed the selected position. */
  attention?: AttentionPayload;
}

export type ExportFormat = 'png' | 'svg' | 'csv' | 'json';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['png', 'svg', 'csv', 'json'];
/** The views' ids: the tabs of the panel, and the names exports are saved under. */
export type ViewId = 'tokens' | 'heads' | 'focus' | 'distance' | 'probe' | 'compare';
export const VIEW_IDS: readonly ViewId[] = ['tokens', 'heads', 'focus', 'distance', 'probe', 'compare'];
/** Export payloads bigger than this are rejected (PNG is base64). */
export const MAX_EXPORT_CHARS = 32 * 2 ** 20;

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
  | { type: 'settings'; overlay: boolean; head: HeadChoice; comparison: boolean }
  | { type: 'heads'; heads: HeadsPayload }
  | { type: 'focusCurve'; curve: FocusCurvePayload }
  | { type: 'probe'; probe: ProbePayload }
  /** null: comparison is off. */
  | { type: 'comparison'; comparison: ComparisonPayload | null }
  | { type: 'message'; level: 'info' | 'error'; text: string };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'selectToken'; position: number }
  | { type: 'revealToken'; position: number }
  | { type: 'selectHead'; head: HeadChoice }
  | { type: 'setOverlay'; on: boolean }
  /** Show the comparison model beside this one (the host analyses the document with it too). */
  | { type: 'setComparison'; on: boolean }
  /** Run the needle probe (the same as the "Probe Key Retrieval" command). */
  | { type: 'runProbe' }
  /** Save a view: the host asks where with a save dialog. PNG data is base64 without a data: prefix; the rest text. */
  | { type: 'export'; view: ViewId; format: ExportFormat; data: string };

/** What the webview keeps with `setState`, so a reloaded window restores the panel. */
export interface WebviewState {
  uri: string;
  position: number;
  head: HeadChoice;
  overlay: boolean;
  /** The view tab that was open (optional: states saved before tabs existed have none). */
  view?: ViewId;
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
    case 'setComparison':
      return keys === 2 && typeof m.on === 'boolean' ? { type: m.type, on: m.on } : undefined;
    case 'runProbe':
      return keys === 1 ? { type: 'runProbe' } : undefined;
    case 'export': {
      const ok =
        keys === 4 &&
        VIEW_IDS.includes(m.view as ViewId) &&
        EXPORT_FORMATS.includes(m.format as ExportFormat) &&
        typeof m.data === 'string' &&
        m.data.length > 0 &&
        m.data.length <= MAX_EXPORT_CHARS &&
        (m.format !== 'png' || /^[A-Za-z0-9+/]+={0,2}$/.test(m.data));
      return ok ? { type: 'export', view: m.view as ViewId, format: m.format as ExportFormat, data: m.data as string } : undefined;
    }
    default:
      return undefined;
  }
}

export function isWebviewState(v: unknown): v is WebviewState {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.uri === 'string' &&
    isIndex(o.position) &&
    isHeadChoice(o.head) &&
    typeof o.overlay === 'boolean' &&
    (o.view === undefined || VIEW_IDS.includes(o.view as ViewId))
  );
}

export function headLabel(h: HeadChoice): string {
  return `L${h.layer} ${h.head === 'mean' ? 'mean' : `H${h.head}`}`;
}
