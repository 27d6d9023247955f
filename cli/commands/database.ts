import { prepareRuntime } from '../runtime';
import { createMigration } from '../provision/prisma';
import { step } from '../ui';

export async function migrateCommand(): Promise<void> {
  const runtime = await prepareRuntime();
  await runtime.postgres.stop();
}

export async function newMigrationCommand(name: string): Promise<void> {
  const runtime = await prepareRuntime();
  try {
    const { directory } = await step(`Migration "${name}"`, (progress) => createMigration(name, runtime.databaseUrl, progress));
    console.log(directory ? `Wrote ${directory}/migration.sql — review it, then commit it.` : 'The schema matches the migrations; nothing to do.');
  } finally {
    await runtime.postgres.stop();
  }
}
