// What the engine's caches of Postgres state share (the access cache, the live-session cache):
// entries are dropped by notifications, so they may be kept only while the LISTEN connection is
// up, and a load that raced an invalidation must not be kept (ADR 0008).
import type { PostgresListener } from './listener';

export class CacheValidity {
  private listening = false;
  /**
   * Bumped by every invalidation. A load that began before a bump may have read the old state,
   * so its result is used for the request that made it but not kept.
   */
  private generation = 0;

  /** `reset` empties the cache whenever the LISTEN connection drops or comes back. */
  constructor(listener: PostgresListener, reset: () => void) {
    listener.onConnectionChange((listening) => {
      this.listening = listening;
      this.invalidate();
      reset();
    });
  }

  /** False while notifications can be missed: the cache must then be bypassed. */
  get trusted(): boolean {
    return this.listening;
  }

  /** Taken before a load from Postgres; pass it to mayKeep() with what the load found. */
  mark(): number {
    return this.generation;
  }

  invalidate(): void {
    this.generation += 1;
  }

  mayKeep(mark: number): boolean {
    return this.listening && mark === this.generation;
  }
}

/** Drops the oldest tenth of `map`'s `capacity` (Maps iterate in insertion order), telling `onForget` of each. */
export function forgetOldestTenth<K, V>(map: Map<K, V>, capacity: number, onForget?: (key: K, value: V) => void): void {
  let toForget = Math.ceil(capacity / 10);
  for (const [key, value] of map) {
    if (toForget-- <= 0) break;
    map.delete(key);
    onForget?.(key, value);
  }
}
