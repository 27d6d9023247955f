import 'server-only';
// Sessions as the portal shows and drives them. What a session is and was comes from Postgres
// (the engine writes sessions, their lifecycle events and the data-plane request history);
// whatever acts on a session (running code, files, stopping it) goes through the engine's data
// plane with the viewer's identity (data-plane-client.ts), as an API client's request would.
//
// Who sees what: pools.read on the pool shows a session, its lifecycle and its executions.
// Identifiers are secrets (reference §3), shown only to those who may act on the pool's sessions
// (sessions.execute: Session Executor or Owner on it), who alone reach its files and may stop it.
import { createHmac } from 'node:crypto';
import { assertCan, can, type Principal } from '../auth/access';
import { poolScope } from '../auth/scope';
import { db } from '../db';
import { env } from '../env';
import { AppError } from '../errors';
import type { IsolationRuntime } from '../generated/prisma/client';
import type { SessionState } from '../lifecycle/transitions';
import { parseInput } from '../validations/common';
import { consoleRunSchema } from '../validations/session';
import { appErrorOf, callDataPlane, engineErrorOf } from './data-plane-client';
import { getPool, type PoolDto } from './pools';

const ISOLATION: Record<IsolationRuntime, PoolDto['isolation']> = { GVISOR: 'gVisor', RUNC_HARDENED: 'runc' };

/** May `principal` act on the sessions of pool `poolName` (run code, files, stop)? */
export function canActOnSessions(principal: Principal, poolName: string): boolean {
  return can(principal, 'sessions.execute', poolScope(poolName));
}

// -- the code console ---------------------------------------------------------------------

export type ConsolePool = Pick<PoolDto, 'name' | 'isolation' | 'maxConcurrentSessions' | 'cooldownPeriodInSeconds'>;

/** The pools the viewer may run code in (sessions.execute on them), by name; none being deleted. */
export async function listConsolePools(principal: Principal): Promise<ConsolePool[]> {
  const pools = await db().sessionPool.findMany({
    where: { deletingAt: null },
    orderBy: { name: 'asc' },
    select: { name: true, runtime: true, maxConcurrentSessions: true, cooldownPeriodInSeconds: true },
  });
  return pools
    .filter((pool) => canActOnSessions(principal, pool.name))
    .map((pool) => ({ name: pool.name, isolation: ISOLATION[pool.runtime], maxConcurrentSessions: pool.maxConcurrentSessions, cooldownPeriodInSeconds: pool.cooldownPeriodInSeconds ?? 300 }));
}

/**
 * The viewer's own session identifier for the console: the same on every visit and browser, so
 * their variables are there when they come back, and not guessable from their user id (an
 * identifier is all it takes to use a session).
 */
export function consoleIdentifier(principal: Principal): string {
  const digest = createHmac('sha256', env().AUTH_SECRET).update(`console-identifier:${principal.id}`).digest('hex');
  return `console-${digest.slice(0, 24)}`;
}

export type ConsoleRun = {
  executionId: string;
  /** The session that ran it (x-ms-session-guid): a different one than last time means a fresh kernel. */
  sessionId: string;
  /** No live session had this identifier before: the code ran in a new, empty one. */
  startedSession: boolean;
  status: 'Succeeded' | 'Failed';
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** The last expression's value; null when the cell ended with a statement or made a figure. */
  result: unknown;
  /** A matplotlib figure, base64 PNG. */
  imagePng: string | null;
  executionTimeMs: number;
  error: { code: string; message: string } | null;
};

/** How much of stdout and stderr the console shows: as much as the request history keeps. */
const CONSOLE_OUTPUT_MAX_CHARACTERS = 64 * 1024;

type ExecutionBody = {
  id: string;
  status: 'Succeeded' | 'Failed';
  result?: { stdout: string; stderr: string; executionResult: unknown; executionTimeInMilliseconds: number };
  error?: { code: string; message: string };
};

function asImage(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const { type, base64_data: data } = value as { type?: unknown; base64_data?: unknown };
  return type === 'image' && typeof data === 'string' ? data : null;
}

/** Runs code for the console through POST /executions (sessions.execute on the pool). */
export async function runConsoleCode(principal: Principal, raw: unknown): Promise<ConsoleRun> {
  const input = parseInput(consoleRunSchema, raw);
  assertCan(principal, 'sessions.execute', poolScope(input.pool));
  const before = await liveSession(input.pool, input.identifier);
  const response = await callDataPlane(principal, input.pool, '/executions', {
    query: { identifier: input.identifier },
    body: {
      codeInputType: 'Inline',
      executionType: 'Synchronous',
      code: input.code,
      timeoutInSeconds: input.timeoutSeconds,
      outputStreamsMaxLength: CONSOLE_OUTPUT_MAX_CHARACTERS,
    },
  });
  if (!response.ok) throw appErrorOf(await engineErrorOf(response));
  const body = (await response.json()) as ExecutionBody;
  const sessionId = response.headers.get('x-ms-session-guid') ?? '';
  const value = body.result?.executionResult;
  const imagePng = asImage(value);
  return {
    executionId: body.id,
    sessionId,
    startedSession: before?.id !== sessionId,
    status: body.status,
    timedOut: body.error?.code === 'ExecutionTimeout',
    stdout: body.result?.stdout ?? '',
    stderr: body.result?.stderr ?? '',
    result: imagePng || value === '' ? null : (value ?? null),
    imagePng,
    executionTimeMs: body.result?.executionTimeInMilliseconds ?? 0,
    error: body.error ?? null,
  };
}

async function liveSession(poolName: string, identifier: string): Promise<{ id: string } | null> {
  return db().session.findFirst({ where: { pool: { name: poolName }, identifier, state: 'ALLOCATED' }, select: { id: true } });
}

// -- one session ----------------------------------------------------------------------------

export type SessionLifecycleEvent = { id: string; from: SessionState | null; to: SessionState; reason: string; at: Date };

export type SessionDetail = {
  id: string;
  state: SessionState;
  /** Only for viewers who may act on the pool's sessions, else null. */
  identifier: string | null;
  /** May the viewer run code in it, reach its files and stop it? */
  canAct: boolean;
  pool: Pick<PoolDto, 'name' | 'cpu' | 'memoryGi' | 'cooldownPeriodInSeconds' | 'generation' | 'provisioningState'>;
  isolation: PoolDto['isolation'];
  image: string | null;
  /** The pool generation it was started for: its limits are that generation's. */
  generation: number;
  failureReason: string | null;
  createdAt: Date;
  readyAt: Date | null;
  allocatedAt: Date | null;
  lastAccessedAt: Date | null;
  expiresAt: Date | null;
  deletingAt: Date | null;
  deletedAt: Date | null;
  /** Oldest first. */
  events: SessionLifecycleEvent[];
  /** The pool's live feed continues after this event. */
  lastEventId: string;
};

/** One session (pools.read on its pool); NOT_FOUND when there is none with this id. */
export async function getSessionDetail(principal: Principal, sessionId: string): Promise<SessionDetail> {
  const session = await db().session.findUnique({
    where: { id: sessionId },
    include: { pool: { select: { name: true } }, events: { orderBy: { id: 'asc' } } },
  });
  if (!session) throw new AppError('NOT_FOUND', `There is no session with id "${sessionId}". It may belong to a pool that was deleted.`);
  const pool = await getPool(principal, session.pool.name);
  const canAct = canActOnSessions(principal, pool.name);
  return {
    id: session.id,
    state: session.state,
    identifier: canAct ? session.identifier : null,
    canAct,
    pool,
    isolation: ISOLATION[session.runtime],
    image: session.image,
    generation: session.generation,
    failureReason: session.failureReason,
    createdAt: session.createdAt,
    readyAt: session.readyAt,
    allocatedAt: session.allocatedAt,
    lastAccessedAt: session.lastAccessedAt,
    expiresAt: session.expiresAt,
    deletingAt: session.deletingAt,
    deletedAt: session.deletedAt,
    events: session.events.map((event) => ({ id: event.id.toString(), from: event.fromState, to: event.toState, reason: event.reason, at: event.at })),
    lastEventId: session.events.at(-1)?.id.toString() ?? '0',
  };
}

export type SessionExecution = {
  id: string;
  at: Date;
  executionId: string;
  /** Who ran it: a person's email or a service principal's client id, as it was then. */
  ranBy: string;
  asynchronous: boolean;
  status: 'Running' | 'Succeeded' | 'Failed';
  code: string;
  stdout: string;
  stderr: string;
  result: unknown;
  imagePng: string | null;
  executionTimeMs: number | null;
  error: { code: string; message: string } | null;
};

const EXECUTION_STATUS = { RUNNING: 'Running', SUCCEEDED: 'Succeeded', FAILED: 'Failed' } as const;
export const EXECUTIONS_PAGE_SIZE = 20;

/**
 * The session's executions from the request history, newest first, a page at a time before the
 * row `before` (pools.read on the pool).
 */
export async function listSessionExecutions(
  principal: Principal,
  session: { id: string; poolName: string },
  options: { before?: string } = {},
): Promise<{ executions: SessionExecution[]; nextBefore: string | null }> {
  assertCan(principal, 'pools.read', poolScope(session.poolName));
  if (options.before !== undefined && !/^\d{1,19}$/.test(options.before)) throw new AppError('BAD_REQUEST', 'The page cursor is not valid; go back to the first page.');
  const rows = await db().dataPlaneRequest.findMany({
    where: { sessionId: session.id, executionId: { not: null }, ...(options.before ? { id: { lt: BigInt(options.before) } } : {}) },
    orderBy: { id: 'desc' },
    take: EXECUTIONS_PAGE_SIZE + 1,
  });
  const executions = rows.slice(0, EXECUTIONS_PAGE_SIZE).map((row) => {
    const imagePng = asImage(row.executionResult);
    return {
      id: row.id.toString(),
      at: row.at,
      executionId: row.executionId!,
      ranBy: row.principalLabel,
      asynchronous: row.asynchronous ?? false,
      status: EXECUTION_STATUS[row.executionStatus ?? 'FAILED'],
      code: row.code ?? '',
      stdout: row.stdout ?? '',
      stderr: row.stderr ?? '',
      result: imagePng || row.executionResult === '' ? null : row.executionResult,
      imagePng,
      executionTimeMs: row.executionTimeMs,
      error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    };
  });
  return { executions, nextBefore: rows.length > EXECUTIONS_PAGE_SIZE ? executions.at(-1)!.id : null };
}

/**
 * Stops a session through the engine (DELETE /session), as an API client would: its sandbox is
 * deleted and its identifier's next request gets a fresh session (sessions.execute on the pool).
 * Resolves once the sandbox is gone.
 */
export async function stopSession(principal: Principal, sessionId: string): Promise<{ id: string; poolName: string }> {
  const session = await actionableSession(principal, sessionId);
  const response = await callDataPlane(principal, session.poolName, '/session', { method: 'DELETE', query: { identifier: session.identifier } });
  if (!response.ok) throw appErrorOf(await engineErrorOf(response));
  return { id: session.id, poolName: session.poolName };
}

/** A running session the viewer may act on; refuses one they may not, or one that has ended. */
async function actionableSession(principal: Principal, sessionId: string): Promise<{ id: string; poolName: string; identifier: string }> {
  const session = await db().session.findUnique({ where: { id: sessionId }, select: { id: true, state: true, identifier: true, pool: { select: { name: true } } } });
  if (!session) throw new AppError('NOT_FOUND', `There is no session with id "${sessionId}".`);
  assertCan(principal, 'sessions.execute', poolScope(session.pool.name));
  if (session.state !== 'ALLOCATED' || !session.identifier) {
    throw new AppError('CONFLICT', `This session is no longer running (it is ${session.state.toLowerCase()}); its sandbox and files are gone.`);
  }
  return { id: session.id, poolName: session.pool.name, identifier: session.identifier };
}

// -- files in /mnt/data ---------------------------------------------------------------------

/**
 * Whose files a file request means: `?session=<id>` (a running session, as on the session
 * page), or `?pool=&identifier=` (the console, whose session may not exist yet). Either way
 * sessions.execute on the pool.
 */
export type FileTarget = { poolName: string; identifier: string; sessionId: string | null };

export async function fileTargetOf(principal: Principal, params: URLSearchParams): Promise<FileTarget> {
  const sessionId = params.get('session');
  if (sessionId) {
    const session = await actionableSession(principal, sessionId);
    return { poolName: session.poolName, identifier: session.identifier, sessionId: session.id };
  }
  const poolName = params.get('pool');
  const identifier = params.get('identifier');
  if (!poolName || !identifier) {
    throw new AppError('BAD_REQUEST', 'Say whose files: ?session=<session id>, or ?pool=<pool name>&identifier=<session identifier>.');
  }
  assertCan(principal, 'sessions.execute', poolScope(poolName));
  return { poolName, identifier, sessionId: (await liveSession(poolName, identifier))?.id ?? null };
}

export type SessionFile = { path: string; sizeInBytes: number; lastModifiedAt: string; contentType: string };

/**
 * The files in the session's /mnt/data, every folder down. A target without a live session has
 * none, and asking allocates nothing: only running code or uploading starts a session.
 */
export async function listSessionFiles(principal: Principal, target: FileTarget): Promise<{ sessionId: string | null; files: SessionFile[] }> {
  if (!target.sessionId) return { sessionId: null, files: [] };
  // Between the check above and this request the session could end; the engine would then start a
  // fresh one for the identifier, as it does for any client. Rare, and it cools down unused.
  const response = await callDataPlane(principal, target.poolName, '/files', { query: { identifier: target.identifier, recursive: 'true' } });
  if (!response.ok) throw appErrorOf(await engineErrorOf(response));
  const body = (await response.json()) as { value: { name: string; type: string; directory: string; sizeInBytes: number; lastModifiedAt: string; contentType: string }[] };
  const files = body.value
    .filter((entry) => entry.type === 'File')
    .map((entry) => ({ path: entry.directory ? `${entry.directory}/${entry.name}` : entry.name, sizeInBytes: entry.sizeInBytes, lastModifiedAt: entry.lastModifiedAt, contentType: entry.contentType }))
    .sort((a, b) => a.path.localeCompare(b.path));
  return { sessionId: target.sessionId, files };
}

/** A target with a running session: reading or deleting a file must never start one. */
function requireRunning(target: FileTarget): void {
  if (!target.sessionId) throw new AppError('NOT_FOUND', `No session is running for this identifier in pool "${target.poolName}", so it has no files. Run code or upload a file to start one.`);
}

/** A file's folder and name, as the engine's `/files/{name}?path=` wants them. */
function splitPath(path: string | null): { directory: string; name: string } {
  if (!path) throw new AppError('BAD_REQUEST', 'Name the file: ?name=<path under /mnt/data>, for example ?name=data.csv.');
  const slash = path.lastIndexOf('/');
  return { directory: slash < 0 ? '' : path.slice(0, slash), name: path.slice(slash + 1) };
}

/** The engine's answer passed on as it is: its status and its body, streamed. */
function relay(response: Response, headers: Record<string, string> = {}): Response {
  const passed: Record<string, string> = { 'cache-control': 'no-store', ...headers };
  for (const header of ['content-type', 'content-length', 'last-modified', 'x-ms-error-code']) {
    const value = response.headers.get(header);
    if (value) passed[header] = value;
  }
  return new Response(response.body, { status: response.status, headers: passed });
}

/**
 * Streams an upload (one multipart/form-data file part named "file") into the session's
 * /mnt/data without holding it: the body goes to the engine as it arrives. The engine enforces
 * the size limit and answers in Azure's error shape, which is passed on.
 */
export async function uploadSessionFile(principal: Principal, target: FileTarget, request: Request): Promise<Response> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!request.body || !contentType.toLowerCase().startsWith('multipart/form-data')) {
    throw new AppError('BAD_REQUEST', 'Send the file as multipart/form-data in a part named "file".');
  }
  const length = request.headers.get('content-length');
  const response = await callDataPlane(principal, target.poolName, '/files', {
    method: 'POST',
    query: { identifier: target.identifier },
    headers: { 'content-type': contentType, ...(length ? { 'content-length': length } : {}) },
    body: request.body,
    signal: request.signal,
  });
  return relay(response);
}

/** Streams a file out of the session's /mnt/data as a download. */
export async function downloadSessionFile(principal: Principal, target: FileTarget, path: string | null, signal: AbortSignal): Promise<Response> {
  requireRunning(target);
  const { directory, name } = splitPath(path);
  const response = await callDataPlane(principal, target.poolName, `/files/${encodeURIComponent(name)}/content`, { query: { identifier: target.identifier, path: directory }, signal });
  if (!response.ok) return relay(response);
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return relay(response, { 'content-disposition': `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(name)}` });
}

/** Deletes a file from the session's /mnt/data. */
export async function deleteSessionFile(principal: Principal, target: FileTarget, path: string | null): Promise<Response> {
  requireRunning(target);
  const { directory, name } = splitPath(path);
  const response = await callDataPlane(principal, target.poolName, `/files/${encodeURIComponent(name)}`, { method: 'DELETE', query: { identifier: target.identifier, path: directory } });
  return relay(response);
}
