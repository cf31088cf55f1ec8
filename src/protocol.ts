/**
 * The one protocol between the extension host and the webview. Both sides import this module, and nothing
 * else crosses the boundary. The host pushes state (document, progress, attention for the selected token);
 * the webview sends intents (select a token, a head, the overlay). Every message the host receives is
 * untrusted and goes through `parseWebviewMessage`, which returns undefined for anything malformed. The domain types
 * (normalisers, heads, focus statistics, ...) live in src/core/domain.ts and are re-exported here for the webview.
 */
import {
  isHeadChoice,
  isIndex,
  type DistanceProfile,
  type FocusStats,
  type HeadCell,
  type HeadChoice,
  type ModelInfo,
  type NeedleMapCell,
  type Normaliser,
  type ProbeDepthResult,
  type TokenInfo,
} from './core/domain';

export * from './core/domain';

export interface DocumentPayload {
  uri: string;
  fileName: string;
  version: number;
  tokens: TokenInfo[];
  /** Tokens in the whole document; more than tokens.length when the max-token cap cut it. */
  totalTokens: number;
  maxTokens: number;
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
  /** Each bin's mean attention on the first `tokens` keys (the sink), over up to `samples` sampled queries. */
  sink?: { tokens: number; samples: number } & Record<Normaliser, number[]>;
}

/** Next-token loss along the document (the analysis's by-product) for the main model and, with Compare on, the other. */
export interface LossPayload {
  uri: string;
  version: number;
  trainingContext: number;
  /** First position of each slice of the strip, then the end. */
  edges: number[];
  models: {
    displayName: string;
    normaliser: Normaliser;
    /** Mean nats per token in each slice (NaN where none). */
    mean: number[];
    /** Mean per position bucket 0–N, N–4N, 4N–16N, … */
    buckets: { from: number; to: number; mean: number; count: number }[];
  }[];
}

/** The needle map: the probe over lengths × depths, each cell over several haystacks of the document (copies). */
export interface NeedleMapPayload {
  fileName: string;
  lengths: number[];
  depths: number[];
  haystacks: number;
  trainingContext: number;
  /** The cells finished so far, in the order they finish (length-major). */
  cells: NeedleMapCell[];
  completedRuns: number;
  totalRuns: number;
  done: boolean;
  error?: string;
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
export type ViewId = 'tokens' | 'heads' | 'focus' | 'distance' | 'loss' | 'probe' | 'needle' | 'compare';
export const VIEW_IDS: readonly ViewId[] = ['tokens', 'heads', 'focus', 'distance', 'loss', 'probe', 'needle', 'compare'];
/** Export payloads bigger than this are rejected (PNG is base64). */
export const MAX_EXPORT_CHARS = 32 * 2 ** 20;

export interface ProgressPayload {
  uri: string;
  version: number;
  analysedTokens: number;
  totalTokens: number;
  done: boolean;
  /** False once an analysis stopped short (cancelled, or the model process failed): not done, and not under way. */
  running: boolean;
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
  | { type: 'needleMap'; map: NeedleMapPayload }
  | { type: 'loss'; loss: LossPayload }
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
  /** Run the needle map (the same as the "Needle Map" command). */
  | { type: 'runNeedleMap' }
  /** Save a view: the host asks where with a save dialog. PNG data is base64 without a data: prefix; the rest text. */
  | { type: 'export'; view: ViewId; format: ExportFormat; data: string };

/** The panel's own layout: the views area's height (px; undefined = the default) and whether the legend is folded. */
export interface PanelLayout {
  viewsHeight?: number;
  legendFolded?: boolean;
}

/** What the webview keeps with `setState`, so a reloaded window restores the panel. */
export interface WebviewState {
  layout?: PanelLayout;
  uri: string;
  position: number;
  head: HeadChoice;
  overlay: boolean;
  /** The view tab that was open (optional: states saved before tabs existed have none). */
  view?: ViewId;
}

/** Token positions received from the webview are at most this. */
const MAX_INDEX = 10_000_000;

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
      return keys === 2 && isIndex(m.position, MAX_INDEX) ? { type: m.type, position: m.position } : undefined;
    case 'selectHead':
      return keys === 2 && isHeadChoice(m.head) ? { type: 'selectHead', head: { layer: m.head.layer, head: m.head.head } } : undefined;
    case 'setOverlay':
    case 'setComparison':
      return keys === 2 && typeof m.on === 'boolean' ? { type: m.type, on: m.on } : undefined;
    case 'runProbe':
      return keys === 1 ? { type: 'runProbe' } : undefined;
    case 'runNeedleMap':
      return keys === 1 ? { type: 'runNeedleMap' } : undefined;
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
    isIndex(o.position, MAX_INDEX) &&
    isHeadChoice(o.head) &&
    typeof o.overlay === 'boolean' &&
    (o.view === undefined || VIEW_IDS.includes(o.view as ViewId)) &&
    (o.layout === undefined || isPanelLayout(o.layout))
  );
}

function isPanelLayout(v: unknown): v is PanelLayout {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    (o.viewsHeight === undefined || (typeof o.viewsHeight === 'number' && Number.isFinite(o.viewsHeight) && o.viewsHeight > 0 && o.viewsHeight < 100_000)) &&
    (o.legendFolded === undefined || typeof o.legendFolded === 'boolean')
  );
}
