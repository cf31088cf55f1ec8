/**
 * Extension entry point: builds one context object that owns every disposable, and registers the commands, the
 * hover, the decorations, the status bar and the panel. The model itself runs in a separate process (src/core).
 */
import * as vscode from 'vscode';
import { EngineError } from './core/engineClient';
import { inspectPastCap } from './core/cap';
import { tokenAtOffset } from './core/tokenText';
import { headLabel, type HeadChoice } from './protocol';
import { saveExport } from './vscode/exports';
import { AddedModels } from './vscode/addedModels';
import { AnalysisService, isAnalysable, type DocumentAnalysis } from './vscode/analyses';
import { ComparisonService } from './vscode/comparison';
import { Config } from './vscode/config';
import { AttentionDecorations } from './vscode/decorations';
import { AttentionHoverProvider } from './vscode/hover';
import { AttentionPanel, PANEL_VIEW_TYPE, PanelSerializer, type PanelDeps, type PostedMessage } from './vscode/panel';
import { probeKeyRetrieval, type CopyRunDeps } from './vscode/probe';
import { findRetrievalHeads } from './vscode/retrievalHeads';
import { needleMap, type NeedleGrid } from './vscode/needleMap';
import { defaultHead, SelectionState } from './vscode/selection';
import { startToken } from './vscode/startToken';
import { AttentionStatusBar } from './vscode/statusBar';
import { LossHeat, type LossHeatState } from './vscode/lossHeat';
import { pickWhatIf } from './vscode/whatIfPicker';
import { describeWhatIf } from './core/whatIf';

/** What `activate` returns: used by the in-host test suite, harmless for anyone else. */
export interface AttentionInspectorApi {
  whenIdle(uri?: string): Promise<void>;
  selection(): { uri?: string; position?: number; head: HeadChoice; overlay: boolean; comparison: boolean };
  /** The editor highlights drawn now: how many tokens of each kind, for which query and head. */
  decorationsDrawn(): { uri: string; softmax: number; ssmax: number; position?: number; head?: HeadChoice };
  /** The status-bar item: what it shows, and the command a click on it runs. */
  statusBar(): { text: string; command: string | undefined };
  /** The loss heat drawn now: its mode, how many tokens are underlined, the mean loss per position bucket. */
  lossHeat(): LossHeatState;
  panelRejectedMessages(): number;
  modelProcessPid(): number | undefined;
  /** Requests sent to the model process so far, by method. */
  engineRequests(): Partial<Record<string, number>>;
  killModelProcess(): void;
  /** The comparison model's analysis of the compared document, and that model's normaliser. */
  comparison(): { uri: string; version: number; analysed: number; length: number; done: boolean; normaliser?: string; modelId?: string } | undefined;
  /** The model the extension uses (undefined before it loads), and its shape. */
  model(): { id: string; normaliser: string; provider: string; layers: number; heads: number; whatIf?: { label: string; formula: string } } | undefined;
  /** The ids of the models a picker offers (shipped, then added), in its order. */
  catalogue(): string[];
  /** The host's analysis of a document (keyed by uri and version), if any. */
  analysis(uri: string): { version: number; analysed: number; length: number; done: boolean; cappedByMemory?: boolean } | undefined;
  /** The model process's own view: which documents it holds. */
  modelProcessDocuments(): Promise<string[]>;
  isAnalysable(uri: string): boolean;
  /** The panel, if one is open: its document, title, webview options and what it posted. */
  panel(): { uri: string; title: string; options: vscode.WebviewOptions; posted: readonly PostedMessage[] } | undefined;
  /** Hands a message to the panel as if its webview had sent it. */
  receiveFromWebview(raw: unknown): void;
  /** Timers, running and tracked analyses of the host (all 0 after deactivation), and whether a panel is open. */
  resources(): { timers: number; running: number; tracked: number; analyses: number; modelLoads: number; panel: boolean; disposed: boolean };
}

/** The picker's "Add Model…" item. */
const ADD_MODEL = '\0add';

class Context implements vscode.Disposable {
  readonly log = vscode.window.createOutputChannel('Attention Inspector', { log: true });
  readonly config = new Config();
  readonly added: AddedModels;
  readonly analyses: AnalysisService;
  readonly comparison: ComparisonService;
  readonly lossHeat: LossHeat;
  readonly selection: SelectionState;
  readonly decorations: AttentionDecorations;
  readonly statusBar: AttentionStatusBar;
  readonly panelDeps: PanelDeps;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(readonly ext: vscode.ExtensionContext) {
    this.added = new AddedModels(ext.globalState, this.log);
    this.analyses = new AnalysisService(ext.extensionPath, this.config, this.log, this.added, ext.globalState);
    this.comparison = new ComparisonService(this.analyses, this.config, this.log);
    this.selection = new SelectionState(ext.globalState, { head: { layer: 0, head: 'mean' }, overlay: this.config.overlayDefault });
    this.lossHeat = new LossHeat(this.analyses, this.comparison, this.selection, this.log);
    const topK = () => this.config.topK;
    this.decorations = new AttentionDecorations(this.analyses, this.selection, topK);
    this.statusBar = new AttentionStatusBar(this.analyses);
    this.panelDeps = {
      extensionUri: ext.extensionUri,
      analyses: this.analyses,
      comparison: this.comparison,
      selection: this.selection,
      log: this.log,
      topK,
      revealToken: (uri, position, focus) => void this.revealToken(uri, position, focus),
      runProbe: (uri) => void vscode.commands.executeCommand('attentionInspector.probe', vscode.Uri.parse(uri)),
      runNeedleMap: (uri) => void vscode.commands.executeCommand('attentionInspector.needleMap', vscode.Uri.parse(uri)),
      saveExport: (uri, view, format, data) => saveExport(uri, view, format, data),
    };
    this.disposables.push(
      vscode.languages.registerHoverProvider({ scheme: '*' }, new AttentionHoverProvider(this.analyses, this.selection, topK)),
      vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, new PanelSerializer(this.panelDeps, (uri, position) => this.restore(uri, position))),
      this.analyses.onDidChangeModel((m) => {
        // resolve the configured default head against the model's shape, once per model
        if (m) this.selection.setHead(defaultHead(this.config.defaultLayer, this.config.defaultHead, m.layers, m.heads));
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => this.followCursor(e)),
      this.config.onDidChange((keys) => this.settingsChanged(keys)),
      // comparison follows the panel's document while it is on
      this.selection.onDidChange((s) => void this.comparison.enable(s.comparison ? (AttentionPanel.current?.documentUri ?? s.uri) : undefined)),
      this.analyses.onDidChange((a) => {
        // a new version of the inspected document: keep the query on the token under the cursor
        const s = this.selection.current;
        if (a.uri === s.uri && a.analysed === 0) this.selectAtCursor(a.uri);
      }),
    );
    this.registerCommands();
  }

  /** Settings that change what is shown take effect at once, with the panel open (the caps: see AnalysisService). */
  private settingsChanged(keys: string[]): void {
    if (keys.includes('topK') || keys.includes('sinkTokens')) {
      void this.decorations.refresh();
      AttentionPanel.current?.refresh();
    }
    const m = this.analyses.model;
    if (m && (keys.includes('defaultLayer') || keys.includes('defaultHead')))
      this.selection.setHead(defaultHead(this.config.defaultLayer, this.config.defaultHead, m.layers, m.heads));
    if (keys.includes('overlay') && this.config.overlayDefault !== this.selection.current.overlay) this.selection.setOverlay(this.config.overlayDefault);
  }

  private registerCommands(): void {
    const reg = (id: string, fn: (...args: unknown[]) => unknown) => this.disposables.push(vscode.commands.registerCommand(`attentionInspector.${id}`, fn));
    reg('inspect', () => this.inspect());
    reg('toggleOverlay', () => {
      const on = !this.selection.current.overlay;
      this.selection.setOverlay(on);
      vscode.window.setStatusBarMessage(`Attention: SSMax overlay ${on ? 'on' : 'off'}`, 2500);
    });
    reg('selectHead', () => this.pickHead());
    reg('toggleLossHeat', () => this.lossHeat.toggle());
    reg('compareModels', () => {
      const on = !this.selection.current.comparison;
      const doc = this.targetDocument();
      if (on && doc && !AttentionPanel.current) void this.inspect();
      this.selection.setComparison(on);
      vscode.window.setStatusBarMessage(`Attention: model comparison ${on ? 'on' : 'off'}`, 2500);
    });
    // what every run on a copy of the document (probe, retrieval heads, needle map) takes from this context
    const copyRun: CopyRunDeps = {
      analyses: this.analyses,
      secondModel: () => this.comparison.otherManifestPath(),
      log: this.log,
      targetDocument: () => this.commandDocument(),
    };
    reg('probe', async (uri?: unknown, contextTokens?: unknown) => {
      return probeKeyRetrieval(
        {
          ...copyRun,
          showPanel: (docUri) => {
            const panel = AttentionPanel.show(this.panelDeps, docUri);
            return (p) => panel.showProbe(p);
          },
        },
        uri instanceof vscode.Uri ? uri : undefined,
        typeof contextTokens === 'number' ? contextTokens : undefined,
      );
    });
    reg('findRetrievalHeads', async (uri?: unknown, contextTokens?: unknown, pick?: unknown) =>
      findRetrievalHeads(
        {
          ...copyRun,
          currentHead: () => this.selection.current.head,
          showHead: (docUri, head) => {
            this.selection.setHead(head);
            if (AttentionPanel.current?.documentUri !== docUri) void this.inspect();
          },
        },
        uri instanceof vscode.Uri ? uri : undefined,
        typeof contextTokens === 'number' ? contextTokens : undefined,
        pick !== false,
      ),
    );
    reg('needleMap', async (uri?: unknown, grid?: unknown) =>
      needleMap(
        {
          ...copyRun,
          showPanel: (docUri) => {
            const panel = AttentionPanel.show(this.panelDeps, docUri);
            return (m) => panel.showNeedleMap(m);
          },
        },
        uri instanceof vscode.Uri ? uri : undefined,
        isNeedleGrid(grid) ? grid : undefined,
      ),
    );
    reg('selectModel', () => this.pickModel());
    reg('addModel', async (dir?: unknown) => {
      // from the palette (or with a folder argument): add it and use it
      const added = await this.addModel(dir);
      if (added) await vscode.workspace.getConfiguration('attentionInspector').update('model', added.id, vscode.ConfigurationTarget.Global);
      return added?.id;
    });
    reg('selectComparisonModel', () => this.pickComparisonModel());
    reg('chooseWhatIf', () => pickWhatIf(this.config, this.analyses.model?.trainingContext));
    reg('clearSelection', () => this.selection.clear());
    reg('showLog', () => this.log.show());
    reg('openSettings', () => vscode.commands.executeCommand('workbench.action.openSettings', 'attentionInspector'));
    reg('statusMenu', async () => {
      const items = [
        { label: '$(gear) Open Settings', id: 'openSettings' },
        { label: '$(eye) Inspect Attention', id: 'inspect' },
        { label: '$(layers) Select Layer/Head', id: 'selectHead' },
        { label: '$(beaker) Select Model', id: 'selectModel' },
        { label: '$(new-folder) Add Model…', id: 'addModel' },
        { label: '$(split-horizontal) Compare Models Side by Side', id: 'compareModels' },
        { label: '$(list-selection) Select Comparison Model', id: 'selectComparisonModel' },
        { label: '$(key) Probe Key Retrieval', id: 'probe' },
        { label: '$(search) Find Retrieval Heads', id: 'findRetrievalHeads' },
        { label: '$(table) Needle Map', id: 'needleMap' },
        { label: '$(symbol-operator) Choose What-If Scaling Law', id: 'chooseWhatIf' },
        { label: '$(flame) Toggle Loss Heat', id: 'toggleLossHeat' },
        { label: '$(output) Show Log', id: 'showLog' },
      ];
      const pick = await vscode.window.showQuickPick(items, { placeHolder: 'Attention Inspector' });
      if (pick) await vscode.commands.executeCommand(`attentionInspector.${pick.id}`);
      return pick?.id; // what was picked, undefined when dismissed (the in-host tests tell the two apart by it)
    });
  }

  /**
   * A cut document: how much was analysed and why; when the cursor's token is past the cap, which token it is and
   * (for maxTokens) a button that raises the cap to reach it, which re-analyses (the model is causal: only the whole
   * prefix reaches a token).
   */
  private async saySomeTokensLeftOut(doc: vscode.TextDocument, a: DocumentAnalysis): Promise<void> {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
    const covered = a.length ? a.tokens.ends[a.length - 1] : 0;
    const past = editor ? inspectPastCap(a.length, a.tokens.totalTokens, covered, doc.offsetAt(editor.selection.active), a.cappedByMemory === true) : undefined;
    if (!past) {
      const why = a.cappedByMemory ? 'to stay within attentionInspector.memoryBudgetMb' : 'setting attentionInspector.maxTokens';
      void vscode.window.showInformationMessage(`Attention Inspector analysed the first ${a.length} of about ${a.tokens.totalTokens} tokens (${why}).`);
      return;
    }
    const raise = past.raiseTo ? `Raise maxTokens to ${past.raiseTo.toLocaleString('en-US')}` : undefined;
    const pick = await vscode.window.showInformationMessage(past.text, ...(raise ? [raise] : ['Open Settings']));
    if (pick && pick === raise && past.raiseTo) {
      // where the value the user has comes from (a workspace value overrides the user's): there it is raised
      const cfg = vscode.workspace.getConfiguration('attentionInspector', doc.uri);
      const set = cfg.inspect<number>('maxTokens');
      const target =
        set?.workspaceFolderValue !== undefined
          ? vscode.ConfigurationTarget.WorkspaceFolder
          : set?.workspaceValue !== undefined
            ? vscode.ConfigurationTarget.Workspace
            : vscode.ConfigurationTarget.Global;
      await cfg.update('maxTokens', past.raiseTo, target);
    } else if (pick)
      await vscode.commands.executeCommand('workbench.action.openSettings', `attentionInspector.${a.cappedByMemory ? 'memoryBudgetMb' : 'maxTokens'}`);
  }

  /** The document a command run from the palette is for: the active editor's, else (the panel focused) the panel's. */
  private async commandDocument(): Promise<vscode.TextDocument | undefined> {
    const panelUri = AttentionPanel.current?.documentUri;
    return vscode.window.activeTextEditor?.document ?? (panelUri ? await vscode.workspace.openTextDocument(vscode.Uri.parse(panelUri)) : this.targetDocument());
  }

  /** The active editor's document; with the panel focused (no active editor), the visible editor of the panel's document. */
  private targetDocument(): vscode.TextDocument | undefined {
    const panelUri = AttentionPanel.current?.documentUri;
    const visible = vscode.window.visibleTextEditors;
    const editor = vscode.window.activeTextEditor ?? visible.find((e) => e.document.uri.toString() === panelUri) ?? visible[0];
    return editor?.document;
  }

  async inspect(): Promise<void> {
    const doc = this.targetDocument();
    if (!doc) {
      void vscode.window.showInformationMessage('Attention Inspector: open a text document first.');
      return;
    }
    if (!isAnalysable(doc)) {
      void vscode.window.showInformationMessage(`Attention Inspector does not analyse ${doc.uri.scheme} documents.`);
      return;
    }
    if (doc.getText().length === 0) {
      void vscode.window.showInformationMessage('Attention Inspector: the document is empty, so there is no attention to show.');
      return;
    }
    if (doc.getText(new vscode.Range(0, 0, 200, 0)).includes('\u0000')) {
      void vscode.window.showWarningMessage('Attention Inspector: this document looks binary (it contains NUL characters); its tokens are analysed as text.');
    }
    const uri = doc.uri.toString();
    AttentionPanel.show(this.panelDeps, uri);
    this.startPending.add(uri);
    this.selectAtCursor(uri, true);
    let cancelled = false;
    try {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Analysing ${doc.fileName.split(/[\\/]/).pop()}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => {
            cancelled = true;
            this.analyses.cancel(uri);
          });
          let last = 0;
          const sub = this.analyses.onDidChange((a) => {
            if (a.uri !== uri || !a.length) return;
            const pct = (100 * a.analysed) / a.length;
            progress.report({ increment: pct - last, message: `${a.analysed} of ${a.length} tokens` });
            last = pct;
          });
          try {
            const a = await this.analyses.analyse(doc);
            if (a.tokens.totalTokens > a.length) void this.saySomeTokensLeftOut(doc, a);
          } finally {
            sub.dispose();
          }
        },
      );
    } catch (e) {
      if (e instanceof EngineError && e.cancelled) {
        // the user pressed Cancel: the panel, where the progress was, says where it stopped
        const a = this.analyses.get(uri);
        if (cancelled && a && !a.done && AttentionPanel.current?.documentUri === uri)
          AttentionPanel.current.showMessage(
            'info',
            `Analysis cancelled after ${a.analysed} of ${a.length} tokens; those can be inspected. Run "Attention: Inspect Attention" to analyse the whole document.`,
          );
        return;
      }
      const msg = (e as Error).message;
      this.log.error(msg);
      // said in the panel too: the user is looking there, and a notification is easily missed
      if (AttentionPanel.current?.documentUri === uri) AttentionPanel.current.showMessage('error', `The analysis failed: ${msg}`);
      void vscode.window.showErrorMessage(`Attention Inspector: ${msg}`, 'Show Log', 'Open Settings').then((a) => {
        if (a === 'Show Log') this.log.show();
        if (a === 'Open Settings') void vscode.commands.executeCommand('attentionInspector.openSettings');
      });
    }
  }

  /** Documents just inspected whose first query is still to be chosen (see `startToken`). */
  private readonly startPending = new Set<string>();
  /** Where the cursor was when an inspection started elsewhere: until it moves, the start token stays the query. */
  private readonly startedAt = new Map<string, number>();

  private selectAtCursor(uri: string, force = false): void {
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri);
    const a = this.analyses.get(uri);
    if (!editor) return;
    if (!a || a.version !== editor.document.version) {
      if (force) this.selection.select(uri, 0);
      return;
    }
    const offset = editor.document.offsetAt(editor.selection.active);
    const i = tokenAtOffset(a.tokens, offset);
    if (i < 0) return;
    const pending = this.startPending.delete(uri);
    if (pending || this.startedAt.get(uri) === offset) {
      const start = startToken(i, a.length, tokenAtOffset(a.tokens, editor.document.offsetAt(editor.visibleRanges[0]?.end ?? editor.selection.active)));
      if (start !== i) {
        this.startedAt.set(uri, offset);
        this.selection.select(uri, start);
        if (pending) {
          const line = editor.document.positionAt(a.tokens.starts[start]).line + 1;
          AttentionPanel.current?.showMessage(
            'info',
            `Started on token ${start} (line ${line}, n = ${start + 1}): the token at the cursor sees only ${i + 1} key${i ? 's' : ''}, too few to show where attention goes. Move the cursor or click a token to choose the query.`,
          );
        }
        return;
      }
    }
    this.startedAt.delete(uri);
    this.selection.select(uri, i);
  }

  private followCursor(e: vscode.TextEditorSelectionChangeEvent): void {
    const uri = e.textEditor.document.uri.toString();
    if (uri !== this.selection.current.uri) return;
    // the token under the cursor is the query, whatever moved it: the keys, a click and commands report a kind, others
    // (Ctrl+Left/Right, ...) none. Those that report one make it the query even on the spot an inspection started
    // from; the others once it has left that spot (see selectAtCursor). Our own reveal lands on the selected token.
    if (e.kind !== undefined) this.startedAt.delete(uri);
    this.selectAtCursor(uri);
  }

  private async revealToken(uri: string, position: number, focus: boolean): Promise<void> {
    const a = this.analyses.get(uri);
    if (!a || position >= a.length) return;
    let editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri);
    if (!editor || focus) {
      const doc = editor?.document ?? (await vscode.workspace.openTextDocument(vscode.Uri.parse(uri)));
      editor = await vscode.window.showTextDocument(doc, { viewColumn: editor?.viewColumn ?? vscode.ViewColumn.One, preserveFocus: !focus });
    }
    if (editor.document.version !== a.version) return;
    const start = editor.document.positionAt(a.tokens.starts[position]);
    editor.selection = new vscode.Selection(start, start);
    editor.revealRange(new vscode.Range(start, start), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  private async restore(uri: string, position: number): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(uri));
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preserveFocus: true });
    AttentionPanel.current?.setDocument(uri);
    this.selection.select(uri, position);
    // not awaited: VS Code keeps the restored panel blank (loading) until the serializer's promise settles, and a
    // long file takes minutes; the panel fills in chunk by chunk as for an ordinary inspection
    this.analyses.analyse(doc).catch((e: unknown) => {
      if (!(e instanceof EngineError && e.cancelled)) this.log.warn(`could not analyse the restored document: ${(e as Error).message}`);
    });
  }

  /** The head picked (undefined when the pick was dismissed or there is no model). */
  private async pickHead(): Promise<HeadChoice | undefined> {
    const m = this.analyses.model ?? (await this.analyses.ensureModel().catch(() => undefined));
    if (!m) return undefined;
    const cur = this.selection.current.head;
    const items: (vscode.QuickPickItem & { head: HeadChoice })[] = [];
    for (let layer = 0; layer < m.layers; layer++) {
      for (const head of ['mean' as const, ...Array.from({ length: m.heads }, (_, h) => h)]) {
        const h: HeadChoice = { layer, head };
        items.push({
          label: headLabel(h),
          description: head === 'mean' ? `mean of ${m.heads} heads` : undefined,
          picked: cur.layer === layer && cur.head === head,
          head: h,
        });
      }
    }
    const pick = await vscode.window.showQuickPick(items, { placeHolder: `Layer and head (now ${headLabel(cur)})` });
    if (pick) this.selection.setHead(pick.head);
    return pick?.head;
  }

  /** Quick pick over the catalogue (shipped models, then added ones), the current one marked, with "Add Model…" last. */
  private async pickFromCatalogue(current: string, placeHolder: string, extra: (vscode.QuickPickItem & { id: string })[] = []): Promise<string | undefined> {
    const heads = (e: { heads: number; kvHeads: number }) => `${e.heads} heads${e.kvHeads !== e.heads ? ` (${e.kvHeads} key heads)` : ''}`;
    const items = [
      ...extra,
      ...this.analyses.catalogue.map((e) => ({
        label: e.displayName,
        description: `${e.id === current ? '(current) ' : ''}${e.family ? `${e.family}, ` : ''}${e.layers} layers × ${heads(e)}, trained at ${e.trainingContext}`,
        detail: e.summary,
        id: e.id,
      })),
      { label: '$(new-folder) Add Model…', description: 'a Hugging Face decoder exported to ONNX', id: ADD_MODEL },
    ];
    const id = (await vscode.window.showQuickPick(items, { placeHolder }))?.id;
    if (id !== ADD_MODEL) return id;
    return (await this.addModel())?.id;
  }

  private async pickModel(): Promise<void> {
    const id = await this.pickFromCatalogue(this.config.model, `Model (now ${this.config.model})`);
    if (id) await vscode.workspace.getConfiguration('attentionInspector').update('model', id, vscode.ConfigurationTarget.Global);
  }

  /**
   * Adds a Hugging Face export folder (given, or picked in a folder dialog) to the catalogue and returns its entry;
   * says why when it can't. The caller decides what to use it for (the main model, or the comparison).
   */
  private async addModel(dir?: unknown): Promise<{ id: string } | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage(
        'Attention Inspector: models you add are used only in trusted workspaces. Trust this workspace first (Workspaces: Manage Workspace Trust).',
      );
      return undefined;
    }
    let folder = typeof dir === 'string' ? dir : dir instanceof vscode.Uri ? dir.fsPath : undefined;
    if (!folder) {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        canSelectMany: false,
        openLabel: 'Add Model',
        title: 'A folder written by optimum-cli export onnx --task text-generation-with-past',
      });
      folder = picked?.[0]?.fsPath;
    }
    if (!folder) return undefined;
    try {
      const e = await this.added.add(folder);
      const size = (bytes: number) => {
        const mb = (bytes * this.config.maxTokens) / 2 ** 20;
        return `${(bytes / 1024).toFixed(1)} KB per token (${mb < 1024 ? `${Math.round(mb)} MB` : `${(mb / 1024).toFixed(1)} GB`} at the ${this.config.maxTokens.toLocaleString('en-US')}-token cap)`;
      };
      this.log.info(`added model ${e.id} from ${folder}`);
      void vscode.window.showInformationMessage(
        `Attention Inspector: added ${e.displayName} (${e.family}, ${e.layers} layers × ${e.heads} heads, trained at ${e.trainingContext} tokens). ` +
          `An analysis holds ${size(e.bytesPerToken)}; where that exceeds attentionInspector.memoryBudgetMb (${this.config.memoryBudgetMb} MB), it keeps no queries, ${size(e.leanBytesPerToken)}, and recomputes them for the token asked about. ` +
          `Its length-scaled view is a what-if: ${describeWhatIf(this.config.whatIf, e.trainingContext).formula} (Attention: Choose What-If Scaling Law…).`,
      );
      return e;
    } catch (err) {
      void vscode.window.showErrorMessage(`Attention Inspector: ${folder} cannot be added: ${(err as Error).message}`);
      return undefined;
    }
  }

  private async pickComparisonModel(): Promise<void> {
    const auto = {
      label: 'Automatic',
      description: this.config.compareModel === 'auto' ? '(current)' : '',
      detail: "The main model's counterpart: softmax- beside SSMax-trained, a retrofit beside its softmax source",
      id: 'auto',
    };
    const id = await this.pickFromCatalogue(this.config.compareModel, `Model to compare with (now ${this.config.compareModel})`, [auto]);
    if (!id) return;
    await vscode.workspace.getConfiguration('attentionInspector').update('compareModel', id, vscode.ConfigurationTarget.Global);
    if (!this.selection.current.comparison) await vscode.commands.executeCommand('attentionInspector.compareModels');
  }

  disposed = false;

  dispose(): void {
    // VS Code disposes ext.subscriptions after deactivate() did: once is enough
    if (this.disposed) return;
    this.disposed = true;
    AttentionPanel.current?.dispose();
    for (const d of this.disposables) d.dispose();
    this.decorations.dispose();
    this.lossHeat.dispose();
    this.statusBar.dispose();
    this.selection.dispose();
    this.comparison.dispose();
    this.analyses.dispose();
    this.config.dispose();
    this.added.dispose();
    this.log.dispose();
  }
}

let context: Context | undefined;

export function activate(ext: vscode.ExtensionContext): AttentionInspectorApi {
  context = new Context(ext);
  ext.subscriptions.push(context);
  const c = context;
  return {
    whenIdle: (uri) => c.analyses.whenIdle(uri),
    selection: () => c.selection.current,
    decorationsDrawn: () => c.decorations.lastDrawn,
    statusBar: () => c.statusBar.state,
    lossHeat: () => c.lossHeat.state,
    panelRejectedMessages: () => AttentionPanel.current?.rejectedMessages ?? 0,
    modelProcessPid: () => c.analyses.engine.pid,
    engineRequests: () => ({ ...c.analyses.engine.sent }),
    killModelProcess: () => c.analyses.engine.kill(),
    comparison: () => {
      const s = c.comparison.current;
      return s && { ...s, normaliser: c.comparison.other?.normaliser, modelId: c.comparison.other?.id };
    },
    model: () => {
      const m = c.analyses.model;
      return m && { id: m.id, normaliser: m.normaliser, provider: m.provider, layers: m.layers, heads: m.heads, whatIf: m.whatIf };
    },
    catalogue: () => c.analyses.catalogue.map((e) => e.id),
    analysis: (uri) => {
      const a = c.analyses.get(uri);
      return a && { version: a.version, analysed: a.analysed, length: a.length, done: a.done, cappedByMemory: a.cappedByMemory };
    },
    modelProcessDocuments: async () => (await c.analyses.engine.request('memory', {})).docKeys,
    isAnalysable: (uri) => isAnalysable({ uri: vscode.Uri.parse(uri) }),
    panel: () => {
      const p = AttentionPanel.current;
      return p && { uri: p.documentUri, title: p.panel.title, options: p.panel.webview.options, posted: p.posted };
    },
    receiveFromWebview: (raw) => AttentionPanel.current?.receive(raw),
    resources: () => ({ ...c.analyses.resources(), panel: !!AttentionPanel.current, disposed: c.disposed }),
  };
}

export function deactivate(): void {
  context?.dispose();
  context = undefined;
}

/** A grid passed to the needleMap command by a caller (tests, keybindings): checked like anything from outside. */
function isNeedleGrid(v: unknown): v is NeedleGrid {
  if (typeof v !== 'object' || v === null) return false;
  const g = v as Record<string, unknown>;
  const nums = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every((n) => typeof n === 'number');
  return nums(g.lengths) && nums(g.depths) && typeof g.haystacks === 'number';
}
