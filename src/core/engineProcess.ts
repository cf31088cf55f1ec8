/**
 * Entry point of the model process. The extension host forks it so that onnxruntime's synchronous native `run()`
 * never blocks the host's event loop, so that a native crash or out-of-memory takes only this process down, and so
 * that another extension's onnxruntime in the host can't clash with ours.
 */
import { Analysis } from './analysis';
import type { EngineEvent, EngineMethod, EngineMethods, EngineRequest, EngineResponse } from './engineProtocol';
import { AttentionModel, CancelledError } from './model';
import { distanceProfile, focusCurve, headCell } from './views';

// Least recently used analyses beyond these are dropped (the one in use always stays).
const MAX_DOCUMENTS = 4;
const MAX_TOTAL_BYTES = 2 * 2 ** 30;

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
  const total = () => [...documents.values()].reduce((n, d) => n + (d.analysis?.bytes ?? 0), 0);
  while (documents.size > MAX_DOCUMENTS || (documents.size > 1 && total() > MAX_TOTAL_BYTES)) {
    const [oldest, s] = documents.entries().next().value as [string, DocumentState];
    s.abort?.abort();
    documents.delete(oldest);
  }
}

function analysisOf(docKey: string, version: number) {
  const s = documents.get(docKey);
  if (!s?.analysis || s.version !== version) throw new Error(`no analysis of version ${version} of this document`);
  return s.analysis;
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
    const a = analysisOf(p.docKey, p.version);
    const rows = await requireModel().rows(a, p.position, p.head);
    return {
      position: rows.position, n: rows.n, softmax: rows.softmax, ssmax: rows.ssmax, stats: rows.stats, top: a.top(rows, p.topK),
      distance: distanceProfile(rows.softmax, rows.ssmax, rows.position),
    };
  },

  async heads(p) {
    const a = analysisOf(p.docKey, p.version);
    const m = requireModel();
    if (!Number.isInteger(p.position) || p.position < 0 || p.position >= a.analysed) throw new RangeError(`position ${p.position} is not analysed yet (${a.analysed} of ${a.length})`);
    const { layers, heads } = m.manifest.architecture;
    const n = p.position + 1;
    const cells = [];
    for (let l = 0; l < layers; l++) {
      // one graph call gives every head of the layer; short rows are as fast in JavaScript
      const all = await m.layerRows(a, p.position, l);
      for (let h = 0; h < heads; h++) {
        const rows = all
          ? { softmax: all.softmax.subarray(h * n, (h + 1) * n), ssmax: all.ssmax.subarray(h * n, (h + 1) * n) }
          : a.rows(p.position, { layer: l, head: h });
        cells.push(headCell(l, h, rows.softmax, rows.ssmax, m.manifest.normaliser));
      }
    }
    return { position: p.position, n, cells };
  },

  async focusCurve(p) {
    const a = analysisOf(p.docKey, p.version);
    const { layers, heads } = requireModel().manifest.architecture;
    if (p.head.layer >= layers || (p.head.head !== 'mean' && p.head.head >= heads)) throw new RangeError(`no head ${JSON.stringify(p.head)}`);
    return { ...focusCurve(a, p.head, Math.max(2, Math.min(4096, Math.floor(p.points)))), analysed: a.analysed };
  },

  async forget(p) {
    const s = documents.get(p.docKey);
    s?.abort?.abort();
    return documents.delete(p.docKey);
  },

  async memory() {
    let bytes = 0;
    for (const s of documents.values()) bytes += s.analysis?.bytes ?? 0;
    return { rss: process.memoryUsage().rss, analyses: documents.size, bytes };
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
