// The engine's OpenAPI document: served by a real engine, valid OpenAPI 3.1 (a well-kept
// validator, @readme/openapi-parser), and naming exactly the routes the engine registers, no
// more and no fewer.
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataPlaneError, parseIdentifier } from '../dataplane/requests';
import { startTestEngine, type TestEngine } from '../testing/harness';
import { IDENTIFIER_PATTERN_SOURCE } from './data-plane';

let engine: TestEngine;
let served: { status: number; contentType: string | null; document: { paths: Record<string, Record<string, unknown>> } };

beforeAll(async () => {
  engine = await startTestEngine();
  const response = await fetch(`${engine.url}/openapi.json`);
  served = { status: response.status, contentType: response.headers.get('content-type'), document: (await response.json()) as typeof served.document };
}, 120_000);

afterAll(async () => {
  await engine?.stop();
  engine?.runtime.close();
});

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options'];

/** `:name`, `*` and `{name}` all become `{}`, so Fastify's and OpenAPI's spellings compare equal. */
function normalise(path: string): string {
  return path.replace(/:\w+/g, '{}').replace(/\{\w+\}/g, '{}').replace(/\*$/, '{}');
}

/**
 * The routes in Fastify's printRoutes() tree: each line is a node at depth (indent / 4), its
 * text appended to its parent's, with the methods it serves in parentheses. HEAD is Fastify's
 * automatic twin of every GET.
 */
function registeredRoutes(tree: string): string[] {
  const routes: string[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const connector = line.search(/[├└]── /);
    if (connector < 0) continue;
    const depth = connector / 4;
    const match = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(connector + 4))!;
    stack[depth] = match[1]!;
    stack.length = depth + 1;
    for (const method of match[2]?.split(', ') ?? []) {
      if (method !== 'HEAD') routes.push(`${method} ${normalise(stack.join(''))}`);
    }
  }
  return routes.sort();
}

describe('GET /openapi.json', () => {
  it('is served without a token, as JSON', () => {
    expect(served.status).toBe(200);
    expect(served.contentType).toMatch(/^application\/json/);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(structuredClone(served.document) as never);
    expect(result.valid, JSON.stringify(result, null, 2).slice(0, 3000)).toBe(true);
    expect((served.document as { openapi?: string }).openapi).toBe('3.1.0');
  });

  it('describes every route the engine registers, and nothing else', async () => {
    const engineRoutes = registeredRoutes(engine.app.printRoutes());
    expect(engineRoutes.length).toBeGreaterThan(20);
    const documented = Object.entries(served.document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).filter((key) => HTTP_METHODS.includes(key)).map((method) => `${method.toUpperCase()} ${normalise(path)}`))
      .sort();
    expect(documented).toEqual(engineRoutes);
  });

  it('states the identifier rule the engine enforces', () => {
    const pattern = new RegExp(IDENTIFIER_PATTERN_SOURCE, 'u');
    const accepts = (identifier: string) => {
      try {
        parseIdentifier(identifier);
        return true;
      } catch (error) {
        if (error instanceof DataPlaneError) return false;
        throw error;
      }
    };
    for (const identifier of ['abcd', 'user-123', 'a|b&c^d%e$f#g(h)i{j}k[l]m;n<o>p', '_:"\'?/.,@*+=!~`', 'x'.repeat(128), 'abc', 'x'.repeat(129), 'has space', 'émile', 'tab\there']) {
      expect(pattern.test(identifier), identifier).toBe(accepts(identifier));
    }
  });
});
