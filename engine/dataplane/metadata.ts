// GET /metadata (reference §4.3.3): the pool's runtime, as the sessions really have it: the
// Python version and every installed package, read from the code-interpreter image
// (runtime-inventory.ts).
import type { FastifyInstance } from 'fastify';
import { dataPlaneRoute, DataPlaneError, POOL_PATH, type DataPlaneDeps } from './context';

const IPYKERNEL = { projectUrl: 'https://github.com/ipython/ipykernel', description: 'IPython kernel for Jupyter: a stateful Python session per identifier.' };

export function registerMetadata(app: FastifyInstance, deps: DataPlaneDeps): void {
  app.get(
    `${POOL_PATH}/metadata`,
    dataPlaneRoute(deps, 'GET /metadata', async (call) => {
      const pool = await call.authorize();
      const inventory = await deps.inventory().catch((error: unknown) => {
        console.error(`[engine] reading the runtime inventory failed:`, error);
        throw new DataPlaneError(503, 'MetadataUnavailable', "The engine could not read the code-interpreter image's package list; it was logged. Try again shortly.");
      });
      const times = await deps.relaxedDb.query<{ createdAt: string; updatedAt: string }>(
        `SELECT to_char(created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt", to_char(updated_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"
         FROM session_pools WHERE id = $1`,
        [pool.id],
      );
      const ipykernel = inventory.packages.find((entry) => entry.name.toLowerCase() === 'ipykernel');
      return call.reply.send({
        runtimes: [{ name: 'python', version: inventory.python }],
        preInstalledPackages: inventory.packages,
        createdAt: times.rows[0]?.createdAt ?? null,
        lastUpdatedAt: times.rows[0]?.updatedAt ?? null,
        jupyterKernel: { name: 'python3', version: ipykernel?.version ?? null, ...IPYKERNEL },
      });
    }),
  );
}
