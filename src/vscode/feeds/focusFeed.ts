/** The Focus tab: focus statistics against n over every analysed position, for the selected head. */
import { FOCUS_CURVE_POINTS } from '../../protocol';
import type { FeedContext, ViewFeed } from './feed';

export function focusFeed(): ViewFeed {
  /** Which curve the webview has (version, analysed positions, done, head, sink k): moving the query alone does not change it. */
  let sent: string | undefined;
  return {
    name: 'focus',
    triggers: { analysis: 'throttled', selection: 'now', settings: 'now' },
    reset: () => (sent = undefined),
    async update({ uri, deps, sentVersion, post }: FeedContext) {
      const a = deps.analyses.get(uri);
      const model = deps.analyses.model;
      if (!a || !model || a.version !== sentVersion()) return;
      const head = deps.selection.current.head;
      const sinkTokens = deps.analyses.sinkTokens;
      // done is part of it: the curve asked for once the analysis is done carries the sink curve too (its sampled
      // rows are too slow to recompute on every update while the analysis runs)
      const done = a.done;
      const key = (analysed: number) => `${a.version}:${analysed}:${done}:${head.layer}:${head.head}:${sinkTokens}`;
      if (key(a.analysed) === sent) return;
      const curve = await deps.analyses.focusCurve(a.uri, a.version, head, FOCUS_CURVE_POINTS, done);
      const now = deps.selection.current.head;
      // a curve for a head the user has since left (or an older version) is stale: the newer request follows
      if (!curve || a.version !== sentVersion() || now.layer !== head.layer || now.head !== head.head) return;
      const { analysed, ...points } = curve;
      sent = key(analysed);
      post({
        type: 'focusCurve',
        curve: { uri: a.uri, version: a.version, head, trainingContext: model.trainingContext, analysedTokens: analysed, ...points },
      });
    },
  };
}
