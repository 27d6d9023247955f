import type { ReactNode } from 'react';
import { Badge } from '@/components/ui/badge';
import type { SessionExecution } from '@/lib/services/sessions';

/** What the output panel shows of an execution: the history's fields (the console builds the same shape). */
export type ExecutionOutcome = Pick<SessionExecution, 'status' | 'stdout' | 'stderr' | 'result' | 'imagePng' | 'executionTimeMs' | 'error'>;

/** Did the engine stop this execution at its timeout? */
export function timedOut(outcome: Pick<ExecutionOutcome, 'error'>): boolean {
  return outcome.error?.code === 'ExecutionTimeout';
}

/** The execution's status, in words as well as colour. */
export function ExecutionStatusBadge({ outcome }: { outcome: Pick<ExecutionOutcome, 'status' | 'error'> }) {
  if (timedOut(outcome)) return <Badge tone="warn">Timed out</Badge>;
  if (outcome.status === 'Running') return <Badge tone="info">Running</Badge>;
  return outcome.status === 'Succeeded' ? <Badge tone="good">Succeeded</Badge> : <Badge tone="bad">Failed</Badge>;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function resultText(result: unknown): string {
  return typeof result === 'string' ? result : JSON.stringify(result, null, 2);
}

const BLOCK = 'overflow-x-auto whitespace-pre-wrap break-words rounded-md px-3 py-2 font-mono text-xs leading-relaxed';

function Labelled({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="space-y-1">
      <p className="text-[11px] font-medium uppercase tracking-wide text-zinc-500 dark:text-zinc-400">{label}</p>
      {children}
    </div>
  );
}

/**
 * What an execution printed and returned, as a notebook cell shows it: stdout, stderr (where
 * tracebacks go), why the engine stopped it, the last expression's value, and its figure.
 */
export function ExecutionOutput({ outcome }: { outcome: ExecutionOutcome }) {
  const isTimeout = timedOut(outcome);
  // A failing cell's own error is already its traceback in stderr; only the engine's reasons
  // (timeout, a lost sandbox) need saying apart.
  const engineReason = outcome.error && (isTimeout || !outcome.stderr.includes(outcome.error.message.split(':')[0] ?? '')) ? outcome.error : null;
  const hasResult = outcome.result !== null && outcome.result !== undefined && outcome.result !== '';
  const isEmpty = !outcome.stdout && !outcome.stderr && !hasResult && !outcome.imagePng && !engineReason;
  return (
    <div className="space-y-3" data-testid="execution-output">
      {engineReason ? (
        <p role={isTimeout ? 'alert' : undefined} data-testid={isTimeout ? 'timeout-notice' : 'execution-error'} className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950 dark:text-amber-200">
          {isTimeout ? <strong className="font-semibold">The run timed out. </strong> : null}
          {engineReason.message}
        </p>
      ) : null}
      {outcome.stdout ? (
        <Labelled label="Output">
          <pre data-testid="stdout" className={`${BLOCK} bg-zinc-50 text-zinc-800 dark:bg-zinc-950 dark:text-zinc-200`}>
            {outcome.stdout}
          </pre>
        </Labelled>
      ) : null}
      {outcome.stderr ? (
        <Labelled label="Errors and warnings">
          <pre data-testid="stderr" className={`${BLOCK} bg-red-50 text-red-900 dark:bg-red-950/60 dark:text-red-200`}>
            {outcome.stderr}
          </pre>
        </Labelled>
      ) : null}
      {hasResult ? (
        <Labelled label="Result">
          <pre data-testid="result" className={`${BLOCK} bg-sky-50 text-sky-950 dark:bg-sky-950/50 dark:text-sky-100`}>
            {resultText(outcome.result)}
          </pre>
        </Labelled>
      ) : null}
      {outcome.imagePng ? (
        <Labelled label="Figure">
          {/* A data URL straight from the execution result: next/image has nothing to optimise. */}
          <img src={`data:image/png;base64,${outcome.imagePng}`} alt="Figure produced by the code" className="max-w-full rounded-md border border-zinc-200 bg-white dark:border-zinc-800" />
        </Labelled>
      ) : null}
      {isEmpty && outcome.status !== 'Running' ? <p className="text-sm text-zinc-500 dark:text-zinc-400">No output.</p> : null}
    </div>
  );
}
