// The engine's own connection pool. The request path runs a handful of hand-written SQL
// statements per call, so it uses node-postgres directly: no ORM layer between a caller and
// the one statement that hands them a sandbox.
import pg from 'pg';

export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export function createDatabasePool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 16,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    // Prisma stores timestamps as UTC without a zone; SQL's now() must agree.
    options: '-c TimeZone=UTC',
  });
  // A dropped connection (Postgres restarting) must not crash the engine; the next query reconnects.
  pool.on('error', (error) => console.error(`[engine] idle Postgres connection failed: ${error.message}`));
  return pool;
}

export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
