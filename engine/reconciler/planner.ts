// Decides what a pool needs, from what it should be and what it is. Pure and level-based (as
// in controller-runtime): it never remembers what it did last time, it only compares desired
// with observed, so running it twice, or after a crash, is always safe.
import type { SessionState } from '../../lib/lifecycle/transitions';

export type PoolView = {
  id: string;
  readySessionInstances: number;
  maxConcurrentSessions: number;
  generation: number;
  isDeleting: boolean;
};

export type SessionView = { id: string; state: SessionState; generation: number };

export type PoolPlan = {
  /** How many new sandboxes to start. */
  create: number;
  /** Sessions to tear down, each with the reason recorded in its history. */
  remove: { id: string; reason: string }[];
  /** True when a deleted pool has no sessions left and its row can go. */
  forgetPool: boolean;
};

export function planPool(pool: PoolView, sessions: SessionView[]): PoolPlan {
  const live = sessions.filter((session) => ['PENDING', 'READY', 'ALLOCATED'].includes(session.state));
  if (pool.isDeleting) {
    return {
      create: 0,
      remove: live.map((session) => ({ id: session.id, reason: 'pool deleted' })),
      forgetPool: sessions.every((session) => session.state === 'DELETED' || session.state === 'FAILED'),
    };
  }
  const remove: PoolPlan['remove'] = [];
  // Ready sandboxes built for an older configuration are replaced; allocated ones are left alone.
  const stale = live.filter((session) => session.state === 'READY' && session.generation !== pool.generation);
  for (const session of stale) remove.push({ id: session.id, reason: 'pool configuration changed' });

  const allocated = live.filter((session) => session.state === 'ALLOCATED').length;
  const warming = live.filter((session) => session.state === 'PENDING' && session.generation === pool.generation).length;
  const ready = live.filter((session) => session.state === 'READY' && session.generation === pool.generation);
  // No point keeping more ready than can still be handed out under the cap.
  const target = Math.max(0, Math.min(pool.readySessionInstances, pool.maxConcurrentSessions - allocated));
  const surplus = ready.length + warming - target;
  if (surplus > 0) {
    // Shed the newest first: the oldest are handed out first and stay warmest.
    const newestFirst = [...ready].reverse().slice(0, Math.min(surplus, ready.length));
    for (const session of newestFirst) remove.push({ id: session.id, reason: 'more ready sessions than the pool needs' });
  }
  return { create: Math.max(0, -surplus), remove, forgetPool: false };
}
