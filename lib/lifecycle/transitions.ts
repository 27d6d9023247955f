// The session lifecycle as data. Every state change goes through this table, so an
// impossible move (say, handing a deleted sandbox to a caller) fails loudly instead of
// corrupting a pool.

export const SESSION_STATES = ['PENDING', 'READY', 'ALLOCATED', 'DELETING', 'DELETED', 'FAILED'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export const TRANSITIONS: Record<SessionState, readonly SessionState[]> = {
  // Being created: becomes ready when its agent answers, or failed.
  PENDING: ['READY', 'FAILED', 'DELETING'],
  // Warm and unclaimed: handed to an identifier, or replaced (unhealthy, pool changed or deleted).
  READY: ['ALLOCATED', 'DELETING'],
  // Serving one identifier until its cooldown passes, it is stopped, or it crashes.
  ALLOCATED: ['DELETING'],
  DELETING: ['DELETED'],
  // Terminal; kept as history.
  DELETED: [],
  // Terminal for the session; its container (if any) is cleaned up by the engine.
  FAILED: [],
};

export const LIVE_STATES: readonly SessionState[] = ['PENDING', 'READY', 'ALLOCATED'];

export function canTransition(from: SessionState, to: SessionState): boolean {
  return TRANSITIONS[from].includes(to);
}

export class InvalidTransitionError extends Error {
  constructor(
    readonly from: SessionState,
    readonly to: SessionState,
  ) {
    super(`A session cannot go from ${from} to ${to}.`);
    this.name = 'InvalidTransitionError';
  }
}

export function assertTransition(from: SessionState, to: SessionState): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to);
}
