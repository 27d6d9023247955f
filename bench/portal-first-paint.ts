// First paint of the portal's pool pages as an operator sees it: the production build under
// `next start`, a database holding 20 pools and 500 sessions, and Debian's Chromium signed in as
// an Owner. For the pool list, one pool's page and, as the floor, the Account page, it loads
// each page repeatedly (one tab, warm browser cache, a second's pause between loads, as an
// operator clicking around) and reports First Contentful Paint and the server's response time
// (navigation timing's responseStart). Prints a table and a JSON line. Run it on a quiet machine, after a build:
//
//   npx next build   # or `npm start` once; this script never builds
//   . /tmp/yourenv && node --import ./bin/register.mjs bench/portal-first-paint.ts [--loads=20]
//
// The database is its own: created on the Postgres of DATABASE_URL (or the embedded one when
// unset), migrated, seeded, and dropped at the end. No engine runs: the seeded sessions stay
// where they were put, so every load renders the same data.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from '@playwright/test';
import { repoRoot } from '../cli/paths';
import { startProcess, waitForHealthy, type ManagedProcess } from '../cli/processes';
import { createDatabase, dropDatabase, ensurePostgres } from '../cli/provision/postgres';
import { applyMigrations } from '../cli/provision/prisma';
import { CHROMIUM_LAUNCH_OPTIONS } from '../e2e/chromium';
import { sandpool, signIn } from '../e2e/fixtures';
import { spread, type Spread } from './stats';

const POOLS = 20;
const SESSIONS_PER_POOL = 25; // 500 in all
/**
 * Each pool's 25 sessions by state: most live (the pool page's lanes), some finished (history
 * the queries have to step over), as a pool that has been serving for a while looks.
 */
const SESSION_MIX = { PENDING: 2, READY: 6, ALLOCATED: 10, DELETING: 2, DELETED: 4, FAILED: 1 } as const;
const WARM_UP_LOADS = 3;
/**
 * The pause after each load, as a person reading the page would leave: the page's link
 * prefetches and event stream settle, so one load's follow-up work is not timed into the next.
 */
const SETTLE_MS = 1_000;
const loadsArgument = process.argv.find((argument) => argument.startsWith('--loads='));
const LOADS = loadsArgument ? Number(loadsArgument.split('=')[1]) : 20;
const DATABASE_NAME = 'sandpool_bench_first_paint';
const OPERATOR = { email: 'operator@bench.sandpool.test', password: 'bench operator password' };

/** Long runs say what they are doing (on stderr, so stdout stays the table and the JSON line). */
function progress(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

function fail(problem: string, fix: string): never {
  console.error(`Error: ${problem}\nHow to fix: ${fix}`);
  process.exit(1);
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** 20 pools through the pool service, then each pool's sessions through the engine's own state writes. */
async function seed(databaseUrl: string): Promise<string[]> {
  // Imported only now: both read DATABASE_URL when first used.
  const { HOST_OPERATOR } = await import('../lib/auth/access');
  const { createPool } = await import('../lib/services/pools');
  const { createDatabasePool } = await import('../engine/db');
  const { allocateSession, insertPendingSession, transitionSession } = await import('../engine/sessions/store');
  const { newId } = await import('../lib/ids');
  const names: string[] = [];
  const engineDb = createDatabasePool(databaseUrl);
  try {
    for (let index = 0; index < POOLS; index += 1) {
      const name = `bench${String(index).padStart(2, '0')}`;
      const pool = await createPool(HOST_OPERATOR, {
        name,
        isolation: index % 2 === 0 ? 'runc' : 'gVisor',
        maxConcurrentSessions: 20,
        readySessionInstances: SESSION_MIX.READY,
        cooldownPeriodInSeconds: 300,
        cpu: 0.5,
        memoryGi: 1,
      });
      names.push(pool.name);
      const runtime = pool.isolation === 'gVisor' ? 'GVISOR' : 'RUNC_HARDENED';
      const moves: [number, (id: string) => Promise<unknown>][] = [
        [SESSION_MIX.PENDING, async () => {}],
        [SESSION_MIX.READY, (id) => transitionSession(engineDb, id, ['PENDING'], 'READY', 'agent answered')],
        [SESSION_MIX.ALLOCATED, async (id) => {
          await transitionSession(engineDb, id, ['PENDING'], 'READY', 'agent answered');
          await allocateSession(engineDb, { poolId: pool.id, identifier: `bench-${id}`, cooldownSeconds: 300, maxConcurrentSessions: pool.maxConcurrentSessions });
        }],
        [SESSION_MIX.DELETING, async (id) => {
          await transitionSession(engineDb, id, ['PENDING'], 'READY', 'agent answered');
          await transitionSession(engineDb, id, ['READY'], 'DELETING', 'pool changed');
        }],
        [SESSION_MIX.DELETED, async (id) => {
          await transitionSession(engineDb, id, ['PENDING'], 'READY', 'agent answered');
          await transitionSession(engineDb, id, ['READY'], 'DELETING', 'cooldown ended');
          await transitionSession(engineDb, id, ['DELETING'], 'DELETED', 'sandbox removed');
        }],
        [SESSION_MIX.FAILED, (id) => transitionSession(engineDb, id, ['PENDING'], 'FAILED', 'agent did not answer in time')],
      ];
      for (const [count, move] of moves) {
        for (let made = 0; made < count; made += 1) {
          // Sessions are created in order, so each allocation claims the session just made ready.
          const id = newId('ses');
          await insertPendingSession(engineDb, { id, poolId: pool.id, generation: pool.generation, runtime, image: 'sandpool/code-interpreter:bench' });
          await move(id);
        }
      }
    }
  } finally {
    await engineDb.end();
    const { db } = await import('../lib/db');
    await db().$disconnect();
  }
  return names;
}

type LoadTiming = { fcp: number; responseStart: number; scriptKiB: number };

/** One full navigation, then the new document's paint and navigation timing. */
async function load(page: Page, url: string): Promise<LoadTiming> {
  const response = await page.goto(url, { waitUntil: 'load' });
  if (response?.status() !== 200) throw new Error(`${url} answered ${response?.status()}; expected 200`);
  if (!new URL(page.url()).pathname.startsWith(new URL(url).pathname)) throw new Error(`${url} ended at ${page.url()}: the sign-in did not hold`);
  return page.evaluate(
    () =>
      new Promise<LoadTiming>((resolve, reject) => {
        const timeout = setTimeout(() => reject(new Error('No first-contentful-paint entry within 10 s')), 10_000);
        new PerformanceObserver((entries, observer) => {
          const paint = entries.getEntriesByName('first-contentful-paint')[0];
          if (!paint) return;
          observer.disconnect();
          clearTimeout(timeout);
          const navigation = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
          const scripts = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter((entry) => entry.initiatorType === 'script');
          resolve({ fcp: paint.startTime, responseStart: navigation.responseStart, scriptKiB: scripts.reduce((sum, entry) => sum + entry.decodedBodySize, 0) / 1024 });
        }).observe({ type: 'paint', buffered: true });
      }),
  );
}

type PageResult = { path: string; loads: number; fcpMs: Spread; responseStartMs: Spread; scriptKiB: number };

/** Measures `path` after checking, once, that it shows what was seeded (`testId` elements, `expected` of them). */
async function measure(page: Page, baseUrl: string, path: string, shown: { testId: string; expected: number }): Promise<PageResult> {
  for (let index = 0; index < WARM_UP_LOADS; index += 1) await load(page, baseUrl + path);
  const count = await page.getByTestId(shown.testId).count();
  if (count !== shown.expected) throw new Error(`${path} shows ${count} ${shown.testId} elements; the seed should give ${shown.expected}`);
  const timings: LoadTiming[] = [];
  for (let index = 0; index < LOADS; index += 1) {
    await page.waitForTimeout(SETTLE_MS);
    timings.push(await load(page, baseUrl + path));
  }
  return {
    path,
    loads: LOADS,
    fcpMs: spread(timings.map((timing) => timing.fcp)),
    responseStartMs: spread(timings.map((timing) => timing.responseStart)),
    scriptKiB: Math.round(timings.at(-1)!.scriptKiB),
  };
}

async function main() {
  if (!Number.isInteger(LOADS) || LOADS < 1) fail(`--loads must be a whole number of at least 1, not "${loadsArgument}".`, 'Pass for example --loads=20.');
  const buildIdFile = join(repoRoot, '.next', 'BUILD_ID');
  if (!existsSync(buildIdFile)) {
    fail('There is no production build of the portal in .next/ (no .next/BUILD_ID).', 'Build it with `npx next build` (or run `npm start` once, which builds it), then run this benchmark again.');
  }
  const build = { id: readFileSync(buildIdFile, 'utf8').trim(), builtAt: statSync(buildIdFile).mtime.toISOString() };
  progress(`production build ${build.id} from ${build.builtAt} (this script does not rebuild; rebuild after changing the portal)`);
  const loadBefore = loadavg()[0]!;
  if (loadBefore > 0.5) progress(`warning: the 1-minute load average is ${loadBefore.toFixed(2)}; the numbers will include that noise`);

  process.env.AUTH_SECRET ??= randomBytes(48).toString('base64url');
  const server = await ensurePostgres(progress);
  const databaseUrl = await createDatabase(server.databaseUrl, DATABASE_NAME);
  process.env.DATABASE_URL = databaseUrl;
  let portal: ManagedProcess | undefined;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  try {
    await applyMigrations(databaseUrl, progress);
    progress(`seeding ${POOLS} pools and ${POOLS * SESSIONS_PER_POOL} sessions into ${DATABASE_NAME}`);
    const poolNames = await seed(databaseUrl);
    await sandpool('user', 'create', '--email', OPERATOR.email, '--password', OPERATOR.password, '--role', 'Owner', '--scope', '/');

    const port = await freeLoopbackPort();
    const baseUrl = `http://127.0.0.1:${port}`;
    portal = startProcess('portal', join(repoRoot, 'node_modules/.bin/next'), ['start', '--port', String(port), '--hostname', '127.0.0.1'], {
      ...process.env,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      SANDPOOL_PUBLIC_URL: baseUrl,
    }, { quiet: true });
    await waitForHealthy(portal, `${baseUrl}/api/health`);
    progress(`portal (next start) at ${baseUrl}`);

    browser = await chromium.launch(CHROMIUM_LAUNCH_OPTIONS);
    const context = await browser.newContext({ baseURL: baseUrl });
    const page = await context.newPage();
    await signIn(page, OPERATOR.email, OPERATOR.password);
    const poolPath = `/pools/${poolNames[0]}`;
    const liveSessions = SESSION_MIX.PENDING + SESSION_MIX.READY + SESSION_MIX.ALLOCATED + SESSION_MIX.DELETING;
    const results = [
      await measure(page, baseUrl, '/pools', { testId: 'pool-row', expected: POOLS }),
      await measure(page, baseUrl, poolPath, { testId: 'lane-session', expected: liveSessions }),
      // The floor: a page with the same shell and session check but no pool data. What the
      // pool pages add is their difference from this row.
      await measure(page, baseUrl, '/account', { testId: 'signed-in-as', expected: 1 }),
    ];

    const header = ['page', 'loads', 'FCP p50', 'FCP min', 'FCP max', 'response p50', 'response min', 'response max', 'JS KiB'];
    const rows = results.map((result) => [
      result.path,
      String(result.loads),
      ...[result.fcpMs, result.responseStartMs].flatMap((timing) => [timing.p50, timing.min, timing.max].map((value) => `${value.toFixed(1)} ms`)),
      String(result.scriptKiB),
    ]);
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    for (const row of [header, ...rows]) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
    console.log(
      JSON.stringify({
        bench: 'portal-first-paint',
        at: new Date().toISOString(),
        build,
        seeded: { pools: POOLS, sessions: POOLS * SESSIONS_PER_POOL, mix: SESSION_MIX },
        loadAverage: { before: Number(loadBefore.toFixed(2)), after: Number(loadavg()[0]!.toFixed(2)) },
        results,
      }),
    );
  } finally {
    await browser?.close();
    await portal?.stop();
    await dropDatabase(server.databaseUrl, DATABASE_NAME);
    await server.stop();
  }
}

await main();
