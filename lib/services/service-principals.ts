import 'server-only';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Principal } from '../auth/access';
import { assertCan } from '../auth/access';
import { hashSecret, verifyAgainstDecoy, verifySecret } from '../auth/password';
import { db } from '../db';
import { AppError } from '../errors';
import { newId } from '../ids';
import { parseInput } from '../validations/common';
import { createServicePrincipalSchema, servicePrincipalIdSchema } from '../validations/service-principal';
import { audited, recordAudit } from './audit';
import { notifyPrincipalChanged } from './principal-events';

// A recognisable prefix lets secret scanners (and people) spot a leaked secret.
const SECRET_PREFIX = 'spsec_';
const DAY_MS = 86_400_000;

export type ServicePrincipalDto = {
  id: string;
  clientId: string;
  displayName: string;
  secretHint: string;
  status: 'active' | 'expired' | 'revoked';
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
  createdBy: string | null;
  roles: { role: string; scope: string }[];
};

const servicePrincipalSelect = {
  id: true,
  clientId: true,
  displayName: true,
  secretHint: true,
  expiresAt: true,
  revokedAt: true,
  lastUsedAt: true,
  createdAt: true,
  createdBy: { select: { email: true } },
  roleAssignments: { select: { role: true, scope: true }, orderBy: { createdAt: 'asc' as const } },
};

type Row = {
  id: string;
  clientId: string;
  displayName: string;
  secretHint: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
  createdBy: { email: string } | null;
  roleAssignments: { role: string; scope: string }[];
};

function statusOf(row: { revokedAt: Date | null; expiresAt: Date | null }, now = new Date()): ServicePrincipalDto['status'] {
  if (row.revokedAt) return 'revoked';
  if (row.expiresAt && row.expiresAt <= now) return 'expired';
  return 'active';
}

function toDto(row: Row): ServicePrincipalDto {
  return {
    id: row.id,
    clientId: row.clientId,
    displayName: row.displayName,
    secretHint: row.secretHint,
    status: statusOf(row),
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
    createdAt: row.createdAt,
    createdBy: row.createdBy?.email ?? null,
    roles: row.roleAssignments,
  };
}

export type CreatedServicePrincipal = { servicePrincipal: ServicePrincipalDto; clientSecret: string };

/** Creates a service principal and returns its secret — the only time it is ever shown (principals.write). */
export async function createServicePrincipal(principal: Principal, raw: unknown): Promise<CreatedServicePrincipal> {
  return audited(principal, 'servicePrincipal.create', { type: 'servicePrincipal' }, async (tx) => {
    assertCan(principal, 'principals.write');
    const input = parseInput(createServicePrincipalSchema, raw);
    const clientSecret = SECRET_PREFIX + randomBytes(32).toString('base64url');
    const row = await tx.servicePrincipal.create({
      data: {
        id: newId('sp'),
        clientId: randomUUID(),
        displayName: input.displayName,
        secretHash: await hashSecret(clientSecret),
        secretHint: clientSecret.slice(-4),
        expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * DAY_MS) : null,
        createdById: principal.kind === 'user' ? principal.id : null,
      },
      select: servicePrincipalSelect,
    });
    return {
      result: { servicePrincipal: toDto(row), clientSecret },
      target: { type: 'servicePrincipal', id: row.id, label: `${row.displayName} (${row.clientId})` },
    };
  });
}

/** Every service principal, newest first (principals.read). */
export async function listServicePrincipals(principal: Principal): Promise<ServicePrincipalDto[]> {
  assertCan(principal, 'principals.read');
  const rows = await db().servicePrincipal.findMany({ select: servicePrincipalSelect, orderBy: { createdAt: 'desc' } });
  return rows.map(toDto);
}

/** Revokes a service principal: its secret and every token it holds stop working (principals.write). */
export async function revokeServicePrincipal(principal: Principal, raw: unknown): Promise<ServicePrincipalDto> {
  return audited(principal, 'servicePrincipal.revoke', { type: 'servicePrincipal' }, async (tx) => {
    assertCan(principal, 'principals.write');
    const { servicePrincipalId } = parseInput(servicePrincipalIdSchema, raw);
    const existing = await tx.servicePrincipal.findFirst({
      where: { OR: [{ id: servicePrincipalId }, { clientId: servicePrincipalId }] },
      select: { id: true, revokedAt: true },
    });
    if (!existing) throw new AppError('NOT_FOUND', 'That service principal does not exist; check the id.');
    if (existing.revokedAt) throw new AppError('CONFLICT', 'That service principal is already revoked.');
    const row = await tx.servicePrincipal.update({ where: { id: existing.id }, data: { revokedAt: new Date() }, select: servicePrincipalSelect });
    await notifyPrincipalChanged(tx, row.id);
    return { result: toDto(row), target: { type: 'servicePrincipal', id: row.id, label: `${row.displayName} (${row.clientId})` } };
  });
}

/** Why a client-credentials request was refused, in OAuth2's vocabulary. */
export class ClientAuthenticationError extends Error {
  constructor(
    readonly reason: 'unknown_client' | 'invalid_secret' | 'revoked' | 'expired',
    message: string,
  ) {
    super(message);
    this.name = 'ClientAuthenticationError';
  }
}

/**
 * Checks a client id and secret. Revocation and expiry are only revealed to a caller who
 * knows the secret; anyone else learns nothing beyond "invalid client".
 */
export async function authenticateClient(clientId: string, clientSecret: string): Promise<{ id: string; clientId: string }> {
  const row = /^[0-9a-f-]{36}$/i.test(clientId)
    ? await db().servicePrincipal.findUnique({
        where: { clientId: clientId.toLowerCase() },
        select: { id: true, clientId: true, secretHash: true, revokedAt: true, expiresAt: true },
      })
    : null;
  const isValid = row ? await verifySecret(row.secretHash, clientSecret) : await verifyAgainstDecoy(clientSecret);
  let failure: ClientAuthenticationError | undefined;
  if (!row) failure = new ClientAuthenticationError('unknown_client', `Application with identifier '${clientId}' was not found. Check the client_id, or create a service principal with \`sandpool sp create\`.`);
  else if (!isValid) failure = new ClientAuthenticationError('invalid_secret', 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client id.');
  else if (row.revokedAt) failure = new ClientAuthenticationError('revoked', 'This service principal was revoked. Create a new one and use its secret.');
  else if (row.expiresAt && row.expiresAt <= new Date()) failure = new ClientAuthenticationError('expired', `The client secret expired on ${row.expiresAt.toISOString()}. Create a new service principal or secret.`);
  if (failure) {
    await recordAudit(null, { action: 'auth.token', target: { type: 'servicePrincipal', id: row?.id, label: clientId }, outcome: 'DENIED', message: failure.reason }, db(), clientId);
    throw failure;
  }
  await db().servicePrincipal.update({ where: { id: row!.id }, data: { lastUsedAt: new Date() } });
  return { id: row!.id, clientId: row!.clientId };
}
