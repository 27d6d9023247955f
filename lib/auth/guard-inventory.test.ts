// Walks the whole app and fails if any server action or route handler is exported without
// going through the guard (lib/auth/guard.ts). New files are picked up automatically.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { guardOf } from './guard';

const appDir = join(import.meta.dirname, '..', '..', 'app');
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const ROUTE_CONFIG_EXPORTS = ['dynamic', 'revalidate', 'runtime', 'fetchCache', 'preferredRegion', 'maxDuration', 'dynamicParams'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(entry.name) && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

function isServerActionFile(path: string): boolean {
  return /^\s*(['"])use server\1/.test(readFileSync(path, 'utf8'));
}

const files = sourceFiles(appDir);
const actionFiles = files.filter(isServerActionFile);
const routeFiles = files.filter((path) => /[\\/]route\.ts$/.test(path));

describe('guard inventory', () => {
  it('finds the server actions and routes (so the walk itself works)', () => {
    expect(actionFiles.length).toBeGreaterThanOrEqual(5);
    expect(routeFiles.length).toBeGreaterThanOrEqual(5);
  });

  it.each(actionFiles.map((path) => [relative(appDir, path), path]))('every export of %s is a guarded server action', async (_name, path) => {
    const module = (await import(path)) as Record<string, unknown>;
    const exports = Object.entries(module);
    expect(exports.length).toBeGreaterThan(0);
    for (const [name, value] of exports) {
      const guard = guardOf(value);
      expect(guard, `${name} is exported without authedAction/publicAction`).toBeDefined();
      expect(guard?.kind).toBe('action');
      if (guard?.access === 'public') expect(guard.reason.length, `${name} needs a reason to be public`).toBeGreaterThan(10);
    }
  });

  it.each(routeFiles.map((path) => [relative(appDir, path), path]))('every handler of %s is guarded', async (_name, path) => {
    const module = (await import(path)) as Record<string, unknown>;
    const handlers = Object.entries(module).filter(([name]) => !ROUTE_CONFIG_EXPORTS.includes(name));
    expect(handlers.length).toBeGreaterThan(0);
    for (const [name, value] of handlers) {
      expect(HTTP_METHODS, `${name} is not an HTTP method handler`).toContain(name);
      const guard = guardOf(value);
      expect(guard, `${name} is exported without apiRoute/publicRoute`).toBeDefined();
      expect(guard?.kind).toBe('route');
    }
  });

  it('keeps the list of public entry points short and deliberate', async () => {
    const publicOnes: string[] = [];
    for (const path of [...actionFiles, ...routeFiles]) {
      const module = (await import(path)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(module)) {
        if (guardOf(value)?.access === 'public') publicOnes.push(`${relative(appDir, path)}#${name}`);
      }
    }
    expect(publicOnes.sort()).toEqual([
      '(auth)/login/actions.ts#signInAction',
      '[tenant]/oauth2/v2.0/token/route.ts#POST',
      'api/auth/[...nextauth]/route.ts#GET',
      'api/auth/[...nextauth]/route.ts#POST',
      'api/health/route.ts#GET',
      'api/openapi/control-plane.json/route.ts#GET', // describes the control plane, reveals no data
      'discovery/v2.0/keys/route.ts#GET',
      'oauth2/v2.0/token/route.ts#POST',
    ]);
  });
});
