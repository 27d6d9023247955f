// Unit tests of the sandbox's OCI spec: every hardening setting of the isolation profile is
// asserted here, so a change to any of them shows up in review as a failing expectation.
import { describe, expect, it } from 'vitest';
import { chainId } from './containerd';
import { RUNSC_FLAGS, runscWrapperScript } from './gvisor';
import { defaultSeccompProfile } from './seccomp';
import {
  GVISOR_HOST_TASKS_BASE,
  GVISOR_HOST_TASKS_PER_PROCESS,
  MASKED_PATHS,
  READONLY_PATHS,
  SandboxSpecError,
  buildSandboxSpec,
  hostnameFor,
  mergeEnv,
  parseImageConfig,
  type ImageConfig,
} from './spec';
import { SANDPOOL_LABELS, type SandboxSpec } from './types';

const spec: SandboxSpec = {
  id: 'ses_01HZX8K2M4',
  poolId: 'pool_abc',
  image: 'sandpool.local/code-interpreter:1',
  runtime: 'RUNC_HARDENED',
  cpuMillicores: 1500,
  memoryMiB: 512,
  pidsLimit: 128,
  dataSizeMiB: 100,
  network: 'none',
  agentSocketDir: '/var/lib/sandpool/sessions/ses_01HZX8K2M4',
  env: { POOL_VAR: 'x', PATH: '/opt/bin:/usr/bin' },
};
const image: ImageConfig = { entrypoint: ['/usr/bin/agent'], cmd: ['--serve'], env: ['PATH=/usr/bin:/bin', 'LANG=C.UTF-8'], workingDir: '/mnt/data' };
const oci = buildSandboxSpec(spec, image);
const mount = (destination: string) => oci.mounts.find((entry) => entry.destination === destination);

describe('buildSandboxSpec', () => {
  it('runs the image entrypoint and cmd as uid/gid 1000 in its working dir, with the pool env winning', () => {
    expect(oci.process.args).toEqual(['/usr/bin/agent', '--serve']);
    expect(oci.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000], umask: 0o022 });
    expect(oci.process.cwd).toBe('/mnt/data');
    expect(oci.process.env).toEqual(['PATH=/opt/bin:/usr/bin', 'LANG=C.UTF-8', 'POOL_VAR=x', 'HOME=/tmp']);
    expect(oci.process.terminal).toBe(false);
  });

  it('drops every capability and sets no_new_privs, a positive OOM score and rlimits', () => {
    expect(oci.process.capabilities).toEqual({ bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] });
    expect(oci.process.noNewPrivileges).toBe(true);
    expect(oci.process.oomScoreAdj).toBeGreaterThan(0);
    expect(oci.process.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', hard: 4096, soft: 4096 },
      { type: 'RLIMIT_CORE', hard: 0, soft: 0 },
    ]);
  });

  it('makes the root read-only and names the host after the session', () => {
    expect(oci.root).toEqual({ path: 'rootfs', readonly: true });
    expect(oci.hostname).toBe('ses-01hzx8k2m4');
  });

  it('isolates every namespace, the network included (a new, empty one: loopback only)', () => {
    expect(oci.linux.namespaces).toEqual(['pid', 'ipc', 'uts', 'mount', 'network', 'cgroup'].map((type) => ({ type })));
    expect(oci.linux.namespaces.every((namespace) => !('path' in namespace))).toBe(true);
    expect(oci.linux.namespaces.map((namespace) => namespace.type)).not.toContain('user');
  });

  it('limits memory without swap, CPU by quota and pids, under the namespace cgroup', () => {
    expect(oci.linux.resources.memory).toEqual({ limit: 512 * 1048576, swap: 512 * 1048576, disableOOMKiller: false });
    // A starting sandbox gets an eighth of its weight (1536 for 1.5 cores); see markReady.
    expect(oci.linux.resources.cpu).toEqual({ shares: 192, quota: 150_000, period: 100_000 });
    expect(oci.linux.resources.pids).toEqual({ limit: 128 });
    expect(oci.linux.cgroupsPath).toBe('/sandpool/ses_01HZX8K2M4');
    expect(buildSandboxSpec(spec, image, { namespace: 'other' }).linux.cgroupsPath).toBe('/other/ses_01HZX8K2M4');
  });

  it('allows only the standard character devices', () => {
    const [denyAll, ...allowed] = oci.linux.resources.devices;
    expect(denyAll).toEqual({ allow: false, access: 'rwm' });
    expect(allowed.every((device) => device.allow && device.type === 'c')).toBe(true);
    expect(allowed.map((device) => `${device.major}:${device.minor ?? '*'}`)).toEqual(['1:3', '1:5', '1:7', '1:8', '1:9', '5:0', '5:2', '136:*']);
  });

  it('mounts size-limited tmpfs at /tmp and /mnt/data (owned by the sandbox user) and the agent folder at /run/sandpool', () => {
    expect(mount('/tmp')).toEqual({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=64m'] });
    expect(mount('/mnt/data')).toEqual({
      destination: '/mnt/data',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'mode=0770', 'uid=1000', 'gid=1000', 'size=100m'],
    });
    expect(mount('/run/sandpool')).toEqual({ destination: '/run/sandpool', type: 'bind', source: spec.agentSocketDir, options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec'] });
    // /run/sandpool sits on the /run tmpfs, so /run must be mounted first.
    const destinations = oci.mounts.map((entry) => entry.destination);
    expect(destinations.indexOf('/run')).toBeLessThan(destinations.indexOf('/run/sandpool'));
    expect(mount('/sys')?.options).toContain('ro');
    expect(mount('/sys/fs/cgroup')?.options).toContain('ro');
    expect(oci.mounts.filter((entry) => entry.type === 'bind')).toHaveLength(1); // nothing else of the host
  });

  it("masks and write-protects the kernel's sensitive /proc and /sys paths", () => {
    expect(oci.linux.maskedPaths).toEqual(MASKED_PATHS);
    expect(oci.linux.maskedPaths).toEqual(expect.arrayContaining(['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware']));
    expect(oci.linux.readonlyPaths).toEqual(READONLY_PATHS);
    expect(oci.linux.readonlyPaths).toEqual(expect.arrayContaining(['/proc/sys', '/proc/sysrq-trigger']));
  });

  it('applies the default seccomp profile', () => {
    expect(oci.linux.seccomp).toEqual(defaultSeccompProfile());
  });

  it('records the pool and session in annotations', () => {
    expect(oci.annotations).toEqual({ [SANDPOOL_LABELS.poolId]: 'pool_abc', [SANDPOOL_LABELS.sessionId]: 'ses_01HZX8K2M4' });
  });

  it('under gVisor limits processes with RLIMIT_NPROC and keeps the host pids cgroup as a backstop', () => {
    const gvisor = buildSandboxSpec({ ...spec, runtime: 'GVISOR' }, image);
    expect(gvisor.process.rlimits).toContainEqual({ type: 'RLIMIT_NPROC', hard: 128, soft: 128 });
    expect(gvisor.linux.resources.pids.limit).toBe(128 * GVISOR_HOST_TASKS_PER_PROCESS + GVISOR_HOST_TASKS_BASE);
    // Everything else is the same profile.
    const { process: _gp, linux: gvisorLinux, ...gvisorRest } = gvisor;
    const { process: _rp, linux: runcLinux, ...runcRest } = oci;
    expect(gvisorRest).toEqual(runcRest);
    expect({ ...gvisorLinux, resources: { ...gvisorLinux.resources, pids: null } }).toEqual({ ...runcLinux, resources: { ...runcLinux.resources, pids: null } });
  });

  it('is pure: the same inputs give the same spec', () => {
    expect(buildSandboxSpec(spec, image)).toEqual(oci);
  });

  it('refuses invalid specs and images with nothing to run, naming the problem', () => {
    expect(() => buildSandboxSpec({ ...spec, id: 'bad id/../x' }, image)).toThrow(SandboxSpecError);
    expect(() => buildSandboxSpec({ ...spec, memoryMiB: 0, pidsLimit: 1.5 }, image)).toThrow(/memoryMiB must be .*pidsLimit must be/);
    expect(() => buildSandboxSpec({ ...spec, agentSocketDir: 'relative/dir' }, image)).toThrow(/agentSocketDir must be an absolute host path/);
    expect(() => buildSandboxSpec({ ...spec, env: { 'A=B': 'x' } }, image)).toThrow(/env name "A=B"/);
    expect(() => buildSandboxSpec({ ...spec, network: 'host' as 'none' }, image)).toThrow(/network "host" is not supported/);
    expect(() => buildSandboxSpec(spec, { ...image, entrypoint: [], cmd: [] })).toThrow(/neither an entrypoint nor a cmd/);
  });
});

describe('seccomp profile', () => {
  const profile = defaultSeccompProfile();
  const allowed = new Set(profile.syscalls.filter((rule) => rule.action === 'SCMP_ACT_ALLOW' && !rule.args).flatMap((rule) => rule.names));

  it('denies by default with EPERM on x86', () => {
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(profile.defaultErrnoRet).toBe(1);
    expect(profile.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  it('allows what ordinary programs need', () => {
    for (const name of ['read', 'write', 'openat', 'mmap', 'execve', 'futex', 'socket', 'connect', 'bind', 'listen', 'accept4', 'epoll_wait', 'wait4', 'exit_group']) {
      expect(allowed, name).toContain(name);
    }
  });

  it('does not allow privileged or risky syscalls', () => {
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'pivot_root', 'chroot', 'ptrace', 'bpf', 'perf_event_open', 'kexec_load', 'init_module', 'finit_module', 'delete_module', 'reboot', 'swapon', 'keyctl', 'add_key', 'userfaultfd', 'io_uring_setup', 'open_by_handle_at', 'process_vm_readv', 'syslog', 'acct', 'settimeofday', 'clock_settime']) {
      expect(profile.syscalls.flatMap((rule) => rule.names), name).not.toContain(name);
    }
  });

  it('allows clone only without namespace flags, sends clone3 to ENOSYS and restricts personality', () => {
    expect(profile.syscalls).toContainEqual({ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] });
    expect(profile.syscalls).toContainEqual({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 });
    const personalities = profile.syscalls.filter((rule) => rule.names.includes('personality'));
    expect(personalities.map((rule) => rule.args?.[0]?.value)).toEqual([0, 8, 0x20000, 0x20008, 0xffffffff]);
  });
});

describe('helpers', () => {
  it('mergeEnv keeps image variables, lets the pool override, and supplies PATH and HOME', () => {
    expect(mergeEnv(['A=1', 'B=2=3', 'junk'], { A: 'x' })).toEqual(['A=x', 'B=2=3', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/tmp']);
    expect(mergeEnv(['HOME=/home/sandbox', 'PATH=/bin'], {})).toEqual(['HOME=/home/sandbox', 'PATH=/bin']);
  });

  it('hostnameFor makes a valid hostname of at most 63 characters', () => {
    expect(hostnameFor('ses_ABC.def')).toBe('ses-abc-def');
    expect(hostnameFor('x'.repeat(80))).toHaveLength(63);
    expect(hostnameFor('___')).toBe('sandbox');
  });

  it('parseImageConfig reads entrypoint, cmd, env, working dir and layers, tolerating nulls', () => {
    const parsed = parseImageConfig(JSON.stringify({ config: { Entrypoint: null, Cmd: ['python3'], Env: ['A=1'], WorkingDir: '/w' }, rootfs: { diff_ids: ['sha256:a'] } }));
    expect(parsed).toEqual({ entrypoint: [], cmd: ['python3'], env: ['A=1'], workingDir: '/w', diffIds: ['sha256:a'] });
    expect(parseImageConfig('{}')).toEqual({ entrypoint: [], cmd: [], env: [], workingDir: '', diffIds: [] });
  });

  it('chainId follows the OCI definition', () => {
    const a = 'sha256:' + 'a'.repeat(64);
    const b = 'sha256:' + 'b'.repeat(64);
    expect(chainId([a])).toBe(a);
    // ChainID(A|B) = sha256(ChainID(A) + " " + DiffID(B)), computed independently with sha256sum.
    expect(chainId([a, b])).toBe('sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c');
  });

  it('the gVisor wrapper runs runsc with the required flags, passing the shim arguments through', () => {
    expect(RUNSC_FLAGS).toEqual(expect.arrayContaining(['--network=none', '--host-uds=all']));
    const script = runscWrapperScript('/usr/bin/runsc');
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain(`exec /usr/bin/runsc '--network=none' '--host-uds=all' "$@"\n`);
    expect(runscWrapperScript("/opt/it's/runsc", ['--platform=kvm'])).toContain(`exec '/opt/it'\\''s/runsc' '--network=none' '--host-uds=all' '--platform=kvm' "$@"`);
  });
});
