import 'server-only';
// What the portal's pool pages show: the list with search and sort, a pool's sessions by
// lifecycle state, its recent events and its occupancy over the last hour. Pool settings and
// counts come from ./pools; every function here checks pools.read on the pool, and session
// identifiers (secrets, reference §3) are only read for viewers with sessions.read on it.
import { can, type Principal } from '../auth/access';
import { poolScope } from '../auth/scope';
import { db } from '../db';
import { AppError } from '../errors';
import { COMMIT_SKEW_MS } from '../lifecycle/events';
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

/** The states a live session can be in, one lane each on the pool page. */
export type LaneState = Extract<SessionState, 'PENDING' | 'READY' | 'ALLOCATED' | 'DELETING'>;
const LANE_STATES: LaneState[] = ['PENDING', 'READY', 'ALLOCATED', 'DELETING'];

export type LaneSession = {
  id: string;
  state: LaneState;
  /** Only for viewers who may act on the pool's sessions (sessions.read), else null. */
  identifier: string | null;
  /** When it entered its state (ISO 8601). */
  since: string;
  /** The session's latest event: a replayed event at or before it is already reflected here. */
  lastEventId: string;
};

/** One lifecycle transition as the live view receives it. */
export type PoolFeedEvent = {
  id: string;
  sessionId: string;
  from: SessionState | null;
  to: SessionState;
  reason: string;
  at: string;
  /** On allocations, for viewers with sessions.read. */
  identifier?: string;
};

export type OccupancyPoint = { at: number; ready: number; allocated: number };

export type PoolLiveSnapshot = {
  sessions: LaneSession[];
  /** Newest first. */
  events: PoolFeedEvent[];
  /** The live feed continues after this event. */
  lastEventId: string;
  showsIdentifiers: boolean;
  occupancy: OccupancyPoint[];
  /** When the snapshot was taken (ms since the epoch): the chart's "now" until the browser ticks. */
  takenAt: number;
};

export const RECENT_EVENTS = 50;
export const OCCUPANCY_WINDOW_MS = 60 * 60 * 1000;

/** Who may see identifiers: those allowed to act on the pool's sessions (reference §3). */
export function showsIdentifiers(principal: Principal, poolName: string): boolean {
  return can(principal, 'sessions.read', poolScope(poolName));
}

function assertReadable(principal: Principal, pool: Pick<PoolDto, 'name'>): void {
  if (!can(principal, 'pools.read', poolScope(pool.name))) throw new AppError('FORBIDDEN', `You need the "pools.read" permission on ${poolScope(pool.name)}.`);
}

type EventRow = { id: bigint; sessionId: string; fromState: SessionState | null; toState: SessionState; reason: string; at: Date; session: { identifier: string | null } };

function toFeedEvent(row: EventRow, withIdentifier: boolean): PoolFeedEvent {
  const event: PoolFeedEvent = { id: row.id.toString(), sessionId: row.sessionId, from: row.fromState, to: row.toState, reason: row.reason, at: row.at.toISOString() };
  if (withIdentifier && row.toState === 'ALLOCATED' && row.session.identifier) event.identifier = row.session.identifier;
  return event;
}

const EVENT_SELECT = { id: true, sessionId: true, fromState: true, toState: true, reason: true, at: true, session: { select: { identifier: true } } } as const;

/**
 * Counts of ready and allocated sessions over `window`, from the transitions of the sessions
 * that were live at some point in it (ordered by id). One point where the window starts,
 * one per change, one where it ends: a step chart needs nothing more.
 */
export function occupancySeries(events: { sessionId: string; toState: SessionState; at: Date }[], window: { from: number; to: number }): OccupancyPoint[] {
  const stateOf = new Map<string, SessionState>();
  const counts = { ready: 0, allocated: 0 };
  const move = (sessionId: string, to: SessionState) => {
    const from = stateOf.get(sessionId);
    if (from === 'READY') counts.ready -= 1;
    if (from === 'ALLOCATED') counts.allocated -= 1;
    if (to === 'READY') counts.ready += 1;
    if (to === 'ALLOCATED') counts.allocated += 1;
    stateOf.set(sessionId, to);
  };
  const points: OccupancyPoint[] = [];
  let started = false;
  for (const event of events) {
    const at = event.at.getTime();
    if (at > window.to) break;
    if (at > window.from && !started) {
      points.push({ at: window.from, ...counts });
      started = true;
    }
    move(event.sessionId, event.toState);
    if (started) {
      const last = points[points.length - 1]!;
      if (last.at === at) Object.assign(last, counts);
      else if (last.ready !== counts.ready || last.allocated !== counts.allocated) points.push({ at, ...counts });
    }
  }
  if (!started) points.push({ at: window.from, ...counts });
  points.push({ at: window.to, ...counts });
  return points;
}

/**
 * Everything the live pool page starts from, read in one repeatable-read transaction so the
 * sessions, the event log and the feed's starting point agree with each other (pools.read).
 */
export async function getPoolLiveSnapshot(principal: Principal, pool: Pick<PoolDto, 'id' | 'name'>): Promise<PoolLiveSnapshot> {
  assertReadable(principal, pool);
  const withIdentifiers = showsIdentifiers(principal, pool.name);
  const takenAt = Date.now();
  const since = new Date(takenAt - OCCUPANCY_WINDOW_MS);
  const [sessions, events, history] = await db().$transaction(
    [
      db().session.findMany({
        where: { poolId: pool.id, state: { in: LANE_STATES } },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        select: { id: true, state: true, identifier: true, events: { orderBy: { id: 'desc' }, take: 1, select: { id: true, at: true } } },
      }),
      db().sessionEvent.findMany({ where: { poolId: pool.id }, orderBy: { id: 'desc' }, take: RECENT_EVENTS, select: EVENT_SELECT }),
      // The transitions of every session live at some point in the last hour, including how
      // the ones already live when it began got there.
      db().sessionEvent.findMany({
        where: { poolId: pool.id, session: { OR: [{ state: { in: LANE_STATES } }, { events: { some: { at: { gte: since } } } }] } },
        orderBy: { id: 'asc' },
        select: { sessionId: true, toState: true, at: true },
      }),
    ],
    { isolationLevel: 'RepeatableRead' },
  );
  return {
    sessions: sessions.map((session) => ({
      id: session.id,
      state: session.state as LaneState,
      identifier: withIdentifiers ? session.identifier : null,
      since: (session.events[0]?.at ?? new Date(takenAt)).toISOString(),
      lastEventId: session.events[0]?.id.toString() ?? '0',
    })),
    events: events.map((row) => toFeedEvent(row, withIdentifiers)),
    lastEventId: events[0]?.id.toString() ?? '0',
    showsIdentifiers: withIdentifiers,
    occupancy: occupancySeries(history, { from: since.getTime(), to: takenAt }),
    takenAt,
  };
}

/**
 * The pool's events after `after`, oldest first, for a client resuming the feed (pools.read).
 * Events committed out of id order shortly before `after` are included as well: clients
 * ignore what they already have.
 */
export async function poolEventsAfter(principal: Principal, pool: Pick<PoolDto, 'id' | 'name'>, after: bigint, limit: number): Promise<PoolFeedEvent[]> {
  assertReadable(principal, pool);
  const anchor = after > 0n ? await db().sessionEvent.findUnique({ where: { id: after }, select: { at: true } }) : null;
  const rows = await db().sessionEvent.findMany({
    where: { poolId: pool.id, OR: [{ id: { gt: after } }, ...(anchor ? [{ at: { gte: new Date(anchor.at.getTime() - COMMIT_SKEW_MS) } }] : [])] },
    orderBy: { id: 'asc' },
    take: limit,
    select: EVENT_SELECT,
  });
  return rows.map((row) => toFeedEvent(row, showsIdentifiers(principal, pool.name)));
}

/** The identifier a session was allocated to, for a live allocation event (sessions.read on the pool). */
export async function allocatedIdentifier(principal: Principal, pool: Pick<PoolDto, 'name'>, sessionId: string): Promise<string | undefined> {
  if (!showsIdentifiers(principal, pool.name)) return undefined;
  const session = await db().session.findUnique({ where: { id: sessionId }, select: { identifier: true } });
  return session?.identifier ?? undefined;
}
