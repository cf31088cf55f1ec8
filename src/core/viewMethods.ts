/**
 * The model process's view registry: what the panel's views ask about one analysed document (rows of the selected
 * head, every head of a query, the focus curve, the per-token loss). Each method gets the analysis the request names
 * and the model that made it (engineProcess.ts finds both); a new view's question is one entry here, with its
 * parameters and result in engineProtocol.ts.
 */
import type { Analysis } from './analysis';
import type { EngineMethods } from './engineProtocol';
import { headCells } from './layerCells';
import type { AttentionModel } from './model';
import { DEFAULT_SINK_TOKENS, distanceProfile, focusCurve, sinkShare } from './views';

export type ViewMethod = 'rows' | 'heads' | 'focusCurve' | 'loss';

type ViewMethods = { [M in ViewMethod]: (a: Analysis, m: AttentionModel, p: EngineMethods[M]['params']) => Promise<EngineMethods[M]['result']> };

export const VIEW_METHODS: ViewMethods = {
  async rows(a, m, p) {
    const rows = await m.rows(a, p.position, p.head);
    const none = new Float32Array(0);
    return {
      position: rows.position,
      n: rows.n,
      softmax: p.lean ? none : rows.softmax,
      ssmax: p.lean ? none : rows.ssmax,
      stats: rows.stats,
      top: a.top(rows, p.topK),
      distance: p.lean ? { edges: [], softmax: [], ssmax: [] } : distanceProfile(rows.softmax, rows.ssmax, rows.position),
      sink: { softmax: sinkShare(rows.softmax, p.sinkTokens), ssmax: sinkShare(rows.ssmax, p.sinkTokens) },
      sinkTokens: p.sinkTokens ?? DEFAULT_SINK_TOKENS,
    };
  },

  async heads(a, m, p) {
    if (!Number.isInteger(p.position) || p.position < 0 || p.position >= a.analysed)
      throw new RangeError(`position ${p.position} is not analysed yet (${a.analysed} of ${a.length})`);
    const cells = await headCells(m, a, p.position, p.sinkTokens);
    return { position: p.position, n: p.position + 1, cells };
  },

  async loss(a) {
    return { nll: a.nll.slice(0, a.analysed), ids: a.tokens.ids.slice(0, a.analysed), trainingContext: a.manifest.trainingContext };
  },

  async focusCurve(a, _m, p) {
    const { layers, heads } = a.manifest.architecture;
    if (p.head.layer >= layers || (p.head.head !== 'mean' && p.head.head >= heads)) throw new RangeError(`no head ${JSON.stringify(p.head)}`);
    // the sink curve reads the rows of sampled queries: not where queries are recomputed (a decode step each)
    const sink = p.sinkTokens === undefined || !a.storesQueries ? undefined : { tokens: Math.max(1, Math.min(1024, Math.floor(p.sinkTokens))) };
    return { ...focusCurve(a, p.head, Math.max(2, Math.min(4096, Math.floor(p.points))), sink), analysed: a.analysed };
  },
};
