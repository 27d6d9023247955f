// Starts the engine's HTTP server in-process against the real Postgres (DATABASE_URL) and the
// real containerd socket, and checks what /healthz answers when both are up and when Postgres
// is not reachable.
import { once } from 'node:events';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { containerdCheck, createPostgresHealthPool, packageVersion, postgresCheck, type HealthReport } from './health';
import { createEngineServer } from './server';

interface RunningEngine {
  url: string;
  stop: () => Promise<void>;
}

const running: RunningEngine[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((engine) => engine.stop()));
});

async function startEngine(databaseUrl: string): Promise<RunningEngine> {
  const pool = createPostgresHealthPool(databaseUrl);
  const app = createEngineServer({
    version: packageVersion(),
    checks: { postgres: postgresCheck(pool), containerd: containerdCheck() },
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const engine = {
    url,
    stop: async () => {
      await app.close();
      await pool.end();
    },
  };
  running.push(engine);
  return engine;
}

/** A loopback port nobody listens on: bind an ephemeral port, then release it. */
async function closedLoopbackPort(): Promise<number> {
  const probe = createTcpServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function requireDatabaseUrl(): string {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is not set: this test needs a reachable Postgres (the test runner provides it).');
  return databaseUrl;
}

/** Compares ok and error together so a failure shows the check's own error message. */
function expectHealthy(report: HealthReport, check: string): void {
  const result = report.checks[check];
  expect({ check, ok: result?.ok, error: result?.error }).toEqual({ check, ok: true, error: undefined });
}

describe('GET /healthz', () => {
  it('answers 200 with both checks ok when Postgres and containerd are reachable', async () => {
    const engine = await startEngine(requireDatabaseUrl());

    const response = await fetch(`${engine.url}/healthz`);
    const body = (await response.json()) as HealthReport;

    expectHealthy(body, 'postgres');
    expectHealthy(body, 'containerd');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(body.status).toBe('ok');
    expect(body.version).toBe(packageVersion());
    expect(body.checks.postgres?.latencyMs).toBeTypeOf('number');
    expect(body.checks.containerd?.version).toMatch(/\d+\.\d+/);
  });

  it('answers 503 naming postgres when Postgres is unreachable', async () => {
    requireDatabaseUrl();
    const port = await closedLoopbackPort();
    const engine = await startEngine(`postgresql://nobody:nothing@127.0.0.1:${port}/nothing`);

    const response = await fetch(`${engine.url}/healthz`);
    const body = (await response.json()) as HealthReport;

    expect(response.status).toBe(503);
    expect(body.status).toBe('degraded');
    expect(body.checks.postgres).toMatchObject({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
    expectHealthy(body, 'containerd');
  });
});

describe('unknown paths', () => {
  it('answer 404 with an error code and message', async () => {
    const engine = await startEngine(requireDatabaseUrl());

    const response = await fetch(`${engine.url}/nothing-here`);

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'NotFound', message: expect.any(String) } });
  });
});
