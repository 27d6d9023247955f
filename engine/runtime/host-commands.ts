// Host commands (mount, umount, runsc) run from a small child process, so that the engine's own
// process never forks. fork() copies the page tables of the whole engine: 15–40 ms at its size
// on this hardware, during which its event loop stands still and every request in flight waits
// (measured: a refill's mounts stalled the loop up to 85 ms and put tens of ms on requests).
// The child is small, so its own forks are cheap, and they block only the child.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export class HostCommandError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
    readonly code: string | number | undefined,
  ) {
    super(message);
    this.name = 'HostCommandError';
  }
}

type Outcome = { id: number; ok: boolean; stdout: string; stderr: string; message?: string; code?: string | number };
type Pending = { resolve: (output: { stdout: string; stderr: string }) => void; reject: (error: Error) => void };

const CHILD_PATH = fileURLToPath(new URL('./host-commands-child.mjs', import.meta.url));

let child: ChildProcess | undefined;
/** The helper's pid, for tests that check it is restarted after it dies. */
export const hostCommandsPid = (): number | undefined => child?.pid;
const pending = new Map<number, Pending>();
let nextId = 1;

function failAll(error: Error): void {
  for (const request of pending.values()) request.reject(error);
  pending.clear();
}

function runner(): ChildProcess {
  if (child?.connected) return child;
  // No execArgv: the child is plain JavaScript and needs none of our loaders or test flags.
  const started = fork(CHILD_PATH, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
  started.on('message', (outcome: Outcome) => {
    const request = pending.get(outcome.id);
    if (!request) return;
    pending.delete(outcome.id);
    if (pending.size === 0) idle(started);
    if (outcome.ok) request.resolve({ stdout: outcome.stdout, stderr: outcome.stderr });
    else request.reject(new HostCommandError(outcome.message ?? 'command failed', outcome.stdout, outcome.stderr, outcome.code));
  });
  started.on('exit', (code, signal) => {
    if (child === started) child = undefined;
    failAll(new Error(`the host-command helper process exited (${signal ?? `code ${code}`}); the command may or may not have run`));
  });
  started.on('error', (error) => {
    if (child === started) child = undefined;
    failAll(error);
  });
  child = started;
  return started;
}

/** Lets the engine exit while the helper waits for work; the helper exits when the engine does. */
function idle(helper: ChildProcess): void {
  helper.unref();
  helper.channel?.unref();
}

/** Runs `file` with `args` like execFile; rejects with a HostCommandError (stdout, stderr, code) when it fails. */
export function runHostCommand(file: string, args: string[], options: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  const helper = runner();
  helper.ref();
  helper.channel?.ref();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    helper.send({ id, file, args, timeoutMs: options.timeoutMs ?? 0 }, (error) => {
      if (!error) return;
      pending.delete(id);
      reject(error);
    });
  });
}
