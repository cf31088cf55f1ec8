/** The Loss tab: each model's next-token loss along the file and per position bucket, once its analysis is done. */
import { lossBuckets, lossStrip, stripMeans } from '../../core/loss';
import type { Normaliser } from '../../protocol';
import type { FeedContext, ViewFeed } from './feed';

export function lossFeed(): ViewFeed {
  /** What the strip was made from (version, and the comparison's version if it was included). */
  let sent: string | undefined;
  return {
    name: 'loss',
    // Compare on or off changes the selection: one model's strip or two (nothing is sent when neither changed)
    triggers: { analysis: 'whenDone', selection: 'now', comparison: 'whenDone', ready: 'now' },
    reset: () => (sent = undefined),
    async update({ uri, deps, sentVersion, post }: FeedContext) {
      const a = deps.analyses.get(uri);
      const model = deps.analyses.model;
      if (!a?.done || !model || a.version !== sentVersion()) return;
      const c = deps.comparison.current;
      const other = deps.comparison.other;
      const withOther = !!(deps.selection.current.comparison && c && other && c.uri === uri && c.version === a.version && c.done);
      const key = `${a.version}:${a.length}:${withOther ? `${other?.manifestPath}:${c?.length}` : '-'}`;
      if (key === sent) return;
      const engine = deps.analyses.engine;
      const main = await engine.request('loss', { docKey: uri, version: a.version }).catch(() => undefined);
      const second =
        withOther && other ? await engine.request('loss', { docKey: uri, version: a.version, model: other.manifestPath }).catch(() => undefined) : undefined;
      if (!main || deps.analyses.get(uri)?.version !== a.version) return; // edited meanwhile: the next analysis posts
      const strip = lossStrip(main.nll);
      // the same slices for both models (the other's positions beyond this one's length are left out)
      const side = (displayName: string, normaliser: Normaliser, nll: Float32Array, trainingContext: number) => ({
        displayName,
        normaliser,
        mean: stripMeans(nll, strip.edges),
        buckets: lossBuckets(nll, trainingContext),
      });
      sent = key;
      post({
        type: 'loss',
        loss: {
          uri,
          version: a.version,
          trainingContext: main.trainingContext,
          edges: strip.edges,
          models: [
            side(model.displayName, model.normaliser, main.nll, main.trainingContext),
            ...(second && other ? [side(other.displayName, other.normaliser, second.nll, second.trainingContext)] : []),
          ],
        },
      });
    },
  };
}
