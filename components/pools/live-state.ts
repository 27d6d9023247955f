// The live pool page's state as a pure reducer: the server's snapshot, then each event from the
// feed. Replays overlap what the client already has (reconnections resume a little before the
// last event seen, and the first connection overlaps the snapshot), so applying is idempotent:
// a session only moves on an event newer than the one it is at.
import type { LaneSession, LaneState, OccupancyPoint, PoolFeedEvent, PoolLiveSnapshot } from '@/lib/services/pool-views';
import { LANE_STATES } from './session-state';

export type LaneCounts = Record<Lowercase<LaneState>, number>;

const RECENT_EVENTS = 50;
const FINISHED_REMEMBERED = 2_000;

export type LiveSessions = {
  sessions: ReadonlyMap<string, LaneSession>;
  /** Newest first. */
  events: PoolFeedEvent[];
  occupancy: OccupancyPoint[];
  /** Sessions seen to end, so a late replayed event cannot bring one back. */
  finished: ReadonlySet<string>;
};

function isLane(state: string): state is LaneState {
  return (LANE_STATES as readonly string[]).includes(state);
}

export function fromSnapshot(snapshot: PoolLiveSnapshot): LiveSessions {
  return { sessions: new Map(snapshot.sessions.map((session) => [session.id, session])), events: snapshot.events, occupancy: snapshot.occupancy, finished: new Set() };
}

function withLogged(events: PoolFeedEvent[], event: PoolFeedEvent): PoolFeedEvent[] {
  if (events.some((logged) => logged.id === event.id)) return events;
  return [...events, event].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1)).slice(0, RECENT_EVENTS);
}

function withOccupancy(occupancy: OccupancyPoint[], sessions: ReadonlyMap<string, LaneSession>, at: number): OccupancyPoint[] {
  let ready = 0;
  let allocated = 0;
  for (const session of sessions.values()) {
    if (session.state === 'READY') ready += 1;
    if (session.state === 'ALLOCATED') allocated += 1;
  }
  const last = occupancy[occupancy.length - 1];
  if (last && last.ready === ready && last.allocated === allocated) return occupancy;
  return [...occupancy, { at: Math.max(at, last?.at ?? at), ready, allocated }];
}

function apply(state: LiveSessions, event: PoolFeedEvent): LiveSessions {
  const events = withLogged(state.events, event);
  const current = state.sessions.get(event.sessionId);
  // Replays overlap what the snapshot or an earlier connection already delivered.
  const isStale = state.finished.has(event.sessionId) || (current !== undefined && BigInt(event.id) <= BigInt(current.lastEventId));
  if (isStale) return events === state.events ? state : { ...state, events };
  const sessions = new Map(state.sessions);
  let finished = state.finished;
  if (isLane(event.to)) {
    sessions.set(event.sessionId, { id: event.sessionId, state: event.to, identifier: event.identifier ?? current?.identifier ?? null, since: event.at, lastEventId: event.id });
  } else {
    sessions.delete(event.sessionId);
    const remembered = [...state.finished, event.sessionId];
    finished = new Set(remembered.slice(-FINISHED_REMEMBERED));
  }
  return { sessions, events, finished, occupancy: withOccupancy(state.occupancy, sessions, Date.parse(event.at)) };
}

export type LiveAction = { type: 'event'; event: PoolFeedEvent } | { type: 'snapshot'; snapshot: PoolLiveSnapshot };

export function reduce(state: LiveSessions, action: LiveAction): LiveSessions {
  return action.type === 'event' ? apply(state, action.event) : fromSnapshot(action.snapshot);
}
