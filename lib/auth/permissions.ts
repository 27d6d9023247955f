// The one table of who may do what. Roles mirror Azure's roles for session pools
// (reference §8); permissions are "<resource>.<action>" strings checked by the guard.

export const ROLES = ['OWNER', 'CONTRIBUTOR', 'SESSION_EXECUTOR', 'READER'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'pools.read',
  'pools.write',
  'sessions.read',
  'sessions.execute',
  'principals.read',
  'principals.write',
  'roleAssignments.read',
  'roleAssignments.write',
  'audit.read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  OWNER: PERMISSIONS,
  // As in Azure's "Container Apps SessionPools Contributor": manage pools, read the rest,
  // no data-plane access and no role assignment.
  CONTRIBUTOR: ['pools.read', 'pools.write', 'principals.read', 'roleAssignments.read', 'audit.read'],
  // As in "Azure ContainerApps Session Executor": the data plane of the pools in scope.
  // pools.read lets the portal list the pools the executor can use.
  SESSION_EXECUTOR: ['pools.read', 'sessions.read', 'sessions.execute'],
  // Reader sees configuration but not session identifiers, which Azure treats as secrets.
  READER: ['pools.read', 'principals.read', 'roleAssignments.read', 'audit.read'],
};

export const ROLE_LABELS: Record<Role, string> = {
  OWNER: 'Owner',
  CONTRIBUTOR: 'Contributor',
  SESSION_EXECUTOR: 'Session Executor',
  READER: 'Reader',
};

export const ROLE_DESCRIPTIONS: Record<Role, string> = {
  OWNER: 'Full access, including assigning roles.',
  CONTRIBUTOR: 'Create, change and delete pools. No access to sessions.',
  SESSION_EXECUTOR: 'Run code, manage files and sessions in the pools in scope.',
  READER: 'View configuration, people and the audit log.',
};

/**
 * Permissions that only make sense installation-wide: a pool-scoped assignment
 * never grants them, whatever its role.
 */
export const GLOBAL_PERMISSIONS: readonly Permission[] = ['principals.read', 'principals.write', 'audit.read'];

export function roleGrants(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].includes(permission);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
