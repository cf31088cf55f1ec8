/**
 * Typed view of the `attentionInspector.*` settings, re-read when they change. File-pointing settings are
 * honoured only in trusted workspaces (package.json declares them restricted as well).
 */
import * as vscode from 'vscode';
import { PROVIDER_CHOICES, type ProviderChoice } from '../core/providers';
import { DEFAULT_LLAMA4_BETA, DEFAULT_SSMAX_S, DEFAULT_WHAT_IF, type WhatIfLaw } from '../core/whatIf';

export const SECTION = 'attentionInspector';

export class Config implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<string[]>();
  /** Fires with the names (without prefix) of the settings that changed. */
  readonly onDidChange = this.emitter.event;
  private readonly subscription: vscode.Disposable;

  constructor() {
    this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
      const changed = [
        'executionProvider',
        'threads',
        'sinkTokens',
        'maxTokens',
        'model',
        'compareModel',
        'modelPath',
        'defaultLayer',
        'defaultHead',
        'overlay',
        'topK',
        'memoryBudgetMb',
        'whatIf',
        'whatIfS',
        'whatIfBeta',
        'whatIfFloor',
      ].filter((k) => e.affectsConfiguration(`${SECTION}.${k}`));
      if (changed.length) this.emitter.fire(changed);
    });
  }

  private get cfg() {
    return vscode.workspace.getConfiguration(SECTION);
  }

  get executionProvider(): ProviderChoice {
    const v = this.cfg.get<string>('executionProvider', 'auto');
    return PROVIDER_CHOICES.find((p) => p === v) ?? 'auto';
  }
  /** Intra-op threads for the model; undefined: automatic (every core but one). */
  get threads(): number | undefined {
    const n = clampInt(this.cfg.get<number>('threads', 0), 0, 256, 0);
    return n === 0 ? undefined : n;
  }
  get maxTokens(): number {
    return clampInt(this.cfg.get<number>('maxTokens', 32768), 16, 131072, 32768);
  }
  /** The id of a shipped model (models/catalogue.json); an unknown id falls back to the first shipped model. */
  get model(): string {
    return textSetting(this.cfg.get<unknown>('model'), 'ssmax');
  }
  /** The shipped model Compare runs beside the main one: an id, or `auto` (the main model's counterpart). */
  get compareModel(): string {
    return textSetting(this.cfg.get<unknown>('compareModel'), 'auto');
  }
  /** A custom manifest path, or undefined when unset or when the workspace is not trusted. */
  get modelPath(): string | undefined {
    const p = this.cfg.get<string>('modelPath', '').trim();
    return p && vscode.workspace.isTrusted ? p : undefined;
  }
  get modelPathIgnoredForTrust(): boolean {
    return !!this.cfg.get<string>('modelPath', '').trim() && !vscode.workspace.isTrusted;
  }
  get defaultLayer(): number {
    return clampInt(this.cfg.get<number>('defaultLayer', -1), -1, 1024, -1);
  }
  get defaultHead(): number {
    return clampInt(this.cfg.get<number>('defaultHead', -1), -1, 1024, -1);
  }
  get overlayDefault(): boolean {
    return this.cfg.get<boolean>('overlay', true);
  }
  get memoryBudgetMb(): number {
    return clampInt(this.cfg.get<number>('memoryBudgetMb', 1024), 64, 65536, 1024);
  }
  /** The first k tokens whose attention share is the "sink" (Heads grid, hover). */
  get sinkTokens(): number {
    return clampInt(this.cfg.get<number>('sinkTokens', 4), 1, 64, 4);
  }
  /** The law of softmax-trained models' what-if view, with its parameters (whatIf.ts). */
  get whatIf(): WhatIfLaw {
    const law = this.cfg.get<string>('whatIf', 'ssmax');
    switch (law) {
      case 'ssmax-s':
        return { law, s: clampNumber(this.cfg.get<number>('whatIfS', DEFAULT_SSMAX_S), 1e-3, 10, DEFAULT_SSMAX_S) };
      case 'llama4': {
        const floor = clampInt(this.cfg.get<number>('whatIfFloor', 0), 0, 1 << 30, 0);
        return { law, beta: clampNumber(this.cfg.get<number>('whatIfBeta', DEFAULT_LLAMA4_BETA), 1e-3, 10, DEFAULT_LLAMA4_BETA), ...(floor ? { floor } : {}) };
      }
      case 'qwen-logn':
        return { law };
      default:
        return DEFAULT_WHAT_IF;
    }
  }
  get topK(): number {
    return clampInt(this.cfg.get<number>('topK', 10), 1, 100, 10);
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}

function textSetting(v: unknown, fallback: string): string {
  return typeof v === 'string' && v.trim() ? v.trim() : fallback;
}

function clampNumber(v: unknown, min: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : fallback;
}

function clampInt(v: unknown, min: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;
}
