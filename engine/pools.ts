// Pool configuration as the engine needs it, read straight from Postgres.
import type { IsolationRuntime } from './runtime/types';
import type { Queryable } from './db';

export type PoolConfig = {
  id: string;
  name: string;
  runtime: IsolationRuntime;
  readySessionInstances: number;
  maxConcurrentSessions: number;
  cooldownSeconds: number;
  cpuMillicores: number;
  memoryMiB: number;
  generation: number;
  isDeleting: boolean;
};

const POOL_COLUMNS = `id, name, runtime, ready_session_instances AS "readySessionInstances", max_concurrent_sessions AS "maxConcurrentSessions",
  coalesce(cooldown_period_in_seconds, 300) AS "cooldownSeconds", cpu_millicores AS "cpuMillicores", memory_mib AS "memoryMiB",
  generation, deleting_at IS NOT NULL AS "isDeleting"`;

export async function loadPools(db: Queryable): Promise<PoolConfig[]> {
  return (await db.query<PoolConfig>(`SELECT ${POOL_COLUMNS} FROM session_pools`)).rows;
}

export async function loadPoolByName(db: Queryable, name: string): Promise<PoolConfig | null> {
  return (await db.query<PoolConfig>(`SELECT ${POOL_COLUMNS} FROM session_pools WHERE name = $1`, [name])).rows[0] ?? null;
}

/** Removes a drained pool and its session history. */
export async function forgetPool(db: Queryable, poolId: string): Promise<void> {
  await db.query(`DELETE FROM session_pools WHERE id = $1 AND deleting_at IS NOT NULL`, [poolId]);
}
