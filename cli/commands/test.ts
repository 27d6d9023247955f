// `npm test`: a throwaway Sandpool installation of its own (separate folder, Postgres port and
// web ports), then every suite against the real parts: Postgres, containerd, Chromium.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bold, green, red, step, StepError } from '../ui';

const TEST_PORTS = { portal: 3210, engine: 3211, postgres: '5434' };
export const E2E_OWNER = { email: 'owner@e2e.sandpool.test', password: 'e2e-owner-password-1234' };

/** A test run that was killed can leave its Postgres running on the data we are about to wipe. */
async function stopLeftoverPostgres(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT'); // Postgres "fast shutdown"
  } catch {
    return; // not running
  }
  for (let waited = 0; waited < 15_000; waited += 100) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new StepError(`A Postgres from an earlier test run (pid ${pid}) does not stop.`, `Stop it with \`kill -9 ${pid}\` and run the tests again.`);
}

/** True when something accepts connections on the loopback port. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The installation ids of the test run's databases (read while their Postgres still runs). */
async function installationIds(databaseUrls: string[]): Promise<string[]> {
  const { createDatabasePool } = await import('../../engine/db');
  const { installationId } = await import('../../engine/installation');
  const ids: string[] = [];
  for (const url of databaseUrls) {
    const pool = createDatabasePool(url);
    try {
      ids.push(await installationId(pool));
    } catch (error) {
      console.error(`Could not read the installation id of a test database: ${(error as Error).message}`);
    } finally {
      await pool.end();
    }
  }
  return ids;
}

/**
 * Removes sandboxes the test run's installations still have once every engine has stopped. The
 * next run wipes these databases, so no engine would ever adopt or remove them: they would run
 * on, holding memory, until someone found them with `ctr`. Says so, since a test should have
 * drained its pools.
 */
async function removeLeftoverSandboxes(installations: string[]): Promise<void> {
  const { ContainerdRuntime } = await import('../../engine/runtime/containerd');
  for (const installationId of installations) {
    const runtime = new ContainerdRuntime({ installationId });
    try {
      const leftovers = await runtime.list();
      if (leftovers.length === 0) continue;
      console.log(`\n${red('!')} ${leftovers.length} sandbox(es) of the test installation ${installationId} were still there after the tests (a test did not drain its pools); removing them: ${leftovers.map((sandbox) => `${sandbox.id} (pool ${sandbox.poolId})`).join(', ')}`);
      for (const sandbox of leftovers) await runtime.remove(sandbox.id).catch((error: unknown) => console.error(`Could not remove ${sandbox.id}: ${(error as Error).message}`));
    } catch (error) {
      console.error(`Could not list the test run's sandboxes in containerd: ${(error as Error).message}`);
    } finally {
      runtime.close();
    }
  }
}

function run(title: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    console.log(`\n${bold(`▶ ${title}`)}`);
    const child = spawn(command, args, { stdio: 'inherit', env });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

export async function test(options: { only?: string; spec?: string }): Promise<void> {
  if (options.only && !['unit', 'e2e'].includes(options.only)) {
    throw new StepError(`Unknown suite "${options.only}".`, 'Use --only unit or --only e2e, or leave it out to run everything.');
  }
  const started = performance.now();
  // Not from cli/paths.ts: that module fixes SANDPOOL_HOME when first imported, and it must
  // only be imported once SANDPOOL_HOME points at the test installation.
  const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
  // Everything a test run writes lives here and is wiped first, so every run starts clean and an
  // operator's own installation in .sandpool/ is never touched.
  const testHome = join(repoRoot, '.sandpool', 'test');
  process.env.SANDPOOL_HOME = testHome;
  process.env.SANDPOOL_POSTGRES_PORT = TEST_PORTS.postgres;
  process.env.SANDPOOL_ADMIN_EMAIL = E2E_OWNER.email;
  process.env.SANDPOOL_ADMIN_PASSWORD = E2E_OWNER.password;
  delete process.env.AUTH_SECRET;
  const paths = await import('../paths');
  if (paths.sandpoolHome !== testHome) {
    throw new StepError(`The test run would use ${paths.sandpoolHome} instead of ${testHome}.`, 'This is a bug in cli/commands/test.ts: cli/paths.ts was imported too early.');
  }
  // Another test run in progress would lose its installation (and its Postgres) to this one.
  for (const port of [TEST_PORTS.portal, TEST_PORTS.engine]) {
    if (await portInUse(port)) {
      throw new StepError(
        `Port ${port}, which the test installation's ${port === TEST_PORTS.portal ? 'portal' : 'engine'} uses, is already taken: another test run is probably in progress.`,
        `Wait for it to finish, or stop whatever listens there (\`ss -ltnp 'sport = :${port}'\` shows it), then run the tests again.`,
      );
    }
  }
  await stopLeftoverPostgres(join(testHome, 'postgres'));
  rmSync(testHome, { recursive: true, force: true });
  // The embedded Postgres runs as the `postgres` user, which must be able to traverse .sandpool/
  // to reach the test installation's data folder inside it (owner-only listing, others may pass).
  const parent = join(repoRoot, '.sandpool');
  mkdirSync(parent, { recursive: true, mode: 0o711 });
  chmodSync(parent, 0o711);

  const { ensureChromium } = await import('../provision/chromium');
  const { startStack } = await import('../stack');
  const vitest = join(repoRoot, 'node_modules/.bin/vitest');
  const playwright = join(repoRoot, 'node_modules/.bin/playwright');
  const results: { suite: string; code: number; seconds: number }[] = [];
  const timed = async (suite: string, body: () => Promise<number>) => {
    const suiteStarted = performance.now();
    const code = await body();
    results.push({ suite, code, seconds: (performance.now() - suiteStarted) / 1000 });
  };

  const publicUrl = `http://127.0.0.1:${TEST_PORTS.portal}`;
  const stack = await startStack({ host: '127.0.0.1', portalPort: TEST_PORTS.portal, enginePort: TEST_PORTS.engine, publicUrl, quietChildren: true });
  const databaseUrls = [stack.databaseUrl];
  try {
    const { bootstrapOwner } = await import('../bootstrap');
    await bootstrapOwner();
    const chromium = await step('Chromium for end-to-end tests', (progress) => ensureChromium(progress));
    const env = {
      ...process.env,
      E2E_BASE_URL: publicUrl,
      E2E_ENGINE_URL: stack.engineUrl,
      E2E_OWNER_EMAIL: E2E_OWNER.email,
      E2E_OWNER_PASSWORD: E2E_OWNER.password,
      CHROMIUM_PATH: chromium.executablePath,
    };
    if (options.only !== 'e2e') {
      // Integration tests get a database of their own: some of them reshape installation-wide
      // state (who is Owner) that the end-to-end tests rely on.
      const { createDatabase } = await import('../provision/postgres');
      const { applyMigrations } = await import('../provision/prisma');
      const integrationUrl = await createDatabase(stack.databaseUrl, 'sandpool_integration');
      databaseUrls.push(integrationUrl);
      await step('Integration database', (progress) => applyMigrations(integrationUrl, progress));
      await timed('unit + integration (vitest)', () => run('Unit and integration tests', vitest, ['run'], { ...env, DATABASE_URL: integrationUrl }));
    }
    if (options.only !== 'unit') await timed('end-to-end (playwright)', () => run('End-to-end tests in Chromium', playwright, ['test', ...(options.spec ? [options.spec] : [])], env));
  } finally {
    const installations = await installationIds(databaseUrls);
    await stack.stop();
    await removeLeftoverSandboxes(installations);
  }

  console.log(`\n${bold('Summary')}`);
  for (const result of results) {
    console.log(`  ${result.code === 0 ? green('✓ passed') : red('✗ failed')}  ${result.suite} (${result.seconds.toFixed(1)}s)`);
  }
  console.log(`  total ${((performance.now() - started) / 1000).toFixed(1)}s`);
  if (results.some((result) => result.code !== 0)) throw new StepError('Some tests failed (see above).', 'Fix them and run `npm test` again.');
}
