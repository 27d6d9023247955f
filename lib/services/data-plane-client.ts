import 'server-only';
// The portal as a client of the engine's data plane. The code console and the session page call
// the same HTTP API as external clients (reference §4.3), with the signed-in person's identity:
// a five-minute token minted here for each call, which never leaves the server. So what works
// in the portal works for API users, and the engine's role checks and request history apply.
import type { Principal } from '../auth/access';
import { signInTimeOf } from '../auth/session';
import { env } from '../env';
import { AppError, type ErrorCode } from '../errors';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID } from '../pools/endpoint';
import { issueUserDataPlaneToken } from '../tokens/access-token';

/** The newest contract: executions with outputStreamsMaxLength, files listed recursively. */
export const PORTAL_API_VERSION = '2025-10-02-preview';

/** The engine's error, in Azure's shape: `{"error": {"code", "message"}}`. */
export type EngineError = { status: number; code: string; message: string };

const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'BAD_REQUEST',
  415: 'BAD_REQUEST',
  429: 'RATE_LIMITED',
  503: 'ENGINE_UNAVAILABLE',
  507: 'CONFLICT',
};

async function tokenFor(principal: Principal): Promise<string> {
  const authTime = await signInTimeOf(principal);
  if (principal.kind !== 'user' || authTime === null) {
    throw new AppError('FORBIDDEN', "The portal reaches sessions only for people signed in to it. Automation calls the pool's endpoint itself, with a data-plane token.");
  }
  return issueUserDataPlaneToken({ id: principal.id, authTime });
}

type CallOptions = {
  method?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** JSON to send, or a stream passed through as it arrives (an upload). */
  body?: unknown;
  signal?: AbortSignal;
};

/**
 * Calls `path` under pool `poolName`'s endpoint on the engine as `principal`. Answers of every
 * status come back as they are; only an engine that cannot be reached is an error here.
 */
export async function callDataPlane(principal: Principal, poolName: string, path: string, options: CallOptions = {}): Promise<Response> {
  const token = await tokenFor(principal);
  const base = env().ENGINE_URL.replace(/\/+$/, '');
  const url = `${base}/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourceGroups/${DEFAULT_RESOURCE_GROUP}/sessionPools/${encodeURIComponent(poolName)}${path}`;
  const search = new URLSearchParams({ 'api-version': PORTAL_API_VERSION, ...options.query });
  const isStream = options.body instanceof ReadableStream;
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...options.headers };
  if (options.body !== undefined && !isStream) headers['content-type'] = 'application/json';
  try {
    return await fetch(`${url}?${search.toString()}`, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
      body: options.body === undefined ? undefined : isStream ? (options.body as ReadableStream) : JSON.stringify(options.body),
      // A request body that is a stream must say so (fetch's half-duplex mode).
      ...(isStream ? { duplex: 'half' } : {}),
      signal: options.signal,
    } as RequestInit);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new AppError('ENGINE_UNAVAILABLE', `The engine at ${base} does not answer (${cause}). Check that it is running: npm start starts it.`);
  }
}

/** The engine's error answer, read from a response that is not OK. */
export async function engineErrorOf(response: Response): Promise<EngineError> {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.message === 'string') return { status: response.status, code: String(body.error.code ?? response.status), message: body.error.message };
  } catch {
    // not JSON: use the text as it is
  }
  return { status: response.status, code: String(response.status), message: text.slice(0, 500) || `The engine answered ${response.status} without an explanation.` };
}

/** The engine's refusal as an AppError for actions: its message says what to do. */
export function appErrorOf(error: EngineError): AppError {
  return new AppError(STATUS_CODES[error.status] ?? 'INTERNAL', error.message);
}
