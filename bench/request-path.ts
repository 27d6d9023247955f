// The data plane's request path, step by step: the agent alone, each check the engine makes
// before and after it, and the whole round trip over HTTP (warm identifier, and a new
// identifier's first request). Prints a table and a JSON line.
//
//   . /tmp/devenv-or-yours && node --import ./bin/register.mjs bench/request-path.ts [--samples=N] [--cpu=2]
//
// It runs an engine in this process against DATABASE_URL and containerd (like the engine tests),
// on a runc pool of its own that it deletes afterwards. The HTTP client is node:http with a
// keep-alive agent, so the numbers are the engine's and not a client's connection setup.
import { readFileSync } from 'node:fs';
import { HOST_OPERATOR } from '../lib/auth/access';
import { deletePool } from '../lib/services/pools';
import { verifyAccessToken } from '../lib/tokens/access-token';
import { DATA_PLANE_AUDIENCE } from '../lib/tokens/audiences';
import { loadPoolByName } from '../engine/pools';
import { touchByIdentifier } from '../engine/sessions/store';
import { poolWithReady, startTestEngine, waitFor } from '../engine/testing/harness';
import { codeExecuteBody, codeExecuteUrl, keepAliveClient } from './http';
import { percentile } from './stats';

const samplesArgument = process.argv.find((argument) => argument.startsWith('--samples='));
const SAMPLES = samplesArgument ? Number(samplesArgument.split('=')[1]) : 500;
// --cpu=N: the pool's cores (default: a new pool's 0.5). Back to back, a request costs the
// sandbox more CPU than wall time, so a 0.5-core sandbox spends part of every CFS period throttled.
const cpuArgument = process.argv.find((argument) => argument.startsWith('--cpu='));
const POOL_CPU = cpuArgument ? Number(cpuArgument.split('=')[1]) : undefined;
const NEW_IDENTIFIERS = 20;
/** The pause between paced requests: an agent or a person reads each reply before the next cell. */
const PACE_MS = 20;

const results: Record<string, { n: number; p50: number; p99: number }> = {};
function report(label: string, samples: number[]): void {
  results[label] = { n: samples.length, p50: Number(percentile(samples, 50).toFixed(3)), p99: Number(percentile(samples, 99).toFixed(3)) };
  console.log(`  ${label.padEnd(52)} p50 ${percentile(samples, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(samples, 99).toFixed(2).padStart(7)} ms   (n=${samples.length})`);
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const startedAt = performance.now();
  await work();
  return performance.now() - startedAt;
}

/** `count` sequential samples; with `gapMs`, a pause between them, as a client that reads each reply before sending the next. */
async function measure(label: string, count: number, work: () => Promise<unknown>, gapMs = 0): Promise<void> {
  const samples: number[] = [];
  for (let index = 0; index < count; index += 1) {
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    samples.push(await timed(work));
  }
  report(label, samples);
}

/** CPU the sandbox (agent, kernel and their threads) used, from its cgroup, in ms. */
function sandboxCpuMs(sessionId: string): number {
  return Number(readFileSync(`/sys/fs/cgroup/cpuacct/sandpool/${sessionId}/cpuacct.usage`, 'utf8')) / 1e6;
}

// One connection: a single caller sending back to back.
const send = keepAliveClient(1);
const post = (url: string, token: string, body: unknown) => send(url, token, body);

async function main() {
  const engine = await startTestEngine();
  const pool = await poolWithReady(engine, { isolation: 'runc', readySessionInstances: 4, maxConcurrentSessions: NEW_IDENTIFIERS + 5, cooldownPeriodInSeconds: 3600, memoryGi: 0.5, ...(POOL_CPU ? { cpu: POOL_CPU } : {}) });
  const legacyUrl = (identifier: string) => codeExecuteUrl(engine.url, pool.endpoint, identifier);
  const executionsUrl = (identifier: string) => `${engine.url}${pool.endpoint}/executions?api-version=2025-10-02-preview&identifier=${identifier}`;
  const print1 = codeExecuteBody('print(1)');
  const check = (response: { status: number; body: string }) => {
    if (response.status !== 200 || !response.body.includes('"1\\n"')) throw new Error(`unexpected response ${response.status}: ${response.body}`);
  };

  const first = await post(legacyUrl('warm-1'), pool.token, print1);
  check(first);
  const sessionId = (await engine.db.query<{ id: string }>(`SELECT id FROM sessions WHERE pool_id = $1 AND identifier = 'warm-1' AND state = 'ALLOCATED'`, [pool.pool.id])).rows[0]!.id;
  for (let index = 0; index < 50; index += 1) check(await post(legacyUrl('warm-1'), pool.token, print1));

  console.log(`\nSandpool request path (${new Date().toISOString()}, runc, ${pool.pool.cpu} cores per sandbox, warm session, sequential)`);
  const agent = engine.sandboxes.agent(sessionId);
  // Back to back, a pool's 0.5-core sandbox is throttled by its CPU quota whenever a request
  // costs more CPU than half its wall time; paced requests show the latency itself.
  const cpuBefore = sandboxCpuMs(sessionId);
  await measure('agent alone: execute print(1), back to back', SAMPLES, () => agent.execute({ code: 'print(1)' }));
  console.log(`  sandbox CPU per execute print(1): ${((sandboxCpuMs(sessionId) - cpuBefore) / SAMPLES).toFixed(2)} ms (agent + kernel, from its cgroup)`);
  await measure(`agent alone: execute print(1), one every ${PACE_MS} ms`, SAMPLES, () => agent.execute({ code: 'print(1)' }), PACE_MS);
  const authorization = `Bearer ${pool.token}`;
  await measure('token + principal, full check (Prisma)', SAMPLES, () => verifyAccessToken(pool.token, DATA_PLANE_AUDIENCE));
  await measure('token + principal, engine cache', SAMPLES, () => engine.dataPlane.access.authenticate(authorization));
  await measure('pool by name, Postgres', SAMPLES, () => loadPoolByName(engine.db, pool.pool.name));
  await measure('pool by name, engine cache', SAMPLES, () => engine.dataPlane.access.pool(pool.pool.name));
  const touch = { poolId: pool.pool.id, identifier: 'warm-1', cooldownSeconds: 3600 };
  await measure('session touch, durable commit', SAMPLES, () => touchByIdentifier(engine.db, touch));
  await measure('session touch, commit without waiting for disk', SAMPLES, () => touchByIdentifier(engine.dataPlane.relaxedDb, touch));
  await measure('HTTP GET /healthz (the HTTP floor: no auth, no database)', SAMPLES, () => send(`${engine.url}/healthz`, pool.token));
  await measure('HTTP GET /session (auth + one touch, no agent)', SAMPLES, () => send(`${engine.url}${pool.endpoint}/session?identifier=warm-1`, pool.token));
  await measure('HTTP code/execute print(1), warm identifier', SAMPLES, () => post(legacyUrl('warm-1'), pool.token, print1).then(check));
  await measure(`HTTP code/execute print(1), warm, one every ${PACE_MS} ms`, SAMPLES, () => post(legacyUrl('warm-1'), pool.token, print1).then(check), PACE_MS);
  await measure('HTTP /executions print(1), warm identifier', SAMPLES, () => post(executionsUrl('warm-1'), pool.token, { code: 'print(1)' }).then(check));
  const readyCount = async () => (await engine.db.query<{ count: number }>(`SELECT count(*)::int AS count FROM sessions WHERE pool_id = $1 AND state = 'READY'`, [pool.pool.id])).rows[0]!.count;
  const firstRequests: number[] = [];
  for (let index = 0; index < NEW_IDENTIFIERS; index += 1) {
    // One new identifier at a time, each onto a warm sandbox, with the refill caught up in between.
    await waitFor('the pool refilled', async () => (await readyCount()) >= 4);
    firstRequests.push(await timed(async () => check(await post(legacyUrl(`new-${Date.now()}-${index}`), pool.token, print1))));
  }
  report('HTTP code/execute print(1), new identifier', firstRequests);
  console.log(JSON.stringify({ benchmark: 'request-path', at: new Date().toISOString(), results }));

  await deletePool(HOST_OPERATOR, pool.pool.name);
  await waitFor('pool drained', async () => (await engine.db.query('SELECT 1 FROM session_pools WHERE id = $1', [pool.pool.id])).rowCount === 0, 120_000);
  await engine.stop();
  engine.runtime.close();
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
