import 'server-only';
// The live feed behind the pool page: server-sent events of one pool's session transitions.
// Every transition is a session_events row plus a pg_notify (engine/sessions/store.ts), so a
// stream first replays the rows after the client's Last-Event-ID, then forwards notifications.
// One LISTEN connection per portal process serves every open stream.
import pg from 'pg';
import { SESSION_EVENTS_CHANNEL, type SessionEvent } from '../../engine/sessions/store';
import type { Principal } from '../auth/access';
import { env } from '../env';
import { POOL_CHANGED_CHANNEL } from './pool-events';
import { allocatedIdentifier, getPoolLiveSnapshot, poolEventsAfter, type PoolFeedEvent } from './pool-views';
import { getPool } from './pools';

type Subscriber = {
  poolId: string;
  onSessionEvent: (event: SessionEvent) => void;
  onPoolChanged: () => void;
  /** The connection dropped: notifications may have been missed, so the stream must end. */
  onLost: () => void;
};

/** How the shared connection shows in pg_stat_activity. */
export const FEED_APPLICATION_NAME = 'sandpool-portal-live-feed';

class PoolNotifications {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly subscribers = new Set<Subscriber>();

  /** Resolves once notifications flow; rejects when Postgres cannot be reached. */
  async subscribe(subscriber: Subscriber): Promise<() => void> {
    this.subscribers.add(subscriber);
    try {
      if (!this.client) {
        this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
        await this.connecting;
      }
    } catch (error) {
      this.subscribers.delete(subscriber);
      throw error;
    }
    return () => this.subscribers.delete(subscriber);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: env().DATABASE_URL, application_name: FEED_APPLICATION_NAME });
    client.on('notification', (message) => this.dispatch(message.channel, message.payload ?? ''));
    client.on('error', () => this.drop(client));
    client.on('end', () => this.drop(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${SESSION_EVENTS_CHANNEL}`);
      await client.query(`LISTEN ${POOL_CHANGED_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
  }

  /** Ends every stream; the browsers reconnect, replay what they missed, and reopen the connection. */
  private drop(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    void client.end().catch(() => undefined);
    const lost = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of lost) subscriber.onLost();
  }

  private dispatch(channel: string, payload: string): void {
    if (channel === POOL_CHANGED_CHANNEL) {
      for (const subscriber of this.subscribers) if (subscriber.poolId === payload) subscriber.onPoolChanged();
      return;
    }
    let event: SessionEvent;
    try {
      event = JSON.parse(payload) as SessionEvent;
    } catch {
      return;
    }
    for (const subscriber of this.subscribers) if (subscriber.poolId === event.poolId) subscriber.onSessionEvent(event);
  }
}

const globalForFeed = globalThis as unknown as { sandpoolPoolNotifications?: PoolNotifications };

function poolNotifications(): PoolNotifications {
  globalForFeed.sandpoolPoolNotifications ??= new PoolNotifications();
  return globalForFeed.sandpoolPoolNotifications;
}

const REPLAY_LIMIT = 1000;
const HEARTBEAT_MS = 15_000;
/**
 * Streams end after this long (announced by a `renew` event) and the browser reconnects at
 * once, resuming where it was: roles are checked on every connection, so a viewer whose role
 * was removed stops receiving within this time.
 */
const MAX_STREAM_MS = 5 * 60_000;
const RECONNECT_DELAY_MS = 1_000;

/** The client's position in the feed: EventSource's Last-Event-ID on reconnects, ?after= on the first connection. */
export function resumePointOf(request: Request): bigint {
  const raw = request.headers.get('last-event-id') || new URL(request.url).searchParams.get('after') || '0';
  return /^\d{1,19}$/.test(raw) ? BigInt(raw) : 0n;
}

/**
 * The live feed of pool `poolName` for `principal` (pools.read on it): events `session`
 * (a PoolFeedEvent, with the identifier only for viewers with sessions.read), `snapshot` (a
 * PoolLiveSnapshot, when the client is too far behind to replay), `pool` (settings changed)
 * and `renew` (this stream ends on purpose; reconnect).
 */
export async function openPoolEventStream(principal: Principal, poolName: string, after: bigint, signal: AbortSignal): Promise<Response> {
  const pool = await getPool(principal, poolName);
  const encoder = new TextEncoder();
  let output: ReadableStreamDefaultController<Uint8Array> | undefined;
  let isClosed = false;
  let isReplaying = true;
  const heldBack: SessionEvent[] = [];
  const sent = new Set<string>();
  // Allocation events wait for an identifier lookup; the chain keeps events in order regardless.
  let sending = Promise.resolve();
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = () => {};

  const write = (text: string) => {
    if (!isClosed) output?.enqueue(encoder.encode(text));
  };
  const send = (event: PoolFeedEvent) => {
    if (sent.has(event.id)) return;
    sent.add(event.id);
    write(`id: ${event.id}\nevent: session\ndata: ${JSON.stringify(event)}\n\n`);
  };
  const forward = (event: SessionEvent) => {
    sending = sending
      .then(async () => {
        const identifier = event.to === 'ALLOCATED' ? await allocatedIdentifier(principal, pool, event.sessionId) : undefined;
        send({ id: event.id, sessionId: event.sessionId, from: event.from, to: event.to, reason: event.reason, at: event.at, ...(identifier ? { identifier } : {}) });
      })
      .catch((error: unknown) => {
        console.error('[pool feed] could not forward an event; ending the stream so the browser resumes', error);
        close();
      });
  };
  const close = () => {
    if (isClosed) return;
    isClosed = true;
    for (const timer of timers) clearTimeout(timer);
    unsubscribe();
    try {
      output?.close();
    } catch {
      // already closed by the client going away
    }
  };

  // Subscribe before replaying, so nothing committed in between is missed (duplicates are skipped).
  unsubscribe = await poolNotifications().subscribe({
    poolId: pool.id,
    onSessionEvent: (event) => (isReplaying ? heldBack.push(event) : forward(event)),
    onPoolChanged: () => write('event: pool\ndata: {}\n\n'),
    onLost: close,
  });
  signal.addEventListener('abort', close);
  if (signal.aborted) close();

  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      output = controller;
      if (isClosed) return controller.close();
      write(`retry: ${RECONNECT_DELAY_MS}\n: connected\n\n`);
      const renew = () => {
        write('event: renew\ndata: {}\n\n');
        close();
      };
      timers.push(setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS), setTimeout(renew, MAX_STREAM_MS));
      try {
        const missed = await poolEventsAfter(principal, pool, after, REPLAY_LIMIT + 1);
        if (missed.length > REPLAY_LIMIT) {
          const snapshot = await getPoolLiveSnapshot(principal, pool);
          write(`id: ${snapshot.lastEventId}\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
        } else {
          for (const event of missed) send(event);
        }
      } catch (error) {
        console.error('[pool feed] replay failed; ending the stream so the browser retries', error);
        return close();
      }
      isReplaying = false;
      for (const event of heldBack.splice(0)) forward(event);
    },
    cancel: close,
  });
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      // no-transform also keeps the portal's compression from buffering the stream.
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    },
  });
}
