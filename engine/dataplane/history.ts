// The data plane's request history (table data_plane_requests): who called which route of which
// pool, for which identifier and session, how it ended and how long it took; for executions
// also the code and what it printed. The portal shows it as each session's history.
//
// Recording stays off the request path: rows are queued once the reply is on its way and written
// in batches, on connections that do not wait for the disk (relaxedDb), together with the
// session's closing touch (its cooldown counts from the end of the request). Losing the last
// moment of history in a Postgres crash is harmless. An asynchronous execution is different:
// its caller polls for it, so it is written durably before its 202 and completed durably.
import type pg from 'pg';

/** The most of a code, stdout or stderr text the history keeps. */
export const HISTORY_TEXT_LIMIT_BYTES = 64 * 1024;
/** The most JSON of an execution result (a PNG, say) the history keeps. */
export const HISTORY_RESULT_LIMIT_BYTES = 256 * 1024;
/** Rows older than this are deleted. */
export const HISTORY_RETENTION_DAYS = 30;
const PRUNE_INTERVAL_MS = 60 * 60_000;
const PRUNE_BATCH = 10_000;
const MAX_BATCH = 200;
/**
 * How long a queued row waits for others to share its write. Back-to-back requests (an agent
 * loop) would otherwise each pay for a write racing the next request for the CPU and the
 * session's row; a session stays busy this much longer, which only delays its cooldown.
 */
const FLUSH_DELAY_MS = 25;
const COMPLETE_ATTEMPTS = 5;

/** Azure's execution statuses (SessionCodeExecutionResource.status) that Sandpool reports. */
export type ExecutionStatus = 'Running' | 'Succeeded' | 'Failed';

export type ExecutionError = { code: string; message: string };

/** An execution as the API returns it; stdout and stderr already cut to the caller's outputStreamsMaxLength. */
export type ExecutionRecord = {
  executionId: string;
  asynchronous: boolean;
  status: ExecutionStatus;
  code: string;
  stdout?: string;
  stderr?: string;
  executionResult?: unknown;
  executionTimeMs?: number;
  error?: ExecutionError;
};

export type RequestRecord = {
  at: Date;
  poolId: string;
  sessionId: string | null;
  identifier: string | null;
  principalId: string;
  principalLabel: string;
  /** Method and route as the API names it, e.g. "POST /executions". */
  route: string;
  statusCode: number;
  durationMs: number;
  execution?: ExecutionRecord;
};

/** A session whose cooldown restarts when the row is written. */
export type SessionTouch = { sessionId: string; cooldownSeconds: number };

type Entry = { record?: RequestRecord; touch?: SessionTouch; done?: () => void };

const DB_STATUS: Record<ExecutionStatus, string> = { Running: 'RUNNING', Succeeded: 'SUCCEEDED', Failed: 'FAILED' };
const API_STATUS: Record<string, ExecutionStatus> = { RUNNING: 'Running', SUCCEEDED: 'Succeeded', FAILED: 'Failed' };

const encoder = new TextEncoder();

/** The longest prefix of `text` whose UTF-8 encoding fits in `maxBytes` (never splits a character). */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const { read } = encoder.encodeInto(text, new Uint8Array(maxBytes));
  return text.slice(0, read);
}

/** The result as the history keeps it: itself, or a note when its JSON is too large. */
function keptResult(result: unknown): unknown {
  if (result === undefined) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(result) ?? '');
  if (bytes <= HISTORY_RESULT_LIMIT_BYTES) return result;
  const { type, format } = (typeof result === 'object' && result !== null ? result : {}) as { type?: unknown; format?: unknown };
  return { type, format, omitted: `The result (${bytes} bytes of JSON) is larger than ${HISTORY_RESULT_LIMIT_BYTES / 1024} KiB, the most the request history keeps.` };
}

function keptText(value: string | undefined): string | null {
  return value === undefined ? null : truncateUtf8(value, HISTORY_TEXT_LIMIT_BYTES);
}

/** One row as json_to_recordset reads it (see RECORDSET). */
function rowOf(record: RequestRecord) {
  const execution = record.execution;
  const finished = execution !== undefined && execution.status !== 'Running';
  return {
    at: record.at.toISOString(),
    pool_id: record.poolId,
    session_id: record.sessionId,
    identifier: record.identifier,
    principal_id: record.principalId,
    principal_label: record.principalLabel,
    route: record.route,
    status_code: record.statusCode,
    duration_ms: record.durationMs,
    execution_id: execution?.executionId ?? null,
    asynchronous: execution?.asynchronous ?? null,
    execution_status: execution ? DB_STATUS[execution.status] : null,
    code: keptText(execution?.code),
    ...outcomeColumns(execution),
    finished_at: finished ? new Date(record.at.getTime() + record.durationMs).toISOString() : null,
  };
}

function outcomeColumns(execution: ExecutionRecord | undefined) {
  const result = keptResult(execution?.executionResult);
  return {
    stdout: keptText(execution?.stdout),
    stderr: keptText(execution?.stderr),
    // Wrapped so that a JSON null result survives json_to_recordset as a value, not as NULL.
    execution_result: result === undefined ? null : { value: result },
    execution_time_ms: execution?.executionTimeMs ?? null,
    error_code: execution?.error?.code ?? null,
    error_message: execution?.error?.message ?? null,
  };
}

const INSERT_COLUMNS = `at, pool_id, session_id, identifier, principal_id, principal_label, route, status_code, duration_ms,
  execution_id, asynchronous, execution_status, code, stdout, stderr, execution_result, execution_time_ms, error_code, error_message, finished_at`;
const RECORDSET = `json_to_recordset($1::json) AS r(at timestamptz, pool_id text, session_id text, identifier text, principal_id text,
  principal_label text, route text, status_code int, duration_ms int, execution_id text, asynchronous boolean, execution_status "ExecutionStatus",
  code text, stdout text, stderr text, execution_result jsonb, execution_time_ms int, error_code text, error_message text, finished_at timestamptz,
  seq int)`;
const SELECT_ROWS = `SELECT r.at, r.pool_id, r.session_id, r.identifier, r.principal_id, r.principal_label, r.route, r.status_code, r.duration_ms,
  r.execution_id, r.asynchronous, r.execution_status, r.code, r.stdout, r.stderr, r.execution_result -> 'value', r.execution_time_ms, r.error_code,
  r.error_message, r.finished_at`;
/** Restarts the cooldown of the sessions in the JSON array parameter `param` ({session_id, cooldown}). */
const touchSessions = (param: string) => `UPDATE sessions s SET last_accessed_at = now(), expires_at = now() + make_interval(secs => t.cooldown)
  FROM json_to_recordset(${param}::json) AS t(session_id text, cooldown int)
  WHERE s.id = t.session_id AND s.state = 'ALLOCATED'`;

export type StoredExecution = ExecutionRecord & { sessionId: string | null };

export class RequestHistory {
  private queue: Entry[] = [];
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private readonly pruneTimer: NodeJS.Timeout;

  constructor(
    private readonly deps: {
      /** For what must survive a crash: asynchronous executions. */
      db: pg.Pool;
      /** For the rest (see the top of this file). */
      relaxedDb: pg.Pool;
      log: (message: string) => void;
    },
  ) {
    this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
  }

  /**
   * Queues a row and/or a session's closing touch; `done` runs once both are written (or
   * failed, which is logged). Call it after the reply was sent.
   */
  record(entry: Entry): void {
    if (this.stopped) {
      entry.done?.();
      return;
    }
    this.queue.push(entry);
    this.flushing ??= new Promise<void>((resolve) => setTimeout(resolve, FLUSH_DELAY_MS)).then(() => this.flush());
  }

  /** Writes an asynchronous execution that has just started; the caller then answers 202. */
  async insertRunning(record: RequestRecord): Promise<string> {
    const result = await this.deps.db.query<{ id: string }>(
      `INSERT INTO data_plane_requests (${INSERT_COLUMNS}) ${SELECT_ROWS} FROM ${RECORDSET} RETURNING id::text`,
      [JSON.stringify([rowOf(record)])],
    );
    return result.rows[0]!.id;
  }

  /**
   * Records how an asynchronous execution ended and restarts its session's cooldown. Retried for
   * a while if Postgres is briefly away; a poller sees Running until it lands, and an engine
   * restart marks it failed if it never does.
   */
  async completeExecution(rowId: string, execution: ExecutionRecord, touch: SessionTouch): Promise<void> {
    const outcome = outcomeColumns(execution);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.deps.db.query(
          `WITH touched AS (${touchSessions('$1')} RETURNING s.id)
           UPDATE data_plane_requests SET execution_status = $2::"ExecutionStatus", stdout = $3, stderr = $4, execution_result = ($5::jsonb) -> 'value',
             execution_time_ms = $6, error_code = $7, error_message = $8, finished_at = now()
           WHERE id = $9`,
          [
            JSON.stringify([{ session_id: touch.sessionId, cooldown: touch.cooldownSeconds }]),
            DB_STATUS[execution.status],
            outcome.stdout,
            outcome.stderr,
            outcome.execution_result === null ? null : JSON.stringify(outcome.execution_result),
            outcome.execution_time_ms,
            outcome.error_code,
            outcome.error_message,
            rowId,
          ],
        );
        return;
      } catch (error) {
        if (attempt >= COMPLETE_ATTEMPTS || this.stopped) {
          this.deps.log(`recording the end of execution ${execution.executionId} failed: ${error instanceof Error ? error.message : String(error)}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
      }
    }
  }

  /** An execution of this pool and identifier, newest first if the caller reused an operation-id. */
  async findExecution(poolId: string, identifier: string, executionId: string): Promise<StoredExecution | null> {
    // A synchronous execution's row may still be waiting in the queue.
    for (let index = this.queue.length - 1; index >= 0; index -= 1) {
      const record = this.queue[index]!.record;
      if (record?.execution?.executionId === executionId && record.poolId === poolId && record.identifier === identifier) {
        return { ...record.execution, sessionId: record.sessionId };
      }
    }
    const result = await this.deps.relaxedDb.query<{
      sessionId: string | null;
      asynchronous: boolean;
      status: string;
      code: string;
      stdout: string | null;
      stderr: string | null;
      executionResult: unknown;
      hasResult: boolean;
      executionTimeMs: number | null;
      errorCode: string | null;
      errorMessage: string | null;
    }>(
      `SELECT session_id AS "sessionId", asynchronous, execution_status AS status, code, stdout, stderr, execution_result AS "executionResult",
         execution_result IS NOT NULL AS "hasResult", execution_time_ms AS "executionTimeMs", error_code AS "errorCode", error_message AS "errorMessage"
       FROM data_plane_requests WHERE pool_id = $1 AND identifier = $2 AND execution_id = $3 ORDER BY id DESC LIMIT 1`,
      [poolId, identifier, executionId],
    );
    const row = result.rows[0];
    if (!row) return null;
    return {
      executionId,
      sessionId: row.sessionId,
      asynchronous: row.asynchronous,
      status: API_STATUS[row.status]!,
      code: row.code,
      stdout: row.stdout ?? undefined,
      stderr: row.stderr ?? undefined,
      // SQL NULL is "no result recorded"; a JSON null result is a value.
      executionResult: row.hasResult ? row.executionResult : undefined,
      executionTimeMs: row.executionTimeMs ?? undefined,
      error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : undefined,
    };
  }

  /** At start: asynchronous executions a previous engine was running can never finish now. */
  async failInterruptedExecutions(): Promise<number> {
    const result = await this.deps.db.query(
      `UPDATE data_plane_requests SET execution_status = 'FAILED', error_code = 'EngineRestarted', finished_at = now(),
         error_message = 'The engine restarted while this execution was running, so its outcome is unknown. The session kept whatever state the code reached; run the code again if you need its result.'
       WHERE execution_status = 'RUNNING'`,
    );
    return result.rowCount ?? 0;
  }

  /** Deletes rows older than the retention, a batch at a time. */
  async prune(): Promise<void> {
    try {
      for (;;) {
        const result = await this.deps.relaxedDb.query(
          `DELETE FROM data_plane_requests WHERE id IN (
             SELECT id FROM data_plane_requests WHERE at < now() - make_interval(days => $1) AND execution_status IS DISTINCT FROM 'RUNNING' LIMIT $2)`,
          [HISTORY_RETENTION_DAYS, PRUNE_BATCH],
        );
        if ((result.rowCount ?? 0) < PRUNE_BATCH || this.stopped) return;
      }
    } catch (error) {
      this.deps.log(`pruning the request history failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Writes what is queued, then records nothing more. */
  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.flushing;
    this.stopped = true;
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      // seq keeps the rows' ids in request order (the join below may otherwise reorder them).
      const rows = batch.flatMap((entry) => (entry.record ? [rowOf(entry.record)] : [])).map((row, seq) => ({ ...row, seq }));
      const touches = batch.flatMap((entry) => (entry.touch ? [{ session_id: entry.touch.sessionId, cooldown: entry.touch.cooldownSeconds }] : []));
      try {
        // A pool deleted meanwhile takes its history with it: its rows are dropped, not the batch.
        await this.deps.relaxedDb.query(
          `WITH touched AS (${touchSessions('$2')} RETURNING s.id)
           INSERT INTO data_plane_requests (${INSERT_COLUMNS}) ${SELECT_ROWS} FROM ${RECORDSET}
           WHERE EXISTS (SELECT 1 FROM session_pools p WHERE p.id = r.pool_id) ORDER BY r.seq`,
          [JSON.stringify(rows), JSON.stringify(touches)],
        );
      } catch (error) {
        this.deps.log(`recording ${rows.length} data-plane request(s) failed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        for (const entry of batch) entry.done?.();
      }
    }
    this.flushing = undefined;
  }
}
