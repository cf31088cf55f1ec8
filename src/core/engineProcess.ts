/**
 * Entry point of the model process. The extension host forks it so that onnxruntime's synchronous native `run()`
 * never blocks the host's event loop, so that a native crash or out-of-memory takes only this process down, and so
 * that another extension's onnxruntime in the host can't clash with ours.
 */
import { Analysis } from './analysis';
import type { EngineEvent, EngineMethod, EngineMethods, EngineRequest, EngineResponse } from './engineProtocol';
import { AttentionModel, CancelledError } from './model';

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

let model: AttentionModel | undefined;
const documents = new Map<string, DocumentState>();

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

function requireModel(): AttentionModel {
  if (!model) throw new Error('no model loaded');
  return model;
}

type Handlers = { [M in EngineMethod]: (p: EngineMethods[M]['params']) => Promise<EngineMethods[M]['result']> };

const handlers: Handlers = {
  async load(p) {
    await model?.dispose();
    model = undefined;
    documents.clear();
    model = await AttentionModel.load({ manifestPath: p.manifestPath, provider: p.provider, threads: p.threads });
    const m = model.manifest;
    return {
      id: m.id, displayName: m.displayName, normaliser: m.normaliser, trainingContext: m.trainingContext,
      layers: m.architecture.layers, heads: m.architecture.heads, provider: model.provider, skipped: model.skippedProviders,
      manifestPath: p.manifestPath,
    };
  },

  async analyse(p) {
    const m = requireModel();
    const prev = documents.get(p.docKey);
    if (prev?.abort) {
      prev.abort.abort();
      await prev.running?.catch(() => undefined);
    }
    const state: DocumentState = { version: p.version, abort: new AbortController(), analysis: undefined };
    touch(p.docKey, state);
    const t0 = performance.now();
    let reused = -1;
    const run = m.analyse(p.text, {
      maxTokens: p.maxTokens,
      memoryBudgetBytes: p.memoryBudgetMb ? p.memoryBudgetMb * 2 ** 20 : undefined,
      chunkSize: p.chunkSize,
      signal: state.abort!.signal,
      previous: prev?.analysis,
      onProgress: (a) => {
        if (!state.analysis) {
          state.analysis = a;
          reused = a.analysed;
          send({ event: 'tokens', docKey: p.docKey, version: p.version, tokens: { ...a.tokens, totalTokens: a.totalTokens } });
        }
        send({ event: 'progress', docKey: p.docKey, version: p.version, analysed: a.analysed, length: a.length, ms: performance.now() - t0 });
      },
    });
    state.running = run;
    try {
      const a = await run;
      // touch() ran before this analysis held any bytes: check the byte bound again now that its size is known
      if (documents.get(p.docKey) === state) evict(p.docKey);
      const cappedByMemory = m.tokenCap(p.maxTokens, p.memoryBudgetMb ? p.memoryBudgetMb * 2 ** 20 : undefined) < p.maxTokens && a.totalTokens > a.length;
      return { analysed: a.analysed, length: a.length, cappedByMemory, reused, ms: performance.now() - t0, bytes: a.bytes };
    } finally {
      state.abort = undefined;
      state.running = undefined;
    }
  },

  async cancel(p) {
    const s = documents.get(p.docKey);
    if (!s?.abort) return false;
    s.abort.abort();
    return true;
  },

  async rows(p) {
    const s = documents.get(p.docKey);
    if (!s?.analysis || s.version !== p.version) throw new Error(`no analysis of version ${p.version} of this document`);
    const a = s.analysis;
    const rows = await requireModel().rows(a, p.position, p.head);
    return { position: rows.position, n: rows.n, softmax: rows.softmax, ssmax: rows.ssmax, stats: rows.stats, top: a.top(rows, p.topK) };
  },

  async forget(p) {
    const s = documents.get(p.docKey);
    s?.abort?.abort();
    return documents.delete(p.docKey);
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
