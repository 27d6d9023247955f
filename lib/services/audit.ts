import 'server-only';
import type { Principal } from '../auth/access';
import { assertCan } from '../auth/access';
import { db, type Transaction } from '../db';
import { AppError, toAppError } from '../errors';
import type { ActorType, AuditOutcome } from '../generated/prisma/client';

export type AuditTarget = { type: string; id?: string; label?: string };

type AuditRecord = {
  action: string;
  target?: AuditTarget;
  outcome: AuditOutcome;
  message?: string;
  detail?: Record<string, unknown>;
};

const ACTOR_TYPES: Record<Principal['kind'], ActorType> = {
  user: 'USER',
  servicePrincipal: 'SERVICE_PRINCIPAL',
  system: 'SYSTEM',
};

/** Appends one audit event. `actor` null means an unauthenticated caller, labelled by `anonymousLabel`. */
export async function recordAudit(
  actor: Principal | null,
  record: AuditRecord,
  client: Transaction | ReturnType<typeof db> = db(),
  anonymousLabel = 'anonymous',
): Promise<void> {
  await client.auditEvent.create({
    data: {
      actorType: actor ? ACTOR_TYPES[actor.kind] : 'ANONYMOUS',
      actorId: actor && actor.kind !== 'system' ? actor.id : null,
      actorLabel: actor?.label ?? anonymousLabel,
      action: record.action,
      targetType: record.target?.type ?? null,
      targetId: record.target?.id ?? null,
      targetLabel: record.target?.label ?? null,
      outcome: record.outcome,
      message: record.message ?? null,
      detail: record.detail as never,
    },
  });
}

function outcomeOf(error: AppError): AuditOutcome {
  return error.code === 'FORBIDDEN' || error.code === 'UNAUTHORIZED' ? 'DENIED' : 'FAILED';
}

/**
 * Runs a mutation in one transaction and audits it: success is recorded inside the same
 * transaction (so there is never a change without its audit row, nor an audit row for a
 * change that rolled back); refusals and failures are recorded afterwards, on their own.
 */
export async function audited<T>(
  actor: Principal,
  action: string,
  target: AuditTarget | undefined,
  mutate: (tx: Transaction) => Promise<{ result: T; target?: AuditTarget; detail?: Record<string, unknown> }>,
): Promise<T> {
  try {
    return await db().$transaction(async (tx) => {
      const { result, target: finalTarget, detail } = await mutate(tx);
      await recordAudit(actor, { action, target: finalTarget ?? target, outcome: 'SUCCESS', detail }, tx);
      return result;
    });
  } catch (error) {
    const appError = toAppError(error);
    if (appError.code === 'INTERNAL') console.error(`[audit] ${action} failed`, error);
    await recordAudit(actor, { action, target, outcome: outcomeOf(appError), message: appError.message }).catch(
      (auditError: unknown) => console.error('[audit] could not record a failure', auditError),
    );
    throw appError;
  }
}

/** Records a refusal that happened before any service ran (for example in a guard). */
export async function recordDenied(actor: Principal | null, action: string, message: string): Promise<void> {
  await recordAudit(actor, { action, outcome: 'DENIED', message }).catch((error: unknown) =>
    console.error('[audit] could not record a denial', error),
  );
}

export type AuditEventDto = {
  id: string;
  at: Date;
  actorType: ActorType;
  actorLabel: string;
  action: string;
  targetType: string | null;
  targetLabel: string | null;
  outcome: AuditOutcome;
  message: string | null;
};

/** Newest first, `limit` at a time, before the event id `before` (audit.read). */
export async function listAuditEvents(
  principal: Principal,
  options: { before?: string; limit?: number; outcome?: AuditOutcome } = {},
): Promise<{ events: AuditEventDto[]; nextBefore: string | null }> {
  assertCan(principal, 'audit.read');
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 200);
  let before: bigint | undefined;
  if (options.before !== undefined) {
    if (!/^\d{1,19}$/.test(options.before)) throw new AppError('BAD_REQUEST', 'The page cursor is not valid; go back to the first page.');
    before = BigInt(options.before);
  }
  const rows = await db().auditEvent.findMany({
    where: { ...(before !== undefined ? { id: { lt: before } } : {}), ...(options.outcome ? { outcome: options.outcome } : {}) },
    orderBy: { id: 'desc' },
    take: limit + 1,
    select: {
      id: true,
      at: true,
      actorType: true,
      actorLabel: true,
      action: true,
      targetType: true,
      targetLabel: true,
      outcome: true,
      message: true,
    },
  });
  const page = rows.slice(0, limit).map((row) => ({ ...row, id: row.id.toString() }));
  return { events: page, nextBefore: rows.length > limit ? page[page.length - 1]!.id : null };
}
