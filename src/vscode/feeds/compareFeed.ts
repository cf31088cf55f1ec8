/** The Compare tab: the other model's view of the selected token; while it analyses, at most about once a second. */
import type { AttentionPayload } from '../../protocol';
import { toModelInfo, toPayload } from '../payloads';
import type { FeedContext, ViewFeed } from './feed';

export function compareFeed(): ViewFeed {
  return {
    name: 'compare',
    triggers: { selection: 'now', comparison: 'throttled', ready: 'now', settings: 'now' },
    reset: () => undefined,
    async update({ uri, deps, post }: FeedContext) {
      const sel = deps.selection.current;
      const cmp = deps.comparison;
      if (!sel.comparison) {
        post({ type: 'comparison', comparison: null });
        return;
      }
      const state = cmp.current;
      const other = cmp.other;
      const a = deps.analyses.get(uri);
      if (!state || !other || state.uri !== uri || !a) return;
      const model = toModelInfo(other);
      let attention: AttentionPayload | undefined;
      if (sel.uri === uri && sel.position !== undefined && state.version === a.version) {
        const rows = await cmp.rows(uri, state.version, sel.position, sel.head, deps.topK());
        const infos = deps.analyses.tokenInfos(a);
        if (rows && infos) attention = toPayload(a, rows, sel.head, infos);
      }
      post({ type: 'comparison', comparison: { model, analysedTokens: state.analysed, totalTokens: state.length, attention } });
    },
  };
}
