import { afterAll, describe, expect, it } from 'vitest';
import { createDatabasePool } from '../../engine/db';
import { allocateSession, insertPendingSession, transitionSession } from '../../engine/sessions/store';
import { HOST_OPERATOR } from '../auth/access';
import { newId } from '../ids';
import { expectAppError } from '../testing/assertions';
import { createTestUser, uniquePoolName } from '../testing/factories';
import { getPoolLiveSnapshot, listPoolsForView, occupancySeries, parsePoolListQuery, searchAndSortPools } from './pool-views';
import { createPool, deletePool, type PoolDto } from './pools';

const engineDb = createDatabasePool(process.env.DATABASE_URL!);
afterAll(() => engineDb.end());

function pool(name: string, overrides: { ready?: number; allocated?: number; max?: number; isolation?: PoolDto['isolation'] } = {}): PoolDto {
  return {
    name,
    isolation: overrides.isolation ?? 'gVisor',
    maxConcurrentSessions: overrides.max ?? 10,
    sessions: { pending: 0, ready: overrides.ready ?? 0, allocated: overrides.allocated ?? 0, deleting: 0 },
  } as PoolDto;
}

describe('the pool list query', () => {
  it('reads search, sort and direction, and falls back to name ascending for anything unknown', () => {
    expect(parsePoolListQuery({ q: ' dem ', sort: 'ready', dir: 'desc' })).toEqual({ search: 'dem', sort: 'ready', direction: 'desc' });
    expect(parsePoolListQuery({ sort: 'password', dir: 'sideways' })).toEqual({ search: '', sort: 'name', direction: 'asc' });
    expect(parsePoolListQuery({ q: ['first', 'second'] }).search).toBe('first');
  });

  it('filters by a part of the name and sorts by a column, ties by name', () => {
    const pools = [pool('beta', { ready: 2 }), pool('alpha', { ready: 2 }), pool('gamma', { ready: 5 }), pool('other', { ready: 9 })];
    const sorted = searchAndSortPools(pools, { search: 'a', sort: 'ready', direction: 'desc' });
    expect(sorted.map((entry) => entry.name)).toEqual(['gamma', 'alpha', 'beta']);
    expect(searchAndSortPools(pools, { search: '', sort: 'name', direction: 'desc' }).map((entry) => entry.name)).toEqual(['other', 'gamma', 'beta', 'alpha']);
  });

  it('sorts by the share of capacity in use, not by the number allocated', () => {
    const pools = [pool('big', { allocated: 5, max: 100 }), pool('small', { allocated: 2, max: 2 }), pool('half', { allocated: 3, max: 6 })];
    expect(searchAndSortPools(pools, { search: '', sort: 'capacity', direction: 'desc' }).map((entry) => entry.name)).toEqual(['small', 'half', 'big']);
  });
});

describe('listPoolsForView', () => {
  it('lists only the pools the viewer may read, and refuses a viewer who may read none', async () => {
    const [visible, hidden] = [uniquePoolName(), uniquePoolName()];
    for (const name of [visible, hidden]) await createPool(HOST_OPERATOR, { name, readySessionInstances: 0 });
    const reader = await createTestUser([{ role: 'READER', scope: `/sessionPools/${visible}` }]);
    const { pools, total } = await listPoolsForView(reader.principal, { search: 'pool', sort: 'name', direction: 'asc' });
    expect(pools.map((entry) => entry.name)).toEqual([visible]);
    expect(total).toBe(1);
    const nobody = await createTestUser();
    await expectAppError(listPoolsForView(nobody.principal, { search: '', sort: 'name', direction: 'asc' }), 'FORBIDDEN');
    for (const name of [visible, hidden]) await deletePool(HOST_OPERATOR, name);
  });
});

describe('occupancySeries', () => {
  const minute = 60_000;
  const t0 = Date.parse('2026-11-29T10:00:00Z');
  const at = (minutes: number) => new Date(t0 + minutes * minute);

  it('starts from the states in force when the window opens and steps at each change', () => {
    const events = [
      { sessionId: 'a', toState: 'PENDING' as const, at: at(-90) },
      { sessionId: 'a', toState: 'READY' as const, at: at(-89) },
      { sessionId: 'b', toState: 'PENDING' as const, at: at(-5) },
      { sessionId: 'a', toState: 'ALLOCATED' as const, at: at(10) },
      { sessionId: 'b', toState: 'READY' as const, at: at(10) },
      { sessionId: 'a', toState: 'DELETING' as const, at: at(30) },
      { sessionId: 'a', toState: 'DELETED' as const, at: at(31) },
      { sessionId: 'b', toState: 'ALLOCATED' as const, at: at(70) },
    ];
    expect(occupancySeries(events, { from: t0, to: t0 + 60 * minute })).toEqual([
      { at: t0, ready: 1, allocated: 0 },
      { at: t0 + 10 * minute, ready: 1, allocated: 1 },
      { at: t0 + 30 * minute, ready: 1, allocated: 0 },
      { at: t0 + 60 * minute, ready: 1, allocated: 0 },
    ]);
  });

  it('is flat for a pool without transitions', () => {
    expect(occupancySeries([], { from: t0, to: t0 + minute })).toEqual([
      { at: t0, ready: 0, allocated: 0 },
      { at: t0 + minute, ready: 0, allocated: 0 },
    ]);
  });
});

describe('getPoolLiveSnapshot', () => {
  // The sessions are written by the engine's own store functions, without sandboxes.
  async function poolWithSessions() {
    const pool = await createPool(HOST_OPERATOR, { name: uniquePoolName(), readySessionInstances: 0, maxConcurrentSessions: 5 });
    const ids: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      const id = newId('ses');
      await insertPendingSession(engineDb, { id, poolId: pool.id, generation: pool.generation, runtime: 'RUNC_HARDENED', image: 'test' });
      if (index > 0) await transitionSession(engineDb, id, ['PENDING'], 'READY', 'test sandbox ready');
      ids.push(id);
    }
    await allocateSession(engineDb, { poolId: pool.id, identifier: 'snapshot-identifier', cooldownSeconds: 300, maxConcurrentSessions: 5 });
    return { pool, ids };
  }

  it('puts each session in its lane with its latest event, and the feed starts after the newest event', async () => {
    const { pool, ids } = await poolWithSessions();
    const executor = await createTestUser([{ role: 'SESSION_EXECUTOR', scope: `/sessionPools/${pool.name}` }]);
    const snapshot = await getPoolLiveSnapshot(executor.principal, pool);
    expect(snapshot.sessions.map((session) => [session.id, session.state, session.identifier])).toEqual([
      [ids[0], 'PENDING', null],
      [ids[1], 'ALLOCATED', 'snapshot-identifier'],
      [ids[2], 'READY', null],
    ]);
    expect(snapshot.events.map((event) => event.to)).toEqual(['ALLOCATED', 'READY', 'PENDING', 'READY', 'PENDING', 'PENDING']);
    expect(snapshot.events[0]).toMatchObject({ sessionId: ids[1], identifier: 'snapshot-identifier' });
    expect(snapshot.lastEventId).toBe(snapshot.events[0]!.id);
    expect(snapshot.sessions.find((session) => session.id === ids[1])!.lastEventId).toBe(snapshot.events[0]!.id);
    expect(snapshot.occupancy.at(-1)).toMatchObject({ ready: 1, allocated: 1 });
    expect(snapshot.showsIdentifiers).toBe(true);
    await deletePool(HOST_OPERATOR, pool.name);
  });

  it('leaves identifiers out for Readers and Contributors, and refuses viewers of other pools', async () => {
    const { pool } = await poolWithSessions();
    for (const role of ['READER', 'CONTRIBUTOR'] as const) {
      const viewer = await createTestUser([{ role, scope: `/sessionPools/${pool.name}` }]);
      const snapshot = await getPoolLiveSnapshot(viewer.principal, pool);
      expect(snapshot.showsIdentifiers).toBe(false);
      expect(JSON.stringify(snapshot)).not.toContain('snapshot-identifier');
    }
    const stranger = await createTestUser([{ role: 'OWNER', scope: `/sessionPools/${uniquePoolName()}` }]);
    await expectAppError(getPoolLiveSnapshot(stranger.principal, pool), 'FORBIDDEN');
    await deletePool(HOST_OPERATOR, pool.name);
  });
});
