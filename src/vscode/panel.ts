/**
 * The webview panel: one per window, showing the inspected document. It owns its disposables, builds its HTML with
 * a strict CSP and a nonce, waits for the webview's `ready` before posting, validates every message it receives,
 * and is restored after a window reload by the serializer (the webview keeps {uri, position, head, overlay}).
 */
import * as vscode from 'vscode';
import type { TokensResult } from '../core/engineProtocol';
import {
  isWebviewState,
  parseWebviewMessage,
  type ExportFormat,
  type FocusStats,
  type HeadChoice,
  type Normaliser,
  type ViewId,
  type HostToWebview,
  type NeedleMapPayload,
  type ProbePayload,
  type ModelInfo,
  type WebviewToHost,
} from '../protocol';
import { makeNonce, renderWebviewHtml } from '../webviewHtml';
import type { AnalysisService, DocumentAnalysis } from './analyses';
import type { ComparisonService } from './comparison';
import type { SelectionState } from './selection';
import { Throttle } from './throttle';
import { FEEDS, type FeedContext, type FeedTrigger } from './feeds';
import { toModelInfo, toPayload } from './payloads';

export const PANEL_VIEW_TYPE = 'attentionInspector.panel';

export interface PanelDeps {
  extensionUri: vscode.Uri;
  analyses: AnalysisService;
  comparison: ComparisonService;
  selection: SelectionState;
  log: vscode.LogOutputChannel;
  topK: () => number;
  /** Moves the editor cursor to a token (and reveals it when `reveal`). */
  revealToken: (uri: string, position: number, focus: boolean) => void;
  /** Runs the needle probe on the panel's document (the "Probe Key Retrieval" command). */
  runProbe: (uri: string) => void;
  /** Runs the needle map on the panel's document (the "Needle Map" command). */
  runNeedleMap: (uri: string) => void;
  /** Saves an export the webview made, where the user chooses. */
  saveExport: (uri: string, view: ViewId, format: ExportFormat, data: string) => Promise<void>;
}

export class AttentionPanel implements vscode.Disposable {
  static current: AttentionPanel | undefined;
  private ready = false;
  private queue: HostToWebview[] = [];
  private sentVersion: number | undefined;
  /** The tokens of the document message sent: a re-analysis of the same version under another cap has other tokens. */
  private sentTokens: TokensResult | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private rowsRequest = 0;
  /** The last probe and needle map shown, sent again to a reloaded webview. */
  private probe: ProbePayload | undefined;
  private needleMap: NeedleMapPayload | undefined;
  /** Messages rejected by validation (for tests and the log). */
  rejectedMessages = 0;
  /** What was posted to the webview, oldest first, as (type, uri, version): the in-host tests check that no stale result follows a newer one. */
  readonly posted: PostedMessage[] = [];

  static webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'out'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  static show(deps: PanelDeps, uri: string): AttentionPanel {
    if (AttentionPanel.current) {
      AttentionPanel.current.setDocument(uri);
      AttentionPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
      return AttentionPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(
      PANEL_VIEW_TYPE,
      'Attention',
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      AttentionPanel.webviewOptions(deps.extensionUri),
    );
    return new AttentionPanel(panel, deps, uri);
  }

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly deps: PanelDeps,
    private uri: string,
  ) {
    AttentionPanel.current = this;
    panel.webview.options = AttentionPanel.webviewOptions(deps.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'icon.svg');
    panel.webview.html = this.html();
    this.updateTitle();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
      deps.analyses.onDidChange((a) => a.uri === this.uri && this.onAnalysis(a)),
      deps.analyses.onDidChangeModel(() => {
        this.resend();
        const a = deps.analyses.get(this.uri);
        if (a) this.onAnalysis(a);
      }),
      deps.selection.onDidChange(() => {
        this.postSettings();
        void this.postAttention();
        this.trigger('selection');
      }),
      deps.comparison.onDidChange((c) => {
        if (c.uri === this.uri) this.trigger('comparison', c.done);
      }),
    );
  }

  get documentUri(): string {
    return this.uri;
  }

  showProbe(probe: ProbePayload): void {
    this.probe = probe;
    this.post({ type: 'probe', probe });
  }

  showNeedleMap(map: NeedleMapPayload): void {
    this.needleMap = map;
    this.post({ type: 'needleMap', map });
  }

  setDocument(uri: string): void {
    if (uri === this.uri) return;
    this.uri = uri;
    this.resend();
    this.updateTitle();
    const a = this.deps.analyses.get(uri);
    if (a) this.onAnalysis(a);
  }

  private updateTitle(): void {
    const name = vscode.Uri.parse(this.uri).path.split('/').pop() || 'document';
    this.panel.title = `Attention: ${name}`;
  }

  private html(): string {
    const webview = this.panel.webview;
    const asUri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, ...p)).toString();
    return renderWebviewHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri('out', 'webview.js'),
      styleUri: asUri('media', 'webview.css'),
      title: 'Attention',
    });
  }

  /** Shows a message in the panel (the webview's message line), e.g. why an analysis failed. */
  showMessage(level: 'info' | 'error', text: string): void {
    this.post({ type: 'message', level, text });
  }

  private post(msg: HostToWebview): void {
    // a feed's answer can arrive after the panel was closed: there is nothing left to show it in
    if (this.disposed) return;
    this.posted.push(postedSummary(msg));
    if (this.posted.length > 1000) this.posted.splice(0, this.posted.length - 1000);
    if (!this.ready) {
      this.queue.push(msg);
      return;
    }
    void this.panel.webview.postMessage(msg);
  }

  /** Every message from the webview comes through here (public so that the in-host tests can send malformed ones). */
  receive(raw: unknown): void {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      this.rejectedMessages++;
      const preview = (() => {
        try {
          return JSON.stringify(raw).slice(0, 200);
        } catch {
          return String(raw);
        }
      })();
      this.deps.log.warn(`rejected a malformed message from the webview: ${preview}`);
      return;
    }
    this.handle(msg);
  }

  private handle(msg: WebviewToHost): void {
    const sel = this.deps.selection;
    switch (msg.type) {
      case 'ready': {
        this.ready = true;
        this.resend();
        const queued = this.queue;
        this.queue = [];
        for (const m of queued) void this.panel.webview.postMessage(m);
        const a = this.deps.analyses.get(this.uri);
        if (a) this.onAnalysis(a);
        this.postSettings();
        void this.postAttention();
        if (this.probe) this.post({ type: 'probe', probe: this.probe });
        if (this.needleMap) this.post({ type: 'needleMap', map: this.needleMap });
        this.trigger('ready');
        break;
      }
      case 'selectToken':
        if (this.validPosition(msg.position)) {
          sel.select(this.uri, msg.position);
          this.deps.revealToken(this.uri, msg.position, false);
        }
        break;
      case 'revealToken':
        if (this.validPosition(msg.position)) {
          sel.select(this.uri, msg.position);
          this.deps.revealToken(this.uri, msg.position, true);
        }
        break;
      case 'selectHead': {
        const m = this.deps.analyses.model;
        if (m && msg.head.layer < m.layers && (msg.head.head === 'mean' || msg.head.head < m.heads)) sel.setHead(msg.head);
        break;
      }
      case 'setOverlay':
        sel.setOverlay(msg.on);
        break;
      case 'setComparison':
        sel.setComparison(msg.on);
        break;
      case 'runProbe':
        this.deps.runProbe(this.uri);
        break;
      case 'runNeedleMap':
        this.deps.runNeedleMap(this.uri);
        break;
      case 'export':
        void this.deps
          .saveExport(this.uri, msg.view, msg.format, msg.data)
          .catch((e: unknown) => this.post({ type: 'message', level: 'error', text: `Export failed: ${(e as Error).message}` }));
        break;
    }
  }

  private validPosition(p: number): boolean {
    const a = this.deps.analyses.get(this.uri);
    return !!a && p < a.length;
  }

  private modelInfo(): ModelInfo | undefined {
    const m = this.deps.analyses.model;
    if (!m) return undefined;
    return toModelInfo(m);
  }

  private onAnalysis(a: DocumentAnalysis): void {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === a.uri);
    const model = this.modelInfo();
    if (!doc || !model) return;
    if (this.sentVersion !== a.version || this.sentTokens !== a.tokens) {
      if (doc.version !== a.version) return; // a newer text exists: its analysis will follow
      this.sentVersion = a.version;
      this.sentTokens = a.tokens;
      const tokens = this.deps.analyses.tokenInfos(a);
      if (!tokens) return;
      this.post({
        type: 'document',
        doc: { uri: a.uri, fileName: doc.fileName, version: a.version, tokens, totalTokens: a.tokens.totalTokens, maxTokens: tokens.length },
        model,
      });
      void this.postAttention();
    }
    this.post({
      type: 'progress',
      progress: {
        uri: a.uri,
        version: a.version,
        analysedTokens: a.analysed,
        totalTokens: a.length,
        done: a.done,
        running: this.deps.analyses.isRunning(a.uri),
        elapsedMs: a.ms,
      },
    });
    const sel = this.deps.selection.current;
    if (sel.uri === a.uri && sel.position !== undefined && sel.position < a.analysed && !this.attentionShown) void this.postAttention();
    this.trigger('analysis', a.done);
  }

  private attentionShown = false;

  private postSettings(): void {
    const s = this.deps.selection.current;
    this.post({ type: 'settings', overlay: s.overlay, head: s.head, comparison: s.comparison });
  }

  private async postAttention(): Promise<void> {
    const s = this.deps.selection.current;
    const a = this.deps.analyses.get(this.uri);
    if (s.uri !== this.uri || s.position === undefined || !a || a.version !== this.sentVersion) return;
    const ticket = ++this.rowsRequest;
    const rows = await this.deps.analyses.rows(a.uri, a.version, s.position, s.head, this.deps.topK());
    if (!rows || ticket !== this.rowsRequest) {
      this.attentionShown = false;
      return;
    }
    this.attentionShown = true;
    const infos = this.deps.analyses.tokenInfos(a);
    if (infos) this.post({ type: 'attention', attention: toPayload(a, rows, s.head, infos) });
    // the model view follows the same selection: every layer × head for this token
    const heads = await this.deps.analyses.heads(a.uri, a.version, rows.position);
    if (heads && ticket === this.rowsRequest) this.post({ type: 'heads', heads: { uri: a.uri, version: a.version, ...heads } });
  }

  /** The webview, document or model changed: what was sent must be sent again. */
  private resend(): void {
    this.sentVersion = undefined;
    this.sentTokens = undefined;
    for (const f of this.feeds) f.feed.reset();
  }

  /** A setting the attention depends on changed (attentionInspector.topK, sinkTokens): the selected token's views again. */
  refresh(): void {
    void this.postAttention();
    this.trigger('settings');
  }

  /** Every view feed: each runs through its own throttle, on the triggers it names (feeds/). */
  private readonly feeds = FEEDS.map((make) => {
    const feed = make();
    // built when the feed runs: field initialisers run before the constructor's parameter properties are set
    const context = (): FeedContext => ({ uri: this.uri, deps: this.deps, sentVersion: () => this.sentVersion, post: (m) => this.post(m) });
    return { feed, throttle: new Throttle(() => void feed.update(context())) };
  });

  /** Runs the feeds that answer `trigger`; `done`: the analysis that reported has finished (or nothing is running). */
  private trigger(trigger: FeedTrigger, done = true): void {
    for (const { feed, throttle } of this.feeds) {
      const pace = feed.triggers[trigger];
      if (pace === 'now') throttle.run(true);
      else if (pace === 'throttled') throttle.run(done);
      else if (pace === 'whenDone' && done) throttle.run(true);
    }
  }

  private disposed = false;

  dispose(): void {
    this.disposed = true;
    if (AttentionPanel.current === this) AttentionPanel.current = undefined;
    for (const f of this.feeds) f.throttle.dispose();
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
    this.panel.dispose();
  }
}

export interface PostedMessage {
  type: HostToWebview['type'];
  uri?: string;
  version?: number;
  /** The query of an attention message. */
  position?: number;
  /** The head of an attention message. */
  head?: HeadChoice;
  /** An attention message's statistics and attended tokens (the numbers the panel shows; not the n-long rows). */
  stats?: Record<Normaliser, FocusStats>;
  top?: { position: number; softmax: number; ssmax: number }[];
  /** A document message's token counts: analysed (at most the cap) and in the whole document. */
  tokens?: number;
  totalTokens?: number;
  /** A message's text (what the panel told the user). */
  text?: string;
  /** A loss message's models (1, or 2 with Compare on). */
  models?: number;
  /** A progress message's state: is the panel's spinner turning? */
  running?: boolean;
  done?: boolean;
  /** A document message's what-if formula (the legend shows it). */
  whatIfFormula?: string;
}

function postedSummary(msg: HostToWebview): PostedMessage {
  switch (msg.type) {
    case 'document':
      return {
        type: msg.type,
        uri: msg.doc.uri,
        version: msg.doc.version,
        tokens: msg.doc.tokens.length,
        totalTokens: msg.doc.totalTokens,
        whatIfFormula: msg.model.whatIf?.formula,
      };
    case 'progress':
      return { type: msg.type, uri: msg.progress.uri, version: msg.progress.version, running: msg.progress.running, done: msg.progress.done };
    case 'attention': {
      const a = msg.attention;
      const top = a.top.map((t) => ({ position: t.position, softmax: t.softmax, ssmax: t.ssmax }));
      return { type: msg.type, uri: a.uri, version: a.version, position: a.position, head: a.head, stats: a.stats, top };
    }
    case 'message':
      return { type: msg.type, text: msg.text };
    case 'loss':
      return { type: msg.type, uri: msg.loss.uri, version: msg.loss.version, models: msg.loss.models.length };
    default:
      return { type: msg.type };
  }
}

export class PanelSerializer implements vscode.WebviewPanelSerializer {
  constructor(
    private readonly deps: PanelDeps,
    private readonly restore: (uri: string, position: number) => Promise<void>,
  ) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const s = isWebviewState(state) ? state : undefined;
    AttentionPanel.current?.dispose();
    new AttentionPanel(panel, this.deps, s?.uri ?? '');
    if (s) {
      this.deps.selection.setHead(s.head);
      this.deps.selection.setOverlay(s.overlay);
      await this.restore(s.uri, s.position).catch((e: unknown) => this.deps.log.warn(`could not restore the attention panel: ${(e as Error).message}`));
    }
  }
}
