// Engine entry point: validates the environment, makes sure the code-interpreter image exists,
// assembles the engine (containerd runtime, reconciler, data plane) and serves it until
// SIGINT/SIGTERM. Stopping the engine never stops sandboxes: they outlive engine restarts, and
// the next start adopts them (engine/reconciler).
import { ensureCodeInterpreterImage } from './images/code-interpreter';
import { createEngine } from './app';
import { EngineEnvError, loadEngineEnv } from './env';
import { containerdCheck, createPostgresHealthPool, packageVersion, postgresCheck } from './health';
import { installationId } from './installation';
import { ContainerdRuntime } from './runtime/containerd';

function log(message: string): void {
  console.log(`[engine] ${message}`);
}

async function main(): Promise<void> {
  const env = loadEnvOrExit();
  const version = packageVersion();
  const image = env.SANDPOOL_IMAGE ?? (await ensureCodeInterpreterImage((message) => log(`image: ${message}`))).reference;
  const healthPool = createPostgresHealthPool(env.DATABASE_URL);
  const runtime = new ContainerdRuntime({ socket: env.CONTAINERD_SOCKET, installationId: await installationId(healthPool) });
  const engine = await createEngine({
    databaseUrl: env.DATABASE_URL,
    runtime,
    image,
    runDir: env.SANDPOOL_RUN_DIR,
    limits: { pidsLimit: env.SANDBOX_PIDS_LIMIT, dataSizeMiB: env.SANDBOX_DATA_MIB },
    preload: env.SANDPOOL_PRELOAD === 'none' ? '' : env.SANDPOOL_PRELOAD,
    containerdSocket: env.CONTAINERD_SOCKET,
    version,
    checks: { postgres: postgresCheck(healthPool), containerd: containerdCheck(env.CONTAINERD_SOCKET) },
    log,
  });
  const url = await engine.app.listen({ port: env.ENGINE_PORT, host: env.ENGINE_HOST });
  log(`Sandpool engine ${version} listening on ${url} (image ${image})`);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${signal} received, shutting down (sandboxes keep running)`);
    await engine.stop();
    runtime.close();
    await healthPool.end().catch(() => undefined);
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

main().catch((error: unknown) => {
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    console.error(`Sandpool engine could not listen: ${(error as Error).message}. Set ENGINE_HOST/ENGINE_PORT to a free address.`);
  } else {
    console.error('Sandpool engine failed to start:', error);
  }
  process.exit(1);
});
