// The engine's control loop: every pass reads every pool and its sessions from Postgres, asks
// the planner what each pool needs, and starts or removes sandboxes (with bounded concurrency).
// It also expires idle sessions, health-checks live ones, and — once, at start — reconciles
// Postgres with containerd's own list after a crash.
import pLimit from 'p-limit';
import type pg from 'pg';
import type { SessionState } from '../../lib/lifecycle/transitions';
import { forgetPool, loadPools, type PoolConfig } from '../pools';
import type { SandboxManager } from '../sandboxes';
import type { SandboxRuntime } from '../runtime/types';
import { listExpiredSessions, listUnfinishedSessions, transitionSession, type SessionRow } from '../sessions/store';
import { planPool, type SessionView } from './planner';

export type ReconcilerDeps = {
  db: pg.Pool;
  runtime: SandboxRuntime;
  sandboxes: SandboxManager;
  /** Sessions with an execution in flight: never expired or health-failed mid-request. */
  busySessions: () => string[];
  log: (message: string) => void;
  passIntervalMs?: number;
  healthIntervalMs?: number;
  /** Sandboxes started at once. Starting is CPU-bound (runtime + Python start-up) on 2 cores. */
  startConcurrency?: number;
  /** How long the data plane has had no request in flight (0 while one is); see REFILL_QUIET_MS. */
  trafficQuietForMs?: () => number;
};

const LIVE: SessionState[] = ['PENDING', 'READY', 'ALLOCATED'];
/** After failed starts, a pool waits before trying again: 1 s, 2 s, 4 s … up to a minute. */
const MAX_START_BACKOFF_MS = 60_000;
/**
 * Refill yields to traffic: while requests are in flight, and for this long after the last one,
 * a pool with at least half its ready sessions left starts no new sandbox. A start costs ~2 CPU
 * seconds (runc, then Python and its preloads) and on 2 cores it slowed every request of a
 * burst several-fold; a burst of new identifiers is then served from the ready sessions alone
 * and the pool refills right after. Below half, refill goes ahead whatever the traffic, so
 * sustained load cannot empty the pool.
 */
export const REFILL_QUIET_MS = 200;
/**
 * Nudges (a claim, a pool change) start a pass at most this often. Each pass reads every pool and
 * unfinished session; run for every claim, a burst of 24 new identifiers ran ~10 of them, a third
 * of its Postgres statements, while refill had to yield to the burst anyway.
 */
export const NUDGE_INTERVAL_MS = 100;
/** Placeholder ids for starts queued but not yet recorded, so the planner counts them. */
const QUEUED_START_PREFIX = 'queued-';

export class Reconciler {
  private readonly startLimit;
  private readonly removeLimit = pLimit(4);
  /** Starts queued but not yet recorded in Postgres, per pool (counted as pending by the planner). */
  private readonly queuedStarts = new Map<string, number>();
  /** Each pool as the latest pass read it: a queued start checks it is still wanted when its turn comes. */
  private readonly latestPools = new Map<string, PoolConfig>();
  private readonly removing = new Set<string>();
  /** Per pool: consecutive failed starts and when the next start may be tried. A broken image or
   * runtime must not turn into a tight loop of failing sandboxes. */
  private readonly startFailures = new Map<string, { count: number; notBefore: number }>();
  private timer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastPassStartedAt = Number.NEGATIVE_INFINITY;
  private nudgeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ReconcilerDeps) {
    this.startLimit = pLimit(deps.startConcurrency ?? 2);
  }

  /** Brings Postgres and containerd back into agreement after the engine (or the host) restarted. */
  async recover(): Promise<void> {
    const [containers, sessions, pools] = await Promise.all([this.deps.runtime.list(), listUnfinishedSessions(this.deps.db), loadPools(this.deps.db)]);
    const cpuOf = new Map(pools.map((pool) => [pool.id, pool.cpuMillicores]));
    const known = new Map(sessions.map((session) => [session.id, session]));
    const running = new Set(containers.filter((container) => container.status === 'running').map((container) => container.id));
    // One stuck sandbox must not keep the engine from starting: log it, and the periodic
    // passes retry what can be retried.
    const attempt = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        this.deps.log(`recovery: ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    for (const container of containers) {
      if (!known.has(container.id)) await attempt(`removing ${container.id}`, () => this.removeOrphan(container.id));
    }
    for (const session of sessions) await attempt(`recovering session ${session.id}`, () => this.recoverSession(session, running.has(session.id), cpuOf.get(session.poolId)));
  }

  private async recoverSession(session: SessionRow, isRunning: boolean, cpuMillicores: number | undefined): Promise<void> {
    const { sandboxes, db } = this.deps;
    if (session.state === 'DELETING') return sandboxes.finishDeleting(session.id);
    if (session.state === 'PENDING') {
      const healthy = isRunning && cpuMillicores !== undefined && (await this.isHealthy(session.id));
      if (healthy) {
        await this.deps.runtime.markReady(session.id, cpuMillicores);
        if (await transitionSession(db, session.id, ['PENDING'], 'READY', 'agent healthy (after engine restart)')) return;
      }
      await transitionSession(db, session.id, ['PENDING'], 'FAILED', 'the engine restarted while this sandbox was starting');
      return sandboxes.removeSandbox(session.id);
    }
    if (!isRunning) {
      this.deps.log(`session ${session.id} lost its sandbox while the engine was down`);
      await sandboxes.destroy(session.id, [session.state], 'sandbox stopped while the engine was down');
    }
  }

  private async removeOrphan(id: string): Promise<void> {
    this.deps.log(`removing leftover sandbox ${id} (no live session owns it)`);
    await this.deps.sandboxes.removeSandbox(id);
  }

  /**
   * Removes sandboxes that no live session owns: a failed start whose cleanup failed too (say,
   * containerd was restarting) would otherwise run until the engine restarts. containerd is
   * listed before Postgres is read: a sandbox's session row is written before the sandbox is
   * created, so a sandbox in the list always has its row visible to the later read.
   */
  private async sweepOrphans(): Promise<void> {
    const containers = await this.deps.runtime.list();
    const live = new Set((await listUnfinishedSessions(this.deps.db)).map((session) => session.id));
    for (const container of containers) {
      if (live.has(container.id) || this.removing.has(container.id) || this.deps.sandboxes.isStarting(container.id)) continue;
      this.removing.add(container.id);
      void this.removeLimit(() => this.removeOrphan(container.id))
        .catch((error: unknown) => this.deps.log(`removing leftover sandbox ${container.id} failed (will retry): ${String(error)}`))
        .finally(() => this.removing.delete(container.id));
    }
  }

  private async isHealthy(sessionId: string): Promise<boolean> {
    try {
      return (await this.deps.sandboxes.agent(sessionId).health(2000)).ok;
    } catch {
      return false;
    }
  }

  start(): void {
    const schedule = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        void this.trigger().finally(schedule);
      }, this.deps.passIntervalMs ?? 1000);
    };
    schedule();
    const scheduleHealth = () => {
      if (this.stopped) return;
      this.healthTimer = setTimeout(() => void this.healthPass().finally(scheduleHealth), this.deps.healthIntervalMs ?? 10_000);
    };
    scheduleHealth();
  }

  /** Asks for a pass soon: now if none started in the last NUDGE_INTERVAL_MS, else when that interval ends. */
  nudge(): void {
    if (this.nudgeTimer || this.stopped) return;
    const wait = this.lastPassStartedAt + NUDGE_INTERVAL_MS - performance.now();
    if (wait <= 0) {
      void this.trigger();
      return;
    }
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = undefined;
      void this.trigger();
    }, wait);
  }

  /** Runs a pass now (or right after the one in progress). Resolves when that pass is done. */
  trigger(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (error) {
          // Postgres or containerd may be restarting: log, and the next pass retries.
          this.deps.log(`reconcile pass failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    this.lastPassStartedAt = performance.now();
    const [pools, sessions] = await Promise.all([loadPools(this.deps.db), listUnfinishedSessions(this.deps.db)]);
    this.latestPools.clear();
    for (const pool of pools) this.latestPools.set(pool.id, pool);
    for (const pool of pools) {
      const own: SessionView[] = sessions.filter((session) => session.poolId === pool.id);
      const queued = this.queuedStarts.get(pool.id) ?? 0;
      for (let index = 0; index < queued; index += 1) own.push({ id: `${QUEUED_START_PREFIX}${index}`, state: 'PENDING', generation: pool.generation });
      const plan = planPool(pool, own);
      // A queued start has no session yet: nothing to remove; it gives itself up (see queueStart).
      plan.remove = plan.remove.filter(({ id }) => !id.startsWith(QUEUED_START_PREFIX));
      const backoff = this.startFailures.get(pool.id);
      const mayStart = (!backoff || Date.now() >= backoff.notBefore) && !this.refillYields(pool, own);
      for (let index = 0; index < (mayStart ? plan.create : 0); index += 1) this.queueStart(pool);
      for (const { id, reason } of plan.remove) this.queueRemoval(id, LIVE, reason);
      if (plan.forgetPool) {
        await forgetPool(this.deps.db, pool.id);
        this.deps.log(`pool ${pool.name} drained and deleted`);
      }
    }
    // Deletions interrupted by a crash or a failed removal are finished here.
    for (const session of sessions.filter((candidate) => candidate.state === 'DELETING')) {
      if (!this.removing.has(session.id)) this.queueFinishDeleting(session.id);
    }
    for (const id of await listExpiredSessions(this.deps.db, this.deps.busySessions())) this.queueRemoval(id, ['ALLOCATED'], 'cooldown expired');
  }

  /** True when this pool's refill waits for the data plane to be quiet (see REFILL_QUIET_MS). */
  private refillYields(pool: PoolConfig, sessions: SessionView[]): boolean {
    const quietForMs = this.deps.trafficQuietForMs?.();
    if (quietForMs === undefined || quietForMs >= REFILL_QUIET_MS) return false;
    const ready = sessions.filter((session) => session.state === 'READY' && session.generation === pool.generation).length;
    return ready >= Math.ceil(pool.readySessionInstances / 2);
  }

  private queueStart(pool: PoolConfig): void {
    this.queuedStarts.set(pool.id, (this.queuedStarts.get(pool.id) ?? 0) + 1);
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      this.queuedStarts.set(pool.id, (this.queuedStarts.get(pool.id) ?? 1) - 1);
    };
    void this.startLimit(async () => {
      // Starts wait here behind the concurrency limit, for minutes after a burst of claims; a
      // pool deleted or reconfigured meanwhile must not get sandboxes started only to be removed.
      const current = this.latestPools.get(pool.id);
      if (this.stopped || !current || current.isDeleting || current.generation !== pool.generation) return;
      // Once the session row exists the planner counts it as pending; until then, this queue does.
      const started = await this.deps.sandboxes.start(current, uncount);
      this.recordStart(pool.id, started);
    })
      .catch((error: unknown) => this.deps.log(`start failed: ${String(error)}`))
      .finally(() => {
        uncount();
        void this.trigger();
      });
  }

  private recordStart(poolId: string, started: boolean): void {
    if (started) {
      this.startFailures.delete(poolId);
      return;
    }
    const count = (this.startFailures.get(poolId)?.count ?? 0) + 1;
    const delay = Math.min(MAX_START_BACKOFF_MS, 1000 * 2 ** (count - 1));
    this.startFailures.set(poolId, { count, notBefore: Date.now() + delay });
    this.deps.log(`pool ${poolId}: ${count} failed start(s) in a row; next attempt in ${delay / 1000} s`);
  }

  private queueRemoval(sessionId: string, from: SessionState[], reason: string): void {
    if (this.removing.has(sessionId)) return;
    this.removing.add(sessionId);
    void this.removeLimit(() => this.deps.sandboxes.destroy(sessionId, from, reason))
      .catch((error: unknown) => this.deps.log(`removing ${sessionId} failed (will retry): ${String(error)}`))
      .finally(() => this.removing.delete(sessionId));
  }

  private queueFinishDeleting(sessionId: string): void {
    this.removing.add(sessionId);
    void this.removeLimit(() => this.deps.sandboxes.finishDeleting(sessionId))
      .catch((error: unknown) => this.deps.log(`finishing deletion of ${sessionId} failed (will retry): ${String(error)}`))
      .finally(() => this.removing.delete(sessionId));
  }

  /** Replaces sandboxes whose agent stopped answering (crashed kernel, killed container), and sweeps orphans. */
  private async healthPass(): Promise<void> {
    try {
      await this.sweepOrphans();
      const busy = new Set(this.deps.busySessions());
      const sessions = (await listUnfinishedSessions(this.deps.db)).filter(
        (session) => (session.state === 'READY' || session.state === 'ALLOCATED') && !busy.has(session.id) && !this.removing.has(session.id),
      );
      await Promise.all(
        sessions.map(async (session) => {
          if (!(await this.isHealthy(session.id))) this.queueRemoval(session.id, [session.state], 'failed its health check');
        }),
      );
    } catch (error) {
      this.deps.log(`health pass failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.healthTimer);
    clearTimeout(this.nudgeTimer);
    await this.running;
  }
}
