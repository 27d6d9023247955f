// What every data-plane route shares: the pool path, the frame each request runs in
// (dataPlaneRoute: authorization, the identifier's session, failures in Azure's error shape, and
// the history row and closing touch written once the reply is on its way), and the session
// allocation itself.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { can, type Principal } from '../../lib/auth/access';
import { ROLE_LABELS } from '../../lib/auth/permissions';
import { poolScope, scopeCovers } from '../../lib/auth/scope';
import { AppError } from '../../lib/errors';
import type { AccessCache } from '../access-cache';
import type { PoolConfig } from '../pools';
import type { SandboxManager } from '../sandboxes';
import { allocateSession } from '../sessions/store';
import { sendError } from '../server';
import type { ExecutionRecord, RequestHistory, RequestRecord } from './history';
import { DataPlaneError, parseIdentifier } from './requests';
import type { RuntimeInventory } from './runtime-inventory';
import type { LiveSessionCache } from '../sessions/live-session-cache';
import { AgentWrongOwnerError } from '../agent/client';

export { DataPlaneError };

/** What a sandbox's agent is bound to: the pool and identifier, hashed (the agent needs no more). */
function ownerTag(poolId: string, identifier: string): string {
  return createHash('sha256').update(`${poolId}\u0000${identifier}`).digest('base64url');
}

export const POOL_PATH = '/subscriptions/:subscriptionId/resourceGroups/:resourceGroupName/sessionPools/:poolName';
/** How long a request for a new identifier waits for a sandbox when the pool is momentarily empty. */
const READY_WAIT_MS = 60_000;

export type DataPlaneDeps = {
  /** For writes that must survive a crash (allocations, asynchronous executions). */
  db: pg.Pool;
  /**
   * Connections that commit without waiting for the disk, for writes whose loss in a Postgres
   * crash is harmless: a session's idle timer, the request history.
   */
  relaxedDb: pg.Pool;
  sandboxes: SandboxManager;
  /** Identifier → session for warm requests (see the file for why it stays right). */
  liveSessions: LiveSessionCache;
  /** Asks the reconciler for a pass now (refill right after an allocation). */
  nudge: () => void;
  busy: BusySessions;
  traffic: DataPlaneTraffic;
  access: AccessCache;
  history: RequestHistory;
  /** What the code-interpreter image has installed (GET /metadata). */
  inventory: () => Promise<RuntimeInventory>;
  /** True once the engine is shutting down: work cut short by that is not the sandbox's fault. */
  stopping: () => boolean;
};

/** Data-plane requests in flight and when the last one ended, so refill can yield to traffic. */
export class DataPlaneTraffic {
  private inFlight = 0;
  private lastEndedAt = 0;
  begin(): void {
    this.inFlight += 1;
  }
  end(): void {
    this.inFlight -= 1;
    this.lastEndedAt = performance.now();
  }
  /** 0 while a request is in flight, else the time since the last one ended. */
  quietForMs(): number {
    return this.inFlight > 0 ? 0 : performance.now() - this.lastEndedAt;
  }
}

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
export type PoolRequest = FastifyRequest<{ Params: PoolParams; Querystring: { identifier?: string; 'api-version'?: string } }>;

/** One data-plane request in flight: what it established so far, for the route and for the history. */
export class DataPlaneCall<Request extends PoolRequest = PoolRequest> {
  private readonly startedAt = new Date();
  private readonly startedMs = performance.now();
  principal: Principal | undefined;
  pool: PoolConfig | undefined;
  identifier: string | undefined;
  sessionId: string | undefined;
  /** An execution this request ran, for the history. */
  execution: ExecutionRecord | undefined;
  /** The route wrote its own history row (an asynchronous execution does, before its 202). */
  historyWritten = false;
  private busySessionId: string | undefined;
  private claimed = false;
  private readonly serverTimings: string[] = [];

  constructor(
    readonly deps: DataPlaneDeps,
    readonly request: Request,
    readonly reply: FastifyReply,
    readonly route: string,
  ) {}

  /**
   * Who is calling and whether they may use this pool's sessions (Session Executor or Owner on
   * it); the pool. 401 without a valid data-plane token, 403 without the role, 404 without the
   * pool (checked after the role, so callers learn nothing about pools they cannot use).
   */
  /**
   * Runs one phase of the request and reports its duration in the reply's Server-Timing header
   * (auth, session, agent), so a caller can see where a slow request spent its time.
   */
  async timed<T>(phase: 'auth' | 'session' | 'agent', work: () => Promise<T>): Promise<T> {
    const startedMs = performance.now();
    try {
      return await work();
    } finally {
      const description = phase === 'session' && this.claimed ? ';desc="new session"' : '';
      this.serverTimings.push(`${phase};dur=${(performance.now() - startedMs).toFixed(2)}${description}`);
      if (!this.reply.sent) this.reply.header('server-timing', this.serverTimings.join(', '));
    }
  }

  async authorize(): Promise<PoolConfig> {
    return this.timed('auth', () => this.authorizeCaller());
  }

  private async authorizeCaller(): Promise<PoolConfig> {
    const principal = await this.deps.access.authenticate(this.request.headers.authorization);
    const { poolName } = this.request.params;
    if (!can(principal, 'sessions.execute', poolScope(poolName))) {
      const held = principal.assignments.filter((assignment) => scopeCovers(assignment.scope, poolScope(poolName))).map((assignment) => `${ROLE_LABELS[assignment.role]} at ${assignment.scope}`);
      throw new DataPlaneError(
        403,
        'Forbidden',
        `${principal.label} may not use the sessions of pool "${poolName}"${held.length > 0 ? ` (it holds ${held.join(', ')})` : ''}: that takes the Session Executor role. Ask an Owner to assign it at /sessionPools/${poolName} or at "/".`,
      );
    }
    this.principal = principal;
    const pool = await this.deps.access.pool(poolName);
    if (!pool || pool.isDeleting) throw new DataPlaneError(404, 'NotFound', `There is no session pool named "${poolName}".`);
    this.pool = pool;
    return pool;
  }

  /** The `identifier` query parameter, validated (400 before anything is allocated). */
  requireIdentifier(): string {
    this.identifier = parseIdentifier(this.request.query.identifier);
    return this.identifier;
  }

  /**
   * Finds or allocates the identifier's session, waiting briefly for a sandbox when the pool is
   * momentarily empty, and marks it busy until this request's closing touch is written.
   */
  async session(): Promise<string> {
    return this.timed('session', () => this.findOrAllocateSession());
  }

  private async findOrAllocateSession(): Promise<string> {
    const pool = this.pool;
    const identifier = this.identifier;
    if (!pool || !identifier || this.busySessionId) throw new Error('session() needs authorize() and requireIdentifier() first, and runs once per request');
    const known = this.deps.liveSessions.get(pool.id, identifier);
    if (known) return this.useSession(known, false, pool.id, identifier);
    const deadline = Date.now() + READY_WAIT_MS;
    for (;;) {
      const mark = this.deps.liveSessions.mark();
      const allocation = await allocateSession(this.deps.db, {
        poolId: pool.id,
        identifier,
        cooldownSeconds: pool.cooldownSeconds,
        maxConcurrentSessions: pool.maxConcurrentSessions,
      });
      if (allocation.kind === 'claimed' || allocation.kind === 'existing') {
        this.deps.liveSessions.remember(pool.id, identifier, allocation.sessionId, mark);
        return this.useSession(allocation.sessionId, allocation.kind === 'claimed', pool.id, identifier);
      }
      if (allocation.kind === 'atCapacity') {
        throw new DataPlaneError(
          429,
          'SessionPoolCapacityReached',
          `Pool "${pool.name}" already has its maximum of ${pool.maxConcurrentSessions} sessions. Delete sessions you no longer need (DELETE /session), wait for idle ones to cool down (${pool.cooldownSeconds} s), or raise maxConcurrentSessions.`,
        );
      }
      this.deps.nudge();
      if (Date.now() > deadline) {
        throw new DataPlaneError(503, 'SessionPoolNotReady', `No sandbox in pool "${pool.name}" became ready within ${READY_WAIT_MS / 1000} s. Try again; if it persists, check the engine's log.`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private useSession(sessionId: string, claimed: boolean, poolId: string, identifier: string): string {
    this.claimed = claimed;
    this.sessionId = sessionId;
    this.busySessionId = sessionId;
    this.deps.busy.enter(sessionId);
    // The sandbox binds itself to the first session it serves and refuses any other (agent.py).
    this.deps.sandboxes.agent(sessionId).owner = ownerTag(poolId, identifier);
    return sessionId;
  }

  /**
   * Replaces a session whose agent stopped answering (container killed, out of memory) and
   * says so in Azure's error shape. While the engine shuts down, agents are cut off on purpose
   * and the sandbox is left alone.
   */
  async sandboxLost(sessionId: string, error: unknown, what: string): Promise<DataPlaneError> {
    if (this.deps.stopping()) return new DataPlaneError(503, 'EngineStopping', 'The engine is shutting down; send the request again in a few seconds.');
    if (error instanceof AgentWrongOwnerError) {
      console.error(`[engine] session ${sessionId}: its sandbox already served another session; removing it (${error.message})`);
      await this.deps.sandboxes.destroy(sessionId, ['ALLOCATED'], 'its sandbox had already served another session').catch(() => false);
      return new DataPlaneError(503, 'SessionSandboxFailed', 'The sandbox found for this session had already served another one, so it was removed unused. Send the request again to get a fresh, empty session.');
    }
    const removed = await this.deps.sandboxes.destroy(sessionId, ['ALLOCATED'], `sandbox stopped answering: ${String(error)}`.slice(0, 500)).catch(() => false);
    return new DataPlaneError(
      503,
      'SessionSandboxFailed',
      removed
        ? `The session's sandbox stopped responding (for example, it ran out of memory) and was removed with ${what}. Send the request again to get a fresh, empty session.`
        : `The session was deleted while this request ran. Send the request again to get a fresh, empty session.`,
    );
  }

  /** This request as the history keeps it (once authorized). */
  historyRecord(statusCode: number): RequestRecord {
    const { principal, pool } = this;
    if (!principal || !pool) throw new Error('historyRecord() needs authorize() first');
    return {
      at: this.startedAt,
      poolId: pool.id,
      sessionId: this.sessionId ?? null,
      identifier: this.identifier ?? null,
      principalId: principal.id,
      principalLabel: principal.label,
      route: this.route,
      statusCode,
      durationMs: Math.round(performance.now() - this.startedMs),
      execution: this.execution,
    };
  }

  /** After the reply: the history row, the session's closing touch, then it stops being busy. */
  finish(): void {
    const sessionId = this.busySessionId;
    if (this.claimed) this.deps.nudge(); // refill after the reply, so it does not compete with it for CPU
    if (!this.principal || !this.pool) return;
    this.deps.history.record({
      record: this.historyWritten ? undefined : this.historyRecord(this.reply.sent ? this.reply.statusCode : 500),
      touch: sessionId ? { sessionId, cooldownSeconds: this.pool.cooldownSeconds } : undefined,
      done: sessionId ? () => this.deps.busy.leave(sessionId) : undefined,
    });
  }
}

/**
 * The frame of every data-plane route: `handle` runs with a DataPlaneCall; failures leave in
 * Azure's shape; the history and the session's closing touch are recorded after the reply.
 */
export function dataPlaneRoute<Request extends PoolRequest>(deps: DataPlaneDeps, route: string, handle: (call: DataPlaneCall<Request>) => Promise<FastifyReply>) {
  return async (request: Request, reply: FastifyReply): Promise<FastifyReply> => {
    const call = new DataPlaneCall(deps, request, reply, route);
    deps.traffic.begin();
    try {
      return await handle(call);
    } catch (error) {
      // A body refused part-way (an upload): close the connection rather than read the rest.
      if (!request.raw.complete) reply.header('connection', 'close');
      // A streamed reply already under way cannot turn into an error: cut it off.
      if (reply.sent) {
        reply.raw.destroy();
        return reply;
      }
      return sendFailure(reply, error);
    } finally {
      call.finish();
      deps.traffic.end();
    }
  };
}

export function sendFailure(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof DataPlaneError) return sendError(reply, error.status, error.code, error.message);
  if (error instanceof AppError && error.code === 'UNAUTHORIZED') return sendError(reply, 401, 'Unauthorized', error.message, { 'www-authenticate': 'Bearer' });
  throw error;
}

/**
 * The absolute URL of `path` under the pool endpoint the caller used, keeping its api-version
 * (for Operation-Location and nextLink).
 */
export function poolUrl(request: PoolRequest, path: string, query: Record<string, string>): string {
  const { subscriptionId, resourceGroupName, poolName } = request.params;
  const endpoint = `/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroupName)}/sessionPools/${encodeURIComponent(poolName)}`;
  const apiVersion = request.query['api-version'];
  const search = new URLSearchParams({ ...(apiVersion ? { 'api-version': apiVersion } : {}), ...query });
  return `${request.protocol}://${request.host}${endpoint}${path}?${search.toString()}`;
}
