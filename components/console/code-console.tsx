'use client';
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { runCodeAction } from '@/app/(dashboard)/console/actions';
import { ExecutionOutput, ExecutionStatusBadge, formatDuration } from '@/components/sessions/execution-output';
import { SessionFiles } from '@/components/sessions/session-files';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardHeader } from '@/components/ui/card';
import { SelectField, TextField } from '@/components/ui/field';
import type { ErrorCode, FieldErrors } from '@/lib/errors';
import type { ConsolePool, ConsoleRun } from '@/lib/services/sessions';
import { CodeEditor } from './code-editor';

const STARTER_CODE = `import numpy as np

values = np.arange(10)
print("sum:", values.sum())
values.mean()
`;

/** What the console can say about the session a run landed in. */
type SessionNotice =
  | { kind: 'started'; sessionId: string }
  | { kind: 'resumed'; sessionId: string }
  | { kind: 'recycled'; sessionId: string; previousSessionId: string };

type Entry = {
  number: number;
  pool: string;
  code: string;
  at: string;
  roundTripMs: number;
  outcome: { kind: 'run'; run: ConsoleRun; notice: SessionNotice | null } | { kind: 'refused'; code: ErrorCode; message: string };
};

type ConsoleProps = {
  pools: ConsolePool[];
  initialPool: string;
  /** The viewer's own identifier (lib/services/sessions.ts consoleIdentifier). */
  defaultIdentifier: string;
  timeout: { default: number; max: number };
};

function newIdentifier(): string {
  return `console-${crypto.randomUUID()}`;
}

function noticeFor(run: ConsoleRun, previousSessionId: string | undefined): SessionNotice | null {
  if (previousSessionId && previousSessionId !== run.sessionId) return { kind: 'recycled', sessionId: run.sessionId, previousSessionId };
  if (previousSessionId) return null;
  return run.startedSession ? { kind: 'started', sessionId: run.sessionId } : { kind: 'resumed', sessionId: run.sessionId };
}

function SessionNoticeText({ notice, cooldownSeconds }: { notice: SessionNotice; cooldownSeconds: number }) {
  if (notice.kind === 'recycled') {
    return (
      <p role="status" data-testid="session-recycled" className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200">
        <strong className="font-semibold">This is a new session; earlier variables are gone.</strong> The previous session ({notice.previousSessionId}) ended: it was idle longer than the
        pool&apos;s cooldown of {cooldownSeconds} s, or it was stopped. Files it held in /mnt/data went with it.
      </p>
    );
  }
  if (notice.kind === 'started') {
    return (
      <p role="status" data-testid="session-started" className="rounded-md bg-sky-50 px-3 py-2 text-sm text-sky-900 dark:bg-sky-950 dark:text-sky-200">
        Started a new session for this identifier. Variables persist between runs until it has been idle for {cooldownSeconds} s.
      </p>
    );
  }
  return (
    <p role="status" data-testid="session-resumed" className="rounded-md bg-sky-50 px-3 py-2 text-sm text-sky-900 dark:bg-sky-950 dark:text-sky-200">
      Continuing this identifier&apos;s running session: variables from earlier runs are still defined.
    </p>
  );
}

const REFUSAL_TITLES: Partial<Record<ErrorCode, string>> = {
  RATE_LIMITED: 'Pool at capacity',
  ENGINE_UNAVAILABLE: 'Engine unavailable',
  FORBIDDEN: 'Not allowed',
  UNAUTHORIZED: 'Signed out',
  BAD_REQUEST: 'Not run',
};

/**
 * The code console: pick a pool and an identifier, write Python, run it with the button or
 * Ctrl/Cmd+Enter. Each run goes through a server action to the engine's POST /executions, as
 * the signed-in person; the same identifier keeps the same kernel, so variables persist.
 */
export function CodeConsole({ pools, initialPool, defaultIdentifier, timeout }: ConsoleProps) {
  const [pool, setPool] = useState(initialPool);
  const [identifier, setIdentifier] = useState(defaultIdentifier);
  const [timeoutSeconds, setTimeoutSeconds] = useState(String(timeout.default));
  const [entries, setEntries] = useState<Entry[]>([]);
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({});
  const [runningSince, setRunningSince] = useState<number | null>(null);
  const [elapsedMs, setElapsedMs] = useState(0);
  const [filesReload, setFilesReload] = useState(0);
  const code = useRef(STARTER_CODE);
  // The session each pool and identifier last ran in, to tell a fresh kernel from the same one.
  const lastSession = useRef(new Map<string, string>());
  const runCount = useRef(0);
  const selectedPool = pools.find((candidate) => candidate.name === pool) ?? pools[0]!;

  useEffect(() => {
    if (runningSince === null) return;
    const timer = setInterval(() => setElapsedMs(performance.now() - runningSince), 100);
    return () => clearInterval(timer);
  }, [runningSince]);

  const run = async () => {
    if (runningSince !== null) return;
    const started = performance.now();
    setRunningSince(started);
    setElapsedMs(0);
    const form = new FormData();
    form.set('pool', pool);
    form.set('identifier', identifier);
    form.set('code', code.current);
    form.set('timeoutSeconds', timeoutSeconds);
    const submitted = { pool, identifier, code: code.current, at: new Date().toISOString() };
    try {
      const state = await runCodeAction(null, form);
      const roundTripMs = Math.round(performance.now() - started);
      runCount.current += 1;
      const base = { number: runCount.current, pool: submitted.pool, code: submitted.code, at: submitted.at, roundTripMs };
      if (state?.ok) {
        const key = `${submitted.pool}\n${submitted.identifier}`;
        const notice = noticeFor(state.data, lastSession.current.get(key));
        lastSession.current.set(key, state.data.sessionId);
        setFieldErrors({});
        setEntries((previous) => [{ ...base, outcome: { kind: 'run', run: state.data, notice } }, ...previous]);
        setFilesReload((count) => count + 1);
      } else if (state) {
        setFieldErrors(state.error.fieldErrors ?? {});
        setEntries((previous) => [{ ...base, outcome: { kind: 'refused', code: state.error.code, message: state.error.message } }, ...previous]);
      }
    } finally {
      setRunningSince(null);
    }
  };

  const filesScope = `pool=${encodeURIComponent(pool)}&identifier=${encodeURIComponent(identifier)}`;
  return (
    <div className="grid gap-6 xl:grid-cols-[minmax(0,1fr)_22rem]">
      <div className="min-w-0 space-y-6">
        <Card>
          <div className="grid gap-4 border-b border-zinc-200 px-5 py-4 sm:grid-cols-[12rem_minmax(0,1fr)_7rem] dark:border-zinc-800">
            <SelectField label="Pool" name="pool" value={pool} onChange={(event) => setPool(event.target.value)} errors={fieldErrors.pool}>
              {pools.map((candidate) => (
                <option key={candidate.name} value={candidate.name}>
                  {candidate.name} ({candidate.isolation})
                </option>
              ))}
            </SelectField>
            <div className="min-w-0">
              <TextField
                label="Session identifier"
                name="identifier"
                value={identifier}
                onChange={(event) => setIdentifier(event.target.value)}
                errors={fieldErrors.identifier}
                hint="Runs with the same identifier share one session. Anyone holding it can use the session: keep it secret."
                autoComplete="off"
                spellCheck={false}
                className="font-mono text-xs"
              />
              <div className="mt-1.5 flex gap-2">
                <Button size="sm" variant="secondary" onClick={() => setIdentifier(newIdentifier())}>
                  New identifier
                </Button>
                {identifier !== defaultIdentifier ? (
                  <Button size="sm" variant="ghost" onClick={() => setIdentifier(defaultIdentifier)}>
                    Back to my identifier
                  </Button>
                ) : null}
              </div>
            </div>
            <TextField
              label="Timeout (s)"
              name="timeoutSeconds"
              type="number"
              inputMode="numeric"
              min={1}
              max={timeout.max}
              value={timeoutSeconds}
              onChange={(event) => setTimeoutSeconds(event.target.value)}
              errors={fieldErrors.timeoutSeconds}
            />
          </div>
          <div className="space-y-3 px-5 py-4">
            <CodeEditor label="Python code" initialCode={STARTER_CODE} onChange={(value) => (code.current = value)} onRun={() => void run()} />
            <div className="flex flex-wrap items-center justify-between gap-3">
              <p className="text-xs text-zinc-500 dark:text-zinc-400">
                <kbd className="rounded border border-zinc-300 px-1 font-mono dark:border-zinc-700">Ctrl</kbd>/
                <kbd className="rounded border border-zinc-300 px-1 font-mono dark:border-zinc-700">⌘</kbd>+
                <kbd className="rounded border border-zinc-300 px-1 font-mono dark:border-zinc-700">Enter</kbd> runs the code. Tab indents; Esc then Tab leaves the editor.
              </p>
              <div className="flex items-center gap-3">
                {runningSince !== null ? (
                  <span role="status" className="text-sm tabular-nums text-zinc-600 dark:text-zinc-400">
                    Running… {(elapsedMs / 1000).toFixed(1)} s
                  </span>
                ) : null}
                <Button onClick={() => void run()} disabled={runningSince !== null} aria-busy={runningSince !== null}>
                  {runningSince !== null ? 'Running…' : 'Run'}
                </Button>
              </div>
            </div>
          </div>
        </Card>
        <section aria-label="Runs" className="space-y-4">
          {entries.length === 0 ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">Runs appear here, newest first, with what they printed, returned and drew.</p>
          ) : (
            entries.map((entry) => <RunCard key={entry.number} entry={entry} cooldownSeconds={pools.find((candidate) => candidate.name === entry.pool)?.cooldownPeriodInSeconds ?? 300} />)
          )}
        </section>
      </div>
      <Card className="h-fit">
        <CardHeader title="Files in /mnt/data" description={`Of this identifier's session in ${selectedPool.name}. Code reads and writes them at /mnt/data/<name>.`} />
        <div className="px-5 py-4">
          <SessionFiles
            key={filesScope}
            scope={filesScope}
            reloadKey={filesReload}
            emptyHint="No files yet. Upload one, or write one from code (open('/mnt/data/out.csv', 'w'))."
          />
        </div>
      </Card>
    </div>
  );
}

function RunCard({ entry, cooldownSeconds }: { entry: Entry; cooldownSeconds: number }) {
  const { outcome } = entry;
  return (
    <Card>
      <article aria-label={`Run ${entry.number}`} data-testid="console-run">
        <header className="flex flex-wrap items-center gap-x-3 gap-y-1 border-b border-zinc-200 px-5 py-3 text-sm dark:border-zinc-800">
          <span className="font-medium">Run {entry.number}</span>
          <time dateTime={entry.at} className="tabular-nums text-zinc-500 dark:text-zinc-400">
            {entry.at.slice(11, 19)} UTC
          </time>
          {outcome.kind === 'run' ? (
            <>
              <ExecutionStatusBadge outcome={outcome.run} />
              <span className="tabular-nums text-zinc-600 dark:text-zinc-400" title="Time the code ran in the kernel, and the whole round trip from this page">
                ran {formatDuration(outcome.run.executionTimeMs)} · round trip {formatDuration(entry.roundTripMs)}
              </span>
              <Link href={`/sessions/${outcome.run.sessionId}`} title="The session's page: its details, history and files" className="ml-auto font-mono text-xs text-sky-700 hover:underline dark:text-sky-400">
                Session {outcome.run.sessionId}
              </Link>
            </>
          ) : (
            <Badge tone={outcome.code === 'RATE_LIMITED' ? 'warn' : 'bad'}>{REFUSAL_TITLES[outcome.code] ?? 'Failed'}</Badge>
          )}
        </header>
        <div className="space-y-3 px-5 py-4">
          {outcome.kind === 'run' && outcome.notice ? <SessionNoticeText notice={outcome.notice} cooldownSeconds={cooldownSeconds} /> : null}
          <details className="group">
            <summary className="cursor-pointer text-xs font-medium text-zinc-500 hover:text-zinc-800 dark:text-zinc-400 dark:hover:text-zinc-200">Code ({entry.pool})</summary>
            <pre className="mt-2 max-h-64 overflow-auto rounded-md bg-zinc-50 px-3 py-2 font-mono text-xs dark:bg-zinc-950">{entry.code}</pre>
          </details>
          {outcome.kind === 'run' ? (
            <ExecutionOutput outcome={outcome.run} />
          ) : (
            <p role="alert" data-testid={outcome.code === 'RATE_LIMITED' ? 'capacity-notice' : 'run-refused'} className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-300">
              {outcome.message}
            </p>
          )}
        </div>
      </article>
    </Card>
  );
}
