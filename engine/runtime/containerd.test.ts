// The containerd driver against the real containerd on this host, for hardened runc and for
// gVisor: a sandbox is created, inspected from inside through the agent socket (user,
// capabilities, filesystems, network, pids and memory limits), removed, and nothing is left.
// Failed creates must leave nothing either. Uses the tiny busybox+perl image from testing/.
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINERD_SOCKET } from '../../cli/provision/containerd';
import { ContainerdClient, SPEC_TYPE_URL, runcOptions } from './containerd-api';
import { ContainerdRuntime, RUNC_SHIM, RUNTIME_LABEL, SANDPOOL_NAMESPACE, SandboxRuntimeError, findLeftovers, hasLeftovers } from './containerd';
import { ensureRunscWrapper, forceDeleteRunscContainer } from './gvisor';
import { GVISOR_HOST_TASKS_BASE, GVISOR_HOST_TASKS_PER_PROCESS, SandboxSpecError, buildSandboxSpec } from './spec';
import { agentShell, waitForAgent } from './testing/agent-client';
import { ensureTestImage } from './testing/image';
import { SANDPOOL_LABELS, type IsolationRuntime, type SandboxSpec } from './types';

const runtime = new ContainerdRuntime();
const api = new ContainerdClient(CONTAINERD_SOCKET, SANDPOOL_NAMESPACE);
const run = Math.random().toString(36).slice(2, 8);
const workDir = mkdtempSync(join(tmpdir(), 'sandpool-runtime-test-'));
let image = '';
let badEntrypointImage = '';
const created = new Set<string>();

beforeAll(async () => {
  image = await ensureTestImage();
  badEntrypointImage = await ensureTestImage({ entrypoint: ['/bin/does-not-exist'] });
}, 120_000);

afterAll(async () => {
  // Whatever a failed test left running.
  await Promise.allSettled([...created].map((id) => runtime.remove(id)));
  runtime.close();
  api.close();
  rmSync(workDir, { recursive: true, force: true });
});

function sandboxSpec(isolation: IsolationRuntime, name: string, overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  const id = `rt-${run}-${isolation === 'GVISOR' ? 'gv' : 'rc'}-${name}`;
  created.add(id);
  return {
    id,
    poolId: `pool-${run}`,
    image,
    runtime: isolation,
    cpuMillicores: 500,
    memoryMiB: 96,
    pidsLimit: 32,
    dataSizeMiB: 8,
    network: 'none',
    agentSocketDir: join(workDir, id),
    env: { SANDPOOL_TEST: 'yes' },
    ...overrides,
  };
}

async function expectNoLeftovers(id: string): Promise<void> {
  const leftovers = await findLeftovers(id);
  expect(leftovers, `leftovers of ${id}`).toEqual({ container: false, task: false, snapshot: false, mounts: [], bundle: false, runtimeState: [], cgroups: [] });
  expect(hasLeftovers(leftovers)).toBe(false);
  expect((await runtime.list()).map((sandbox) => sandbox.id)).not.toContain(id);
}

function hostPids(id: string): { current: number; max: number } {
  const dir = `/sys/fs/cgroup/pids/${SANDPOOL_NAMESPACE}/${id}`;
  return { current: Number(readFileSync(`${dir}/pids.current`, 'utf8')), max: Number(readFileSync(`${dir}/pids.max`, 'utf8')) };
}

describe.each([
  { isolation: 'RUNC_HARDENED' as const, label: 'hardened runc' },
  { isolation: 'GVISOR' as const, label: 'gVisor' },
])('containerd driver with $label', ({ isolation }) => {
  const gvisor = isolation === 'GVISOR';
  let spec: SandboxSpec;
  const shell = (script: string) => agentShell(spec.agentSocketDir, script);

  it('creates a running sandbox that list() reports with its labels', async () => {
    spec = sandboxSpec(isolation, 'main');
    await runtime.create(spec);
    const listed = (await runtime.list()).find((sandbox) => sandbox.id === spec.id);
    expect(listed).toEqual({ id: spec.id, poolId: spec.poolId, sessionId: spec.id, status: 'running' });
    const record = await api.getContainer(spec.id);
    expect(record.labels).toMatchObject({ [SANDPOOL_LABELS.managed]: 'true', [SANDPOOL_LABELS.poolId]: spec.poolId, [SANDPOOL_LABELS.sessionId]: spec.id });
    expect(record.runtime.name).toBe(RUNC_SHIM);
    expect(record.spec?.typeUrl).toBe(SPEC_TYPE_URL);
    await waitForAgent(spec.agentSocketDir);
  });

  it('starts at a low CPU weight and gets its own once marked ready', async () => {
    const shares = () => Number(readFileSync(`/sys/fs/cgroup/cpu/${SANDPOOL_NAMESPACE}/${spec.id}/cpu.shares`, 'utf8'));
    const parent = `/sys/fs/cgroup/cpu/${SANDPOOL_NAMESPACE}/cpu.shares`;
    writeFileSync(parent, '1024');
    expect(shares()).toBe(64);
    // A fresh runtime: each weighs the sandboxes' parent cgroup once, on its first markReady.
    const fresh = new ContainerdRuntime();
    try {
      await fresh.markReady(spec.id, spec.cpuMillicores);
    } finally {
      fresh.close();
    }
    expect(shares()).toBe(512);
    // All sandboxes together weigh as much as the host's cores, not as one process.
    expect(Number(readFileSync(parent, 'utf8'))).toBe(availableParallelism() * 1024);
    await expect(runtime.markReady('no-such-sandbox', 500)).rejects.toThrow(/no-such-sandbox: setting its CPU weight failed/);
  });

  it('runs the image entrypoint as uid 1000 with no capabilities, no_new_privs and seccomp', async () => {
    const { output, exitCode } = await shell('id -u; id -g; hostname; echo "env=$SANDPOOL_TEST"; grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status');
    expect(exitCode).toBe(0);
    const lines = output.split('\n');
    expect(lines.slice(0, 4)).toEqual(['1000', '1000', spec.id, 'env=yes']);
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd']) expect(output).toMatch(new RegExp(`${set}:\\s+0{16}`));
    // runc applies the spec's seccomp profile; gVisor is its own syscall boundary (see gvisor.ts).
    if (!gvisor) expect(output).toMatch(/Seccomp:\s+2/);
    if (!gvisor) expect(output).toMatch(/NoNewPrivs:\s+1/); // gVisor does not show this line
  });

  it('has a read-only root, writable /tmp and /mnt/data, and a size limit on /mnt/data', async () => {
    // /home/sandbox belongs to uid 1000 in the image: only the read-only mount can refuse this.
    const readOnly = await shell('touch /home/sandbox/x');
    expect(readOnly.exitCode).not.toBe(0);
    expect(readOnly.output).toContain('Read-only file system');

    const writable = await shell('echo a > /tmp/a && echo b > /mnt/data/b && cat /tmp/a /mnt/data/b && stat -c "%u:%g" /mnt/data');
    expect(writable).toEqual({ output: 'a\nb\n1000:1000\n', exitCode: 0 });

    const fill = await shell(`dd if=/dev/zero of=/mnt/data/fill bs=1M count=${spec.dataSizeMiB + 4} 2>&1; du -m /mnt/data/fill`);
    expect(fill.output).toContain('No space left on device');
    expect(Number(fill.output.trim().split('\n').at(-1)?.split(/\s/)[0])).toBeLessThanOrEqual(spec.dataSizeMiB);

    // The agent socket folder is writable by the sandbox user but is a small tmpfs of its own,
    // not the host's /run.
    const hostMount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((line) => line.split(' ')[4] === spec.agentSocketDir);
    expect(hostMount).toMatch(/ - tmpfs sandpool-agent /);
    const flood = await shell('dd if=/dev/zero of=/run/sandpool/flood bs=64k count=64 2>&1; rm -f /run/sandpool/flood');
    expect(flood.output).toContain('No space left on device');
  });

  it('has no network interface but loopback and no route out', async () => {
    const { output } = await shell('tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "; echo "routes:"; ip route | grep -v "dev lo"; nc -w 2 1.1.1.1 80 </dev/null 2>&1; echo "nc=$?"');
    const [interfaces, rest] = output.split('routes:\n');
    expect(interfaces?.trim().split('\n')).toEqual(['lo']);
    expect(rest).not.toMatch(/default|via/);
    expect(rest).toMatch(/unreachable|No route to host/i);
    expect(rest).toContain('nc=1');
  });

  it('has a working loopback (kernels talk to their clients over 127.0.0.1)', async () => {
    // The client retries until the listener is up: on a loaded host it may take a while to start.
    const { output } = await shell(
      'nc -l -p 7777 > /tmp/loopback.txt 2>&1 </dev/null & for i in $(seq 40); do echo ping | nc -w 1 127.0.0.1 7777 2>/dev/null && break; sleep 0.25; done; sleep 0.3; cat /tmp/loopback.txt',
    );
    expect(output.trim()).toBe('ping');
  });

  it('contains a fork bomb within the pids limit and keeps the sandbox usable', async () => {
    // The subshell dies at the first failed fork; sleeps redirect away from the socket so the
    // connection ends with the shell.
    const bomb = await shell('( for i in $(seq 80); do sleep 3 </dev/null >/dev/null 2>&1 & done; echo all-started ) 2>&1');
    expect(bomb.output).toContain("can't fork");
    expect(bomb.output).not.toContain('all-started');
    const pids = hostPids(spec.id);
    const hostLimit = gvisor ? spec.pidsLimit * GVISOR_HOST_TASKS_PER_PROCESS + GVISOR_HOST_TASKS_BASE : spec.pidsLimit;
    expect(pids.max).toBe(hostLimit);
    expect(pids.current).toBeLessThanOrEqual(hostLimit);
    await new Promise((resolve) => setTimeout(resolve, 3_500)); // the sleeps end
    await waitForAgent(spec.agentSocketDir);
  });

  it('OOM-kills a process that allocates beyond the memory limit (exit 137)', async () => {
    const allocate = `perl -e '$x = "a" x (${spec.memoryMiB * 2} * 1024 * 1024); print "allocated\\n"'; echo "perl=$?"`;
    if (!gvisor) {
      // runc: the kernel kills the biggest process in the sandbox's cgroup; the sandbox lives on.
      const { output } = await shell(allocate);
      expect(output).toContain('perl=137');
      expect(output).not.toContain('allocated');
      await waitForAgent(spec.agentSocketDir);
      return;
    }
    // gVisor: all of the sandbox's memory belongs to its Sentry process, so the host's OOM killer
    // takes the whole sandbox: the task ends with 137 and list() reports it stopped.
    await shell(allocate).catch(() => undefined);
    await expect.poll(async () => (await api.getTask(spec.id)).status, { timeout: 10_000 }).toBe('stopped');
    expect((await api.getTask(spec.id)).exitStatus).toBe(137);
    expect((await runtime.list()).find((sandbox) => sandbox.id === spec.id)?.status).toBe('stopped');
  });

  it('removes the sandbox without leaving anything behind, and removing again is a no-op', async () => {
    await runtime.remove(spec.id);
    await expectNoLeftovers(spec.id);
    await runtime.remove(spec.id);
    await runtime.remove('rt-never-existed');
  });

  it('cleans up after a start that fails (missing entrypoint), with the runtime message', async () => {
    const failing = sandboxSpec(isolation, 'badentry', { image: badEntrypointImage });
    const error = await runtime.create(failing).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(SandboxRuntimeError);
    expect((error as Error).message).toContain('/bin/does-not-exist');
    expect((error as Error).message).toContain(gvisor ? 'gVisor' : 'runc');
    await expectNoLeftovers(failing.id);
  });

  it('rejects a missing image and an invalid spec before creating anything', async () => {
    const noImage = sandboxSpec(isolation, 'noimage', { image: 'sandpool.test/missing:latest' });
    await expect(runtime.create(noImage)).rejects.toThrow(/sandpool\.test\/missing:latest is not in containerd's store/);
    await expectNoLeftovers(noImage.id);

    const invalid = sandboxSpec(isolation, 'invalid', { pidsLimit: 0 });
    await expect(runtime.create(invalid)).rejects.toBeInstanceOf(SandboxSpecError);
    await expectNoLeftovers(invalid.id);
  });
});

describe('containerd driver, across runtimes', () => {
  it('creates several sandboxes at once and removes them all', async () => {
    const specs = (['RUNC_HARDENED', 'GVISOR', 'RUNC_HARDENED', 'GVISOR'] as const).map((isolation, index) => sandboxSpec(isolation, `conc${index}`));
    await Promise.all(specs.map((spec) => runtime.create(spec)));
    const listed = await runtime.list();
    for (const spec of specs) expect(listed.find((sandbox) => sandbox.id === spec.id)?.status).toBe('running');
    await Promise.all(specs.map((spec) => waitForAgent(spec.agentSocketDir)));
    await Promise.all(specs.map((spec) => runtime.remove(spec.id)));
    for (const spec of specs) await expectNoLeftovers(spec.id);
  });

  it('refuses gVisor ids that are prefixes of one another (runsc matches ids by prefix) and leaves the other alone', async () => {
    const first = sandboxSpec('GVISOR', 'pfx1');
    await runtime.create(first);
    for (const clashing of [sandboxSpec('GVISOR', 'pfx'), sandboxSpec('GVISOR', 'pfx12')]) {
      await expect(runtime.create(clashing)).rejects.toThrow(new RegExp(`${clashing.id} clashes with ${first.id}`));
      await expectNoLeftovers(clashing.id);
    }
    // runc ids are not affected: runc looks containers up by exact id.
    const runc = sandboxSpec('RUNC_HARDENED', 'pfx12');
    await runtime.create(runc);
    expect((await runtime.list()).filter((sandbox) => [first.id, runc.id].includes(sandbox.id)).map((sandbox) => sandbox.status)).toEqual(['running', 'running']);
    await Promise.all([runtime.remove(first.id), runtime.remove(runc.id)]);
    await expectNoLeftovers(first.id);
    await expectNoLeftovers(runc.id);
  });

  it('clears a gVisor task left in CREATED with runsc delete -force, after which remove() finishes', async () => {
    // What remove() falls back to when the shim can neither kill nor delete such a task.
    const stuck = sandboxSpec('GVISOR', 'stuck');
    mkdirSync(stuck.agentSocketDir, { recursive: true });
    chownSync(stuck.agentSocketDir, 1000, 1000);
    const options = runcOptions({ binaryName: await ensureRunscWrapper() });
    const oci = buildSandboxSpec(stuck, { entrypoint: ['/bin/agent'], cmd: [], env: [], workingDir: '/' });
    await api.createContainer({
      id: stuck.id,
      labels: { [SANDPOOL_LABELS.managed]: 'true', [RUNTIME_LABEL]: 'GVISOR' },
      image: stuck.image,
      runtime: { name: RUNC_SHIM, options },
      spec: { typeUrl: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(oci)) },
      snapshotter: 'overlayfs',
      snapshotKey: stuck.id,
    });
    const { diffIds } = await imageLayers(stuck.image);
    await api.createTask(stuck.id, await api.prepareSnapshot('overlayfs', stuck.id, diffIds[0]!), options);
    expect((await api.getTask(stuck.id)).status).toBe('created');
    await forceDeleteRunscContainer(SANDPOOL_NAMESPACE, stuck.id);
    expect((await api.getTask(stuck.id)).status).toBe('stopped');
    await forceDeleteRunscContainer(SANDPOOL_NAMESPACE, stuck.id); // already gone: still fine
    await runtime.remove(stuck.id);
    await expectNoLeftovers(stuck.id);
  });

  it('finishes a create that died midway (container record and snapshot, no task) and lists only managed containers', async () => {
    const half = sandboxSpec('RUNC_HARDENED', 'half');
    const stranger = `rt-${run}-stranger`;
    created.add(stranger);
    const emptySpec = { typeUrl: SPEC_TYPE_URL, value: Buffer.from('{}') };
    await api.createContainer({
      id: half.id,
      labels: { [SANDPOOL_LABELS.managed]: 'true', [SANDPOOL_LABELS.poolId]: half.poolId, [SANDPOOL_LABELS.sessionId]: half.id },
      image: half.image,
      runtime: { name: RUNC_SHIM },
      spec: emptySpec,
      snapshotter: 'overlayfs',
      snapshotKey: half.id,
    });
    const { diffIds } = await imageLayers(half.image);
    await api.prepareSnapshot('overlayfs', half.id, diffIds[0]!);
    await api.createContainer({ id: stranger, labels: {}, image: '', runtime: { name: RUNC_SHIM }, spec: emptySpec, snapshotter: '', snapshotKey: '' });
    try {
      const listed = await runtime.list();
      expect(listed.find((sandbox) => sandbox.id === half.id)).toEqual({ id: half.id, poolId: half.poolId, sessionId: half.id, status: 'stopped' });
      expect(listed.map((sandbox) => sandbox.id)).not.toContain(stranger);
      await runtime.remove(half.id);
      await expectNoLeftovers(half.id);
    } finally {
      await api.deleteContainer(stranger);
    }
  });
});

/** The image's layer digests, as the driver reads them (single-platform test image). */
async function imageLayers(ref: string): Promise<{ diffIds: string[] }> {
  const target = (await api.getImage(ref)).target;
  const manifest = JSON.parse((await api.readContent(target.digest)).toString('utf8')) as { config: { digest: string } };
  const config = JSON.parse((await api.readContent(manifest.config.digest)).toString('utf8')) as { rootfs: { diff_ids: string[] } };
  return { diffIds: config.rootfs.diff_ids };
}
