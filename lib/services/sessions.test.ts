// The portal's session queries and their role checks, on a real Postgres. What needs the engine
// (running code, files, stopping) is covered end to end in e2e/console.spec.ts; here, every
// refusal that must happen before the engine is called.
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabasePool } from '../../engine/db';
import { allocateSession, insertPendingSession, transitionSession } from '../../engine/sessions/store';
import { HOST_OPERATOR } from '../auth/access';
import { db } from '../db';
import { newId } from '../ids';
import { expectAppError } from '../testing/assertions';
import { createTestUser, uniquePoolName } from '../testing/factories';
import { createPool, deletePool } from './pools';
import { consoleIdentifier, EXECUTIONS_PAGE_SIZE, fileTargetOf, getSessionDetail, listConsolePools, listSessionExecutions, listSessionFiles, runConsoleCode, stopSession } from './sessions';

const engineDb = createDatabasePool(process.env.DATABASE_URL!);
const created: string[] = [];
afterAll(async () => {
  for (const name of created) await deletePool(HOST_OPERATOR, name).catch(() => undefined);
  await engineDb.end();
});

/** A pool no engine fills (no ready sessions), with one session allocated to `identifier` as the engine does it. */
async function poolWithSession(identifier = 'portal-test-identifier') {
  const pool = await createPool(HOST_OPERATOR, { name: uniquePoolName(), readySessionInstances: 0, maxConcurrentSessions: 3 });
  created.push(pool.name);
  const id = newId('ses');
  await insertPendingSession(engineDb, { id, poolId: pool.id, generation: pool.generation, runtime: 'RUNC_HARDENED', image: 'test-image' });
  await transitionSession(engineDb, id, ['PENDING'], 'READY', 'test sandbox ready');
  await allocateSession(engineDb, { poolId: pool.id, identifier, cooldownSeconds: 300, maxConcurrentSessions: 3 });
  return { pool, sessionId: id, identifier };
}

async function recordExecution(poolId: string, sessionId: string, index: number, result: unknown = index) {
  await db().dataPlaneRequest.create({
    data: {
      poolId,
      sessionId,
      identifier: 'portal-test-identifier',
      principalId: 'usr_test',
      principalLabel: 'ada@example.com',
      route: 'POST /executions',
      statusCode: 200,
      durationMs: 5,
      executionId: `exec-${index}`,
      asynchronous: false,
      executionStatus: 'SUCCEEDED',
      code: `print(${index})`,
      stdout: `${index}\n`,
      stderr: '',
      executionResult: result as never,
      executionTimeMs: 3,
    },
  });
}

describe('a session page', () => {
  it('shows the identifier only to those who may act on the pool; Readers see the rest', async () => {
    const { pool, sessionId, identifier } = await poolWithSession();
    const executor = await createTestUser([{ role: 'SESSION_EXECUTOR', scope: `/sessionPools/${pool.name}` }]);
    const reader = await createTestUser([{ role: 'READER', scope: `/sessionPools/${pool.name}` }]);
    const contributor = await createTestUser([{ role: 'CONTRIBUTOR' }]);
    const forExecutor = await getSessionDetail(executor.principal, sessionId);
    expect(forExecutor).toMatchObject({ id: sessionId, identifier, canAct: true, isolation: 'runc', image: 'test-image' });
    // (An engine running against the same database may already have swept this sandbox-less session.)
    expect(forExecutor.events.map((event) => event.to).slice(0, 3)).toEqual(['PENDING', 'READY', 'ALLOCATED']);
    for (const viewer of [reader, contributor]) {
      const shown = await getSessionDetail(viewer.principal, sessionId);
      expect(shown).toMatchObject({ id: sessionId, identifier: null, canAct: false });
      expect(JSON.stringify(shown)).not.toContain(identifier);
    }
  });

  it('is refused to someone without a role on the pool, and says when there is no such session', async () => {
    const { sessionId } = await poolWithSession();
    const elsewhere = await createTestUser([{ role: 'SESSION_EXECUTOR', scope: `/sessionPools/${uniquePoolName()}` }]);
    await expectAppError(getSessionDetail(elsewhere.principal, sessionId), 'FORBIDDEN');
    await expectAppError(listSessionExecutions(elsewhere.principal, { id: sessionId, poolName: (await db().session.findUniqueOrThrow({ where: { id: sessionId }, select: { pool: { select: { name: true } } } })).pool.name }), 'FORBIDDEN');
    await expectAppError(getSessionDetail(HOST_OPERATOR, 'ses_doesnotexist'), 'NOT_FOUND');
  });

  it('lists executions newest first, a page at a time, with figures apart from values', async () => {
    const { pool, sessionId } = await poolWithSession();
    for (let index = 0; index < EXECUTIONS_PAGE_SIZE + 2; index += 1) await recordExecution(pool.id, sessionId, index);
    await recordExecution(pool.id, sessionId, 99, { type: 'image', format: 'png', base64_data: 'iVBORw0KGgo=' });
    const reader = await createTestUser([{ role: 'READER' }]);
    const first = await listSessionExecutions(reader.principal, { id: sessionId, poolName: pool.name });
    expect(first.executions).toHaveLength(EXECUTIONS_PAGE_SIZE);
    expect(first.executions[0]).toMatchObject({ executionId: 'exec-99', imagePng: 'iVBORw0KGgo=', result: null, ranBy: 'ada@example.com', status: 'Succeeded' });
    expect(first.executions[1]).toMatchObject({ executionId: `exec-${EXECUTIONS_PAGE_SIZE + 1}`, result: EXECUTIONS_PAGE_SIZE + 1, imagePng: null, stdout: `${EXECUTIONS_PAGE_SIZE + 1}\n` });
    const second = await listSessionExecutions(reader.principal, { id: sessionId, poolName: pool.name }, { before: first.nextBefore! });
    expect(second.executions.map((execution) => execution.executionId)).toEqual(['exec-2', 'exec-1', 'exec-0']);
    expect(second.nextBefore).toBeNull();
    await expectAppError(listSessionExecutions(reader.principal, { id: sessionId, poolName: pool.name }, { before: 'drop table' }), 'BAD_REQUEST', /cursor/);
  });
});

describe('acting on a session', () => {
  it('refuses Readers and Contributors before reaching the engine', async () => {
    const { pool, sessionId } = await poolWithSession();
    const reader = await createTestUser([{ role: 'READER', scope: `/sessionPools/${pool.name}` }]);
    const contributor = await createTestUser([{ role: 'CONTRIBUTOR' }]);
    for (const viewer of [reader, contributor]) {
      await expectAppError(stopSession(viewer.principal, sessionId), 'FORBIDDEN', /sessions\.execute/);
      await expectAppError(fileTargetOf(viewer.principal, new URLSearchParams({ session: sessionId })), 'FORBIDDEN');
      await expectAppError(fileTargetOf(viewer.principal, new URLSearchParams({ pool: pool.name, identifier: 'anything-1' })), 'FORBIDDEN');
      await expectAppError(runConsoleCode(viewer.principal, { pool: pool.name, identifier: 'anything-1', code: '1' }), 'FORBIDDEN');
    }
  });

  it('refuses to stop, or reach the files of, a session that has ended', async () => {
    const { pool, sessionId } = await poolWithSession();
    await transitionSession(engineDb, sessionId, ['ALLOCATED'], 'DELETING', 'test stop');
    await transitionSession(engineDb, sessionId, ['DELETING'], 'DELETED', 'test sandbox removed');
    const executor = await createTestUser([{ role: 'SESSION_EXECUTOR', scope: `/sessionPools/${pool.name}` }]);
    await expectAppError(stopSession(executor.principal, sessionId), 'CONFLICT', /no longer running/);
    await expectAppError(fileTargetOf(executor.principal, new URLSearchParams({ session: sessionId })), 'CONFLICT');
  });

  it('lists no files, and starts nothing, for an identifier without a running session', async () => {
    const { pool } = await poolWithSession();
    const executor = await createTestUser([{ role: 'SESSION_EXECUTOR', scope: `/sessionPools/${pool.name}` }]);
    const target = await fileTargetOf(executor.principal, new URLSearchParams({ pool: pool.name, identifier: 'never-used-1' }));
    expect(target).toEqual({ poolName: pool.name, identifier: 'never-used-1', sessionId: null });
    expect(await listSessionFiles(executor.principal, target)).toEqual({ sessionId: null, files: [] });
    expect(await db().session.count({ where: { poolId: pool.id, identifier: 'never-used-1' } })).toBe(0);
    await expectAppError(fileTargetOf(executor.principal, new URLSearchParams({ pool: pool.name })), 'BAD_REQUEST', /identifier/);
  });

  it('checks the console input and says how to fix it', async () => {
    const { pool } = await poolWithSession();
    const executor = await createTestUser([{ role: 'SESSION_EXECUTOR', scope: `/sessionPools/${pool.name}` }]);
    const error = await expectAppError(runConsoleCode(executor.principal, { pool: pool.name, identifier: 'abc', code: '1', timeoutSeconds: 500 }), 'BAD_REQUEST');
    expect(error.fieldErrors).toEqual({ identifier: ['Use at least 4 characters.'], timeoutSeconds: [expect.stringMatching(/at most 220 seconds/)] });
  });
});

describe('the console', () => {
  it('offers the pools the viewer may run code in, none being deleted', async () => {
    const [mine, other, going] = [await poolWithSession(), await poolWithSession(), await poolWithSession()];
    const executor = await createTestUser([
      { role: 'SESSION_EXECUTOR', scope: `/sessionPools/${mine.pool.name}` },
      { role: 'READER', scope: `/sessionPools/${other.pool.name}` },
      { role: 'SESSION_EXECUTOR', scope: `/sessionPools/${going.pool.name}` },
    ]);
    await deletePool(HOST_OPERATOR, going.pool.name);
    expect((await listConsolePools(executor.principal)).map((pool) => pool.name)).toEqual([mine.pool.name]);
  });

  it("gives each person a stable identifier of their own, not derivable from their id", async () => {
    const [ada, grace] = [await createTestUser(), await createTestUser()];
    expect(consoleIdentifier(ada.principal)).toBe(consoleIdentifier(ada.principal));
    expect(consoleIdentifier(ada.principal)).not.toBe(consoleIdentifier(grace.principal));
    expect(consoleIdentifier(ada.principal)).toMatch(/^console-[0-9a-f]{24}$/);
    expect(consoleIdentifier(ada.principal)).not.toContain(ada.id.slice(4));
  });
});
