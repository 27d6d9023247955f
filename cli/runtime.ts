// What every database-backed command needs before it can call the services: secrets, a
// running Postgres, a generated Prisma client and an up-to-date schema.
import { loadOrCreateSecrets } from './secrets';
import { ensurePostgres, type PostgresHandle } from './provision/postgres';
import { applyMigrations, generatePrismaClient } from './provision/prisma';
import { step } from './ui';

export type Runtime = { databaseUrl: string; postgres: PostgresHandle };

export async function prepareRuntime(options: { quiet?: boolean } = {}): Promise<Runtime> {
  const run = options.quiet ? quietStep : step;
  const secrets = loadOrCreateSecrets();
  process.env.AUTH_SECRET = secrets.authSecret;
  const postgres = await run('Postgres', (progress) => ensurePostgres(progress));
  process.env.DATABASE_URL = postgres.databaseUrl;
  await run('Prisma client', (progress) => generatePrismaClient(progress));
  await run('Database migrations', (progress) => applyMigrations(postgres.databaseUrl, progress));
  return { databaseUrl: postgres.databaseUrl, postgres };
}

/** Runs a step without narrating it: operator commands print only their result. */
async function quietStep<T>(_title: string, run: (progress: (detail: string) => void) => Promise<T>): Promise<T> {
  return run(() => {});
}

/** Prepares the runtime quietly, runs `body`, and always releases Postgres if this process started it. */
export async function withRuntime<T>(body: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = await prepareRuntime({ quiet: true });
  try {
    return await body(runtime);
  } finally {
    // Idle pool connections would otherwise keep a one-shot command alive for seconds.
    const { db } = await import('../lib/db');
    await db().$disconnect();
    await runtime.postgres.stop();
  }
}
