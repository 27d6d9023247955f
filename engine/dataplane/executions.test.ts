// POST /executions and GET /executions/{id} (reference §4.3.1) against a real engine: real
// Postgres, containerd and the code-interpreter image. Also the request history they write,
// and asynchronous executions across an engine restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../../lib/auth/access';
import { deletePool } from '../../lib/services/pools';
import { dataPlane, poolWithReady, startTestEngine, waitFor, type DataPlaneResponse, type TestEngine } from '../testing/harness';
import { HISTORY_TEXT_LIMIT_BYTES } from './history';

let engine: TestEngine;
let pool: Awaited<ReturnType<typeof poolWithReady>>;

beforeAll(async () => {
  engine = await startTestEngine();
  pool = await poolWithReady(engine, { isolation: 'runc', readySessionInstances: 2, maxConcurrentSessions: 16, cooldownPeriodInSeconds: 3600, memoryGi: 0.5 });
}, 300_000);

afterAll(async () => {
  if (pool) await deletePool(HOST_OPERATOR, pool.pool.name);
  await engine?.stop();
  engine?.runtime.close();
});

const API_VERSION = '2025-10-02-preview';

function executions(identifier: string, body: unknown, options: { path?: string; query?: Record<string, string>; headers?: Record<string, string> } = {}) {
  return dataPlane(engine.url, pool.endpoint, options.path ?? '/executions', {
    token: pool.token,
    query: options.query ?? { 'api-version': API_VERSION, identifier },
    body,
    headers: options.headers,
  });
}

async function poll(location: string): Promise<DataPlaneResponse> {
  const response = await fetch(location, { headers: { authorization: `Bearer ${pool.token}` } });
  return { status: response.status, headers: response.headers, text: '', body: await response.json() };
}

async function historyRows(identifier: string) {
  // Rows are written just after each reply.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const result = await engine.db.query(
    `SELECT route, status_code AS "statusCode", session_id AS "sessionId", principal_label AS "principal", execution_id AS "executionId", asynchronous,
       execution_status AS "executionStatus", code, stdout, stderr, execution_result AS "executionResult", error_code AS "errorCode", duration_ms AS "durationMs"
     FROM data_plane_requests WHERE pool_id = $1 AND identifier = $2 ORDER BY id`,
    [pool.pool.id, identifier],
  );
  return result.rows;
}

describe('synchronous executions', () => {
  it('answer 200 with the execution resource, in a session that keeps its state', async () => {
    const first = await executions('sync-1', { codeInputType: 'Inline', executionType: 'Synchronous', code: 'x = 6 * 7\nprint("hi")\nx', timeoutInSeconds: 60 });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      id: first.headers.get('operation-id'),
      identifier: 'sync-1',
      executionType: 'Synchronous',
      status: 'Succeeded',
      result: { stdout: 'hi\n', stderr: '', executionResult: 42, executionTimeInMilliseconds: expect.any(Number) },
    });
    expect(first.headers.get('operation-location')).toBe(`${engine.url}${pool.endpoint}/executions/${first.body.id}?api-version=${API_VERSION}&identifier=sync-1`);
    const again = await executions('sync-1', { code: 'x + 1' });
    expect(again.body.result.executionResult).toBe(43);
    expect(again.headers.get('x-ms-session-guid')).toBe(first.headers.get('x-ms-session-guid'));
    // A statement has no value: "" (or null with returnJupyterFormatExecutionResult); numbers become JSON text.
    expect((await executions('sync-1', { code: 'y = 1' })).body.result.executionResult).toBe('');
    expect((await executions('sync-1', { code: 'y = 1', returnJupyterFormatExecutionResult: true })).body.result.executionResult).toBeNull();
    expect((await executions('sync-1', { code: '2 + 2', returnJupyterFormatExecutionResult: true })).body.result.executionResult).toBe('4');
  });

  it('report failing code as HTTP 200, status Failed, with the traceback in stderr', async () => {
    const response = await executions('sync-1', { code: 'print("before")\n{}["missing"]' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'Failed', result: { stdout: 'before\n' }, error: { code: 'KeyError', message: "KeyError: 'missing'" } });
    expect(response.body.result.stderr).toContain('Traceback');
    expect(response.body.result.stderr).toContain("KeyError: 'missing'");
  });

  it('stop an infinite loop at its timeout, as a Failed execution, and the session goes on', async () => {
    const startedAt = Date.now();
    const response = await executions('sync-1', { code: 'while True:\n    pass', timeoutInSeconds: 2 });
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ status: 'Failed', error: { code: 'ExecutionTimeout' } });
    expect(response.body.error.message).toMatch(/^Request timed out waiting for code execution to complete/);
    expect(response.body.result.stderr).toMatch(/timed out after 2 s/);
    expect((await executions('sync-1', { code: 'x' })).body).toMatchObject({ status: 'Succeeded', result: { executionResult: 42 } });
  });

  it('refuse timeouts above Azure\'s 220 s limit', async () => {
    const response = await executions('sync-1', { code: '1', timeoutInSeconds: 221 });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('SessionRequestValidationFailed');
    expect(response.headers.get('x-ms-error-code')).toBe('SessionRequestValidationFailed');
  });

  it('cut stdout and stderr to outputStreamsMaxLength (4096 characters by default)', async () => {
    const code = 'import sys\nprint("a" * 10000, end="")\nsys.stderr.write("é" * 5000)';
    const byDefault = await executions('sync-1', { code });
    expect(byDefault.body.result.stdout).toBe('a'.repeat(4096));
    expect(byDefault.body.result.stderr).toBe('é'.repeat(4096));
    const short = await executions('sync-1', { code, outputStreamsMaxLength: 10 });
    expect(short.body.result).toMatchObject({ stdout: 'a'.repeat(10), stderr: 'é'.repeat(10) });
    const whole = await executions('sync-1', { code, outputStreamsMaxLength: 20000 });
    expect(whole.body.result.stdout).toHaveLength(10000);
  });

  it('return a matplotlib figure as a PNG image result', async () => {
    const response = await executions('sync-1', { code: 'import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.show()' });
    expect(response.body.result.executionResult).toMatchObject({ type: 'image', format: 'png' });
    expect(Buffer.from(response.body.result.executionResult.base64_data, 'base64').subarray(1, 4).toString()).toBe('PNG');
  });

  it('accept the body flat or in properties, code or pythonCode, enums in any case, base64 code', async () => {
    const bodies = [
      { properties: { codeInputType: 'inline', executionType: 'synchronous', code: '1 + 1' } },
      { codeInputType: 'INLINE', executionType: 'SYNCHRONOUS', pythonCode: '1 + 1' },
      { codeInputType: 'inlinebase64', code: Buffer.from('1 + 1').toString('base64') },
      { code: '1 + 1', identifier: 'ignored', sanitizeInput: true, useEmptyKernel: false },
    ];
    for (const body of bodies) {
      const response = await executions('forms-1', body);
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(response.body.result.executionResult, JSON.stringify(body)).toBe(2);
    }
  });

  it('route with any api-version or none, "//" and a trailing slash, and an URL-encoded identifier', async () => {
    const identifier = 'conv|42&(x)#1/?=+';
    expect(encodeURIComponent(identifier)).not.toBe(identifier);
    const variants: { path: string; query: Record<string, string> }[] = [
      { path: '/executions', query: { identifier } },
      { path: '//executions/', query: { 'api-version': 'banana', identifier } },
      { path: '/executions/', query: { identifier, 'api-version': '2024-10-02-preview' } },
    ];
    const sessions = new Set<string | null>();
    for (const variant of variants) {
      const response = await executions(identifier, { code: '3 * 3' }, variant);
      expect(response.status, variant.path).toBe(200);
      expect(response.body).toMatchObject({ identifier, result: { executionResult: 9 } });
      sessions.add(response.headers.get('x-ms-session-guid'));
    }
    expect(sessions.size).toBe(1);
    // The identifier is unreadable as ASCII; "ü" is not in Azure's pattern.
    expect((await executions('x', { code: '1' }, { query: { identifier: 'nö-way' } })).status).toBe(400);
  });

  it('refuse shell commands on a Python pool and an unusable operation-id', async () => {
    const shell = await executions('sync-1', { shellCommand: 'echo hi' });
    expect(shell.status).toBe(400);
    expect(shell.body.error.code).toBe('SessionRequestNotSupported');
    const badId = await executions('sync-1', { code: '1' }, { headers: { 'operation-id': 'has space' } });
    expect(badId.status).toBe(400);
    expect(badId.body.error.message).toMatch(/operation-id/);
  });

  it('can be read back with GET /executions/{id}, under a caller-chosen operation-id', async () => {
    const response = await executions('sync-2', { code: 'print("kept")\n7' }, { headers: { 'operation-id': 'my-op.1' } });
    expect(response.body.id).toBe('my-op.1');
    const fetched = await poll(response.headers.get('operation-location')!);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(response.body);
    const unknown = await dataPlane(engine.url, pool.endpoint, '/executions/nope-1', { token: pool.token, query: { identifier: 'sync-2' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/^No execution available for operation Id: nope-1/);
    // Another identifier of the same pool does not see it.
    const otherIdentifier = await dataPlane(engine.url, pool.endpoint, '/executions/my-op.1', { token: pool.token, query: { identifier: 'sync-1' } });
    expect(otherIdentifier.status).toBe(404);
  });
});

describe('asynchronous executions', () => {
  it('answer 202 with operation-id and Operation-Location, and polling goes from Running to the result', async () => {
    const response = await executions('async-1', { executionType: 'asynchronous', code: 'import time\ntime.sleep(1.5)\nprint("done")\n6 * 7' });
    expect(response.status).toBe(202);
    const id = response.headers.get('operation-id');
    expect(response.body).toEqual({ id, identifier: 'async-1', executionType: 'Asynchronous', status: 'Running' });
    const location = response.headers.get('operation-location')!;
    expect(location).toBe(`${engine.url}${pool.endpoint}/executions/${id}?api-version=${API_VERSION}&identifier=async-1`);
    expect((await poll(location)).body.status).toBe('Running');
    const finished = await waitFor('the execution to finish', async () => {
      const polled = await poll(location);
      return polled.body.status !== 'Running' && polled;
    }, 30_000);
    expect(finished.body).toEqual({
      id,
      identifier: 'async-1',
      executionType: 'Asynchronous',
      status: 'Succeeded',
      result: { stdout: 'done\n', stderr: '', executionResult: 42, executionTimeInMilliseconds: expect.any(Number) },
    });
    expect(finished.body.result.executionTimeInMilliseconds).toBeGreaterThanOrEqual(1500);
    // One history row for the execution (written before the 202, completed at the end), one per poll.
    const rows = await historyRows('async-1');
    expect(rows.filter((row) => row.route === 'POST /executions')).toEqual([
      expect.objectContaining({ statusCode: 202, asynchronous: true, executionId: id, executionStatus: 'SUCCEEDED', stdout: 'done\n', executionResult: 42 }),
    ]);
    expect(rows.filter((row) => row.route === 'GET /executions/{id}').length).toBeGreaterThanOrEqual(2);
  });

  it('report failures the same way', async () => {
    const response = await executions('async-1', { executionType: 'Asynchronous', code: '1 / 0' });
    const finished = await waitFor('the execution to finish', async () => {
      const polled = await poll(response.headers.get('operation-location')!);
      return polled.body.status !== 'Running' && polled;
    }, 30_000);
    expect(finished.body).toMatchObject({ status: 'Failed', error: { code: 'ZeroDivisionError' } });
    expect(finished.body.result.stderr).toContain('ZeroDivisionError');
  });
});

describe('the request history', () => {
  it('records each execution: caller, session, route, status, duration, code and outputs', async () => {
    await executions('history-1', { code: 'print("out")\n5' });
    await executions('history-1', { code: 'raise ValueError("bad")' });
    await dataPlane(engine.url, pool.endpoint, '/code/execute', { token: pool.token, query: { identifier: 'history-1' }, body: { properties: { code: '"legacy"' } } });
    const rows = await historyRows('history-1');
    expect(rows).toHaveLength(3);
    const sessionId = rows[0]!.sessionId;
    expect(sessionId).toMatch(/^ses_/);
    expect(rows[0]).toMatchObject({ route: 'POST /executions', statusCode: 200, sessionId, executionStatus: 'SUCCEEDED', asynchronous: false, code: 'print("out")\n5', stdout: 'out\n', executionResult: 5 });
    expect(rows[0]!.principal).toMatch(/^[0-9a-f-]{36}$/);
    expect(rows[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(rows[1]).toMatchObject({ executionStatus: 'FAILED', errorCode: 'ValueError' });
    expect(rows[1]!.stderr).toContain('ValueError: bad');
    expect(rows[2]).toMatchObject({ route: 'POST /code/execute', statusCode: 200, sessionId, executionStatus: 'SUCCEEDED', executionResult: 'legacy' });
  });

  it('keeps at most 64 KiB of code and of each output', async () => {
    const code = `${'#'.repeat(70_000)}\nprint("é" * 40000)`;
    const response = await executions('history-2', { code, outputStreamsMaxLength: 100_000 });
    expect(response.body.result.stdout).toHaveLength(40_001);
    const [row] = await historyRows('history-2');
    expect(row!.code).toBe(code.slice(0, HISTORY_TEXT_LIMIT_BYTES));
    expect(Buffer.byteLength(row!.stdout)).toBeLessThanOrEqual(HISTORY_TEXT_LIMIT_BYTES);
    expect(row!.stdout).toBe('é'.repeat(HISTORY_TEXT_LIMIT_BYTES / 2));
  });

  it('records refusals of an authorized caller too, but nothing for a caller without a token', async () => {
    await executions('history-3', { code: '1', timeoutInSeconds: 0 });
    await dataPlane(engine.url, pool.endpoint, '/executions', { token: null, query: { identifier: 'history-3' }, body: { code: '1' } });
    const rows = await historyRows('history-3');
    expect(rows).toEqual([expect.objectContaining({ route: 'POST /executions', statusCode: 400, sessionId: null, executionStatus: null })]);
  });
});

describe('an engine restart', () => {
  it('keeps finished asynchronous executions, and reports one it cut short as Failed', async () => {
    const finished = await executions('restart-1', { executionType: 'Asynchronous', code: '"finished before"' });
    await waitFor('the first execution to finish', async () => (await poll(finished.headers.get('operation-location')!)).body.status === 'Succeeded', 30_000);
    const cutShort = await executions('restart-2', { executionType: 'Asynchronous', code: 'import time\ntime.sleep(15)\n"never reported"' });
    expect(cutShort.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 500));

    await engine.stop();
    engine.runtime.close();
    engine = await startTestEngine();
    const rebased = (location: string) => location.replace(/^http:\/\/[^/]+/, engine.url);

    const kept = await poll(rebased(finished.headers.get('operation-location')!));
    expect(kept.body).toMatchObject({ status: 'Succeeded', result: { executionResult: 'finished before' } });
    const lost = await poll(rebased(cutShort.headers.get('operation-location')!));
    expect(lost.status).toBe(200);
    expect(lost.body).toMatchObject({ id: cutShort.headers.get('operation-id'), status: 'Failed', error: { code: 'EngineRestarted' } });
    expect(lost.body.error.message).toMatch(/engine restarted while this execution was running/);
  }, 120_000);
});
