/**
 * The Attention Inspector webview. The host pushes state (document, progress, attention for the selected
 * query token, settings, the views' payloads, messages) and the webview sends intents (see src/protocol.ts).
 * Rendering is split: header.ts (model, controls, progress, legend), tokenView.ts (#tokens, virtualised),
 * details.ts (#stats, #topk), and the tabbed views area (tabs.ts, views/*.ts, charts/*.ts, export/*.ts).
 */
import {
  headLabel,
  isWebviewState,
  type AttentionPayload,
  type DocumentPayload,
  type ViewId,
  type HeadChoice,
  type HostToWebview,
  type ModelInfo,
  type WebviewState,
} from '../src/protocol';
import { registerComponents } from './components';
import { StatsView, TopKView } from './details';
import { ExportBar } from './export/exportBar';
import { Header } from './header';
import { installShortcuts, SHORTCUTS_HELP } from './shortcuts';
import { Tabs } from './tabs';
import { TokenView } from './tokenView';
import { CompareView } from './views/compareView';
import { DistanceView } from './views/distanceView';
import { FocusView } from './views/focusView';
import { HeadsView } from './views/headsView';
import { ProbeView } from './views/probeView';
import { NeedleMapView } from './views/needleMapView';
import { LossView } from './views/lossView';
import { LayoutControls } from './layoutControls';
import type { InspectorView } from './views/view';
import { byId } from './dom';
import { setWhatIf } from './format';
import { vscodeApi } from './vscodeApi';

class App {
  private readonly api = vscodeApi();
  private doc: DocumentPayload | undefined;
  private model: ModelInfo | undefined;
  private head: HeadChoice | undefined;
  private overlay: boolean;
  private attention: AttentionPayload | undefined;
  /** What a previous incarnation of this webview saved; used once, when its document arrives. */
  private restored: WebviewState | undefined;

  private readonly header: Header;
  private readonly tokens: TokenView;
  private readonly stats: StatsView;
  private readonly topk: TopKView;
  /** The tabs of the views area, in tab order: each takes what it needs from the hooks below (views/view.ts). */
  private readonly views: InspectorView[];
  private layoutControls: LayoutControls | undefined;
  private readonly tabs: Tabs;
  private readonly exportBar: ExportBar;

  constructor() {
    const saved = this.api.getState();
    this.restored = isWebviewState(saved) ? saved : undefined;
    this.overlay = this.restored?.overlay ?? true;
    this.head = this.restored?.head;

    this.header = new Header(
      { controls: byId('controls'), message: byId('message'), capNote: byId('cap-note'), legend: byId('legend') },
      {
        selectHead: (head) => this.selectHead(head),
        setOverlay: (on) => {
          this.applyOverlay(on);
          this.api.postMessage({ type: 'setOverlay', on });
          this.saveState();
        },
      },
    );
    this.tokens = new TokenView(byId('tokens'), { select: (position) => this.selectToken(position) });
    this.stats = new StatsView(byId('stats'));
    this.topk = new TopKView(byId('topk-header'), byId<HTMLOListElement>('topk'), {
      reveal: (position) => {
        this.tokens.reveal(position);
        this.api.postMessage({ type: 'revealToken', position });
      },
    });
    this.views = [
      new HeadsView({ selectHead: (head) => this.selectHead(head) }),
      new FocusView(),
      new DistanceView(),
      new LossView(),
      new ProbeView({ runProbe: () => this.api.postMessage({ type: 'runProbe' }) }),
      new NeedleMapView({ runNeedleMap: () => this.api.postMessage({ type: 'runNeedleMap' }) }),
      new CompareView({
        setComparison: (on) => {
          this.api.postMessage({ type: 'setComparison', on });
          this.exportBar.refresh();
        },
      }),
    ];
    this.exportBar = new ExportBar({
      post: (message) => this.api.postMessage(message),
      context: () => this.exportContext(),
      error: (text) => this.header.showMessage('error', text),
    });
    this.tabs = new Tabs(byId('view-tabs'), byId('view-panels'), this.views, {
      open: (view) => {
        this.exportBar.setView(view);
        this.saveState();
      },
    });
    if (this.restored?.view) this.tabs.open(this.restored.view);
    this.layoutControls = new LayoutControls(
      byId('splitter'),
      byId('layout'),
      byId('views'),
      byId('legend'),
      byId<HTMLButtonElement>('legend-fold'),
      { changed: () => this.saveState() },
      this.restored?.layout,
    );
    this.exportBar.setView(this.tabs.current);
    byId('export-bar').replaceWith(this.exportBar.element);
    this.exportBar.element.id = 'export-bar';
    byId('shortcuts').textContent = `Keys: ${SHORTCUTS_HELP}`;
    byId('tokens').title = `Keys: ${SHORTCUTS_HELP}`;
    installShortcuts(document, {
      head: () => this.head,
      shape: () => (this.model ? { layers: this.model.layers, heads: this.model.heads } : undefined),
      selectHead: (head) => this.selectHead(head),
    });
    this.applyOverlay(this.overlay);
  }

  start(): void {
    window.addEventListener('message', (e: MessageEvent<unknown>) => this.receive(e.data));
    this.api.postMessage({ type: 'ready' });
  }

  private receive(data: unknown): void {
    if (typeof data !== 'object' || data === null || typeof (data as { type?: unknown }).type !== 'string') return;
    const msg = data as HostToWebview;
    switch (msg.type) {
      case 'document':
        this.onDocument(msg.doc, msg.model);
        break;
      case 'progress':
        if (this.doc && msg.progress.uri === this.doc.uri) this.header.showProgress(msg.progress);
        break;
      case 'attention':
        this.onAttention(msg.attention);
        break;
      case 'settings':
        this.head = msg.head;
        this.header.setHead(msg.head);
        this.applyOverlay(msg.overlay);
        this.saveState();
        break;
      case 'message':
        this.header.showMessage(msg.level, msg.text);
        break;
    }
    // every view sees every message and takes its own payloads (heads, focusCurve, loss, probe, ...)
    for (const view of this.views) view.onMessage?.(msg, (p) => this.isCurrent(p));
    this.exportBar.refresh();
  }

  /** Payloads for another document or an older version are stale. */
  private isCurrent(p: { uri: string; version: number }): boolean {
    return !!this.doc && p.uri === this.doc.uri && p.version === this.doc.version;
  }

  private onDocument(doc: DocumentPayload, model: ModelInfo): void {
    const sameUri = this.doc?.uri === doc.uri;
    const keep = sameUri ? this.tokens.selected : -1;
    this.doc = doc;
    this.model = model;
    setWhatIf(model.whatIf);
    this.attention = undefined;
    this.head ??= { layer: Math.max(0, model.layers - 1), head: 'mean' };
    this.header.showDocument(doc, model, this.head);
    this.stats.setOwn(model.normaliser);
    this.topk.setOwn(model.normaliser);
    this.stats.clear();
    this.topk.clear();
    for (const view of this.views) view.onDocument?.(doc, model, sameUri);
    this.tokens.render(doc.tokens);
    byId('tokens').setAttribute('aria-busy', 'false');
    byId('file-name').textContent = doc.fileName.split(/[\\/]/).pop() ?? doc.fileName;

    if (keep >= 0 && keep < doc.tokens.length) {
      this.tokens.setQuery(keep); // the host follows a new version with the attention row
    } else if (this.restored && this.restored.uri === doc.uri && this.restored.position < doc.tokens.length) {
      // A reloaded webview: ask for the row it showed before.
      this.selectToken(this.restored.position);
      this.tokens.scrollToQuery();
    }
    this.restored = undefined;
    this.saveState();
  }

  private onAttention(a: AttentionPayload): void {
    const doc = this.doc;
    const model = this.model;
    // Rows for another document, an older version or a position we do not have are stale: drop them.
    if (!doc || !model || a.uri !== doc.uri || a.version !== doc.version || a.position >= doc.tokens.length) return;
    const moved = this.attention?.position !== a.position;
    this.attention = a;
    this.tokens.setQuery(a.position);
    // The query may come from the editor's cursor, far from the lines in view (which are the only ones rendered).
    if (moved) this.tokens.scrollToQuery();
    // softmax is the background channel and SSMax the overlay, whichever the model was trained with
    this.tokens.setWeights(a.softmax, a.ssmax);
    this.stats.show(a);
    this.topk.show(a.top);
    for (const view of this.views) view.onAttention?.(a);
    this.saveState();
  }

  private selectToken(position: number): void {
    if (!this.doc || position < 0 || position >= this.doc.tokens.length) return;
    this.tokens.setQuery(position);
    for (const view of this.views) view.onPosition?.(position);
    this.api.postMessage({ type: 'selectToken', position });
    this.saveState();
  }

  /** From the dropdown, a cell of the heads grid or a shortcut: the host answers with settings and a new row. */
  private selectHead(head: HeadChoice): void {
    this.head = head;
    this.header.setHead(head);
    for (const view of this.views) view.onHead?.(head);
    this.api.postMessage({ type: 'selectHead', head });
    this.saveState();
  }

  private exportContext(): Record<string, unknown> {
    return {
      file: this.doc?.fileName ?? null,
      model: this.model
        ? { id: this.model.id, displayName: this.model.displayName, normaliser: this.model.normaliser, trainingContext: this.model.trainingContext }
        : null,
      selectedToken: this.tokens.selected >= 0 ? this.tokens.selected : null,
      head: this.head ? headLabel(this.head) : null,
    };
  }

  private applyOverlay(on: boolean): void {
    this.overlay = on;
    document.body.classList.toggle('overlay-on', on);
    this.header.setOverlay(on);
  }

  private saveState(): void {
    const position = this.tokens.selected >= 0 ? this.tokens.selected : this.attention?.position;
    // WebviewState needs a document and a position; before the first selection there is nothing to restore.
    if (!this.doc || position === undefined || !this.head) return;
    const view: ViewId = this.tabs.current.id;
    this.api.setState({ uri: this.doc.uri, position, head: this.head, overlay: this.overlay, view, layout: this.layoutControls?.layout });
  }
}

registerComponents();
new App().start();
