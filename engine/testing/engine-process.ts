// The engine as a separate process, the way `npm start` runs it, for tests that kill it or
// pull its dependencies away from under it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TEST_RUN_DIR, waitFor } from './harness';

const repoRoot = join(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export type EngineProcess = { child: ChildProcess; url: string; output: () => string };

/** Starts `engine/main.ts` on `port` and waits for /healthz to answer 200. */
export async function startEngineProcess(port: number, image: string, env: Record<string, string> = {}): Promise<EngineProcess> {
  const child = spawn(process.execPath, ['--import', join(repoRoot, 'bin/register.mjs'), join(repoRoot, 'engine/main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ENGINE_PORT: String(port), ENGINE_HOST: '127.0.0.1', SANDPOOL_IMAGE: image, SANDPOOL_RUN_DIR: TEST_RUN_DIR, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`engine on port ${port}`, async () => {
    if (child.exitCode !== null) throw new Error(`the engine exited: ${output}`);
    return fetch(`${url}/healthz`).then((response) => response.ok, () => false);
  }, 60_000);
  return { child, url, output: () => output };
}

/** Stops the engine process: SIGKILL models a crash, SIGTERM a normal stop. */
export async function stopEngineProcess(engine: EngineProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (engine.child.exitCode !== null || engine.child.signalCode !== null) return;
  engine.child.kill(signal);
  await once(engine.child, 'exit');
}
