// The agent client and the agent itself: first against a scripted fake agent (the client's
// own logic: multiplexing, reconnects, the outside timeout), then against the real
// code-interpreter image in a real runc container, started with `ctr` directly (the hardened
// runtime driver lives in engine/runtime and is tested there).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureCodeInterpreterImage } from '../images/code-interpreter';
import { CONTAINERD_NAMESPACE } from '../images/oci';
import { AgentClient, AgentRequestError, AgentUnavailableError } from './client';

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
// The real image, in a real container.

// SANDPOOL_AGENT_TEST_RUNTIME=runsc runs the same tests under gVisor (slower: allow ~10 s to start).
const runtime = process.env.SANDPOOL_AGENT_TEST_RUNTIME === 'runsc' ? 'runsc' : 'runc';

describe(`the code-interpreter agent in a ${runtime} container`, () => {
  const id = `sandpool-agent-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  let workDir: string;
  let dataDir: string;
  let agent: AgentClient;

  const ctr = (...args: string[]) => execFileAsync('ctr', ['-n', CONTAINERD_NAMESPACE, ...args], { timeout: 60_000 });

  beforeAll(async () => {
    // The first run builds the image (several minutes); later runs find it in containerd.
    const { reference } = await ensureCodeInterpreterImage((message) => console.log(`  [image] ${message}`));
    workDir = mkdtempSync(join(tmpdir(), 'sandpool-agent-test-'));
    const socketDir = join(workDir, 'run');
    dataDir = join(workDir, 'data');
    // The agent runs as uid 1000: it creates its socket in the first, the user's files in the second.
    for (const dir of [socketDir, dataDir]) {
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
    await ctr(
      'run',
      '-d',
      ...runtimeArgs,
      '--read-only',
      '--mount',
      `type=bind,src=${socketDir},dst=/run/sandpool,options=rbind:rw`,
      '--mount',
      `type=bind,src=${dataDir},dst=/mnt/data,options=rbind:rw`,
      '--mount',
      'type=tmpfs,src=tmpfs,dst=/tmp,options=nosuid:nodev:size=268435456:mode=1777',
      '--memory-limit',
      String(1024 * 1024 * 1024),
      reference,
      id,
    );
    agent = new AgentClient(join(socketDir, 'agent.sock'));
    const ready = await agent.waitUntilReady(120_000);
    console.log(`  agent ready ${ready.waitedMs} ms after the container started (kernel ${ready.kernelReadyMs} ms)`);
  }, 20 * 60_000);

  afterAll(async () => {
    agent?.close();
    await ctr('task', 'kill', '--signal', 'SIGKILL', id).catch(() => undefined);
    for (let attempt = 0; attempt < 50; attempt += 1) {
      if (await ctr('task', 'rm', id).then(() => true, (error: { stderr?: string }) => /not found/.test(error.stderr ?? ''))) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await ctr('container', 'rm', id).catch(() => undefined);
    // A runsc container whose start failed can stay CREATED; only runsc itself removes it.
    if (runtime === 'runsc') await execFileAsync('runsc', ['--root', `/run/containerd/runc/${CONTAINERD_NAMESPACE}`, 'delete', '-force', id]).catch(() => undefined);
    if (workDir) rmSync(workDir, { recursive: true, force: true });
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

  it('returns JSON-able values as JSON and anything else as its repr', async () => {
    expect((await agent.execute({ code: '{"a": [1, 2.5, None, True], "b": "x"}' })).result).toEqual({ a: [1, 2.5, null, true], b: 'x' });
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
    expect((await agent.execute({ code: 'import os\nos.getcwd(), open("hello.txt").read()' })).result).toEqual(['/mnt/data', 'hi from the sandbox']);
    expect(existsSync(join(dataDir, 'hello.txt'))).toBe(true);
    expect(readFileSync(join(dataDir, 'hello.txt'), 'utf8')).toBe('hi from the sandbox');
  });

  it('runs as the unprivileged sandbox user on a read-only root filesystem', async () => {
    expect((await agent.execute({ code: 'import os\nos.getuid(), os.getgid()' })).result).toEqual([1000, 1000]);
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
