// Session management and metadata (reference §4.3.3, §4.3.4) against a real engine: GET and
// DELETE /session, /listSessions, the /.management family, and GET /metadata read from the
// real image.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../../lib/auth/access';
import { deletePool } from '../../lib/services/pools';
import { dataPlane, poolWithReady, startTestEngine, type TestEngine } from '../testing/harness';

let engine: TestEngine;
let pool: Awaited<ReturnType<typeof poolWithReady>>;

beforeAll(async () => {
  engine = await startTestEngine();
  pool = await poolWithReady(engine, { isolation: 'runc', readySessionInstances: 2, maxConcurrentSessions: 6, cooldownPeriodInSeconds: 600, memoryGi: 0.5 });
}, 300_000);

afterAll(async () => {
  if (pool) await deletePool(HOST_OPERATOR, pool.pool.name);
  await engine?.stop();
  engine?.runtime.close();
});

const call = (path: string, options: Parameters<typeof dataPlane>[3] = {}) => dataPlane(engine.url, pool.endpoint, path, { token: pool.token, ...options });

async function run(identifier: string, code: string) {
  const response = await call('/executions', { query: { identifier }, body: { code } });
  expect(response.status).toBe(200);
  return { value: response.body.result.executionResult, stdout: response.body.result.stdout as string, sessionId: response.headers.get('x-ms-session-guid') };
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('GET and DELETE /session', () => {
  it('describe the session in both shapes, and restart its cooldown', async () => {
    const { sessionId } = await run('session-1', 'x = 1');
    const response = await call('/session', { query: { 'api-version': '2025-02-02-preview', identifier: 'session-1' } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      identifier: 'session-1',
      etag: sessionId,
      expireAt: expect.stringMatching(ISO),
      expiresAt: response.body.expireAt,
      createdAt: expect.stringMatching(ISO),
      lastAccessedAt: expect.stringMatching(ISO),
    });
    // Expiry is the last access plus the pool's cooldown.
    expect(Date.parse(response.body.expiresAt) - Date.parse(response.body.lastAccessedAt)).toBe(600_000);
    const later = await call('/session', { query: { identifier: 'session-1' } });
    expect(Date.parse(later.body.lastAccessedAt)).toBeGreaterThanOrEqual(Date.parse(response.body.lastAccessedAt));
  });

  it('never allocate a session just to look at it', async () => {
    const response = await call('/session', { query: { identifier: 'never-used' } });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('SessionWithIdentifierNotFound');
    expect(response.headers.get('x-ms-error-code')).toBe('SessionWithIdentifierNotFound');
    const rows = await engine.db.query(`SELECT 1 FROM sessions WHERE pool_id = $1 AND identifier = 'never-used'`, [pool.pool.id]);
    expect(rows.rowCount).toBe(0);
  });

  it('DELETE removes the session and its sandbox; the identifier then gets a fresh, empty one', async () => {
    const { sessionId } = await run('delete-1', 'secret = 42\nopen("/mnt/data/f.txt", "w").write("x")');
    // Clients send an empty body labelled JSON; it is ignored.
    const deleted = await call('/session', { method: 'DELETE', query: { 'api-version': '2025-10-02-preview', identifier: 'delete-1' }, headers: { 'content-type': 'application/json' } });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    const state = await engine.db.query<{ state: string }>(`SELECT state FROM sessions WHERE id = $1`, [sessionId]);
    expect(state.rows[0]!.state).toBe('DELETED');
    expect((await engine.runtime.list()).some((sandbox) => sandbox.id === sessionId)).toBe(false);
    expect((await call('/session', { query: { identifier: 'delete-1' } })).status).toBe(400);
    const again = await call('/session', { method: 'DELETE', query: { identifier: 'delete-1' } });
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('SessionWithIdentifierNotFound');

    const fresh = await run('delete-1', "import os, json\nprint(json.dumps(['secret' in globals(), os.listdir('/mnt/data')]))");
    expect(fresh.sessionId).not.toBe(sessionId);
    expect(JSON.parse(fresh.stdout)).toEqual([false, []]);
  });
});

describe('listing sessions', () => {
  it('lists the live sessions, in both shapes, a page at a time', async () => {
    await run('list-a', '1');
    await run('list-b', '1');
    const live = (await engine.db.query<{ identifier: string }>(`SELECT identifier FROM sessions WHERE pool_id = $1 AND state = 'ALLOCATED' ORDER BY allocated_at, id`, [pool.pool.id])).rows.map((row) => row.identifier);
    expect(live).toEqual(expect.arrayContaining(['list-a', 'list-b']));

    const listed = await call('/listSessions', { query: { 'api-version': '2025-02-02-preview' } });
    expect(listed.status).toBe(200);
    expect(listed.body.sessions.map((session: { identifier: string }) => session.identifier)).toEqual(live);
    expect(listed.body.value).toEqual(listed.body.sessions);
    expect(listed.body).toMatchObject({ count: live.length, nextLink: null });
    expect(listed.body.sessions[0]).toEqual({ identifier: live[0], etag: expect.stringMatching(/^ses_/), expireAt: expect.stringMatching(ISO), expiresAt: expect.stringMatching(ISO), createdAt: expect.stringMatching(ISO), lastAccessedAt: expect.stringMatching(ISO) });

    const skipped = await call('/listSessions', { query: { skip: '1' } });
    expect(skipped.body.sessions.map((session: { identifier: string }) => session.identifier)).toEqual(live.slice(1));
    expect(skipped.body.count).toBe(live.length);
    const past = await call('/listSessions', { query: { skip: '1000' } });
    expect(past.body).toMatchObject({ sessions: [], value: [], count: live.length, nextLink: null });
    const bad = await call('/listSessions', { query: { skip: '-1' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/skip/);
  });
});

describe('/.management', () => {
  it('getSession, listSessions and stopSession speak the documented shapes', async () => {
    const { sessionId } = await run('manage-1', 'y = 2');
    const got = await call('/.management/getSession', { method: 'POST', query: { identifier: 'manage-1', 'api-version': '2025-02-02-preview' } });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ identifier: 'manage-1', etag: sessionId, expiresAt: expect.stringMatching(ISO), expireAt: got.body.expiresAt });

    const listed = await call('/.management/listSessions', { method: 'POST', query: { skip: '0' }, body: {} });
    expect(listed.status).toBe(200);
    expect(listed.body.value.map((session: { identifier: string }) => session.identifier)).toContain('manage-1');
    expect(listed.body.count).toBe(listed.body.value.length);

    const stopped = await call('/.management/stopSession', { method: 'POST', query: { identifier: 'manage-1' } });
    expect(stopped.status).toBe(200);
    expect(stopped.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(stopped.text).toBe(`Session manage-1 in session pool ${pool.pool.name} stopped.`);
    expect((await call('/.management/getSession', { method: 'POST', query: { identifier: 'manage-1' } })).body.error.code).toBe('SessionWithIdentifierNotFound');
    expect((await run('manage-1', "'y' in globals()")).value).toBe(false);
  });

  it('records each call in the request history', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const rows = await engine.db.query<{ route: string; statusCode: number }>(
      `SELECT route, status_code AS "statusCode" FROM data_plane_requests WHERE pool_id = $1 AND identifier = 'manage-1' ORDER BY id`,
      [pool.pool.id],
    );
    expect(rows.rows).toEqual([
      { route: 'POST /executions', statusCode: 200 },
      { route: 'POST /.management/getSession', statusCode: 200 },
      { route: 'POST /.management/stopSession', statusCode: 200 },
      { route: 'POST /.management/getSession', statusCode: 400 },
      { route: 'POST /executions', statusCode: 200 },
    ]);
  });
});

describe('GET /metadata', () => {
  it('reports the Python and the packages the sessions really have', async () => {
    const response = await call('/metadata', { query: { 'api-version': '2025-02-02-preview' } });
    expect(response.status).toBe(200);
    const packages = response.body.preInstalledPackages as { name: string; version: string }[];
    // What the kernel itself says, to compare with.
    const { stdout } = await run(
      'metadata-1',
      'import json, platform, importlib.metadata as m\nprint(json.dumps({"python": platform.python_version(), "packages": {d.metadata["Name"]: d.version for d in m.distributions()}}))',
    );
    const runtime = JSON.parse(stdout) as { python: string; packages: Record<string, string> };
    expect(response.body.runtimes).toEqual([{ name: 'python', version: runtime.python }]);
    const numpy = packages.find((entry) => entry.name === 'numpy');
    expect(numpy?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(numpy?.version).toBe(runtime.packages.numpy);
    expect(Object.fromEntries(packages.map((entry) => [entry.name, entry.version]))).toEqual(runtime.packages);
    expect(response.body.jupyterKernel).toMatchObject({ name: 'python3', version: runtime.packages.ipykernel, projectUrl: 'https://github.com/ipython/ipykernel' });
    expect(response.body.createdAt).toMatch(ISO);
    expect(response.body.lastUpdatedAt).toMatch(ISO);
  });
});
