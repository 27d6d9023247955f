'use client';
import { EmptyState } from '@/components/ui/card';
import { Table, Td, Th } from '@/components/ui/table';
import { usePoolLive } from './pool-live';
import { StateBadge } from './session-state';

// Three columns in half a page: tighter cells than the shared table's default.
const CELL = 'px-3!';

/** The pool's latest transitions, newest first, as they arrive. */
export function EventLog() {
  const { events, showsIdentifiers } = usePoolLive();
  if (events.length === 0) return <EmptyState title="No transitions yet">Sessions appear here as the engine starts them.</EmptyState>;
  // relative: the screen-reader-only text in the rows must scroll with them, not stretch the page.
  return (
    <div className="relative max-h-[28rem] overflow-y-auto">
      <Table label="Recent events">
        <thead>
          <tr>
            <Th className={CELL}>When (UTC)</Th>
            <Th className={CELL}>Session</Th>
            <Th className={CELL}>Transition</Th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <tr key={event.id} data-testid="event-row" data-event-id={event.id}>
              <Td className={`${CELL} whitespace-nowrap tabular-nums`}>
                <time dateTime={event.at}>{event.at.slice(11, 19)}</time>
              </Td>
              <Td className={CELL}>
                <code className="font-mono text-xs">{event.sessionId}</code>
                {showsIdentifiers && event.identifier ? <div className="text-xs text-zinc-500">identifier {event.identifier}</div> : null}
              </Td>
              <Td className={CELL}>
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
