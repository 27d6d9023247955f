// The agent client and the agent itself: first against a scripted fake agent (the client's
// own logic: multiplexing, reconnects, the outside timeout, the byte level of file transfers),
// then against the real
// code-interpreter image in a real runc container, started with `ctr` directly (the hardened
// runtime driver lives in engine/runtime and is tested there).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureCodeInterpreterImage } from '../images/code-interpreter';
import { CONTAINERD_NAMESPACE } from '../images/oci';
import { AgentClient, AgentRequestError, AgentUnavailableError, AgentWrongOwnerError } from './client';

const execFileAsync = promisify(execFile);

// -------------------------------------------------------------------------------------------
// A fake agent: each request line goes to `respond`, which may answer (or not) through `reply`.

type FakeRequest = { id: number; op: string; [key: string]: unknown };
type Responder = (request: FakeRequest, reply: (message: unknown) => void, socket: Socket) => void;

describe('AgentClient against a scripted fake agent', () => {
  let dir: string;
  let server: Server;
  let respond: Responder;
  let connections = 0;
  const received: FakeRequest[] = [];
  const sockets = new Set<Socket>();

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandpool-fake-agent-'));
    received.length = 0;
    connections = 0;
    server = createServer((socket) => {
      connections += 1;
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      let buffered = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        for (let index = buffered.indexOf('\n'); index !== -1; index = buffered.indexOf('\n')) {
          const request = JSON.parse(buffered.slice(0, index)) as FakeRequest;
          buffered = buffered.slice(index + 1);
          received.push(request);
          respond(request, (message) => socket.write(`${JSON.stringify(message)}\n`), socket);
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(join(dir, 'agent.sock'), resolve));
  });

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const client = () => new AgentClient(join(dir, 'agent.sock'), { graceMs: 100, interruptWaitMs: 200, restartTimeoutMs: 500 });
  const idle = { ok: true, kernel: 'idle', executions: 0, restarts: 0, agentVersion: 'fake', uptimeMs: 1, kernelReadyMs: 1, lastError: null };
  const success = (stdout: string) => ({ status: 'Success', stdout, stderr: '', result: null, displays: [], executionTimeMs: 1, executionCount: 1 });

  it('multiplexes requests on one connection and matches out-of-order replies by id', async () => {
    respond = (request, reply) => {
      if (request.op === 'health') reply({ id: request.id, ok: true, data: idle });
      // The first execute answers last.
      if (request.op === 'execute') setTimeout(() => reply({ id: request.id, ok: true, data: success(String(request.code)) }), request.code === 'slow' ? 100 : 10);
    };
    const agent = client();
    const [slow, fast, health] = await Promise.all([agent.execute({ code: 'slow', timeoutMs: 1_000 }), agent.execute({ code: 'fast', timeoutMs: 1_000 }), agent.health()]);
    expect(slow.stdout).toBe('slow');
    expect(fast.stdout).toBe('fast');
    expect(health.kernel).toBe('idle');
    expect(connections).toBe(1);
    agent.close();
  });

  it('reconnects on the next call after the agent closed the connection', async () => {
    respond = (request, reply, socket) => {
      if (received.length === 1) socket.destroy();
      else reply({ id: request.id, ok: true, data: idle });
    };
    const agent = client();
    await expect(agent.health()).rejects.toBeInstanceOf(AgentUnavailableError);
    await expect(agent.health()).resolves.toMatchObject({ ok: true });
    expect(connections).toBe(2);
    agent.close();
  });

  it('fails fast with AgentUnavailableError when there is no socket', async () => {
    const agent = new AgentClient(join(dir, 'missing.sock'));
    await expect(agent.health()).rejects.toThrow(/does not exist/);
    agent.close();
  });

  it('turns agent error replies into AgentRequestError, and KernelUnavailable into AgentUnavailableError', async () => {
    respond = (request, reply) => {
      if (request.op === 'execute') reply({ id: request.id, ok: false, error: { code: 'Busy', message: 'another execution' } });
      if (request.op === 'restart') reply({ id: request.id, ok: false, error: { code: 'KernelUnavailable', message: 'no kernel' } });
    };
    const agent = client();
    const busy = await agent.execute({ code: '1', timeoutMs: 1_000 }).catch((error: unknown) => error);
    expect(busy).toBeInstanceOf(AgentRequestError);
    expect((busy as AgentRequestError).code).toBe('Busy');
    await expect(agent.restart()).rejects.toBeInstanceOf(AgentUnavailableError);
    agent.close();
  });

  it('enforces a timeout from outside: interrupts, then restarts a kernel that does not stop', async () => {
    respond = (request, reply) => {
      if (request.op === 'interrupt' || request.op === 'restart') reply({ id: request.id, ok: true, data: { ok: true, kernel: 'idle' } });
      // execute: never answered, like an agent stuck on its kernel.
    };
    const agent = client();
    const startedAt = performance.now();
    const result = await agent.execute({ code: 'while True: pass', timeoutMs: 200 });
    expect(result.status).toBe('Timeout');
    expect(result.stderr).toMatch(/timed out after 0\.2 s; the kernel was interrupted and then restarted/);
    expect(received.map((request) => request.op)).toEqual(['execute', 'interrupt', 'restart']);
    expect(performance.now() - startedAt).toBeLessThan(2_000);
    agent.close();
  });

  it('keeps the output of an execution that stops after our interrupt', async () => {
    let execute: FakeRequest | undefined;
    respond = (request, reply) => {
      if (request.op === 'execute') execute = request;
      if (request.op === 'interrupt') {
        reply({ id: request.id, ok: true, data: { ok: true } });
        reply({ id: execute?.id, ok: true, data: { ...success('partial\n'), status: 'Failure' } });
      }
    };
    const agent = client();
    const result = await agent.execute({ code: 'loop', timeoutMs: 100 });
    expect(result).toMatchObject({ status: 'Timeout', stdout: 'partial\n' });
    expect(result.stderr).toMatch(/the kernel was interrupted/);
    agent.close();
  });

  it('rejects with AgentUnavailableError when the agent answers nothing at all', async () => {
    respond = () => undefined;
    const agent = client();
    await expect(agent.execute({ code: '1', timeoutMs: 100 })).rejects.toBeInstanceOf(AgentUnavailableError);
    await expect(agent.health(100)).rejects.toThrow(/did not answer health within 100 ms/);
    agent.close();
  });

  it('drops a connection whose reply exceeds the size limit', async () => {
    respond = (request, reply) => reply({ id: request.id, ok: true, data: { padding: 'x'.repeat(10_000) } });
    const agent = new AgentClient(join(dir, 'agent.sock'), { maxReplyBytes: 1_000 });
    await expect(agent.health()).rejects.toThrow(/longer than 1000 bytes/);
    agent.close();
  });
});

// -------------------------------------------------------------------------------------------
// File transfers against a fake agent that speaks the byte level of readFile and writeFile.

describe('AgentClient file transfers against a scripted fake agent', () => {
  let dir: string;
  let server: Server;
  /** Handles one transfer connection: its request line, then the raw bytes that follow. */
  let onTransfer: (request: FakeRequest, socket: Socket, bytes: AsyncIterator<Buffer>) => Promise<void>;
  const sockets = new Set<Socket>();
  const entry = (path: string, size: number) => ({ path, name: path.split('/').at(-1), type: 'file', size, lastModified: '2025-01-02T03:04:05.000000000Z', contentType: 'application/octet-stream' });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandpool-fake-agent-'));
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      void (async () => {
        const bytes = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        let buffered = Buffer.alloc(0);
        while (buffered.indexOf(10) === -1) {
          const next = await bytes.next();
          if (next.done) return;
          buffered = Buffer.concat([buffered, next.value]);
        }
        const newline = buffered.indexOf(10);
        const request = JSON.parse(buffered.subarray(0, newline).toString()) as FakeRequest;
        const rest = buffered.subarray(newline + 1);
        // The bytes already read after the line come first.
        let pending: Buffer | undefined = rest.length ? rest : undefined;
        const body: AsyncIterator<Buffer> = {
          next: async () => {
            if (pending) {
              const value = pending;
              pending = undefined;
              return { done: false, value };
            }
            return bytes.next();
          },
        };
        await onTransfer(request, socket, body).catch(() => undefined);
      })();
    });
    await new Promise<void>((resolve) => server.listen(join(dir, 'agent.sock'), resolve));
  });

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Reads writeFile frames until the final one; resolves with the frames' lengths and bytes, or `ended` if the connection closed first. */
  async function readFrames(body: AsyncIterator<Buffer>, limit = Infinity) {
    let buffered = Buffer.alloc(0);
    const lengths: number[] = [];
    const data: Buffer[] = [];
    for (;;) {
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
        const length = buffered.readUInt32BE(0);
        if (length === 0) return { lengths, data: Buffer.concat(data), ended: false };
        lengths.push(length);
        data.push(buffered.subarray(4, 4 + length));
        buffered = buffered.subarray(4 + length);
        if (lengths.length >= limit) return { lengths, data: Buffer.concat(data), ended: false };
      }
      const next = await body.next();
      if (next.done) return { lengths, data: Buffer.concat(data), ended: true };
      buffered = Buffer.concat([buffered, next.value]);
    }
  }

  const client = () => new AgentClient(join(dir, 'agent.sock'), { transferReplyTimeoutMs: 2_000 });

  it('writeFile sends the request, frames of at most 1 MiB and a final empty frame, on a connection of its own', async () => {
    let seen: { request: FakeRequest; lengths: number[]; data: Buffer } | undefined;
    onTransfer = async (request, socket, body) => {
      const { lengths, data } = await readFrames(body);
      seen = { request, lengths, data };
      socket.end(`${JSON.stringify({ id: request.id, ok: true, data: entry(String(request.path), data.length) })}\n`);
    };
    const content = randomBytes(2.5 * 1024 * 1024);
    async function* pieces() {
      yield content.subarray(0, 10);
      yield content.subarray(10);
    }
    const agent = client();
    const stored = await agent.writeFile('dir/a.bin', pieces(), { maxBytes: 10 * 1024 * 1024 });
    expect(stored).toMatchObject({ path: 'dir/a.bin', size: content.length });
    expect(seen?.request).toMatchObject({ op: 'writeFile', path: 'dir/a.bin', maxBytes: 10 * 1024 * 1024 });
    expect(seen?.lengths).toEqual([10, 1024 * 1024, 1024 * 1024, content.length - 10 - 2 * 1024 * 1024]);
    expect(seen?.data.equals(content)).toBe(true);
    agent.close();
  });

  it('writeFile stops reading its source as soon as the agent refuses, and reports why', async () => {
    onTransfer = async (request, socket, body) => {
      await readFrames(body, 1);
      socket.write(`${JSON.stringify({ id: request.id, ok: false, error: { code: 'TooLarge', message: 'the file is larger than the 10 bytes this upload may write' } })}\n`);
      await readFrames(body); // drop the rest, as the agent does
    };
    let produced = 0;
    let closed = false;
    async function* endless() {
      try {
        for (;;) {
          produced += 1;
          yield Buffer.alloc(64 * 1024);
        }
      } finally {
        closed = true;
      }
    }
    const agent = client();
    const error = await agent.writeFile('big.bin', endless(), { maxBytes: 10 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AgentRequestError);
    expect(error).toMatchObject({ code: 'TooLarge', reason: 'the file is larger than the 10 bytes this upload may write' });
    expect(closed).toBe(true);
    expect(produced).toBeLessThan(1_000);
    agent.close();
  });

  it('writeFile abandons the upload (no final frame) when its source fails, and rethrows that failure', async () => {
    let outcome: { ended: boolean; bytes: number } | undefined;
    const done = new Promise<void>((resolve) => {
      onTransfer = async (_request, _socket, body) => {
        const { ended, data } = await readFrames(body);
        outcome = { ended, bytes: data.length };
        resolve();
      };
    });
    async function* failing() {
      yield Buffer.from('first part');
      throw new Error('the client went away');
    }
    const agent = client();
    await expect(agent.writeFile('partial.bin', failing(), { maxBytes: 1_000 })).rejects.toThrow('the client went away');
    await done;
    expect(outcome).toEqual({ ended: true, bytes: 10 });
    agent.close();
  });

  it('readFile streams exactly the announced bytes, and fails the stream when the agent stops short', async () => {
    const content = randomBytes(300_000);
    onTransfer = async (request, socket) => {
      const short = request.path === 'short.bin';
      socket.write(`${JSON.stringify({ id: request.id, ok: true, data: entry(String(request.path), content.length) })}\n`);
      socket.end(short ? content.subarray(0, 1000) : content);
    };
    const agent = client();
    const { entry: whole, content: stream } = await agent.readFile('whole.bin');
    expect(whole.size).toBe(content.length);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);

    const { content: cut } = await agent.readFile('short.bin');
    const failure = await (async () => {
      for await (const chunk of cut) void chunk;
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AgentUnavailableError);
    expect(String(failure)).toMatch(/stopped sending short\.bin after 1000 of 300000 bytes/);
    agent.close();
  });

  it('readFile rejects with the agent refusal, its own words kept in `reason`', async () => {
    onTransfer = async (request, socket) => {
      socket.end(`${JSON.stringify({ id: request.id, ok: false, error: { code: 'SymbolicLink', message: 'evil is a symbolic link' } })}\n`);
    };
    const agent = client();
    const error = await agent.readFile('evil').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AgentRequestError);
    expect(error).toMatchObject({ code: 'SymbolicLink', reason: 'evil is a symbolic link' });
    agent.close();
  });
});

// -------------------------------------------------------------------------------------------
// The real image, in a real container.

// The kernel tests run under runc; the file tests under runc and gVisor, whose path handling
// differs (a runsc release followed final links despite O_NOFOLLOW). SANDPOOL_AGENT_TEST_RUNTIME
// (runc or runsc) runs everything under that one runtime instead.
type AgentRuntime = 'runc' | 'runsc';
const onlyRuntime = process.env.SANDPOOL_AGENT_TEST_RUNTIME === 'runsc' ? 'runsc' : process.env.SANDPOOL_AGENT_TEST_RUNTIME === 'runc' ? 'runc' : undefined;
const KERNEL_TEST_RUNTIMES: AgentRuntime[] = onlyRuntime ? [onlyRuntime] : ['runc'];
const FILE_TEST_RUNTIMES: AgentRuntime[] = onlyRuntime ? [onlyRuntime] : ['runc', 'runsc'];

const ctr = (...args: string[]) => execFileAsync('ctr', ['-n', CONTAINERD_NAMESPACE, ...args], { timeout: 60_000 });

type AgentContainer = { id: string; agent: AgentClient; dataDir: string | undefined; remove: () => Promise<void> };

/**
 * The code-interpreter image run with `ctr`, its agent ready. The agent's socket folder comes
 * from the host; /mnt/data is a host folder too, or a tmpfs of `dataTmpfsBytes` (as sandboxes get).
 */
async function startAgentContainer(runtime: AgentRuntime, { dataTmpfsBytes }: { dataTmpfsBytes?: number } = {}): Promise<AgentContainer> {
  const id = `sandpool-agent-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  // The first run builds the image (several minutes); later runs find it in containerd.
  const { reference } = await ensureCodeInterpreterImage((message) => console.log(`  [image] ${message}`));
  const workDir = mkdtempSync(join(tmpdir(), 'sandpool-agent-test-'));
  const socketDir = join(workDir, 'run');
  const dataDir = dataTmpfsBytes === undefined ? join(workDir, 'data') : undefined;
  // The agent runs as uid 1000: it creates its socket in the first, the user's files in the second.
  for (const dir of [socketDir, dataDir]) {
    if (!dir) continue;
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, 1000, 1000);
  }
  const runtimeArgs: string[] = [];
  if (runtime === 'runsc') {
    // gVisor through the runc shim, as ENVIRONMENT.md describes: no network, host Unix sockets allowed.
    const wrapper = join(workDir, 'runsc.sh');
    writeFileSync(wrapper, '#!/bin/sh\nexec runsc --network=none --host-uds=all "$@"\n', { mode: 0o755 });
    runtimeArgs.push('--runc-binary', wrapper);
  }
  const dataMount = dataDir
    ? `type=bind,src=${dataDir},dst=/mnt/data,options=rbind:rw`
    : `type=tmpfs,src=tmpfs,dst=/mnt/data,options=nosuid:nodev:mode=0770:uid=1000:gid=1000:size=${dataTmpfsBytes}`;
  const remove = async () => {
    agent.close();
    await ctr('task', 'kill', '--signal', 'SIGKILL', id).catch(() => undefined);
    for (let attempt = 0; attempt < 50; attempt += 1) {
      if (await ctr('task', 'rm', id).then(() => true, (error: { stderr?: string }) => /not found/.test(error.stderr ?? ''))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await ctr('container', 'rm', id).catch(() => undefined);
    // A runsc container whose start failed can stay CREATED; only runsc itself removes it.
    if (runtime === 'runsc') await execFileAsync('runsc', ['--root', `/run/containerd/runc/${CONTAINERD_NAMESPACE}`, 'delete', '-force', id]).catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  };
  const agent = new AgentClient(join(socketDir, 'agent.sock'));
  try {
    await ctr(
      'run',
      '-d',
      ...runtimeArgs,
      '--read-only',
      '--mount',
      `type=bind,src=${socketDir},dst=/run/sandpool,options=rbind:rw`,
      '--mount',
      dataMount,
      '--mount',
      'type=tmpfs,src=tmpfs,dst=/tmp,options=nosuid:nodev:size=268435456:mode=1777',
      '--memory-limit',
      String(1024 * 1024 * 1024),
      reference,
      id,
    );
    const ready = await agent.waitUntilReady(120_000);
    console.log(`  agent ready ${ready.waitedMs} ms after the container started (kernel ${ready.kernelReadyMs} ms)`);
  } catch (error) {
    await remove();
    throw error;
  }
  return { id, agent, dataDir, remove };
}

describe.each(KERNEL_TEST_RUNTIMES)('the code-interpreter agent in a %s container', (runtime) => {
  let container: AgentContainer | undefined;
  let id: string;
  let dataDir: string;
  let agent: AgentClient;

  beforeAll(async () => {
    container = await startAgentContainer(runtime);
    ({ id, agent } = container);
    dataDir = container.dataDir!;
  }, 20 * 60_000);

  afterAll(async () => {
    await container?.remove();
  }, 60_000);

  it('reports a healthy, idle kernel', async () => {
    const health = await agent.health();
    expect(health).toMatchObject({ ok: true, kernel: 'idle' });
  });

  it('keeps state across executions', async () => {
    // The warm-up cell that ran before "ready" is not in history: the user's first cell is In[1].
    expect(await agent.execute({ code: 'x = 41\nimport math' })).toMatchObject({ status: 'Success', result: null, executionCount: 1 });
    expect(await agent.execute({ code: 'x + 1' })).toMatchObject({ status: 'Success', result: 42 });
    expect((await agent.execute({ code: 'math.sqrt(16)' })).result).toBe(4);
  });

  it('returns stdout, stderr and the last expression separately', async () => {
    const result = await agent.execute({ code: 'import sys\nprint("to stdout")\nprint("to stderr", file=sys.stderr)\n"done"' });
    expect(result).toMatchObject({ status: 'Success', stdout: 'to stdout\n', stderr: 'to stderr\n', result: 'done', displays: [] });
    expect(result.executionTimeMs).toBeGreaterThanOrEqual(0);
  });

  it('returns what subprocesses and shell commands write, in order with the cell, and what `?` pages', async () => {
    const system = await agent.execute({ code: 'import os\nos.system("echo from a subprocess; echo to its stderr >&2")\nNone' });
    expect(system).toMatchObject({ status: 'Success', stdout: 'from a subprocess\n', stderr: 'to its stderr\n' });
    const shell = await agent.execute({ code: 'print("python first")\n!echo from a shell command\nprint("python last")' });
    expect(shell.status).toBe('Success');
    // (A `!` command runs on a pseudo-terminal, as in Jupyter: its lines end in \r\n.)
    expect(shell.stdout).toMatch(/^python first\nfrom a shell command\r?\npython last\n$/);
    // A subprocess still writing a lot when the cell ends is not lost either.
    expect((await agent.execute({ code: 'import subprocess\nsubprocess.run(["seq", "1", "20000"])\nNone' })).stdout.split('\n').at(-2)).toBe('20000');
    // Forked workers' prints reach the cell (through the captured descriptors, never the kernel's socket).
    const forked = await agent.execute({ code: 'import multiprocessing as mp\ndef work(i):\n    print(f"child {i}", flush=True)\n    return i * 2\nwith mp.get_context("fork").Pool(2) as pool:\n    doubled = pool.map(work, range(3))\ndoubled' });
    expect(forked).toMatchObject({ status: 'Success', result: '[0, 2, 4]' });
    expect(forked.stdout.split('\n').filter(Boolean).sort()).toEqual(['child 0', 'child 1', 'child 2']);
    const help = await agent.execute({ code: 'len?' });
    expect(help.status).toBe('Success');
    expect(help.stdout).toMatch(/Return the number of items in a container/);
  });

  it('returns JSON primitives as JSON and anything else as its repr', async () => {
    // Containers stay text, as Azure returns them: clients parse IPython's (multi-line) repr.
    expect((await agent.execute({ code: '{"a": [1, 2.5, None, True], "b": "x"}' })).result).toBe("{'a': [1, 2.5, None, True], 'b': 'x'}");
    expect((await agent.execute({ code: '[f"package-{i}" for i in range(12)]' })).result).toContain("'package-0',\n 'package-1',\n");
    expect((await agent.execute({ code: '{1, 2, 3}' })).result).toBe('{1, 2, 3}');
    expect((await agent.execute({ code: 'import numpy as np\nnp.arange(3)' })).result).toBe('array([0, 1, 2])');
    expect((await agent.execute({ code: 'float("nan")' })).result).toBe('nan');
  });

  it('turns plt.show() and a figure returned as the last expression into one PNG each', async () => {
    const shown = await agent.execute({ code: 'import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title("shown")\nplt.show()' });
    expect(shown.status).toBe('Success');
    expect(shown.displays).toHaveLength(1);
    expect(shown.displays[0]?.mimeType).toBe('image/png');
    expect(Buffer.from(shown.displays[0]?.data ?? '', 'base64').subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    const returned = await agent.execute({ code: 'fig, ax = plt.subplots()\nax.bar([1, 2], [3, 4])\nfig' });
    expect(returned.displays.map((display) => display.mimeType)).toEqual(['image/png']);
    expect(returned.result).toMatch(/^<Figure size/);
  });

  it('reports an exception as Failure with a plain-text traceback, also in stderr', async () => {
    const result = await agent.execute({ code: 'def f():\n    return 1 / 0\nprint("before")\nf()' });
    expect(result.status).toBe('Failure');
    expect(result.stdout).toBe('before\n');
    expect(result.error).toMatchObject({ name: 'ZeroDivisionError', value: 'division by zero' });
    expect(result.error?.traceback.join('\n')).toMatch(/return 1 \/ 0/);
    expect(result.error?.traceback.join('')).not.toMatch(/\x1b\[/);
    expect(result.stderr).toMatch(/ZeroDivisionError: division by zero/);
    // The kernel is still usable, with its state.
    expect((await agent.execute({ code: 'x' })).result).toBe(41);
  });

  it('interrupts an infinite loop at its timeout and keeps the kernel and its state', async () => {
    const startedAt = performance.now();
    const result = await agent.execute({ code: 'print("looping", flush=True)\nwhile True:\n    pass', timeoutMs: 1_500 });
    expect(result.status).toBe('Timeout');
    expect(result.stdout).toBe('looping\n');
    expect(result.stderr).toMatch(/timed out after 1\.5 s; the kernel was interrupted/);
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    expect((await agent.execute({ code: 'x' })).result).toBe(41);
  });

  it('answers health while a cell runs', async () => {
    const running = agent.execute({ code: 'import time\ntime.sleep(1.5)\n"slept"' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const startedAt = performance.now();
    const health = await agent.health();
    expect(performance.now() - startedAt).toBeLessThan(500);
    expect(health.kernel).toBe('busy');
    expect((await running).result).toBe('slept');
  });

  it('restarts a kernel that ignores the interrupt, and the new kernel works', async () => {
    const result = await agent.execute({ code: 'import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass', timeoutMs: 1_000 });
    expect(result.status).toBe('Timeout');
    expect(result.stderr).toMatch(/did not stop when interrupted and was restarted/);
    const after = await agent.execute({ code: '1 + 1', timeoutMs: 30_000 });
    expect(after).toMatchObject({ status: 'Success', result: 2 });
    expect((await agent.execute({ code: 'x' })).error?.name).toBe('NameError');
    expect((await agent.health()).ok).toBe(true);
    await agent.execute({ code: 'x = 41' });
  });

  it('keeps files in /mnt/data, the working directory, across executions', async () => {
    await agent.execute({ code: 'with open("/mnt/data/hello.txt", "w") as f:\n    f.write("hi from the sandbox")' });
    expect((await agent.execute({ code: 'import os\nos.getcwd(), open("hello.txt").read()' })).result).toBe("('/mnt/data', 'hi from the sandbox')");
    expect(existsSync(join(dataDir, 'hello.txt'))).toBe(true);
    expect(readFileSync(join(dataDir, 'hello.txt'), 'utf8')).toBe('hi from the sandbox');
  });

  it('runs as the unprivileged sandbox user on a read-only root filesystem', async () => {
    expect((await agent.execute({ code: 'import os\nos.getuid(), os.getgid()' })).result).toBe('(1000, 1000)');
    const write = await agent.execute({ code: 'open("/usr/evil", "w")' });
    expect(write.status).toBe('Failure');
    expect(write.error?.value).toMatch(/Read-only file system|Permission denied/);
  });

  it('queues an execution behind a running one', async () => {
    const first = agent.execute({ code: 'import time\ntime.sleep(1)\n"first"' });
    const second = agent.execute({ code: '"second"' });
    expect((await first).result).toBe('first');
    expect((await second).result).toBe('second');
  });

  it('ends a running cell as Failure when the kernel is restarted under it', async () => {
    const running = agent.execute({ code: 'import time\ntime.sleep(30)', timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await agent.restart()).toMatchObject({ ok: true, kernel: 'idle' });
    const result = await running;
    expect(result.status).toBe('Failure');
    expect(result.error?.name).toBe('KernelRestarted');
    expect((await agent.execute({ code: 'x' })).error?.name).toBe('NameError');
    await agent.execute({ code: 'x = 41' });
  });

  it('recovers when the kernel process dies', async () => {
    const died = await agent.execute({ code: 'import os\nos._exit(3)', timeoutMs: 10_000 });
    expect(died.status).toBe('Failure');
    expect(died.error?.name).toBe('KernelDied');
    expect(await agent.execute({ code: '"alive"', timeoutMs: 30_000 })).toMatchObject({ status: 'Success', result: 'alive' });
  });

  it('stops promptly on SIGTERM (tini forwards it; the agent stops its kernel)', async () => {
    const startedAt = performance.now();
    await ctr('task', 'kill', '--signal', 'SIGTERM', id);
    for (;;) {
      const { stdout } = await ctr('task', 'ls');
      if (!new RegExp(`^${id}\\s+\\d+\\s+RUNNING`, 'm').test(stdout)) break;
      expect(performance.now() - startedAt).toBeLessThan(5_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expect(agent.health(500)).rejects.toBeInstanceOf(AgentUnavailableError);
  });
});

describe.each(FILE_TEST_RUNTIMES)('files in /mnt/data through the agent in a %s container', (runtime) => {
  let container: AgentContainer | undefined;
  let agent: AgentClient;
  const DATA_BYTES = 8 * 1024 * 1024;

  beforeAll(async () => {
    // /mnt/data as sandboxes get it: a small tmpfs owned by the sandbox user.
    container = await startAgentContainer(runtime, { dataTmpfsBytes: DATA_BYTES });
    agent = container.agent;
  }, 20 * 60_000);

  afterAll(async () => {
    await container?.remove();
  }, 60_000);

  async function* chunked(bytes: Buffer, sizes: number[]) {
    let offset = 0;
    for (let index = 0; offset < bytes.length; index += 1) {
      const size = sizes[index % sizes.length]!;
      yield bytes.subarray(offset, offset + size);
      offset += size;
    }
  }

  async function readAll(path: string): Promise<Buffer> {
    const { content } = await agent.readFile(path);
    const chunks: Buffer[] = [];
    for await (const chunk of content) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async function run(code: string): Promise<unknown> {
    const result = await agent.execute({ code, timeoutMs: 30_000 });
    expect(result.status, result.stderr).toBe('Success');
    // A list or tuple comes back as IPython's text repr (as Azure returns it); these checks want
    // the value itself, which IPython keeps in `_`.
    if (typeof result.result !== 'string' || !/^[[({]/.test(result.result)) return result.result;
    const value = await agent.execute({ code: "__import__('json').dumps(_)", timeoutMs: 30_000 });
    return JSON.parse(String(value.result));
  }

  const refusal = (promise: Promise<unknown>) => promise.then(() => 'accepted', (error: unknown) => (error instanceof AgentRequestError ? error.code : String(error)));

  it('writes, lists, stats, reads back byte for byte, and deletes', async () => {
    const binary = randomBytes(3 * 1024 * 1024 + 17);
    const stored = await agent.writeFile('in/put/data.bin', chunked(binary, [1, 65_536, 700_001]), { maxBytes: DATA_BYTES });
    expect(stored).toMatchObject({ path: 'in/put/data.bin', name: 'data.bin', type: 'file', size: binary.length, contentType: 'application/octet-stream' });
    expect(stored.lastModified).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    await agent.writeFile('notes.md', chunked(Buffer.from('# hi\n'), [100]), { maxBytes: DATA_BYTES });

    expect((await agent.listFiles()).map((file) => [file.path, file.type])).toEqual([
      ['in', 'directory'],
      ['notes.md', 'file'],
    ]);
    expect((await agent.listFiles({ recursive: true })).map((file) => file.path)).toEqual(['in', 'in/put', 'in/put/data.bin', 'notes.md']);
    expect((await agent.listFiles({ path: 'in/put' })).map((file) => file.name)).toEqual(['data.bin']);
    expect(await agent.statFile('notes.md')).toMatchObject({ size: 5, contentType: 'text/markdown; charset=utf-8' });

    expect((await readAll('in/put/data.bin')).equals(binary)).toBe(true);
    expect(await agent.deleteFile('in/put/data.bin')).toMatchObject({ path: 'in/put/data.bin' });
    expect(await refusal(agent.statFile('in/put/data.bin'))).toBe('NotFound');
    expect(await refusal(agent.deleteFile('in'))).toBe('DirectoryNotEmpty');
    await agent.deleteFile('in/put');
    await agent.deleteFile('in');
  });

  it('shares files with the kernel: it reads what was written (as uid 1000, mode 0644), and its files can be read', async () => {
    await agent.writeFile('table.csv', chunked(Buffer.from('a,b\n1,2\n3,4\n'), [4]), { maxBytes: 1_000 });
    expect(await run("import pandas as pd, os\nst = os.stat('/mnt/data/table.csv')\n[int(pd.read_csv('/mnt/data/table.csv')['b'].sum()), st.st_uid, st.st_gid, oct(st.st_mode & 0o777)]")).toEqual([6, 1000, 1000, '0o644']);
    const digest = await run("import hashlib\ndata = bytes(range(256)) * 1000\nopen('/mnt/data/made.bin', 'wb').write(data)\nhashlib.sha256(data).hexdigest()");
    const made = await readAll('made.bin');
    expect(made.length).toBe(256_000);
    expect(createHash('sha256').update(made).digest('hex')).toBe(digest);
    // Replacing a file the kernel has open is atomic: it keeps reading the old one.
    await agent.writeFile('table.csv', chunked(Buffer.from('a,b\n5,6\n'), [3]), { maxBytes: 1_000 });
    expect(await run("open('/mnt/data/table.csv').read()")).toBe('a,b\n5,6\n');
  });

  it('never follows a symbolic link planted by code, at any step of a path', async () => {
    await run(
      [
        'import os',
        "open('/tmp/outside.txt', 'w').write('secret')",
        "os.symlink('/etc/passwd', '/mnt/data/evil')",
        "os.symlink('/tmp/outside.txt', '/mnt/data/evil2')",
        "os.symlink('/tmp', '/mnt/data/evildir')",
        "os.mkfifo('/mnt/data/pipe')",
      ].join('\n'),
    );
    const write = (path: string) => agent.writeFile(path, chunked(Buffer.from('overwritten'), [100]), { maxBytes: 1_000 });
    expect(await refusal(agent.readFile('evil'))).toBe('SymbolicLink');
    expect(await refusal(agent.readFile('evildir/outside.txt'))).toBe('SymbolicLink');
    expect(await refusal(agent.statFile('evil2'))).toBe('SymbolicLink');
    expect(await refusal(write('evil2'))).toBe('SymbolicLink');
    expect(await refusal(write('evildir/planted.txt'))).toBe('SymbolicLink');
    expect(await refusal(agent.deleteFile('evil2'))).toBe('SymbolicLink');
    expect(await refusal(agent.deleteFile('evildir/outside.txt'))).toBe('SymbolicLink');
    expect(await refusal(agent.listFiles({ path: 'evildir' }))).toBe('SymbolicLink');
    // A FIFO would block a reader forever: refused at once.
    expect(await refusal(agent.readFile('pipe'))).toBe('NotAFile');
    expect(await run("import os\n[open('/tmp/outside.txt').read(), os.path.exists('/tmp/planted.txt'), os.readlink('/mnt/data/evil2')]")).toEqual(['secret', false, '/tmp/outside.txt']);
    const names = (await agent.listFiles({ recursive: true })).map((file) => file.path);
    expect(names.filter((name) => /evil|pipe/.test(name))).toEqual([]);
    await run("import os\nfor name in ('evil', 'evil2', 'evildir', 'pipe'): os.remove('/mnt/data/' + name)");
  });

  it('refuses paths that are not canonical and inside /mnt/data', async () => {
    for (const path of ['../etc/passwd', '/etc/passwd', '/mnt/data/x', 'a//b', './x', 'a/..', '', 'x\u0000y']) {
      expect(await refusal(agent.statFile(path)), JSON.stringify(path)).toBe('BadRequest');
      expect(await refusal(agent.readFile(path)), JSON.stringify(path)).toBe('BadRequest');
    }
    expect(await refusal(agent.listFiles({ path: '..' }))).toBe('BadRequest');
  });

  it('stops an upload past maxBytes, drops an abandoned one, and says when /mnt/data is full; nothing partial is left', async () => {
    expect(await refusal(agent.writeFile('big.bin', chunked(Buffer.alloc(100_000), [4096]), { maxBytes: 50_000 }))).toBe('TooLarge');
    async function* failing() {
      yield Buffer.alloc(10_000);
      throw new Error('client gone');
    }
    await expect(agent.writeFile('abandoned.bin', failing(), { maxBytes: 1_000_000 })).rejects.toThrow('client gone');
    const full = await agent.writeFile('huge.bin', chunked(Buffer.alloc(DATA_BYTES + 1024 * 1024), [256 * 1024]), { maxBytes: 100 * 1024 * 1024 }).catch((error: unknown) => error);
    expect(full).toBeInstanceOf(AgentRequestError);
    expect(full).toMatchObject({ code: 'StorageFull' });
    expect((full as AgentRequestError).reason).toMatch(/\/mnt\/data is full \(8 MiB in all, 0 MiB free\)/);
    // The agent drops partial files a moment after the connection ends.
    for (let attempt = 0; attempt < 50; attempt += 1) {
      if (((await run("import os\nlen([n for n in os.listdir('/mnt/data') if n.startswith('.sandpool-upload-')])")) as number) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await run("import os, shutil\n[sorted(n for n in os.listdir('/mnt/data') if n.endswith('.bin') and n != 'made.bin'), shutil.disk_usage('/mnt/data').free > 7 * 1024 * 1024]")).toEqual([[], true]);
  });

  it('transfers files while a cell runs', async () => {
    const running = agent.execute({ code: 'import time\ntime.sleep(1.5)\n"slept"' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const startedAt = performance.now();
    await agent.writeFile('during.txt', chunked(Buffer.from('while busy'), [4]), { maxBytes: 100 });
    expect((await readAll('during.txt')).toString()).toBe('while busy');
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect((await running).result).toBe('slept');
  });

  it('serves the first owner it is sent for, and refuses any other without running anything', async () => {
    const first = new AgentClient(agent.socketPath);
    const second = new AgentClient(agent.socketPath);
    first.owner = 'session-tag-a';
    second.owner = 'session-tag-b';
    try {
      expect(await first.execute({ code: 'owned_by = "a"' })).toMatchObject({ status: 'Success' });
      await expect(second.execute({ code: 'owned_by = "b"' })).rejects.toBeInstanceOf(AgentWrongOwnerError);
      await expect(second.listFiles()).rejects.toBeInstanceOf(AgentWrongOwnerError);
      await expect(second.writeFile('from-b.txt', chunked(Buffer.from('b'), [1]), { maxBytes: 10 })).rejects.toBeInstanceOf(AgentWrongOwnerError);
      expect((await first.execute({ code: 'owned_by' })).result).toBe('a');
      expect(await run("import os\nos.path.exists('/mnt/data/from-b.txt')")).toBe(false);
      // Requests without an owner (the engine's health checks) are still served.
      expect(await agent.health()).toMatchObject({ ok: true });
    } finally {
      first.close();
      second.close();
    }
  });
});
