import type { Metadata } from 'next';
import Link from 'next/link';
import { Forbidden } from '@/components/shell/forbidden';
import { Badge } from '@/components/ui/badge';
import { Card, CardHeader, EmptyState, PageHeader } from '@/components/ui/card';
import { Table, Td, Th } from '@/components/ui/table';
import { Time } from '@/components/ui/time';
import { can } from '@/lib/auth/access';
import { requirePrincipal } from '@/lib/auth/session';
import { listAuditEvents } from '@/lib/services/audit';

export const metadata: Metadata = { title: 'Audit log' };

const OUTCOME = {
  SUCCESS: { tone: 'good', label: 'Succeeded' },
  DENIED: { tone: 'bad', label: 'Denied' },
  FAILED: { tone: 'warn', label: 'Failed' },
} as const;

const ACTOR_KIND = { USER: 'User', SERVICE_PRINCIPAL: 'Service principal', SYSTEM: 'System', ANONYMOUS: 'Not signed in' } as const;

export default async function AuditPage({ searchParams }: { searchParams: Promise<{ before?: string }> }) {
  const principal = await requirePrincipal();
  if (!can(principal, 'audit.read')) return <Forbidden what="the audit log" />;
  const { before } = await searchParams;
  const { events, nextBefore } = await listAuditEvents(principal, { before, limit: 50 });
  return (
    <>
      <PageHeader title="Audit log" description="Every change, who made it and whether it succeeded, newest first. Refusals are recorded too." />
      <Card>
        <CardHeader title={before ? 'Older events' : 'Latest events'} actions={before ? <Link className="text-sm text-sky-700 hover:underline dark:text-sky-400" href="/audit">Back to latest</Link> : null} />
        {events.length === 0 ? (
          <EmptyState title="Nothing recorded yet" />
        ) : (
          <Table label="Audit events">
            <thead>
              <tr>
                <Th>When</Th>
                <Th>Who</Th>
                <Th>Action</Th>
                <Th>Target</Th>
                <Th>Outcome</Th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.id} data-testid="audit-row">
                  <Td>
                    <Time value={event.at} />
                  </Td>
                  <Td>
                    <div>{event.actorLabel}</div>
                    <div className="text-xs text-zinc-500">{ACTOR_KIND[event.actorType]}</div>
                  </Td>
                  <Td>
                    <code className="font-mono text-xs">{event.action}</code>
                  </Td>
                  <Td>{event.targetLabel ?? <span className="text-zinc-400">—</span>}</Td>
                  <Td>
                    <Badge tone={OUTCOME[event.outcome].tone}>{OUTCOME[event.outcome].label}</Badge>
                    {event.message ? <div className="mt-1 max-w-sm text-xs text-zinc-500">{event.message}</div> : null}
                  </Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        {nextBefore ? (
          <div className="px-5 py-3 text-right">
            <Link className="text-sm text-sky-700 hover:underline dark:text-sky-400" href={`/audit?before=${nextBefore}`}>
              Older events →
            </Link>
          </div>
        ) : null}
      </Card>
    </>
  );
}
