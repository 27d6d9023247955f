// Pure authorization logic: given who is calling and what they hold, may they do this?
// Kept free of I/O so the whole table can be tested exhaustively.
import { AppError } from '../errors';
import { GLOBAL_PERMISSIONS, roleGrants, type Permission, type Role } from './permissions';
import { ROOT_SCOPE, scopeCovers } from './scope';

export type Assignment = { role: Role; scope: string };

export type Principal =
  | { kind: 'user'; id: string; label: string; assignments: Assignment[] }
  | { kind: 'servicePrincipal'; id: string; label: string; assignments: Assignment[] }
  /** The operator at the host's shell (the `sandpool` CLI): root there can already do anything. */
  | { kind: 'system'; id: 'system'; label: string; assignments: Assignment[] };

export const HOST_OPERATOR: Principal = {
  kind: 'system',
  id: 'system',
  label: 'host operator (sandpool CLI)',
  assignments: [{ role: 'OWNER', scope: ROOT_SCOPE }],
};

/** May `principal` use `permission` on `target` ("/" or "/sessionPools/<name>")? */
export function can(principal: Principal, permission: Permission, target: string = ROOT_SCOPE): boolean {
  return principal.assignments.some((assignment) => {
    if (!roleGrants(assignment.role, permission)) return false;
    if (GLOBAL_PERMISSIONS.includes(permission)) return assignment.scope === ROOT_SCOPE;
    return scopeCovers(assignment.scope, target);
  });
}

/** May `principal` use `permission` on at least one scope? (Coarse check for guards and menus.) */
export function canAnywhere(principal: Principal, permission: Permission): boolean {
  return principal.assignments.some(
    (assignment) =>
      roleGrants(assignment.role, permission) &&
      (!GLOBAL_PERMISSIONS.includes(permission) || assignment.scope === ROOT_SCOPE),
  );
}

/** The scopes at which `principal` holds `permission`; contains "/" when it holds it everywhere. */
export function scopesWith(principal: Principal, permission: Permission): string[] {
  const scopes = principal.assignments
    .filter((assignment) => roleGrants(assignment.role, permission))
    .map((assignment) => assignment.scope)
    .filter((scope) => !GLOBAL_PERMISSIONS.includes(permission) || scope === ROOT_SCOPE);
  return [...new Set(scopes)];
}

export function assertCan(principal: Principal, permission: Permission, target: string = ROOT_SCOPE): void {
  if (!can(principal, permission, target)) {
    throw new AppError(
      'FORBIDDEN',
      `You need the "${permission}" permission${target === ROOT_SCOPE ? '' : ` on ${target}`}. Ask an Owner to assign you a role that includes it.`,
    );
  }
}
