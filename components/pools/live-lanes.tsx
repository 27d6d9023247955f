'use client';
import Link from 'next/link';
import { Badge } from '@/components/ui/badge';
import type { LaneSession, LaneState } from '@/lib/services/pool-views';
import { cn } from '@/lib/ui/cn';
import { usePoolLive, type LaneCounts } from './pool-live';
import { clockTime, LANE_STATES, STATE_LABELS, StateBadge } from './session-state';

/** Shown per lane; the count in the lane's heading is always the full one. */
const SHOWN_PER_LANE = 100;

const LANE_ACCENTS: Record<LaneState, string> = {
  PENDING: 'border-t-amber-400',
  READY: 'border-t-emerald-500',
  ALLOCATED: 'border-t-sky-500',
  DELETING: 'border-t-zinc-400',
};

const LANE_HINTS: Record<LaneState, string> = {
  PENDING: 'Sandboxes starting',
  READY: 'Warm, waiting for an identifier',
  ALLOCATED: 'Serving an identifier until its cooldown ends',
  DELETING: 'Being removed',
};

function SessionCard({ session, showsIdentifiers }: { session: LaneSession; showsIdentifiers: boolean }) {
  return (
    <li data-testid="lane-session" data-session-id={session.id} className="rounded-md border border-zinc-200 bg-white px-3 py-2 text-xs dark:border-zinc-800 dark:bg-zinc-900">
      {/* Anyone who sees this page may open its sessions' pages: both take pools.read on the pool.
          No prefetch: a busy pool shows hundreds of these, and each would cost a server render. */}
      <Link
        href={`/sessions/${session.id}`}
        prefetch={false}
        title={`Open session ${session.id}`}
        className="block truncate rounded-sm font-mono text-sky-700 hover:underline focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 dark:text-sky-400"
      >
        {session.id}
      </Link>
      {session.state === 'ALLOCATED' && showsIdentifiers && session.identifier ? (
        <div className="mt-1 truncate text-zinc-600 dark:text-zinc-300" title={session.identifier}>
          identifier <code className="font-mono" data-testid="session-identifier">{session.identifier}</code>
        </div>
      ) : null}
      <div className="mt-1 text-zinc-500 dark:text-zinc-400">
        since <time dateTime={session.since}>{clockTime(session.since)}</time>
      </div>
    </li>
  );
}

export function LiveLanes() {
  const { sessions, counts, showsIdentifiers } = usePoolLive();
  const byState = new Map<LaneState, LaneSession[]>(LANE_STATES.map((state) => [state, []]));
  for (const session of sessions.values()) byState.get(session.state)!.push(session);
  return (
    <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-4">
      {/* Counts for screen readers, announced as sessions move. */}
      <p className="sr-only" aria-live="polite">
        {LANE_STATES.map((state) => `${counts[state.toLowerCase() as keyof LaneCounts]} ${STATE_LABELS[state]!.toLowerCase()}`).join(', ')}
      </p>
      {LANE_STATES.map((state) => {
        const lane = byState.get(state)!.sort((a, b) => a.since.localeCompare(b.since));
        const headingId = `lane-${state.toLowerCase()}`;
        return (
          <section
            key={state}
            aria-labelledby={headingId}
            data-testid={`lane-${state.toLowerCase()}`}
            className={cn('flex min-h-40 flex-col rounded-lg border border-t-4 border-zinc-200 bg-zinc-50 dark:border-zinc-800 dark:bg-zinc-950/40', LANE_ACCENTS[state])}
          >
            <header className="px-3 pt-3 pb-2">
              <h3 id={headingId} className="flex items-center gap-2 text-sm font-semibold">
                <StateBadge state={state} />
                <span className="sr-only">sessions:</span>
                <span data-testid="lane-count" className="tabular-nums">
                  {lane.length}
                </span>
              </h3>
              <p className="mt-1 truncate text-xs text-zinc-500 dark:text-zinc-400" title={LANE_HINTS[state]}>
                {LANE_HINTS[state]}
              </p>
            </header>
            {lane.length === 0 ? (
              <p className="px-3 pb-3 text-xs text-zinc-400">None</p>
            ) : (
              <ul aria-label={`${STATE_LABELS[state]} sessions`} className="max-h-96 space-y-2 overflow-y-auto px-3 pb-3">
                {lane.slice(0, SHOWN_PER_LANE).map((session) => (
                  <SessionCard key={session.id} session={session} showsIdentifiers={showsIdentifiers} />
                ))}
                {lane.length > SHOWN_PER_LANE ? (
                  <li className="text-center text-xs text-zinc-500">
                    <Badge>and {lane.length - SHOWN_PER_LANE} more</Badge>
                  </li>
                ) : null}
              </ul>
            )}
          </section>
        );
      })}
    </div>
  );
}
