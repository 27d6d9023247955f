// People on the data plane, against a real engine: the portal's code console calls it with a
// five-minute token speaking for the signed-in person (lib/tokens/access-token.ts). Their
// roles, disabling and password changes count from the very next request: the access cache
// does not keep people's tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../../lib/auth/access';
import { deletePool } from '../../lib/services/pools';
import { resetUserPassword, setUserDisabled } from '../../lib/services/users';
import { createTestUser, TEST_PASSWORD } from '../../lib/testing/factories';
import { issueUserDataPlaneToken } from '../../lib/tokens/access-token';
import { dataPlane, poolWithReady, startTestEngine, waitFor, type TestEngine } from '../testing/harness';

let engine: TestEngine;
let pool: Awaited<ReturnType<typeof poolWithReady>>;

beforeAll(async () => {
  engine = await startTestEngine();
  pool = await poolWithReady(engine, { isolation: 'runc', readySessionInstances: 1, maxConcurrentSessions: 4, cooldownPeriodInSeconds: 600, memoryGi: 0.5 });
}, 300_000);

afterAll(async () => {
  if (pool) await deletePool(HOST_OPERATOR, pool.pool.name);
  await engine?.stop();
  engine?.runtime.close();
});

async function personWith(role: 'SESSION_EXECUTOR' | 'READER' | null, scope = `/sessionPools/${pool.pool.name}`) {
  const user = await createTestUser(role ? [{ role, scope }] : []);
  return { ...user, token: await issueUserDataPlaneToken({ id: user.id, authTime: Date.now() }) };
}

/** One session serves every test: starting sandboxes is what is slow on a loaded test host. */
const IDENTIFIER = 'person-console-1';

function execute(token: string, code: string, identifier = IDENTIFIER) {
  return dataPlane(engine.url, pool.endpoint, '/executions', { token, query: { identifier }, body: { code } });
}

describe('a person with a user token', () => {
  it('runs code in a pool where they are Session Executor, and the history names them', { timeout: 120_000 }, async () => {
    const person = await personWith('SESSION_EXECUTOR');
    const first = await execute(person.token, 'answer = 6 * 7');
    expect(first.status).toBe(200);
    const second = await execute(person.token, 'answer');
    expect(second.body).toMatchObject({ status: 'Succeeded', result: { executionResult: 42 } });
    expect(second.headers.get('x-ms-session-guid')).toBe(first.headers.get('x-ms-session-guid'));
    const recorded = await waitFor('the history rows', async () => {
      const rows = await engine.db.query<{ principal_id: string; principal_label: string }>(
        `SELECT principal_id, principal_label FROM data_plane_requests WHERE pool_id = $1 AND principal_id = $2 AND execution_id IS NOT NULL`,
        [pool.pool.id, person.id],
      );
      return rows.rowCount === 2 && rows.rows;
    }, 10_000);
    expect(recorded).toEqual([
      { principal_id: person.id, principal_label: person.email },
      { principal_id: person.id, principal_label: person.email },
    ]);
  });

  it('is refused with 403 without Session Executor on the pool (Reader, another pool, no role)', async () => {
    for (const person of [await personWith('READER'), await personWith('SESSION_EXECUTOR', '/sessionPools/someotherpool'), await personWith(null)]) {
      const response = await execute(person.token, '1');
      expect(response.status).toBe(403);
      expect(response.body.error.message).toContain(person.email);
      expect(response.body.error.message).toMatch(/Session Executor/);
    }
  });

  it('is refused with 401 from the request after they are disabled', { timeout: 120_000 }, async () => {
    const person = await personWith('SESSION_EXECUTOR');
    expect((await execute(person.token, '1')).status).toBe(200);
    await setUserDisabled(HOST_OPERATOR, { userId: person.id }, true);
    const refused = await execute(person.token, '1');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect(refused.body.error.message).toMatch(/disabled, changed their password/);
  });

  it('is refused with 401 from the request after their password changes', { timeout: 120_000 }, async () => {
    const person = await personWith('SESSION_EXECUTOR');
    // Signed in a while after the account was made, so only the change below ends the session.
    await engine.db.query(`UPDATE users SET password_changed_at = now() - interval '1 minute' WHERE id = $1`, [person.id]);
    const token = await issueUserDataPlaneToken({ id: person.id, authTime: Date.now() - 30_000 });
    expect((await execute(token, '1')).status).toBe(200);
    await resetUserPassword(HOST_OPERATOR, { email: person.email, password: `${TEST_PASSWORD} renewed` });
    expect((await execute(token, '1')).status).toBe(401);
  });
});
