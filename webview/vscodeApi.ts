/**
 * The typed handle on VS Code's webview API. `acquireVsCodeApi` may be called only once per page, so
 * everything goes through the single instance created here.
 */
import type { WebviewState, WebviewToHost } from '../src/protocol';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: WebviewState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

let api: VsCodeApi | undefined;

export function vscodeApi(): VsCodeApi {
  api ??= acquireVsCodeApi();
  return api;
}
