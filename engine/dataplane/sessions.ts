// Session management (reference §4.3.3, §4.3.4): `GET`/`DELETE /session`, `GET /listSessions`
// and the `/.management/getSession|listSessions|stopSession` family. Looking at a session never
// allocates one; deleting one frees its identifier, whose next request gets a fresh, empty session.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { findLiveSession, listLiveSessions, touchByIdentifier, type LiveSession } from '../sessions/store';
import { dataPlaneRoute, DataPlaneError, POOL_PATH, poolUrl, type DataPlaneCall, type DataPlaneDeps, type PoolParams } from './context';

/** Azure's page size for session lists (reference §4.8). */
export const SESSION_PAGE_SIZE = 300;

type SessionsRequest = FastifyRequest<{ Params: PoolParams; Querystring: { identifier?: string; skip?: string; 'api-version'?: string } }>;

/**
 * A session as both families describe it: `expireAt` (the REST spec's Session) and `expiresAt`
 * (the .management SessionView), so clients of either find their field. The etag is the
 * sandbox's container id.
 */
function sessionView(session: LiveSession) {
  return {
    identifier: session.identifier,
    etag: session.id,
    expireAt: session.expiresAt,
    expiresAt: session.expiresAt,
    createdAt: session.allocatedAt,
    lastAccessedAt: session.lastAccessedAt,
  };
}

function notFound(identifier: string, poolName: string): DataPlaneError {
  return new DataPlaneError(400, 'SessionWithIdentifierNotFound', `There is no session with identifier "${identifier}" in pool "${poolName}" (it was deleted, cooled down, or never used).`);
}

function parseSkip(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 0;
  const skip = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(skip)) {
    throw new DataPlaneError(400, 'SessionRequestValidationFailed', `skip must be a whole number, 0 or more; got "${raw.slice(0, 50)}".`);
  }
  return skip;
}

/** The identifier's session, its cooldown restarted (every request resets it, reference §7). */
async function viewSession(call: DataPlaneCall<SessionsRequest>) {
  const pool = await call.authorize();
  const identifier = call.requireIdentifier();
  const session = await touchByIdentifier(call.deps.relaxedDb, { poolId: pool.id, identifier, cooldownSeconds: pool.cooldownSeconds });
  if (!session) throw notFound(identifier, pool.name);
  call.sessionId = session.id;
  return call.reply.send(sessionView(session));
}

/** Deletes the identifier's session with its sandbox; resolves once the sandbox is gone. */
async function stopSession(call: DataPlaneCall<SessionsRequest>): Promise<string> {
  const pool = await call.authorize();
  const identifier = call.requireIdentifier();
  const session = await findLiveSession(call.deps.db, pool.id, identifier);
  if (!session) throw notFound(identifier, pool.name);
  call.sessionId = session.id;
  // Someone else deleting it at the same moment is as good: it is gone either way.
  await call.deps.sandboxes.destroy(session.id, ['ALLOCATED'], `deleted by ${call.principal!.label} (${call.route})`);
  return identifier;
}

/** One page of the pool's sessions, in both list shapes (`sessions`; `value` and `count`). */
async function listSessions(call: DataPlaneCall<SessionsRequest>, route: string) {
  const pool = await call.authorize();
  const skip = parseSkip(call.request.query.skip);
  const { sessions, total } = await listLiveSessions(call.deps.relaxedDb, pool.id, { skip, limit: SESSION_PAGE_SIZE });
  const views = sessions.map(sessionView);
  const nextLink = skip + sessions.length < total ? poolUrl(call.request, route, { skip: String(skip + SESSION_PAGE_SIZE) }) : null;
  return call.reply.send({ sessions: views, value: views, count: total, nextLink });
}

export function registerSessions(app: FastifyInstance, deps: DataPlaneDeps): void {
  app.get(`${POOL_PATH}/session`, dataPlaneRoute<SessionsRequest>(deps, 'GET /session', viewSession));
  app.get(`${POOL_PATH}/listSessions`, dataPlaneRoute<SessionsRequest>(deps, 'GET /listSessions', (call) => listSessions(call, '/listSessions')));

  app.register(async (scope) => {
    // These carry everything in the query. Clients send no body, an empty one labelled JSON,
    // or {}; none of it means anything, so it is not read.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    scope.delete(
      `${POOL_PATH}/session`,
      dataPlaneRoute<SessionsRequest>(deps, 'DELETE /session', async (call) => {
        await stopSession(call);
        return call.reply.code(204).send();
      }),
    );
    scope.post(`${POOL_PATH}/.management/getSession`, dataPlaneRoute<SessionsRequest>(deps, 'POST /.management/getSession', viewSession));
    scope.post(
      `${POOL_PATH}/.management/listSessions`,
      dataPlaneRoute<SessionsRequest>(deps, 'POST /.management/listSessions', (call) => listSessions(call, '/.management/listSessions')),
    );
    scope.post(
      `${POOL_PATH}/.management/stopSession`,
      dataPlaneRoute<SessionsRequest>(deps, 'POST /.management/stopSession', async (call) => {
        const identifier = await stopSession(call);
        return call.reply.type('text/plain; charset=utf-8').send(`Session ${identifier} in session pool ${call.pool!.name} stopped.`);
      }),
    );
  });
}
