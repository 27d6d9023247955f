// The identifier → session cache against a real Postgres LISTEN connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabasePool } from '../db';
import { PostgresListener } from '../listener';
import { LiveSessionCache } from './live-session-cache';
import { SESSION_EVENTS_CHANNEL } from './store';

const db = createDatabasePool(process.env.DATABASE_URL!);
const listener = new PostgresListener(process.env.DATABASE_URL!, () => {});
const cache = new LiveSessionCache(listener);
afterAll(async () => {
  await listener.stop();
  await db.end();
});

async function waitUntil(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('LiveSessionCache', () => {
  it('remembers nothing before it listens', () => {
    cache.remember('pool_a', 'early', 'ses_early', cache.mark());
    expect(cache.get('pool_a', 'early')).toBeUndefined();
  });

  describe('once listening', () => {
    const listeningBackends = async () =>
      (await db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'`)).rows.map((row) => row.pid);
    let othersListening: number[] = [];
    beforeAll(async () => {
      othersListening = await listeningBackends();
      await listener.start();
    });

    it('answers for an identifier in its pool only', () => {
      cache.remember('pool_a', 'alice', 'ses_alice', cache.mark());
      expect(cache.get('pool_a', 'alice')).toBe('ses_alice');
      expect(cache.get('pool_b', 'alice')).toBeUndefined();
      expect(cache.get('pool_a', 'bob')).toBeUndefined();
    });

    it('forgets a session that is being deleted, and drops a lookup that raced the deletion', () => {
      cache.remember('pool_a', 'carol', 'ses_carol', cache.mark());
      const mark = cache.mark();
      cache.forget('ses_carol');
      expect(cache.get('pool_a', 'carol')).toBeUndefined();
      // A lookup that began before the forget may have read the deleted session.
      cache.remember('pool_a', 'carol', 'ses_carol', mark);
      expect(cache.get('pool_a', 'carol')).toBeUndefined();
    });

    it('forgets a session when Postgres reports it left ALLOCATED, not for other moves', async () => {
      cache.remember('pool_a', 'dave', 'ses_dave', cache.mark());
      cache.remember('pool_a', 'erin', 'ses_erin', cache.mark());
      const notify = (sessionId: string, from: string, to: string) =>
        db.query('SELECT pg_notify($1, $2)', [SESSION_EVENTS_CHANNEL, JSON.stringify({ id: '1', sessionId, poolId: 'pool_a', from, to, reason: 'test', at: new Date().toISOString() })]);
      await notify('ses_erin', 'READY', 'ALLOCATED');
      await notify('ses_dave', 'ALLOCATED', 'DELETING');
      await waitUntil(() => cache.get('pool_a', 'dave') === undefined);
      expect(cache.get('pool_a', 'erin')).toBe('ses_erin');
    });

    it('is emptied and bypassed while its LISTEN connection is down', async () => {
      cache.remember('pool_a', 'frank', 'ses_frank', cache.mark());
      const ours = (await listeningBackends()).filter((pid) => !othersListening.includes(pid));
      expect(ours.length).toBeGreaterThan(0);
      await db.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [ours]);
      await waitUntil(() => cache.get('pool_a', 'frank') === undefined);
      cache.remember('pool_a', 'grace', 'ses_grace', cache.mark());
      expect(cache.get('pool_a', 'grace')).toBeUndefined();
      // It listens again after its backoff, empty, and is used again.
      await waitUntil(() => {
        cache.remember('pool_a', 'heidi', 'ses_heidi', cache.mark());
        return cache.get('pool_a', 'heidi') === 'ses_heidi';
      });
      expect(cache.get('pool_a', 'frank')).toBeUndefined();
    });
  });
});
