// Every write to a session's state, in one place. Each transition is one statement that
// checks the current state, moves the row, appends the event and notifies listeners, so a
// crash can never leave a state change without its event or the other way round.
import type pg from 'pg';
import { assertTransition, type SessionState } from '../../lib/lifecycle/transitions';
import type { IsolationRuntime } from '../runtime/types';
import type { Queryable } from '../db';

export const SESSION_EVENTS_CHANNEL = 'sandpool_session_events';

export type SessionEvent = {
  id: string;
  sessionId: string;
  poolId: string;
  from: SessionState | null;
  to: SessionState;
  reason: string;
  at: string;
};

export type SessionRow = {
  id: string;
  poolId: string;
  identifier: string | null;
  state: SessionState;
  generation: number;
  runtime: IsolationRuntime;
  image: string | null;
};

const SESSION_COLUMNS = `id, pool_id AS "poolId", identifier, state, generation, runtime, image`;

// Timestamps are stored without a time zone, in UTC (as Prisma writes them); the engine's
// connections run in UTC so now() agrees, and events carry ISO 8601 with a Z.
// Appends the event for the rows in CTE `moved` (id, pool_id, from_state, to_state) and sends it.
const RECORD_EVENT = `
  ev AS (
    INSERT INTO session_events (session_id, pool_id, from_state, to_state, reason)
    SELECT id, pool_id, from_state, to_state, $REASON FROM moved
    RETURNING id, session_id, pool_id, from_state, to_state, reason, at
  )
  SELECT ev.id::text, ev.session_id AS "sessionId", ev.pool_id AS "poolId", ev.from_state AS "from", ev.to_state AS "to", ev.reason, to_char(ev.at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at,
    pg_notify('${SESSION_EVENTS_CHANNEL}', json_build_object('id', ev.id::text, 'sessionId', ev.session_id, 'poolId', ev.pool_id,
      'from', ev.from_state, 'to', ev.to_state, 'reason', ev.reason, 'at', to_char(ev.at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text)
  FROM ev`;

/** Records a new sandbox that is about to be created. */
export async function insertPendingSession(
  db: Queryable,
  session: { id: string; poolId: string; generation: number; runtime: IsolationRuntime; image: string },
): Promise<void> {
  await db.query(
    `WITH moved AS (
       INSERT INTO sessions (id, pool_id, state, generation, runtime, image, container_id, updated_at)
       VALUES ($1, $2, 'PENDING', $3, $4, $5, $1, now())
       RETURNING id, pool_id, NULL::"SessionState" AS from_state, state AS to_state
     ), ${RECORD_EVENT.replace('$REASON', '$6')}`,
    [session.id, session.poolId, session.generation, session.runtime, session.image, 'creating a sandbox'],
  );
}

/**
 * Moves a session from one of `from` to `to`. Returns the event, or null when the session was
 * no longer in any of `from` (another actor moved it first; the caller's work is moot).
 */
export async function transitionSession(
  db: Queryable,
  sessionId: string,
  from: SessionState[],
  to: SessionState,
  reason: string,
): Promise<SessionEvent | null> {
  for (const state of from) assertTransition(state, to);
  const result = await db.query<SessionEvent>(
    `WITH prev AS (SELECT id, state FROM sessions WHERE id = $1 FOR UPDATE),
     moved AS (
       UPDATE sessions s SET
         state = $3::"SessionState",
         updated_at = now(),
         ready_at = CASE WHEN $3 = 'READY' THEN now() ELSE s.ready_at END,
         deleting_at = CASE WHEN $3 = 'DELETING' THEN now() ELSE s.deleting_at END,
         deleted_at = CASE WHEN $3 IN ('DELETED', 'FAILED') THEN now() ELSE s.deleted_at END,
         failure_reason = CASE WHEN $3 = 'FAILED' THEN $4 ELSE s.failure_reason END
       FROM prev
       WHERE s.id = prev.id AND prev.state = ANY($2::"SessionState"[])
       RETURNING s.id, s.pool_id, prev.state AS from_state, s.state AS to_state
     ), ${RECORD_EVENT.replace('$REASON', '$4')}`,
    [sessionId, from, to, reason],
  );
  return result.rows[0] ?? null;
}

export type Allocation =
  | { kind: 'existing'; sessionId: string }
  | { kind: 'claimed'; sessionId: string }
  | { kind: 'atCapacity'; allocated: number }
  | { kind: 'noneReady' };

/**
 * Finds the live session of `identifier`, or claims the oldest ready one for it. The claim is
 * one statement, which takes the pool's lock only when the pool is over its cap (see the
 * migration claim_without_pool_lock for why the cap holds without it); the partial unique
 * index on (pool, identifier) makes two racing claims for one identifier impossible. No
 * containerd call happens here.
 */
export async function allocateSession(
  pool: pg.Pool,
  request: { poolId: string; identifier: string; cooldownSeconds: number; maxConcurrentSessions: number },
): Promise<Allocation> {
  // No touch first: the engine reaches identifiers it has seen from memory
  // (LiveSessionCache), so what comes here is nearly always new, and the claim finds an
  // existing session itself. The request's closing touch moves the cooldown either way.
  try {
    // One statement (see the migration that defines the function for why, and what it does).
    const claim = await pool.query<{ session_id: string | null; newly_claimed: boolean; allocated_count: string }>({
      name: 'sandpool-claim-ready-session',
      text: 'SELECT session_id, newly_claimed, allocated_count::text FROM sandpool_claim_ready_session($1, $2, $3, $4)',
      values: [request.poolId, request.identifier, request.cooldownSeconds, request.maxConcurrentSessions],
    });
    const row = claim.rows[0]!;
    if (row.session_id) return row.newly_claimed ? { kind: 'claimed', sessionId: row.session_id } : { kind: 'existing', sessionId: row.session_id };
    const allocated = Number(row.allocated_count);
    return allocated >= request.maxConcurrentSessions ? { kind: 'atCapacity', allocated } : { kind: 'noneReady' };
  } catch (error) {
    // Another request claimed a sandbox for this identifier at the same moment; the partial
    // unique index let only one commit: theirs is the session to use.
    if ((error as { code?: string }).code === '23505') {
      const winner = await touchByIdentifier(pool, request);
      if (winner) return { kind: 'existing', sessionId: winner.id };
    }
    throw error;
  }
}

/** An allocated session as the data plane describes it; times are ISO 8601 (UTC). */
export type LiveSession = { id: string; identifier: string; allocatedAt: string; lastAccessedAt: string; expiresAt: string };

const ISO = (column: string) => `to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const LIVE_SESSION_COLUMNS = `id, identifier, ${ISO('allocated_at')} AS "allocatedAt", ${ISO('last_accessed_at')} AS "lastAccessedAt", ${ISO('expires_at')} AS "expiresAt"`;

/** Moves the cooldown of the identifier's live session forward; returns it, or null if it has none. */
export async function touchByIdentifier(db: Queryable, request: { poolId: string; identifier: string; cooldownSeconds: number }): Promise<LiveSession | null> {
  // Named, so each connection parses and plans it once: unnamed, its parse and plan cost more
  // Postgres CPU than running it.
  const result = await db.query<LiveSession>({
    name: 'sandpool-touch-session',
    text: `UPDATE sessions SET last_accessed_at = now(), expires_at = now() + make_interval(secs => $3)
     WHERE pool_id = $1 AND identifier = $2 AND state = 'ALLOCATED' RETURNING ${LIVE_SESSION_COLUMNS}`,
    values: [request.poolId, request.identifier, request.cooldownSeconds],
  });
  return result.rows[0] ?? null;
}

/** The identifier's live session, without moving its cooldown. */
export async function findLiveSession(db: Queryable, poolId: string, identifier: string): Promise<LiveSession | null> {
  const result = await db.query<LiveSession>(`SELECT ${LIVE_SESSION_COLUMNS} FROM sessions WHERE pool_id = $1 AND identifier = $2 AND state = 'ALLOCATED'`, [poolId, identifier]);
  return result.rows[0] ?? null;
}

/** One page of a pool's live sessions, oldest first, and how many there are in all. */
export async function listLiveSessions(db: Queryable, poolId: string, page: { skip: number; limit: number }): Promise<{ sessions: LiveSession[]; total: number }> {
  const result = await db.query<LiveSession & { total: string }>(
    `SELECT ${LIVE_SESSION_COLUMNS}, count(*) OVER () AS total FROM sessions WHERE pool_id = $1 AND state = 'ALLOCATED'
     ORDER BY allocated_at, id OFFSET $2 LIMIT $3`,
    [poolId, page.skip, page.limit],
  );
  if (result.rows.length > 0) return { sessions: result.rows.map(({ total: _total, ...session }) => session), total: Number(result.rows[0]!.total) };
  // Past the last page the window has no row to count on.
  const count = await db.query<{ total: string }>(`SELECT count(*) AS total FROM sessions WHERE pool_id = $1 AND state = 'ALLOCATED'`, [poolId]);
  return { sessions: [], total: Number(count.rows[0]!.total) };
}

export async function loadSession(db: Queryable, sessionId: string): Promise<SessionRow | null> {
  const result = await db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1`, [sessionId]);
  return result.rows[0] ?? null;
}

/** Sessions that are not finished (pending, ready, allocated, deleting), for reconciliation. */
export async function listUnfinishedSessions(db: Queryable): Promise<SessionRow[]> {
  const result = await db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE state IN ('PENDING', 'READY', 'ALLOCATED', 'DELETING')`);
  return result.rows;
}

/** Allocated sessions whose cooldown has passed, except those with an execution in flight. */
export async function listExpiredSessions(db: Queryable, busy: string[]): Promise<string[]> {
  const result = await db.query<{ id: string }>(
    `SELECT s.id FROM sessions s JOIN session_pools p ON p.id = s.pool_id
     WHERE s.state = 'ALLOCATED' AND s.last_accessed_at + make_interval(secs => coalesce(p.cooldown_period_in_seconds, 300)) < now()
       AND NOT (s.id = ANY($1::text[]))`,
    [busy],
  );
  return result.rows.map((row) => row.id);
}
