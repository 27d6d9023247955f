// Kill -9 the engine while a session is allocated, start it again: the session, its kernel
// state and its files are still there, and nothing leaks.
import { afterAll, describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../lib/auth/access';
import { createPool, deletePool } from '../lib/services/pools';
import { createDatabasePool } from './db';
import { ensureCodeInterpreterImage } from './images/code-interpreter';
import { findLeftovers, hasLeftovers } from './runtime/containerd';
import { startEngineProcess, freePort, stopEngineProcess, type EngineProcess } from './testing/engine-process';
import { execute, executorToken, uniqueName, waitFor } from './testing/harness';

const db = createDatabasePool(process.env.DATABASE_URL!);
const engines: EngineProcess[] = [];

afterAll(async () => {
  for (const engine of engines) await stopEngineProcess(engine, 'SIGKILL');
  await db.end();
});

describe('engine restart', () => {
  it('keeps an allocated session, its variables and its files across a SIGKILL of the engine', async () => {
    const { reference: image } = await ensureCodeInterpreterImage(() => {});
    const port = await freePort();
    let engine = await startEngineProcess(port, image);
    engines.push(engine);
    const { url } = engine;
    const pool = await createPool(HOST_OPERATOR, { name: uniqueName(), isolation: 'runc', readySessionInstances: 1, maxConcurrentSessions: 3, cooldownPeriodInSeconds: 3600 });
    const token = await executorToken(pool.name);
    const endpoint = `/subscriptions/s/resourceGroups/r/sessionPools/${pool.name}`;
    const before = await execute(url, endpoint, token, 'survivor-1', "answer = 41 + 1\nopen('/mnt/data/kept.txt', 'w').write('still here')\nanswer");
    expect(before.body.properties).toMatchObject({ status: 'Success', result: 42 });

    await stopEngineProcess(engine, 'SIGKILL');
    engine = await startEngineProcess(port, image);
    engines.push(engine);

    const after = await execute(url, endpoint, token, 'survivor-1', "[answer, open('/mnt/data/kept.txt').read()]");
    expect(after.sessionId).toBe(before.sessionId);
    expect(after.body.properties).toMatchObject({ status: 'Success', result: "[42, 'still here']" });
    // The pool is refilled and consistent: one ready, one allocated, nothing stuck pending.
    await waitFor('pool settled', async () => {
      const rows = await db.query<{ state: string; count: number }>(`SELECT state, count(*)::int AS count FROM sessions WHERE pool_id = $1 AND state IN ('PENDING','READY','ALLOCATED') GROUP BY state`, [pool.id]);
      const counts = Object.fromEntries(rows.rows.map((row) => [row.state, row.count]));
      return counts.ALLOCATED === 1 && counts.READY === 1 && !counts.PENDING;
    });

    const ids = (await db.query<{ id: string }>('SELECT id FROM sessions WHERE pool_id = $1', [pool.id])).rows.map((row) => row.id);
    await deletePool(HOST_OPERATOR, pool.name);
    await waitFor('pool drained', async () => (await db.query('SELECT 1 FROM session_pools WHERE id = $1', [pool.id])).rowCount === 0, 60_000);
    for (const id of ids) expect(hasLeftovers(await findLeftovers(id)), `leftovers of ${id}`).toBe(false);
    await stopEngineProcess(engine);
  }, 240_000);
});
