/**
 * "Attention: Needle Map": the passkey probe over a grid of context lengths × depths, each cell over several
 * haystacks cut from different places of the document (copies in the model process: the document is only read),
 * for the main model and the comparison model. The panel's Needle map tab fills in cell by cell; Cancel stops it.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EngineError } from '../core/engineClient';
import type { NeedleMapPayload } from '../protocol';
import { withJobProgress } from './jobProgress';
import type { CopyRunDeps } from './probe';

export interface NeedleMapDeps extends CopyRunDeps {
  /** Shows the panel on this document and gives the function that posts needle maps to it. */
  showPanel: (uri: string) => (map: NeedleMapPayload) => void;
}

export interface NeedleGrid {
  lengths: number[];
  depths: number[];
  haystacks: number;
}

/** The grids offered: lengths in multiples of the training length, up to the token cap. */
export function needleGrids(trainingContext: number, cap: number): (NeedleGrid & { label: string })[] {
  const upTo = (multiples: number[]) => [...new Set(multiples.map((m) => Math.min(cap, Math.round(m * trainingContext))))].filter((n) => n >= 64);
  const grids = [
    { lengths: upTo([0.5, 1, 2]), depths: [0, 0.5, 1], haystacks: 2 },
    { lengths: upTo([0.5, 1, 2, 4, 8]), depths: [0, 0.25, 0.5, 0.75, 1], haystacks: 3 },
    { lengths: upTo([1, 4, 16, 32]), depths: [0, 0.25, 0.5, 0.75, 1], haystacks: 3 },
  ];
  return grids
    .filter((g) => g.lengths.length > 0)
    .map((g) => ({
      ...g,
      label: `${g.lengths.length} lengths × ${g.depths.length} depths, ${g.haystacks} haystacks each (${g.lengths.map((n) => n.toLocaleString('en-US')).join(' / ')} tokens)`,
    }));
}

let runs = 0;

/** Runs a needle map on `uri` (or the command's document); resolves with the final payload (undefined: not run). */
export async function needleMap(deps: NeedleMapDeps, uri?: vscode.Uri, grid?: NeedleGrid): Promise<NeedleMapPayload | undefined> {
  const doc = uri ? await vscode.workspace.openTextDocument(uri) : await deps.targetDocument();
  if (!doc) {
    void vscode.window.showInformationMessage('Attention Inspector: open a text document for the needle map.');
    return undefined;
  }
  const text = doc.getText();
  if (!text.trim()) {
    void vscode.window.showInformationMessage('Attention Inspector: the document is empty; the needle map needs text to hide the key in.');
    return undefined;
  }
  const model = await deps.analyses.ensureModel();
  let chosen = grid;
  if (!chosen) {
    const items = needleGrids(model.trainingContext, deps.analyses.tokenCap);
    chosen = await vscode.window.showQuickPick(items, {
      placeHolder: 'Which grid (copies of the document; the document is not changed). Larger grids take minutes.',
    });
    if (!chosen) return undefined;
  }
  const second = deps.secondModel();
  const models = [model.manifestPath, ...(second && second !== model.manifestPath ? [second] : [])];
  const payload: NeedleMapPayload = {
    fileName: doc.fileName,
    lengths: chosen.lengths,
    depths: chosen.depths,
    haystacks: chosen.haystacks,
    trainingContext: model.trainingContext,
    cells: [],
    completedRuns: 0,
    totalRuns: chosen.lengths.length * chosen.depths.length * chosen.haystacks * models.length,
    done: false,
  };
  const post = deps.showPanel(doc.uri.toString());
  post({ ...payload });
  const jobKey = `needle:${++runs}`;
  const engine = deps.analyses.engine;
  const unsubscribe = engine.onEvent((e) => {
    if (e.event !== 'needleMap' || e.jobKey !== jobKey) return;
    payload.cells = [...payload.cells, e.cell];
    payload.completedRuns = e.completed;
    post({ ...payload });
  });
  try {
    await withJobProgress(
      engine,
      `Needle map of ${path.basename(doc.fileName)}`,
      jobKey,
      (e) => (e.event === 'needleMap' && e.jobKey === jobKey ? { completed: e.completed, total: e.total, unit: 'runs' } : undefined),
      () => engine.request('needleMap', { jobKey, text, lengths: payload.lengths, depths: payload.depths, haystacks: payload.haystacks, models }),
    );
    payload.done = true;
    deps.log.info(
      `needle map of ${path.basename(doc.fileName)}: ` +
        payload.cells
          .map(
            (c) =>
              `${c.length}@${c.depth}: ${c.models.map((m) => `${m.normaliser} ${m.correct}/${m.haystacks} best ${m.best[m.normaliser].toFixed(3)}`).join(', ')}`,
          )
          .join('; '),
    );
  } catch (e) {
    payload.done = true;
    payload.error = e instanceof EngineError && e.cancelled ? 'cancelled' : (e as Error).message;
    if (payload.error !== 'cancelled' && !/cancelled/.test(payload.error)) {
      deps.log.error(`needle map failed: ${payload.error}`);
      void vscode.window.showErrorMessage(`Attention Inspector: the needle map failed: ${payload.error}`);
    }
  } finally {
    unsubscribe();
  }
  post({ ...payload });
  return payload;
}
