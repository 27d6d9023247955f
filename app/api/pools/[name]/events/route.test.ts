// The live pool feed through its route handler: real bearer tokens, real Postgres, and
// transitions written by the engine's own store functions (so each one is a session_events row
// and a real NOTIFY). No sandboxes are involved: the pools keep none warm.
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabasePool } from '@/engine/db';
import { allocateSession, insertPendingSession, transitionSession } from '@/engine/sessions/store';
import { HOST_OPERATOR } from '@/lib/auth/access';
import type { Role } from '@/lib/auth/permissions';
import { newId } from '@/lib/ids';
import { FEED_APPLICATION_NAME } from '@/lib/services/pool-feed';
import type { PoolFeedEvent, PoolLiveSnapshot } from '@/lib/services/pool-views';
import { createPool, deletePool, type PoolDto } from '@/lib/services/pools';
import { createTestServicePrincipal, uniquePoolName } from '@/lib/testing/factories';
import { issueAccessToken } from '@/lib/tokens/access-token';
import { DATA_PLANE_AUDIENCE, MANAGEMENT_AUDIENCE, type TokenAudience } from '@/lib/tokens/audiences';
import { GET } from './route';

const engineDb = createDatabasePool(process.env.DATABASE_URL!);
const createdPools: string[] = [];
afterAll(async () => {
  for (const name of createdPools) await deletePool(HOST_OPERATOR, name);
  await engineDb.end();
});

async function newPool(): Promise<PoolDto> {
  const pool = await createPool(HOST_OPERATOR, { name: uniquePoolName(), readySessionInstances: 0, maxConcurrentSessions: 5 });
  createdPools.push(pool.name);
  return pool;
}

async function tokenFor(assignments: { role: Role; scope?: string }[], audience: TokenAudience = MANAGEMENT_AUDIENCE): Promise<string> {
  return (await issueAccessToken(await createTestServicePrincipal(assignments), audience)).accessToken;
}

/** A session made ready as the engine would; returns its id. */
async function readySession(pool: PoolDto, db: Parameters<typeof insertPendingSession>[0] = engineDb): Promise<string> {
  const id = newId('ses');
  await insertPendingSession(db, { id, poolId: pool.id, generation: pool.generation, runtime: 'RUNC_HARDENED', image: 'test' });
  await transitionSession(db, id, ['PENDING'], 'READY', 'test sandbox ready');
  return id;
}

type Frame = { event: string; id?: string; data: string };

/** Opens the feed as EventSource would and collects its frames until closed. */
async function openFeed(poolName: string, token: string, resume: { after?: string; lastEventId?: string } = {}) {
  const aborter = new AbortController();
  const url = `http://localhost:3000/api/pools/${poolName}/events${resume.after ? `?after=${resume.after}` : ''}`;
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (resume.lastEventId) headers['last-event-id'] = resume.lastEventId;
  const response = await GET(new Request(url, { headers, signal: aborter.signal }), { params: Promise.resolve({ name: poolName }) });
  const frames: Frame[] = [];
  let text = '';
  let hasEnded = false;
  if (response.ok) {
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        let boundary: number;
        while ((boundary = text.indexOf('\n\n')) >= 0) {
          const lines = text.slice(0, boundary).split('\n');
          text = text.slice(boundary + 2);
          const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
          if (field('data') !== undefined) frames.push({ event: field('event') ?? 'message', id: field('id'), data: field('data')! });
        }
      }
    })()
      .catch(() => undefined)
      .finally(() => (hasEnded = true));
  }
  const sessionEvents = () => frames.filter((frame) => frame.event === 'session').map((frame) => JSON.parse(frame.data) as PoolFeedEvent);
  return {
    response,
    frames,
    sessionEvents,
    hasEnded: () => hasEnded,
    async waitFor(what: string, predicate: () => boolean, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(frames)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    close: () => aborter.abort(),
  };
}

describe('GET /api/pools/{name}/events', () => {
  it("replays the pool's recorded transitions, then streams new ones as they commit, and none of other pools", async () => {
    const [pool, otherPool] = [await newPool(), await newPool()];
    const first = await readySession(pool);
    const feed = await openFeed(pool.name, await tokenFor([{ role: 'READER', scope: `/sessionPools/${pool.name}` }]));
    expect(feed.response.status).toBe(200);
    expect(feed.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(feed.response.headers.get('cache-control')).toContain('no-transform');
    await feed.waitFor('the replay', () => feed.sessionEvents().length >= 2);

    await readySession(otherPool);
    const second = await readySession(pool);
    await feed.waitFor('the live events', () => feed.sessionEvents().some((event) => event.sessionId === second && event.to === 'READY'));
    const events = feed.sessionEvents();
    expect(events.map((event) => [event.sessionId, event.to])).toEqual([
      [first, 'PENDING'],
      [first, 'READY'],
      [second, 'PENDING'],
      [second, 'READY'],
    ]);
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
    expect(feed.frames.filter((frame) => frame.event === 'session').map((frame) => frame.id)).toEqual(events.map((event) => event.id));
    feed.close();
  });

  it('sends session identifiers to viewers who may use the sessions, and to nobody else', async () => {
    const pool = await newPool();
    await readySession(pool);
    const [executor, reader] = await Promise.all([
      openFeed(pool.name, await tokenFor([{ role: 'SESSION_EXECUTOR', scope: `/sessionPools/${pool.name}` }])),
      openFeed(pool.name, await tokenFor([{ role: 'READER' }])),
    ]);
    await Promise.all([executor, reader].map((feed) => feed.waitFor('the replay', () => feed.sessionEvents().length === 2)));
    const identifier = `secret-${newId('ses')}`;
    await allocateSession(engineDb, { poolId: pool.id, identifier, cooldownSeconds: 300, maxConcurrentSessions: 5 });
    const allocated = (feed: Awaited<ReturnType<typeof openFeed>>) => feed.sessionEvents().find((event) => event.to === 'ALLOCATED');
    await Promise.all([executor, reader].map((feed) => feed.waitFor('the allocation', () => allocated(feed) !== undefined)));
    expect(allocated(executor)?.identifier).toBe(identifier);
    expect(allocated(reader)).not.toHaveProperty('identifier');
    expect(JSON.stringify(reader.frames)).not.toContain(identifier);

    // Replayed events follow the same rule.
    const replayFor = async (role: Role) => {
      const feed = await openFeed(pool.name, await tokenFor([{ role, scope: `/sessionPools/${pool.name}` }]));
      await feed.waitFor('the replay', () => allocated(feed) !== undefined);
      feed.close();
      return allocated(feed);
    };
    expect((await replayFor('OWNER'))?.identifier).toBe(identifier);
    expect(await replayFor('CONTRIBUTOR')).not.toHaveProperty('identifier');
    for (const feed of [executor, reader]) feed.close();
  });

  it('resumes after Last-Event-ID without losing an event that committed after a later one', async () => {
    const pool = await newPool();
    const token = await tokenFor([{ role: 'READER' }]);
    const feed = await openFeed(pool.name, token);
    // A transition that has drawn its event id but not committed yet...
    const slow = await engineDb.connect();
    const slowSession = newId('ses');
    await slow.query('BEGIN');
    await insertPendingSession(slow, { id: slowSession, poolId: pool.id, generation: pool.generation, runtime: 'RUNC_HARDENED', image: 'test' });
    // ...while a later one commits and reaches the client, which then disconnects.
    const fast = await readySession(pool);
    await feed.waitFor('the later transition', () => feed.sessionEvents().some((event) => event.sessionId === fast && event.to === 'READY'));
    feed.close();
    const lastSeen = feed.sessionEvents().at(-1)!.id;
    await slow.query('COMMIT');
    slow.release();
    const afterGap = await readySession(pool);

    const resumed = await openFeed(pool.name, token, { after: '0', lastEventId: lastSeen });
    await resumed.waitFor('the missed transitions', () => resumed.sessionEvents().some((event) => event.sessionId === afterGap && event.to === 'READY'));
    const seen = new Set([...feed.sessionEvents(), ...resumed.sessionEvents()].map((event) => `${event.sessionId}:${event.to}`));
    expect([...seen].sort()).toEqual([`${afterGap}:PENDING`, `${afterGap}:READY`, `${fast}:PENDING`, `${fast}:READY`, `${slowSession}:PENDING`].sort());
    expect(BigInt(resumed.sessionEvents().find((event) => event.sessionId === slowSession)!.id)).toBeLessThan(BigInt(lastSeen));
    resumed.close();
  });

  it('ends the streams when the shared LISTEN connection drops, so browsers reconnect and replay the gap', async () => {
    const pool = await newPool();
    const token = await tokenFor([{ role: 'READER' }]);
    const feed = await openFeed(pool.name, token);
    await readySession(pool);
    await feed.waitFor('a live event', () => feed.sessionEvents().length === 2);
    const terminated = await engineDb.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [FEED_APPLICATION_NAME]);
    expect(terminated.rowCount).toBeGreaterThan(0);
    await feed.waitFor('the stream to end', () => feed.hasEnded());
    const duringGap = await readySession(pool);

    const resumed = await openFeed(pool.name, token, { lastEventId: feed.sessionEvents().at(-1)!.id });
    await resumed.waitFor('the gap replayed', () => resumed.sessionEvents().some((event) => event.sessionId === duringGap && event.to === 'READY'));
    const afterwards = await readySession(pool);
    await resumed.waitFor('live events again', () => resumed.sessionEvents().some((event) => event.sessionId === afterwards && event.to === 'READY'));
    resumed.close();
  });

  it('sends a snapshot instead of a replay to a client too far behind', async () => {
    const pool = await newPool();
    for (let index = 0; index < 501; index += 1) await readySession(pool);
    const feed = await openFeed(pool.name, await tokenFor([{ role: 'READER' }]));
    await feed.waitFor('the snapshot', () => feed.frames.some((frame) => frame.event === 'snapshot'), 30_000);
    const frame = feed.frames.find((candidate) => candidate.event === 'snapshot')!;
    const snapshot = JSON.parse(frame.data) as PoolLiveSnapshot;
    expect(snapshot.sessions).toHaveLength(501);
    expect(snapshot.sessions.every((session) => session.state === 'READY' && session.identifier === null)).toBe(true);
    expect(frame.id).toBe(snapshot.lastEventId);
    expect(feed.sessionEvents()).toEqual([]);
    feed.close();
  }, 60_000);

  it('refuses callers who may not read the pool, data-plane tokens, and names no pool has', async () => {
    const pool = await newPool();
    const elsewhere = await openFeed(pool.name, await tokenFor([{ role: 'OWNER', scope: `/sessionPools/${uniquePoolName()}` }]));
    expect(elsewhere.response.status).toBe(403);
    const dataPlane = await openFeed(pool.name, await tokenFor([{ role: 'OWNER' }], DATA_PLANE_AUDIENCE));
    expect(dataPlane.response.status).toBe(401);
    const missing = await openFeed(uniquePoolName(), await tokenFor([{ role: 'READER' }]));
    expect(missing.response.status).toBe(404);
    expect(await missing.response.json()).toMatchObject({ error: { message: expect.stringContaining('no session pool named') } });
  });
});
