/** Every view's feed, in no particular order: the panel runs each on the triggers it names. */
import { compareFeed } from './compareFeed';
import type { ViewFeed } from './feed';
import { focusFeed } from './focusFeed';
import { lossFeed } from './lossFeed';

export const FEEDS: readonly (() => ViewFeed)[] = [focusFeed, lossFeed, compareFeed];
export type { FeedContext, FeedPace, FeedTrigger, ViewFeed } from './feed';
