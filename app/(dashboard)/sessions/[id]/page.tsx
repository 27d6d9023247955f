import type { Metadata } from 'next';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { Breadcrumbs } from '@/components/pools/breadcrumbs';
import { StateBadge } from '@/components/pools/session-state';
import { ExecutionOutput, ExecutionStatusBadge, formatDuration } from '@/components/sessions/execution-output';
import { SessionFiles, type FileListing } from '@/components/sessions/session-files';
import { LiveStateBadge, SessionLiveProvider } from '@/components/sessions/session-live';
import { StopSessionButton } from '@/components/sessions/stop-session-button';
import { Forbidden } from '@/components/shell/forbidden';
import { Badge } from '@/components/ui/badge';
import { Card, CardHeader, EmptyState, PageHeader } from '@/components/ui/card';
import { CopyButton } from '@/components/ui/copy-button';
import { Time } from '@/components/ui/time';
import { MAX_TIMEOUT_SECONDS } from '@/engine/dataplane/requests';
import { requirePrincipal } from '@/lib/auth/session';
import { AppError, toAppError } from '@/lib/errors';
import { getSessionDetail, listSessionExecutions, listSessionFiles, type SessionDetail, type SessionExecution } from '@/lib/services/sessions';
import { stopSessionAction } from '../actions';

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: `Session ${(await params).id}` };
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="flex justify-between gap-4 py-2">
      <dt className="shrink-0 text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="min-w-0 text-right tabular-nums">{children}</dd>
    </div>
  );
}

async function readSession(principal: Awaited<ReturnType<typeof requirePrincipal>>, id: string): Promise<SessionDetail | 'forbidden' | 'notFound'> {
  try {
    return await getSessionDetail(principal, id);
  } catch (error) {
    if (error instanceof AppError && error.code === 'FORBIDDEN') return 'forbidden';
    if (error instanceof AppError && error.code === 'NOT_FOUND') return 'notFound';
    throw error;
  }
}

export default async function SessionPage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const { id } = await params;
  const principal = await requirePrincipal();
  const session = await readSession(principal, id);
  if (session === 'forbidden') return <Forbidden what={`session ${id}`} />;
  if (session === 'notFound') {
    return (
      <Card>
        <EmptyState title={`There is no session ${id}`}>
          Its pool may have been deleted, taking its sessions with it.{' '}
          <Link href="/pools" className="text-sky-700 hover:underline dark:text-sky-400">
            See the pools
          </Link>
          .
        </EmptyState>
      </Card>
    );
  }
  const before = (await searchParams).before;
  const history = await listSessionExecutions(principal, { id: session.id, poolName: session.pool.name }, { before: typeof before === 'string' ? before : undefined });
  const isRunning = session.state === 'ALLOCATED';
  let files: FileListing | null = null;
  let filesProblem: string | null = null;
  if (session.canAct && isRunning && session.identifier) {
    try {
      files = await listSessionFiles(principal, { poolName: session.pool.name, identifier: session.identifier, sessionId: session.id });
    } catch (error) {
      filesProblem = toAppError(error).message;
    }
  }
  const isOlderGeneration = session.generation !== session.pool.generation;
  return (
    <SessionLiveProvider sessionId={session.id} poolName={session.pool.name} state={session.state} lastEventId={session.lastEventId}>
      <Breadcrumbs trail={[{ href: '/pools', label: 'Pools' }, { href: `/pools/${session.pool.name}`, label: session.pool.name }, { label: session.id }]} />
      <PageHeader
        title={`Session ${session.id}`}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <LiveStateBadge />
            <span>
              in pool {session.pool.name} · {session.isolation}
            </span>
          </span>
        }
        actions={session.canAct ? <StopSessionButton sessionId={session.id} action={stopSessionAction} /> : null}
      />
      <div className="space-y-6">
        <div className="grid gap-6 lg:grid-cols-2">
          <Card>
            <CardHeader title="Details" />
            <dl aria-label="Session details" className="divide-y divide-zinc-100 px-5 py-2 text-sm dark:divide-zinc-800">
              <Field label="Identifier">
                {session.identifier ? (
                  <span className="flex items-center justify-end gap-2">
                    <code data-testid="session-identifier" className="truncate font-mono text-xs" title={session.identifier}>
                      {session.identifier}
                    </code>
                    <CopyButton value={session.identifier} />
                  </span>
                ) : session.canAct ? (
                  <span className="text-zinc-400">none (not allocated)</span>
                ) : (
                  <span data-testid="identifier-hidden" className="text-zinc-500 dark:text-zinc-400">
                    Hidden: only Session Executors and Owners of {session.pool.name} see identifiers
                  </span>
                )}
              </Field>
              <Field label="State">
                <StateBadge state={session.state} />
              </Field>
              {session.failureReason ? <Field label="Failure">{session.failureReason}</Field> : null}
              <Field label="Created">
                <Time value={session.createdAt} seconds />
              </Field>
              <Field label="Ready">
                <Time value={session.readyAt} seconds />
              </Field>
              <Field label="Allocated">
                <Time value={session.allocatedAt} seconds />
              </Field>
              <Field label="Last access">
                <Time value={session.lastAccessedAt} seconds />
              </Field>
              <Field label="Expires">
                {isRunning ? (
                  <>
                    <Time value={session.expiresAt} seconds /> <span className="text-zinc-500 dark:text-zinc-400">(after {session.pool.cooldownPeriodInSeconds} s idle)</span>
                  </>
                ) : (
                  <Time value={session.expiresAt} seconds />
                )}
              </Field>
              {session.deletedAt || session.deletingAt ? (
                <Field label="Deleted">
                  <Time value={session.deletedAt ?? session.deletingAt} seconds />
                </Field>
              ) : null}
            </dl>
          </Card>
          <Card>
            <CardHeader title="Runtime and limits" description={isOlderGeneration ? `Started for generation ${session.generation}; the pool has moved to ${session.pool.generation}, and this session keeps the limits it started with.` : undefined} />
            <dl aria-label="Runtime and limits" className="divide-y divide-zinc-100 px-5 py-2 text-sm dark:divide-zinc-800">
              <Field label="Isolation">{session.isolation === 'gVisor' ? 'gVisor (user-space kernel)' : 'runc (hardened container)'}</Field>
              <Field label="Image">
                <code className="font-mono text-xs break-all">{session.image ?? '—'}</code>
              </Field>
              <Field label="Generation">{session.generation}</Field>
              {isOlderGeneration ? null : (
                <Field label="CPU / memory">
                  {session.pool.cpu} cores / {session.pool.memoryGi} GiB
                </Field>
              )}
              <Field label="Execution timeout">up to {MAX_TIMEOUT_SECONDS} s per run</Field>
              <Field label="Network">loopback only (egress disabled)</Field>
            </dl>
            <CardHeader title="Lifecycle" />
            <ol aria-label="Lifecycle" className="divide-y divide-zinc-100 px-5 py-2 text-sm dark:divide-zinc-800">
              {session.events.map((event) => (
                <li key={event.id} data-testid="lifecycle-event" className="flex flex-wrap items-center gap-2 py-2">
                  <Time value={event.at} seconds />
                  <span className="flex items-center gap-1">
                    {event.from ? <StateBadge state={event.from} /> : null}
                    {event.from ? <span aria-label="to">→</span> : null}
                    <StateBadge state={event.to} />
                  </span>
                  <span className="text-zinc-600 dark:text-zinc-400">{event.reason}</span>
                </li>
              ))}
            </ol>
          </Card>
        </div>
        <Card>
          <CardHeader title="Files in /mnt/data" description="The session's own folder; code reads and writes it at /mnt/data/<name>." />
          <div className="px-5 py-4">
            {!session.canAct ? (
              <p className="text-sm text-zinc-500 dark:text-zinc-400">Files are reached through the data plane, which takes Session Executor or Owner on {session.pool.name}.</p>
            ) : !isRunning ? (
              <p className="text-sm text-zinc-500 dark:text-zinc-400">This session is no longer running; its files went with its sandbox.</p>
            ) : filesProblem ? (
              <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-300">
                {filesProblem}
              </p>
            ) : (
              <SessionFiles scope={`session=${encodeURIComponent(session.id)}`} initial={files ?? undefined} emptyHint="No files yet. Upload one, or write one from code." />
            )}
          </div>
        </Card>
        <Card>
          <CardHeader title="Executions" description="Every execution in this session, newest first, from the engine's request history (kept 30 days)." />
          {history.executions.length === 0 ? (
            <EmptyState title={before ? 'No older executions' : 'No executions yet'}>Code run in this session through the data plane or the console appears here.</EmptyState>
          ) : (
            <ol aria-label="Executions" className="divide-y divide-zinc-200 dark:divide-zinc-800">
              {history.executions.map((execution) => (
                <ExecutionItem key={execution.id} execution={execution} />
              ))}
            </ol>
          )}
          {history.nextBefore || before ? (
            <nav aria-label="Execution pages" className="flex justify-between border-t border-zinc-200 px-5 py-3 text-sm dark:border-zinc-800">
              {before ? (
                <Link href={`/sessions/${session.id}`} className="text-sky-700 hover:underline dark:text-sky-400">
                  Newest
                </Link>
              ) : (
                <span />
              )}
              {history.nextBefore ? (
                <Link href={`/sessions/${session.id}?before=${history.nextBefore}`} className="text-sky-700 hover:underline dark:text-sky-400">
                  Older executions
                </Link>
              ) : null}
            </nav>
          ) : null}
        </Card>
      </div>
    </SessionLiveProvider>
  );
}

function ExecutionItem({ execution }: { execution: SessionExecution }) {
  return (
    <li data-testid="session-execution" className="space-y-3 px-5 py-4">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm">
        <Time value={execution.at} seconds />
        <ExecutionStatusBadge outcome={execution} />
        {execution.asynchronous ? <Badge>Asynchronous</Badge> : null}
        {execution.executionTimeMs !== null ? <span className="tabular-nums text-zinc-600 dark:text-zinc-400">ran {formatDuration(execution.executionTimeMs)}</span> : null}
        <span className="ml-auto text-zinc-600 dark:text-zinc-400">
          by <span className="font-medium text-zinc-800 dark:text-zinc-200">{execution.ranBy}</span>
        </span>
      </div>
      <pre aria-label="Code" className="max-h-64 overflow-auto rounded-md bg-zinc-50 px-3 py-2 font-mono text-xs dark:bg-zinc-950">
        {execution.code}
      </pre>
      <ExecutionOutput outcome={execution} />
    </li>
  );
}
