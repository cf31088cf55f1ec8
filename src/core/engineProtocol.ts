/**
 * Messages between the extension host and the model process (src/core/engineProcess.ts). The process is forked
 * with `serialization: 'advanced'`, so typed arrays cross as they are. Requests carry an id and get exactly one
 * response with that id; events (progress) carry none.
 */
import type { FocusStats } from './attention';
import type { WhatIfLaw } from './whatIf';
import type { ProviderChoice, ProviderName, SkippedProvider } from './providers';
import type { DistanceProfile, HeadCell, HeadChoice, ModelInfo, NeedleMapCell, Normaliser, ProbeDepthResult } from './domain';
import type { RetrievalModelResult } from './retrieval';
import type { FocusCurve } from './views';

/** What the webview is told of a model (ModelInfo), with the provider in use, the ones skipped and why, and the file. */
export interface LoadedModelInfo extends Omit<ModelInfo, 'executionProvider'> {
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
  distance: DistanceProfile;
  /** Attention on keys 0..sinkTokens-1, per view. */
  sink: Record<Normaliser, number>;
  sinkTokens: number;
}

export interface HeadsResult {
  position: number;
  n: number;
  cells: HeadCell[];
}

export interface FocusCurveResult extends FocusCurve {
  analysed: number;
}

/**
 * Requests about a document may name a second model (`model`: its manifest path), loaded on first use beside the
 * primary one (the one `load` chose): that is how the host compares the two shipped models on one document. Without
 * `model` they are about the primary model.
 */
interface OnModel {
  model?: string;
}

export interface ProbeParams {
  /** Names this run for `cancel` (as its docKey) and in its events. */
  probeKey: string;
  text: string;
  key: string;
  value: string;
  depths: number[];
  contextTokens: number;
  /** Manifest paths of the models to probe, in the order their results are listed. */
  models: string[];
}

export interface RetrievalParams {
  /** Names this run for `cancel` (as its docKey) and in its progress events. */
  jobKey: string;
  text: string;
  contextTokens: number;
  /** Manifest paths of the models to score, in the order their results are listed. */
  models: string[];
}

export interface NeedleMapParams {
  /** Names this run for `cancel` (as its docKey) and in its events. */
  jobKey: string;
  text: string;
  lengths: number[];
  depths: number[];
  haystacks: number;
  models: string[];
}

export interface EngineMethods {
  /**
   * `manifestPath`: a manifest, or a Hugging Face export folder; `trainingContext` overrides its config's training
   * length; `whatIf`: the law of softmax-trained models' what-if view, for this model and every second one.
   */
  load: { params: { manifestPath: string; provider: ProviderChoice; threads?: number; trainingContext?: number; whatIf?: WhatIfLaw }; result: LoadedModelInfo };
  /** Loads a second model beside the primary one (if not yet loaded) and describes it. */
  loadOther: { params: { manifestPath: string; trainingContext?: number }; result: LoadedModelInfo };
  /** Tokenises and analyses; emits `tokens` then `progress` events for the same docKey/version. */
  analyse: {
    params: OnModel & { docKey: string; version: number; text: string; maxTokens: number; memoryBudgetMb?: number; chunkSize?: number };
    result: AnalyseResult;
  };
  cancel: { params: OnModel & { docKey: string }; result: boolean };
  /** `lean`: only what the hover shows (top keys, statistics, sink), without the two n-long rows and the distance profile. */
  rows: {
    params: OnModel & { docKey: string; version: number; position: number; head: HeadChoice; topK: number; sinkTokens?: number; lean?: boolean };
    result: RowsResult;
  };
  /** Every layer × head's summary for one query (the model view). */
  heads: { params: OnModel & { docKey: string; version: number; position: number; sinkTokens?: number }; result: HeadsResult };
  /** Focus statistics against n over every analysed position (the focus-vs-context view). */
  focusCurve: {
    params: OnModel & { docKey: string; version: number; head: HeadChoice; points: number; sinkTokens?: number };
    result: FocusCurveResult;
  };
  forget: { params: OnModel & { docKey: string }; result: boolean };
  /** Each analysed token's next-token loss in nats (NaN at the last), and the token ids it is for. */
  loss: { params: OnModel & { docKey: string; version: number }; result: { nll: Float32Array; ids: Int32Array; trainingContext: number } };
  /** The needle probe on a copy of a text (src/core/probe.ts); emits a `probe` event per model and depth. */
  probe: { params: ProbeParams; result: ProbeDepthResult[] };
  /** Retrieval heads on a copy of a text with repeated spans (src/core/retrieval.ts); emits `retrieval` progress events. */
  retrievalHeads: { params: RetrievalParams; result: RetrievalModelResult[] };
  /** The needle map (src/core/needleMap.ts): the probe over lengths × depths × haystacks; a `needleMap` event per cell. */
  needleMap: { params: NeedleMapParams; result: NeedleMapCell[] };
  memory: { params: Record<string, never>; result: { rss: number; analyses: number; bytes: number; docKeys: string[] } };
}

export type EngineMethod = keyof EngineMethods;

export interface EngineRequest<M extends EngineMethod = EngineMethod> {
  id: number;
  method: M;
  params: EngineMethods[M]['params'];
}

export type EngineResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; cancelled?: boolean };

export type EngineEvent =
  | { event: 'tokens'; docKey: string; model?: string; version: number; tokens: TokensResult }
  | { event: 'progress'; docKey: string; model?: string; version: number; analysed: number; length: number; ms: number }
  | { event: 'probe'; probeKey: string; result: ProbeDepthResult; completed: number; total: number }
  | { event: 'retrieval'; jobKey: string; completed: number; total: number }
  | { event: 'needleMap'; jobKey: string; cell: NeedleMapCell; completed: number; total: number };
