// GET {pool endpoint}/.sandpool/events — the live session lifecycle of one pool as server-sent
// events: first the history after Last-Event-ID (so a reconnecting client misses nothing), then
// each transition as it is committed. Callers need pools.read on the pool (management token).
// A replay also repeats the events of the few seconds before Last-Event-ID (COMMIT_SKEW_MS), so
// that one committed late, after a higher id the client had seen, is not lost across a
// reconnect: clients skip ids they have already seen.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { can } from '../lib/auth/access';
import { poolScope } from '../lib/auth/scope';
import { AppError } from '../lib/errors';
import { COMMIT_SKEW_MS } from '../lib/lifecycle/events';
import { bearerTokenFrom, verifyAccessToken } from '../lib/tokens/access-token';
import { MANAGEMENT_AUDIENCE } from '../lib/tokens/audiences';
import { POOL_PATH } from './dataplane/context';
import type { PostgresListener } from './listener';
import { loadPoolByName } from './pools';
import { sendError } from './server';
import { SESSION_EVENTS_CHANNEL, type SessionEvent } from './sessions/store';

const HEARTBEAT_MS = 15_000;
const REPLAY_LIMIT = 1000;
/** Far more than can be in flight between a replay and the notifications that overlap it. */
const SENT_IDS_KEPT = 10_000;

type Params = { poolName: string };

function format(event: SessionEvent): string {
  return `id: ${event.id}\nevent: session\ndata: ${JSON.stringify(event)}\n\n`;
}

export function registerEventStream(app: FastifyInstance, deps: { db: pg.Pool; listener: PostgresListener }): void {
  app.get(`${POOL_PATH}/.sandpool/events`, async (request: FastifyRequest<{ Params: Params; Querystring: { lastEventId?: string } }>, reply: FastifyReply) => {
    const { poolName } = request.params;
    try {
      const principal = await verifyAccessToken(bearerTokenFrom(request.headers.authorization ?? null), MANAGEMENT_AUDIENCE);
      if (!can(principal, 'pools.read', poolScope(poolName))) {
        return sendError(reply, 403, 'Forbidden', `This caller cannot read pool "${poolName}"; it needs a Reader (or higher) role on it.`);
      }
    } catch (error) {
      if (error instanceof AppError) return sendError(reply, 401, 'Unauthorized', error.message, { 'www-authenticate': 'Bearer' });
      throw error;
    }
    const pool = await loadPoolByName(deps.db, poolName);
    if (!pool) return sendError(reply, 404, 'NotFound', `There is no session pool named "${poolName}".`);
    const lastEventIdRaw = request.headers['last-event-id'] ?? request.query.lastEventId ?? '0';
    const lastEventId = /^\d{1,19}$/.test(String(lastEventIdRaw)) ? String(lastEventIdRaw) : '0';

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // Replay and live notifications overlap, so what was sent is remembered. Not "skip ids at or
    // below the last one sent": ids are taken when a transition is written and it commits later,
    // so a transition can commit (and be notified) after one with a higher id.
    const sent = new Set<string>();
    const send = (event: SessionEvent) => {
      if (sent.has(event.id)) return;
      if (sent.size >= SENT_IDS_KEPT) sent.delete(sent.values().next().value!);
      sent.add(event.id);
      raw.write(format(event));
    };
    const buffered: SessionEvent[] = [];
    let replaying = true;
    const unsubscribe = deps.listener.on(SESSION_EVENTS_CHANNEL, (payload) => {
      const event = JSON.parse(payload) as SessionEvent;
      if (event.poolId !== pool.id) return;
      if (replaying) buffered.push(event);
      else send(event);
    });
    const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    raw.on('close', close);
    raw.on('error', close);
    const history = await deps.db.query<SessionEvent>(
      `SELECT id::text, session_id AS "sessionId", pool_id AS "poolId", from_state AS "from", to_state AS "to", reason,
         to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at
       FROM session_events
       WHERE pool_id = $1
         AND (id > $2 OR (id < $2 AND at >= (SELECT at FROM session_events WHERE id = $2) - $3::int * interval '1 millisecond'))
       ORDER BY id LIMIT ${REPLAY_LIMIT}`,
      [pool.id, lastEventId, COMMIT_SKEW_MS],
    );
    raw.write(': connected\n\n');
    for (const event of history.rows) send(event);
    replaying = false;
    for (const event of buffered.splice(0)) send(event);
  });
}
