/**
 * What the user is looking at: the inspected document, the query token, the layer/head, and the overlay. The panel,
 * the editor decorations and the hover all read it; commands, clicks in the webview and the editor cursor write it.
 */
import * as vscode from 'vscode';
import type { HeadChoice } from '../protocol';

export interface InspectorSelection {
  uri: string | undefined;
  position: number | undefined;
  head: HeadChoice;
  overlay: boolean;
  /** Show the comparison model beside the current one. */
  comparison: boolean;
}

const OVERLAY_KEY = 'attentionInspector.overlay';

export class SelectionState implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<InspectorSelection>();
  readonly onDidChange = this.emitter.event;
  private state: InspectorSelection;

  constructor(
    private readonly memento: vscode.Memento,
    defaults: { head: HeadChoice; overlay: boolean },
  ) {
    this.state = { uri: undefined, position: undefined, head: defaults.head, overlay: memento.get<boolean>(OVERLAY_KEY, defaults.overlay), comparison: false };
  }

  get current(): InspectorSelection {
    return this.state;
  }

  select(uri: string, position: number): void {
    if (this.state.uri === uri && this.state.position === position) return;
    this.update({ uri, position });
  }

  setHead(head: HeadChoice): void {
    this.update({ head });
  }

  setOverlay(on: boolean): void {
    void this.memento.update(OVERLAY_KEY, on);
    this.update({ overlay: on });
  }

  setComparison(on: boolean): void {
    if (this.state.comparison !== on) this.update({ comparison: on });
  }

  clear(): void {
    this.update({ position: undefined });
  }

  private update(patch: Partial<InspectorSelection>): void {
    this.state = { ...this.state, ...patch };
    this.emitter.fire(this.state);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** The configured default head, resolved against the model's shape (-1 = last layer / mean). */
export function defaultHead(layer: number, head: number, layers: number, heads: number): HeadChoice {
  const l = layer < 0 || layer >= layers ? layers - 1 : layer;
  return { layer: l, head: head < 0 || head >= heads ? 'mean' : head };
}
