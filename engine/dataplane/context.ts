// What every data-plane route shares: the pool path, the caller's authorization, finding or
// allocating the identifier's session, and turning failures into Azure's error shape.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { can, type Principal } from '../../lib/auth/access';
import { poolScope } from '../../lib/auth/scope';
import { AppError } from '../../lib/errors';
import { bearerTokenFrom, verifyAccessToken } from '../../lib/tokens/access-token';
import { DATA_PLANE_AUDIENCE } from '../../lib/tokens/audiences';
import { loadPoolByName, type PoolConfig } from '../pools';
import type { SandboxManager } from '../sandboxes';
import { allocateSession } from '../sessions/store';
import { sendError } from '../server';
import { DataPlaneError } from './requests';

export { DataPlaneError };

export const POOL_PATH = '/subscriptions/:subscriptionId/resourceGroups/:resourceGroupName/sessionPools/:poolName';
/** How long a request for a new identifier waits for a sandbox when the pool is momentarily empty. */
const READY_WAIT_MS = 60_000;

export type DataPlaneDeps = {
  db: pg.Pool;
  sandboxes: SandboxManager;
  /** Asks the reconciler for a pass now (refill right after an allocation). */
  nudge: () => void;
  busy: BusySessions;
};

/** Sessions with a request in flight, so cooldown and health checks leave them alone. */
export class BusySessions {
  private readonly counts = new Map<string, number>();
  enter(id: string): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }
  leave(id: string): void {
    const count = (this.counts.get(id) ?? 1) - 1;
    if (count <= 0) this.counts.delete(id);
    else this.counts.set(id, count);
  }
  ids(): string[] {
    return [...this.counts.keys()];
  }
}

export type PoolParams = { subscriptionId: string; resourceGroupName: string; poolName: string };

export async function authorize(request: FastifyRequest<{ Params: PoolParams }>, db: pg.Pool): Promise<{ principal: Principal; pool: PoolConfig }> {
  const principal = await verifyAccessToken(bearerTokenFrom(request.headers.authorization ?? null), DATA_PLANE_AUDIENCE);
  const { poolName } = request.params;
  if (!can(principal, 'sessions.execute', poolScope(poolName))) {
    throw new DataPlaneError(403, 'Forbidden', `This caller has no Session Executor role on pool "${poolName}". Ask an Owner to assign one at /sessionPools/${poolName} or at "/".`);
  }
  const pool = await loadPoolByName(db, poolName);
  if (!pool || pool.isDeleting) throw new DataPlaneError(404, 'NotFound', `There is no session pool named "${poolName}".`);
  return { principal, pool };
}

export function sendFailure(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof DataPlaneError) return sendError(reply, error.status, error.code, error.message);
  if (error instanceof AppError && error.code === 'UNAUTHORIZED') return sendError(reply, 401, 'Unauthorized', error.message, { 'www-authenticate': 'Bearer' });
  throw error;
}

/** Finds or allocates the identifier's session, waiting briefly for a sandbox when the pool is empty. */
export async function sessionFor(deps: DataPlaneDeps, pool: PoolConfig, identifier: string): Promise<string> {
  const deadline = Date.now() + READY_WAIT_MS;
  for (;;) {
    const allocation = await allocateSession(deps.db, {
      poolId: pool.id,
      identifier,
      cooldownSeconds: pool.cooldownSeconds,
      maxConcurrentSessions: pool.maxConcurrentSessions,
    });
    if (allocation.kind === 'claimed') deps.nudge();
    if (allocation.kind === 'claimed' || allocation.kind === 'existing') return allocation.sessionId;
    if (allocation.kind === 'atCapacity') {
      throw new DataPlaneError(
        429,
        'SessionPoolCapacityReached',
        `Pool "${pool.name}" already has its maximum of ${pool.maxConcurrentSessions} sessions. Delete sessions you no longer need, wait for idle ones to cool down (${pool.cooldownSeconds} s), or raise maxConcurrentSessions.`,
      );
    }
    deps.nudge();
    if (Date.now() > deadline) {
      throw new DataPlaneError(503, 'SessionPoolNotReady', `No sandbox in pool "${pool.name}" became ready within ${READY_WAIT_MS / 1000} s. Try again; if it persists, check the engine's log.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
