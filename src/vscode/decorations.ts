/**
 * Editor decorations for the selected query token: the tokens it attends to (top-k) get a background whose
 * intensity is the softmax weight, and, with the overlay on, an outline whose intensity is the SSMax weight; both are
 * marked on the overview ruler, so in a long file one sees where attention lands far away.
 */
import * as vscode from 'vscode';
import type { HeadChoice } from '../protocol';
import type { AnalysisService } from './analyses';
import type { SelectionState } from './selection';

const LEVELS = 5;

function level(weight: number, max: number): number {
  if (max <= 0 || weight <= 0) return -1;
  return Math.min(LEVELS - 1, Math.floor((weight / max) * LEVELS));
}

export class AttentionDecorations implements vscode.Disposable {
  private readonly softmaxTypes: vscode.TextEditorDecorationType[];
  private readonly ssmaxTypes: vscode.TextEditorDecorationType[];
  private readonly queryType: vscode.TextEditorDecorationType;
  private readonly disposables: vscode.Disposable[] = [];
  private ticket = 0;
  /** What is drawn now (for tests and the status of the overlay): counts per kind, for which query and head. */
  lastDrawn: { uri: string; softmax: number; ssmax: number; position?: number; head?: HeadChoice } = { uri: '', softmax: 0, ssmax: 0 };

  constructor(
    private readonly analyses: AnalysisService,
    private readonly selection: SelectionState,
    private readonly topK: () => number,
  ) {
    this.softmaxTypes = Array.from({ length: LEVELS }, (_, l) => {
      const alpha = 0.15 + (0.6 * (l + 1)) / LEVELS;
      return vscode.window.createTextEditorDecorationType({
        backgroundColor: `rgba(255, 140, 0, ${alpha.toFixed(2)})`,
        overviewRulerColor: `rgba(255, 140, 0, ${Math.min(1, alpha + 0.2).toFixed(2)})`,
        overviewRulerLane: vscode.OverviewRulerLane.Left,
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      });
    });
    this.ssmaxTypes = Array.from({ length: LEVELS }, (_, l) => {
      const alpha = 0.35 + (0.65 * (l + 1)) / LEVELS;
      return vscode.window.createTextEditorDecorationType({
        outlineColor: `rgba(0, 170, 255, ${alpha.toFixed(2)})`,
        outlineStyle: 'solid',
        outlineWidth: `${l >= 3 ? 2 : 1}px`,
        overviewRulerColor: `rgba(0, 170, 255, ${alpha.toFixed(2)})`,
        overviewRulerLane: vscode.OverviewRulerLane.Right,
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      });
    });
    this.queryType = vscode.window.createTextEditorDecorationType({
      border: '1px dashed',
      borderColor: new vscode.ThemeColor('editorCursor.foreground'),
      overviewRulerColor: new vscode.ThemeColor('editorCursor.foreground'),
      overviewRulerLane: vscode.OverviewRulerLane.Center,
    });
    this.disposables.push(
      selection.onDidChange(() => void this.refresh()),
      analyses.onDidChange((a) => a.uri === selection.current.uri && a.done && void this.refresh()),
      vscode.window.onDidChangeVisibleTextEditors(() => void this.refresh()),
    );
  }

  async refresh(): Promise<void> {
    const ticket = ++this.ticket;
    const s = this.selection.current;
    const editors = vscode.window.visibleTextEditors;
    const clearAll = () => {
      for (const e of editors) this.apply(e, [], [], undefined);
      this.lastDrawn = { uri: '', softmax: 0, ssmax: 0 };
    };
    if (!s.uri || s.position === undefined) return clearAll();
    const a = this.analyses.get(s.uri);
    if (!a) return clearAll();
    const rows = await this.analyses.rows(s.uri, a.version, s.position, s.head, this.topK());
    if (ticket !== this.ticket) return;
    if (!rows) return clearAll();
    const softmaxBuckets: vscode.Range[][] = Array.from({ length: LEVELS }, () => []);
    const ssmaxBuckets: vscode.Range[][] = Array.from({ length: LEVELS }, () => []);
    let nSoftmax = 0;
    let nSsmax = 0;
    for (const e of editors) {
      if (e.document.uri.toString() !== s.uri) {
        continue;
      }
      if (e.document.version !== a.version) continue;
      const range = (p: number) => new vscode.Range(e.document.positionAt(a.tokens.starts[p]), e.document.positionAt(a.tokens.ends[p]));
      const maxSoft = Math.max(...rows.top.map((t) => t.softmax));
      const maxSs = Math.max(...rows.top.map((t) => t.ssmax));
      for (const t of rows.top) {
        const ls = level(t.softmax, maxSoft);
        if (ls >= 0) softmaxBuckets[ls].push(range(t.position));
        const lo = level(t.ssmax, maxSs);
        if (s.overlay && lo >= 0) ssmaxBuckets[lo].push(range(t.position));
      }
      nSoftmax = softmaxBuckets.reduce((n, b) => n + b.length, 0);
      nSsmax = ssmaxBuckets.reduce((n, b) => n + b.length, 0);
      this.apply(e, softmaxBuckets, ssmaxBuckets, range(s.position));
    }
    for (const e of editors) if (e.document.uri.toString() !== s.uri) this.apply(e, [], [], undefined);
    this.lastDrawn = { uri: s.uri, softmax: nSoftmax, ssmax: nSsmax, position: s.position, head: s.head };
  }

  private apply(e: vscode.TextEditor, soft: vscode.Range[][], ss: vscode.Range[][], query: vscode.Range | undefined): void {
    this.softmaxTypes.forEach((t, l) => e.setDecorations(t, soft[l] ?? []));
    this.ssmaxTypes.forEach((t, l) => e.setDecorations(t, ss[l] ?? []));
    e.setDecorations(this.queryType, query ? [query] : []);
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    for (const t of [...this.softmaxTypes, ...this.ssmaxTypes, this.queryType]) t.dispose();
  }
}
