import { describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../auth/access';
import { expectAppError } from '../testing/assertions';
import { createTestUser, uniquePoolName } from '../testing/factories';
import { listPoolsForView, parsePoolListQuery, searchAndSortPools } from './pool-views';
import { createPool, deletePool, type PoolDto } from './pools';

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
