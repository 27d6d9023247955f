import { describe, expect, it } from 'vitest';
import { planPool, type PoolView, type SessionView } from './planner';

const pool: PoolView = { id: 'pool_a', readySessionInstances: 3, maxConcurrentSessions: 5, generation: 2, isDeleting: false };
const session = (id: string, state: SessionView['state'], generation = 2): SessionView => ({ id, state, generation });

describe('planPool', () => {
  it('fills an empty pool to its ready count', () => {
    expect(planPool(pool, [])).toEqual({ create: 3, remove: [], forgetPool: false });
  });

  it('counts sandboxes still starting, so a second pass does not start them again', () => {
    expect(planPool(pool, [session('a', 'PENDING'), session('b', 'READY')]).create).toBe(1);
    expect(planPool(pool, [session('a', 'PENDING'), session('b', 'PENDING'), session('c', 'PENDING')]).create).toBe(0);
  });

  it('refills after an allocation, up to the cap', () => {
    const sessions = [session('a', 'ALLOCATED'), session('b', 'READY'), session('c', 'READY')];
    expect(planPool(pool, sessions).create).toBe(1);
    const nearlyFull = [session('a', 'ALLOCATED'), session('b', 'ALLOCATED'), session('c', 'ALLOCATED'), session('d', 'ALLOCATED'), session('e', 'READY')];
    expect(planPool(pool, nearlyFull)).toEqual({ create: 0, remove: [], forgetPool: false });
  });

  it('keeps no ready sessions once the cap is reached, and sheds the newest extra ones', () => {
    const full = ['a', 'b', 'c', 'd', 'e'].map((id) => session(id, 'ALLOCATED'));
    expect(planPool(pool, [...full, session('r1', 'READY')]).remove).toEqual([{ id: 'r1', reason: 'more ready sessions than the pool needs' }]);
    const tooMany = ['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => session(id, 'READY'));
    expect(planPool(pool, tooMany).remove.map((entry) => entry.id)).toEqual(['r5', 'r4']);
  });

  it('replaces ready sessions of an older generation but never touches allocated ones', () => {
    const sessions = [session('old', 'READY', 1), session('busy', 'ALLOCATED', 1), session('new', 'READY', 2)];
    const plan = planPool(pool, sessions);
    expect(plan.remove).toEqual([{ id: 'old', reason: 'pool configuration changed' }]);
    expect(plan.create).toBe(2);
  });

  it('ignores finished sessions', () => {
    expect(planPool(pool, [session('x', 'DELETED'), session('y', 'FAILED'), session('z', 'DELETING')]).create).toBe(3);
  });

  it('drains a deleted pool, then lets it go', () => {
    const deleting = { ...pool, isDeleting: true };
    const plan = planPool(deleting, [session('a', 'READY'), session('b', 'ALLOCATED'), session('c', 'DELETING'), session('d', 'PENDING')]);
    expect(plan).toEqual({
      create: 0,
      remove: [
        { id: 'a', reason: 'pool deleted' },
        { id: 'b', reason: 'pool deleted' },
        { id: 'd', reason: 'pool deleted' },
      ],
      forgetPool: false,
    });
    expect(planPool(deleting, [session('a', 'DELETED'), session('b', 'FAILED')]).forgetPool).toBe(true);
    expect(planPool(deleting, []).forgetPool).toBe(true);
  });
});
