import { HOST_OPERATOR } from '../../lib/auth/access';
import { withRuntime } from '../runtime';
import { dim } from '../ui';

type PoolOptions = {
  isolation?: string;
  maxSessions?: string;
  readySessions?: string;
  cooldown?: string;
  cpu?: string;
  memory?: string;
  network?: string;
  json?: boolean;
};

function settingsFrom(options: PoolOptions) {
  return {
    isolation: options.isolation,
    maxConcurrentSessions: options.maxSessions,
    readySessionInstances: options.readySessions,
    cooldownPeriodInSeconds: options.cooldown,
    cpu: options.cpu,
    memoryGi: options.memory?.replace(/gi$/i, ''),
    networkStatus: options.network,
  };
}

function withoutUndefined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

export async function createPoolCommand(name: string, options: PoolOptions): Promise<void> {
  await withRuntime(async () => {
    const { createPool } = await import('../../lib/services/pools');
    const pool = await createPool(HOST_OPERATOR, withoutUndefined({ name, ...settingsFrom(options) }));
    console.log(JSON.stringify(pool, null, 2));
  });
}

export async function updatePoolCommand(name: string, options: PoolOptions): Promise<void> {
  await withRuntime(async () => {
    const { updatePool } = await import('../../lib/services/pools');
    const pool = await updatePool(HOST_OPERATOR, name, withoutUndefined(settingsFrom(options)));
    console.log(JSON.stringify(pool, null, 2));
  });
}

export async function deletePoolCommand(name: string): Promise<void> {
  await withRuntime(async () => {
    const { deletePool } = await import('../../lib/services/pools');
    await deletePool(HOST_OPERATOR, name);
    console.log(`Pool ${name} is being deleted: the engine drains its sessions, then removes it.`);
  });
}

export async function listPoolsCommand(options: { json?: boolean }): Promise<void> {
  await withRuntime(async () => {
    const { listPools } = await import('../../lib/services/pools');
    const pools = await listPools(HOST_OPERATOR);
    if (options.json) return console.log(JSON.stringify(pools, null, 2));
    if (pools.length === 0) return console.log('No pools yet. Create one with `npx sandpool pool create <name>`.');
    for (const pool of pools) {
      const { pending, ready, allocated, deleting } = pool.sessions;
      console.log(
        `${pool.name.padEnd(20)} ${pool.isolation.padEnd(6)} ready ${ready}/${pool.readySessionInstances}  allocated ${allocated}/${pool.maxConcurrentSessions}  ` +
          dim(`pending ${pending} deleting ${deleting}  ${pool.provisioningState}  ${pool.poolManagementEndpoint}`),
      );
    }
  });
}
