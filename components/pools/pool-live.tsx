'use client';
// The pool page's live state: the server's snapshot, kept current by the pool's event stream
// (app/api/pools/[name]/events). EventSource reconnects by itself and sends Last-Event-ID, so
// the server replays what was missed; when the server refuses outright (signed out, pool gone),
// this reconnects with a backoff and refreshes the page so it can say why.
import { useRouter } from 'next/navigation';
import { createContext, useContext, useEffect, useMemo, useReducer, useState, type ReactNode } from 'react';
import type { LaneSession, LaneState, OccupancyPoint, PoolFeedEvent, PoolLiveSnapshot } from '@/lib/services/pool-views';
import { LANE_STATES } from './session-state';

type LiveSessions = {
  sessions: ReadonlyMap<string, LaneSession>;
  /** Newest first. */
  events: PoolFeedEvent[];
  occupancy: OccupancyPoint[];
  /** Sessions seen to end, so a late replayed event cannot bring one back. */
  finished: ReadonlySet<string>;
};

export type Connection = 'connecting' | 'live' | 'reconnecting';
export type LaneCounts = Record<Lowercase<LaneState>, number>;

const RECENT_EVENTS = 50;
const FINISHED_REMEMBERED = 2_000;
const MAX_RETRY_MS = 30_000;
const DRAINED_REFRESH_MS = 2_000;

function isLane(state: string): state is LaneState {
  return (LANE_STATES as readonly string[]).includes(state);
}

function fromSnapshot(snapshot: PoolLiveSnapshot): LiveSessions {
  return { sessions: new Map(snapshot.sessions.map((session) => [session.id, session])), events: snapshot.events, occupancy: snapshot.occupancy, finished: new Set() };
}

function withLogged(events: PoolFeedEvent[], event: PoolFeedEvent): PoolFeedEvent[] {
  if (events.some((logged) => logged.id === event.id)) return events;
  return [...events, event].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1)).slice(0, RECENT_EVENTS);
}

function withOccupancy(occupancy: OccupancyPoint[], sessions: ReadonlyMap<string, LaneSession>, at: number): OccupancyPoint[] {
  let ready = 0;
  let allocated = 0;
  for (const session of sessions.values()) {
    if (session.state === 'READY') ready += 1;
    if (session.state === 'ALLOCATED') allocated += 1;
  }
  const last = occupancy[occupancy.length - 1];
  if (last && last.ready === ready && last.allocated === allocated) return occupancy;
  return [...occupancy, { at: Math.max(at, last?.at ?? at), ready, allocated }];
}

function apply(state: LiveSessions, event: PoolFeedEvent): LiveSessions {
  const events = withLogged(state.events, event);
  const current = state.sessions.get(event.sessionId);
  // Replays overlap what the snapshot or an earlier connection already delivered.
  const isStale = state.finished.has(event.sessionId) || (current !== undefined && BigInt(event.id) <= BigInt(current.lastEventId));
  if (isStale) return events === state.events ? state : { ...state, events };
  const sessions = new Map(state.sessions);
  let finished = state.finished;
  if (isLane(event.to)) {
    sessions.set(event.sessionId, { id: event.sessionId, state: event.to, identifier: event.identifier ?? current?.identifier ?? null, since: event.at, lastEventId: event.id });
  } else {
    sessions.delete(event.sessionId);
    const remembered = [...state.finished, event.sessionId];
    finished = new Set(remembered.slice(-FINISHED_REMEMBERED));
  }
  return { sessions, events, finished, occupancy: withOccupancy(state.occupancy, sessions, Date.parse(event.at)) };
}

type Action = { type: 'event'; event: PoolFeedEvent } | { type: 'snapshot'; snapshot: PoolLiveSnapshot };

function reduce(state: LiveSessions, action: Action): LiveSessions {
  return action.type === 'event' ? apply(state, action.event) : fromSnapshot(action.snapshot);
}

type PoolLive = LiveSessions & { connection: Connection; counts: LaneCounts; showsIdentifiers: boolean; takenAt: number };

const PoolLiveContext = createContext<PoolLive | null>(null);

export function usePoolLive(): PoolLive {
  const live = useContext(PoolLiveContext);
  if (!live) throw new Error('usePoolLive is used outside PoolLiveProvider');
  return live;
}

/** The live state when inside a pool page, else null (components that also work without it). */
export function useOptionalPoolLive(): PoolLive | null {
  return useContext(PoolLiveContext);
}

export function PoolLiveProvider({ poolName, snapshot, isDeleting, children }: { poolName: string; snapshot: PoolLiveSnapshot; isDeleting: boolean; children: ReactNode }) {
  const router = useRouter();
  const [state, dispatch] = useReducer(reduce, snapshot, fromSnapshot);
  const [connection, setConnection] = useState<Connection>('connecting');
  const startAfter = snapshot.lastEventId;

  useEffect(() => {
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let retryMs = 1_000;
    let lastEventId = startAfter;
    const open = () => {
      source = new EventSource(`/api/pools/${encodeURIComponent(poolName)}/events?after=${lastEventId}`);
      source.onopen = () => {
        setConnection('live');
        retryMs = 1_000;
      };
      source.addEventListener('session', (message) => {
        lastEventId = message.lastEventId || lastEventId;
        dispatch({ type: 'event', event: JSON.parse(message.data) as PoolFeedEvent });
      });
      source.addEventListener('snapshot', (message) => {
        lastEventId = message.lastEventId || lastEventId;
        dispatch({ type: 'snapshot', snapshot: JSON.parse(message.data) as PoolLiveSnapshot });
      });
      source.addEventListener('pool', () => router.refresh());
      source.onerror = () => {
        setConnection('reconnecting');
        if (source?.readyState !== EventSource.CLOSED) return; // the browser retries by itself
        retry = setTimeout(open, retryMs);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
        router.refresh();
      };
    };
    open();
    return () => {
      source?.close();
      clearTimeout(retry);
    };
  }, [poolName, startAfter, router]);

  // Once a deleted pool is drained the engine removes it; the page then says so.
  const isDrained = isDeleting && state.sessions.size === 0;
  useEffect(() => {
    if (!isDrained) return;
    const timer = setInterval(() => router.refresh(), DRAINED_REFRESH_MS);
    return () => clearInterval(timer);
  }, [isDrained, router]);

  const value = useMemo<PoolLive>(() => {
    const counts: LaneCounts = { pending: 0, ready: 0, allocated: 0, deleting: 0 };
    for (const session of state.sessions.values()) counts[session.state.toLowerCase() as keyof LaneCounts] += 1;
    return { ...state, connection, counts, showsIdentifiers: snapshot.showsIdentifiers, takenAt: snapshot.takenAt };
  }, [state, connection, snapshot.showsIdentifiers, snapshot.takenAt]);
  return <PoolLiveContext.Provider value={value}>{children}</PoolLiveContext.Provider>;
}
