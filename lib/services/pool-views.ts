import 'server-only';
// What the portal's pool pages show: the list with search and sort, a pool's sessions by
// lifecycle state, its recent events and its occupancy over the last hour. Pool settings and
// counts come from ./pools; every function here checks pools.read on the pool, and session
// identifiers (secrets, reference §3) are only read for viewers with sessions.read on it.
import { can, type Principal } from '../auth/access';
import { poolScope } from '../auth/scope';
import { db } from '../db';
import { AppError } from '../errors';
import type { SessionState } from '../lifecycle/transitions';
import { getPool, listPools, type PoolDto } from './pools';

export const POOL_SORT_KEYS = ['name', 'containerType', 'isolation', 'pending', 'ready', 'allocated', 'deleting', 'capacity'] as const;
export type PoolSortKey = (typeof POOL_SORT_KEYS)[number];
export type SortDirection = 'asc' | 'desc';
export type PoolListQuery = { search: string; sort: PoolSortKey; direction: SortDirection };

type SearchParams = Record<string, string | string[] | undefined>;

function single(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value)?.trim() ?? '';
}

/** Reads ?q=&sort=&dir= leniently: an unknown sort or direction falls back to name, ascending. */
export function parsePoolListQuery(params: SearchParams): PoolListQuery {
  const sort = single(params.sort);
  return {
    search: single(params.q).slice(0, 63),
    sort: (POOL_SORT_KEYS as readonly string[]).includes(sort) ? (sort as PoolSortKey) : 'name',
    direction: single(params.dir) === 'desc' ? 'desc' : 'asc',
  };
}

/** The share of the pool's allocation cap in use, from 0 to 1. */
export function capacityUsed(pool: Pick<PoolDto, 'sessions' | 'maxConcurrentSessions'>): number {
  return pool.sessions.allocated / pool.maxConcurrentSessions;
}

const SORT_VALUE: Record<PoolSortKey, (pool: PoolDto) => string | number> = {
  name: (pool) => pool.name,
  containerType: (pool) => pool.containerType,
  isolation: (pool) => pool.isolation,
  pending: (pool) => pool.sessions.pending,
  ready: (pool) => pool.sessions.ready,
  allocated: (pool) => pool.sessions.allocated,
  deleting: (pool) => pool.sessions.deleting,
  capacity: capacityUsed,
};

/** Pools whose name contains `search`, sorted by `sort`; ties are broken by name. */
export function searchAndSortPools(pools: PoolDto[], query: PoolListQuery): PoolDto[] {
  const needle = query.search.toLowerCase();
  const value = SORT_VALUE[query.sort];
  const sign = query.direction === 'asc' ? 1 : -1;
  return pools
    .filter((pool) => pool.name.includes(needle))
    .sort((a, b) => {
      const [left, right] = [value(a), value(b)];
      const order = typeof left === 'number' && typeof right === 'number' ? left - right : String(left).localeCompare(String(right));
      return order !== 0 ? sign * order : a.name.localeCompare(b.name);
    });
}

/** The pools the viewer may read (pools.read), searched and sorted, and how many they may read in all. */
export async function listPoolsForView(principal: Principal, query: PoolListQuery): Promise<{ pools: PoolDto[]; total: number }> {
  const pools = await listPools(principal);
  return { pools: searchAndSortPools(pools, query), total: pools.length };
}

export type PoolForPage = { pool: PoolDto; problem?: undefined } | { pool?: undefined; problem: 'forbidden' | 'notFound' };

/** One pool (pools.read on it); "no access" and "no such pool" come back as values pages can explain. */
export async function readPoolForPage(principal: Principal, name: string): Promise<PoolForPage> {
  try {
    return { pool: await getPool(principal, name) };
  } catch (error) {
    if (error instanceof AppError && error.code === 'FORBIDDEN') return { problem: 'forbidden' };
    if (error instanceof AppError && error.code === 'NOT_FOUND') return { problem: 'notFound' };
    throw error;
  }
}
