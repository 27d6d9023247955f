// Assembles a running engine from its parts. main.ts supplies the real containerd runtime and
// image; tests use the same function.
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { POOL_CHANGED_CHANNEL } from '../lib/services/pool-events';
import { BusySessions } from './dataplane/context';
import { registerDataPlane } from './dataplane/register';
import { createDatabasePool } from './db';
import { registerEventStream } from './events';
import type { HealthCheck } from './health';
import { PostgresListener } from './listener';
import { Reconciler } from './reconciler/reconciler';
import { SandboxManager, type SandboxLimits } from './sandboxes';
import type { SandboxRuntime } from './runtime/types';
import { createEngineServer } from './server';
import { SESSION_EVENTS_CHANNEL } from './sessions/store';

export type EngineOptions = {
  databaseUrl: string;
  runtime: SandboxRuntime;
  image: string;
  runDir: string;
  limits: SandboxLimits;
  /** See SANDPOOL_PRELOAD in engine/env.ts. */
  preload?: string;
  version: string;
  checks: Record<string, HealthCheck>;
  log?: (message: string) => void;
  passIntervalMs?: number;
  healthIntervalMs?: number;
};

export type Engine = { app: FastifyInstance; db: pg.Pool; reconciler: Reconciler; sandboxes: SandboxManager; stop: () => Promise<void> };

export async function createEngine(options: EngineOptions): Promise<Engine> {
  const log = options.log ?? ((message: string) => console.log(`[engine] ${message}`));
  const db = createDatabasePool(options.databaseUrl);
  const listener = new PostgresListener(options.databaseUrl, log);
  const sandboxes = new SandboxManager({ db, runtime: options.runtime, runDir: options.runDir, image: options.image, limits: options.limits, preload: options.preload, log });
  const busy = new BusySessions();
  const reconciler = new Reconciler({
    db,
    runtime: options.runtime,
    sandboxes,
    busySessions: () => busy.ids(),
    log,
    passIntervalMs: options.passIntervalMs,
    healthIntervalMs: options.healthIntervalMs,
  });
  const nudge = () => void reconciler.trigger();
  // A pool created or changed in the portal or CLI is acted on at once, not at the next tick.
  listener.on(POOL_CHANGED_CHANNEL, nudge);
  // Keep the channel subscribed for the event stream's subscribers.
  listener.on(SESSION_EVENTS_CHANNEL, () => {});
  await listener.start();
  await reconciler.recover();
  reconciler.start();
  void reconciler.trigger();

  const app = createEngineServer({
    version: options.version,
    checks: options.checks,
    register: (server) => {
      registerDataPlane(server, { db, sandboxes, nudge, busy });
      registerEventStream(server, { db, listener });
    },
  });

  const stop = async () => {
    await reconciler.stop();
    await app.close();
    await listener.stop();
    sandboxes.closeAll();
    await db.end();
  };
  return { app, db, reconciler, sandboxes, stop };
}
