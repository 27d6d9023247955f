import type { Queryable } from './db';

/** This installation's id (see the `installation` table, created by the migrations). */
export async function installationId(db: Queryable): Promise<string> {
  const result = await db.query<{ id: string }>('SELECT id FROM installation ORDER BY created_at LIMIT 1');
  const id = result.rows[0]?.id;
  if (!id) throw new Error('The installation table is empty: the database was not migrated by Sandpool. Run `npx sandpool db migrate`.');
  return id;
}
