// A real engine for integration tests: real Postgres, real containerd, the real
// code-interpreter image, served over HTTP on a loopback port.
import { randomBytes } from 'node:crypto';
import { HOST_OPERATOR } from '../../lib/auth/access';
import { createRoleAssignment } from '../../lib/services/role-assignments';
import { createServicePrincipal } from '../../lib/services/service-principals';
import { createPool } from '../../lib/services/pools';
import { issueAccessToken } from '../../lib/tokens/access-token';
import { DATA_PLANE_AUDIENCE, type TokenAudience } from '../../lib/tokens/audiences';
import type { Role } from '../../lib/auth/permissions';
import { createEngine, type Engine } from '../app';
import { ensureCodeInterpreterImage } from '../images/code-interpreter';
import { ContainerdRuntime } from '../runtime/containerd';
import { createDatabasePool } from '../db';
import { installationId as readInstallationId } from '../installation';

export type TestEngine = Engine & { url: string; runtime: ContainerdRuntime; installationId: string; image: string };

export const TEST_RUN_DIR = '/run/sandpool-test';

export async function startTestEngine(): Promise<TestEngine> {
  const { reference } = await ensureCodeInterpreterImage(() => {});
  // The database's own installation id: a later run adopts (and cleans up) whatever a killed run left.
  const probe = createDatabasePool(process.env.DATABASE_URL!);
  const installationId = await readInstallationId(probe).finally(() => probe.end());
  const runtime = new ContainerdRuntime({ installationId });
  const engine = await createEngine({
    databaseUrl: process.env.DATABASE_URL!,
    runtime,
    image: reference,
    runDir: TEST_RUN_DIR,
    limits: { pidsLimit: 128, dataSizeMiB: 64 },
    version: 'test',
    checks: {},
    // SANDPOOL_TEST_ENGINE_LOG=1 shows the engine's log when a test or bench misbehaves.
    log: process.env.SANDPOOL_TEST_ENGINE_LOG ? (message: string) => console.error(`[engine] ${message}`) : () => {},
    passIntervalMs: 250,
    healthIntervalMs: 1000,
  });
  const url = await engine.app.listen({ port: 0, host: '127.0.0.1' });
  return { ...engine, url, runtime, installationId, image: reference };
}

export function uniqueName(prefix = 'pool'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/** A service principal with Session Executor on the pool, and a data-plane token for it. */
export async function executorToken(poolName: string): Promise<string> {
  return (await servicePrincipalWithRole('SESSION_EXECUTOR', `/sessionPools/${poolName}`)).token;
}

/** A new service principal holding `role` at `scope` (none when null), and a token for `audience`. */
export async function servicePrincipalWithRole(role: Role | null, scope: string, audience: TokenAudience = DATA_PLANE_AUDIENCE) {
  const created = await createServicePrincipal(HOST_OPERATOR, { displayName: `test-${(role ?? 'none').toLowerCase()}` });
  const assignment = role
    ? await createRoleAssignment(HOST_OPERATOR, { role, scope, principalType: 'servicePrincipal', principalId: created.servicePrincipal.id })
    : null;
  const token = (await issueAccessToken(created.servicePrincipal, audience)).accessToken;
  return { servicePrincipalId: created.servicePrincipal.id, clientId: created.servicePrincipal.clientId, roleAssignmentId: assignment?.id ?? null, token };
}

export type DataPlaneResponse = { status: number; headers: Headers; text: string; body: any };

/**
 * One data-plane request: `path` is appended to the pool endpoint as given (so tests can send
 * "//" and trailing slashes), `query` is encoded.
 */
export async function dataPlane(
  url: string,
  endpoint: string,
  path: string,
  options: { method?: string; token?: string | null; query?: Record<string, string>; body?: unknown; headers?: Record<string, string> } = {},
): Promise<DataPlaneResponse> {
  const search = new URLSearchParams(options.query ?? {}).toString();
  const response = await fetch(`${url}${endpoint}${path}${search ? `?${search}` : ''}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return { status: response.status, headers: response.headers, text, body };
}

/** Anything with the engine's database (an in-process engine, or a pool of a bench's own). */
export type WithDatabase = { db: Pick<Engine['db'], 'query'> };

export async function countByState(engine: WithDatabase, poolId: string): Promise<Record<string, number>> {
  const result = await engine.db.query<{ state: string; count: number }>(`SELECT state, count(*)::int AS count FROM sessions WHERE pool_id = $1 GROUP BY state`, [poolId]);
  return Object.fromEntries(result.rows.map((row) => [row.state, row.count]));
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function poolWithReady(engine: WithDatabase, settings: Record<string, unknown>) {
  const pool = await createPool(HOST_OPERATOR, { name: uniqueName(), ...settings });
  const ready = Number(settings.readySessionInstances ?? 5);
  // gVisor sandboxes take 8–20 s each to start a Python kernel on this hardware (ptrace platform).
  const timeoutMs = settings.isolation === 'gVisor' ? 240_000 : 90_000;
  try {
    await waitFor(`${ready} ready sessions in ${pool.name}`, async () => ((await countByState(engine, pool.id)).READY ?? 0) >= ready, timeoutMs);
  } catch (error) {
    const failures = await engine.db.query<{ reason: string }>(`SELECT failure_reason AS reason FROM sessions WHERE pool_id = $1 AND state = 'FAILED' LIMIT 5`, [pool.id]);
    throw new Error(`${(error as Error).message}; failed starts: ${JSON.stringify(failures.rows.map((row) => row.reason))}`);
  }
  return { pool, token: await executorToken(pool.name), endpoint: `/subscriptions/sub/resourceGroups/rg/sessionPools/${pool.name}` };
}

export type LegacyResponse = {
  status: number;
  sessionId: string | null;
  /** The reply's Server-Timing header (auth, session, agent). */
  serverTiming: string | null;
  body: { properties?: { status: string; stdout: string; stderr: string; result: unknown; executionResult: unknown; executionTimeInMilliseconds: number }; error?: { code: string; message: string } };
};

export async function execute(url: string, endpoint: string, token: string | null, identifier: string, code: string, extra: Record<string, unknown> = {}): Promise<LegacyResponse> {
  const response = await fetch(`${url}${endpoint}/code/execute?api-version=2024-02-02-preview&identifier=${encodeURIComponent(identifier)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ properties: { codeInputType: 'inline', executionType: 'synchronous', code, ...extra } }),
  });
  return { status: response.status, sessionId: response.headers.get('x-ms-session-guid'), serverTiming: response.headers.get('server-timing'), body: (await response.json()) as LegacyResponse['body'] };
}
