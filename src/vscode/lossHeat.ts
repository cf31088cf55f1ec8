/**
 * "Attention: Toggle Loss Heat": each token of the inspected document underlined by how badly the model predicted
 * it (its next-token loss in nats, from the analysis, at no extra cost), or, with Compare on, by the difference
 * between the two models token by token (red: the main model is worse there, green: better). The mean per position
 * bucket (0–N, N–4N, …) is said once when it is turned on and kept in the log: where on this file a model stops
 * predicting, the paper's long-context loss result on the user's own file. The document is only read.
 */
import * as vscode from 'vscode';
import { lossBuckets, lossDifference, type LossBucket } from '../core/loss';
import type { AnalysisService } from './analyses';
import type { ComparisonService } from './comparison';
import type { SelectionState } from './selection';

/** Loss in nats from which a token is marked, one level per step (a uniform guess over 4,096 tokens costs 8.3). */
const LOSS_LEVELS = [3, 5, 7, 9, 11];
/** |difference| in nats per level. */
const DIFF_LEVELS = [0.5, 1, 2, 4];

function levelOf(v: number, steps: readonly number[]): number {
  let l = -1;
  for (let i = 0; i < steps.length; i++) if (v >= steps[i]) l = i;
  return l;
}

export interface LossHeatState {
  uri: string;
  mode: 'off' | 'loss' | 'difference';
  /** Tokens underlined. */
  marked: number;
  buckets: LossBucket[];
  /** The comparison model's buckets, in difference mode. */
  otherBuckets?: LossBucket[];
}

export class LossHeat implements vscode.Disposable {
  private on = false;
  private readonly lossTypes: vscode.TextEditorDecorationType[];
  private readonly worseTypes: vscode.TextEditorDecorationType[];
  private readonly betterTypes: vscode.TextEditorDecorationType[];
  private readonly disposables: vscode.Disposable[] = [];
  private ticket = 0;
  state: LossHeatState = { uri: '', mode: 'off', marked: 0, buckets: [] };

  constructor(
    private readonly analyses: AnalysisService,
    private readonly comparison: ComparisonService,
    private readonly selection: SelectionState,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const underline = (colour: string, width: number) =>
      vscode.window.createTextEditorDecorationType({
        borderStyle: 'solid',
        borderWidth: `0 0 ${width}px 0`,
        borderColor: colour,
        overviewRulerColor: colour,
        overviewRulerLane: vscode.OverviewRulerLane.Full,
      });
    this.lossTypes = LOSS_LEVELS.map((_, l) => underline(`rgba(230, 60, 60, ${(0.3 + (0.7 * (l + 1)) / LOSS_LEVELS.length).toFixed(2)})`, l >= 2 ? 3 : 2));
    this.worseTypes = DIFF_LEVELS.map((_, l) => underline(`rgba(230, 60, 60, ${(0.35 + (0.65 * (l + 1)) / DIFF_LEVELS.length).toFixed(2)})`, l >= 2 ? 3 : 2));
    this.betterTypes = DIFF_LEVELS.map((_, l) => underline(`rgba(40, 180, 90, ${(0.35 + (0.65 * (l + 1)) / DIFF_LEVELS.length).toFixed(2)})`, l >= 2 ? 3 : 2));
    this.disposables.push(
      analyses.onDidChange((a) => this.on && a.uri === selection.current.uri && a.done && void this.refresh()),
      selection.onDidChange(() => this.on && void this.refresh()),
      vscode.window.onDidChangeVisibleTextEditors(() => this.on && void this.refresh()),
    );
  }

  get enabled(): boolean {
    return this.on;
  }

  async toggle(): Promise<LossHeatState> {
    this.on = !this.on;
    await this.refresh();
    if (this.on && this.state.buckets.length) {
      const fmt = (b: LossBucket[]) => b.map((x) => `${x.from.toLocaleString('en-US')}–${x.to.toLocaleString('en-US')}: ${x.mean.toFixed(2)}`).join(' · ');
      const main = `${this.analyses.model?.displayName}: ${fmt(this.state.buckets)}`;
      const other = this.state.otherBuckets ? `; ${this.comparison.other?.displayName}: ${fmt(this.state.otherBuckets)}` : '';
      const msg = `Next-token loss on this file, nats per token by position (${this.state.mode === 'difference' ? 'underlined: red where the main model is worse than the comparison, green where better' : 'underlined from 3 nats'}): ${main}${other}`;
      this.log.info(msg);
      void vscode.window.showInformationMessage(`Attention Inspector: ${msg}`);
    } else if (this.on) {
      void vscode.window.showInformationMessage(
        'Attention Inspector: inspect a document first ("Attention: Inspect Attention"); its loss heat appears when its analysis is done.',
      );
    }
    return this.state;
  }

  async refresh(): Promise<void> {
    const ticket = ++this.ticket;
    const uri = this.selection.current.uri;
    const editors = vscode.window.visibleTextEditors;
    const clear = (mode: LossHeatState['mode'] = 'off') => {
      for (const e of editors) this.apply(e, [], [], []);
      this.state = { uri: uri ?? '', mode, marked: 0, buckets: [] };
    };
    if (!this.on || !uri) return clear();
    const a = this.analyses.get(uri);
    if (!a || !a.done) return clear('loss');
    const main = await this.analyses.engine.request('loss', { docKey: uri, version: a.version }).catch(() => undefined);
    if (ticket !== this.ticket) return;
    if (!main) return clear('loss');
    // with Compare on and its analysis of this version done (same tokens): the difference, token by token
    const c = this.comparison.current;
    const otherPath = this.comparison.other?.manifestPath;
    const other =
      c && otherPath && c.uri === uri && c.version === a.version && c.done
        ? await this.analyses.engine.request('loss', { docKey: uri, version: a.version, model: otherPath }).catch(() => undefined)
        : undefined;
    if (ticket !== this.ticket) return;
    const sameTokens = !!other && other.ids.length === main.ids.length && other.ids.every((id, i) => id === main.ids[i]);
    const values = sameTokens && other ? lossDifference(main.nll, other.nll) : main.nll;
    const lossLevels: vscode.Range[][] = LOSS_LEVELS.map(() => []);
    const worse: vscode.Range[][] = DIFF_LEVELS.map(() => []);
    const better: vscode.Range[][] = DIFF_LEVELS.map(() => []);
    let marked = 0;
    for (const e of editors) {
      if (e.document.uri.toString() !== uri || e.document.version !== a.version) {
        this.apply(e, [], [], []);
        continue;
      }
      // token t is marked by the loss of predicting it: the value at position t - 1
      for (let t = 1; t < a.analysed; t++) {
        const v = values[t - 1];
        if (!Number.isFinite(v)) continue;
        const range = () => new vscode.Range(e.document.positionAt(a.tokens.starts[t]), e.document.positionAt(a.tokens.ends[t]));
        if (sameTokens) {
          const l = levelOf(Math.abs(v), DIFF_LEVELS);
          if (l >= 0) (v > 0 ? worse : better)[l].push(range());
        } else {
          const l = levelOf(v, LOSS_LEVELS);
          if (l >= 0) lossLevels[l].push(range());
        }
      }
      marked = [...lossLevels, ...worse, ...better].reduce((n, r) => n + r.length, 0);
      this.apply(e, lossLevels, worse, better);
    }
    this.state = {
      uri,
      mode: sameTokens ? 'difference' : 'loss',
      marked,
      buckets: lossBuckets(main.nll, main.trainingContext),
      otherBuckets: sameTokens && other ? lossBuckets(other.nll, other.trainingContext) : undefined,
    };
  }

  private apply(e: vscode.TextEditor, loss: vscode.Range[][], worse: vscode.Range[][], better: vscode.Range[][]): void {
    this.lossTypes.forEach((t, l) => e.setDecorations(t, loss[l] ?? []));
    this.worseTypes.forEach((t, l) => e.setDecorations(t, worse[l] ?? []));
    this.betterTypes.forEach((t, l) => e.setDecorations(t, better[l] ?? []));
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    for (const t of [...this.lossTypes, ...this.worseTypes, ...this.betterTypes]) t.dispose();
  }
}
