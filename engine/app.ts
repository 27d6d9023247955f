// Assembles a running engine from its parts. main.ts supplies the real containerd runtime and
// image; tests use the same function.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { CONTAINERD_SOCKET } from '../cli/provision/containerd';
import { POOL_CHANGED_CHANNEL } from '../lib/services/pool-events';
import { AccessCache } from './access-cache';
import { BusySessions, DataPlaneTraffic, type DataPlaneDeps } from './dataplane/context';
import { RequestHistory } from './dataplane/history';
import { registerDataPlane } from './dataplane/register';
import { runtimeInventory } from './dataplane/runtime-inventory';
import { createDatabasePool, warmDatabasePool } from './db';
import { EngineLock } from './engine-lock';
import { registerEventStream } from './events';
import type { HealthCheck } from './health';
import { PostgresListener } from './listener';
import { Reconciler } from './reconciler/reconciler';
import { SandboxManager, type SandboxLimits } from './sandboxes';
import { ContainerdClient } from './runtime/containerd-api';
import { SANDPOOL_NAMESPACE } from './runtime/containerd';
import type { SandboxRuntime } from './runtime/types';
import { createEngineServer } from './server';
import { SESSION_EVENTS_CHANNEL } from './sessions/store';
import { LiveSessionCache } from './sessions/live-session-cache';

export type EngineOptions = {
  databaseUrl: string;
  runtime: SandboxRuntime;
  image: string;
  runDir: string;
  limits: SandboxLimits;
  /** See SANDPOOL_PRELOAD in engine/env.ts. */
  preload?: string;
  /** Where containerd listens, for reading the image's package inventory (GET /metadata). */
  containerdSocket?: string;
  version: string;
  checks: Record<string, HealthCheck>;
  log?: (message: string) => void;
  passIntervalMs?: number;
  healthIntervalMs?: number;
};

export type Engine = {
  app: FastifyInstance;
  db: pg.Pool;
  reconciler: Reconciler;
  sandboxes: SandboxManager;
  /** What the data plane's routes share (tests mount routes of their own on it). */
  dataPlane: DataPlaneDeps;
  stop: () => Promise<void>;
};

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const log = options.log ?? ((message: string) => console.log(`[engine] ${message}`));
  const lock = new EngineLock(options.databaseUrl, log);
  await lock.acquire();
  try {
    return await startEngine(options, log, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function startEngine(options: EngineOptions, log: (message: string) => void, lock: EngineLock): Promise<Engine> {
  const db = createDatabasePool(options.databaseUrl);
  const relaxedDb = createDatabasePool(options.databaseUrl, { waitForDisk: false });
  const listener = new PostgresListener(options.databaseUrl, log);
  const access = new AccessCache(db, listener);
  await Promise.all([warmDatabasePool(db), warmDatabasePool(relaxedDb), access.warm()]);
  const history = new RequestHistory({ db, relaxedDb, log });
  let containerd: ContainerdClient | undefined;
  const inventory = runtimeInventory(() => (containerd ??= new ContainerdClient(options.containerdSocket ?? CONTAINERD_SOCKET, SANDPOOL_NAMESPACE)), options.image);
  let stopping = false;
  const liveSessions = new LiveSessionCache(listener);
  const sandboxes = new SandboxManager({ db, runtime: options.runtime, runDir: options.runDir, image: options.image, limits: options.limits, preload: options.preload, liveSessions, log });
  const busy = new BusySessions();
  const traffic = new DataPlaneTraffic();
  const reconciler = new Reconciler({
    db,
    runtime: options.runtime,
    sandboxes,
    busySessions: () => busy.ids(),
    trafficQuietForMs: () => traffic.quietForMs(),
    log,
    passIntervalMs: options.passIntervalMs,
    healthIntervalMs: options.healthIntervalMs,
  });
  const nudge = () => reconciler.nudge();
  // A pool created or changed in the portal or CLI is acted on at once, not at the next tick.
  listener.on(POOL_CHANGED_CHANNEL, nudge);
  // Keep the channel subscribed for the event stream's subscribers.
  listener.on(SESSION_EVENTS_CHANNEL, () => {});
  await listener.start();
  const interrupted = await history.failInterruptedExecutions();
  if (interrupted > 0) log(`${interrupted} asynchronous execution(s) were running when the engine stopped; marked failed`);
  await reconciler.recover();
  reconciler.start();
  void reconciler.trigger();

  const dataPlane: DataPlaneDeps = { db, relaxedDb, sandboxes, liveSessions, nudge, busy, traffic, access, history, inventory, stopping: () => stopping };
  const app = createEngineServer({
    version: options.version,
    checks: options.checks,
    register: (server) => {
      registerDataPlane(server, dataPlane);
      registerEventStream(server, { db, listener });
    },
  });

  const stop = async () => {
    stopping = true;
    await reconciler.stop();
    await app.close();
    await history.stop();
    await listener.stop();
    sandboxes.closeAll();
    containerd?.close();
    await relaxedDb.end();
    await db.end();
    await lock.release();
  };
  return { app, db, reconciler, sandboxes, dataPlane, stop };
}
