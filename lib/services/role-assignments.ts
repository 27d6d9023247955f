import 'server-only';
import type { Principal } from '../auth/access';
import { assertCan, can, scopesWith } from '../auth/access';
import { ROLE_LABELS, type Role } from '../auth/permissions';
import { ROOT_SCOPE } from '../auth/scope';
import { db, type Transaction } from '../db';
import { AppError } from '../errors';
import { newId } from '../ids';
import { parseInput } from '../validations/common';
import { createRoleAssignmentSchema, roleAssignmentIdSchema, scopeSchema } from '../validations/role-assignment';
import { audited } from './audit';
import { notifyPrincipalChanged } from './principal-events';

export type RoleAssignmentDto = {
  id: string;
  role: Role;
  scope: string;
  principalType: 'user' | 'servicePrincipal';
  principalId: string;
  principalLabel: string;
  principalDetail: string;
  createdAt: Date;
  /** Whether the viewer may remove this assignment. */
  canDelete: boolean;
};

const assignmentSelect = {
  id: true,
  role: true,
  scope: true,
  createdAt: true,
  user: { select: { id: true, email: true, displayName: true } },
  servicePrincipal: { select: { id: true, clientId: true, displayName: true } },
} as const;

type AssignmentRow = {
  id: string;
  role: Role;
  scope: string;
  createdAt: Date;
  user: { id: string; email: string; displayName: string } | null;
  servicePrincipal: { id: string; clientId: string; displayName: string } | null;
};

function toDto(row: AssignmentRow, viewer: Principal): RoleAssignmentDto {
  const isUser = row.user !== null;
  return {
    id: row.id,
    role: row.role,
    scope: row.scope,
    principalType: isUser ? 'user' : 'servicePrincipal',
    principalId: isUser ? row.user!.id : row.servicePrincipal!.id,
    principalLabel: isUser ? row.user!.displayName : row.servicePrincipal!.displayName,
    principalDetail: isUser ? row.user!.email : row.servicePrincipal!.clientId,
    createdAt: row.createdAt,
    canDelete: can(viewer, 'roleAssignments.write', row.scope),
  };
}

/** Role assignments the viewer may read, optionally at one scope (roleAssignments.read). */
export async function listRoleAssignments(principal: Principal, options: { scope?: string } = {}): Promise<RoleAssignmentDto[]> {
  const readable = scopesWith(principal, 'roleAssignments.read');
  if (readable.length === 0) assertCan(principal, 'roleAssignments.read');
  const scope = options.scope === undefined ? undefined : parseInput(scopeSchema, options.scope);
  if (scope !== undefined) assertCan(principal, 'roleAssignments.read', scope);
  const where = scope !== undefined ? { scope } : readable.includes(ROOT_SCOPE) ? {} : { scope: { in: readable } };
  const rows = await db().roleAssignment.findMany({ where, select: assignmentSelect, orderBy: [{ scope: 'asc' }, { createdAt: 'asc' }] });
  return rows.map((row) => toDto(row, principal));
}

/** The distinct scopes in use, for the scope filter (roleAssignments.read). */
export async function listAssignmentScopes(principal: Principal): Promise<string[]> {
  const readable = scopesWith(principal, 'roleAssignments.read');
  if (readable.length === 0) assertCan(principal, 'roleAssignments.read');
  const rows = await db().roleAssignment.findMany({ distinct: ['scope'], select: { scope: true }, orderBy: { scope: 'asc' } });
  return rows.map((row) => row.scope).filter((scope) => readable.includes(ROOT_SCOPE) || readable.includes(scope));
}

async function principalTarget(tx: Transaction, type: 'user' | 'servicePrincipal', id: string) {
  if (type === 'user') {
    const user = await tx.user.findFirst({ where: { OR: [{ id }, { email: id.toLowerCase() }] }, select: { id: true, email: true } });
    if (!user) throw new AppError('NOT_FOUND', `There is no user "${id}". Create the user first, or check the spelling.`, { principalId: ['Unknown user.'] });
    return { userId: user.id, label: user.email };
  }
  const servicePrincipal = await tx.servicePrincipal.findFirst({
    where: { OR: [{ id }, { clientId: id }] },
    select: { id: true, clientId: true, revokedAt: true },
  });
  if (!servicePrincipal) {
    throw new AppError('NOT_FOUND', `There is no service principal "${id}". Create it first, or check the client id.`, { principalId: ['Unknown service principal.'] });
  }
  if (servicePrincipal.revokedAt) {
    throw new AppError('CONFLICT', `Service principal ${servicePrincipal.clientId} is revoked; create a new one instead.`, { principalId: ['This service principal is revoked.'] });
  }
  return { servicePrincipalId: servicePrincipal.id, label: servicePrincipal.clientId };
}

/** Grants a role at a scope (roleAssignments.write at that scope). */
export async function createRoleAssignment(principal: Principal, raw: unknown): Promise<RoleAssignmentDto> {
  return audited(principal, 'roleAssignment.create', { type: 'roleAssignment' }, async (tx) => {
    const input = parseInput(createRoleAssignmentSchema, raw);
    assertCan(principal, 'roleAssignments.write', input.scope);
    const { label, ...owner } = await principalTarget(tx, input.principalType, input.principalId);
    const duplicate = await tx.roleAssignment.findFirst({ where: { ...owner, role: input.role, scope: input.scope }, select: { id: true } });
    if (duplicate) {
      throw new AppError('CONFLICT', `${label} already has the ${ROLE_LABELS[input.role]} role at ${input.scope}.`, { role: ['Already assigned.'] });
    }
    const row = await tx.roleAssignment.create({
      data: { id: newId('ra'), role: input.role, scope: input.scope, ...owner, createdById: principal.kind === 'user' ? principal.id : null },
      select: assignmentSelect,
    });
    await notifyPrincipalChanged(tx, row.user?.id ?? row.servicePrincipal!.id);
    return {
      result: toDto(row, principal),
      target: { type: 'roleAssignment', id: row.id, label: `${ROLE_LABELS[input.role]} for ${label} at ${input.scope}` },
    };
  });
}

/** Removes a role assignment (roleAssignments.write at its scope). The last Owner stays. */
export async function deleteRoleAssignment(principal: Principal, raw: unknown): Promise<void> {
  await audited(principal, 'roleAssignment.delete', { type: 'roleAssignment' }, async (tx) => {
    const { roleAssignmentId } = parseInput(roleAssignmentIdSchema, raw);
    const row = await tx.roleAssignment.findUnique({ where: { id: roleAssignmentId }, select: assignmentSelect });
    if (!row) throw new AppError('NOT_FOUND', 'That role assignment no longer exists; refresh the page.');
    assertCan(principal, 'roleAssignments.write', row.scope);
    await tx.roleAssignment.delete({ where: { id: row.id } });
    await notifyPrincipalChanged(tx, row.user?.id ?? row.servicePrincipal!.id);
    if (row.role === 'OWNER' && row.scope === ROOT_SCOPE) await assertOwnersRemain(tx);
    const holder = row.user?.email ?? row.servicePrincipal?.clientId ?? 'unknown';
    return { result: undefined, target: { type: 'roleAssignment', id: row.id, label: `${ROLE_LABELS[row.role]} for ${holder} at ${row.scope}` } };
  });
}

/**
 * Fails the surrounding transaction if no enabled user would be left holding Owner at "/".
 * The advisory lock serialises concurrent removals, so two Owners removing each other at
 * the same moment cannot both succeed.
 */
export async function assertOwnersRemain(tx: Transaction): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('sandpool.owners'))`;
  const owners = await tx.roleAssignment.count({
    where: { role: 'OWNER', scope: ROOT_SCOPE, user: { disabledAt: null } },
  });
  if (owners === 0) {
    throw new AppError('CONFLICT', 'This would leave no Owner. Assign the Owner role at "/" to another active user first.');
  }
}
