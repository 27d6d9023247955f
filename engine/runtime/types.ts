// The narrow interface between the engine and whatever runs sandboxes. containerd on this host
// today; a Kubernetes driver (pods with a gVisor RuntimeClass) could implement it later.

export type IsolationRuntime = 'GVISOR' | 'RUNC_HARDENED';

/** Labels every Sandpool container carries, so the engine can rebuild its view after a crash. */
export const SANDPOOL_LABELS = {
  managed: 'io.sandpool.managed',
  poolId: 'io.sandpool.pool-id',
  sessionId: 'io.sandpool.session-id',
  /** The installation (database) that owns the sandbox; see the `installation` table. */
  installation: 'io.sandpool.installation',
} as const;

export type SandboxSpec = {
  /** The session id (`ses_…`); also the container id. */
  id: string;
  poolId: string;
  /** Image reference in containerd's store. */
  image: string;
  runtime: IsolationRuntime;
  cpuMillicores: number;
  memoryMiB: number;
  pidsLimit: number;
  /** Size limit of the writable /mnt/data. */
  dataSizeMiB: number;
  /** 'none': a network namespace with loopback only. */
  network: 'none';
  /** Host folder bind-mounted at /run/sandpool inside the sandbox; the agent listens on agent.sock there. */
  agentSocketDir: string;
  env?: Record<string, string>;
};

export type SandboxStatus = 'created' | 'running' | 'stopped' | 'unknown';

export type SandboxInfo = {
  id: string;
  poolId: string | null;
  sessionId: string | null;
  status: SandboxStatus;
  /** For a stopped sandbox: its main process's exit status (137: killed, usually out of memory). */
  exitStatus?: number;
};

export interface SandboxRuntime {
  /** Creates and starts the sandbox; resolves once its task is running. Cleans up after itself on failure. */
  create(spec: SandboxSpec): Promise<void>;
  /** Stops and deletes the sandbox, its task and its snapshot. Idempotent: an unknown id is success. */
  remove(id: string): Promise<void>;
  /** Every Sandpool-managed sandbox containerd knows of, whatever its state. */
  list(): Promise<SandboxInfo[]>;
  /** Gives a sandbox that finished starting its pool's CPU weight (it starts at a low one, see spec.ts). */
  markReady(id: string, cpuMillicores: number): Promise<void>;
}
