/**
 * "Attention: Find Retrieval Heads": scores every head of the main model (and of the comparison model, when Compare
 * has one) the way Wu et al. 2024 do, on a copy of the document's first tokens with some of its own spans repeated
 * at the end (src/core/retrieval.ts; the copy is a string in the model process, the document is only read), then
 * ranks the main model's heads in a quick pick: moving through it shows each head in the panel, Enter keeps it,
 * Escape goes back to the head before.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineError } from '../core/engineClient';
import type { RetrievalModelResult } from '../core/retrieval';
import { headLabel, type HeadChoice } from '../core/domain';
import { withJobProgress } from './jobProgress';
import { pickContext, type CopyRunDeps } from './probe';

/** secondModel: the comparison model, if any, is scored too (its ranking goes to the log). */
export interface RetrievalDeps extends CopyRunDeps {
  currentHead: () => HeadChoice;
  /** Shows `head` of the main model on the document (opening the panel on it if needed). */
  showHead: (uri: string, head: HeadChoice) => void;
}

let runs = 0;

const pct = (x: number) => `${(100 * x).toFixed(0)} %`;

/** One line per head for the log: the ranking of a model. */
export function describeRanking(r: RetrievalModelResult, top = 5): string {
  const heads = r.heads
    .slice(0, top)
    .map((h) => `${headLabel(h)} ${h.score.toFixed(2)} (weight softmax ${h.weight.softmax.toFixed(2)}, SSMax ${h.weight.ssmax.toFixed(2)})`)
    .join('; ');
  return `${r.displayName}: ${r.contextTokens} tokens, copied ${r.copied} of ${r.steps} repeated tokens; top heads ${heads}`;
}

/** Runs the scoring; resolves with every model's result (undefined: not run, cancelled or failed). */
export async function findRetrievalHeads(
  deps: RetrievalDeps,
  uri?: vscode.Uri,
  contextTokens?: number,
  pick = true,
): Promise<RetrievalModelResult[] | undefined> {
  const doc = uri ? await vscode.workspace.openTextDocument(uri) : await deps.targetDocument();
  if (!doc) {
    void vscode.window.showInformationMessage('Attention Inspector: open a text document to find retrieval heads in.');
    return undefined;
  }
  const text = doc.getText();
  if (!text.trim()) {
    void vscode.window.showInformationMessage('Attention Inspector: the document is empty; finding retrieval heads needs text to repeat.');
    return undefined;
  }
  const model = await deps.analyses.ensureModel();
  const docUri = doc.uri.toString();
  const context =
    contextTokens ??
    (await pickContext(
      model.trainingContext,
      deps.analyses.get(docUri)?.tokens.totalTokens,
      model.trainingContext,
      'How much of the document to copy (its first tokens, then three of its spans repeated; the document is not changed)',
    ));
  if (!context) return undefined;
  const second = deps.secondModel();
  const models = [model.manifestPath, ...(second && second !== model.manifestPath ? [second] : [])];
  const jobKey = `retrieval:${++runs}`;
  const engine = deps.analyses.engine;
  let results: RetrievalModelResult[];
  try {
    results = await withJobProgress(
      engine,
      `Finding retrieval heads in ${path.basename(doc.fileName)}`,
      jobKey,
      (e) => (e.event === 'retrieval' && e.jobKey === jobKey ? { completed: e.completed, total: e.total, unit: 'repeated tokens' } : undefined),
      () => engine.request('retrievalHeads', { jobKey, text, contextTokens: context, models }),
    );
  } catch (e) {
    const message = (e as Error).message;
    if (!(e instanceof EngineError && e.cancelled) && !/cancelled/.test(message)) {
      deps.log.error(`retrieval heads failed: ${message}`);
      void vscode.window.showErrorMessage(`Attention Inspector: could not find retrieval heads: ${message}`);
    }
    return undefined;
  }
  deps.log.info(`retrieval heads of ${path.basename(doc.fileName)} (${context} tokens): ${results.map((r) => describeRanking(r)).join(' | ')}`);
  if (pick) await pickRetrievalHead(deps, docUri, results);
  return results;
}

/** The main model's heads, ranked; the active row is shown in the panel as the user moves, Escape restores the head. */
async function pickRetrievalHead(deps: RetrievalDeps, docUri: string, results: RetrievalModelResult[]): Promise<void> {
  const [main, other] = results;
  if (!main.steps) {
    void vscode.window.showWarningMessage(
      'Attention Inspector: no repeated token survived tokenisation in the copy, so no head could be scored (is the document mostly one line?).',
    );
    return;
  }
  const own = main.normaliser === 'ssmax' ? 'SSMax' : 'softmax';
  const items = main.heads.map((h) => ({
    label: headLabel(h),
    description: `retrieval score ${h.score.toFixed(2)} (${h.hits} of ${main.steps})`,
    detail: `weight on the copied token: softmax ${h.weight.softmax.toFixed(2)} · SSMax ${h.weight.ssmax.toFixed(2)} (${own} is this model's own)`,
    head: { layer: h.layer, head: h.head },
  }));
  const before = deps.currentHead();
  const quick = vscode.window.createQuickPick<(typeof items)[number]>();
  quick.items = items;
  quick.matchOnDescription = true;
  quick.title = `Retrieval heads of ${main.displayName}: it copied ${main.copied} of ${main.steps} repeated tokens (${pct(main.copied / main.steps)}) in ${main.contextTokens} tokens`;
  quick.placeholder = other
    ? `${other.displayName}: copied ${other.copied} of ${other.steps}, top ${headLabel(other.heads[0])} ${other.heads[0].score.toFixed(2)} (its ranking: Show Log)`
    : 'A head scores when the model copies a token and the head looks hardest at its earlier occurrence (Wu et al. 2024)';
  let accepted = false;
  await new Promise<void>((resolve) => {
    quick.onDidChangeActive(([item]) => {
      if (item) deps.showHead(docUri, item.head);
    });
    quick.onDidAccept(() => {
      const item = quick.selectedItems[0] ?? quick.activeItems[0];
      if (item) {
        accepted = true;
        deps.showHead(docUri, item.head);
      }
      quick.hide();
    });
    quick.onDidHide(() => {
      if (!accepted) deps.showHead(docUri, before);
      quick.dispose();
      resolve();
    });
    quick.show();
  });
}
