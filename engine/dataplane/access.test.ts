// Who may use a pool's sessions, against a real engine: every way a request is refused, and the
// engine's access cache (engine/access-cache.ts) following revocations, role changes, expiry,
// pool deletion and a lost LISTEN connection at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../../lib/auth/access';
import { createRoleAssignment, deleteRoleAssignment } from '../../lib/services/role-assignments';
import { createPool, deletePool } from '../../lib/services/pools';
import { revokeServicePrincipal } from '../../lib/services/service-principals';
import { MANAGEMENT_AUDIENCE } from '../../lib/tokens/audiences';
import { countByState, dataPlane, poolWithReady, servicePrincipalWithRole, startTestEngine, uniqueName, waitFor, type DataPlaneResponse, type TestEngine } from '../testing/harness';

let engine: TestEngine;
let pool: Awaited<ReturnType<typeof poolWithReady>>;
let otherPool: Awaited<ReturnType<typeof poolWithReady>>;

beforeAll(async () => {
  engine = await startTestEngine();
  pool = await poolWithReady(engine, { isolation: 'runc', readySessionInstances: 2, maxConcurrentSessions: 8, cooldownPeriodInSeconds: 600, memoryGi: 0.5 });
  otherPool = await poolWithReady(engine, { isolation: 'runc', readySessionInstances: 1, maxConcurrentSessions: 2, cooldownPeriodInSeconds: 600, memoryGi: 0.5 });
}, 300_000);

afterAll(async () => {
  for (const created of [pool, otherPool]) if (created) await deletePool(HOST_OPERATOR, created.pool.name);
  await engine?.stop();
  engine?.runtime.close();
});

function execute(token: string | null, identifier: string, code = '1 + 1', target = pool) {
  return dataPlane(engine.url, target.endpoint, '/executions', { token, query: { identifier }, body: { code } });
}

describe('refusals', () => {
  it('401 without a token, with a malformed header, or with a bad token, saying how to fix it', async () => {
    const none = await execute(null, 'auth-1');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body.error).toEqual({ code: 'Unauthorized', message: expect.stringMatching(/Authorization: Bearer/) });
    const noScheme = await dataPlane(engine.url, pool.endpoint, '/executions', { query: { identifier: 'auth-1' }, body: { code: '1' }, headers: { authorization: pool.token } });
    expect(noScheme.status).toBe(401);
    expect(noScheme.body.error.message).toMatch(/forget to add "Bearer "/);
    const tampered = await execute(`${pool.token.slice(0, -4)}AAAA`, 'auth-1');
    expect(tampered.status).toBe(401);
    expect(tampered.body.error.message).toMatch(/signature is not valid/);
  });

  it('401 for a management token, naming the scope to request instead', async () => {
    const management = await servicePrincipalWithRole('SESSION_EXECUTOR', `/sessionPools/${pool.pool.name}`, MANAGEMENT_AUDIENCE);
    const response = await execute(management.token, 'auth-1');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.body.error.message).toMatch(/scope https:\/\/dynamicsessions\.io\/\.default/);
  });

  it('403 for a caller without Session Executor on the pool: other pool, Reader, Contributor, no role', async () => {
    const cases = [
      ['SESSION_EXECUTOR', `/sessionPools/${otherPool.pool.name}`],
      ['READER', `/sessionPools/${pool.pool.name}`],
      ['READER', '/'],
      ['CONTRIBUTOR', `/sessionPools/${pool.pool.name}`],
      [null, '/'],
    ] as const;
    for (const [role, scope] of cases) {
      const caller = await servicePrincipalWithRole(role, scope);
      const response = await execute(caller.token, 'auth-2');
      expect(response.status, `${role} at ${scope}`).toBe(403);
      expect(response.body.error.message).toMatch(/Session Executor/);
      if (role === 'READER' && scope === '/') expect(response.body.error.message).toMatch(/it holds Reader at \//);
    }
    for (const path of ['/session', '/listSessions', '/metadata', '/executions/some-id']) {
      const reader = await servicePrincipalWithRole('READER', `/sessionPools/${pool.pool.name}`);
      expect((await dataPlane(engine.url, pool.endpoint, path, { token: reader.token, query: { identifier: 'auth-2' } })).status, path).toBe(403);
    }
    expect(await countByState(engine, pool.pool.id)).not.toHaveProperty('ALLOCATED');
  });

  it('400 for an invalid identifier, before anything is allocated', async () => {
    for (const identifier of ['abc', 'x'.repeat(129), 'has space']) {
      const response = await execute(pool.token, identifier);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('SessionRequestValidationFailed');
    }
    const missing = await dataPlane(engine.url, pool.endpoint, '/executions', { token: pool.token, body: { code: '1' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/identifier/);
    expect(await countByState(engine, pool.pool.id)).not.toHaveProperty('ALLOCATED');
  });

  it('404 for a pool that does not exist, to a caller allowed everywhere', async () => {
    const everywhere = await servicePrincipalWithRole('SESSION_EXECUTOR', '/');
    const response = await dataPlane(engine.url, '/subscriptions/s/resourceGroups/r/sessionPools/nosuchpool', '/executions', { token: everywhere.token, query: { identifier: 'auth-3' }, body: { code: '1' } });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('NotFound');
  });

  it("never reaches another pool's session or execution by its identifier", async () => {
    const executor = await servicePrincipalWithRole('SESSION_EXECUTOR', '/');
    const mine = await dataPlane(engine.url, pool.endpoint, '/executions', { token: executor.token, query: { identifier: 'shared-1' }, body: { code: 'secret = "pool one"' } });
    const theirs = await dataPlane(engine.url, otherPool.endpoint, '/executions', { token: executor.token, query: { identifier: 'shared-1' }, body: { code: "'secret' in globals()" } });
    expect(theirs.body.result.executionResult).toBe(false);
    expect(theirs.headers.get('x-ms-session-guid')).not.toBe(mine.headers.get('x-ms-session-guid'));
    const crossPool = await dataPlane(engine.url, otherPool.endpoint, `/executions/${mine.body.id}`, { token: executor.token, query: { identifier: 'shared-1' } });
    expect(crossPool.status).toBe(404);
    // The executor of one pool cannot name the other's identifier through its own pool either.
    const session = await dataPlane(engine.url, otherPool.endpoint, '/session', { token: otherPool.token, query: { identifier: 'shared-1' } });
    expect(session.body.etag).toBe(theirs.headers.get('x-ms-session-guid'));
  });
});

describe('the access cache', () => {
  // A pool-level request: allocates nothing, so these tests do not fill the pool.
  const listSessions = (token: string) => dataPlane(engine.url, pool.endpoint, '/listSessions', { token });

  /**
   * A change reaches the engine as a Postgres notification sent at commit, so it applies from
   * the first request after that notification arrives: in practice the next request, on a
   * loaded test host a few milliseconds later. Returns the first answer with `status`, or fails.
   */
  async function answerAfterChange(status: number, probe: () => Promise<DataPlaneResponse>): Promise<DataPlaneResponse> {
    const deadline = performance.now() + 2000;
    for (;;) {
      const response = await probe();
      if (response.status === status) return response;
      if (performance.now() > deadline) throw new Error(`still ${response.status} (not ${status}) 2 s after the change committed`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('a revoked service principal is refused as soon as the revocation commits', async () => {
    const caller = await servicePrincipalWithRole('SESSION_EXECUTOR', `/sessionPools/${pool.pool.name}`);
    expect((await listSessions(caller.token)).status).toBe(200);
    expect((await listSessions(caller.token)).status).toBe(200);
    await revokeServicePrincipal(HOST_OPERATOR, { servicePrincipalId: caller.servicePrincipalId });
    const refused = await answerAfterChange(401, () => listSessions(caller.token));
    expect(refused.body.error.message).toMatch(/revoked/);
  });

  it('a removed role is refused as soon as the removal commits, and a new one works as soon', async () => {
    const caller = await servicePrincipalWithRole('SESSION_EXECUTOR', `/sessionPools/${pool.pool.name}`);
    expect((await listSessions(caller.token)).status).toBe(200);
    await deleteRoleAssignment(HOST_OPERATOR, { roleAssignmentId: caller.roleAssignmentId });
    await answerAfterChange(403, () => listSessions(caller.token));
    await createRoleAssignment(HOST_OPERATOR, { role: 'SESSION_EXECUTOR', scope: '/', principalType: 'servicePrincipal', principalId: caller.servicePrincipalId });
    await answerAfterChange(200, () => listSessions(caller.token));
  });

  it('a service principal that expires is refused from that moment', async () => {
    const caller = await servicePrincipalWithRole('SESSION_EXECUTOR', `/sessionPools/${pool.pool.name}`);
    await engine.db.query(`UPDATE service_principals SET expires_at = now() + interval '2 seconds' WHERE id = $1`, [caller.servicePrincipalId]);
    expect((await listSessions(caller.token)).status).toBe(200);
    await waitFor('the expiry', async () => (await engine.db.query(`SELECT 1 FROM service_principals WHERE id = $1 AND expires_at < now()`, [caller.servicePrincipalId])).rowCount === 1, 10_000);
    const refused = await listSessions(caller.token);
    expect(refused.status).toBe(401);
  });

  it('a deleted pool answers 404 as soon as the deletion commits, and a new pool of the same name is served', async () => {
    const name = uniqueName('cache');
    await createPool(HOST_OPERATOR, { name, isolation: 'runc', readySessionInstances: 0, maxConcurrentSessions: 1 });
    const caller = await servicePrincipalWithRole('SESSION_EXECUTOR', `/sessionPools/${name}`);
    const endpoint = `/subscriptions/s/resourceGroups/r/sessionPools/${name}`;
    const list = () => dataPlane(engine.url, endpoint, '/listSessions', { token: caller.token });
    expect((await list()).status).toBe(200);
    await deletePool(HOST_OPERATOR, name);
    await answerAfterChange(404, list);
    await waitFor('the pool removed', async () => (await engine.db.query(`SELECT 1 FROM session_pools WHERE name = $1`, [name])).rowCount === 0, 60_000);
    await createPool(HOST_OPERATOR, { name, isolation: 'runc', readySessionInstances: 0, maxConcurrentSessions: 1 });
    await answerAfterChange(200, list);
    await deletePool(HOST_OPERATOR, name);
  });

  it('is emptied when the LISTEN connection drops, so a change it could not hear about still counts', async () => {
    const caller = await servicePrincipalWithRole('SESSION_EXECUTOR', `/sessionPools/${pool.pool.name}`);
    expect((await listSessions(caller.token)).status).toBe(200);
    const listeners = async () =>
      (await engine.db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> pg_backend_pid()`)).rows.map((row) => row.pid);
    const before = await listeners();
    expect(before.length).toBeGreaterThan(0);
    await engine.db.query(`SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid`, [before]);
    await waitFor('the engine to listen again', async () => (await listeners()).some((pid) => !before.includes(pid)), 20_000);
    // Revoked behind the engine's back: no notification is sent.
    await engine.db.query(`UPDATE service_principals SET revoked_at = now() WHERE id = $1`, [caller.servicePrincipalId]);
    expect((await listSessions(caller.token)).status).toBe(401);
  });
});
