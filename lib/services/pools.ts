import 'server-only';
import type { Principal } from '../auth/access';
import { assertCan, scopesWith } from '../auth/access';
import { poolScope, ROOT_SCOPE } from '../auth/scope';
import { db } from '../db';

/** Names of the pools the viewer may see (pools.read), for pickers. */
export async function listPoolNames(principal: Principal): Promise<string[]> {
  const scopes = scopesWith(principal, 'pools.read');
  if (scopes.length === 0) assertCan(principal, 'pools.read');
  const pools = await db().sessionPool.findMany({ select: { name: true }, orderBy: { name: 'asc' } });
  return pools.map((pool) => pool.name).filter((name) => scopes.includes(ROOT_SCOPE) || scopes.includes(poolScope(name)));
}
