import { describe, expect, it } from 'vitest';
import { can, canAnywhere, scopesWith, type Principal } from './access';
import { PERMISSIONS, ROLES, ROLE_PERMISSIONS, type Permission, type Role } from './permissions';

// The expected table, written out by hand and independently of ROLE_PERMISSIONS: a change to
// who may do what has to be made in both places, on purpose.
const EXPECTED: Record<Role, Record<Permission, boolean>> = {
  OWNER: {
    'pools.read': true, 'pools.write': true, 'sessions.read': true, 'sessions.execute': true,
    'principals.read': true, 'principals.write': true, 'roleAssignments.read': true, 'roleAssignments.write': true, 'audit.read': true,
  },
  CONTRIBUTOR: {
    'pools.read': true, 'pools.write': true, 'sessions.read': false, 'sessions.execute': false,
    'principals.read': true, 'principals.write': false, 'roleAssignments.read': true, 'roleAssignments.write': false, 'audit.read': true,
  },
  SESSION_EXECUTOR: {
    'pools.read': true, 'pools.write': false, 'sessions.read': true, 'sessions.execute': true,
    'principals.read': false, 'principals.write': false, 'roleAssignments.read': false, 'roleAssignments.write': false, 'audit.read': false,
  },
  READER: {
    'pools.read': true, 'pools.write': false, 'sessions.read': false, 'sessions.execute': false,
    'principals.read': true, 'principals.write': false, 'roleAssignments.read': true, 'roleAssignments.write': false, 'audit.read': true,
  },
};

function principalWith(role: Role, scope: string): Principal {
  return { kind: 'user', id: 'usr_test', label: 'test@example.com', assignments: [{ role, scope }] };
}

describe('permission table', () => {
  it('covers every role and permission, and nothing else', () => {
    expect(Object.keys(ROLE_PERMISSIONS).sort()).toEqual([...ROLES].sort());
    for (const role of ROLES) {
      for (const permission of ROLE_PERMISSIONS[role]) expect(PERMISSIONS).toContain(permission);
    }
  });

  for (const role of ROLES) {
    for (const permission of PERMISSIONS) {
      it(`${role} ${EXPECTED[role][permission] ? 'has' : 'lacks'} ${permission} at "/"`, () => {
        expect(can(principalWith(role, '/'), permission)).toBe(EXPECTED[role][permission]);
        expect(can(principalWith(role, '/'), permission, '/sessionPools/anypool')).toBe(EXPECTED[role][permission]);
      });
    }
  }
});

describe('scopes', () => {
  const executor = principalWith('SESSION_EXECUTOR', '/sessionPools/alpha');

  it('a pool-scoped role applies to that pool only', () => {
    expect(can(executor, 'sessions.execute', '/sessionPools/alpha')).toBe(true);
    expect(can(executor, 'sessions.execute', '/sessionPools/beta')).toBe(false);
    expect(can(executor, 'sessions.execute', '/')).toBe(false);
  });

  it('a pool-scoped role never grants installation-wide permissions', () => {
    const poolOwner = principalWith('OWNER', '/sessionPools/alpha');
    for (const permission of ['principals.read', 'principals.write', 'audit.read'] as const) {
      expect(can(poolOwner, permission)).toBe(false);
      expect(canAnywhere(poolOwner, permission)).toBe(false);
      expect(scopesWith(poolOwner, permission)).toEqual([]);
    }
  });

  it('a pool Owner may assign roles on that pool, not elsewhere', () => {
    const poolOwner = principalWith('OWNER', '/sessionPools/alpha');
    expect(can(poolOwner, 'roleAssignments.write', '/sessionPools/alpha')).toBe(true);
    expect(can(poolOwner, 'roleAssignments.write', '/sessionPools/beta')).toBe(false);
    expect(can(poolOwner, 'roleAssignments.write', '/')).toBe(false);
    expect(scopesWith(poolOwner, 'roleAssignments.write')).toEqual(['/sessionPools/alpha']);
  });

  it('a principal with no assignments may do nothing', () => {
    const nobody: Principal = { kind: 'user', id: 'usr_x', label: 'x', assignments: [] };
    for (const permission of PERMISSIONS) {
      expect(can(nobody, permission)).toBe(false);
      expect(canAnywhere(nobody, permission)).toBe(false);
    }
  });
});
