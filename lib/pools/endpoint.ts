import { env } from '../env';

// Sandpool has one implicit subscription and resource group per installation. Pool endpoints
// use these values; the data plane accepts any values in those path segments, so Azure tooling
// that builds the path from its own subscription keeps working.
export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
export const DEFAULT_RESOURCE_GROUP = 'sandpool';

/** The pool management endpoint, shaped like Azure's: `…/subscriptions/{sub}/resourceGroups/{rg}/sessionPools/{name}`. */
export function poolManagementEndpoint(poolName: string): string {
  const base = env().ENGINE_PUBLIC_URL.replace(/\/+$/, '');
  return `${base}/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${DEFAULT_RESOURCE_GROUP}/sessionPools/${poolName}`;
}
