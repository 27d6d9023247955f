// The engine's configuration comes from environment variables, validated once at boot so a
// typo fails immediately with the variable's name instead of deep inside a request.
import { z } from 'zod';
import { CONTAINERD_SOCKET } from '../cli/provision/containerd';

const postgresUrl = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required (e.g. postgresql://user:password@127.0.0.1:5432/sandpool)' : 'must be a string') })
  .refine(isPostgresUrl, { message: 'must be a postgres:// or postgresql:// URL' });

const engineEnvSchema = z.object({
  DATABASE_URL: postgresUrl,
  ENGINE_HOST: z.string().min(1).default('127.0.0.1'),
  ENGINE_PORT: z.coerce
    .number({ error: 'must be a port number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must be between 0 and 65535' })
    .max(65535, { error: 'must be between 0 and 65535' })
    .default(3100),
  CONTAINERD_SOCKET: z.string().min(1).default(CONTAINERD_SOCKET),
  /** Host folder for the sessions' agent sockets (a tmpfs under /run: gone after a reboot, like the sandboxes). */
  SANDPOOL_RUN_DIR: z.string().min(1).default('/run/sandpool'),
  /** The code-interpreter image to run; `npm start` builds it and passes its reference. */
  SANDPOOL_IMAGE: z.string().min(1).optional(),
  SANDBOX_PIDS_LIMIT: z.coerce.number().int().min(16).max(4096).default(256),
  // /mnt/data is a tmpfs: what is written there counts against the session's memory limit.
  SANDBOX_DATA_MIB: z.coerce.number().int().min(16).max(16384).default(512),
  /**
   * Modules every kernel imports before its sandbox counts as ready ("none" for none; unset: the
   * image's default, numpy,pandas,matplotlib.pyplot). Each costs start-up CPU and idle memory in
   * every ready sandbox and saves that import's time in a session's first cell (docs/benchmarks.md).
   */
  SANDPOOL_PRELOAD: z
    .string()
    .regex(/^(none|[A-Za-z_][\w.]*(,[A-Za-z_][\w.]*)*)$/, { error: 'must be "none" or module names separated by commas, e.g. numpy,pandas' })
    .optional(),
});

export type EngineEnv = z.infer<typeof engineEnvSchema>;

/** A configuration problem, worded for the operator who has to fix the environment. */
export class EngineEnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid engine environment:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'EngineEnvError';
  }
}

export function loadEngineEnv(env: Record<string, string | undefined> = process.env): EngineEnv {
  // An empty variable (`ENGINE_PORT=`) means "not set", not port 0.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = engineEnvSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  throw new EngineEnvError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
}

function isPostgresUrl(value: string): boolean {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}
