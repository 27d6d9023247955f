import 'server-only';
import type { Assignment, Principal } from '../auth/access';
import { db } from '../db';

/**
 * Loads a signed-in user as a Principal, straight from the database: the role is never
 * taken from the cookie. Returns null when the user is gone, disabled, or changed their
 * password after this session began (`authenticatedAt`, epoch ms).
 */
export async function loadUserPrincipal(userId: string, authenticatedAt: number): Promise<Principal | null> {
  const user = await db().user.findUnique({
    where: { id: userId },
    select: {
      id: true,
      email: true,
      disabledAt: true,
      passwordChangedAt: true,
      roleAssignments: { select: { role: true, scope: true } },
    },
  });
  if (!user || user.disabledAt) return null;
  // One second of slack: the session and the password change can share a clock second.
  if (user.passwordChangedAt.getTime() > authenticatedAt + 1000) return null;
  return { kind: 'user', id: user.id, label: user.email, assignments: user.roleAssignments satisfies Assignment[] };
}

/** Loads a service principal as a Principal; null when it is gone, revoked or expired. */
export async function loadServicePrincipal(servicePrincipalId: string, now = new Date()): Promise<Principal | null> {
  const access = await loadServicePrincipalAccess(servicePrincipalId);
  if (!access || (access.expiresAt && access.expiresAt <= now)) return null;
  return access.principal;
}

/**
 * A service principal and when it expires, or null when it is gone or revoked. For callers
 * that keep the principal for a while (the engine's cache): expiry is a moment they must
 * check on every use, revocation and role changes are notified (principal-events.ts).
 */
export async function loadServicePrincipalAccess(servicePrincipalId: string): Promise<{ principal: Principal; expiresAt: Date | null } | null> {
  const servicePrincipal = await db().servicePrincipal.findUnique({
    where: { id: servicePrincipalId },
    select: {
      id: true,
      clientId: true,
      revokedAt: true,
      expiresAt: true,
      roleAssignments: { select: { role: true, scope: true } },
    },
  });
  if (!servicePrincipal || servicePrincipal.revokedAt) return null;
  return {
    principal: { kind: 'servicePrincipal', id: servicePrincipal.id, label: servicePrincipal.clientId, assignments: servicePrincipal.roleAssignments },
    expiresAt: servicePrincipal.expiresAt,
  };
}
