import 'server-only';
import type { Principal } from '../auth/access';
import { assertCan, scopesWith } from '../auth/access';
import { poolScope, ROOT_SCOPE } from '../auth/scope';
import { db, type Transaction } from '../db';
import { AppError } from '../errors';
import type { IsolationRuntime, SessionPool } from '../generated/prisma/client';
import { newId } from '../ids';
import { poolManagementEndpoint } from '../pools/endpoint';
import { parseInput } from '../validations/common';
import { createPoolSchema, poolSettingsSchema, updatePoolSchema, type PoolSettings, type UpdatePoolInput } from '../validations/pool';
import { audited } from './audit';
import { POOL_CHANGED_CHANNEL } from './pool-events';

export type PoolDto = {
  id: string;
  name: string;
  containerType: 'PythonLTS';
  isolation: 'gVisor' | 'runc';
  maxConcurrentSessions: number;
  readySessionInstances: number;
  cooldownPeriodInSeconds: number;
  networkStatus: 'EgressDisabled';
  cpu: number;
  memoryGi: number;
  generation: number;
  provisioningState: 'Succeeded' | 'Deleting';
  poolManagementEndpoint: string;
  sessions: { pending: number; ready: number; allocated: number; deleting: number };
  createdAt: Date;
  updatedAt: Date;
};

const ISOLATION: Record<IsolationRuntime, PoolDto['isolation']> = { GVISOR: 'gVisor', RUNC_HARDENED: 'runc' };
const RUNTIME: Record<PoolDto['isolation'], IsolationRuntime> = { gVisor: 'GVISOR', runc: 'RUNC_HARDENED' };

type SessionCounts = PoolDto['sessions'];

function toDto(pool: SessionPool, sessions: SessionCounts): PoolDto {
  return {
    id: pool.id,
    name: pool.name,
    containerType: 'PythonLTS',
    isolation: ISOLATION[pool.runtime],
    maxConcurrentSessions: pool.maxConcurrentSessions,
    readySessionInstances: pool.readySessionInstances,
    cooldownPeriodInSeconds: pool.cooldownPeriodInSeconds ?? 300,
    networkStatus: 'EgressDisabled',
    cpu: pool.cpuMillicores / 1000,
    memoryGi: pool.memoryMiB / 1024,
    generation: pool.generation,
    provisioningState: pool.deletingAt ? 'Deleting' : 'Succeeded',
    poolManagementEndpoint: poolManagementEndpoint(pool.name),
    sessions,
    createdAt: pool.createdAt,
    updatedAt: pool.updatedAt,
  };
}

async function sessionCounts(poolIds: string[]): Promise<Map<string, SessionCounts>> {
  const rows = await db().session.groupBy({
    by: ['poolId', 'state'],
    where: { poolId: { in: poolIds }, state: { in: ['PENDING', 'READY', 'ALLOCATED', 'DELETING'] } },
    _count: { _all: true },
  });
  const counts = new Map<string, SessionCounts>(poolIds.map((id) => [id, { pending: 0, ready: 0, allocated: 0, deleting: 0 }]));
  for (const row of rows) {
    const entry = counts.get(row.poolId)!;
    entry[row.state.toLowerCase() as keyof SessionCounts] = row._count._all;
  }
  return counts;
}

function notifyEngine(tx: Transaction, poolId: string) {
  // Delivered when the transaction commits, so the engine never sees a change that rolled back.
  return tx.$executeRaw`SELECT pg_notify(${POOL_CHANGED_CHANNEL}, ${poolId})`;
}

async function findPool(tx: Transaction | ReturnType<typeof db>, name: string): Promise<SessionPool> {
  const pool = await tx.sessionPool.findUnique({ where: { name } });
  if (!pool) throw new AppError('NOT_FOUND', `There is no session pool named "${name}".`);
  return pool;
}

function poolNameOf(raw: unknown): string | undefined {
  if (raw instanceof FormData) return String(raw.get('name') ?? '') || undefined;
  if (typeof raw === 'object' && raw !== null && 'name' in raw) return String((raw as { name: unknown }).name);
  return undefined;
}

/** Creates a pool; the engine starts filling it at once (pools.write at the pool's scope). */
export async function createPool(principal: Principal, raw: unknown): Promise<PoolDto> {
  return audited(principal, 'pool.create', { type: 'pool', label: poolNameOf(raw) }, async (tx) => {
    const input = parseInput(createPoolSchema, raw);
    assertCan(principal, 'pools.write', poolScope(input.name));
    const existing = await tx.sessionPool.findUnique({ where: { name: input.name }, select: { deletingAt: true } });
    if (existing) {
      throw new AppError(
        'CONFLICT',
        existing.deletingAt ? `Pool "${input.name}" is still being deleted; try again in a few seconds.` : `A pool named "${input.name}" already exists.`,
        { name: ['This name is taken.'] },
      );
    }
    const pool = await tx.sessionPool.create({
      data: {
        id: newId('pool'),
        name: input.name,
        containerType: 'PYTHON_LTS',
        runtime: RUNTIME[input.isolation],
        maxConcurrentSessions: input.maxConcurrentSessions,
        readySessionInstances: input.readySessionInstances,
        lifecycleType: 'TIMED',
        cooldownPeriodInSeconds: input.cooldownPeriodInSeconds,
        networkStatus: 'EGRESS_DISABLED',
        cpuMillicores: Math.round(input.cpu * 1000),
        memoryMiB: Math.round(input.memoryGi * 1024),
      },
    });
    await notifyEngine(tx, pool.id);
    return { result: toDto(pool, { pending: 0, ready: 0, allocated: 0, deleting: 0 }), target: { type: 'pool', id: pool.id, label: pool.name } };
  });
}

type PoolSetting = keyof PoolSettings;

function givenOnly(changes: UpdatePoolInput): Partial<PoolSettings> {
  return Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
}

/**
 * Applies changes to a pool (pools.write): `merge` turns the current settings and the given
 * changes into the next settings, which are validated as a whole. Changes to what a sandbox is
 * made of (isolation, CPU, memory) start a new generation: ready sessions are replaced,
 * allocated ones keep running untouched.
 */
async function changePool(
  principal: Principal,
  name: string,
  raw: unknown,
  merge: (current: PoolSettings, changes: Partial<PoolSettings>) => Partial<PoolSettings>,
  detail: Record<string, unknown> = {},
): Promise<PoolDto> {
  return audited(principal, 'pool.update', { type: 'pool', label: name }, async (tx) => {
    assertCan(principal, 'pools.write', poolScope(name));
    const changes = parseInput(updatePoolSchema, raw);
    const pool = await findPool(tx, name);
    if (pool.deletingAt) throw new AppError('CONFLICT', `Pool "${name}" is being deleted and can no longer change.`);
    const current = toDto(pool, { pending: 0, ready: 0, allocated: 0, deleting: 0 });
    const next = parseInput(poolSettingsSchema, merge(current, givenOnly(changes)));
    const reshapesSandboxes = next.isolation !== current.isolation || next.cpu !== current.cpu || next.memoryGi !== current.memoryGi;
    const updated = await tx.sessionPool.update({
      where: { id: pool.id },
      data: {
        runtime: RUNTIME[next.isolation],
        maxConcurrentSessions: next.maxConcurrentSessions,
        readySessionInstances: next.readySessionInstances,
        cooldownPeriodInSeconds: next.cooldownPeriodInSeconds,
        cpuMillicores: Math.round(next.cpu * 1000),
        memoryMiB: Math.round(next.memoryGi * 1024),
        generation: reshapesSandboxes ? { increment: 1 } : undefined,
      },
    });
    await notifyEngine(tx, pool.id);
    const counts = (await sessionCounts([pool.id])).get(pool.id)!;
    return { result: toDto(updated, counts), target: { type: 'pool', id: pool.id, label: name }, detail: { changes, newGeneration: reshapesSandboxes, ...detail } };
  });
}

/** Changes the given settings of a pool and keeps the others (pools.write). */
export async function updatePool(principal: Principal, name: string, raw: unknown): Promise<PoolDto> {
  return changePool(principal, name, raw, (current, changes) => ({ ...current, ...changes }));
}

/**
 * Creates the pool `raw.name`, or replaces the settings of the existing one, as Azure's PUT
 * does (pools.write): settings left out go back to their defaults, except those in `kept`,
 * which keep their current value. Azure tooling cannot know Sandpool's own settings
 * (isolation, CPU, memory), so a PUT from it must not reset them.
 */
export async function createOrReplacePool(
  principal: Principal,
  raw: Record<string, unknown>,
  kept: readonly PoolSetting[],
): Promise<{ pool: PoolDto; created: boolean }> {
  const name = typeof raw.name === 'string' ? raw.name.trim() : '';
  if (!(await db().sessionPool.findUnique({ where: { name }, select: { id: true } }))) {
    try {
      return { pool: await createPool(principal, raw), created: true };
    } catch (error) {
      // Created by someone else in the meantime: replace it, as if it had been there all along.
      if (!(error instanceof AppError && error.code === 'CONFLICT')) throw error;
    }
  }
  const keepCurrent = (current: PoolSettings) => Object.fromEntries(kept.map((setting) => [setting, current[setting]]));
  const pool = await changePool(principal, name, raw, (current, changes) => ({ ...keepCurrent(current), ...changes }), { replaced: true });
  return { pool, created: false };
}

/**
 * Deletes a pool: the engine drains and deletes every session, then the pool (pools.write).
 * Asking again while the deletion runs is refused, unless `idempotent` (Azure's DELETE), which
 * returns the pool being deleted.
 */
export async function deletePool(principal: Principal, name: string, options: { idempotent?: boolean } = {}): Promise<PoolDto> {
  return audited(principal, 'pool.delete', { type: 'pool', label: name }, async (tx) => {
    assertCan(principal, 'pools.write', poolScope(name));
    const pool = await findPool(tx, name);
    const target = { type: 'pool', id: pool.id, label: name };
    if (pool.deletingAt) {
      if (!options.idempotent) throw new AppError('CONFLICT', `Pool "${name}" is already being deleted.`);
      const counts = (await sessionCounts([pool.id])).get(pool.id)!;
      return { result: toDto(pool, counts), target, detail: { alreadyDeleting: true } };
    }
    const updated = await tx.sessionPool.update({ where: { id: pool.id }, data: { deletingAt: new Date() } });
    await notifyEngine(tx, pool.id);
    const counts = (await sessionCounts([pool.id])).get(pool.id)!;
    return { result: toDto(updated, counts), target };
  });
}

/** Which pools the viewer may see; refuses outright a viewer with pools.read nowhere. */
function poolVisibility(principal: Principal): (poolName: string) => boolean {
  const scopes = scopesWith(principal, 'pools.read');
  if (scopes.length === 0) assertCan(principal, 'pools.read');
  return (poolName) => scopes.includes(ROOT_SCOPE) || scopes.includes(poolScope(poolName));
}

/** One pool (pools.read on it). */
export async function getPool(principal: Principal, name: string): Promise<PoolDto> {
  assertCan(principal, 'pools.read', poolScope(name));
  const pool = await findPool(db(), name);
  return toDto(pool, (await sessionCounts([pool.id])).get(pool.id)!);
}

/** The pool with this id (pools.read on it), or null once it is gone: for following a deletion. */
export async function findPoolById(principal: Principal, id: string): Promise<PoolDto | null> {
  const pool = await db().sessionPool.findUnique({ where: { id } });
  if (!pool) return null;
  assertCan(principal, 'pools.read', poolScope(pool.name));
  return toDto(pool, (await sessionCounts([pool.id])).get(pool.id)!);
}

/** The pools the viewer may see (pools.read), by name. */
export async function listPools(principal: Principal): Promise<PoolDto[]> {
  const isVisible = poolVisibility(principal);
  const pools = (await db().sessionPool.findMany({ orderBy: { name: 'asc' } })).filter((pool) => isVisible(pool.name));
  const counts = await sessionCounts(pools.map((pool) => pool.id));
  return pools.map((pool) => toDto(pool, counts.get(pool.id)!));
}

/** Names of the pools the viewer may see (pools.read), for pickers: no session counts needed. */
export async function listPoolNames(principal: Principal): Promise<string[]> {
  const isVisible = poolVisibility(principal);
  const pools = await db().sessionPool.findMany({ select: { name: true }, orderBy: { name: 'asc' } });
  return pools.map((pool) => pool.name).filter(isVisible);
}
