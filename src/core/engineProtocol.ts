/**
 * Messages between the extension host and the model process (src/core/engineProcess.ts). The process is forked
 * with `serialization: 'advanced'`, so typed arrays cross as they are. Requests carry an id and get exactly one
 * response with that id; events (progress) carry none.
 */
import type { FocusStats } from './attention';
import type { ProviderChoice, ProviderName, SkippedProvider } from './providers';
import type { HeadChoice, Normaliser } from '../protocol';

export interface LoadedModelInfo {
  id: string;
  displayName: string;
  normaliser: Normaliser;
  trainingContext: number;
  layers: number;
  heads: number;
  provider: ProviderName;
  skipped: SkippedProvider[];
  manifestPath: string;
}

export interface TokensResult {
  ids: Int32Array;
  starts: Int32Array;
  ends: Int32Array;
  totalTokens: number;
}

export interface AnalyseResult {
  analysed: number;
  length: number;
  /** True when the memory budget, not maxTokens, set the cap. */
  cappedByMemory: boolean;
  /** Tokens whose results were reused from the previous version (common prefix). */
  reused: number;
  ms: number;
  bytes: number;
}

export interface RowsResult {
  position: number;
  n: number;
  softmax: Float32Array;
  ssmax: Float32Array;
  stats: Record<Normaliser, FocusStats>;
  top: { position: number; softmax: number; ssmax: number }[];
}

export interface EngineMethods {
  load: { params: { manifestPath: string; provider: ProviderChoice; threads?: number }; result: LoadedModelInfo };
  /** Tokenises and analyses; emits `tokens` then `progress` events for the same docKey/version. */
  analyse: { params: { docKey: string; version: number; text: string; maxTokens: number; memoryBudgetMb?: number; chunkSize?: number }; result: AnalyseResult };
  cancel: { params: { docKey: string }; result: boolean };
  rows: { params: { docKey: string; version: number; position: number; head: HeadChoice; topK: number }; result: RowsResult };
  forget: { params: { docKey: string }; result: boolean };
  memory: { params: Record<string, never>; result: { rss: number; analyses: number; bytes: number; docKeys: string[] } };
}

export type EngineMethod = keyof EngineMethods;

export interface EngineRequest<M extends EngineMethod = EngineMethod> {
  id: number;
  method: M;
  params: EngineMethods[M]['params'];
}

export type EngineResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string; cancelled?: boolean };

export type EngineEvent =
  | { event: 'tokens'; docKey: string; version: number; tokens: TokensResult }
  | { event: 'progress'; docKey: string; version: number; analysed: number; length: number; ms: number };
