// One engine per database. Two engines on one database would both start and remove sandboxes
// for every pool and fight over them (seen when two were started by mistake: pools never
// settled). The engine holds a Postgres session-level advisory lock on a connection of its
// own for as long as it runs; a second engine is refused at start with who holds it.
import pg from 'pg';

/** The lock's key: any fixed number; hashtext keeps it readable in pg_locks queries. */
const LOCK_KEY_SQL = "hashtext('sandpool-engine')";
const APPLICATION_NAME = 'sandpool-engine';

export class EngineAlreadyRunningError extends Error {
  constructor(holder: string) {
    super(
      `Another Sandpool engine is already running against this database (${holder}). Two engines would both start and remove sandboxes for every pool. Stop the other engine first (sandpool stop), or give this one a database of its own.`,
    );
    this.name = 'EngineAlreadyRunningError';
  }
}

export class EngineLock {
  private client: pg.Client | undefined;
  private released = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: (message: string) => void,
  ) {}

  /** Takes the lock, or throws EngineAlreadyRunningError naming the holder. */
  async acquire(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: APPLICATION_NAME });
    await client.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY_SQL}) AS locked`);
      if (!rows[0]!.locked) throw new EngineAlreadyRunningError(await this.describeHolder(client));
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    // The lock lives as long as this connection. If Postgres restarts, it is gone: take it
    // again once Postgres is back (another engine may have started meanwhile; then say so).
    client.on('error', () => undefined);
    client.on('end', () => void this.retake());
    this.client = client;
  }

  private async describeHolder(client: pg.Client): Promise<string> {
    const { rows } = await client.query<{ pid: number; address: string | null; since: string }>(
      `SELECT a.pid, host(a.client_addr) AS address, to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ') AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.objid::bigint = (${LOCK_KEY_SQL})::bigint & 4294967295 LIMIT 1`,
    );
    const holder = rows[0];
    return holder ? `its database connection is Postgres backend ${holder.pid}, from ${holder.address ?? 'a local socket'}, since ${holder.since}` : 'it has just stopped; try again';
  }

  private async retake(): Promise<void> {
    this.client = undefined;
    const nextDelay = (delayMs: number) => Math.min(delayMs * 2, 10_000);
    for (let delayMs = 500; !this.released; delayMs = nextDelay(delayMs)) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (this.released) return;
      try {
        await this.acquire();
        this.log('engine lock taken again after the database connection was lost');
        return;
      } catch (error) {
        this.log(`could not take the engine lock again (${error instanceof Error ? error.message : String(error)}); retrying in ${nextDelay(delayMs) / 1000} s`);
      }
    }
  }

  async release(): Promise<void> {
    this.released = true;
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
    }
  }
}
