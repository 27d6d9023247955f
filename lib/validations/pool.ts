import { z } from 'zod';
import { POOL_NAME_PATTERN } from '../auth/scope';

// Ranges follow Azure's session pools (reference §6.3). Where Sandpool allows more, it says so:
// a cooldown down to 10 s (Azure: 300 s) makes development and tests practical.
export const POOL_LIMITS = {
  maxConcurrentSessions: { min: 1, max: 600, default: 10 },
  readySessionInstances: { min: 0, max: 100, default: 5 },
  cooldownPeriodInSeconds: { min: 10, max: 3600, default: 300 },
  cpu: { min: 0.25, max: 2, default: 0.5 },
  memoryGi: { min: 0.5, max: 4, default: 1 },
} as const;

/** Accepts enum values in any case, as Azure's services do ("pythonlts", "PythonLTS"). */
function caseInsensitive<T extends string>(values: readonly T[], message: string) {
  return z.preprocess(
    (value) => (typeof value === 'string' ? (values.find((candidate) => candidate.toLowerCase() === value.trim().toLowerCase()) ?? value) : value),
    z.enum(values as [T, ...T[]], { error: message }),
  );
}

// Messages name the allowed range but not the field: each caller shows them against its own
// name for the field (a form label, a CLI flag, an ARM property path).
function integer(limits: { min: number; max: number }) {
  const range = `must be a whole number from ${limits.min} to ${limits.max}.`;
  return z.coerce.number({ error: range }).int(range).min(limits.min, range).max(limits.max, range);
}

/** A resource amount in steps of 0.25 (Azure's CPU and memory granularity). */
function quarters(unit: string, limits: { min: number; max: number }) {
  const range = `must be from ${limits.min} to ${limits.max} ${unit}, in steps of 0.25.`;
  return z.coerce.number({ error: range }).min(limits.min, range).max(limits.max, range).multipleOf(0.25, range);
}

export const containerTypeSchema = caseInsensitive(['PythonLTS', 'NodeLTS', 'Shell', 'CustomContainer'] as const, 'containerType must be PythonLTS, NodeLTS, Shell or CustomContainer.').refine(
  (value) => value === 'PythonLTS',
  'Only PythonLTS (code interpreter) pools are supported so far; NodeLTS, Shell and CustomContainer are planned.',
);

export const isolationSchema = caseInsensitive(['gVisor', 'runc'] as const, 'isolation must be gVisor (the default, strongest) or runc (hardened).');

const poolSettings = {
  containerType: containerTypeSchema.default('PythonLTS'),
  isolation: isolationSchema.default('gVisor'),
  maxConcurrentSessions: integer(POOL_LIMITS.maxConcurrentSessions).default(POOL_LIMITS.maxConcurrentSessions.default),
  readySessionInstances: integer(POOL_LIMITS.readySessionInstances).default(POOL_LIMITS.readySessionInstances.default),
  cooldownPeriodInSeconds: integer(POOL_LIMITS.cooldownPeriodInSeconds).default(POOL_LIMITS.cooldownPeriodInSeconds.default),
  networkStatus: caseInsensitive(['EgressDisabled', 'EgressEnabled'] as const, 'networkStatus must be EgressDisabled or EgressEnabled.')
    .refine((value) => value === 'EgressDisabled', 'EgressEnabled is not supported yet: sessions have no network. Use EgressDisabled.')
    .default('EgressDisabled'),
  cpu: quarters('cores', POOL_LIMITS.cpu).default(POOL_LIMITS.cpu.default),
  memoryGi: quarters('GiB', POOL_LIMITS.memoryGi).default(POOL_LIMITS.memoryGi.default),
};

const readyWithinCap = {
  check: (pool: { readySessionInstances: number; maxConcurrentSessions: number }) => pool.readySessionInstances <= pool.maxConcurrentSessions,
  issue: { path: ['readySessionInstances'], message: 'readySessionInstances cannot exceed maxConcurrentSessions.' },
};

export const createPoolSchema = z
  .object({
    name: z
      .string({ error: 'Enter a pool name.' })
      .trim()
      .regex(POOL_NAME_PATTERN, 'Pool names are 3–63 lowercase letters and digits, starting with a letter (Azure\'s rule).'),
    ...poolSettings,
  })
  .refine(readyWithinCap.check, readyWithinCap.issue);
export type CreatePoolInput = z.infer<typeof createPoolSchema>;

/** A change: any subset of the settings. containerType cannot change, as in Azure. */
export const updatePoolSchema = z.object(
  Object.fromEntries(Object.entries(poolSettings).map(([key, schema]) => [key, (schema as z.ZodDefault<z.ZodType>).unwrap().optional()])) as {
    [K in keyof typeof poolSettings]: z.ZodOptional<ReturnType<(typeof poolSettings)[K]['unwrap']>>;
  },
);
export type UpdatePoolInput = z.infer<typeof updatePoolSchema>;

export const poolSettingsSchema = z.object(poolSettings).refine(readyWithinCap.check, readyWithinCap.issue);

export type PoolSettings = z.infer<typeof poolSettingsSchema>;

/** Every setting at its default, taken from the schema so the defaults live in one place. */
export const POOL_DEFAULTS: PoolSettings = poolSettingsSchema.parse({});
