// What the whole conformance suite shares: one real engine, two small runc pools, and a
// service principal whose tokens come from the real token endpoint, requested with each
// client's own scope (reference §2, §10). Set up once for every client's replay, because each
// pool start costs a few seconds of a 2-core machine.
import { afterAll, beforeAll } from 'vitest';
import { HOST_OPERATOR } from '../../lib/auth/access';
import type { Role } from '../../lib/auth/permissions';
import { handleTokenRequest } from '../../lib/http/token-endpoint';
import { createRoleAssignment } from '../../lib/services/role-assignments';
import { createServicePrincipal } from '../../lib/services/service-principals';
import { createPool, deletePool, type PoolDto } from '../../lib/services/pools';
import { countByState, startTestEngine, uniqueName, waitFor, type TestEngine } from '../testing/harness';
import { send, type WireRequest } from './wire';

export type Credentials = { clientId: string; clientSecret: string; servicePrincipalId: string };

export type ConformanceContext = {
  engine: TestEngine;
  /** The pool every client replay runs against. */
  pool: PoolDto;
  /** Its poolManagementEndpoint as the pools service reports it, on the test engine's port. */
  endpoint: string;
  /** A pool of one session (maxConcurrentSessions 1): capacity, and "another pool" for auth. */
  smallPool: PoolDto;
  smallEndpoint: string;
  /** Session Executor on `pool`. */
  executor: Credentials;
  /** Session Executor on `smallPool`. */
  smallExecutor: Credentials;
  /** An access token from the token endpoint (client credentials), for `scope` as a client asks for it. */
  token: (scope: string, credentials?: Credentials) => Promise<string>;
};

/** The client-credentials request azure-identity and MSAL send to the token endpoint. */
export async function requestToken(credentials: Credentials, scope: string): Promise<string> {
  const response = await handleTokenRequest(
    new Request('http://localhost:3000/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: credentials.clientId, grant_type: 'client_credentials', client_secret: credentials.clientSecret, scope }),
    }),
  );
  const body = (await response.json()) as { access_token?: string; error_description?: string };
  if (response.status !== 200 || !body.access_token) throw new Error(`token endpoint refused scope ${scope}: ${response.status} ${body.error_description}`);
  return body.access_token;
}

export async function servicePrincipalFor(role: Role | null, scope: string): Promise<Credentials> {
  const created = await createServicePrincipal(HOST_OPERATOR, { displayName: `conformance-${(role ?? 'none').toLowerCase()}` });
  if (role) await createRoleAssignment(HOST_OPERATOR, { role, scope, principalType: 'servicePrincipal', principalId: created.servicePrincipal.id });
  return { clientId: created.servicePrincipal.clientId, clientSecret: created.clientSecret, servicePrincipalId: created.servicePrincipal.id };
}

function createConformancePool(settings: { readySessionInstances: number; maxConcurrentSessions: number }): Promise<PoolDto> {
  return createPool(HOST_OPERATOR, { name: uniqueName('conf'), isolation: 'runc', cooldownPeriodInSeconds: 600, memoryGi: 0.5, ...settings });
}

async function waitUntilReady(engine: TestEngine, pool: PoolDto): Promise<void> {
  try {
    await waitFor(`${pool.readySessionInstances} ready sessions in ${pool.name}`, async () => ((await countByState(engine, pool.id)).READY ?? 0) >= pool.readySessionInstances, 240_000);
  } catch (error) {
    const failures = await engine.db.query<{ reason: string }>(`SELECT failure_reason AS reason FROM sessions WHERE pool_id = $1 AND state = 'FAILED' LIMIT 5`, [pool.id]);
    throw new Error(`${(error as Error).message}; by state ${JSON.stringify(await countByState(engine, pool.id))}; failed starts: ${JSON.stringify(failures.rows.map((row) => row.reason))}`);
  }
}

/** Registers the suite's set-up and tear-down; the context's fields exist once beforeAll has run. */
export function useConformanceContext(): ConformanceContext {
  const context = {} as ConformanceContext;
  beforeAll(async () => {
    const engine = await startTestEngine();
    context.engine = engine;
    // Every database write first, back to back, then the long wait for sandboxes: on a loaded
    // machine a Prisma transaction that must open a fresh connection after an idle minute can
    // miss its 2 s start deadline.
    context.pool = await createConformancePool({ readySessionInstances: 3, maxConcurrentSessions: 40 });
    context.smallPool = await createConformancePool({ readySessionInstances: 1, maxConcurrentSessions: 1 });
    context.executor = await servicePrincipalFor('SESSION_EXECUTOR', `/sessionPools/${context.pool.name}`);
    context.smallExecutor = await servicePrincipalFor('SESSION_EXECUTOR', `/sessionPools/${context.smallPool.name}`);
    context.endpoint = engine.url + new URL(context.pool.poolManagementEndpoint).pathname;
    context.smallEndpoint = engine.url + new URL(context.smallPool.poolManagementEndpoint).pathname;
    await waitUntilReady(engine, context.pool);
    await waitUntilReady(engine, context.smallPool);
    context.token = (scope, credentials = context.executor) => requestToken(credentials, scope);
  }, 600_000);
  afterAll(async () => {
    const pools = [context.pool, context.smallPool].filter((pool) => pool !== undefined);
    for (const pool of pools) await deletePool(HOST_OPERATOR, pool.name).catch(() => undefined);
    // Drained (sandboxes removed) before the engine stops: no engine would remove them after.
    const engine = context.engine;
    if (engine) {
      const ids = pools.map((pool) => pool.id);
      await waitFor('the conformance pools drained', async () => (await engine.db.query('SELECT 1 FROM session_pools WHERE id = ANY($1)', [ids])).rowCount === 0, 100_000);
      await engine.stop();
      engine.runtime.close();
    }
  }, 120_000);
  return context;
}

/**
 * Frees a client's session once its replay is done (not a request the client sends: the suite
 * keeps the pool small), so the next client's sessions come from the warm pool.
 */
export async function releaseSession(context: ConformanceContext, endpoint: string, identifier: string): Promise<void> {
  const token = await context.token('https://dynamicsessions.io/.default', endpoint === context.smallEndpoint ? context.smallExecutor : context.executor);
  const wire: WireRequest = { method: 'DELETE', url: `${endpoint}/session?identifier=${encodeURIComponent(identifier)}&api-version=2025-10-02-preview`, headers: [['Authorization', `Bearer ${token}`]] };
  const response = await send(wire);
  if (response.status !== 204 && response.status !== 400) throw new Error(`releasing session ${identifier}: ${response.status} ${response.text}`);
}
