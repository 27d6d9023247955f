// The control plane in Azure Resource Manager's shape: `Microsoft.App/sessionPools` under
// /subscriptions/…, for the az CLI, ARM SDKs and plain REST (reference §6). One catch-all
// route rather than folders per segment: ARM paths are case-insensitive in practice
// (`resourcegroups`, `microsoft.app`), and Next.js folders are not, so lib/pools/arm.ts matches
// the segments itself. No middleware rewrite: it would run on every request of the portal,
// and calling this handler directly (as the tests do) would skip it.
import { apiRoute } from '@/lib/auth/guard';
import type { Principal } from '@/lib/auth/access';
import { AppError } from '@/lib/errors';
import {
  armOperationUrl,
  inArmTerms,
  parseArmPath,
  poolSettingsFromArm,
  SANDPOOL_OWN_SETTINGS,
  SERVED_PATHS,
  toArmResource,
  type ArmPoolSettings,
  type ArmTarget,
} from '@/lib/pools/arm';
import { createOrReplacePool, deletePool, findPoolById, getPool, listPools, updatePool } from '@/lib/services/pools';

type RouteContext = { params: Promise<Record<string, string | string[]>> };

/** Seconds a client waits between polls of a deletion: the engine drains sessions meanwhile. */
const DELETE_POLL_SECONDS = '1';

async function targetOf(context: RouteContext): Promise<ArmTarget> {
  const { path } = await context.params;
  const segments = Array.isArray(path) ? path : [];
  const target = parseArmPath(segments);
  if (!target) {
    throw new AppError('NOT_FOUND', `Sandpool serves no resource at /subscriptions/${segments.join('/')}. It serves ${SERVED_PATHS.join(' and ')}.`);
  }
  return target;
}

async function poolTargetOf(context: RouteContext, method: string) {
  const target = await targetOf(context);
  if (target.kind !== 'pool') throw new AppError('BAD_REQUEST', `${method} needs a session pool path: /subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.App/sessionPools/{name}.`);
  return target;
}

function apiVersionOf(request: Request): string | null {
  return new URL(request.url).searchParams.get('api-version');
}

async function jsonBodyOf(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') {
    throw new AppError('BAD_REQUEST', 'Send the session pool as a JSON body, for example {"location": "local", "properties": {"scaleConfiguration": {"maxConcurrentSessions": 10}}}.');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppError('BAD_REQUEST', `The request body is not valid JSON (${(error as Error).message}).`);
  }
}

/** Runs a pools service call, restating its validation errors under ARM property paths. */
async function inArmTermsOf<T>(paths: ArmPoolSettings['paths'], call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw inArmTerms(error, paths);
  }
}

async function operation(principal: Principal, target: Extract<ArmTarget, { kind: 'operationStatus' | 'operationResult' }>, apiVersion: string | null): Promise<Response> {
  const pool = await findPoolById(principal, target.operationId);
  if (target.kind === 'operationResult') {
    // A deletion is over when the engine has drained the pool and removed it.
    if (!pool) return new Response(null, { status: 204 });
    return new Response(null, {
      status: 202,
      headers: { Location: armOperationUrl('operationResult', target.subscriptionId, pool.id, apiVersion), 'Retry-After': DELETE_POLL_SECONDS },
    });
  }
  if (!pool) throw new AppError('NOT_FOUND', `There is no operation "${target.operationId}": its pool no longer exists.`);
  // Creating or replacing a pool is complete once the response is sent; the engine then fills it.
  return Response.json({ id: new URL(armOperationUrl('operationStatus', target.subscriptionId, pool.id, null)).pathname, name: pool.id, status: 'Succeeded' });
}

// GET: one pool, the pools of a resource group or subscription, or an operation's progress.
export const GET = apiRoute('pools.read', async (request, principal, context) => {
  const target = await targetOf(context);
  const apiVersion = apiVersionOf(request);
  switch (target.kind) {
    case 'pool':
      return Response.json(toArmResource(await getPool(principal, target.poolName), target, apiVersion));
    case 'pools': {
      // Every pool is in the installation's one resource group; the list holds those the caller may read.
      const pools = await listPools(principal);
      return Response.json({ value: pools.map((pool) => toArmResource(pool, target, apiVersion)) });
    }
    default:
      return operation(principal, target, apiVersion);
  }
});

// PUT: create (201, with Azure-AsyncOperation to poll) or replace (200) a pool.
export const PUT = apiRoute('pools.write', async (request, principal, context) => {
  const target = await poolTargetOf(context, 'PUT');
  const apiVersion = apiVersionOf(request);
  const { settings, paths } = poolSettingsFromArm(await jsonBodyOf(request), 'replace');
  const { pool, created } = await inArmTermsOf(paths, () => createOrReplacePool(principal, { ...settings, name: target.poolName }, SANDPOOL_OWN_SETTINGS));
  const headers: Record<string, string> = created ? { 'Azure-AsyncOperation': armOperationUrl('operationStatus', target.subscriptionId, pool.id, apiVersion) } : {};
  return Response.json(toArmResource(pool, target, apiVersion), { status: created ? 201 : 200, headers });
});

// PATCH: change the settings given (JSON merge patch: null resets a setting to its default).
export const PATCH = apiRoute('pools.write', async (request, principal, context) => {
  const target = await poolTargetOf(context, 'PATCH');
  const apiVersion = apiVersionOf(request);
  const { settings, paths } = poolSettingsFromArm(await jsonBodyOf(request), 'merge');
  const pool = await inArmTermsOf(paths, () => updatePool(principal, target.poolName, settings));
  return Response.json(toArmResource(pool, target, apiVersion));
});

// DELETE: 202 with a Location to poll while the engine drains the pool; 204 when there is no such pool.
export const DELETE = apiRoute('pools.write', async (request, principal, context) => {
  const target = await poolTargetOf(context, 'DELETE');
  try {
    const pool = await deletePool(principal, target.poolName, { idempotent: true });
    return new Response(null, {
      status: 202,
      headers: { Location: armOperationUrl('operationResult', target.subscriptionId, pool.id, apiVersionOf(request)), 'Retry-After': DELETE_POLL_SECONDS },
    });
  } catch (error) {
    if (error instanceof AppError && error.code === 'NOT_FOUND') return new Response(null, { status: 204 });
    throw error;
  }
});
