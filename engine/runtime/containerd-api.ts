// The slice of containerd's v1 gRPC API the sandbox driver uses, written by hand from the
// service definitions in containerd's `api/` folder (field numbers noted next to each message).
// containerd keeps these v1 services wire-compatible across 1.x and 2.x, which is the stability
// `ctr` does not promise. Every call carries the namespace in the `containerd-namespace` header.
import { GrpcUnixClient, type CallOptions } from './grpc';
import { ProtoReader, ProtoWriter } from './protobuf';

export type Descriptor = { mediaType: string; digest: string; size: number };
export type Mount = { type: string; source: string; target: string; options: string[] };
export type AnyMessage = { typeUrl: string; value: Buffer };
export type TaskStatus = 'unknown' | 'created' | 'running' | 'stopped' | 'paused' | 'pausing';
export type TaskProcess = { containerId: string; pid: number; status: TaskStatus; exitStatus: number };
export type ContainerRecord = {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: { name: string; options?: AnyMessage };
  spec?: AnyMessage;
  snapshotter: string;
  snapshotKey: string;
};
export type SnapshotInfo = { name: string; parent: string; kind: 'unknown' | 'view' | 'active' | 'committed'; labels: Record<string, string> };

const TASK_STATUS: readonly TaskStatus[] = ['unknown', 'created', 'running', 'stopped', 'paused', 'pausing'];
const SNAPSHOT_KIND: readonly SnapshotInfo['kind'][] = ['unknown', 'view', 'active', 'committed'];

/** Type URLs containerd's typeurl registry resolves (the shim decodes the runc options by it). */
export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
export const RUNC_OPTIONS_TYPE_URL = 'containerd.runc.v1.Options';

export class ContainerdClient {
  private readonly grpc: GrpcUnixClient;

  constructor(
    readonly socketPath: string,
    readonly namespace: string,
  ) {
    this.grpc = new GrpcUnixClient(socketPath, { 'containerd-namespace': namespace });
  }

  close(): void {
    this.grpc.close();
  }

  // --- Images and content ---------------------------------------------------------------

  /** images.v1 Get: GetImageRequest{name=1} → GetImageResponse{image=1 Image{name=1, target=3}}. */
  async getImage(name: string): Promise<{ name: string; target: Descriptor }> {
    const reply = await this.unary('/containerd.services.images.v1.Images/Get', new ProtoWriter().string(1, name));
    const image = reply.message(1);
    const target = image?.message(3);
    if (!image || !target) throw new Error(`containerd returned no image record for ${name}`);
    return { name: image.string(1), target: readDescriptor(target) };
  }

  /** content.v1 Read (server streaming): ReadContentRequest{digest=1} → ReadContentResponse{offset=1, data=2}*. */
  async readContent(digest: string): Promise<Buffer> {
    const messages = await this.grpc.serverStream('/containerd.services.content.v1.Content/Read', new ProtoWriter().string(1, digest).finish());
    const parts = messages.map((message) => new ProtoReader(message)).map((reply) => ({ offset: reply.uint(1), data: reply.bytes(2) }));
    return Buffer.concat(parts.sort((a, b) => a.offset - b.offset).map((part) => part.data));
  }

  // --- Snapshots --------------------------------------------------------------------------

  /** snapshots.v1 Prepare: {snapshotter=1, key=2, parent=3, labels=4} → {mounts=1}. */
  async prepareSnapshot(snapshotter: string, key: string, parent: string, labels: Record<string, string> = {}): Promise<Mount[]> {
    const request = new ProtoWriter().string(1, snapshotter).string(2, key).string(3, parent).map(4, labels);
    const reply = await this.unary('/containerd.services.snapshots.v1.Snapshots/Prepare', request);
    return reply.messages(1).map(readMount);
  }

  /** snapshots.v1 Stat: {snapshotter=1, key=2} → {info=1 Info{name=1, parent=2, kind=3, labels=6}}. */
  async statSnapshot(snapshotter: string, key: string): Promise<SnapshotInfo> {
    const reply = await this.unary('/containerd.services.snapshots.v1.Snapshots/Stat', new ProtoWriter().string(1, snapshotter).string(2, key));
    return readSnapshotInfo(reply.message(1) ?? new ProtoReader(Buffer.alloc(0)));
  }

  /** snapshots.v1 Remove: {snapshotter=1, key=2} → Empty. */
  async removeSnapshot(snapshotter: string, key: string): Promise<void> {
    await this.unary('/containerd.services.snapshots.v1.Snapshots/Remove', new ProtoWriter().string(1, snapshotter).string(2, key));
  }

  /** snapshots.v1 List (server streaming): {snapshotter=1, filters=2} → {info=1}*. */
  async listSnapshots(snapshotter: string, filters: string[] = []): Promise<SnapshotInfo[]> {
    const request = new ProtoWriter().string(1, snapshotter).strings(2, filters).finish();
    const messages = await this.grpc.serverStream('/containerd.services.snapshots.v1.Snapshots/List', request);
    return messages.flatMap((message) => new ProtoReader(message).messages(1).map(readSnapshotInfo));
  }

  // --- Containers (metadata only) ---------------------------------------------------------

  /** containers.v1 Create: {container=1 Container} → {container=1}. */
  async createContainer(container: ContainerRecord): Promise<void> {
    await this.unary('/containerd.services.containers.v1.Containers/Create', new ProtoWriter().message(1, writeContainer(container)));
  }

  /** containers.v1 Get: {id=1} → {container=1}. */
  async getContainer(id: string): Promise<ContainerRecord> {
    const reply = await this.unary('/containerd.services.containers.v1.Containers/Get', new ProtoWriter().string(1, id));
    return readContainer(reply.message(1) ?? new ProtoReader(Buffer.alloc(0)));
  }

  /** containers.v1 List: {filters=1 (OR-ed)} → {containers=1}. */
  async listContainers(filters: string[] = []): Promise<ContainerRecord[]> {
    const reply = await this.unary('/containerd.services.containers.v1.Containers/List', new ProtoWriter().strings(1, filters));
    return reply.messages(1).map(readContainer);
  }

  /** containers.v1 Delete: {id=1} → Empty. */
  async deleteContainer(id: string): Promise<void> {
    await this.unary('/containerd.services.containers.v1.Containers/Delete', new ProtoWriter().string(1, id));
  }

  // --- Tasks (the running side, through the shim) -----------------------------------------

  /**
   * tasks.v1 Create: {container_id=1, rootfs=3, stdin=4, stdout=5, stderr=6, terminal=7, options=9}
   * → {container_id=1, pid=2}. Empty stdio paths mean /dev/null in the shim.
   */
  async createTask(containerId: string, rootfs: Mount[], options?: AnyMessage, call?: CallOptions): Promise<number> {
    const request = new ProtoWriter()
      .string(1, containerId)
      .messages(3, rootfs.map(writeMount))
      .message(9, options && writeAny(options));
    const reply = await this.unary('/containerd.services.tasks.v1.Tasks/Create', request, call);
    return reply.uint(2);
  }

  /** tasks.v1 Start: {container_id=1, exec_id=2} → {pid=1}. */
  async startTask(containerId: string, call?: CallOptions): Promise<number> {
    const reply = await this.unary('/containerd.services.tasks.v1.Tasks/Start', new ProtoWriter().string(1, containerId), call);
    return reply.uint(1);
  }

  /** tasks.v1 Get: {container_id=1, exec_id=2} → {process=1 Process}. */
  async getTask(containerId: string): Promise<TaskProcess> {
    const reply = await this.unary('/containerd.services.tasks.v1.Tasks/Get', new ProtoWriter().string(1, containerId));
    return readProcess(reply.message(1) ?? new ProtoReader(Buffer.alloc(0)));
  }

  /** tasks.v1 List: {filter=1} → {tasks=1 Process}. */
  async listTasks(): Promise<TaskProcess[]> {
    const reply = await this.unary('/containerd.services.tasks.v1.Tasks/List', new ProtoWriter());
    return reply.messages(1).map(readProcess);
  }

  /** tasks.v1 Kill: {container_id=1, exec_id=2, signal=3, all=4} → Empty. */
  async killTask(containerId: string, signal: number, all = false): Promise<void> {
    await this.unary('/containerd.services.tasks.v1.Tasks/Kill', new ProtoWriter().string(1, containerId).uint(3, signal).bool(4, all));
  }

  /** tasks.v1 Wait: {container_id=1, exec_id=2} → {exit_status=1, exited_at=2}; blocks until exit. */
  async waitTask(containerId: string, timeoutMs: number): Promise<number> {
    const reply = await this.unary('/containerd.services.tasks.v1.Tasks/Wait', new ProtoWriter().string(1, containerId), { timeoutMs });
    return reply.uint(1);
  }

  /** tasks.v1 Delete: {container_id=1} → DeleteResponse{id=1, pid=2, exit_status=3}. The shim unmounts the rootfs. */
  async deleteTask(containerId: string): Promise<number> {
    const reply = await this.unary('/containerd.services.tasks.v1.Tasks/Delete', new ProtoWriter().string(1, containerId));
    return reply.uint(3);
  }

  private async unary(method: string, request: ProtoWriter, call?: CallOptions): Promise<ProtoReader> {
    return new ProtoReader(await this.grpc.unary(method, request.finish(), call));
  }
}

// --- Message codecs ----------------------------------------------------------------------

/** types.Descriptor{media_type=1, digest=2, size=3, annotations=5}. */
function readDescriptor(message: ProtoReader): Descriptor {
  return { mediaType: message.string(1), digest: message.string(2), size: message.uint(3) };
}

/** types.Mount{type=1, source=2, target=3, options=4}. */
function readMount(message: ProtoReader): Mount {
  return { type: message.string(1), source: message.string(2), target: message.string(3), options: message.strings(4) };
}

function writeMount(mount: Mount): ProtoWriter {
  return new ProtoWriter().string(1, mount.type).string(2, mount.source).string(3, mount.target).strings(4, mount.options);
}

/** google.protobuf.Any{type_url=1, value=2}. */
function writeAny(any: AnyMessage): ProtoWriter {
  return new ProtoWriter().string(1, any.typeUrl).bytes(2, any.value);
}

function readAny(message: ProtoReader | undefined): AnyMessage | undefined {
  return message && { typeUrl: message.string(1), value: message.bytes(2) };
}

/** Container{id=1, labels=2, image=3, runtime=4 {name=1, options=2}, spec=5, snapshotter=6, snapshot_key=7}. */
function writeContainer(container: ContainerRecord): ProtoWriter {
  const runtime = new ProtoWriter().string(1, container.runtime.name).message(2, container.runtime.options && writeAny(container.runtime.options));
  return new ProtoWriter()
    .string(1, container.id)
    .map(2, container.labels)
    .string(3, container.image)
    .message(4, runtime)
    .message(5, container.spec && writeAny(container.spec))
    .string(6, container.snapshotter)
    .string(7, container.snapshotKey);
}

function readContainer(message: ProtoReader): ContainerRecord {
  const runtime = message.message(4);
  return {
    id: message.string(1),
    labels: message.map(2),
    image: message.string(3),
    runtime: { name: runtime?.string(1) ?? '', options: readAny(runtime?.message(2)) },
    spec: readAny(message.message(5)),
    snapshotter: message.string(6),
    snapshotKey: message.string(7),
  };
}

/** types.Process{container_id=1, id=2, pid=3, status=4, exit_status=9}. */
function readProcess(message: ProtoReader): TaskProcess {
  return {
    containerId: message.string(1),
    pid: message.uint(3),
    status: TASK_STATUS[message.uint(4)] ?? 'unknown',
    exitStatus: message.uint(9),
  };
}

/** snapshots.v1 Info{name=1, parent=2, kind=3, labels=6}. */
function readSnapshotInfo(message: ProtoReader): SnapshotInfo {
  return { name: message.string(1), parent: message.string(2), kind: SNAPSHOT_KIND[message.uint(3)] ?? 'unknown', labels: message.map(6) };
}

/** containerd.runc.v1.Options{binary_name=6, root=7}: what the runc shim runs instead of `runc`. */
export function runcOptions(options: { binaryName?: string; root?: string }): AnyMessage {
  return { typeUrl: RUNC_OPTIONS_TYPE_URL, value: new ProtoWriter().string(6, options.binaryName).string(7, options.root).finish() };
}
