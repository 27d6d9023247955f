// The slice of containerd's v1 gRPC API the sandbox driver uses. The transport is @grpc/grpc-js
// on containerd's Unix socket; messages are encoded by protobufjs from our own definitions in
// ./proto/ (written from the services containerd documents in its repository's api/ folder,
// with containerd's field numbers and types). containerd keeps these v1 services
// wire-compatible across 1.x and 2.x, which is the stability `ctr` does not promise. Every call
// carries the namespace in the `containerd-namespace` metadata header and a deadline.
import { fileURLToPath } from 'node:url';
import { Client, Metadata, credentials, status, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

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
export type CallOptions = { timeoutMs?: number };

const TASK_STATUS: readonly TaskStatus[] = ['unknown', 'created', 'running', 'stopped', 'paused', 'pausing'];
const SNAPSHOT_KIND: readonly SnapshotInfo['kind'][] = ['unknown', 'view', 'active', 'committed'];

/** Type URLs containerd's typeurl registry resolves (the shim decodes the runc options by it). */
export const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
export const RUNC_OPTIONS_TYPE_URL = 'containerd.runc.v1.Options';

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html), as grpc-js names them. */
export const GrpcCode = status;

/**
 * A failed call, with its gRPC status code and containerd's own message (e.g. `container "x":
 * not found`), or grpc-js's when the call did not reach containerd.
 */
export class ContainerdApiError extends Error {
  constructor(
    readonly method: string,
    readonly code: status,
    readonly details: string,
    options: { message?: string; cause?: unknown } = {},
  ) {
    super(options.message ?? (details || `gRPC status ${code}`), { cause: options.cause });
    this.name = 'ContainerdApiError';
  }
}

export function isGrpcCode(error: unknown, code: status): boolean {
  return error instanceof ContainerdApiError && error.code === code;
}

// --- Schema ------------------------------------------------------------------------------

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));
const PROTO_FILES = ['version.proto', 'images.proto', 'content.proto', 'snapshots.proto', 'containers.proto', 'tasks.proto', 'runc.proto'];
/** How decoded messages look: 64-bit integers as numbers, enums by name, absent fields as their defaults. */
const DECODED: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true };

let schema: protobuf.Root | undefined;

/** Our .proto files, parsed once on first use. The google/protobuf imports are protobufjs's bundled copies. */
function loadSchema(): protobuf.Root {
  if (schema) return schema;
  const root = new protobuf.Root();
  // Imports between our files are relative to the proto folder, as with `protoc -I proto`.
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : `${PROTO_DIR}${target}`);
  // keepCase: field names as in the .proto files (and in protobufjs's bundled google types).
  root.loadSync(
    PROTO_FILES.map((file) => `${PROTO_DIR}${file}`),
    { keepCase: true },
  );
  root.resolveAll();
  schema = root;
  return root;
}

function encode(type: protobuf.Type, value: object): Buffer {
  assertKnownFields(type, value as Record<string, unknown>);
  const bytes = type.encode(type.fromObject(value as Record<string, unknown>)).finish();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** protobufjs drops keys it does not know, so a misspelt field would vanish without a word: refuse it. */
function assertKnownFields(type: protobuf.Type, value: Record<string, unknown>): void {
  for (const [key, fieldValue] of Object.entries(value)) {
    const field = type.fields[key];
    if (!field) throw new Error(`${type.fullName.slice(1)} has no field ${key} (see engine/runtime/proto)`);
    if (fieldValue == null || field.map || !(field.resolvedType instanceof protobuf.Type)) continue;
    const items = field.repeated ? (fieldValue as Record<string, unknown>[]) : [fieldValue as Record<string, unknown>];
    for (const item of items) assertKnownFields(field.resolvedType, item);
  }
}

type Method = { path: string; serialize: (value: object) => Buffer; deserialize: (bytes: Buffer) => unknown };
const methods = new Map<string, Method>();

/** `package.Service/Method` → the gRPC path and the request and response codecs. */
function method(name: string): Method {
  let found = methods.get(name);
  if (found) return found;
  const [serviceName = '', methodName = ''] = name.split('/');
  const definition = loadSchema().lookupService(serviceName).methods[methodName];
  if (!definition?.resolvedRequestType || !definition.resolvedResponseType) throw new Error(`${name} is not in engine/runtime/proto`);
  const requestType = definition.resolvedRequestType;
  const responseType = definition.resolvedResponseType;
  found = {
    path: `/${name}`,
    serialize: (value) => encode(requestType, value),
    deserialize: (bytes) => responseType.toObject(responseType.decode(bytes), DECODED),
  };
  methods.set(name, found);
  return found;
}

// --- Message shapes, as protobufjs encodes and decodes them (field names as in the .proto) ---

type AnyPb = { type_url: string; value: Buffer };
type DescriptorPb = { media_type: string; digest: string; size: number };
type ContainerPb = {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: { name: string; options?: AnyPb | null } | null;
  spec?: AnyPb | null;
  snapshotter: string;
  snapshot_key: string;
};
type ProcessPb = { container_id: string; id: string; pid: number; status: string; exit_status: number };
type SnapshotInfoPb = { name: string; parent: string; kind: string; labels: Record<string, string> };

/** Request and response of each unary call we make. */
type UnaryMethods = {
  'containerd.services.version.v1.Version/Version': [Record<string, never>, { version: string; revision: string }];
  'containerd.services.images.v1.Images/Get': [{ name: string }, { image: { name: string; target: DescriptorPb | null } | null }];
  'containerd.services.snapshots.v1.Snapshots/Prepare': [{ snapshotter: string; key: string; parent: string; labels: Record<string, string> }, { mounts: Mount[] }];
  'containerd.services.snapshots.v1.Snapshots/Stat': [{ snapshotter: string; key: string }, { info: SnapshotInfoPb | null }];
  'containerd.services.snapshots.v1.Snapshots/Remove': [{ snapshotter: string; key: string }, object];
  'containerd.services.containers.v1.Containers/Create': [{ container: ContainerPb }, { container: ContainerPb | null }];
  'containerd.services.containers.v1.Containers/Get': [{ id: string }, { container: ContainerPb | null }];
  'containerd.services.containers.v1.Containers/List': [{ filters: string[] }, { containers: ContainerPb[] }];
  'containerd.services.containers.v1.Containers/Delete': [{ id: string }, object];
  'containerd.services.tasks.v1.Tasks/Create': [{ container_id: string; rootfs: Mount[]; options?: AnyPb }, { container_id: string; pid: number }];
  'containerd.services.tasks.v1.Tasks/Start': [{ container_id: string }, { pid: number }];
  'containerd.services.tasks.v1.Tasks/Get': [{ container_id: string }, { process: ProcessPb | null }];
  'containerd.services.tasks.v1.Tasks/List': [Record<string, never>, { tasks: ProcessPb[] }];
  'containerd.services.tasks.v1.Tasks/Kill': [{ container_id: string; signal: number; all: boolean }, object];
  'containerd.services.tasks.v1.Tasks/Wait': [{ container_id: string }, { exit_status: number }];
  'containerd.services.tasks.v1.Tasks/Delete': [{ container_id: string }, { id: string; pid: number; exit_status: number }];
};

/** Request and response (each message of the stream) of each server-streaming call we make. */
type StreamMethods = {
  'containerd.services.content.v1.Content/Read': [{ digest: string }, { offset: number; data: Buffer }];
  'containerd.services.snapshots.v1.Snapshots/List': [{ snapshotter: string; filters: string[] }, { info: SnapshotInfoPb[] }];
};

// --- Client ------------------------------------------------------------------------------

export type ContainerdClientOptions = {
  /** Deadline of a call that names none (default 30 s). */
  timeoutMs?: number;
  /**
   * A connection of this client's own instead of one shared with other clients of the same
   * socket: for liveness checks, which must not reuse a connection that is backing off.
   */
  ownConnection?: boolean;
};

const CHANNEL_OPTIONS: ChannelOptions = {
  // containerd's own client allows 16 MiB; Containers/List carries every record's spec.
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  // A local daemon that restarts is back within seconds: retry connecting soon, not after minutes.
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 3_000,
  'grpc.enable_channelz': 0,
};

export class ContainerdClient {
  private readonly client: Client;
  private readonly timeoutMs: number;

  /** `namespace` travels in the `containerd-namespace` header; '' sends none (for Version). */
  constructor(
    readonly socketPath: string,
    readonly namespace: string,
    options: ContainerdClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.client = new Client(`unix:${socketPath}`, credentials.createInsecure(), {
      ...CHANNEL_OPTIONS,
      ...(options.ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {}),
    });
  }

  /** Closes the connection; calls in flight fail with CANCELLED. */
  close(): void {
    this.client.close();
  }

  /** version.v1 Version: what `ctr version` reports as the server's version. */
  async version(call?: CallOptions): Promise<{ version: string; revision: string }> {
    return this.unary('containerd.services.version.v1.Version/Version', {}, call);
  }

  // --- Images and content ---------------------------------------------------------------

  async getImage(name: string): Promise<{ name: string; target: Descriptor }> {
    const { image } = await this.unary('containerd.services.images.v1.Images/Get', { name });
    if (!image?.target) throw new Error(`containerd returned no image record for ${name}`);
    return { name: image.name, target: { mediaType: image.target.media_type, digest: image.target.digest, size: image.target.size } };
  }

  /** The whole blob, which containerd sends in one or more pieces. */
  async readContent(digest: string): Promise<Buffer> {
    const parts = await this.serverStream('containerd.services.content.v1.Content/Read', { digest });
    return Buffer.concat(parts.sort((a, b) => a.offset - b.offset).map((part) => part.data));
  }

  // --- Snapshots --------------------------------------------------------------------------

  async prepareSnapshot(snapshotter: string, key: string, parent: string, labels: Record<string, string> = {}): Promise<Mount[]> {
    const { mounts } = await this.unary('containerd.services.snapshots.v1.Snapshots/Prepare', { snapshotter, key, parent, labels });
    return mounts.map(readMount);
  }

  async statSnapshot(snapshotter: string, key: string): Promise<SnapshotInfo> {
    const { info } = await this.unary('containerd.services.snapshots.v1.Snapshots/Stat', { snapshotter, key });
    return readSnapshotInfo(info);
  }

  async removeSnapshot(snapshotter: string, key: string): Promise<void> {
    await this.unary('containerd.services.snapshots.v1.Snapshots/Remove', { snapshotter, key });
  }

  async listSnapshots(snapshotter: string, filters: string[] = []): Promise<SnapshotInfo[]> {
    const replies = await this.serverStream('containerd.services.snapshots.v1.Snapshots/List', { snapshotter, filters });
    return replies.flatMap((reply) => reply.info.map(readSnapshotInfo));
  }

  // --- Containers (metadata only) ---------------------------------------------------------

  async createContainer(container: ContainerRecord): Promise<void> {
    await this.unary('containerd.services.containers.v1.Containers/Create', { container: writeContainer(container) });
  }

  async getContainer(id: string): Promise<ContainerRecord> {
    const { container } = await this.unary('containerd.services.containers.v1.Containers/Get', { id });
    return readContainer(container);
  }

  /** Containers matching any of the filters (containerd's filter syntax), or all. */
  async listContainers(filters: string[] = []): Promise<ContainerRecord[]> {
    const { containers } = await this.unary('containerd.services.containers.v1.Containers/List', { filters });
    return containers.map(readContainer);
  }

  async deleteContainer(id: string): Promise<void> {
    await this.unary('containerd.services.containers.v1.Containers/Delete', { id });
  }

  // --- Tasks (the running side, through the shim) -----------------------------------------

  /** Returns the pid. No stdio paths: the shim connects the process to /dev/null. */
  async createTask(containerId: string, rootfs: Mount[], options?: AnyMessage, call?: CallOptions): Promise<number> {
    const reply = await this.unary('containerd.services.tasks.v1.Tasks/Create', { container_id: containerId, rootfs, ...(options ? { options: writeAny(options) } : {}) }, call);
    return reply.pid;
  }

  async startTask(containerId: string, call?: CallOptions): Promise<number> {
    return (await this.unary('containerd.services.tasks.v1.Tasks/Start', { container_id: containerId }, call)).pid;
  }

  async getTask(containerId: string): Promise<TaskProcess> {
    const { process } = await this.unary('containerd.services.tasks.v1.Tasks/Get', { container_id: containerId });
    return readProcess(process);
  }

  async listTasks(): Promise<TaskProcess[]> {
    const { tasks } = await this.unary('containerd.services.tasks.v1.Tasks/List', {});
    return tasks.map(readProcess);
  }

  async killTask(containerId: string, signal: number, all = false): Promise<void> {
    await this.unary('containerd.services.tasks.v1.Tasks/Kill', { container_id: containerId, signal, all });
  }

  /** Blocks until the task exits; returns its exit status. */
  async waitTask(containerId: string, timeoutMs: number): Promise<number> {
    return (await this.unary('containerd.services.tasks.v1.Tasks/Wait', { container_id: containerId }, { timeoutMs })).exit_status;
  }

  /** Deletes a stopped task (the shim unmounts the rootfs); returns its exit status. */
  async deleteTask(containerId: string): Promise<number> {
    return (await this.unary('containerd.services.tasks.v1.Tasks/Delete', { container_id: containerId })).exit_status;
  }

  // --- Calls ------------------------------------------------------------------------------

  private unary<M extends keyof UnaryMethods>(name: M, request: UnaryMethods[M][0], call?: CallOptions): Promise<UnaryMethods[M][1]> {
    const { path, serialize, deserialize } = method(name);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(path, serialize, deserialize, request, this.metadata(), this.callOptions(call), (error, reply) => {
        if (error) reject(this.failure(name, error));
        else resolve(reply as UnaryMethods[M][1]);
      });
    });
  }

  /** Collects every message of the stream until it ends. */
  private serverStream<M extends keyof StreamMethods>(name: M, request: StreamMethods[M][0], call?: CallOptions): Promise<StreamMethods[M][1][]> {
    const { path, serialize, deserialize } = method(name);
    return new Promise((resolve, reject) => {
      const replies: StreamMethods[M][1][] = [];
      const stream = this.client.makeServerStreamRequest(path, serialize, deserialize, request, this.metadata(), this.callOptions(call));
      stream.on('data', (reply: StreamMethods[M][1]) => replies.push(reply));
      // A failed call emits 'error' (and then 'end'); 'end' alone comes after the last message.
      stream.on('error', (error: ServiceError) => reject(this.failure(name, error)));
      stream.on('end', () => resolve(replies));
    });
  }

  private metadata(): Metadata {
    const metadata = new Metadata();
    if (this.namespace) metadata.set('containerd-namespace', this.namespace);
    return metadata;
  }

  /** The deadline travels as grpc-timeout, so containerd gives up too rather than keep working. */
  private callOptions(call: CallOptions | undefined): { deadline: number } {
    return { deadline: Date.now() + (call?.timeoutMs ?? this.timeoutMs) };
  }

  private failure(name: string, error: ServiceError): ContainerdApiError {
    // grpc-js ends a connect failure with an empty "Resolution note: " when there is nothing to add.
    const details = (error.details || error.message).replace(/\s*Resolution note:\s*$/, '');
    const message = error.code === status.UNAVAILABLE ? `containerd is not reachable on ${this.socketPath}: ${details}` : details;
    return new ContainerdApiError(name, error.code, details, { message, cause: error });
  }
}

// --- Conversions -------------------------------------------------------------------------

function readMount(mount: Mount): Mount {
  return { type: mount.type, source: mount.source, target: mount.target, options: mount.options };
}

function writeAny(any: AnyMessage): AnyPb {
  return { type_url: any.typeUrl, value: any.value };
}

function readAny(any: AnyPb | null | undefined): AnyMessage | undefined {
  return any ? { typeUrl: any.type_url, value: Buffer.from(any.value) } : undefined;
}

function writeContainer(container: ContainerRecord): ContainerPb {
  return {
    id: container.id,
    labels: container.labels,
    image: container.image,
    runtime: { name: container.runtime.name, options: container.runtime.options && writeAny(container.runtime.options) },
    spec: container.spec && writeAny(container.spec),
    snapshotter: container.snapshotter,
    snapshot_key: container.snapshotKey,
  };
}

function readContainer(container: ContainerPb | null): ContainerRecord {
  return {
    id: container?.id ?? '',
    labels: container?.labels ?? {},
    image: container?.image ?? '',
    runtime: { name: container?.runtime?.name ?? '', options: readAny(container?.runtime?.options) },
    spec: readAny(container?.spec),
    snapshotter: container?.snapshotter ?? '',
    snapshotKey: container?.snapshot_key ?? '',
  };
}

/** containerd 1.6 fills only `id` for a task (whose id is its container's), so fall back to it. */
function readProcess(process: ProcessPb | null): TaskProcess {
  return {
    containerId: process?.container_id || process?.id || '',
    pid: process?.pid ?? 0,
    status: enumValue(TASK_STATUS, process?.status),
    exitStatus: process?.exit_status ?? 0,
  };
}

function readSnapshotInfo(info: SnapshotInfoPb | null): SnapshotInfo {
  return { name: info?.name ?? '', parent: info?.parent ?? '', kind: enumValue(SNAPSHOT_KIND, info?.kind), labels: info?.labels ?? {} };
}

/** An enum decoded by name (RUNNING) as our lower-case value; a value newer than our .proto is 'unknown'. */
function enumValue<T extends string>(values: readonly T[], name: string | undefined): T {
  const value = String(name ?? '').toLowerCase();
  return values.find((candidate) => candidate === value) ?? values[0]!;
}

/** containerd.runc.v1.Options (runc.proto): what the runc shim runs instead of `runc`, and where its state lives. */
export function runcOptions(options: { binaryName?: string; root?: string }): AnyMessage {
  const type = loadSchema().lookupType(RUNC_OPTIONS_TYPE_URL);
  return { typeUrl: RUNC_OPTIONS_TYPE_URL, value: encode(type, { binary_name: options.binaryName, root: options.root }) };
}
