/**
 * Hovering a token of an inspected document shows where it attends, for the selected layer/head, under both
 * normalisers. The hovered token is the query; nothing is computed for documents that were not inspected.
 */
import * as vscode from 'vscode';
import { hoverPastCap } from '../core/cap';
import { tokenAtOffset, tokenLabel } from '../core/tokenText';
import { headLabel } from '../protocol';
import type { AnalysisService } from './analyses';
import type { SelectionState } from './selection';

const pct = (v: number) => `${(v * 100).toFixed(v >= 0.1 ? 1 : 2)}%`;

export class AttentionHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly analyses: AnalysisService,
    private readonly selection: SelectionState,
    private readonly topK: () => number,
  ) {}

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const uri = doc.uri.toString();
    const a = this.analyses.get(uri);
    const model = this.analyses.model;
    if (!a || !model || a.version !== doc.version) return undefined;
    const offset = doc.offsetAt(pos);
    const i = tokenAtOffset(a.tokens, offset);
    if (i < 0) {
      const why = hoverPastCap(a.length, a.tokens.totalTokens, a.length ? a.tokens.ends[a.length - 1] : 0, offset, a.cappedByMemory === true);
      return why ? new vscode.Hover(new vscode.MarkdownString(why)) : undefined;
    }
    if (i >= a.analysed) {
      // the analysis runs from the first token on: a token's attention depends on every token before it
      return new vscode.Hover(
        new vscode.MarkdownString(
          `**Attention**: token ${i} is not analysed yet (${a.analysed} of ${a.length}); the analysis goes in document order, because a token's attention depends on every token before it.`,
        ),
      );
    }
    const head = this.selection.current.head;
    // the same request as the panel's and the highlights' (one cached answer per click), lean when it is the first
    const rows = await this.analyses.rows(uri, a.version, i, head, this.topK(), { lean: true });
    if (!rows || token.isCancellationRequested) return undefined;
    const infos = this.analyses.tokenInfos(a);
    if (!infos) return undefined;
    const own = model.normaliser;
    const mark = (n: 'softmax' | 'ssmax') => (n === own ? ' (model)' : '');
    // a softmax-trained model's length-scaled view is the what-if, named by its law (SSMax by default)
    const scaled = own === 'softmax' && model.whatIf ? model.whatIf.label : 'SSMax'; // our own labels (whatIf.ts), no markdown in them
    const md = new vscode.MarkdownString(undefined, true);
    md.isTrusted = false;
    md.supportHtml = false;
    md.appendMarkdown(
      `**Attention** of \`${escapeCode(tokenLabel(infos[i].text))}\` · position n = ${rows.n} · ${headLabel(head)} · ${escapeMd(model.displayName)}\n\n`,
    );
    md.appendMarkdown(`| # | token | line | softmax${mark('softmax')} | ${scaled}${mark('ssmax')} |\n|---:|---|---:|---:|---:|\n`);
    rows.top.slice(0, 8).forEach((t, r) => {
      const info = infos[t.position];
      md.appendMarkdown(`| ${r + 1} | \`${escapeCode(tokenLabel(info.text))}\` | ${info.line + 1} | ${pct(t.softmax)} | ${pct(t.ssmax)} |\n`);
    });
    const s = rows.stats;
    md.appendMarkdown(
      `\nmax weight: softmax ${pct(s.softmax.maxWeight)} · ${scaled} ${pct(s.ssmax.maxWeight)}  \nentropy: softmax ${s.softmax.entropy.toFixed(2)} · ${scaled} ${s.ssmax.entropy.toFixed(2)} nats (uniform ${Math.log(rows.n).toFixed(2)})` +
        `  \nsink (first ${rows.sinkTokens} tokens): softmax ${pct(rows.sink.softmax)} · ${scaled} ${pct(rows.sink.ssmax)}`,
    );
    const range = new vscode.Range(doc.positionAt(a.tokens.starts[i]), doc.positionAt(a.tokens.ends[i]));
    return new vscode.Hover(md, range);
  }
}

function escapeCode(s: string): string {
  return s.replace(/`/g, 'ˋ').replace(/\|/g, '¦');
}
function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}
