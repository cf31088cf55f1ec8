/**
 * A run in the model process (probe, retrieval heads, needle map) under a cancellable progress notification:
 * Cancel asks the model process to stop the run named `jobKey`, and the run's own events move the bar.
 */
import * as vscode from 'vscode';
import type { EngineClient } from '../core/engineClient';
import type { EngineEvent } from '../core/engineProtocol';

/** How far an event of this run says it got (undefined: not this run's event). */
export type ProgressOf = (e: EngineEvent) => { completed: number; total: number; unit: string } | undefined;

export async function withJobProgress<T>(engine: EngineClient, title: string, jobKey: string, progressOf: ProgressOf, run: () => Promise<T>): Promise<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    token.onCancellationRequested(() => void engine.request('cancel', { docKey: jobKey }).catch(() => undefined));
    let last = 0;
    const unsubscribe = engine.onEvent((e) => {
      const p = progressOf(e);
      if (!p) return;
      const now = (100 * p.completed) / p.total;
      progress.report({ increment: now - last, message: `${p.completed} of ${p.total} ${p.unit}` });
      last = now;
    });
    try {
      return await run();
    } finally {
      unsubscribe();
    }
  });
}
