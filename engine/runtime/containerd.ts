// SandboxRuntime on containerd: one container per sandbox in containerd namespace `sandpool`,
// run by the runc shim with either hardened runc or gVisor (runsc behind a wrapper). The engine
// talks to containerd's gRPC API directly (see docs/decisions/0005-containerd-driver.md): no
// process per call, typed NOT_FOUND errors, and full control of the OCI spec (spec.ts).
//
// Only pool refill (create), cooldown/delete (remove) and crash recovery (list) come here; the
// request hot path never touches containerd.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { existsSync, readdirSync, readFileSync, realpathSync, rmdirSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CONTAINERD_SOCKET } from '../../cli/provision/containerd';
import { ContainerdClient, GrpcCode, SPEC_TYPE_URL, isGrpcCode, runcOptions, type AnyMessage, type ContainerRecord, type Descriptor, type Mount } from './containerd-api';
import { runHostCommand } from './host-commands';
import { DEFAULT_RUNTIME_BIN_DIR, ensureRunscWrapper, forceDeleteRunscContainer, shimStateRoot } from './gvisor';
import { SANDBOX_GID, SANDBOX_UID, buildSandboxSpec, cpuSharesFor, parseImageConfig, validateSandboxSpec, type ImageConfig } from './spec';
import { SANDPOOL_LABELS, type IsolationRuntime, type SandboxInfo, type SandboxRuntime, type SandboxSpec, type SandboxStatus } from './types';

export { buildSandboxSpec } from './spec';

export const SANDPOOL_NAMESPACE = 'sandpool';
export const RUNC_SHIM = 'io.containerd.runc.v2';
/** Which isolation runtime a container was created with, so remove() knows how to clear it. */
export const RUNTIME_LABEL = 'io.sandpool.runtime';
/** Where the sandbox's agent socket folder is mounted on the host, so remove() can unmount it. */
const AGENT_SOCKET_DIR_LABEL = 'io.sandpool.agent-socket-dir';
const AGENT_SOCKET_DIR_BYTES = 256 * 1024;
const TASK_STATE_ROOT = '/run/containerd/io.containerd.runtime.v2.task';
const SIGKILL = 9;

export type ContainerdRuntimeOptions = {
  socket?: string;
  namespace?: string;
  snapshotter?: string;
  /** Where the gVisor wrapper script lives (a path containerd stores in each container record). */
  runtimeBinDir?: string;
  /**
   * Scopes this runtime to one Sandpool installation: its sandboxes carry the id as a label and
   * list() returns only those, so installations sharing containerd never see each other's.
   */
  installationId?: string;
  /** Extra runsc flags for gVisor sandboxes, e.g. `--platform=kvm` where /dev/kvm exists. */
  runscFlags?: string[];
  /** Bound on task create and start (runsc boots a kernel; a loaded host is slow). */
  startTimeoutMs?: number;
  /** How long to wait for a task to exit after SIGKILL. */
  stopTimeoutMs?: number;
};

/** A failed create or remove, naming the sandbox and the step, with containerd's or the runtime's own message. */
export class SandboxRuntimeError extends Error {
  constructor(
    readonly sandboxId: string,
    readonly step: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SandboxRuntimeError';
  }
}

type ResolvedImage = { config: ImageConfig; chainId: string };

const SANDBOXES_PARENT_CPU_SHARES = availableParallelism() * 1024;

/** Sets a cgroup's CPU weight in cgroup v1's shares, converted for v2 as runc and crun do. */
async function writeCpuShares(cgroup: string, shares: number): Promise<void> {
  const v1 = join('/sys/fs/cgroup/cpu', cgroup, 'cpu.shares');
  if (existsSync(v1)) await writeFile(v1, String(shares));
  else await writeFile(join('/sys/fs/cgroup', cgroup, 'cpu.weight'), String(1 + Math.round(((shares - 2) * 9999) / 262142)));
}

export class ContainerdRuntime implements SandboxRuntime {
  readonly namespace: string;
  readonly snapshotter: string;
  private readonly installationId: string | undefined;
  private readonly api: ContainerdClient;
  private readonly runtimeBinDir: string;
  private readonly runscFlags: string[];
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  /** Image configs by manifest-or-index digest: content-addressed, so they never go stale. */
  private readonly images = new Map<string, Promise<ResolvedImage>>();
  /** Serialises the id check and record creation of gVisor sandboxes (see createContainerRecord). */
  private gvisorRecords: Promise<void> = Promise.resolve();
  /** Removals in flight, so two callers removing one sandbox share the work. */
  private readonly removals = new Map<string, Promise<void>>();
  private sandboxesWeighted: Promise<void> | undefined;

  constructor(options: ContainerdRuntimeOptions = {}) {
    this.namespace = options.namespace ?? SANDPOOL_NAMESPACE;
    this.snapshotter = options.snapshotter ?? 'overlayfs';
    this.api = new ContainerdClient(options.socket ?? CONTAINERD_SOCKET, this.namespace);
    this.runtimeBinDir = options.runtimeBinDir ?? DEFAULT_RUNTIME_BIN_DIR;
    this.runscFlags = options.runscFlags ?? [];
    this.startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
    this.installationId = options.installationId;
  }

  /** Closes the connection to containerd; sandboxes keep running. */
  close(): void {
    this.api.close();
  }

  async create(spec: SandboxSpec): Promise<void> {
    // Everything that can be checked before touching containerd is, so that most mistakes
    // leave nothing to clean up.
    validateSandboxSpec(spec);
    const image = await this.resolveImage(spec);
    const ociSpec = buildSandboxSpec(spec, image.config, { namespace: this.namespace });
    const options = await this.runtimeOptions(spec.runtime);

    const container: ContainerRecord = {
      id: spec.id,
      labels: {
        [SANDPOOL_LABELS.managed]: 'true',
        [SANDPOOL_LABELS.poolId]: spec.poolId,
        [SANDPOOL_LABELS.sessionId]: spec.id,
        [RUNTIME_LABEL]: spec.runtime,
        [AGENT_SOCKET_DIR_LABEL]: spec.agentSocketDir,
        ...(this.installationId ? { [SANDPOOL_LABELS.installation]: this.installationId } : {}),
      },
      image: spec.image,
      runtime: { name: RUNC_SHIM, options },
      spec: { typeUrl: SPEC_TYPE_URL, value: Buffer.from(JSON.stringify(ociSpec)) },
      snapshotter: this.snapshotter,
      snapshotKey: spec.id,
    };
    // The container record goes first: it references the snapshot key, which protects the
    // snapshot from containerd's garbage collector from the moment it exists (no lease needed).
    try {
      await this.createContainerRecord(spec, container);
    } catch (error) {
      // ALREADY_EXISTS is somebody else's sandbox: report it and leave it alone.
      throw this.failure(spec, 'creating the container record', error);
    }

    let step = 'mounting the agent socket folder';
    try {
      // After the record, so that a crash from here on leaves a listed container whose
      // remove() finds the mount through its label.
      await mountAgentSocketDir(spec.agentSocketDir);
      step = 'preparing the root filesystem snapshot';
      const rootfs = await this.prepareSnapshot(spec.id, image.chainId);
      step = 'creating the task';
      await this.api.createTask(spec.id, rootfs, options, { timeoutMs: this.startTimeoutMs });
      step = 'starting the task';
      await this.api.startTask(spec.id, { timeoutMs: this.startTimeoutMs });
      step = 'checking that the task runs';
      const task = await this.api.getTask(spec.id);
      if (task.status !== 'running') throw new Error(`the sandbox's process is ${task.status} right after start (exit status ${task.exitStatus})`);
    } catch (error) {
      const failure = this.failure(spec, step, error);
      try {
        await this.remove(spec.id);
      } catch (cleanupError) {
        failure.message += `; cleaning up also failed (remove(${spec.id}) will retry): ${messageOf(cleanupError)}`;
      }
      throw failure;
    }
  }

  remove(id: string): Promise<void> {
    const inFlight = this.removals.get(id);
    if (inFlight) return inFlight;
    const removal = this.removeOnce(id).finally(() => this.removals.delete(id));
    this.removals.set(id, removal);
    return removal;
  }

  async markReady(id: string, cpuMillicores: number): Promise<void> {
    // Straight to the cgroup: containerd's Update would resend every resource (runc update
    // treats missing ones as "unlimited"), and only this one value changes.
    try {
      await writeCpuShares(join(this.namespace, id), cpuSharesFor(cpuMillicores));
    } catch (error) {
      throw new SandboxRuntimeError(id, 'raising its CPU weight', `Sandbox ${id}: setting its CPU weight failed: ${messageOf(error)}`, { cause: error });
    }
    this.sandboxesWeighted ??= this.weighAllSandboxes();
    await this.sandboxesWeighted;
  }

  /**
   * runc creates the namespace's parent cgroup with the default weight, that of one process:
   * when the host is busy, every sandbox together got as much CPU as the engine alone, or as
   * one Postgres backend (a burst of first `print(1)`s waited 15-300 ms for CPU in their agents).
   * Like kubelet's kubepods, the sandboxes as a whole weigh as much as all of the host's cores;
   * each sandbox is still held to its own quota. Once per engine: the parent exists by now.
   */
  private async weighAllSandboxes(): Promise<void> {
    await writeCpuShares(this.namespace, SANDBOXES_PARENT_CPU_SHARES).catch((error: unknown) => {
      console.error(`[engine] could not set the sandboxes' CPU weight (${messageOf(error)}); they share one process's weight when the host is busy`);
    });
  }

  async list(): Promise<SandboxInfo[]> {
    const filter = this.installationId
      ? `labels."${SANDPOOL_LABELS.managed}"==true,labels."${SANDPOOL_LABELS.installation}"==${this.installationId}`
      : `labels."${SANDPOOL_LABELS.managed}"==true`;
    const [containers, tasks] = await Promise.all([this.api.listContainers([filter]), this.api.listTasks()]);
    const taskById = new Map(tasks.map((task) => [task.containerId, task]));
    return containers.map((container) => {
      const task = taskById.get(container.id);
      const status = sandboxStatus(task?.status);
      return {
        id: container.id,
        poolId: container.labels[SANDPOOL_LABELS.poolId] ?? null,
        sessionId: container.labels[SANDPOOL_LABELS.sessionId] ?? null,
        status,
        ...(status === 'stopped' && task ? { exitStatus: task.exitStatus } : {}),
      };
    });
  }

  /**
   * Kill, wait, delete the task (the shim unmounts the rootfs), then the snapshot, then the
   * container record last: if the engine dies midway, what is left is still a listed container
   * that the next remove() finishes. "Not found" at any step means already done.
   */
  private async removeOnce(id: string): Promise<void> {
    let container: ContainerRecord | undefined;
    try {
      container = await ignoreNotFound(this.api.getContainer(id));
    } catch (error) {
      throw new SandboxRuntimeError(id, 'reading the container', `Removing sandbox ${id}: reading its container record failed: ${messageOf(error)}`, { cause: error });
    }
    const runtime = container?.labels[RUNTIME_LABEL] ?? (container && isRunscWrapper(container.runtime.options) ? 'GVISOR' : undefined);
    try {
      await this.stopAndDeleteTask(id, runtime === 'GVISOR');
    } catch (error) {
      throw new SandboxRuntimeError(id, 'deleting the task', `Removing sandbox ${id}: deleting its task failed: ${messageOf(error)}`, { cause: error });
    }
    try {
      removeCgroups(this.namespace, id);
    } catch (error) {
      throw new SandboxRuntimeError(id, 'removing cgroups', `Removing sandbox ${id}: ${messageOf(error)}`, { cause: error });
    }
    try {
      const socketDir = container?.labels[AGENT_SOCKET_DIR_LABEL];
      if (socketDir) await unmountAgentSocketDir(socketDir);
    } catch (error) {
      throw new SandboxRuntimeError(id, 'unmounting the agent socket folder', `Removing sandbox ${id}: ${messageOf(error)}`, { cause: error });
    }
    try {
      await ignoreNotFound(this.api.removeSnapshot(container?.snapshotter || this.snapshotter, container?.snapshotKey || id));
    } catch (error) {
      throw new SandboxRuntimeError(id, 'removing the snapshot', `Removing sandbox ${id}: removing its snapshot failed: ${messageOf(error)}`, { cause: error });
    }
    if (container) {
      try {
        await ignoreNotFound(this.api.deleteContainer(id));
      } catch (error) {
        throw new SandboxRuntimeError(id, 'deleting the container', `Removing sandbox ${id}: deleting the container record failed: ${messageOf(error)}`, { cause: error });
      }
    }
    await removeStaleBundle(this.namespace, id);
  }

  private async stopAndDeleteTask(id: string, gvisor: boolean): Promise<void> {
    const task = await ignoreNotFound(this.api.getTask(id));
    if (!task) return;
    let killError: unknown;
    if (task.status !== 'stopped') {
      // SIGKILL straight away: a sandbox holds nothing worth a graceful shutdown.
      try {
        await ignoreNotFound(this.api.killTask(id, SIGKILL));
        await ignoreNotFound(this.api.waitTask(id, this.stopTimeoutMs));
      } catch (error) {
        killError = error;
      }
    }
    try {
      await ignoreNotFound(this.api.deleteTask(id));
      return;
    } catch (error) {
      if (!gvisor) throw new Error(`${messageOf(error)}${killError ? ` (kill failed before: ${messageOf(killError)})` : ''}`);
    }
    // A runsc container whose start failed can sit in CREATED, where the shim can neither kill
    // nor delete it; runsc itself can, and then the shim's delete goes through.
    await forceDeleteRunscContainer(this.namespace, id);
    await ignoreNotFound(this.api.deleteTask(id));
  }

  /**
   * runsc (this release) resolves container ids by prefix: with sandboxes `a` and `ab` alive,
   * every runsc command for `a`, the shim's kill and delete included, fails as "ambiguous", and
   * the sandbox can be neither stopped nor removed. So a gVisor id must not be a prefix of
   * another live gVisor id, or the reverse. Fixed-length session ids never are; this check makes
   * any other caller fail at once instead of leaking. It runs with the record's creation under
   * one lock, so concurrent creates cannot slip past each other.
   */
  private async createContainerRecord(spec: SandboxSpec, container: ContainerRecord): Promise<void> {
    if (spec.runtime !== 'GVISOR') return this.api.createContainer(container);
    const previous = this.gvisorRecords;
    let release = () => {};
    this.gvisorRecords = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      const others = await this.api.listContainers([`labels."${RUNTIME_LABEL}"==GVISOR`]);
      const clash = others.map((other) => other.id).find((other) => other !== spec.id && (other.startsWith(spec.id) || spec.id.startsWith(other)));
      if (clash) {
        throw new Error(`gVisor sandbox ids must not be prefixes of one another (runsc matches ids by prefix), and ${spec.id} clashes with ${clash}; use fixed-length ids`);
      }
      await this.api.createContainer(container);
    } finally {
      release();
    }
  }

  private async prepareSnapshot(id: string, parent: string): Promise<Mount[]> {
    const labels = { [SANDPOOL_LABELS.managed]: 'true' };
    try {
      return await this.api.prepareSnapshot(this.snapshotter, id, parent, labels);
    } catch (error) {
      if (isGrpcCode(error, GrpcCode.ALREADY_EXISTS)) {
        // Left by a removal that died between deleting the snapshot's container and the
        // snapshot itself; no container owns it (ours was just created), so replace it.
        await ignoreNotFound(this.api.removeSnapshot(this.snapshotter, id));
        return this.api.prepareSnapshot(this.snapshotter, id, parent, labels);
      }
      if (isGrpcCode(error, GrpcCode.NOT_FOUND)) {
        throw new Error(`the image's layers are not unpacked for the ${this.snapshotter} snapshotter (import it with \`ctr -n ${this.namespace} images import\`, which unpacks): ${messageOf(error)}`);
      }
      throw error;
    }
  }

  private async runtimeOptions(runtime: IsolationRuntime): Promise<AnyMessage | undefined> {
    if (runtime === 'RUNC_HARDENED') return undefined; // the shim's defaults: runc, /run/containerd/runc
    return runcOptions({ binaryName: await ensureRunscWrapper(this.runtimeBinDir, this.runscFlags) });
  }

  private async resolveImage(spec: SandboxSpec): Promise<ResolvedImage> {
    let target: Descriptor;
    try {
      target = (await this.api.getImage(spec.image)).target;
    } catch (error) {
      const reason = isGrpcCode(error, GrpcCode.NOT_FOUND) ? `is not in containerd's store (namespace ${this.namespace}); import it first` : `could not be read: ${messageOf(error)}`;
      throw new SandboxRuntimeError(spec.id, 'resolving the image', `Sandbox ${spec.id}: image ${spec.image} ${reason}`, { cause: error });
    }
    let resolved = this.images.get(target.digest);
    if (!resolved) {
      resolved = this.readImage(target);
      this.images.set(target.digest, resolved);
      resolved.catch(() => this.images.delete(target.digest)); // retry next time, e.g. after a re-import
    }
    try {
      return await resolved;
    } catch (error) {
      throw new SandboxRuntimeError(spec.id, 'resolving the image', `Sandbox ${spec.id}: image ${spec.image}: ${messageOf(error)}`, { cause: error });
    }
  }

  private async readImage(target: Descriptor): Promise<ResolvedImage> {
    const manifest = await this.resolveManifest(target);
    const configDigest = manifest.config?.digest;
    if (!configDigest) throw new Error(`manifest ${target.digest} has no config`);
    const config = parseImageConfig((await this.api.readContent(configDigest)).toString('utf8'));
    if (config.diffIds.length === 0) throw new Error('the image has no layers');
    return { config, chainId: chainId(config.diffIds) };
  }

  /** Follows an index (multi-platform image) to this host's manifest. */
  private async resolveManifest(target: Descriptor): Promise<{ config?: { digest: string } }> {
    const document = JSON.parse((await this.api.readContent(target.digest)).toString('utf8')) as {
      manifests?: { digest: string; platform?: { os?: string; architecture?: string } }[];
      config?: { digest: string };
    };
    if (!document.manifests) return document;
    const architecture = { x64: 'amd64', arm64: 'arm64' }[process.arch as string] ?? process.arch;
    const chosen = document.manifests.find((entry) => entry.platform?.os === 'linux' && entry.platform.architecture === architecture);
    if (!chosen) throw new Error(`no linux/${architecture} manifest in index ${target.digest}`);
    return this.resolveManifest({ mediaType: '', digest: chosen.digest, size: 0 });
  }

  private failure(spec: SandboxSpec, step: string, error: unknown): SandboxRuntimeError {
    const runtime = spec.runtime === 'GVISOR' ? 'gVisor' : 'runc';
    return new SandboxRuntimeError(spec.id, step, `Sandbox ${spec.id} (${runtime}) could not be created: ${step} failed: ${messageOf(error)}`, { cause: error });
  }
}

/** The identity of a layer stack, which is also the key of its committed snapshot (OCI image spec). */
export function chainId(diffIds: readonly string[]): string {
  let chain = diffIds[0] ?? '';
  for (const diffId of diffIds.slice(1)) chain = `sha256:${createHash('sha256').update(`${chain} ${diffId}`).digest('hex')}`;
  return chain;
}

function sandboxStatus(status: string | undefined): SandboxStatus {
  if (status === undefined) return 'stopped'; // a container without a task runs nothing
  if (status === 'running' || status === 'created' || status === 'stopped') return status;
  return 'unknown';
}

/**
 * The host folder the agent listens in gets a tmpfs of its own: the sandbox user can write
 * there (it creates the socket), and a plain host folder would let hostile code fill the
 * host's /run. 256 KiB and 16 inodes hold a socket and nothing worth abusing. The folder must
 * exist before the task starts, since the spec bind-mounts it.
 */
async function mountAgentSocketDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  if (!isMountPoint(path)) {
    const options = `size=${AGENT_SOCKET_DIR_BYTES},nr_inodes=16,mode=0750,uid=${SANDBOX_UID},gid=${SANDBOX_GID},nosuid,nodev,noexec`;
    await runHostCommand('mount', ['-t', 'tmpfs', '-o', options, 'sandpool-agent', path]);
  }
}

/** Unmounts and removes the agent socket folder; nothing to do when it is already gone. */
async function unmountAgentSocketDir(path: string): Promise<void> {
  if (isMountPoint(path)) await runHostCommand('umount', [path]).catch((error: unknown) => { if (isMountPoint(path)) throw error; }); // a concurrent removal may unmount it first
  await rm(path, { recursive: true, force: true });
}

/**
 * The shim's bundle folder normally goes with its task; a task created while containerd was
 * restarting can leave it behind with nothing mounted in it. Once task and container are gone
 * nothing refers to it.
 */
async function removeStaleBundle(namespace: string, id: string): Promise<void> {
  const bundle = join(TASK_STATE_ROOT, namespace, id);
  if (!existsSync(bundle)) return;
  if (mountPoints().some((point) => point === bundle || point.startsWith(`${bundle}/`))) {
    throw new SandboxRuntimeError(id, 'removing the bundle', `Removing sandbox ${id}: its bundle ${bundle} still has mounts`);
  }
  await rm(bundle, { recursive: true, force: true });
}

function isMountPoint(path: string): boolean {
  let resolved: string;
  try {
    resolved = realpathSync(path); // mountinfo lists resolved paths
  } catch {
    return false;
  }
  return mountPoints().includes(resolved);
}

/**
 * runc removes its cgroups on delete, but a runsc sandbox that failed to boot leaves its (empty)
 * cgroup folders behind. Once the task is gone nothing may live there: rmdir succeeds on an empty
 * cgroup and fails with EBUSY when processes remain, which is then a leak worth reporting.
 */
function removeCgroups(namespace: string, id: string): void {
  for (const dir of cgroupDirs(namespace, id)) {
    try {
      rmdirSync(dir);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ENOENT') continue;
      throw new Error(`cgroup ${dir} could not be removed (${String(code)}${code === 'EBUSY' ? ': processes are still in it' : ''})`);
    }
  }
}

function isRunscWrapper(options: AnyMessage | undefined): boolean {
  return options !== undefined && options.value.includes('runsc');
}

async function ignoreNotFound<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (isGrpcCode(error, GrpcCode.NOT_FOUND)) return undefined;
    throw error;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// --- Leak inspection (tests and operations) ---------------------------------------------

export type Leftovers = {
  container: boolean;
  task: boolean;
  snapshot: boolean;
  /** Mount points of the sandbox's bundle (its rootfs) and its agent socket folder (named by its id), from /proc/self/mountinfo. */
  mounts: string[];
  /** The shim's bundle folder under /run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>. */
  bundle: boolean;
  /** runc's or runsc's own state for the id under /run/containerd/runc/<namespace>. */
  runtimeState: string[];
  /** cgroup folders /sys/fs/cgroup/<controller>/<namespace>/<id> left behind. */
  cgroups: string[];
};

/** Everything containerd, the shim or the runtime may still hold for a sandbox id. */
export async function findLeftovers(id: string, options: { socket?: string; namespace?: string; snapshotter?: string } = {}): Promise<Leftovers> {
  const namespace = options.namespace ?? SANDPOOL_NAMESPACE;
  const api = new ContainerdClient(options.socket ?? CONTAINERD_SOCKET, namespace);
  try {
    const [container, task, snapshot] = await Promise.all([
      ignoreNotFound(api.getContainer(id)),
      ignoreNotFound(api.getTask(id)),
      ignoreNotFound(api.statSnapshot(options.snapshotter ?? 'overlayfs', id)),
    ]);
    const bundle = join(TASK_STATE_ROOT, namespace, id);
    return {
      container: container !== undefined,
      task: task !== undefined,
      snapshot: snapshot !== undefined,
      mounts: mountPoints().filter((point) => point === bundle || point.startsWith(`${bundle}/`) || basename(point) === id),
      bundle: existsSync(bundle),
      runtimeState: runtimeStateEntries(namespace, id),
      cgroups: cgroupDirs(namespace, id),
    };
  } finally {
    api.close();
  }
}

export function hasLeftovers(leftovers: Leftovers): boolean {
  const { container, task, snapshot, mounts, bundle, runtimeState, cgroups } = leftovers;
  return container || task || snapshot || bundle || mounts.length > 0 || runtimeState.length > 0 || cgroups.length > 0;
}

function mountPoints(): string[] {
  // mountinfo field 5 is the mount point, with spaces and such octal-escaped.
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

function runtimeStateEntries(namespace: string, id: string): string[] {
  const root = shimStateRoot(namespace);
  if (!existsSync(root)) return [];
  // runc keeps <root>/<id>/; runsc keeps <container id>_sandbox:<sandbox id>.state and .lock.
  return readdirSync(root).filter((entry) => {
    if (entry === id) return true;
    const runsc = /^(.+)_sandbox:(.+)\.(?:state|lock)$/.exec(entry);
    return runsc !== null && (runsc[1] === id || runsc[2] === id);
  });
}

function cgroupDirs(namespace: string, id: string): string[] {
  const root = '/sys/fs/cgroup';
  const candidates = [join(root, namespace, id)];
  if (existsSync(root)) {
    for (const controller of readdirSync(root)) candidates.push(join(root, controller, namespace, id));
  }
  return candidates.filter((path) => existsSync(path));
}
