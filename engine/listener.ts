// One Postgres connection that LISTENs for the notifications the engine cares about, and
// reconnects (with backoff) when Postgres restarts. Missed notifications are harmless: the
// reconciler's periodic pass and the event log's replay cover the gap.
import pg from 'pg';

export type NotificationHandler = (payload: string) => void;

export class PostgresListener {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly connectionHandlers = new Set<(listening: boolean) => void>();
  private stopped = false;
  private retryMs = 250;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: (message: string) => void,
  ) {}

  on(channel: string, handler: NotificationHandler): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      void this.client?.query(`LISTEN ${pg.escapeIdentifier(channel)}`).catch(() => undefined);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  /**
   * Called with false when the connection drops (notifications may be missed from then on)
   * and with true once it listens again: whoever caches what notifications invalidate must
   * stop trusting the cache in between.
   */
  onConnectionChange(handler: (listening: boolean) => void): () => void {
    this.connectionHandlers.add(handler);
    return () => this.connectionHandlers.delete(handler);
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    client.on('notification', (message) => {
      for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? '');
    });
    client.on('error', (error) => this.reconnect(`listener connection failed: ${error.message}`));
    client.on('end', () => this.reconnect('listener connection ended'));
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    this.client = client;
    this.retryMs = 250;
    for (const handler of this.connectionHandlers) handler(true);
  }

  private reconnect(reason: string): void {
    if (this.stopped || !this.client) return;
    this.client = undefined;
    for (const handler of this.connectionHandlers) handler(false);
    this.log(`${reason}; reconnecting`);
    const attempt = () => {
      if (this.stopped) return;
      this.start().catch(() => {
        this.retryMs = Math.min(this.retryMs * 2, 5000);
        setTimeout(attempt, this.retryMs);
      });
    };
    setTimeout(attempt, this.retryMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => undefined);
  }
}
