/** Channel the engine listens on to reconcile a pool as soon as it changes. */
export const POOL_CHANGED_CHANNEL = 'sandpool_pool_changed';
