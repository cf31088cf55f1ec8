/**
 * A view's feed: what the host sends one tab of the panel, when, and how often. The panel runs every feed in
 * FEEDS (index.ts) and knows none of them by name: adding a view's data is one file here (and its view in
 * webview/views, and the model-process method it asks, if any).
 */
import type { HostToWebview } from '../../protocol';
import type { PanelDeps } from '../panel';

/** What happened: analysis progress, the selection (token, head, overlay, Compare), the comparison model's analysis,
 * a (re)loaded webview, or a setting the views depend on (topK, sinkTokens). */
export type FeedTrigger = 'analysis' | 'selection' | 'comparison' | 'ready' | 'settings';

/**
 * How a trigger is answered: `now`; `throttled`, at most about once a second while an analysis runs (the update
 * at its end goes at once); `whenDone`, only once the analysis that reported is done.
 */
export type FeedPace = 'now' | 'throttled' | 'whenDone';

export interface FeedContext {
  readonly uri: string;
  readonly deps: PanelDeps;
  /** The document version the webview shows now (undefined: none yet): a feed posts nothing for another one. */
  readonly sentVersion: () => number | undefined;
  readonly post: (msg: HostToWebview) => void;
}

export interface ViewFeed {
  readonly name: string;
  readonly triggers: Partial<Record<FeedTrigger, FeedPace>>;
  /** Posts what its view needs now, when that changed since the last post (each feed keeps its own key). */
  update(ctx: FeedContext): Promise<void>;
  /** The webview, the document or the model changed: whatever was sent must be sent again. */
  reset(): void;
}
