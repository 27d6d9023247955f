'use client';
import { EmptyState } from '@/components/ui/card';
import { Table, Td, Th } from '@/components/ui/table';
import { usePoolLive } from './pool-live';
import { clockTime, StateBadge } from './session-state';

/** The pool's latest transitions, newest first, as they arrive. */
export function EventLog() {
  const { events, showsIdentifiers } = usePoolLive();
  if (events.length === 0) return <EmptyState title="No transitions yet">Sessions appear here as the engine starts them.</EmptyState>;
  return (
    <div className="max-h-[28rem] overflow-y-auto">
      <Table label="Recent events">
        <thead>
          <tr>
            <Th>When</Th>
            <Th>Session</Th>
            <Th>Transition</Th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id} data-testid="event-row" data-event-id={event.id}>
              <Td className="whitespace-nowrap tabular-nums">
                <time dateTime={event.at}>{clockTime(event.at)}</time>
              </Td>
              <Td>
                <code className="font-mono text-xs">{event.sessionId}</code>
                {showsIdentifiers && event.identifier ? <div className="text-xs text-zinc-500">identifier {event.identifier}</div> : null}
              </Td>
              <Td>
                <span className="flex items-center gap-1 whitespace-nowrap">
                  {event.from ? <StateBadge state={event.from} /> : <span className="text-xs text-zinc-400">new</span>}
                  <span aria-hidden="true">→</span>
                  <span className="sr-only">to</span>
                  <StateBadge state={event.to} />
                </span>
                <div className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">{event.reason}</div>
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </div>
  );
}
