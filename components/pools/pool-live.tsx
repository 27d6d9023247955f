'use client';
// The pool page's live state: the server's snapshot, kept current by the pool's event stream
// (app/api/pools/[name]/events). EventSource reconnects by itself and sends Last-Event-ID, so
// the server replays what was missed; when the server refuses outright (signed out, pool gone),
// this reconnects with a backoff and refreshes the page so it can say why.
import { useRouter } from 'next/navigation';
import { createContext, useContext, useEffect, useMemo, useReducer, useState, type ReactNode } from 'react';
import type { PoolFeedEvent, PoolLiveSnapshot } from '@/lib/services/pool-views';
import { fromSnapshot, reduce, type LaneCounts, type LiveSessions } from './live-state';

export type Connection = 'connecting' | 'live' | 'reconnecting';
export type { LaneCounts };

const MAX_RETRY_MS = 10_000;
const DRAINED_REFRESH_MS = 2_000;

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
  // Where the feed starts: the first snapshot only. A refreshed page brings a newer snapshot,
  // but the stream already covers it; restarting from there could skip events still in flight.
  const [startAfter] = useState(snapshot.lastEventId);

  useEffect(() => {
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let retryMs = 1_000;
    let lastEventId = startAfter;
    // The server ends each stream after a while on purpose; that reconnection is not news.
    let isRenewing = false;
    const open = () => {
      source = new EventSource(`/api/pools/${encodeURIComponent(poolName)}/events?after=${lastEventId}`);
      source.onopen = () => {
        setConnection('live');
        isRenewing = false;
        retryMs = 1_000;
      };
      source.addEventListener('renew', () => (isRenewing = true));
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
        if (isRenewing) isRenewing = false;
        else setConnection('reconnecting');
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
