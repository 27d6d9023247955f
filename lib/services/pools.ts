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
import { createPoolSchema, poolSettingsSchema, updatePoolSchema } from '../validations/pool';
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

/**
 * Changes a pool (pools.write). Changes to what a sandbox is made of (isolation, CPU, memory)
 * start a new generation: ready sessions are replaced, allocated ones keep running untouched.
 */
export async function updatePool(principal: Principal, name: string, raw: unknown): Promise<PoolDto> {
  return audited(principal, 'pool.update', { type: 'pool', label: name }, async (tx) => {
    assertCan(principal, 'pools.write', poolScope(name));
    const changes = parseInput(updatePoolSchema, raw);
    const pool = await findPool(tx, name);
    if (pool.deletingAt) throw new AppError('CONFLICT', `Pool "${name}" is being deleted and can no longer change.`);
    const current = toDto(pool, { pending: 0, ready: 0, allocated: 0, deleting: 0 });
    const next = parseInput(poolSettingsSchema, { ...current, ...Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)) });
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
    return { result: toDto(updated, counts), target: { type: 'pool', id: pool.id, label: name }, detail: { changes, newGeneration: reshapesSandboxes } };
  });
}

/** Deletes a pool: the engine drains and deletes every session, then the pool (pools.write). */
export async function deletePool(principal: Principal, name: string): Promise<PoolDto> {
  return audited(principal, 'pool.delete', { type: 'pool', label: name }, async (tx) => {
    assertCan(principal, 'pools.write', poolScope(name));
    const pool = await findPool(tx, name);
    if (pool.deletingAt) throw new AppError('CONFLICT', `Pool "${name}" is already being deleted.`);
    const updated = await tx.sessionPool.update({ where: { id: pool.id }, data: { deletingAt: new Date() } });
    await notifyEngine(tx, pool.id);
    const counts = (await sessionCounts([pool.id])).get(pool.id)!;
    return { result: toDto(updated, counts), target: { type: 'pool', id: pool.id, label: name } };
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
