/**
 * Model comparison: a second shipped model (by default the main one's counterpart: softmax-trained beside
 * SSMax-trained, the retrofit beside its softmax source; `attentionInspector.compareModel` picks another) analyses the
 * inspected document too, so the panel can show both models' attention for the same token side by side. It runs in
 * the same model process (requests name the other model's manifest) and follows the primary analysis: a new
 * version of the document there starts one here, from the first changed token like any re-analysis.
 */
import * as vscode from 'vscode';
import { comparisonModel } from '../core/catalogue';
import { EngineError } from '../core/engineClient';
import type { LoadedModelInfo, RowsResult } from '../core/engineProtocol';
import type { HeadChoice } from '../protocol';
import type { AnalysisService } from './analyses';
import type { Config } from './config';

export interface ComparisonState {
  uri: string;
  version: number;
  analysed: number;
  length: number;
  done: boolean;
}

export class ComparisonService implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ComparisonState>();
  readonly onDidChange = this.changed.event;
  private state: ComparisonState | undefined;
  private enabledFor: string | undefined;
  other: LoadedModelInfo | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly analyses: AnalysisService,
    private readonly config: Config,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      this.changed,
      analyses.onDidChange((a) => {
        // a new version of the compared document: analyse it with the other model too
        if (a.uri === this.enabledFor && a.analysed === 0 && this.state?.version !== a.version) void this.start(a.uri);
      }),
      // a closed document's second analysis is dropped with it (the model process would otherwise keep it until
      // its LRU bound evicts it)
      vscode.workspace.onDidCloseTextDocument((doc) => doc.uri.toString() === this.enabledFor && void this.enable(undefined)),
      config.onDidChange((keys) => {
        // another cap: the primary analysis starts again on the same version, and so does this one (the version check
        // above would not see it)
        if ((keys.includes('maxTokens') || keys.includes('memoryBudgetMb')) && this.enabledFor) {
          this.state = undefined;
          void this.start(this.enabledFor);
        }
        if (!keys.includes('compareModel')) return;
        // another comparison model: drop the old one's analysis, then start over with the new one
        const uri = this.enabledFor;
        void this.enable(undefined).then(async () => {
          this.other = undefined;
          if (uri) await this.enable(uri);
        });
      }),
      analyses.onDidChangeModel(() => {
        this.other = undefined;
        this.state = undefined;
        if (this.enabledFor) void this.start(this.enabledFor);
      }),
    );
    const unsubscribe = analyses.engine.onEvent((e) => {
      if ((e.event !== 'tokens' && e.event !== 'progress') || e.model === undefined || e.model !== this.other?.manifestPath || e.docKey !== this.enabledFor)
        return;
      if (e.event === 'tokens') this.state = { uri: e.docKey, version: e.version, analysed: 0, length: e.tokens.ids.length, done: false };
      else if (this.state && this.state.version === e.version) {
        this.state.analysed = e.analysed;
        this.state.done = e.analysed >= e.length;
      } else return;
      this.changed.fire(this.state);
    });
    this.disposables.push({ dispose: unsubscribe });
  }

  /** The shipped model to compare the primary one with (never the primary itself). */
  otherManifestPath(): string | undefined {
    const primary = this.analyses.model;
    if (!primary) return undefined;
    const other = comparisonModel(
      this.analyses.catalogue.filter((e) => e.manifestPath !== primary.manifestPath),
      primary.id,
      this.config.compareModel,
    );
    return other?.manifestPath;
  }

  get current(): ComparisonState | undefined {
    return this.state;
  }

  /** Starts comparing on this document (undefined: stop, and free the other model's analysis). */
  async enable(uri: string | undefined): Promise<void> {
    if (uri === this.enabledFor) return;
    const before = this.enabledFor;
    this.enabledFor = uri;
    this.state = undefined;
    if (before && this.other) void this.analyses.engine.request('forget', { docKey: before, model: this.other.manifestPath }).catch(() => undefined);
    if (uri) await this.start(uri);
  }

  private async start(uri: string): Promise<void> {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
    if (!doc) return;
    try {
      await this.analyses.ensureModel();
      const manifestPath = this.otherManifestPath();
      if (!manifestPath) return;
      this.other ??= await this.analyses.engine.request('loadOther', { manifestPath, trainingContext: this.analyses.added.trainingContextOf(manifestPath) });
      const version = doc.version;
      const result = await this.analyses.engine.request('analyse', {
        docKey: uri,
        model: manifestPath,
        version,
        text: doc.getText(),
        maxTokens: this.config.maxTokens,
        memoryBudgetMb: this.config.memoryBudgetMb,
      });
      if (this.state?.uri === uri && this.state.version === version) {
        this.state.analysed = result.analysed;
        this.state.done = true;
        this.changed.fire(this.state);
      }
    } catch (e) {
      if (e instanceof EngineError && e.cancelled) return;
      this.log.warn(`comparison analysis failed: ${(e as Error).message}`);
      void vscode.window.showWarningMessage(`Attention Inspector: the comparison model could not analyse this document: ${(e as Error).message}`);
    }
  }

  async rows(uri: string, version: number, position: number, head: HeadChoice, topK: number): Promise<RowsResult | undefined> {
    const s = this.state;
    if (!this.other || !s || s.uri !== uri || s.version !== version || position >= s.analysed) return undefined;
    try {
      return await this.analyses.engine.request('rows', {
        docKey: uri,
        model: this.other.manifestPath,
        version,
        position,
        head,
        topK,
        sinkTokens: this.config.sinkTokens,
      });
    } catch (e) {
      this.log.debug(`comparison rows unavailable: ${(e as Error).message}`);
      return undefined;
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
