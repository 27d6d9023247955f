// The engine's side of the sandbox agent's socket (protocol: engine/agent/agent.py's docstring).
//
// One persistent Unix-socket connection per sandbox, opened lazily and reopened after a
// failure; requests are multiplexed on it by id, and every call has its own deadline. The
// agent runs untrusted code's neighbour, so everything it sends is bounded (line length) and
// a silent agent turns into an AgentUnavailableError the engine acts on by replacing the
// sandbox. Execution timeouts are enforced here too, from outside the sandbox: the agent
// normally reports its own Timeout, but if it does not answer in time we interrupt, then
// restart the kernel ourselves.
//
// File transfers (readFile, writeFile) stream bytes, so each gets a connection of its own that
// carries nothing else: a 128 MiB upload never sits in memory, and never holds up an execute.
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { Readable } from 'node:stream';

export type ExecutionStatus = 'Success' | 'Failure' | 'Timeout';

export type ExecutionDisplay = {
  /** e.g. image/png (base64 data), image/svg+xml, text/html, text/plain. */
  mimeType: string;
  data: string;
};

export type ExecutionError = { name: string; value: string; traceback: string[] };

export type ExecutionResult = {
  status: ExecutionStatus;
  stdout: string;
  stderr: string;
  /**
   * The cell's last expression: a JSON value when it was plain JSON data (or had an
   * application/json representation), otherwise its text/plain repr; null for a statement.
   */
  result: unknown;
  displays: ExecutionDisplay[];
  executionTimeMs: number;
  executionCount: number | null;
  error?: ExecutionError;
};

export type KernelState = 'starting' | 'idle' | 'busy' | 'dead';

/** A file or directory in the sandbox's /mnt/data, as the agent describes it. */
export type AgentFileEntry = {
  /** Relative to /mnt/data, e.g. `reports/q1.csv`. */
  path: string;
  name: string;
  type: 'file' | 'directory';
  size: number;
  /** RFC 3339, UTC, in nanoseconds: `2025-01-02T03:04:05.123456789Z`. */
  lastModified: string;
  contentType: string;
};

export type AgentHealth = {
  /** The kernel can take an execution now or right after the running one. */
  ok: boolean;
  kernel: KernelState;
  executions: number;
  restarts: number;
  agentVersion: string;
  uptimeMs: number;
  /** How long the current kernel took from launch to its first reply. */
  kernelReadyMs: number | null;
  lastError: string | null;
};

/**
 * The agent cannot be reached, stopped answering, or cannot run a kernel. The sandbox is not
 * usable: the engine should replace it.
 */
export class AgentUnavailableError extends Error {
  readonly code = 'AGENT_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentUnavailableError';
  }
}

/**
 * The agent answered with an error (`Busy`, `BadRequest`, `Internal`, or for files `NotFound`,
 * `NotAFile`, `NotADirectory`, `SymbolicLink`, `Changed`, `DirectoryNotEmpty`, `PermissionDenied`,
 * `TooLarge`, `StorageFull`, `TooManyFiles`). The sandbox itself is fine.
 */
export class AgentRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The agent's own words, without the operation and code around them. */
    readonly reason: string = message,
  ) {
    super(message);
    this.name = 'AgentRequestError';
  }
}

export type AgentClientOptions = {
  /** How long a connect may take (a local socket: it either works at once or not at all). */
  connectTimeoutMs?: number;
  /** Extra time the agent gets past an execution's timeout to report the Timeout itself. */
  graceMs?: number;
  /** After our own interrupt: how long we wait for the execution's reply before restarting. */
  interruptWaitMs?: number;
  /** Deadline of the restart we send when the agent did not report a timeout. */
  restartTimeoutMs?: number;
  /** Replies longer than this close the connection (a broken or hostile agent). */
  maxReplyBytes?: number;
  /** How long the agent may take to open a file for readFile, or to answer writeFile's last frame. */
  transferReplyTimeoutMs?: number;
};

const DEFAULTS: Required<AgentClientOptions> = {
  connectTimeoutMs: 2_000,
  // The agent replies within INTERRUPT_GRACE_S (2 s) + ~1 s after the timeout; 5 s covers a
  // loaded host without making a wedged agent wait much longer.
  graceMs: 5_000,
  interruptWaitMs: 3_000,
  restartTimeoutMs: 60_000,
  maxReplyBytes: 64 * 1024 * 1024,
  transferReplyTimeoutMs: 30_000,
};

/** The agent's MAX_FRAME_BYTES: writeFile frames are at most this long. */
const MAX_FRAME_BYTES = 1024 * 1024;
const END_FRAME = Buffer.alloc(4);
/**
 * Transfer connections buffer up to this much each way before pausing (Node's default is
 * 16 KiB): fewer waits for 'drain' per megabyte, each a trip through a busy host's scheduler.
 */
const TRANSFER_BUFFER_BYTES = 1024 * 1024;

export const DEFAULT_EXECUTION_TIMEOUT_MS = 60_000;

type Pending = {
  resolve: (data: unknown) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
  op: string;
};

type Reply = { id?: unknown; ok?: unknown; data?: unknown; error?: { code?: unknown; message?: unknown } };

/**
 * The agent refused a request sent for another session than the one it already served
 * (`WrongOwner`): the engine's idea of which sandbox belongs to whom is wrong for this one, so
 * it must not be used by anyone again.
 */
export class AgentWrongOwnerError extends AgentUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'AgentWrongOwnerError';
  }
}

export class AgentClient {
  /**
   * Sent with every request (see `owner` in agent.py): the agent binds itself to the first
   * owner it sees and refuses any other.
   */
  owner: string | undefined;
  private readonly options: Required<AgentClientOptions>;
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private readonly transfers = new Set<Socket>();
  private chunks: Buffer[] = [];
  private bufferedBytes = 0;

  constructor(
    readonly socketPath: string,
    options: AgentClientOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** The agent's state. Rejects with AgentUnavailableError when it does not answer within timeoutMs. */
  health(timeoutMs = 2_000): Promise<AgentHealth> {
    return this.request('health', {}, timeoutMs) as Promise<AgentHealth>;
  }

  /**
   * Polls health until the kernel is ready (`ok`), for a sandbox that was just started.
   * Returns the health and how long the wait took; rejects with AgentUnavailableError at the
   * deadline, or at once if the kernel is dead.
   */
  async waitUntilReady(timeoutMs: number, pollMs = 25): Promise<AgentHealth & { waitedMs: number }> {
    const startedAt = performance.now();
    const deadline = startedAt + timeoutMs;
    let lastProblem = 'no answer yet';
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw new AgentUnavailableError(`The agent at ${this.socketPath} was not ready within ${timeoutMs} ms (${lastProblem}).`);
      try {
        const health = await this.health(Math.min(remaining, 2_000));
        if (health.ok) return { ...health, waitedMs: Math.round(performance.now() - startedAt) };
        if (health.kernel === 'dead') throw new AgentUnavailableError(`The agent's kernel could not start: ${health.lastError ?? 'unknown reason'}.`);
        lastProblem = `kernel ${health.kernel}`;
      } catch (error) {
        if (error instanceof AgentUnavailableError && /could not start/.test(error.message)) throw error;
        lastProblem = error instanceof Error ? error.message : String(error);
      }
      await sleep(Math.min(pollMs, Math.max(deadline - performance.now(), 0)));
    }
  }

  /**
   * Runs code in the sandbox's kernel. Resolves with Success, Failure (the code raised) or
   * Timeout. Rejects with AgentUnavailableError when the agent cannot be reached or stops
   * answering (replace the sandbox), or AgentRequestError when it refused the request.
   */
  async execute({ code, timeoutMs = DEFAULT_EXECUTION_TIMEOUT_MS }: { code: string; timeoutMs?: number }): Promise<ExecutionResult> {
    const startedAt = performance.now();
    const { id, reply } = await this.send('execute', { code, timeoutMs });
    const deadline = timeoutMs + this.options.graceMs;
    const first = await settleWithin(reply, deadline);
    if (first.settled) return unwrap(first) as ExecutionResult;

    // The agent should have reported its own Timeout by now: enforce it from outside.
    const seconds = formatSeconds(timeoutMs);
    try {
      await this.interrupt(this.options.interruptWaitMs);
    } catch (error) {
      this.abandon(id);
      throw new AgentUnavailableError(`The agent did not answer an execution or the interrupt that followed its ${seconds} s timeout.`, { cause: error });
    }
    const late = await settleWithin(reply, this.options.interruptWaitMs);
    if (late.settled) {
      if (late.error) throw late.error;
      const result = late.value as ExecutionResult;
      return {
        ...result,
        status: 'Timeout',
        stderr: `${result.stderr}${result.stderr && !result.stderr.endsWith('\n') ? '\n' : ''}Execution timed out after ${seconds} s; the kernel was interrupted.\n`,
        executionTimeMs: Math.round(performance.now() - startedAt),
      };
    }
    this.abandon(id);
    try {
      await this.restart(this.options.restartTimeoutMs);
    } catch (error) {
      throw new AgentUnavailableError(`An execution ran past its ${seconds} s timeout, did not stop when interrupted, and the kernel could not be restarted.`, { cause: error });
    }
    return {
      status: 'Timeout',
      stdout: '',
      stderr: `Execution timed out after ${seconds} s; the kernel was interrupted and then restarted (variables and imports are lost; files in /mnt/data are kept).\n`,
      result: null,
      displays: [],
      executionTimeMs: Math.round(performance.now() - startedAt),
      executionCount: null,
    };
  }

  /** SIGINT to the kernel: a running cell fails with KeyboardInterrupt. */
  interrupt(timeoutMs = 5_000): Promise<{ ok: true }> {
    return this.request('interrupt', {}, timeoutMs) as Promise<{ ok: true }>;
  }

  /** Replaces the kernel (all variables lost; /mnt/data kept); resolves once the new one is ready. */
  restart(timeoutMs = 60_000): Promise<{ ok: true; kernel: KernelState }> {
    return this.request('restart', {}, timeoutMs) as Promise<{ ok: true; kernel: KernelState }>;
  }

  /**
   * What /mnt/data (or its sub-directory `path`) holds, sorted by name; with `recursive`, also
   * everything below it. Links, FIFOs and sockets are left out.
   */
  async listFiles({ path = '', recursive = false }: { path?: string; recursive?: boolean } = {}, timeoutMs = 30_000): Promise<AgentFileEntry[]> {
    const { files } = (await this.request('listFiles', { path, recursive }, timeoutMs)) as { files: AgentFileEntry[] };
    return files;
  }

  /** One file or directory; `path` is relative to /mnt/data, in the form the agent protocol requires. */
  statFile(path: string, timeoutMs = 10_000): Promise<AgentFileEntry> {
    return this.request('statFile', { path }, timeoutMs) as Promise<AgentFileEntry>;
  }

  /** Deletes a file (or an empty directory); resolves with what it was. */
  deleteFile(path: string, timeoutMs = 10_000): Promise<AgentFileEntry> {
    return this.request('deleteFile', { path }, timeoutMs) as Promise<AgentFileEntry>;
  }

  /**
   * Streams a file out of /mnt/data. Resolves once the agent has opened it, with its entry and
   * a stream of exactly `entry.size` bytes, which errors with AgentUnavailableError if the agent
   * stops short. Rejects with AgentRequestError (NotFound, NotAFile, SymbolicLink, …).
   */
  async readFile(path: string): Promise<{ entry: AgentFileEntry; content: Readable }> {
    const transfer = await this.openTransfer('readFile', { path });
    try {
      const { reply, rest } = await transfer.reply;
      const entry = replyData(reply, 'readFile') as AgentFileEntry;
      return { entry, content: Readable.from(exactBytes(transfer, rest, entry.size, path), { objectMode: false }) };
    } catch (error) {
      transfer.socket.destroy();
      throw error;
    }
  }

  /**
   * Streams `content` into a file in /mnt/data, creating missing directories and replacing the
   * file if it exists; resolves with the stored file once the agent has it whole. More than
   * `maxBytes` rejects with AgentRequestError `TooLarge` (so does a full /mnt/data, as
   * `StorageFull`) as soon as the agent sees it. If `content` throws, the upload is abandoned,
   * nothing is left in /mnt/data, and its error is rethrown.
   */
  async writeFile(path: string, content: AsyncIterable<Uint8Array>, { maxBytes }: { maxBytes: number }): Promise<AgentFileEntry> {
    const transfer = await this.openTransfer('writeFile', { path, maxBytes });
    const { socket } = transfer;
    // The agent answers at the end, or early to refuse (too large, storage full): stop sending then.
    const answered: Promise<typeof ANSWERED> = transfer.reply.then(
      () => ANSWERED,
      () => ANSWERED,
    );
    const source = content[Symbol.asyncIterator]();
    let complete = false;
    try {
      for (;;) {
        const next = source.next();
        const step = await Promise.race([next, answered]);
        if (step === ANSWERED) {
          next.catch(() => undefined); // the source is abandoned below
          break;
        }
        if (step.done) {
          complete = true;
          break;
        }
        for (let offset = 0; offset < step.value.length; offset += MAX_FRAME_BYTES) {
          const piece = step.value.subarray(offset, offset + MAX_FRAME_BYTES);
          const header = Buffer.allocUnsafe(4);
          header.writeUInt32BE(piece.length);
          socket.cork();
          socket.write(header);
          const flowing = socket.write(piece);
          socket.uncork();
          if (!flowing && (await Promise.race([once(socket, 'drain').then(() => undefined), answered])) === ANSWERED) break;
        }
      }
      if (complete) socket.write(END_FRAME);
    } catch (error) {
      // Without the final frame the agent discards what it received.
      socket.destroy();
      throw error;
    } finally {
      if (!complete) await source.return?.().catch(() => undefined);
    }
    try {
      const { reply } = await withDeadline(transfer.reply, this.options.transferReplyTimeoutMs, `The agent did not confirm writing ${path} within ${this.options.transferReplyTimeoutMs} ms.`);
      const entry = replyData(reply, 'writeFile') as AgentFileEntry;
      if (!complete) throw new AgentUnavailableError(`The agent confirmed ${path} before it was sent whole.`);
      return entry;
    } finally {
      socket.destroy();
    }
  }

  /** Closes the connection and any transfer; pending calls reject. The client cannot be used afterwards. */
  close(): void {
    this.closed = true;
    for (const socket of this.transfers) socket.destroy();
    this.transfers.clear();
    this.dropConnection(new AgentUnavailableError('The agent client was closed.'));
  }

  // -------------------------------------------------------------------------------------------

  private async request(op: string, args: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    const { id, reply } = await this.send(op, args, timeoutMs);
    const pending = this.pending.get(id);
    if (pending) {
      pending.timer = setTimeout(() => {
        this.pending.delete(id);
        pending.reject(new AgentUnavailableError(`The agent did not answer ${op} within ${timeoutMs} ms.`));
      }, timeoutMs);
    }
    return reply;
  }

  private async send(op: string, args: Record<string, unknown>, connectBudgetMs = this.options.connectTimeoutMs): Promise<{ id: number; reply: Promise<unknown> }> {
    const socket = await this.connect(Math.min(connectBudgetMs, this.options.connectTimeoutMs));
    const id = this.nextId++;
    const reply = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject, op }));
    // Callers that give up (abandon) leave this promise unobserved; never let it crash the process.
    reply.catch(() => undefined);
    socket.write(this.requestLine(id, op, args));
    return { id, reply };
  }

  private requestLine(id: number, op: string, args: Record<string, unknown>): string {
    return `${JSON.stringify({ id, op, ...args, ...(this.owner ? { owner: this.owner } : {}) })}\n`;
  }

  private abandon(id: number): void {
    const pending = this.pending.get(id);
    if (pending?.timer) clearTimeout(pending.timer);
    this.pending.delete(id);
  }

  private connect(timeoutMs: number): Promise<Socket> {
    if (this.closed) return Promise.reject(new AgentUnavailableError('The agent client was closed.'));
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= this.openSocket(timeoutMs).then(
      (socket) => {
        this.connecting = undefined;
        this.attach(socket);
        return socket;
      },
      (error: unknown) => {
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  private openSocket(timeoutMs: number, highWaterMark?: number): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const socket = createConnection({ path: this.socketPath, ...(highWaterMark ? { highWaterMark } : {}) });
      const timer = setTimeout(() => {
        socket.destroy();
        fail(new AgentUnavailableError(`Connecting to the agent at ${this.socketPath} took more than ${timeoutMs} ms.`));
      }, timeoutMs);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error instanceof AgentUnavailableError ? error : new AgentUnavailableError(describeConnectError(error, this.socketPath), { cause: error }));
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        resolve(socket);
      });
    });
  }

  /** A connection of its own for one readFile or writeFile, with the request sent and its reply line awaited. */
  private async openTransfer(op: 'readFile' | 'writeFile', args: Record<string, unknown>): Promise<Transfer> {
    if (this.closed) throw new AgentUnavailableError('The agent client was closed.');
    const socket = await this.openSocket(this.options.connectTimeoutMs, TRANSFER_BUFFER_BYTES);
    this.transfers.add(socket);
    // Errors surface through the reads below; without a listener one would crash the engine.
    socket.on('error', () => undefined);
    socket.once('close', () => this.transfers.delete(socket));
    const chunks = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const reply = readReplyLine(chunks, op, this.options.maxReplyBytes);
    reply.catch(() => undefined); // observed by the caller, possibly only after the upload
    socket.write(this.requestLine(1, op, args));
    if (op === 'readFile') {
      return { socket, chunks, reply: withDeadline(reply, this.options.transferReplyTimeoutMs, `The agent did not open ${String(args.path)} within ${this.options.transferReplyTimeoutMs} ms.`) };
    }
    return { socket, chunks, reply };
  }

  private attach(socket: Socket): void {
    this.socket = socket;
    this.chunks = [];
    this.bufferedBytes = 0;
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('error', (error) => this.dropConnection(new AgentUnavailableError(`The connection to the agent failed: ${error.message}`, { cause: error }), socket));
    socket.on('close', () => this.dropConnection(new AgentUnavailableError('The agent closed the connection.'), socket));
  }

  private onData(socket: Socket, chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      if (this.bufferedBytes + newline - start > this.options.maxReplyBytes) {
        this.dropConnection(new AgentUnavailableError(`The agent sent a reply longer than ${this.options.maxReplyBytes} bytes.`), socket);
        return;
      }
      this.chunks.push(chunk.subarray(start, newline));
      const line = Buffer.concat(this.chunks).toString('utf8');
      this.chunks = [];
      this.bufferedBytes = 0;
      start = newline + 1;
      if (line.trim()) this.onLine(line);
    }
    if (start < chunk.length) {
      this.chunks.push(chunk.subarray(start));
      this.bufferedBytes += chunk.length - start;
      if (this.bufferedBytes > this.options.maxReplyBytes) {
        this.dropConnection(new AgentUnavailableError(`The agent sent a reply longer than ${this.options.maxReplyBytes} bytes.`), socket);
      }
    }
  }

  private onLine(line: string): void {
    let reply: Reply;
    try {
      reply = JSON.parse(line) as Reply;
    } catch {
      this.dropConnection(new AgentUnavailableError(`The agent sent something that is not JSON: ${line.slice(0, 200)}`));
      return;
    }
    if (typeof reply.id !== 'number') return; // a reply to a line it could not parse: nothing waits for it
    const pending = this.pending.get(reply.id);
    if (!pending) return; // abandoned or timed out
    this.pending.delete(reply.id);
    if (pending.timer) clearTimeout(pending.timer);
    if (reply.ok === true) {
      pending.resolve(reply.data);
      return;
    }
    pending.reject(replyError(reply, pending.op));
  }

  private dropConnection(error: AgentUnavailableError, socket = this.socket): void {
    if (socket && socket !== this.socket) return; // an older connection's late event
    this.socket = undefined;
    socket?.destroy();
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const pending of waiting) {
      if (pending.timer) clearTimeout(pending.timer);
      pending.reject(error);
    }
  }
}

type Transfer = { socket: Socket; chunks: AsyncIterator<Buffer>; reply: Promise<{ reply: Reply; rest: Buffer }> };

const ANSWERED = Symbol('answered');

function replyError(reply: Reply, op: string): Error {
  const code = typeof reply.error?.code === 'string' ? reply.error.code : 'Internal';
  const message = typeof reply.error?.message === 'string' ? reply.error.message : 'no message';
  if (code === 'KernelUnavailable') return new AgentUnavailableError(`The agent cannot run a kernel: ${message}`);
  if (code === 'WrongOwner') return new AgentWrongOwnerError(`The agent refused ${op}: ${message}`);
  return new AgentRequestError(code, `The agent refused ${op}: ${message} (${code})`, message);
}

function replyData(reply: Reply, op: string): unknown {
  if (reply.ok === true) return reply.data;
  throw replyError(reply, op);
}

/** The first line a transfer connection receives (the agent's reply), and the bytes after it. */
async function readReplyLine(chunks: AsyncIterator<Buffer>, op: string, maxBytes: number): Promise<{ reply: Reply; rest: Buffer }> {
  let buffered: Buffer = Buffer.alloc(0);
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = await chunks.next();
    } catch (error) {
      throw new AgentUnavailableError(`The connection to the agent failed during ${op}: ${(error as Error).message}`, { cause: error });
    }
    if (next.done) throw new AgentUnavailableError(`The agent closed the connection without answering ${op}.`);
    buffered = buffered.length ? Buffer.concat([buffered, next.value]) : next.value;
    const newline = buffered.indexOf(10);
    if (newline !== -1) {
      try {
        return { reply: JSON.parse(buffered.subarray(0, newline).toString('utf8')) as Reply, rest: buffered.subarray(newline + 1) };
      } catch {
        throw new AgentUnavailableError(`The agent answered ${op} with something that is not JSON.`);
      }
    }
    if (buffered.length > maxBytes) throw new AgentUnavailableError(`The agent sent a reply to ${op} longer than ${maxBytes} bytes.`);
  }
}

/** readFile's body: exactly `size` bytes (those already read first), then the connection closes. */
async function* exactBytes(transfer: Transfer, first: Buffer, size: number, path: string): AsyncGenerator<Buffer> {
  let remaining = size;
  try {
    let chunk: Buffer | undefined = first.length ? first : undefined;
    while (remaining > 0) {
      if (!chunk) {
        let next: IteratorResult<Buffer>;
        try {
          next = await transfer.chunks.next();
        } catch (error) {
          throw new AgentUnavailableError(`The connection to the agent failed while reading ${path}: ${(error as Error).message}`, { cause: error });
        }
        if (next.done) throw new AgentUnavailableError(`The agent stopped sending ${path} after ${size - remaining} of ${size} bytes.`);
        chunk = next.value;
      }
      const piece = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
      remaining -= piece.length;
      chunk = undefined;
      yield piece;
    }
  } finally {
    transfer.socket.destroy();
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new AgentUnavailableError(message)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

type Settled = { settled: false } | { settled: true; value?: unknown; error?: Error };

/** Waits for `promise` at most `ms`; never rejects. */
function settleWithin(promise: Promise<unknown>, ms: number): Promise<Settled> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ settled: false }), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ settled: true, value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ settled: true, error: error instanceof Error ? error : new Error(String(error)) });
      },
    );
  });
}

function unwrap(settled: Settled): unknown {
  if (!settled.settled) throw new Error('not settled');
  if (settled.error) throw settled.error;
  return settled.value;
}

function describeConnectError(error: Error, path: string): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return `The agent socket ${path} does not exist (the agent has not started, or the sandbox is gone).`;
  if (code === 'ECONNREFUSED') return `Nothing listens on the agent socket ${path} (the agent exited).`;
  if (code === 'EACCES') return `Permission denied on the agent socket ${path}.`;
  return `Cannot connect to the agent at ${path}: ${error.message}`;
}

function formatSeconds(ms: number): string {
  return Number.isInteger(ms / 1000) ? String(ms / 1000) : (ms / 1000).toFixed(1);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
