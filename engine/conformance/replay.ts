// A client's replay: its requests as a table of steps, run in order against one session (one
// identifier, as the client keeps it), each followed by assertions on every field that client
// reads from the response, and each response checked against the engine's OpenAPI document.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseSession, type ConformanceContext } from './context';
import { sendDocumented } from './documented';
import type { WireRequest, WireResponse } from './wire';

export type ClientState = {
  /** The pool management endpoint as configured in the client (no trailing slash). */
  endpoint: string;
  /** The client's session id (a uuid4, as every client generates it). */
  identifier: string;
  /** The bearer token the client's credential obtained for its scope. */
  token: string;
  /** Values a step keeps for later steps (an execution id). */
  memory: Record<string, unknown>;
};

export type ClientStep = {
  /** The client's method and what it does, e.g. `execute("6 * 7")`. */
  name: string;
  request: (client: ClientState) => WireRequest | Promise<WireRequest>;
  /** Everything the client reads from the response, asserted. */
  reads: (response: WireResponse, client: ClientState) => void | Promise<void>;
};

export type ClientReplay = {
  title: string;
  /** The scope (or resource) the client's credential requests a token for (reference §2, §10). */
  scope: string;
  /**
   * How the client finds the pool management endpoint before its first data-plane request
   * (default: configured by the user); runs as the first test.
   */
  discover?: { name: string; run: (client: ClientState) => Promise<void> };
  steps: ClientStep[];
};

export function replayClient(context: ConformanceContext, replay: ClientReplay): void {
  describe(replay.title, () => {
    const client: ClientState = { endpoint: '', identifier: randomUUID(), token: '', memory: {} };
    beforeAll(async () => {
      client.endpoint = context.endpoint;
      client.token = await context.token(replay.scope);
    });
    afterAll(() => releaseSession(context, context.endpoint, client.identifier));

    if (replay.discover) {
      const { name, run } = replay.discover;
      it(name, () => run(client));
    }

    for (const step of replay.steps) {
      it(step.name, async () => {
        const response = await sendDocumented(await step.request(client));
        await step.reads(response, client);
      }, REQUEST_TIMEOUT_MS);
    }
  });
}

/** What a client whose HTTP layer raises on non-2xx (raise_for_status, EnsureSuccessStatusCode, `!response.ok`) requires. */
export function expectSuccess(response: WireResponse): void {
  expect(response.status, response.text.slice(0, 500)).toBeGreaterThanOrEqual(200);
  expect(response.status, response.text.slice(0, 500)).toBeLessThan(300);
}

/** A legacy `code/execute` response (reference §4.2.1), as every legacy client dereferences it. */
export function legacyProperties(response: WireResponse): { status: string; stdout: string; stderr: string; result: unknown; executionResult: unknown } {
  expectSuccess(response);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const properties = response.json?.properties;
  expect(properties, response.text).toBeTypeOf('object');
  for (const field of ['status', 'stdout', 'stderr', 'result', 'executionResult', 'executionTimeInMilliseconds']) expect(properties, field).toHaveProperty(field);
  return properties;
}

/** A legacy file collection (reference §4.2.2–§4.2.3): `value[].properties.{filename,size,…}`. */
export function legacyFiles(response: WireResponse): { filename: string; size: number; lastModifiedTime: string; last_modified_time: string; $id: string }[] {
  expectSuccess(response);
  expect(Array.isArray(response.json?.value), response.text).toBe(true);
  return (response.json.value as { properties: never }[]).map((entry) => entry.properties);
}

/**
 * A request that needs a new session waits for a sandbox to start when the warm ones are taken
 * (the engine waits up to 60 s); on a loaded 2-core machine that is far beyond Vitest's default.
 */
export const REQUEST_TIMEOUT_MS = 120_000;

export const bearer = (client: ClientState): [string, string] => ['Authorization', `Bearer ${client.token}`];

export const SAMPLE_CSV = Buffer.from('city,temperature\nOslo,-3\nLagos,31\n');
