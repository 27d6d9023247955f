// Measures the containerd driver with the tiny test image, for runc and gVisor:
//   - create → running latency (create() resolved) and → agent answering, one at a time;
//   - remove latency, one at a time;
//   - sustained create rate and remove rate with 4 in flight (what pool refill sees);
// and, for reference, `ctr run -d` of the same image with 4 in flight (one process per create).
// Prints a table and a JSON line. Run as root: node_modules/.bin/tsx engine/runtime/testing/bench.ts
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ContainerdRuntime } from '../containerd';
import type { IsolationRuntime, SandboxSpec } from '../types';
import { waitForAgent } from './agent-client';
import { ensureTestImage } from './image';
import { percentile } from '../../../bench/stats';

const execFileAsync = promisify(execFile);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 10);
const SUSTAINED = Number(process.env.BENCH_SUSTAINED ?? 24);
const CONCURRENCY = 4;

const runtime = new ContainerdRuntime();
const work = mkdtempSync(join(tmpdir(), 'sandpool-bench-'));
const run = Math.random().toString(36).slice(2, 8);

function spec(isolation: IsolationRuntime, image: string, name: string): SandboxSpec {
  const id = `bench-${run}-${name}`;
  return { id, poolId: 'bench', image, runtime: isolation, cpuMillicores: 500, memoryMiB: 128, pidsLimit: 64, dataSizeMiB: 16, network: 'none', agentSocketDir: join(work, id) };
}

async function timed<T>(body: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await body();
  return performance.now() - started;
}

/** Runs `count` jobs with at most `concurrency` in flight; returns jobs per second. */
async function rate(count: number, concurrency: number, job: (index: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await job(next++);
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

async function benchRuntime(isolation: IsolationRuntime, image: string) {
  const tag = isolation === 'GVISOR' ? 'gv' : 'rc';
  // Warm-up: the first create writes the gVisor wrapper and reads the image config.
  const warm = spec(isolation, image, `${tag}-warm`);
  await runtime.create(warm);
  await runtime.remove(warm.id);

  const create: number[] = [];
  const ready: number[] = [];
  const remove: number[] = [];
  for (let index = 0; index < SEQUENTIAL; index++) {
    // Zero-padded: runsc matches container ids by prefix, so no id may be a prefix of another.
    const sandbox = spec(isolation, image, `${tag}-seq${String(index).padStart(3, '0')}`);
    const started = performance.now();
    await runtime.create(sandbox);
    create.push(performance.now() - started);
    await waitForAgent(sandbox.agentSocketDir);
    ready.push(performance.now() - started);
    remove.push(await timed(() => runtime.remove(sandbox.id)));
  }

  const ids: string[] = [];
  const createRate = await rate(SUSTAINED, CONCURRENCY, async (index) => {
    const sandbox = spec(isolation, image, `${tag}-par${String(index).padStart(3, '0')}`);
    await runtime.create(sandbox);
    ids.push(sandbox.id);
  });
  const removeRate = await rate(ids.length, CONCURRENCY, async (index) => runtime.remove(ids[index]!));
  return {
    runtime: isolation,
    createP50: percentile(create, 50),
    createP95: percentile(create, 95),
    readyP50: percentile(ready, 50),
    removeP50: percentile(remove, 50),
    removeP95: percentile(remove, 95),
    createPerSecond: createRate,
    removePerSecond: removeRate,
  };
}

/** The same image through `ctr run -d` (default spec, no hardening), 4 in flight, then `ctr rm`. */
async function benchCtr(image: string) {
  const ids = Array.from({ length: SUSTAINED }, (_, index) => `bench-${run}-ctr${String(index).padStart(3, '0')}`);
  const createRate = await rate(ids.length, CONCURRENCY, async (index) => {
    await execFileAsync('ctr', ['-n', 'sandpool', 'run', '-d', '--null-io', image, ids[index]!, '/bin/sleep', '600']);
  });
  const removeRate = await rate(ids.length, CONCURRENCY, async (index) => {
    await execFileAsync('ctr', ['-n', 'sandpool', 'task', 'rm', '-f', ids[index]!]);
    await execFileAsync('ctr', ['-n', 'sandpool', 'container', 'rm', ids[index]!]);
  });
  return { createPerSecond: createRate, removePerSecond: removeRate };
}

const image = await ensureTestImage();
try {
  const results = [await benchRuntime('RUNC_HARDENED', image), await benchRuntime('GVISOR', image)];
  const ctr = await benchCtr(image);
  const ms = (value: number) => `${value.toFixed(0)} ms`.padStart(8);
  const perSecond = (value: number) => `${value.toFixed(1)}/s`.padStart(8);
  console.log(`\ncontainerd driver, tiny image, ${SEQUENTIAL} sequential + ${SUSTAINED} at concurrency ${CONCURRENCY}`);
  console.log('runtime          create p50  create p95  agent p50  remove p50  remove p95  creates   removes');
  for (const result of results) {
    console.log(
      `${result.runtime.padEnd(15)} ${ms(result.createP50)}    ${ms(result.createP95)}  ${ms(result.readyP50)}   ${ms(result.removeP50)}    ${ms(result.removeP95)}  ${perSecond(result.createPerSecond)}  ${perSecond(result.removePerSecond)}`,
    );
  }
  console.log(`ctr run -d (runc, default spec)                                                   ${perSecond(ctr.createPerSecond)}  ${perSecond(ctr.removePerSecond)}`);
  console.log(JSON.stringify({ bench: 'runtime-containerd', sequential: SEQUENTIAL, sustained: SUSTAINED, concurrency: CONCURRENCY, results, ctr }));
} finally {
  runtime.close();
  rmSync(work, { recursive: true, force: true });
}
