// Health checks for the engine's dependencies. `/healthz` runs them all in parallel, each with
// a timeout, so a hung dependency makes the answer "degraded" instead of making it hang.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { containerdStatus, CONTAINERD_SOCKET } from '../cli/provision/containerd';

/** Throws when the dependency is unhealthy; may return details worth showing (a version). */
export type HealthCheck = () => Promise<{ version?: string }>;

export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  version?: string;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  version: string;
  checks: Record<string, CheckResult>;
}

export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

export async function checkHealth(version: string, checks: Record<string, HealthCheck>, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS): Promise<HealthReport> {
  const entries = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await runCheck(check, timeoutMs)] as const));
  const results = Object.fromEntries(entries);
  const healthy = entries.every(([, result]) => result.ok);
  return { status: healthy ? 'ok' : 'degraded', version, checks: results };
}

async function runCheck(check: HealthCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const latencyMs = () => Math.round((performance.now() - started) * 10) / 10;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const details = await Promise.race([check(), timeout]);
    return { ok: true, latencyMs: latencyMs(), ...details };
  } catch (error) {
    return { ok: false, latencyMs: latencyMs(), error: errorMessage(error) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A dedicated pool of one connection for health checks: cheap, bounded (a flood of /healthz
 * queues on one client instead of opening connections), and independent of the pool the
 * engine's real work will use, so it reports Postgres itself rather than our own saturation.
 */
export function createPostgresHealthPool(databaseUrl: string, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 1,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'sandpool-engine-health',
  });
  // An idle client whose connection drops (Postgres restarted) emits here; without a listener
  // that would crash the engine. The next check reconnects and reports the outage if it lasts.
  pool.on('error', () => undefined);
  return pool;
}

export function postgresCheck(pool: pg.Pool): HealthCheck {
  return async () => {
    await pool.query('SELECT 1');
    return {};
  };
}

export function containerdCheck(socket: string = CONTAINERD_SOCKET, timeoutMs = DEFAULT_CHECK_TIMEOUT_MS): HealthCheck {
  return async () => {
    const status = await containerdStatus(socket, timeoutMs);
    if (!status.ok) throw new Error(status.error ?? 'containerd is not reachable');
    return { version: status.version };
  };
}

/** Readable text for any thrown value; Node's dual-stack connect errors have an empty message. */
function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(errorMessage))].join('; ');
  }
  if (error instanceof Error) return error.message || String((error as { code?: unknown }).code ?? error.name);
  return String(error);
}
