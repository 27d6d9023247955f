// Test data factories: every test creates its own uniquely named rows and never depends on
// what another test left behind.
import { randomBytes } from 'node:crypto';
import { HOST_OPERATOR, type Principal } from '../auth/access';
import type { Role } from '../auth/permissions';
import { createRoleAssignment } from '../services/role-assignments';
import { createServicePrincipal } from '../services/service-principals';
import { createUser } from '../services/users';

export const TEST_PASSWORD = 'integration test password';

export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomBytes(5).toString('hex')}@test.sandpool.local`;
}

export function uniquePoolName(): string {
  return `pool${randomBytes(5).toString('hex')}`;
}

/** A user with the given roles, and the Principal a signed-in session would load for them. */
export async function createTestUser(assignments: { role: Role; scope?: string }[] = []): Promise<{ id: string; email: string; principal: Principal }> {
  const user = await createUser(HOST_OPERATOR, { email: uniqueEmail(), password: TEST_PASSWORD });
  for (const assignment of assignments) {
    await createRoleAssignment(HOST_OPERATOR, { role: assignment.role, scope: assignment.scope ?? '/', principalType: 'user', principalId: user.id });
  }
  return {
    id: user.id,
    email: user.email,
    principal: { kind: 'user', id: user.id, label: user.email, assignments: assignments.map((a) => ({ role: a.role, scope: a.scope ?? '/' })) },
  };
}

export async function createTestServicePrincipal(assignments: { role: Role; scope?: string }[] = [], expiresInDays?: number) {
  const created = await createServicePrincipal(HOST_OPERATOR, { displayName: `sp-${randomBytes(4).toString('hex')}`, expiresInDays });
  for (const assignment of assignments) {
    await createRoleAssignment(HOST_OPERATOR, {
      role: assignment.role,
      scope: assignment.scope ?? '/',
      principalType: 'servicePrincipal',
      principalId: created.servicePrincipal.id,
    });
  }
  return { ...created.servicePrincipal, clientSecret: created.clientSecret };
}
