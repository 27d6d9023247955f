// Engine entry point: validates the environment, wires dependencies into the HTTP server,
// starts it, and shuts down cleanly on SIGINT/SIGTERM. The engine never stops containerd or
// the sandboxes on exit: they must outlive engine restarts.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { EngineEnvError, loadEngineEnv } from './env';
import { containerdCheck, createPostgresHealthPool, packageVersion, postgresCheck } from './health';
import { createEngineServer } from './server';

/** In-flight requests get this long to finish on shutdown before their connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000;

async function main(): Promise<void> {
  const env = loadEnvOrExit();
  const version = packageVersion();
  const pool = createPostgresHealthPool(env.DATABASE_URL);
  const server = createEngineServer({
    version,
    checks: { postgres: postgresCheck(pool), containerd: containerdCheck(env.CONTAINERD_SOCKET) },
  });
  await listen(server, env.ENGINE_PORT, env.ENGINE_HOST);
  console.log(`Sandpool engine ${version} listening on ${serverUrl(server)} (health: ${serverUrl(server)}/healthz)`);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`Sandpool engine: ${signal} received, shutting down`);
    await closeServer(server);
    await pool.end().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

function loadEnvOrExit() {
  try {
    return loadEngineEnv();
  } catch (error) {
    if (!(error instanceof EngineEnvError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function serverUrl(server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

async function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const grace = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
  await closed;
  clearTimeout(grace);
}

main().catch((error: unknown) => {
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    console.error(`Sandpool engine could not listen: ${(error as Error).message}. Set ENGINE_HOST/ENGINE_PORT to a free address.`);
  } else {
    console.error('Sandpool engine failed to start:', error);
  }
  process.exit(1);
});
