/**
 * Which documents are analysed, at which version, and how far. Owns the model process client and the model's
 * loading. An inspected document is re-analysed (from its first changed token) shortly after each edit; results of
 * an older version are never mixed with a newer text: everything is keyed by (uri, version).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findModel, loadCatalogue, type CatalogueEntry } from '../core/catalogue';
import { EngineClient, EngineError } from '../core/engineClient';
import type { EngineMethods, FocusCurveResult, HeadsResult, LoadedModelInfo, RowsResult, TokensResult } from '../core/engineProtocol';
import { tokenInfos } from '../core/tokenText';
import type { TokenInfo } from '../protocol';
import { describeFallback } from '../core/providers';
import type { HeadChoice } from '../protocol';
import type { AddedModels } from './addedModels';
import type { Config } from './config';

export interface DocumentAnalysis {
  uri: string;
  version: number;
  tokens: TokensResult;
  analysed: number;
  length: number;
  done: boolean;
  /** Wall time of the last (or running) analysis. */
  ms: number;
  reused: number;
  cappedByMemory?: boolean;
  error?: string;
  /** Text and line of every token, computed once per version (see `AnalysisService.tokenInfos`). */
  infos?: TokenInfo[];
}

const EDIT_DEBOUNCE_MS = 400;
/** Settings written one after the other by one action arrive as separate events: they make one model reload. */
const RELOAD_DEBOUNCE_MS = 100;
/** Rows answers kept: a click's three askers, for a few recent clicks. */
const ROWS_CACHE_SIZE = 12;
const NOT_ANALYSED_SCHEMES = new Set(['output', 'debug', 'git', 'vscode-scm', 'comment', 'walkThroughSnippet']);

export function isAnalysable(doc: { readonly uri: vscode.Uri }): boolean {
  return !NOT_ANALYSED_SCHEMES.has(doc.uri.scheme);
}

export class AnalysisService implements vscode.Disposable {
  readonly engine: EngineClient;
  private readonly changed = new vscode.EventEmitter<DocumentAnalysis>();
  readonly onDidChange = this.changed.event;
  private readonly modelChanged = new vscode.EventEmitter<LoadedModelInfo | undefined>();
  readonly onDidChangeModel = this.modelChanged.event;
  private readonly analyses = new Map<string, DocumentAnalysis>();
  private readonly running = new Map<string, Promise<DocumentAnalysis>>();
  /** Documents the user asked to inspect: these follow edits. */
  private readonly tracked = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[] = [];
  private modelLoad: Promise<LoadedModelInfo> | undefined;
  model: LoadedModelInfo | undefined;

  constructor(
    private readonly extensionPath: string,
    private readonly config: Config,
    private readonly log: vscode.LogOutputChannel,
    /** The Hugging Face folders the user added, listed after the shipped models. */
    readonly added: AddedModels,
    /** Remembers, per machine, which provider fallbacks were already explained. */
    private readonly memento?: vscode.Memento,
  ) {
    this.engine = new EngineClient(path.join(extensionPath, 'out', 'engine.js'), (l) => log.info(l));
    this.engine.onEvent((e) => {
      // only analyses of the primary model: the probe's and retrieval heads' events and the second model's analyses
      // (comparison) are for other listeners
      if ((e.event !== 'tokens' && e.event !== 'progress') || e.model !== undefined) return;
      const a = this.analyses.get(e.docKey);
      if (e.event === 'tokens') {
        // a document closed (forgotten) while its analysis was starting: its late events must not bring it back
        if (!this.tracked.has(e.docKey)) return;
        const next: DocumentAnalysis = {
          uri: e.docKey,
          version: e.version,
          tokens: e.tokens,
          analysed: 0,
          length: e.tokens.ids.length,
          done: false,
          ms: 0,
          reused: 0,
        };
        this.analyses.set(e.docKey, next);
        this.changed.fire(next);
      } else if (a && a.version === e.version) {
        a.analysed = e.analysed;
        a.ms = e.ms;
        a.done = e.analysed >= e.length;
        this.changed.fire(a);
      }
    });
    this.engine.onExit(() => {
      void vscode.window.showWarningMessage(
        'Attention Inspector: the model process stopped unexpectedly; it was restarted and inspected documents are analysed again.',
      );
      for (const uri of this.tracked) this.schedule(uri, 0);
    });
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        const uri = e.document.uri.toString();
        if (this.tracked.has(uri) && e.contentChanges.length) this.schedule(uri, EDIT_DEBOUNCE_MS);
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => this.forget(doc.uri.toString())),
      added.onDidChange(() => (this.addedEntries = undefined)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => (this.addedEntries = undefined)),
      config.onDidChange((keys) => {
        if (keys.some((k) => ['model', 'modelPath', 'executionProvider', 'threads'].includes(k)) || this.lawChanged(keys)) this.scheduleReload();
        else if (keys.includes('maxTokens') || keys.includes('memoryBudgetMb')) {
          // another cap: the same versions are analysed again (analyse() compares the caps), and rows of positions
          // the new cap leaves out must not be answered from the cache
          this.rowsCache.clear();
          for (const uri of this.tracked) this.schedule(uri, 0);
        }
      }),
    );
  }

  /** The shipped models, then the added ones (trusted workspaces only). */
  get catalogue(): readonly CatalogueEntry[] {
    this.addedEntries ??= this.added.entries();
    return [...this.shippedModels, ...this.addedEntries];
  }
  private addedEntries: CatalogueEntry[] | undefined;

  /** The shipped models (read once; a broken install is logged and leaves only the default manifest). */
  get shippedModels(): readonly CatalogueEntry[] {
    if (!this.shipped) {
      try {
        this.shipped = loadCatalogue(path.join(this.extensionPath, 'models'));
      } catch (e) {
        this.log.error(`the model catalogue could not be read: ${(e as Error).message}`);
        this.shipped = [];
      }
    }
    return this.shipped;
  }
  private shipped: CatalogueEntry[] | undefined;

  manifestPath(): string {
    const custom = this.config.modelPath;
    if (custom) return path.isAbsolute(custom) ? custom : path.resolve(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '', custom);
    const chosen = findModel(this.catalogue, this.config.model);
    if (!chosen && this.catalogue.length)
      this.log.warn(`attentionInspector.model "${this.config.model}" is not a shipped or added model (in this workspace); using ${this.catalogue[0].id}`);
    return (chosen ?? this.catalogue[0])?.manifestPath ?? path.join(this.extensionPath, 'models', 'ssmax.json');
  }

  /** What a model load is asked for, from the settings now. */
  private loadParams() {
    const manifestPath = this.manifestPath();
    return {
      manifestPath,
      provider: this.config.executionProvider,
      threads: this.config.threads,
      trainingContext: this.added.trainingContextOf(manifestPath),
      whatIf: this.config.whatIf,
    };
  }

  /** loadParams() of the model loaded or loading (undefined: none yet). */
  private loadedParams: string | undefined;
  /** Model loads asked for so far (for the in-host tests). */
  private modelLoads = 0;

  ensureModel(): Promise<LoadedModelInfo> {
    this.modelLoad ??= (async () => {
      if (this.config.modelPathIgnoredForTrust) {
        void vscode.window.showInformationMessage(
          'Attention Inspector: attentionInspector.modelPath is ignored because this workspace is not trusted; the shipped model is used.',
        );
      }
      const params = this.loadParams();
      this.loadedParams = JSON.stringify(params);
      this.modelLoads++;
      this.log.info(`loading model ${params.manifestPath} (execution provider: ${params.provider})`);
      const info = await this.engine.request('load', params);
      this.model = info;
      const fallback = describeFallback(info);
      if (fallback) {
        this.log.warn(fallback);
        // said once per machine and choice of provider (an explicit choice that fails is a warning), then only logged
        const key = `attentionInspector.fallbackExplained.${this.config.executionProvider}.${info.provider}`;
        if (!this.memento?.get<boolean>(key)) {
          void this.memento?.update(key, true);
          if (this.config.executionProvider !== 'auto') void vscode.window.showWarningMessage(fallback);
          else
            void vscode.window
              .showInformationMessage(`Attention Inspector runs on the CPU: no GPU provider was available (details in the log).`, 'Show Log')
              .then((a) => a && this.log.show());
        }
      }
      this.log.info(`model ${info.displayName} loaded on ${info.provider}`);
      this.modelChanged.fire(info);
      return info;
    })();
    this.modelLoad.catch((e: unknown) => {
      this.modelLoad = undefined;
      this.loadedParams = undefined;
      this.log.error(`model failed to load: ${(e as Error).message}`);
    });
    return this.modelLoad;
  }

  /** The what-if law changed, or a parameter of the law in use (another law's parameter changes nothing). */
  private lawChanged(keys: string[]): boolean {
    const law = this.config.whatIf.law;
    return (
      keys.includes('whatIf') ||
      (law === 'ssmax-s' && keys.includes('whatIfS')) ||
      (law === 'llama4' && (keys.includes('whatIfBeta') || keys.includes('whatIfFloor')))
    );
  }

  private reloadTimer: NodeJS.Timeout | undefined;

  /** One reload for settings written together (the law picker writes a parameter, then the law). */
  private scheduleReload(): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = undefined;
      // a write that leaves the load as it is (a setting written back to its value, or set and reset together) keeps
      // the model and every analysis: a reload would cancel the ones running
      if (this.loadedParams !== undefined && JSON.stringify(this.loadParams()) === this.loadedParams) return;
      void this.reloadModel();
    }, RELOAD_DEBOUNCE_MS);
  }

  private async reloadModel(): Promise<void> {
    this.rowsCache.clear();
    this.modelLoad = undefined;
    this.model = undefined;
    this.analyses.clear();
    this.modelChanged.fire(undefined);
    try {
      await this.ensureModel();
    } catch (e) {
      void vscode.window.showErrorMessage(`Attention Inspector: ${(e as Error).message}`);
      return;
    }
    for (const uri of this.tracked) this.schedule(uri, 0);
  }

  /** Text and line of each token of this analysis, computed once from the document at the analysed version. */
  tokenInfos(a: DocumentAnalysis): TokenInfo[] | undefined {
    if (a.infos) return a.infos;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === a.uri);
    if (!doc || doc.version !== a.version) return undefined;
    a.infos = tokenInfos(doc.getText(), a.tokens);
    return a.infos;
  }

  get(uri: string): DocumentAnalysis | undefined {
    return this.analyses.get(uri);
  }

  /** Analyses the document at its current version (or returns the one already running/done for it). */
  analyse(doc: vscode.TextDocument): Promise<DocumentAnalysis> {
    const uri = doc.uri.toString();
    this.tracked.add(uri);
    const cached = this.analyses.get(uri);
    const running = this.running.get(uri);
    const caps = `${this.config.maxTokens}:${this.config.memoryBudgetMb}`;
    if (cached && cached.version === doc.version && (cached.done || running) && this.caps.get(uri) === caps) return running ?? Promise.resolve(cached);
    this.caps.set(uri, caps);
    const version = doc.version;
    const text = doc.getText();
    const job = (async () => {
      await this.ensureModel();
      // closed or cancelled while the model was loading: there was nothing in the model process to cancel yet, so
      // don't start it now
      if (doc.isClosed) throw new EngineError('the document was closed', true);
      if (this.cancelRequested.has(uri)) throw new EngineError('the analysis was cancelled', true);
      const result = await this.engine.request('analyse', {
        docKey: uri,
        version,
        text,
        maxTokens: this.config.maxTokens,
        memoryBudgetMb: this.config.memoryBudgetMb,
      });
      const a = this.analyses.get(uri);
      if (!a || a.version !== version) throw new EngineError('superseded by a newer version', true);
      a.ms = result.ms;
      a.reused = result.reused;
      a.cappedByMemory = result.cappedByMemory;
      a.done = true;
      this.log.info(
        `analysed ${path.basename(doc.fileName)} v${version}: ${result.length} tokens in ${result.ms.toFixed(0)} ms (${result.reused} reused), ${(result.bytes / 2 ** 20).toFixed(0)} MiB`,
      );
      this.changed.fire(a);
      return a;
    })();
    this.running.set(uri, job);
    const clear = () => {
      if (this.running.get(uri) !== job) return;
      this.running.delete(uri);
      this.cancelRequested.delete(uri);
    };
    job.then(clear, () => {
      clear();
      // stopped short (cancelled, or the model process failed) with nothing else running for it: said to the views,
      // which would otherwise still show it as under way
      const a = this.analyses.get(uri);
      if (a && !a.done && !this.running.has(uri)) this.changed.fire(a);
    });
    return job;
  }
  /** Documents whose running analysis was cancelled (before the model process had it, the job itself must stop). */
  private readonly cancelRequested = new Set<string>();

  /** Stops the document's analysis, also while the model is still loading (the Cancel of the progress notification). */
  cancel(uri: string): void {
    if (this.running.has(uri)) this.cancelRequested.add(uri);
    void this.engine.request('cancel', { docKey: uri }).catch(() => undefined);
  }

  /** The cap each document's latest analysis was asked for (`maxTokens:memoryBudgetMb`). */
  private readonly caps = new Map<string, string>();

  /** Whether an analysis of the document is under way now. */
  isRunning(uri: string): boolean {
    return this.running.has(uri);
  }

  private schedule(uri: string, delay: number): void {
    clearTimeout(this.timers.get(uri));
    this.timers.set(
      uri,
      setTimeout(() => {
        this.timers.delete(uri);
        const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
        if (!doc) return;
        this.analyse(doc).catch((e: unknown) => {
          if (!(e instanceof EngineError && e.cancelled)) this.log.warn(`re-analysis failed: ${(e as Error).message}`);
        });
      }, delay),
    );
  }

  /**
   * The rows of one query and head. The panel, the editor highlights and the hover ask for the same (document,
   * version, position, head) on one click: one request answers all three (an analysed position's rows never change
   * for a version). `lean` (the hover): top keys and statistics without the two n-long rows, unless the full rows are
   * already here.
   */
  async rows(uri: string, version: number, position: number, head: HeadChoice, topK: number, opts: { lean?: boolean } = {}): Promise<RowsResult | undefined> {
    const key = `${uri}\0${version}\0${position}\0${head.layer}:${head.head}\0${topK}\0${this.config.sinkTokens}`;
    const full = this.rowsCache.get(key);
    if (full) return full;
    if (opts.lean) {
      const lean = this.rowsCache.get(`${key}\0lean`);
      if (lean) return lean;
    }
    const cacheKey = opts.lean ? `${key}\0lean` : key;
    const request = this.askAbout(uri, version, position, 'rows', {
      docKey: uri,
      version,
      position,
      head,
      topK,
      sinkTokens: this.config.sinkTokens,
      lean: opts.lean,
    });
    this.rowsCache.set(cacheKey, request);
    // a small recent set: the clicks of the last moments, not a store (the model process holds the analysis)
    while (this.rowsCache.size > ROWS_CACHE_SIZE) this.rowsCache.delete(this.rowsCache.keys().next().value as string);
    const result = await request;
    if (!result) this.rowsCache.delete(cacheKey); // not analysed yet, or replaced: ask again next time
    return result;
  }
  private readonly rowsCache = new Map<string, Promise<RowsResult | undefined>>();

  /** Every layer × head's summary for one query (undefined while that position is not analysed). */
  async heads(uri: string, version: number, position: number): Promise<HeadsResult | undefined> {
    return this.askAbout(uri, version, position, 'heads', { docKey: uri, version, position, sinkTokens: this.config.sinkTokens });
  }

  /** Focus statistics against context length over the analysed positions. */
  /** The most tokens an analysis takes (attentionInspector.maxTokens). */
  get tokenCap(): number {
    return this.config.maxTokens;
  }

  /** Keys counted as the attention sink (attentionInspector.sinkTokens) in what the views are sent. */
  get sinkTokens(): number {
    return this.config.sinkTokens;
  }

  /**
   * `withSink`: also the sink curve, whose sampled rows cost the model process up to a second on a long file; asked
   * for once the analysis is done, not on every update while it runs (they would slow the analysis itself).
   */
  async focusCurve(uri: string, version: number, head: HeadChoice, points: number, withSink: boolean): Promise<FocusCurveResult | undefined> {
    return this.askAbout(uri, version, 0, 'focusCurve', { docKey: uri, version, head, points, sinkTokens: withSink ? this.config.sinkTokens : undefined });
  }

  /**
   * Asks the model process about an analysed position of this version; undefined (logged) when the position is not
   * analysed yet, the version is not the one analysed, or the process cannot answer (a newer version replaced it).
   */
  private async askAbout<M extends 'rows' | 'heads' | 'focusCurve'>(
    uri: string,
    version: number,
    position: number,
    method: M,
    params: EngineMethods[M]['params'],
  ): Promise<EngineMethods[M]['result'] | undefined> {
    const a = this.analyses.get(uri);
    if (!a || a.version !== version || position >= a.analysed) return undefined;
    try {
      return await this.engine.request(method, params);
    } catch (e) {
      this.log.debug(`${method} unavailable: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Resolves when no analysis is running or scheduled (for the given document, or any), nor a model reload. */
  async whenIdle(uri?: string): Promise<void> {
    for (;;) {
      const pending = uri ? [this.running.get(uri)].filter((p): p is Promise<DocumentAnalysis> => !!p) : [...this.running.values()];
      // a model reload still waiting on its debounce would drop every analysis: not idle until it has decided
      const scheduled = (uri ? this.timers.has(uri) : this.timers.size > 0) || this.reloadTimer !== undefined;
      if (!pending.length && !scheduled) return;
      await Promise.allSettled(pending);
      if (scheduled) await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** What is alive (for the in-host tests of closing and deactivation). */
  resources(): { timers: number; running: number; tracked: number; analyses: number; modelLoads: number } {
    return { timers: this.timers.size, running: this.running.size, tracked: this.tracked.size, analyses: this.analyses.size, modelLoads: this.modelLoads };
  }

  forget(uri: string): void {
    this.tracked.delete(uri);
    this.caps.delete(uri);
    clearTimeout(this.timers.get(uri));
    this.timers.delete(uri);
    if (this.analyses.delete(uri) || this.running.has(uri)) void this.engine.request('forget', { docKey: uri }).catch(() => undefined);
  }

  dispose(): void {
    clearTimeout(this.reloadTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.engine.dispose();
    this.changed.dispose();
    this.modelChanged.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
