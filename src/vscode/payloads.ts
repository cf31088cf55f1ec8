/** What the host sends the webview, built from the model process's answers: model info and attention payloads. */
import type { LoadedModelInfo, RowsResult } from '../core/engineProtocol';
import { PROVIDER_LABEL } from '../core/providers';
import type { AttentionPayload, ModelInfo, TokenInfo } from '../protocol';
import type { DocumentAnalysis } from './analyses';

/** A loaded model as the webview sees it. */
export function toModelInfo(m: LoadedModelInfo): ModelInfo {
  return {
    id: m.id,
    displayName: m.displayName,
    summary: m.summary,
    normaliser: m.normaliser,
    trainingContext: m.trainingContext,
    layers: m.layers,
    heads: m.heads,
    executionProvider: PROVIDER_LABEL[m.provider],
    ...(m.whatIf ? { whatIf: m.whatIf } : {}),
  };
}

export function toPayload(a: DocumentAnalysis, rows: RowsResult, head: AttentionPayload['head'], lines: TokenInfo[]): AttentionPayload {
  return {
    uri: a.uri,
    version: a.version,
    position: rows.position,
    n: rows.n,
    head,
    softmax: Array.from(rows.softmax),
    ssmax: Array.from(rows.ssmax),
    stats: rows.stats,
    top: rows.top.map((t) => ({
      position: t.position,
      text: lines[t.position]?.text ?? '',
      line: lines[t.position]?.line ?? 0,
      softmax: t.softmax,
      ssmax: t.ssmax,
    })),
    distance: rows.distance,
  };
}
