// The OCI runtime spec of a sandbox, built from scratch as a pure function so that every
// hardening setting is written down here, reviewed in one place and unit-tested, instead of
// being whatever a client library's defaults happen to be. runc and runsc both consume it.
import { defaultSeccompProfile, type SeccompProfile } from './seccomp';
import { SANDPOOL_LABELS, type SandboxSpec } from './types';

/** The unprivileged user code runs as (`sandbox` in our images). */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
/** Where the agent socket folder is mounted inside the sandbox. */
export const AGENT_MOUNT_PATH = '/run/sandpool';
export const DATA_PATH = '/mnt/data';
export const TMP_SIZE_MIB = 64;
export const CPU_PERIOD_US = 100_000;

/** cgroup v1 cpu.shares for a ready sandbox: 1024 per core, as Kubernetes and Docker use. */
export function cpuSharesFor(cpuMillicores: number): number {
  return Math.max(2, Math.round((cpuMillicores * 1024) / 1000));
}

/**
 * cpu.shares while a sandbox starts: an eighth of its ready weight. When every core is busy,
 * sessions running code keep nearly all of it, yet a refill still makes progress (the minimum,
 * 2, would starve it completely under load).
 */
export function startingCpuSharesFor(cpuMillicores: number): number {
  return Math.max(2, Math.round(cpuSharesFor(cpuMillicores) / 8));
}
/**
 * Above every host service (containerd sets itself and its shims far lower): when the host as a
 * whole runs out of memory, the kernel kills sandbox processes first. Per-sandbox memory is
 * bounded by the cgroup limit anyway.
 */
export const SANDBOX_OOM_SCORE_ADJ = 1000;
export const NOFILE_LIMIT = 4096;
/**
 * Under gVisor's ptrace platform every process inside costs the host 10-20 tasks (the Sentry's
 * threads, a stub process per address space and its threads): 64 processes measured ~1,100 host
 * tasks. So the sandbox's own limit is RLIMIT_NPROC inside gVisor's kernel (its user table is the
 * sandbox's alone, unlike runc's, which is the host's), and the host pids cgroup is only a
 * backstop sized for that overhead. Hitting the backstop kills that sandbox, never the host.
 */
export const GVISOR_HOST_TASKS_PER_PROCESS = 16;
export const GVISOR_HOST_TASKS_BASE = 64;

/** What the driver takes from the image's config (`config` in the OCI image config). */
export type ImageConfig = {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
};

export type OciMount = { destination: string; type: string; source: string; options: string[] };

export type OciSpec = {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids: number[]; umask: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; inheritable: string[]; permitted: string[]; ambient: string[] };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
    oomScoreAdj: number;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  linux: {
    namespaces: { type: string }[];
    resources: {
      devices: { allow: boolean; type?: string; major?: number; minor?: number; access: string }[];
      memory: { limit: number; swap: number; disableOOMKiller: boolean };
      cpu: { shares: number; quota: number; period: number };
      pids: { limit: number };
    };
    cgroupsPath: string;
    seccomp: SeccompProfile;
    maskedPaths: string[];
    readonlyPaths: string[];
  };
};

const MIB = 1024 * 1024;
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Kernel interfaces that leak host information or allow host-wide actions (containerd's defaults). */
export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The character devices runc creates in the sandbox's /dev; the device cgroup allows only these. */
const ALLOWED_DEVICES: { major: number; minor?: number }[] = [
  { major: 1, minor: 3 }, // null
  { major: 1, minor: 5 }, // zero
  { major: 1, minor: 7 }, // full
  { major: 1, minor: 8 }, // random
  { major: 1, minor: 9 }, // urandom
  { major: 5, minor: 0 }, // tty
  { major: 5, minor: 2 }, // ptmx
  { major: 136 }, // pts/* (any minor: the sandbox's own devpts instance)
];

export class SandboxSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxSpecError';
  }
}

/** containerd's container id rule, also used for the cgroup path and the runsc state file. */
const CONTAINER_ID = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Rejects what containerd or the runtime would reject later, with a message naming the field. */
export function validateSandboxSpec(spec: SandboxSpec): void {
  const problems: string[] = [];
  if (!CONTAINER_ID.test(spec.id) || spec.id.length > 76) problems.push(`id ${JSON.stringify(spec.id)} must be 1-76 letters, digits and single . _ - between them`);
  if (!spec.poolId) problems.push('poolId is required');
  if (!spec.image) problems.push('image is required');
  if (spec.runtime !== 'GVISOR' && spec.runtime !== 'RUNC_HARDENED') problems.push(`runtime ${JSON.stringify(spec.runtime)} is not GVISOR or RUNC_HARDENED`);
  for (const [name, value, min] of [
    ['cpuMillicores', spec.cpuMillicores, 10],
    ['memoryMiB', spec.memoryMiB, 16],
    ['pidsLimit', spec.pidsLimit, 8],
    ['dataSizeMiB', spec.dataSizeMiB, 1],
  ] as const) {
    if (!Number.isInteger(value) || value < min) problems.push(`${name} must be a whole number of at least ${min} (got ${value})`);
  }
  if (spec.network !== 'none') problems.push(`network ${JSON.stringify(spec.network)} is not supported (only 'none')`);
  if (!spec.agentSocketDir.startsWith('/')) problems.push(`agentSocketDir must be an absolute host path (got ${JSON.stringify(spec.agentSocketDir)})`);
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    if (!ENV_NAME.test(name)) problems.push(`env name ${JSON.stringify(name)} is not a valid variable name`);
    if (value.includes('\0')) problems.push(`env ${name} contains a NUL byte`);
  }
  if (problems.length > 0) throw new SandboxSpecError(`Invalid sandbox spec: ${problems.join('; ')}`);
}

/** The complete OCI runtime spec for one sandbox. Pure: same inputs, same spec. */
export function buildSandboxSpec(spec: SandboxSpec, image: ImageConfig, options: { namespace?: string } = {}): OciSpec {
  validateSandboxSpec(spec);
  const args = [...image.entrypoint, ...image.cmd];
  if (args.length === 0) throw new SandboxSpecError(`Image ${spec.image} has neither an entrypoint nor a cmd to run`);
  const noCapabilities = { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] };
  const gvisor = spec.runtime === 'GVISOR';

  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: SANDBOX_UID, gid: SANDBOX_GID, additionalGids: [SANDBOX_GID], umask: 0o022 },
      args,
      env: mergeEnv(image.env, spec.env ?? {}),
      cwd: image.workingDir || '/',
      capabilities: noCapabilities,
      rlimits: [
        { type: 'RLIMIT_NOFILE', hard: NOFILE_LIMIT, soft: NOFILE_LIMIT },
        { type: 'RLIMIT_CORE', hard: 0, soft: 0 }, // no core dumps of untrusted code
        // Under runc, RLIMIT_NPROC would count every process of host uid 1000, all sandboxes included.
        ...(gvisor ? [{ type: 'RLIMIT_NPROC', hard: spec.pidsLimit, soft: spec.pidsLimit }] : []),
      ],
      noNewPrivileges: true,
      oomScoreAdj: SANDBOX_OOM_SCORE_ADJ,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: hostnameFor(spec.id),
    mounts: sandboxMounts(spec),
    annotations: { [SANDPOOL_LABELS.poolId]: spec.poolId, [SANDPOOL_LABELS.sessionId]: spec.id },
    linux: {
      // No user namespace: uid 1000 inside is uid 1000 on the host, which owns nothing there.
      // A new network namespace without path is empty; runc and runsc bring its loopback up.
      namespaces: ['pid', 'ipc', 'uts', 'mount', 'network', 'cgroup'].map((type) => ({ type })),
      resources: {
        devices: [{ allow: false, access: 'rwm' }, ...ALLOWED_DEVICES.map((device) => ({ allow: true, type: 'c', ...device, access: 'rwm' }))],
        // swap = memory + swap in the OCI spec, so equal values mean no swap at all.
        memory: { limit: spec.memoryMiB * MIB, swap: spec.memoryMiB * MIB, disableOOMKiller: false },
        cpu: {
          // Starting sandboxes run at a low weight, so a refill hardly slows the sessions in use;
          // SandboxRuntime.markReady gives them their pool's weight once they are ready.
          shares: startingCpuSharesFor(spec.cpuMillicores),
          quota: Math.max(1000, Math.round((spec.cpuMillicores * CPU_PERIOD_US) / 1000)),
          period: CPU_PERIOD_US,
        },
        pids: { limit: gvisor ? spec.pidsLimit * GVISOR_HOST_TASKS_PER_PROCESS + GVISOR_HOST_TASKS_BASE : spec.pidsLimit },
      },
      cgroupsPath: `/${options.namespace ?? 'sandpool'}/${spec.id}`,
      seccomp: defaultSeccompProfile(),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
}

/** Mounts in order: later ones may sit inside earlier ones (/run/sandpool inside /run). */
function sandboxMounts(spec: SandboxSpec): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=755', 'size=1m'] },
    { destination: AGENT_MOUNT_PATH, type: 'bind', source: spec.agentSocketDir, options: ['rbind', 'rw', 'nosuid', 'nodev', 'noexec'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', `size=${TMP_SIZE_MIB}m`] },
    {
      destination: DATA_PATH,
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'mode=0770', `uid=${SANDBOX_UID}`, `gid=${SANDBOX_GID}`, `size=${spec.dataSizeMiB}m`],
    },
  ];
}

/**
 * The image's environment, then the pool's (same name: the pool wins), with a PATH and a
 * writable HOME when the image sets none (the root filesystem is read-only).
 */
export function mergeEnv(imageEnv: readonly string[], extra: Readonly<Record<string, string>>): string[] {
  const merged = new Map<string, string>();
  for (const entry of imageEnv) {
    const separator = entry.indexOf('=');
    if (separator > 0) merged.set(entry.slice(0, separator), entry.slice(separator + 1));
  }
  for (const [name, value] of Object.entries(extra)) merged.set(name, value);
  if (!merged.has('PATH')) merged.set('PATH', DEFAULT_PATH.slice('PATH='.length));
  if (!merged.has('HOME')) merged.set('HOME', '/tmp');
  return [...merged].map(([name, value]) => `${name}=${value}`);
}

/** A valid hostname from the session id: lowercase letters, digits and dashes, at most 63. */
export function hostnameFor(id: string): string {
  const hostname = id
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 63)
    .replace(/^-+|-+$/g, '');
  return hostname || 'sandbox';
}

/** Reads entrypoint, cmd, env and working dir from an OCI/Docker image config blob. */
export function parseImageConfig(json: string): ImageConfig & { diffIds: string[] } {
  const parsed = JSON.parse(json) as {
    config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; WorkingDir?: string };
    rootfs?: { diff_ids?: string[] };
  };
  return {
    entrypoint: parsed.config?.Entrypoint ?? [],
    cmd: parsed.config?.Cmd ?? [],
    env: parsed.config?.Env ?? [],
    workingDir: parsed.config?.WorkingDir ?? '',
    diffIds: parsed.rootfs?.diff_ids ?? [],
  };
}
