/**
 * The "Probe Key Retrieval" command: a passkey test modelled on the paper's key-retrieval experiment, on the user's
 * own document. A key-value line is planted at five depths of a copy of the document's first N tokens (the copy is a
 * string in the model process: the document is only read), the main model and the one Compare uses beside it are
 * asked for the value at the end, and the panel shows the attention on the value and each model's answer as the
 * results arrive.
 */
import * as path from 'node:path';
import { randomInt } from 'node:crypto';
import * as vscode from 'vscode';
import { EngineError } from '../core/engineClient';
import { DEFAULT_PROBE, needleLine, questionText } from '../core/probe';
import type { ProbePayload } from '../protocol';
import type { AnalysisService } from './analyses';
import { withJobProgress } from './jobProgress';

/** What a command that runs on a copy of the document (probe, retrieval heads, needle map) needs. */
export interface CopyRunDeps {
  analyses: AnalysisService;
  /** The manifest of the model run beside the main one (the comparison model), if any. */
  secondModel: () => string | undefined;
  log: vscode.LogOutputChannel;
  /** The document the command is for when none is given: the active editor's, else the panel's. */
  targetDocument: () => Promise<vscode.TextDocument | undefined>;
}

export interface ProbeDeps extends CopyRunDeps {
  /** Shows the panel on this document and gives the function that posts probe results to it. */
  showPanel: (uri: string) => (probe: ProbePayload) => void;
}

const CONTEXTS = [512, 2048, 4096, 8192, 16384];
const DEFAULT_CONTEXT = 4096;

/** Asks how many of the document's tokens a copy-based run (probe, retrieval heads) takes; `preferred` is listed first. */
export async function pickContext(
  trainingContext: number,
  documentTokens: number | undefined,
  preferred = DEFAULT_CONTEXT,
  placeHolder = 'How much of the document to probe (a copy of its first tokens; the document is not changed)',
): Promise<number | undefined> {
  const sizes = CONTEXTS.includes(preferred) ? CONTEXTS : [preferred, ...CONTEXTS].sort((a, b) => a - b);
  const items = sizes.map((n) => ({
    label: `${n.toLocaleString('en-US')} tokens`,
    description: `${Number((n / trainingContext).toPrecision(2))}× the training length${documentTokens !== undefined && documentTokens < n ? ` (the document has about ${documentTokens.toLocaleString('en-US')})` : ''}`,
    n,
    picked: n === preferred,
  }));
  const sorted = [...items.filter((i) => i.n === preferred), ...items.filter((i) => i.n !== preferred)];
  const pick = await vscode.window.showQuickPick(sorted, { placeHolder });
  return pick?.n;
}

let probeCount = 0;

/** Runs the probe on `uri` (or the active editor's document); resolves with the final payload (undefined: not run). */
export async function probeKeyRetrieval(deps: ProbeDeps, uri?: vscode.Uri, contextTokens?: number): Promise<ProbePayload | undefined> {
  // from the palette while the panel has the focus there is no active editor: the panel's document is meant
  const doc = uri ? await vscode.workspace.openTextDocument(uri) : await deps.targetDocument();
  if (!doc) {
    void vscode.window.showInformationMessage('Attention Inspector: open a text document to probe.');
    return undefined;
  }
  const text = doc.getText();
  if (!text.trim()) {
    void vscode.window.showInformationMessage('Attention Inspector: the document is empty; the probe needs some text to hide the key in.');
    return undefined;
  }
  const model = await deps.analyses.ensureModel();
  const docUri = doc.uri.toString();
  const context = contextTokens ?? (await pickContext(model.trainingContext, deps.analyses.get(docUri)?.tokens.totalTokens));
  if (!context) return undefined;

  const value = String(randomInt(10000, 100000));
  const second = deps.secondModel();
  const models = [model.manifestPath, ...(second && second !== model.manifestPath ? [second] : [])];
  const payload: ProbePayload = {
    fileName: doc.fileName,
    needle: needleLine(DEFAULT_PROBE.key, value),
    question: questionText(DEFAULT_PROBE.key),
    expected: value,
    trainingContext: model.trainingContext,
    depths: [],
    completedRuns: 0,
    totalRuns: DEFAULT_PROBE.depths.length * models.length,
    done: false,
  };
  const post = deps.showPanel(docUri);
  post(payload);
  const probeKey = `probe:${++probeCount}`;
  const engine = deps.analyses.engine;
  const unsubscribe = engine.onEvent((e) => {
    if (e.event !== 'probe' || e.probeKey !== probeKey) return;
    payload.depths = [...payload.depths.filter((d) => d.depth !== e.result.depth), e.result].sort((a, b) => a.depth - b.depth);
    payload.completedRuns = e.completed;
    post({ ...payload });
  });
  try {
    await withJobProgress(
      engine,
      `Probing key retrieval in ${path.basename(doc.fileName)}`,
      probeKey,
      (e) => (e.event === 'probe' && e.probeKey === probeKey ? { completed: e.completed, total: e.total, unit: 'runs' } : undefined),
      () => engine.request('probe', { probeKey, text, key: DEFAULT_PROBE.key, value, depths: [...DEFAULT_PROBE.depths], contextTokens: context, models }),
    );
    payload.done = true;
    deps.log.info(
      `probe of ${path.basename(doc.fileName)} (${context} tokens, value ${value}): ` +
        payload.depths
          .map(
            (d) =>
              `depth ${d.depth}: ${d.models.map((m) => `${m.normaliser} ${(m.best[m.normaliser] * 100).toFixed(1)}% ${JSON.stringify(m.prediction)}`).join(', ')}`,
          )
          .join('; '),
    );
  } catch (e) {
    payload.done = true;
    payload.error = e instanceof EngineError && e.cancelled ? 'cancelled' : (e as Error).message;
    if (payload.error !== 'cancelled' && !/cancelled/.test(payload.error)) {
      deps.log.error(`probe failed: ${payload.error}`);
      void vscode.window.showErrorMessage(`Attention Inspector: the probe failed: ${payload.error}`);
    }
  } finally {
    unsubscribe();
  }
  post({ ...payload });
  return payload;
}
