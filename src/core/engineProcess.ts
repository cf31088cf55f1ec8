/**
 * Entry point of the model process. The extension host forks it so that onnxruntime's synchronous native `run()`
 * never blocks the host's event loop, so that a native crash or out-of-memory takes only this process down, and so
 * that another extension's onnxruntime in the host can't clash with ours.
 */
import { Analysis } from './analysis';
import type { EngineEvent, LoadedModelInfo, EngineMethod, EngineMethods, EngineRequest, EngineResponse } from './engineProtocol';
import { AttentionModel, CancelledError } from './model';
import { editorThreads } from './ort';
import { runProbe } from './probe';
import { findRetrievalHeads } from './retrieval';
import { runNeedleMap } from './needleMap';
import type { ProviderChoice } from './providers';
import { DEFAULT_WHAT_IF, describeWhatIf, parseWhatIf, type WhatIfLaw } from './whatIf';
import { VIEW_METHODS, type ViewMethod } from './viewMethods';

// Least recently used analyses beyond these are dropped (the one in use always stays). The byte bound can be lowered
// through the environment so that a test can show eviction by bytes without holding 2 GiB of analyses.
const MAX_DOCUMENTS = 4;
const MAX_TOTAL_BYTES_ENV = 'ATTENTION_INSPECTOR_MAX_ANALYSIS_BYTES';
const MAX_TOTAL_BYTES = positiveInt(process.env[MAX_TOTAL_BYTES_ENV]) ?? 2 * 2 ** 30;

function positiveInt(v: string | undefined): number | undefined {
  const n = Number(v);
  return v && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

interface DocumentState {
  version: number;
  analysis?: Analysis;
  abort?: AbortController;
  running?: Promise<unknown>;
}

/** The primary model (chosen by `load`) and any second model a request named, by manifest path. */
let primary: { path: string; model: AttentionModel; provider: ProviderChoice; threads?: number; whatIf?: WhatIfLaw } | undefined;
const others = new Map<string, Promise<AttentionModel>>();
/** Analyses by document key; an analysis by a second model is keyed `${manifestPath}\0${docKey}`. */
const documents = new Map<string, DocumentState>();
/** Cancellable jobs (probe, retrieval heads, needle map) by their key, so that `cancel` finds them. */
const probes = new Map<string, AbortController>();

function keyOf(p: { docKey: string; model?: string }): string {
  return p.model === undefined || p.model === primary?.path ? p.docKey : `${p.model}\0${p.docKey}`;
}

function send(msg: EngineResponse | EngineEvent): void {
  process.send?.(msg);
}

function touch(docKey: string, state: DocumentState): void {
  documents.delete(docKey);
  documents.set(docKey, state);
  evict(docKey);
}

/** Drops the least recently used analyses until the bounds hold; `keep` (the one in use) always stays. */
function evict(keep: string): void {
  const total = () => [...documents.values()].reduce((n, d) => n + (d.analysis?.bytes ?? 0), 0);
  while (documents.size > MAX_DOCUMENTS || (documents.size > 1 && total() > MAX_TOTAL_BYTES)) {
    const [oldest, s] = [...documents.entries()].find(([k]) => k !== keep) as [string, DocumentState];
    s.abort?.abort();
    documents.delete(oldest);
  }
}

function analysisOf(p: { docKey: string; model?: string; version: number }) {
  const s = documents.get(keyOf(p));
  if (!s?.analysis || s.version !== p.version) throw new Error(`no analysis of version ${p.version} of this document`);
  return s.analysis;
}

/** The primary model, or the one at `manifestPath` (loaded on first use, on the primary's provider choice). */
async function modelFor(manifestPath?: string, trainingContext?: number): Promise<AttentionModel> {
  if (!primary) throw new Error('no model loaded');
  if (manifestPath === undefined || manifestPath === primary.path) return primary.model;
  let m = others.get(manifestPath);
  if (!m) {
    m = AttentionModel.load({ manifestPath, provider: primary.provider, threads: primary.threads, trainingContext, whatIf: primary.whatIf });
    others.set(manifestPath, m);
    m.catch(() => others.delete(manifestPath));
  }
  return m;
}

function describe(model: AttentionModel, manifestPath: string): LoadedModelInfo {
  const m = model.manifest;
  return {
    id: m.id,
    displayName: m.displayName,
    summary: m.summary ?? m.displayName,
    normaliser: m.normaliser,
    trainingContext: m.trainingContext,
    layers: m.architecture.layers,
    heads: m.architecture.heads,
    provider: model.provider,
    skipped: model.skippedProviders,
    manifestPath,
    // the law is one for every model (a setting): an SSMax-trained model's own views do not follow it, but a
    // softmax-trained model compared beside it does, and the panel names that model's what-if from this
    whatIf: describeWhatIf(primary?.whatIf ?? DEFAULT_WHAT_IF, m.trainingContext),
  };
}

type Handlers = { [M in EngineMethod]: (p: EngineMethods[M]['params']) => Promise<EngineMethods[M]['result']> };

/** The view registry's methods (viewMethods.ts) as handlers: each gets the analysis the request names and its model. */
function routeViewMethods(): Pick<Handlers, ViewMethod> {
  const routed: Partial<Record<ViewMethod, (p: EngineMethods[ViewMethod]['params']) => Promise<unknown>>> = {};
  for (const name of Object.keys(VIEW_METHODS) as ViewMethod[]) {
    const method = VIEW_METHODS[name] as (a: Analysis, m: AttentionModel, p: EngineMethods[ViewMethod]['params']) => Promise<unknown>;
    routed[name] = async (p) => {
      const a = analysisOf(p);
      return method(a, await modelFor(p.model), p);
    };
  }
  return routed as Pick<Handlers, ViewMethod>;
}

/**
 * A cancellable job over several models (probe, retrieval heads, needle map): registered under `jobKey` before the
 * first await, so a `cancel` that arrives while the models load finds it, and dropped when it ends.
 */
async function runJob<T>(jobKey: string, manifests: unknown, run: (models: AttentionModel[], signal: AbortSignal) => Promise<T>): Promise<T> {
  if (!Array.isArray(manifests) || !manifests.length || !manifests.every((m) => typeof m === 'string')) throw new Error('the run needs models');
  probes.get(jobKey)?.abort();
  const abort = new AbortController();
  probes.set(jobKey, abort);
  try {
    const models = await Promise.all(manifests.map((m: string) => modelFor(m)));
    if (abort.signal.aborted) throw new CancelledError();
    return await run(models, abort.signal);
  } finally {
    if (probes.get(jobKey) === abort) probes.delete(jobKey);
  }
}

/** The last `load` (loads run one after another). */
let loading: Promise<unknown> = Promise.resolve();

async function loadPrimary(p: EngineMethods['load']['params']): Promise<LoadedModelInfo> {
  // stop every analysis and probe and let their in-flight graph runs finish: a session released under a running
  // run() never returns it (a model switch mid-analysis hung the process)
  for (const s of documents.values()) s.abort?.abort();
  for (const c of probes.values()) c.abort();
  await Promise.all([...documents.values()].flatMap((s) => (s.running ? [s.running.catch(() => undefined)] : [])));
  documents.clear();
  await primary?.model.dispose();
  primary = undefined;
  for (const m of others.values())
    await m.then(
      (x) => x.dispose(),
      () => undefined,
    );
  others.clear();
  const threads = p.threads ?? editorThreads();
  // the law arrives from the host's settings or the CLI: anything that is not one is the default
  const whatIf = parseWhatIf(p.whatIf);
  const model = await AttentionModel.load({ manifestPath: p.manifestPath, provider: p.provider, threads, trainingContext: p.trainingContext, whatIf });
  primary = { path: p.manifestPath, model, provider: p.provider, threads, whatIf };
  return describe(model, p.manifestPath);
}

const handlers: Handlers = {
  ...routeViewMethods(),
  load(p) {
    // one load at a time: a second one arriving while the first disposes or creates sessions would release them
    // twice, or leave the first model loaded and unreachable
    const run = loading.then(() => loadPrimary(p));
    loading = run.catch(() => undefined);
    return run;
  },

  async loadOther(p) {
    return describe(await modelFor(String(p.manifestPath), p.trainingContext), p.manifestPath);
  },

  async analyse(p) {
    const m = await modelFor(p.model);
    const key = keyOf(p);
    const prev = documents.get(key);
    if (prev?.abort) {
      prev.abort.abort();
      await prev.running?.catch(() => undefined);
    }
    const abort = new AbortController();
    const state: DocumentState = { version: p.version, abort, analysis: undefined };
    touch(key, state);
    const t0 = performance.now();
    let reused = -1;
    const run = m.analyse(p.text, {
      maxTokens: p.maxTokens,
      memoryBudgetBytes: p.memoryBudgetMb ? p.memoryBudgetMb * 2 ** 20 : undefined,
      chunkSize: p.chunkSize,
      signal: abort.signal,
      previous: prev?.analysis,
      onProgress: (a) => {
        if (!state.analysis) {
          state.analysis = a;
          reused = a.analysed;
          send({ event: 'tokens', docKey: p.docKey, model: p.model, version: p.version, tokens: { ...a.tokens, totalTokens: a.totalTokens } });
        }
        send({ event: 'progress', docKey: p.docKey, model: p.model, version: p.version, analysed: a.analysed, length: a.length, ms: performance.now() - t0 });
      },
    });
    state.running = run;
    try {
      const a = await run;
      // touch() ran before this analysis held any bytes: check the byte bound again now that its size is known
      // (keyed like touch(): a second model's analysis lives under `${model}\0${docKey}`)
      if (documents.get(key) === state) evict(key);
      const cappedByMemory = m.tokenCap(p.maxTokens, p.memoryBudgetMb ? p.memoryBudgetMb * 2 ** 20 : undefined) < p.maxTokens && a.totalTokens > a.length;
      return { analysed: a.analysed, length: a.length, cappedByMemory, reused, ms: performance.now() - t0, bytes: a.bytes };
    } finally {
      state.abort = undefined;
      state.running = undefined;
    }
  },

  async cancel(p) {
    const probe = probes.get(p.docKey);
    if (probe) {
      probe.abort();
      return true;
    }
    const s = documents.get(keyOf(p));
    if (!s?.abort) return false;
    s.abort.abort();
    return true;
  },

  async forget(p) {
    const key = keyOf(p);
    const s = documents.get(key);
    s?.abort?.abort();
    return documents.delete(key);
  },

  async probe(p) {
    if (!Array.isArray(p.models) || !p.models.length || !Array.isArray(p.depths) || !p.depths.every((d) => typeof d === 'number' && d >= 0 && d <= 1)) {
      throw new Error('a probe needs models and depths between 0 and 1');
    }
    if (!Number.isInteger(p.contextTokens) || p.contextTokens < 16 || p.contextTokens > 131072)
      throw new Error('contextTokens must be an integer in 16..131072');
    return runJob(p.probeKey, p.models, (models, signal) =>
      runProbe(models, String(p.text), {
        key: String(p.key),
        value: String(p.value),
        depths: p.depths,
        contextTokens: p.contextTokens,
        signal,
        onResult: (result, completed, total) => send({ event: 'probe', probeKey: p.probeKey, result, completed, total }),
      }),
    );
  },

  async retrievalHeads(p) {
    if (!Number.isInteger(p.contextTokens) || p.contextTokens < 64 || p.contextTokens > 131072)
      throw new Error('contextTokens must be an integer in 64..131072');
    return runJob(p.jobKey, p.models, (models, signal) =>
      findRetrievalHeads(models, String(p.text), {
        contextTokens: p.contextTokens,
        signal,
        onProgress: (completed, total) => send({ event: 'retrieval', jobKey: p.jobKey, completed, total }),
      }),
    );
  },

  async needleMap(p) {
    const ints = (xs: unknown, lo: number, hi: number) =>
      Array.isArray(xs) && xs.length > 0 && xs.length <= 16 && xs.every((x) => Number.isInteger(x) && x >= lo && x <= hi);
    if (!ints(p.lengths, 64, 131072)) throw new Error('lengths must be 1 to 16 integers in 64..131072');
    if (!Array.isArray(p.depths) || !p.depths.length || p.depths.length > 16 || !p.depths.every((d) => typeof d === 'number' && d >= 0 && d <= 1))
      throw new Error('depths must be 1 to 16 numbers between 0 and 1');
    if (!Number.isInteger(p.haystacks) || p.haystacks < 1 || p.haystacks > 16) throw new Error('haystacks must be an integer in 1..16');
    return runJob(p.jobKey, p.models, (models, signal) =>
      runNeedleMap(models, String(p.text), {
        lengths: p.lengths,
        depths: p.depths,
        haystacks: p.haystacks,
        signal,
        onCell: (cell, completed, total) => send({ event: 'needleMap', jobKey: p.jobKey, cell, completed, total }),
      }),
    );
  },

  async memory() {
    let bytes = 0;
    for (const s of documents.values()) bytes += s.analysis?.bytes ?? 0;
    return { rss: process.memoryUsage().rss, analyses: documents.size, bytes, docKeys: [...documents.keys()] };
  },
};

process.on('message', (raw: unknown) => {
  const req = raw as EngineRequest;
  if (typeof req?.id !== 'number') return;
  // own properties only: `in` would also find toString, constructor... and calling those crashed the process
  if (typeof req.method !== 'string' || !Object.prototype.hasOwnProperty.call(handlers, req.method)) {
    send({ id: req.id, ok: false, error: `unknown method ${JSON.stringify(String(req.method)).slice(0, 100)}` });
    return;
  }
  const handler = handlers[req.method] as (p: unknown) => Promise<unknown>;
  handler(req.params).then(
    (result) => send({ id: req.id, ok: true, result }),
    (e: unknown) => send({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e), cancelled: e instanceof CancelledError }),
  );
});

// The host going away (even by a crash) closes the IPC channel: don't outlive it.
process.on('disconnect', () => process.exit(0));
