// Postgres and containerd restarting under a running engine. While one is down, requests get a
// prompt, clear answer (never a hang, never a bare 500); once it is back the engine recovers by
// itself, and an allocated session keeps its kernel state throughout.
//
// Postgres: a server of this test's own (the real embedded Postgres that `npm start` runs), so
// stopping it touches nobody else. containerd: the host's daemon, restarted the way an operator
// or a package upgrade would; sandboxes are shim processes and outlive it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresHandle } from '../cli/provision/postgres';
import type { EngineProcess } from './testing/engine-process';
import type { LegacyResponse } from './testing/harness';

const home = mkdtempSync(join(tmpdir(), 'sandpool-restart-'));
let postgres: PostgresHandle | undefined;
const engines: EngineProcess[] = [];
const originalDatabaseUrl = process.env.DATABASE_URL;

// Everything that talks to the database is imported after DATABASE_URL points at this test's
// own Postgres (Vitest gives each test file fresh modules).
async function startOwnPostgres(): Promise<PostgresHandle> {
  const { ensurePostgres } = await import('../cli/provision/postgres');
  delete process.env.DATABASE_URL; // otherwise ensurePostgres would use that server
  try {
    return await ensurePostgres(() => {});
  } finally {
    process.env.DATABASE_URL = postgres?.databaseUrl ?? originalDatabaseUrl;
  }
}

beforeAll(async () => {
  process.env.SANDPOOL_HOME = home;
  process.env.SANDPOOL_POSTGRES_PORT = String(await (await import('./testing/engine-process')).freePort());
  postgres = await startOwnPostgres();
  process.env.DATABASE_URL = postgres.databaseUrl;
  const { applyMigrations } = await import('../cli/provision/prisma');
  await applyMigrations(postgres.databaseUrl, () => {});
}, 120_000);

afterAll(async () => {
  const { stopEngineProcess } = await import('./testing/engine-process');
  for (const engine of engines) await stopEngineProcess(engine, 'SIGKILL');
  await postgres?.stop();
  rmSync(home, { recursive: true, force: true });
  process.env.DATABASE_URL = originalDatabaseUrl;
});

/** A request made while a dependency is down: answered within `withinMs`, as 200 or a clear 503. */
async function expectPromptAnswer(request: () => Promise<LegacyResponse>, withinMs: number): Promise<LegacyResponse> {
  const started = Date.now();
  const response = await request();
  expect(Date.now() - started).toBeLessThan(withinMs);
  expect([200, 503], JSON.stringify(response.body)).toContain(response.status);
  if (response.status === 503) expect(response.body.error?.message).toMatch(/database|Postgres|containerd|retry|again/i);
  return response;
}

/** A running engine on this test's Postgres, a runc pool with one ready sandbox, and a session that set `kept`. */
async function engineWithSession(identifier: string, kept: number) {
  const { HOST_OPERATOR } = await import('../lib/auth/access');
  const { createPool } = await import('../lib/services/pools');
  const { ensureCodeInterpreterImage } = await import('./images/code-interpreter');
  const { freePort, startEngineProcess, stopEngineProcess } = await import('./testing/engine-process');
  const { execute, executorToken, uniqueName } = await import('./testing/harness');
  const { reference: image } = await ensureCodeInterpreterImage(() => {});
  // One engine per database: the previous case's engine goes first.
  for (const previous of engines.splice(0)) await stopEngineProcess(previous);
  const engine = await startEngineProcess(await freePort(), image, { DATABASE_URL: postgres!.databaseUrl });
  engines.push(engine);
  const pool = await createPool(HOST_OPERATOR, { name: uniqueName(), isolation: 'runc', readySessionInstances: 1, maxConcurrentSessions: 3, cooldownPeriodInSeconds: 3600 });
  const token = await executorToken(pool.name);
  const endpoint = `/subscriptions/s/resourceGroups/r/sessionPools/${pool.name}`;
  const run = (who: string, code: string) => execute(engine.url, endpoint, token, who, code);
  const before = await run(identifier, `kept = ${kept}\nkept`);
  expect(before.body.properties).toMatchObject({ status: 'Success', result: kept });
  return { engine, pool, run, before };
}

/** Waits until the pool is back to one ready sandbox beside two allocated ones. */
async function expectRefilled(db: import('pg').Pool, poolId: string, timeoutMs: number): Promise<void> {
  const { waitFor } = await import('./testing/harness');
  await waitFor('pool refilled', async () => {
    const rows = await db.query<{ state: string; count: number }>(`SELECT state, count(*)::int AS count FROM sessions WHERE pool_id = $1 AND state IN ('PENDING','READY','ALLOCATED') GROUP BY state`, [poolId]);
    const counts = Object.fromEntries(rows.rows.map((row) => [row.state, row.count]));
    return counts.ALLOCATED === 2 && counts.READY === 1 && !counts.PENDING;
  }, timeoutMs);
}

/** Deletes the pool, waits for the engine to drain it, and checks that no sandbox left anything behind. */
async function expectDrainedWithoutLeftovers(db: import('pg').Pool, pool: { id: string; name: string }): Promise<void> {
  const { HOST_OPERATOR } = await import('../lib/auth/access');
  const { deletePool } = await import('../lib/services/pools');
  const { findLeftovers, hasLeftovers } = await import('./runtime/containerd');
  const { waitFor } = await import('./testing/harness');
  const ids = (await db.query<{ id: string }>('SELECT id FROM sessions WHERE pool_id = $1', [pool.id])).rows.map((row) => row.id);
  await deletePool(HOST_OPERATOR, pool.name);
  await waitFor('pool drained', async () => (await db.query('SELECT 1 FROM session_pools WHERE id = $1', [pool.id])).rowCount === 0, 60_000);
  for (const id of ids) expect(hasLeftovers(await findLeftovers(id)), `leftovers of ${id}: ${JSON.stringify(await findLeftovers(id))}`).toBe(false);
}

describe('the engine across dependency restarts', () => {
  it('survives a Postgres restart: requests fail fast while it is down, then everything recovers', async () => {
    const { waitFor } = await import('./testing/harness');
    const { createDatabasePool } = await import('./db');
    const { engine, pool, run, before } = await engineWithSession('pg-survivor', 7);

    await postgres!.stop();
    await expectPromptAnswer(() => run('pg-survivor', 'kept'), 15_000);
    await expectPromptAnswer(() => run('pg-newcomer', 'print(1)'), 15_000);
    const health = await fetch(`${engine.url}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { checks: Record<string, { ok: boolean }> }).checks.postgres?.ok).toBe(false);

    postgres = await startOwnPostgres();
    const after = await waitFor('the session answering again', async () => {
      const response = await run('pg-survivor', 'kept * 6');
      return response.status === 200 ? response : undefined;
    }, 60_000);
    expect(after.sessionId).toBe(before.sessionId);
    expect(after.body.properties).toMatchObject({ status: 'Success', result: 42 });
    const newcomer = await run('pg-newcomer', 'print(1)');
    expect(newcomer.status).toBe(200);
    expect((await fetch(`${engine.url}/healthz`)).status).toBe(200);

    // The reconciler kept going: the pool is back to one ready sandbox beside the two allocated.
    const db = createDatabasePool(postgres!.databaseUrl);
    try {
      await expectRefilled(db, pool.id, 60_000);
      await expectDrainedWithoutLeftovers(db, pool);
    } finally {
      await db.end();
    }
  }, 300_000);

  it('survives a containerd restart: allocated sessions keep running and refill resumes', async () => {
    const { ensureContainerd } = await import('../cli/provision/containerd');
    const { waitFor } = await import('./testing/harness');
    const { createDatabasePool } = await import('./db');
    const { engine, pool, run, before } = await engineWithSession('ctr-survivor', 5);

    const pid = execFileSync('pidof', ['containerd'], { encoding: 'utf8' }).trim().split(/\s+/).map(Number)[0]!;
    process.kill(pid, 'SIGTERM');
    await waitFor('containerd to exit', async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 30_000);
    // An allocated session needs no containerd call: it keeps answering while the daemon is away.
    const during = await expectPromptAnswer(() => run('ctr-survivor', 'kept + 1'), 15_000);
    expect(during.body.properties).toMatchObject({ status: 'Success', result: 6 });
    await ensureContainerd(() => {});

    const after = await run('ctr-survivor', 'kept * 2');
    expect(after.sessionId).toBe(before.sessionId);
    expect(after.body.properties).toMatchObject({ status: 'Success', result: 10 });
    const db = createDatabasePool(postgres!.databaseUrl);
    try {
      // A new identifier takes the ready sandbox; the refill that follows needs containerd back.
      expect((await run('ctr-newcomer', 'print(2)')).status).toBe(200);
      await expectRefilled(db, pool.id, 90_000);
      expect((await fetch(`${engine.url}/healthz`)).status).toBe(200);
      await expectDrainedWithoutLeftovers(db, pool);
    } finally {
      await db.end();
    }
  }, 300_000);
});
