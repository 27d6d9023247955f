import 'server-only';
import { randomBytes } from 'node:crypto';
import type { Principal } from '../auth/access';
import { assertCan, HOST_OPERATOR } from '../auth/access';
import { hashSecret, verifyAgainstDecoy, verifySecret } from '../auth/password';
import { ROOT_SCOPE } from '../auth/scope';
import { db, type Transaction } from '../db';
import { AppError } from '../errors';
import { newId } from '../ids';
import { parseInput } from '../validations/common';
import { changePasswordSchema, createUserSchema, emailSchema, passwordSchema, resetPasswordSchema, signInSchema, userIdSchema } from '../validations/user';
import { audited, recordAudit } from './audit';
import { assertOwnersRemain } from './role-assignments';

export type UserDto = {
  id: string;
  email: string;
  displayName: string;
  disabled: boolean;
  lastSignInAt: Date | null;
  createdAt: Date;
  roles: { role: string; scope: string }[];
};

const userSelect = {
  id: true,
  email: true,
  displayName: true,
  disabledAt: true,
  lastSignInAt: true,
  createdAt: true,
  roleAssignments: { select: { role: true, scope: true }, orderBy: { createdAt: 'asc' as const } },
};

function toUserDto(user: {
  id: string;
  email: string;
  displayName: string;
  disabledAt: Date | null;
  lastSignInAt: Date | null;
  createdAt: Date;
  roleAssignments: { role: string; scope: string }[];
}): UserDto {
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    disabled: user.disabledAt !== null,
    lastSignInAt: user.lastSignInAt,
    createdAt: user.createdAt,
    roles: user.roleAssignments,
  };
}

function defaultDisplayName(email: string): string {
  return email.split('@')[0] ?? email;
}

async function insertUser(tx: Transaction, input: { email: string; displayName?: string; password: string }, createdById: string | null) {
  const existing = await tx.user.findUnique({ where: { email: input.email }, select: { id: true } });
  if (existing) throw new AppError('CONFLICT', `A user with the email ${input.email} already exists.`, { email: ['This email is already taken.'] });
  return tx.user.create({
    data: {
      id: newId('usr'),
      email: input.email,
      displayName: input.displayName ?? defaultDisplayName(input.email),
      passwordHash: await hashSecret(input.password),
      createdById,
    },
    select: userSelect,
  });
}

/** Creates a user who can sign in (principals.write). */
export async function createUser(principal: Principal, raw: unknown): Promise<UserDto> {
  return audited(principal, 'user.create', { type: 'user', label: emailLabel(raw) }, async (tx) => {
    assertCan(principal, 'principals.write');
    const input = parseInput(createUserSchema, raw);
    const user = await insertUser(tx, input, principal.kind === 'user' ? principal.id : null);
    return { result: toUserDto(user), target: { type: 'user', id: user.id, label: user.email } };
  });
}

function emailLabel(raw: unknown): string | undefined {
  if (raw instanceof FormData) return String(raw.get('email') ?? '') || undefined;
  if (typeof raw === 'object' && raw !== null && 'email' in raw) return String((raw as { email: unknown }).email);
  return undefined;
}

/** Every user, oldest first (principals.read). */
export async function listUsers(principal: Principal): Promise<UserDto[]> {
  assertCan(principal, 'principals.read');
  const users = await db().user.findMany({ select: userSelect, orderBy: { createdAt: 'asc' } });
  return users.map(toUserDto);
}

/** Disables or re-enables a user; a disabled user cannot sign in (principals.write). */
export async function setUserDisabled(principal: Principal, raw: unknown, disabled: boolean): Promise<UserDto> {
  const action = disabled ? 'user.disable' : 'user.enable';
  return audited(principal, action, { type: 'user' }, async (tx) => {
    assertCan(principal, 'principals.write');
    const { userId } = parseInput(userIdSchema, raw);
    if (disabled && principal.kind === 'user' && principal.id === userId) {
      throw new AppError('CONFLICT', 'You cannot disable your own account. Ask another Owner to do it.');
    }
    const user = await tx.user.update({ where: { id: userId }, data: { disabledAt: disabled ? new Date() : null }, select: userSelect });
    const isOwner = user.roleAssignments.some((assignment) => assignment.role === 'OWNER' && assignment.scope === ROOT_SCOPE);
    if (disabled && isOwner) await assertOwnersRemain(tx);
    return { result: toUserDto(user), target: { type: 'user', id: user.id, label: user.email } };
  });
}

/** Changes the signed-in user's own password; their other sessions end. */
export async function changeOwnPassword(principal: Principal, raw: unknown): Promise<void> {
  await audited(principal, 'user.changePassword', { type: 'user', id: principal.id, label: principal.label }, async (tx) => {
    if (principal.kind !== 'user') throw new AppError('FORBIDDEN', 'Only people who sign in with a password can change one.');
    const input = parseInput(changePasswordSchema, raw);
    const user = await tx.user.findUniqueOrThrow({ where: { id: principal.id }, select: { passwordHash: true, email: true } });
    if (!(await verifySecret(user.passwordHash, input.currentPassword))) {
      throw new AppError('BAD_REQUEST', 'Your current password is not right.', { currentPassword: ['This is not your current password.'] });
    }
    if (input.newPassword.toLowerCase() === user.email) {
      throw new AppError('BAD_REQUEST', 'The password must not be your email address.', { newPassword: ['Must not be your email address.'] });
    }
    await tx.user.update({
      where: { id: principal.id },
      data: { passwordHash: await hashSecret(input.newPassword), passwordChangedAt: new Date() },
    });
    return { result: undefined };
  });
}

/** Sets another user's password and ends their sessions (principals.write). */
export async function resetUserPassword(principal: Principal, raw: unknown): Promise<void> {
  await audited(principal, 'user.resetPassword', { type: 'user', label: emailLabel(raw) }, async (tx) => {
    assertCan(principal, 'principals.write');
    const input = parseInput(resetPasswordSchema, raw);
    const user = await tx.user.findUnique({ where: { email: input.email }, select: { id: true } });
    if (!user) throw new AppError('NOT_FOUND', `There is no user with the email ${input.email}.`);
    await tx.user.update({
      where: { id: user.id },
      data: { passwordHash: await hashSecret(input.password), passwordChangedAt: new Date() },
    });
    return { result: undefined, target: { type: 'user', id: user.id, label: input.email } };
  });
}

/**
 * Checks an email and password. Returns the user id, or null for any failure — the caller
 * shows one generic message so nobody learns which accounts exist.
 */
export async function authenticateUser(raw: unknown): Promise<{ id: string; email: string; name: string } | null> {
  const parsed = signInSchema.safeParse(raw);
  if (!parsed.success) return null;
  const { email, password } = parsed.data;
  const user = await db().user.findUnique({
    where: { email },
    select: { id: true, email: true, displayName: true, disabledAt: true, passwordHash: true },
  });
  const isValid = user ? await verifySecret(user.passwordHash, password) : await verifyAgainstDecoy(password);
  if (!user || !isValid || user.disabledAt) {
    const reason = !user ? 'unknown email' : !isValid ? 'wrong password' : 'account disabled';
    await recordAudit(null, { action: 'auth.signIn', target: { type: 'user', id: user?.id, label: email }, outcome: 'DENIED', message: reason }, db(), email);
    return null;
  }
  await db().user.update({ where: { id: user.id }, data: { lastSignInAt: new Date() } });
  return { id: user.id, email: user.email, name: user.displayName };
}

export type BootstrapResult = { created: false } | { created: true; email: string; generatedPassword?: string };

/**
 * Creates the first Owner when the installation has none. With no password given, one is
 * generated and returned so the caller can print it once.
 */
export async function bootstrapOwner(options: { email?: string; password?: string }): Promise<BootstrapResult> {
  const email = parseInput(emailSchema, options.email ?? 'admin@sandpool.local');
  const generatedPassword = options.password ? undefined : randomBytes(18).toString('base64url');
  const password = parseInput(passwordSchema, options.password ?? generatedPassword);
  const created = await db().$transaction(async (tx) => {
    // Two starts racing on a fresh database must not create two first Owners.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('sandpool.bootstrap-owner'))`;
    const owners = await tx.roleAssignment.count({ where: { role: 'OWNER', scope: ROOT_SCOPE, userId: { not: null } } });
    if (owners > 0) return false;
    const existing = await tx.user.findUnique({ where: { email }, select: { id: true } });
    const userId = existing?.id ?? (await insertUser(tx, { email, password }, null)).id;
    if (existing) {
      await tx.user.update({
        where: { id: userId },
        data: { passwordHash: await hashSecret(password), passwordChangedAt: new Date(), disabledAt: null },
      });
    }
    await tx.roleAssignment.create({ data: { id: newId('ra'), role: 'OWNER', scope: ROOT_SCOPE, userId } });
    await recordAudit(HOST_OPERATOR, { action: 'user.bootstrapOwner', target: { type: 'user', id: userId, label: email }, outcome: 'SUCCESS' }, tx);
    return true;
  });
  if (!created) return { created: false };
  return { created: true, email, generatedPassword };
}
