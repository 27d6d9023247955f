// The live pool page's reducer (components/pools/live-state.ts): what the page shows after
// a snapshot and a stream of events that overlaps it, repeats itself, or arrives out of order.
import { describe, expect, it } from 'vitest';
import { fromSnapshot, reduce, type LiveSessions } from '@/components/pools/live-state';
import type { PoolFeedEvent, PoolLiveSnapshot } from '@/lib/services/pool-views';

const at = (second: number) => new Date(Date.UTC(2026, 10, 29, 12, 0, second)).toISOString();

function event(id: number, sessionId: string, from: PoolFeedEvent['from'], to: PoolFeedEvent['to'], extra: Partial<PoolFeedEvent> = {}): PoolFeedEvent {
  return { id: String(id), sessionId, from, to, reason: 'test', at: at(id), ...extra };
}

function snapshot(): PoolLiveSnapshot {
  return {
    sessions: [
      { id: 'a', state: 'READY', identifier: null, since: at(2), lastEventId: '2' },
      { id: 'b', state: 'ALLOCATED', identifier: 'ident-b', since: at(5), lastEventId: '5' },
    ],
    events: [event(5, 'b', 'READY', 'ALLOCATED'), event(4, 'b', 'PENDING', 'READY'), event(3, 'b', null, 'PENDING'), event(2, 'a', 'PENDING', 'READY'), event(1, 'a', null, 'PENDING')],
    lastEventId: '5',
    showsIdentifiers: true,
    occupancy: [{ at: Date.parse(at(0)), ready: 1, allocated: 1 }],
    takenAt: Date.parse(at(5)),
  };
}

function run(events: PoolFeedEvent[], start: LiveSessions = fromSnapshot(snapshot())): LiveSessions {
  return events.reduce((state, next) => reduce(state, { type: 'event', event: next }), start);
}

const lanes = (state: LiveSessions) => Object.fromEntries([...state.sessions.values()].map((session) => [session.id, session.state]));

describe('the live pool state', () => {
  it('moves sessions between lanes, removes finished ones, and logs each event once, newest first', () => {
    const state = run([event(6, 'c', null, 'PENDING'), event(7, 'a', 'READY', 'ALLOCATED', { identifier: 'ident-a' }), event(8, 'b', 'ALLOCATED', 'DELETING'), event(9, 'b', 'DELETING', 'DELETED')]);
    expect(lanes(state)).toEqual({ a: 'ALLOCATED', c: 'PENDING' });
    expect(state.sessions.get('a')?.identifier).toBe('ident-a');
    expect(state.events.map((logged) => logged.id)).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1']);
  });

  it('ignores replayed events the snapshot or an earlier connection already reflects', () => {
    const replayed = run([event(1, 'a', null, 'PENDING'), event(4, 'b', 'PENDING', 'READY'), event(5, 'b', 'READY', 'ALLOCATED')]);
    expect(lanes(replayed)).toEqual({ a: 'READY', b: 'ALLOCATED' });
    expect(replayed.events).toHaveLength(5);
    const twice = run([event(6, 'c', null, 'PENDING'), event(6, 'c', null, 'PENDING')]);
    expect(twice.events.filter((logged) => logged.id === '6')).toHaveLength(1);
  });

  it('does not bring back a session that ended when its older events are replayed after the end', () => {
    const state = run([event(6, 'a', 'READY', 'DELETING'), event(7, 'a', 'DELETING', 'DELETED'), event(6, 'a', 'READY', 'DELETING'), event(2, 'a', 'PENDING', 'READY')]);
    expect(lanes(state)).toEqual({ b: 'ALLOCATED' });
  });

  it('takes a late-committed event with a lower id for a session it has not seen yet', () => {
    // Event 6 committed after event 7: it reaches the client second, and still counts.
    const state = run([event(7, 'd', null, 'PENDING'), event(6, 'c', null, 'PENDING')]);
    expect(lanes(state)).toMatchObject({ c: 'PENDING', d: 'PENDING' });
    expect(state.events.slice(0, 2).map((logged) => logged.id)).toEqual(['7', '6']);
  });

  it('extends the ready and allocated series at each change, and starts over from a snapshot', () => {
    const state = run([event(6, 'a', 'READY', 'ALLOCATED'), event(7, 'c', null, 'PENDING')]);
    expect(state.occupancy).toEqual([
      { at: Date.parse(at(0)), ready: 1, allocated: 1 },
      { at: Date.parse(at(6)), ready: 0, allocated: 2 },
    ]);
    const reset = reduce(state, { type: 'snapshot', snapshot: snapshot() });
    expect(lanes(reset)).toEqual({ a: 'READY', b: 'ALLOCATED' });
  });
});
