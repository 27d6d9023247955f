// Role-assignment scopes, Azure style: "/" covers every pool, "/sessionPools/<name>" one pool.

export const ROOT_SCOPE = '/';
const POOL_SCOPE = /^\/sessionPools\/([^/]+)$/;

/** Azure's session pool name rule (ARM SessionPoolNameParameter). */
export const POOL_NAME_PATTERN = /^[a-z][a-z0-9]{2,62}$/;

export type Scope = { kind: 'root' } | { kind: 'pool'; poolName: string };

export type ScopeParseResult = { ok: true; scope: Scope; canonical: string } | { ok: false; message: string };

export function parseScope(raw: string): ScopeParseResult {
  const value = raw.trim();
  if (value === ROOT_SCOPE) return { ok: true, scope: { kind: 'root' }, canonical: ROOT_SCOPE };
  const match = POOL_SCOPE.exec(value);
  if (!match) {
    return {
      ok: false,
      message: `Unknown scope "${raw}". Use "/" for every pool or "/sessionPools/<pool name>" for one pool.`,
    };
  }
  const poolName = match[1]!;
  if (!POOL_NAME_PATTERN.test(poolName)) {
    return {
      ok: false,
      message: `"${poolName}" is not a valid pool name: use 3–63 lowercase letters and digits, starting with a letter.`,
    };
  }
  return { ok: true, scope: { kind: 'pool', poolName }, canonical: poolScope(poolName) };
}

export function poolScope(poolName: string): string {
  return `/sessionPools/${poolName}`;
}

/** True when an assignment at `assignmentScope` applies to `target`. */
export function scopeCovers(assignmentScope: string, target: string): boolean {
  return assignmentScope === ROOT_SCOPE || assignmentScope === target;
}
