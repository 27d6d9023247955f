import type { Transaction } from '../db';

/**
 * Channel the engine listens on to drop a caller's cached access (engine/access-cache.ts).
 * The payload is the principal's id.
 */
export const PRINCIPAL_CHANGED_CHANNEL = 'sandpool_principal_changed';

/**
 * Tells the engine that a principal's access changed (revoked, role added or removed). Sent
 * inside the change's transaction, so it is delivered when the change commits and never for
 * a change that rolled back.
 */
export function notifyPrincipalChanged(tx: Transaction, principalId: string) {
  return tx.$executeRaw`SELECT pg_notify(${PRINCIPAL_CHANGED_CHANNEL}, ${principalId})`;
}
