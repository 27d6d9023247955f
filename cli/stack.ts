// Starts the whole of Sandpool on this host: the provisioning steps, then the engine and the
// portal as child processes. Shared by `npm start` and the end-to-end tests.
import { join } from 'node:path';
import { ensurePortalBuild } from './build';
import { repoRoot } from './paths';
import { startProcess, waitForHealthy, type ManagedProcess } from './processes';
import { ensureContainerd } from './provision/containerd';
import { prepareRuntime, type Runtime } from './runtime';
import { step } from './ui';

export type StackOptions = { host: string; portalPort: number; enginePort: number; publicUrl: string; quietChildren?: boolean };

export type Stack = Runtime & { portalUrl: string; engineUrl: string; processes: ManagedProcess[]; stop: () => Promise<void> };

export function stackOptionsFromEnv(): StackOptions {
  const portalPort = Number(process.env.PORT ?? 3000);
  const host = process.env.SANDPOOL_HOST ?? '127.0.0.1';
  return {
    host,
    portalPort,
    enginePort: Number(process.env.ENGINE_PORT ?? 3100),
    publicUrl: process.env.SANDPOOL_PUBLIC_URL ?? `http://localhost:${portalPort}`,
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  process.env.SANDPOOL_PUBLIC_URL = options.publicUrl;
  const engineUrl = `http://127.0.0.1:${options.enginePort}`;
  process.env.ENGINE_URL = engineUrl;
  // Pool management endpoints are built from this; set it to the URL clients use to reach the engine.
  process.env.ENGINE_PUBLIC_URL ??= engineUrl;
  const runtime = await prepareRuntime();
  const processes: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((child) => child.stop()));
    await runtime.postgres.stop();
  };
  try {
    await step('containerd, runc and gVisor', (progress) => ensureContainerd(progress));
    const { ensureCodeInterpreterImage } = await import('../engine/images/code-interpreter');
    const image = await step('Code-interpreter image', (progress) => ensureCodeInterpreterImage(progress));
    await step('Portal build', (progress) => ensurePortalBuild(progress));
    const childEnv = { ...process.env, NODE_ENV: 'production' as const, NEXT_TELEMETRY_DISABLED: '1' };
    await step('Engine', async (progress) => {
      const engine = startProcess('engine', process.execPath, ['--import', join(repoRoot, 'bin/register.mjs'), join(repoRoot, 'engine/main.ts')], {
        ...childEnv,
        ENGINE_HOST: process.env.ENGINE_HOST ?? '127.0.0.1',
        ENGINE_PORT: String(options.enginePort),
        SANDPOOL_IMAGE: image.reference,
      }, { quiet: options.quietChildren });
      processes.push(engine);
      await waitForHealthy(engine, `${engineUrl}/healthz`);
      progress(`healthy at ${engineUrl}`);
    });
    const portalUrl = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${options.portalPort}`;
    await step('Portal', async (progress) => {
      const portal = startProcess(
        'portal',
        join(repoRoot, 'node_modules/.bin/next'),
        ['start', '--port', String(options.portalPort), '--hostname', options.host],
        childEnv,
        { quiet: options.quietChildren },
      );
      processes.push(portal);
      await waitForHealthy(portal, `${portalUrl}/api/health`);
      progress(`healthy at ${portalUrl}`);
    });
    return { ...runtime, portalUrl, engineUrl, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
