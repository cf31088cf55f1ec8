/**
 * Status bar: the model, the execution provider actually in use, and the last analysis (time or progress).
 * Clicking it offers the settings and the other actions.
 */
import * as vscode from 'vscode';
import { PROVIDER_LABEL } from '../core/providers';
import type { AnalysisService } from './analyses';

export class AttentionStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('attentionInspector.status', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly analyses: AnalysisService) {
    this.item.name = 'Attention Inspector';
    this.item.command = 'attentionInspector.statusMenu';
    this.disposables.push(
      analyses.onDidChangeModel(() => this.render()),
      analyses.onDidChange(() => this.render()),
      vscode.window.onDidChangeActiveTextEditor(() => this.render()),
    );
    this.render();
  }

  render(): void {
    const m = this.analyses.model;
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    const a = uri ? this.analyses.get(uri) : undefined;
    if (!m) {
      this.item.text = '$(eye) Attention';
      this.item.tooltip = 'Attention Inspector: no model loaded yet (run "Attention: Inspect Attention")';
      this.item.show();
      return;
    }
    const provider = PROVIDER_LABEL[m.provider];
    let last = '';
    if (a && !a.done) last = this.analyses.isRunning(a.uri) ? ` · $(sync~spin) ${a.analysed}/${a.length}` : ` · stopped at ${a.analysed}/${a.length}`;
    else if (a) last = ` · ${a.length} tok in ${(a.ms / 1000).toFixed(1)} s`;
    this.item.text = `$(eye) ${m.displayName} · ${provider}${last}`;
    const skipped = m.skipped.map((s) => `\n- ${PROVIDER_LABEL[s.provider]} skipped: ${s.reason}`).join('');
    this.item.tooltip = new vscode.MarkdownString(
      `**Attention Inspector**\n\nModel: ${m.displayName}: ${m.summary} (own normaliser ${m.normaliser === 'ssmax' ? 'SSMax' : 'softmax'}, training context ${m.trainingContext})${m.normaliser === 'softmax' && m.whatIf ? `\n\nWhat-if view: ${m.whatIf.label}, ${m.whatIf.formula} (Attention: Choose What-If Scaling Law…)` : ''}\n\nExecution provider: **${provider}**${skipped}\n\nClick for settings and actions.`,
    );
    this.item.show();
  }

  /** What the item shows and runs when clicked. */
  get state(): { text: string; command: string | undefined } {
    const c = this.item.command;
    return { text: this.item.text, command: typeof c === 'string' ? c : c?.command };
  }

  dispose(): void {
    this.item.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
