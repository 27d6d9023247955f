// The engine's own connection pool. The request path runs a handful of hand-written SQL
// statements per call, so it uses node-postgres directly: no ORM layer between a caller and
// the one statement that hands them a sandbox.
import pg from 'pg';

export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

const DATABASE_POOL_SIZE = 16;
/** Connections opened at start, so the first burst of requests does not open them itself. */
const WARM_CONNECTIONS = 8;

/**
 * Opens WARM_CONNECTIONS connections now; they stay in the pool (see idleTimeoutMillis). A burst
 * of 24 new identifiers at concurrency 8 right after start took 1.3 s when it had to open its
 * connections itself, 0.84 s with them already open.
 */
export async function warmDatabasePool(pool: pg.Pool): Promise<void> {
  const clients = await Promise.all(Array.from({ length: WARM_CONNECTIONS }, () => pool.connect()));
  for (const client of clients) client.release();
}

/**
 * `waitForDisk: false` gives connections whose commits return before the WAL reaches the disk:
 * for writes whose loss in a Postgres crash (the last fraction of a second) is harmless, such
 * as a session's idle timer, it takes most of a write's cost off the request path.
 */
export function createDatabasePool(databaseUrl: string, options: { waitForDisk?: boolean } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: DATABASE_POOL_SIZE,
    // Idle connections are cheap for Postgres and dear to reopen in a burst (a backend start and a
    // SCRAM exchange each, on both sides, while requests wait): keep them for ten minutes.
    idleTimeoutMillis: 600_000,
    connectionTimeoutMillis: 5_000,
    // Prisma stores timestamps as UTC without a zone; SQL's now() must agree.
    options: `-c TimeZone=UTC${options.waitForDisk === false ? ' -c synchronous_commit=off' : ''}`,
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

// Postgres SQLSTATE classes and socket errors that mean "the server is not there right now",
// as opposed to a bad query: 08 (connection exception), 57P01–57P03 (shutting down, starting).
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03']);
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Can't reach database server/i;

/**
 * True when `error` (or anything in its cause chain, as Prisma wraps driver errors) says the
 * database is unreachable, so callers can answer 503 "retry" instead of a bare 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 6; current = (current as { cause?: unknown }).cause, depth += 1) {
    if (typeof current !== 'object') return false;
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
  }
  return false;
}
