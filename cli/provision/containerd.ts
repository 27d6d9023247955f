// Makes sure a containerd daemon (with the runc and gVisor runtimes) is installed and answering.
// There is no systemd on our hosts, so Sandpool starts containerd itself when nobody else did.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ContainerdApiError, ContainerdClient, GrpcCode, isGrpcCode } from '../../engine/runtime/containerd-api';
import { ensureDir, logsDir } from '../paths';
import { StepError } from '../ui';
import { ensureDebianPackages } from './apt';

const execFileAsync = promisify(execFile);

export const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
const STARTUP_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 200;
const STATUS_TIMEOUT_MS = 1_000;

export const containerdLogPath = () => join(logsDir, 'containerd.log');

export interface ContainerdStatus {
  ok: boolean;
  version?: string;
  error?: string;
}

/**
 * Installs containerd, runc and runsc when missing, then reuses the running daemon or starts one.
 *
 * A daemon we start is deliberately left running when Sandpool stops: the sandboxes are
 * containerd tasks and must outlive engine restarts, and the next start simply reuses it.
 */
export async function ensureContainerd(progress: (msg: string) => void): Promise<{ socket: string; startedByUs: boolean }> {
  await ensureDebianPackages(['containerd', 'runc', 'runsc'], progress);
  await reportRuntimeVersions(progress);

  const socket = CONTAINERD_SOCKET;
  const status = await containerdStatus(socket);
  if (status.ok) {
    progress(`reusing running containerd ${status.version ?? ''}`.trim());
    return { socket, startedByUs: false };
  }

  const runningPid = findContainerdPid();
  if (runningPid !== undefined) {
    // A daemon that is still starting (another Sandpool, or an operator) owns the metadata
    // database lock; a second one would hang on it, so we wait for the first one instead.
    progress(`containerd (pid ${runningPid}) is running but not answering yet; waiting for it`);
    await waitUntilAnswering(socket, runningPid, undefined);
    return { socket, startedByUs: false };
  }

  removeStaleSockets(socket, progress);
  const startedAt = performance.now();
  const { pid, exited } = startContainerdDaemon();
  progress(`started containerd (pid ${pid}), log: ${containerdLogPath()}`);
  const version = await waitUntilAnswering(socket, pid, exited);
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  progress(`containerd ${version ?? '(unknown version)'} is answering on ${socket} after ${seconds}s`);
  return { socket, startedByUs: true };
}

/**
 * Cheap liveness check for health endpoints: one gRPC call (`Version.Version`, the call
 * `ctr version` makes) over the Unix socket, with the engine's containerd client on a
 * connection of its own. It starts no process, unlike `ctr version`, and unlike a bare connect
 * it proves the daemon serves requests and tells its version.
 */
export async function containerdStatus(socket: string = CONTAINERD_SOCKET, timeoutMs = STATUS_TIMEOUT_MS): Promise<ContainerdStatus> {
  const client = new ContainerdClient(socket, '', { timeoutMs, ownConnection: true });
  try {
    const { version } = await client.version();
    return { ok: true, version: version || 'unknown' };
  } catch (error) {
    return { ok: false, error: describeStatusError(error, socket) };
  } finally {
    client.close();
  }
}

function describeStatusError(error: unknown, socket: string): string {
  const details = error instanceof ContainerdApiError ? error.details : error instanceof Error ? error.message : String(error);
  if (isGrpcCode(error, GrpcCode.UNAVAILABLE)) {
    // grpc-js reports the connect error's code (ENOENT, ECONNREFUSED, EACCES) in its details.
    if (!existsSync(socket) || /\bENOENT\b/.test(details)) return `containerd is not running: ${socket} does not exist`;
    if (/\bECONNREFUSED\b/.test(details)) return `containerd is not running: nothing listens on ${socket} (stale socket)`;
    if (/\bEACCES\b/.test(details)) return `permission denied on ${socket} (containerd's socket is root-only)`;
  }
  return `containerd does not answer on ${socket}: ${details}`;
}

/** Logs the runtime versions, which also proves both binaries run on this host. */
async function reportRuntimeVersions(progress: (msg: string) => void): Promise<void> {
  const [runc, runsc] = await Promise.all([runtimeVersion('runc'), runtimeVersion('runsc')]);
  progress(`${runc}; ${runsc}`);
}

async function runtimeVersion(binary: 'runc' | 'runsc'): Promise<string> {
  try {
    const { stdout } = await execFileAsync(binary, ['--version'], { timeout: 10_000 });
    return (stdout.split('\n')[0] ?? '').trim();
  } catch (error) {
    throw new StepError(
      `\`${binary} --version\` failed: ${error instanceof Error ? error.message : String(error)}`,
      `Reinstall it with \`apt-get install --reinstall -y ${binary}\` and check that \`${binary} --version\` works.`,
    );
  }
}

/** The pid of a live process named exactly `containerd` (not a shim), if any. */
function findContainerdPid(): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Format: "pid (comm) state …"; comm may hold spaces, so split around the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (comm === 'containerd' && state !== 'Z') return Number(entry);
    } catch {
      // The process exited while we were looking.
    }
  }
  return undefined;
}

/**
 * A containerd killed with SIGKILL leaves its sockets behind. containerd 1.6 replaces them
 * itself on start, but we remove them explicitly (no live containerd owns them at this point)
 * so a start never depends on that behaviour and the operator sees what happened.
 */
function removeStaleSockets(socket: string, progress: (msg: string) => void): void {
  for (const path of [socket, `${socket}.ttrpc`]) {
    if (!existsSync(path)) continue;
    rmSync(path, { force: true });
    progress(`removed stale socket ${path} left by a previous containerd`);
  }
}

/**
 * Starts containerd in its own session (detached = setsid) so it survives Sandpool and its
 * terminal. `exited` resolves only if the daemon dies, so the wait can fail fast with the reason.
 */
function startContainerdDaemon(): { pid: number; exited: Promise<string> } {
  ensureDir(logsDir);
  const logFd = openSync(containerdLogPath(), 'a');
  writeSync(logFd, `\n=== ${new Date().toISOString()} containerd started by Sandpool\n`);
  try {
    // cwd `/` so the long-lived daemon does not pin the directory Sandpool was started from.
    const child = spawn('containerd', [], { cwd: '/', detached: true, stdio: ['ignore', logFd, logFd] });
    const exited = new Promise<string>((resolve) => {
      child.once('error', (error) => resolve(error.message));
      child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with code ${code}`));
    });
    child.unref();
    if (child.pid === undefined) throw new StepError('containerd could not be started.', `See ${containerdLogPath()}.`);
    return { pid: child.pid, exited };
  } finally {
    closeSync(logFd);
  }
}

/**
 * Polls until containerd answers, the daemon dies, or STARTUP_TIMEOUT_MS passes. "Answers" is
 * the gRPC Version call that `ctr version` makes, without starting a `ctr` process per poll.
 */
async function waitUntilAnswering(socket: string, pid: number, exited: Promise<string> | undefined): Promise<string | undefined> {
  let death: string | undefined;
  void exited?.then((reason) => (death = reason));
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let status: ContainerdStatus = { ok: false };
  while (Date.now() < deadline) {
    status = await containerdStatus(socket, STATUS_TIMEOUT_MS);
    if (status.ok) return status.version;
    if (death === undefined && !isAlive(pid)) death = 'exited';
    if (death !== undefined) {
      throw new StepError(`containerd (pid ${pid}) ${death} before answering: ${lastLogLines()}`, `Read ${containerdLogPath()} for the cause.`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new StepError(
    `containerd (pid ${pid}) did not answer on ${socket} within ${STARTUP_TIMEOUT_MS / 1000}s (${status.error ?? 'no answer'}).`,
    `Read ${containerdLogPath()} (when Sandpool started it) for the cause; if the daemon is stuck, stop it with \`kill ${pid}\` and start Sandpool again.`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

function lastLogLines(count = 3): string {
  try {
    // Only this start's lines: the log is appended to across starts, each behind a `=== ` header.
    const thisStart = readFileSync(containerdLogPath(), 'utf8').split('\n=== ').pop() ?? '';
    const lines = thisStart.split('\n').slice(1).filter((line) => line.trim());
    return lines.slice(-count).join(' | ') || '(nothing logged)';
  } catch {
    return '(no log)';
  }
}
