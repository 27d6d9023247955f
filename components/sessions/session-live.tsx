'use client';
import { useRouter } from 'next/navigation';
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { StateBadge } from '@/components/pools/session-state';
import { Badge } from '@/components/ui/badge';

type LiveSession = { state: string; isStopping: boolean; setStopping: (stopping: boolean) => void };

const LiveSessionContext = createContext<LiveSession | null>(null);

/** How long to gather a burst of transitions before re-rendering the page once for all of them. */
const REFRESH_DELAY_MS = 250;

/**
 * Follows one session live: its state changes as the engine moves it (from the pool's event
 * stream, resumed after `lastEventId`), and the page is re-rendered from the server after each
 * transition so its timestamps, lifecycle and files follow.
 */
export function SessionLiveProvider({ sessionId, poolName, state, lastEventId, children }: { sessionId: string; poolName: string; state: string; lastEventId: string; children: ReactNode }) {
  const router = useRouter();
  const [liveState, setLiveState] = useState(state);
  const [isStopping, setStopping] = useState(false);
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  // Where the first connection starts; reconnections resume by themselves (Last-Event-ID).
  const startAfter = useRef(lastEventId);
  const isOver = state === 'DELETED' || state === 'FAILED';

  // A server re-render brings the state as Postgres has it: it is the latest word.
  useEffect(() => setLiveState(state), [state]);

  useEffect(() => {
    if (isOver) return;
    const events = new EventSource(`/api/pools/${encodeURIComponent(poolName)}/events?after=${encodeURIComponent(startAfter.current)}`);
    events.addEventListener('session', (message) => {
      const event = JSON.parse((message as MessageEvent<string>).data) as { sessionId: string; to: string };
      if (event.sessionId !== sessionId) return;
      setLiveState(event.to);
      clearTimeout(refreshTimer.current);
      refreshTimer.current = setTimeout(() => router.refresh(), REFRESH_DELAY_MS);
    });
    return () => {
      events.close();
      clearTimeout(refreshTimer.current);
    };
  }, [sessionId, poolName, isOver, router]);

  return <LiveSessionContext.Provider value={{ state: liveState, isStopping, setStopping }}>{children}</LiveSessionContext.Provider>;
}

export function useLiveSession(): LiveSession {
  const live = useContext(LiveSessionContext);
  if (!live) throw new Error('useLiveSession must be used inside SessionLiveProvider');
  return live;
}

/** The session's state as it is now; while a stop is on its way and no event has come yet, "Stopping". */
export function LiveStateBadge() {
  const { state, isStopping } = useLiveSession();
  return (
    <span data-testid="session-state" aria-live="polite">
      {isStopping && state === 'ALLOCATED' ? <Badge tone="warn">Stopping…</Badge> : <StateBadge state={state} />}
    </span>
  );
}
