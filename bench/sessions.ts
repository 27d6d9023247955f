// Session benchmarks through the real path: HTTP data plane, bearer token, engine, containerd,
// code-interpreter image. Prints a table and a JSON line. Run on an idle machine:
//
//   node --import ./bin/register.mjs bench/sessions.ts [--quick] [--isolation=runc,gVisor] [--preload=numpy|none]
//
// It uses (and starts if needed) the operator installation's Postgres in .sandpool/, runs the
// engine as a process of its own (engine/main.ts, as `npm start` does), creates its own pools, and
// deletes them afterwards. Bursts of new identifiers also report the CPU each part spent per
// request (bench/cpu.ts): on two cores shared by everything, that is what bounds their latency.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { prepareRuntime } from '../cli/runtime';
import { HOST_OPERATOR } from '../lib/auth/access';
import { deletePool, updatePool } from '../lib/services/pools';
import { createDatabasePool } from '../engine/db';
import { ensureCodeInterpreterImage } from '../engine/images/code-interpreter';
import { freePort, startEngineProcess, stopEngineProcess } from '../engine/testing/engine-process';
import { countByState, poolWithReady, waitFor } from '../engine/testing/harness';
import { cpuSnapshot, cpuSpent } from './cpu';
import { codeExecuteBody, codeExecuteUrl, keepAliveClient, type Send } from './http';
import { percentile } from './stats';

const run = promisify(execFile);
const quick = process.argv.includes('--quick');
// --isolation runc,gVisor (default both): gVisor sandboxes take seconds each to start here, so a
// full gVisor run takes many minutes.
const isolationArgument = process.argv.find((argument) => argument.startsWith('--isolation='));
const isolations = isolationArgument ? isolationArgument.split('=')[1]!.split(',') : ['runc', 'gVisor'];
// --preload=numpy or --preload=none: what SANDPOOL_PRELOAD would set (default: the image's list).
const preloadArgument = process.argv.find((argument) => argument.startsWith('--preload='))?.split('=')[1];

/** The phases of a Server-Timing header ("auth;dur=0.2, session;dur=3.1;desc=…") as [name, ms]. */
function serverTimings(header: string): [string, number][] {
  return header.split(',').flatMap((entry) => {
    const [name, ...parameters] = entry.trim().split(';');
    const duration = parameters.find((parameter) => parameter.startsWith('dur='));
    return name && duration ? [[name, Number(duration.slice(4))] as [string, number]] : [];
  });
}

function summary(samples: number[]) {
  return { n: samples.length, p50: Number(percentile(samples, 50).toFixed(2)), p99: Number(percentile(samples, 99).toFixed(2)) };
}

/** print(1) for `identifier`; throws unless it printed 1. Returns the reply's Server-Timing phases. */
async function print1(send: Send, url: string, pool: { endpoint: string; token: string }, identifier: string): Promise<[string, number][]> {
  const response = await send(codeExecuteUrl(url, pool.endpoint, identifier), pool.token, codeExecuteBody('print(1)'));
  const stdout = response.status === 200 ? (JSON.parse(response.body) as { properties?: { stdout?: string } }).properties?.stdout : undefined;
  if (stdout !== '1\n') throw new Error(`unexpected response ${response.status}: ${response.body}`);
  return serverTimings(String(response.headers['server-timing'] ?? ''));
}

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await work();
  return [performance.now() - started, value];
}

function memAvailableMiB(): number {
  const line = readFileSync('/proc/meminfo', 'utf8').split('\n').find((entry) => entry.startsWith('MemAvailable:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** Long runs say what they are doing (on stderr, so stdout stays the table and the JSON line). */
function progress(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function main() {
  const env = await prepareRuntime({ quiet: true });
  const image = (await ensureCodeInterpreterImage((message) => console.error(`image: ${message}`))).reference;
  // The engine runs as its own process, as `npm start` runs it: in this process its event loop
  // would also carry the bench's HTTP client, and every reply would wait for the other's work.
  const engineProcess = await startEngineProcess(await freePort(), image, {
    DATABASE_URL: env.databaseUrl,
    SANDPOOL_RUN_DIR: '/run/sandpool-bench',
    SANDBOX_PIDS_LIMIT: '256',
    SANDBOX_DATA_MIB: '256',
    ...(preloadArgument === undefined ? {} : { SANDPOOL_PRELOAD: preloadArgument }),
  });
  const { url } = engineProcess;
  const send = keepAliveClient(32);
  const engineDatabase = { db: createDatabasePool(env.databaseUrl) };
  const results: Record<string, unknown> = {};
  const rows: string[] = [];

  // Baseline: a cold `ctr run` of the same image, in the same run.
  for (const isolation of isolations) {
    const samples: number[] = [];
    for (let index = 0; index < (quick ? 2 : 5); index += 1) {
      const id = `bench-cold-${Date.now().toString(36)}-${index}`;
      const args = ['-n', 'sandpool', 'run', '--rm', ...(isolation === 'gVisor' ? ['--runc-binary', '/var/lib/sandpool/bin/runsc-sandpool'] : []), image, id, 'python3', '-c', 'print(1)'];
      const [ms] = await timed(() => run('ctr', args, { timeout: 60_000 }));
      samples.push(ms);
    }
    results[`coldCtrRun_${isolation}`] = summary(samples);
    progress(`cold ctr run (${isolation}) measured`);
    rows.push(`cold ctr run (${isolation})              p50 ${percentile(samples, 50).toFixed(0)} ms`);
  }

  for (const isolation of isolations) {
    // Refill: from an empty pool to 20 ready sessions.
    const refillTarget = quick ? 6 : 20;
    progress(`${isolation}: refilling an empty pool to ${refillTarget} ready`);
    const started = performance.now();
    const pool = await poolWithReady(engineDatabase, { isolation, readySessionInstances: refillTarget, maxConcurrentSessions: 100, cooldownPeriodInSeconds: 3600 });
    const refillSeconds = (performance.now() - started) / 1000;
    results[`refill_${isolation}`] = { sessions: refillTarget, seconds: Number(refillSeconds.toFixed(2)), perSecond: Number((refillTarget / refillSeconds).toFixed(2)) };
    rows.push(`refill 0→${refillTarget} ready (${isolation})          ${(refillTarget / refillSeconds).toFixed(2)} sessions/s`);

    // New identifier → first print(1) result, with enough ready sandboxes for each wave.
    for (const concurrency of quick ? [1, 8] : [1, 8, 32]) {
      const requests = concurrency === 1 ? 10 : concurrency === 8 ? 24 : 32;
      progress(`${isolation}: ${requests} new identifiers at concurrency ${concurrency}`);
      await updatePool(HOST_OPERATOR, pool.pool.name, { readySessionInstances: Math.min(100, requests) });
      await waitFor('ready sessions', async () => ((await countByState(engineDatabase, pool.pool.id)).READY ?? 0) >= requests, 300_000);
      const samples: number[] = [];
      const phases: Record<string, number[]> = {};
      let next = 0;
      const cpuBefore = cpuSnapshot(engineProcess.child.pid!);
      const worker = async () => {
        while (next < requests) {
          const identifier = `bench-${isolation}-${concurrency}-${next++}-${Date.now()}`;
          const [ms, timings] = await timed(() => print1(send, url, pool, identifier));
          samples.push(ms);
          for (const [phase, phaseMs] of timings) (phases[phase] ??= []).push(phaseMs);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, worker));
      const cpuPerRequest = cpuSpent(cpuBefore, cpuSnapshot(engineProcess.child.pid!), requests);
      results[`newIdentifier_${isolation}_c${concurrency}`] = {
        ...summary(samples),
        serverTimingP50: Object.fromEntries(Object.entries(phases).map(([phase, values]) => [phase, Number(percentile(values, 50).toFixed(2))])),
        cpuMsPerRequest: cpuPerRequest,
      };
      const split = Object.entries(phases).map(([phase, values]) => `${phase} ${percentile(values, 50).toFixed(1)}`).join(', ');
      const cpu = Object.entries(cpuPerRequest).map(([part, ms]) => `${part} ${ms}`).join(', ');
      rows.push(`new identifier → print(1) (${isolation}, c=${concurrency})  p50 ${percentile(samples, 50).toFixed(1)} ms  p99 ${percentile(samples, 99).toFixed(1)} ms  (n=${samples.length}; engine's p50 split: ${split} ms; CPU ms per request: ${cpu})`);
      // Free the cap for the next wave: stop the sessions just used.
      await engineDatabase.db.query(`UPDATE sessions SET last_accessed_at = now() - interval '2 hours' WHERE pool_id = $1 AND state = 'ALLOCATED'`, [pool.pool.id]);
      await updatePool(HOST_OPERATOR, pool.pool.name, { cooldownPeriodInSeconds: 10 });
      await waitFor('allocated sessions expired', async () => ((await countByState(engineDatabase, pool.pool.id)).ALLOCATED ?? 0) === 0, 120_000);
      await updatePool(HOST_OPERATOR, pool.pool.name, { cooldownPeriodInSeconds: 3600 });
    }

    progress(`${isolation}: warm round trips`);
    // Warm round trip: the same identifier, sequentially, once the pool has refilled (a refill
    // running behind it measures the refill's CPU, not the request path).
    await updatePool(HOST_OPERATOR, pool.pool.name, { readySessionInstances: refillTarget });
    await waitFor('the pool settled', async () => {
      const counts = await countByState(engineDatabase, pool.pool.id);
      return (counts.READY ?? 0) >= refillTarget && (counts.PENDING ?? 0) === 0;
    }, 300_000);
    const warm: number[] = [];
    await print1(send, url, pool, `warm-${isolation}`);
    for (let index = 0; index < (quick ? 50 : 200); index += 1) {
      const [ms] = await timed(() => print1(send, url, pool, `warm-${isolation}`));
      warm.push(ms);
    }
    results[`warm_${isolation}`] = summary(warm);
    rows.push(`warm print(1) round trip (${isolation})      p50 ${percentile(warm, 50).toFixed(2)} ms  p99 ${percentile(warm, 99).toFixed(2)} ms`);

    // Host memory per idle ready session, at 50 ready.
    const idle = quick ? 10 : 50;
    progress(`${isolation}: memory with ${idle} idle ready sessions`);
    await updatePool(HOST_OPERATOR, pool.pool.name, { readySessionInstances: 0 });
    await waitFor('pool emptied', async () => ((await countByState(engineDatabase, pool.pool.id)).READY ?? 0) === 0, 120_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const before = memAvailableMiB();
    await updatePool(HOST_OPERATOR, pool.pool.name, { readySessionInstances: idle });
    await waitFor(`${idle} ready`, async () => ((await countByState(engineDatabase, pool.pool.id)).READY ?? 0) >= idle, 600_000);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const perSession = (before - memAvailableMiB()) / idle;
    results[`memoryPerReadySession_${isolation}`] = { sessions: idle, mib: Number(perSession.toFixed(1)) };
    rows.push(`host memory per idle ready session (${isolation}, ${idle} ready)  ${perSession.toFixed(1)} MiB`);

    await deletePool(HOST_OPERATOR, pool.pool.name);
    await waitFor('pool drained', async () => (await engineDatabase.db.query('SELECT 1 FROM session_pools WHERE id = $1', [pool.pool.id])).rowCount === 0, 300_000);
  }

  await stopEngineProcess(engineProcess);
  await engineDatabase.db.end();
  await env.postgres.stop();
  console.log(`\nSandpool session benchmarks (${new Date().toISOString()}, ${quick ? 'quick' : 'full'})`);
  for (const row of rows) console.log(`  ${row}`);
  console.log(JSON.stringify({ benchmark: 'sessions', at: new Date().toISOString(), quick, preload: preloadArgument ?? 'image default', results }));
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
