// Kill -9 the engine while a session is allocated, start it again: the session, its kernel
// state and its files are still there, and nothing leaks.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../lib/auth/access';
import { createPool, deletePool } from '../lib/services/pools';
import { createDatabasePool } from './db';
import { ensureCodeInterpreterImage } from './images/code-interpreter';
import { findLeftovers, hasLeftovers } from './runtime/containerd';
import { execute, executorToken, TEST_RUN_DIR, uniqueName, waitFor } from './testing/harness';

const repoRoot = join(import.meta.dirname, '..');
const db = createDatabasePool(process.env.DATABASE_URL!);
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await db.end();
});

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startEngineProcess(port: number, image: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', join(repoRoot, 'bin/register.mjs'), join(repoRoot, 'engine/main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ENGINE_PORT: String(port), ENGINE_HOST: '127.0.0.1', SANDPOOL_IMAGE: image, SANDPOOL_RUN_DIR: TEST_RUN_DIR },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(`engine on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`the engine exited: ${output}`);
    return fetch(`http://127.0.0.1:${port}/healthz`).then((response) => response.ok, () => false);
  }, 60_000);
  return child;
}

describe('engine restart', () => {
  it('keeps an allocated session, its variables and its files across a SIGKILL of the engine', async () => {
    const { reference: image } = await ensureCodeInterpreterImage(() => {});
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let engine = await startEngineProcess(port, image);
    const pool = await createPool(HOST_OPERATOR, { name: uniqueName(), isolation: 'runc', readySessionInstances: 1, maxConcurrentSessions: 3, cooldownPeriodInSeconds: 3600 });
    const token = await executorToken(pool.name);
    const endpoint = `/subscriptions/s/resourceGroups/r/sessionPools/${pool.name}`;
    const before = await execute(url, endpoint, token, 'survivor-1', "answer = 41 + 1\nopen('/mnt/data/kept.txt', 'w').write('still here')\nanswer");
    expect(before.body.properties).toMatchObject({ status: 'Success', result: 42 });

    engine.kill('SIGKILL');
    await once(engine, 'exit');
    engine = await startEngineProcess(port, image);

    const after = await execute(url, endpoint, token, 'survivor-1', "[answer, open('/mnt/data/kept.txt').read()]");
    expect(after.sessionId).toBe(before.sessionId);
    expect(after.body.properties).toMatchObject({ status: 'Success', result: [42, 'still here'] });
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
    engine.kill('SIGTERM');
    await once(engine, 'exit');
  }, 240_000);
});
