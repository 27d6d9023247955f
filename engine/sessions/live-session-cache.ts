// Which session an identifier has, kept in memory so a warm request goes straight to its
// sandbox without a database round trip first (the request's closing touch, written after the
// reply, still moves its cooldown; while the request runs, BusySessions keeps it from expiring).
//
// An identifier keeps its session for as long as the session is allocated, so an entry is
// right until that session leaves ALLOCATED. Every such move is SandboxManager.destroy, which
// forgets the session before it writes the move; as in the access cache (ADR 0008), session
// events from Postgres also forget it (a move made by anything else), and while the LISTEN
// connection is down the cache is emptied and bypassed.
import type { PostgresListener } from '../listener';
import { CacheValidity, forgetOldestTenth } from '../notified-cache';
import { SESSION_EVENTS_CHANNEL, type SessionEvent } from './store';

/** Identifiers remembered; beyond this the oldest are forgotten (and looked up again when seen). */
const MAX_ENTRIES = 100_000;

export class LiveSessionCache {
  private readonly sessionByKey = new Map<string, string>();
  private readonly keyBySession = new Map<string, string>();
  private readonly validity: CacheValidity;

  constructor(listener: PostgresListener) {
    listener.on(SESSION_EVENTS_CHANNEL, (payload) => {
      const event = JSON.parse(payload) as Pick<SessionEvent, 'sessionId' | 'from'>;
      if (event.from === 'ALLOCATED') this.forget(event.sessionId);
    });
    this.validity = new CacheValidity(listener, () => {
      this.sessionByKey.clear();
      this.keyBySession.clear();
    });
  }

  get(poolId: string, identifier: string): string | undefined {
    return this.validity.trusted ? this.sessionByKey.get(keyOf(poolId, identifier)) : undefined;
  }

  /** Taken before a lookup in Postgres; pass it to remember() with what the lookup found. */
  mark(): number {
    return this.validity.mark();
  }

  remember(poolId: string, identifier: string, sessionId: string, mark: number): void {
    if (!this.validity.mayKeep(mark)) return;
    if (this.sessionByKey.size >= MAX_ENTRIES) forgetOldestTenth(this.sessionByKey, MAX_ENTRIES, (_key, forgotten) => this.keyBySession.delete(forgotten));
    const key = keyOf(poolId, identifier);
    this.sessionByKey.set(key, sessionId);
    this.keyBySession.set(sessionId, key);
  }

  /** Called before a session leaves ALLOCATED. */
  forget(sessionId: string): void {
    this.validity.invalidate();
    const key = this.keyBySession.get(sessionId);
    if (key === undefined) return;
    this.keyBySession.delete(sessionId);
    this.sessionByKey.delete(key);
  }
}

// Identifiers are at most 128 characters from [A-Za-z0-9_-] (reference §3), so NUL separates.
function keyOf(poolId: string, identifier: string): string {
  return `${poolId}\u0000${identifier}`;
}
