// One session's sandbox on the host: start it (record → create → wait for its agent → ready)
// and tear it down (record → remove container, snapshot and socket → deleted). Every step is
// written to Postgres before or after it happens, so a crash at any point is recoverable.
import { join } from 'node:path';
import type pg from 'pg';
import { newId } from '../lib/ids';
import type { SessionState } from '../lib/lifecycle/transitions';
import { AgentClient } from './agent/client';
import type { PoolConfig } from './pools';
import type { SandboxRuntime } from './runtime/types';
import { insertPendingSession, transitionSession } from './sessions/store';
import type { LiveSessionCache } from './sessions/live-session-cache';

const AGENT_READY_TIMEOUT_MS = 90_000;

export type SandboxLimits = { pidsLimit: number; dataSizeMiB: number };

export type SandboxManagerDeps = {
  db: pg.Pool;
  runtime: SandboxRuntime;
  /** Host folder holding one sub-folder per session with its agent socket. */
  runDir: string;
  image: string;
  limits: SandboxLimits;
  /** Modules each kernel pre-imports, overriding the image's list ('' for none); undefined keeps the image's. */
  preload?: string;
  /** Told before a session leaves ALLOCATED, so no request is sent to it from memory after. */
  liveSessions?: LiveSessionCache;
  log: (message: string) => void;
};

export class SandboxManager {
  private readonly agents = new Map<string, AgentClient>();
  /**
   * Sessions whose start is in flight in this engine. Their sandbox is removed by the start
   * itself once it ends, never by a concurrent deletion: removing a container while containerd
   * is still creating it fails in a dozen ways (bundle mounts, missing config.json, cgroups in
   * use) and left sandboxes behind when a pool was deleted during a refill.
   */
  private readonly starting = new Set<string>();

  constructor(private readonly deps: SandboxManagerDeps) {}

  socketDir(sessionId: string): string {
    return join(this.deps.runDir, 'sessions', sessionId);
  }

  /** The persistent connection to a session's agent. */
  agent(sessionId: string): AgentClient {
    let agent = this.agents.get(sessionId);
    if (!agent) {
      agent = new AgentClient(join(this.socketDir(sessionId), 'agent.sock'));
      this.agents.set(sessionId, agent);
    }
    return agent;
  }

  /** Starts one sandbox for `pool`; resolves true when it is ready, false when it failed (and was cleaned up). */
  async start(pool: PoolConfig, onRecorded: () => void = () => {}): Promise<boolean> {
    const id = newId('ses');
    const socketDir = this.socketDir(id);
    this.starting.add(id);
    try {
      await insertPendingSession(this.deps.db, { id, poolId: pool.id, generation: pool.generation, runtime: pool.runtime, image: this.deps.image });
    } catch (error) {
      this.starting.delete(id);
      throw error;
    }
    onRecorded();
    try {
      await this.deps.runtime.create({
        id,
        poolId: pool.id,
        image: this.deps.image,
        runtime: pool.runtime,
        cpuMillicores: pool.cpuMillicores,
        memoryMiB: pool.memoryMiB,
        pidsLimit: this.deps.limits.pidsLimit,
        dataSizeMiB: this.deps.limits.dataSizeMiB,
        network: 'none',
        agentSocketDir: socketDir,
        ...(this.deps.preload === undefined ? {} : { env: { SANDPOOL_PRELOAD: this.deps.preload } }),
      });
      await this.waitForAgent(id);
      await this.deps.runtime.markReady(id, pool.cpuMillicores);
      const ready = await transitionSession(this.deps.db, id, ['PENDING'], 'READY', 'agent healthy');
      if (!ready) {
        // Deleted while starting (pool deleted or changed): nobody will use it.
        this.starting.delete(id);
        await this.finishDeleting(id);
      }
      return true;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.deps.log(`session ${id} failed to start: ${reason}`);
      await transitionSession(this.deps.db, id, ['PENDING'], 'FAILED', `start failed: ${reason}`.slice(0, 1000)).catch(() => null);
      this.starting.delete(id);
      await this.removeSandbox(id).catch((cleanupError: unknown) => this.deps.log(`cleanup of ${id} failed: ${String(cleanupError)}`));
      // Deleted while starting: the deletion left the removal to us.
      await transitionSession(this.deps.db, id, ['DELETING'], 'DELETED', 'sandbox removed').catch(() => null);
      return false;
    } finally {
      this.starting.delete(id);
    }
  }

  /** True while this engine is starting the session's sandbox (see `starting`). */
  isStarting(sessionId: string): boolean {
    return this.starting.has(sessionId);
  }

  private async waitForAgent(id: string): Promise<void> {
    const deadline = Date.now() + AGENT_READY_TIMEOUT_MS;
    const agent = this.agent(id);
    let lastError = 'no answer';
    let polls = 0;
    while (Date.now() < deadline) {
      try {
        const health = await agent.health(1000);
        if (health.ok && health.kernel === 'idle') return;
        lastError = `kernel is ${health.kernel}`;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      // A sandbox whose process died will never answer: stop waiting for it.
      if (++polls % 20 === 0 && (await this.deps.runtime.list().catch(() => [])).find((candidate) => candidate.id === id)?.status === 'stopped') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const sandbox = (await this.deps.runtime.list().catch(() => [])).find((candidate) => candidate.id === id);
    if (sandbox?.status === 'stopped') {
      const cause = sandbox.exitStatus === 137 ? ' (killed: usually out of memory; give the pool more memory)' : '';
      throw new Error(`the sandbox stopped while starting, exit status ${sandbox.exitStatus ?? 'unknown'}${cause}`);
    }
    throw new Error(`the sandbox's agent did not become healthy within ${AGENT_READY_TIMEOUT_MS / 1000}s (${lastError})`);
  }

  /**
   * Tears a session down: DELETING, then the container, snapshot and socket go, then DELETED.
   * Returns false when the session had already left `from` (someone else is handling it).
   */
  async destroy(sessionId: string, from: SessionState[], reason: string): Promise<boolean> {
    this.deps.liveSessions?.forget(sessionId);
    const moved = await transitionSession(this.deps.db, sessionId, from, 'DELETING', reason);
    if (!moved) return false;
    await this.finishDeleting(sessionId);
    return true;
  }

  /** Completes a deletion already recorded as DELETING (also used after a crash). */
  async finishDeleting(sessionId: string): Promise<void> {
    if (this.starting.has(sessionId)) return; // the start removes it when it ends
    await this.removeSandbox(sessionId);
    await transitionSession(this.deps.db, sessionId, ['DELETING'], 'DELETED', 'sandbox removed');
  }

  /** Removes the container, its snapshot and its socket folder (the runtime owns all three). Idempotent. */
  async removeSandbox(sessionId: string): Promise<void> {
    this.agents.get(sessionId)?.close();
    this.agents.delete(sessionId);
    await this.deps.runtime.remove(sessionId);
  }

  closeAll(): void {
    for (const agent of this.agents.values()) agent.close();
    this.agents.clear();
  }
}
