// The allocation and transition SQL against real Postgres. Sessions are inserted as the engine
// would after starting sandboxes; no containers are involved in allocation, by design.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../../lib/auth/access';
import { newId } from '../../lib/ids';
import { createPool } from '../../lib/services/pools';
import { uniquePoolName } from '../../lib/testing/factories';
import { createDatabasePool } from '../db';
import { PostgresListener } from '../listener';
import { allocateSession, insertPendingSession, listExpiredSessions, SESSION_EVENTS_CHANNEL, transitionSession, type SessionEvent } from './store';

const db = createDatabasePool(process.env.DATABASE_URL!);
afterAll(() => db.end());

async function poolWithReadySessions(ready: number, maxConcurrentSessions = 10) {
  const pool = await createPool(HOST_OPERATOR, { name: uniquePoolName(), readySessionInstances: 0, maxConcurrentSessions, cooldownPeriodInSeconds: 10 });
  const ids: string[] = [];
  for (let index = 0; index < ready; index += 1) {
    const id = newId('ses');
    await insertPendingSession(db, { id, poolId: pool.id, generation: pool.generation, runtime: 'RUNC_HARDENED', image: 'test' });
    await transitionSession(db, id, ['PENDING'], 'READY', 'test sandbox ready');
    ids.push(id);
  }
  const request = (identifier: string) => ({ poolId: pool.id, identifier, cooldownSeconds: 10, maxConcurrentSessions });
  return { pool, ids, request };
}

describe('allocateSession', () => {
  it('hands the oldest ready session to a new identifier, and the same one afterwards', async () => {
    const { ids, request } = await poolWithReadySessions(3);
    const first = await allocateSession(db, request('alice-1'));
    expect(first).toEqual({ kind: 'claimed', sessionId: ids[0] });
    expect(await allocateSession(db, request('alice-1'))).toEqual({ kind: 'existing', sessionId: ids[0] });
    expect(await allocateSession(db, request('bob-22'))).toEqual({ kind: 'claimed', sessionId: ids[1] });
  });

  it('gives racing requests for one new identifier the same session, and different identifiers different ones', async () => {
    const { ids, request } = await poolWithReadySessions(8);
    const same = await Promise.all(Array.from({ length: 6 }, () => allocateSession(db, request('racing-identifier'))));
    const sameIds = new Set(same.map((allocation) => ('sessionId' in allocation ? allocation.sessionId : null)));
    expect(sameIds.size).toBe(1);
    expect(same.filter((allocation) => allocation.kind === 'claimed')).toHaveLength(1);
    const different = await Promise.all(['id-a1', 'id-b2', 'id-c3', 'id-d4'].map((identifier) => allocateSession(db, request(identifier))));
    const differentIds = different.map((allocation) => ('sessionId' in allocation ? allocation.sessionId : null));
    expect(new Set(differentIds).size).toBe(4);
    for (const id of differentIds) expect(ids).toContain(id);
  });

  it('refuses new identifiers at the cap, but still serves existing ones', async () => {
    const { request } = await poolWithReadySessions(5, 2);
    await allocateSession(db, request('first-1'));
    await allocateSession(db, request('second-2'));
    const results = await Promise.all(['third-3', 'fourth-4', 'fifth-5'].map((identifier) => allocateSession(db, request(identifier))));
    expect(results).toEqual(Array(3).fill({ kind: 'atCapacity', allocated: 2 }));
    expect((await allocateSession(db, request('first-1'))).kind).toBe('existing');
  });

  it('never hands out more sessions than the cap to concurrent new identifiers, with or without the pool lock', async () => {
    // ready == max: the claims run without the pool's lock; ready > max (a cap just lowered):
    // they take it. Either way exactly `max` identifiers get a session.
    for (const [ready, max] of [[4, 4], [6, 3]] as const) {
      const { request } = await poolWithReadySessions(ready, max);
      const results = await Promise.all(Array.from({ length: 8 }, (_, index) => allocateSession(db, request(`burst-${ready}-${index}`))));
      expect(results.filter((allocation) => allocation.kind === 'claimed')).toHaveLength(max);
      for (const refused of results.filter((allocation) => allocation.kind !== 'claimed')) expect(['atCapacity', 'noneReady']).toContain(refused.kind);
      expect(await allocateSession(db, request('one-more'))).toEqual({ kind: 'atCapacity', allocated: max });
    }
  });

  it('reports an empty pool below its cap, so the caller can wait for a sandbox', async () => {
    const { request } = await poolWithReadySessions(0);
    expect(await allocateSession(db, request('waiting-1'))).toEqual({ kind: 'noneReady' });
  });

  it('skips ready sessions of an older pool generation', async () => {
    const { pool, request } = await poolWithReadySessions(1);
    await db.query('UPDATE session_pools SET generation = generation + 1 WHERE id = $1', [pool.id]);
    expect(await allocateSession(db, request('after-change'))).toEqual({ kind: 'noneReady' });
  });
});

describe('transitions and events', () => {
  let listener: PostgresListener;
  const received: SessionEvent[] = [];
  beforeAll(async () => {
    listener = new PostgresListener(process.env.DATABASE_URL!, () => {});
    listener.on(SESSION_EVENTS_CHANNEL, (payload) => received.push(JSON.parse(payload) as SessionEvent));
    await listener.start();
  });
  afterAll(() => listener.stop());

  it('records and publishes every transition, and refuses moves the table forbids', async () => {
    const { ids, request } = await poolWithReadySessions(1);
    const id = ids[0]!;
    await allocateSession(db, request('events-1'));
    await expect(transitionSession(db, id, ['ALLOCATED'], 'READY', 'not allowed')).rejects.toThrow('cannot go from ALLOCATED to READY');
    expect(await transitionSession(db, id, ['READY'], 'DELETING', 'wrong from-state')).toBeNull();
    const deleting = await transitionSession(db, id, ['ALLOCATED'], 'DELETING', 'stopped by test');
    expect(deleting).toMatchObject({ sessionId: id, from: 'ALLOCATED', to: 'DELETING', reason: 'stopped by test' });
    expect(deleting!.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await transitionSession(db, id, ['DELETING'], 'DELETED', 'sandbox removed');
    const history = await db.query('SELECT from_state, to_state FROM session_events WHERE session_id = $1 ORDER BY id', [id]);
    expect(history.rows.map((row) => `${row.from_state ?? '∅'}>${row.to_state}`)).toEqual(['∅>PENDING', 'PENDING>READY', 'READY>ALLOCATED', 'ALLOCATED>DELETING', 'DELETING>DELETED']);
    await expect.poll(() => received.filter((event) => event.sessionId === id).map((event) => event.to)).toEqual(['PENDING', 'READY', 'ALLOCATED', 'DELETING', 'DELETED']);
  });

  it('finds sessions whose cooldown passed, except busy ones', async () => {
    const { ids, request } = await poolWithReadySessions(2);
    await allocateSession(db, request('idle-one'));
    await allocateSession(db, request('busy-one'));
    await db.query(`UPDATE sessions SET last_accessed_at = now() - interval '1 minute' WHERE id = ANY($1)`, [ids]);
    const expired = await listExpiredSessions(db, [ids[1]!]);
    expect(expired).toContain(ids[0]);
    expect(expired).not.toContain(ids[1]);
  });
});
