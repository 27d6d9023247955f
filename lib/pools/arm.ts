// The control plane in Azure Resource Manager's shape (`Microsoft.App/sessionPools`, reference
// §6): request paths, resource JSON in and out, and errors named by ARM property paths. Only
// the translation lives here; the pools service does the checking, the storing and the audit.
import { z } from 'zod';
import { env } from '../env';
import { AppError, type FieldErrors } from '../errors';
import type { PoolDto } from '../services/pools';
import { POOL_DEFAULTS, POOL_LIMITS, type PoolSettings } from '../validations/pool';
import { DEFAULT_RESOURCE_GROUP } from './endpoint';

const ARM_RESOURCE_TYPE = 'Microsoft.App/sessionPools';

/** Sandpool has no regions: every pool of an installation is in this one location. */
const ARM_LOCATION = 'local';

/**
 * Sandpool's own settings, which Azure's schema does not have. Azure tooling cannot know them,
 * so a PUT that leaves them out keeps their current values instead of resetting them.
 */
export const SANDPOOL_OWN_SETTINGS = ['isolation', 'cpu', 'memoryGi'] as const satisfies readonly (keyof PoolSettings)[];

// ---------------------------------------------------------------------------------------------
// Paths

/**
 * Where a pool lives in ARM's terms. Sandpool has one implicit subscription and resource group
 * per installation, so any values are accepted and mean that installation; they are echoed
 * back in `id` so tooling finds the resource where it put it.
 */
export type ArmScope = { subscriptionId: string; resourceGroup: string | null };

export type ArmTarget =
  | { kind: 'pool'; subscriptionId: string; resourceGroup: string; poolName: string }
  | { kind: 'pools'; subscriptionId: string; resourceGroup: string | null }
  | { kind: 'operationStatus' | 'operationResult'; subscriptionId: string; location: string; operationId: string };

const PROVIDER = ['providers', 'Microsoft.App'];
const ROUTES: { pattern: string[]; target: (values: Record<string, string>) => ArmTarget }[] = [
  {
    pattern: ['{subscriptionId}', 'resourceGroups', '{resourceGroup}', ...PROVIDER, 'sessionPools', '{poolName}'],
    target: ({ subscriptionId, resourceGroup, poolName }) => ({ kind: 'pool', subscriptionId: subscriptionId!, resourceGroup: resourceGroup!, poolName: poolName! }),
  },
  {
    pattern: ['{subscriptionId}', 'resourceGroups', '{resourceGroup}', ...PROVIDER, 'sessionPools'],
    target: ({ subscriptionId, resourceGroup }) => ({ kind: 'pools', subscriptionId: subscriptionId!, resourceGroup: resourceGroup! }),
  },
  {
    pattern: ['{subscriptionId}', ...PROVIDER, 'sessionPools'],
    target: ({ subscriptionId }) => ({ kind: 'pools', subscriptionId: subscriptionId!, resourceGroup: null }),
  },
  {
    pattern: ['{subscriptionId}', ...PROVIDER, 'locations', '{location}', 'sessionPoolOperationStatuses', '{operationId}'],
    target: ({ subscriptionId, location, operationId }) => ({ kind: 'operationStatus', subscriptionId: subscriptionId!, location: location!, operationId: operationId! }),
  },
  {
    pattern: ['{subscriptionId}', ...PROVIDER, 'locations', '{location}', 'sessionPoolOperationResults', '{operationId}'],
    target: ({ subscriptionId, location, operationId }) => ({ kind: 'operationResult', subscriptionId: subscriptionId!, location: location!, operationId: operationId! }),
  },
];

/**
 * What a path under `/subscriptions/` addresses, or null when Sandpool serves nothing there.
 * Literal segments match in any case (`resourcegroups`, `microsoft.app`), as ARM's do.
 */
export function parseArmPath(segments: readonly string[]): ArmTarget | null {
  for (const route of ROUTES) {
    if (route.pattern.length !== segments.length) continue;
    const values: Record<string, string> = {};
    const matches = route.pattern.every((part, index) => {
      const segment = segments[index]!;
      if (part.startsWith('{')) {
        values[part.slice(1, -1)] = segment;
        return segment.length > 0;
      }
      return part.toLowerCase() === segment.toLowerCase();
    });
    if (matches) return route.target(values);
  }
  return null;
}

export const SERVED_PATHS = [
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.App/sessionPools[/{name}]',
  '/subscriptions/{subscriptionId}/providers/Microsoft.App/sessionPools',
];

export function armPoolId(scope: ArmScope, poolName: string): string {
  return `/subscriptions/${scope.subscriptionId}/resourceGroups/${scope.resourceGroup ?? DEFAULT_RESOURCE_GROUP}/providers/${ARM_RESOURCE_TYPE}/${poolName}`;
}

/**
 * Where a client follows an operation (ARM's `Azure-AsyncOperation` and `Location` headers).
 * Pool changes are stored before the response is sent, so the operation is the pool itself:
 * its id names it, and its status follows from whether the pool is still there.
 */
export function armOperationUrl(kind: 'operationStatus' | 'operationResult', subscriptionId: string, poolId: string, apiVersion: string | null): string {
  const collection = kind === 'operationStatus' ? 'sessionPoolOperationStatuses' : 'sessionPoolOperationResults';
  const path = `/subscriptions/${subscriptionId}/providers/Microsoft.App/locations/${ARM_LOCATION}/${collection}/${poolId}`;
  return `${env().SANDPOOL_PUBLIC_URL.replace(/\/+$/, '')}${path}${apiVersion ? `?api-version=${encodeURIComponent(apiVersion)}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Resources out

/**
 * API versions before 2025-01-01 describe the cooldown as `dynamicPoolConfiguration.executionType`
 * and `cooldownPeriodInSeconds`; later ones as `lifecycleConfiguration` (reference §6.2).
 * Any api-version is accepted; none, or one that is not a date, gets the current shape.
 */
export function usesExecutionTypeShape(apiVersion: string | null): boolean {
  const date = /^\d{4}-\d{2}-\d{2}/.exec(apiVersion?.trim() ?? '')?.[0];
  return date !== undefined && date < '2025-01-01';
}

export function toArmResource(pool: PoolDto, scope: ArmScope, apiVersion: string | null) {
  const cooldown = pool.cooldownPeriodInSeconds;
  return {
    id: armPoolId(scope, pool.name),
    name: pool.name,
    type: ARM_RESOURCE_TYPE,
    location: ARM_LOCATION,
    tags: {},
    systemData: { createdAt: pool.createdAt.toISOString(), lastModifiedAt: pool.updatedAt.toISOString() },
    properties: {
      containerType: pool.containerType,
      poolManagementType: 'Dynamic',
      scaleConfiguration: { maxConcurrentSessions: pool.maxConcurrentSessions, readySessionInstances: pool.readySessionInstances },
      dynamicPoolConfiguration: usesExecutionTypeShape(apiVersion)
        ? { executionType: 'Timed', cooldownPeriodInSeconds: cooldown }
        : { lifecycleConfiguration: { lifecycleType: 'Timed', cooldownPeriodInSeconds: cooldown } },
      sessionNetworkConfiguration: { status: pool.networkStatus },
      sandpoolConfiguration: { isolation: pool.isolation, cpu: pool.cpu, memory: `${pool.memoryGi}Gi` },
      poolManagementEndpoint: pool.poolManagementEndpoint,
      provisioningState: pool.provisioningState,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Resources in

type PoolSetting = keyof PoolSettings;

/** Where each setting sits in ARM's JSON; the cooldown has an old and a new place. */
const SETTING_PATHS: Record<PoolSetting, string[][]> = {
  containerType: [['properties', 'containerType']],
  maxConcurrentSessions: [['properties', 'scaleConfiguration', 'maxConcurrentSessions']],
  readySessionInstances: [['properties', 'scaleConfiguration', 'readySessionInstances']],
  cooldownPeriodInSeconds: [
    ['properties', 'dynamicPoolConfiguration', 'lifecycleConfiguration', 'cooldownPeriodInSeconds'],
    ['properties', 'dynamicPoolConfiguration', 'cooldownPeriodInSeconds'],
  ],
  networkStatus: [['properties', 'sessionNetworkConfiguration', 'status']],
  isolation: [['properties', 'sandpoolConfiguration', 'isolation']],
  cpu: [['properties', 'sandpoolConfiguration', 'cpu']],
  memoryGi: [['properties', 'sandpoolConfiguration', 'memory']],
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isBlank(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isPlainObject(value) && Object.values(value).every(isBlank);
}

/**
 * An object whose property names match in any case, as ARM's do (a Learn tutorial writes
 * `coolDownPeriodInSeconds`); a property Sandpool does not know is refused, not dropped.
 */
function armObject<Shape extends z.ZodRawShape>(shape: Shape) {
  const canonical = new Map(Object.keys(shape).map((key) => [key.toLowerCase(), key]));
  const known = Object.keys(shape).join(', ');
  return z.preprocess(
    (value) => (isPlainObject(value) ? Object.fromEntries(Object.entries(value).map(([key, item]) => [canonical.get(key.toLowerCase()) ?? key, item])) : value),
    z.strictObject(shape, {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `has ${issue.keys.length === 1 ? 'a property' : 'properties'} Sandpool does not know: ${issue.keys.map((key) => `"${key}"`).join(', ')}. Known properties here: ${known}.`
          : 'must be a JSON object.',
    }),
  );
}

/** Any value, or none: what it may be is for the pool schema to say. */
function anything() {
  return z.unknown().optional();
}

/** A value the caller may send as long as it is empty or null: Sandpool cannot honour anything else yet. */
function notSupportedYet(message: string, isHarmless: (value: unknown) => boolean = isBlank) {
  return z.unknown().refine(isHarmless, message).optional();
}

/** One of `allowed` in any case; `planned` values get "not supported yet" instead of "unknown". */
function armEnum(allowed: string, planned: Record<string, string>) {
  return z
    .unknown()
    .superRefine((value, context) => {
      if (value === null || value === undefined) return;
      const text = typeof value === 'string' ? value.trim() : '';
      if (text.toLowerCase() === allowed.toLowerCase()) return;
      const reason = Object.entries(planned).find(([name]) => name.toLowerCase() === text.toLowerCase())?.[1];
      context.addIssue({ code: 'custom', message: reason ?? `must be ${allowed}.` });
    })
    .transform(() => undefined)
    .optional();
}

/** `{"type": "None"}` (any case) says "no identity", as does leaving it out. */
function isNoIdentity(value: unknown): boolean {
  if (isBlank(value)) return true;
  if (!isPlainObject(value)) return false;
  return Object.entries(value).every(([key, item]) => (key.toLowerCase() === 'type' ? String(item).toLowerCase() === 'none' : isBlank(item)));
}

/** MCP settings are harmless as long as they do not turn the MCP server on. */
function leavesMcpOff(value: unknown): boolean {
  return !isPlainObject(value) || Object.entries(value).every(([key, item]) => key.toLowerCase() !== 'ismcpserverenabled' || item !== true);
}

const { min: memoryMin, max: memoryMax } = POOL_LIMITS.memoryGi;
const MEMORY_FORMAT = `must be a size in GiB such as "1Gi" (from ${memoryMin}Gi to ${memoryMax}Gi, in steps of 0.25).`;

/** `"1Gi"`, `"1.5Gi"` or a plain number of GiB; the range is checked by the pool schema. */
const memorySchema = z.unknown().transform((value, context) => {
  if (value === null || value === undefined || typeof value === 'number') return value;
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(?:Gi)?\s*$/i.exec(value) : null;
  if (!match) {
    context.addIssue({ code: 'custom', message: MEMORY_FORMAT });
    return z.NEVER;
  }
  return Number(match[1]);
}).optional();

const CUSTOM_CONTAINERS_ONLY = 'Sandpool runs PythonLTS code-interpreter pools only; custom containers are planned.';

const lifecycleConfigurationSchema = armObject({
  lifecycleType: armEnum('Timed', { OnContainerExit: `OnContainerExit is not supported yet: it is for custom container pools. ${CUSTOM_CONTAINERS_ONLY} Use Timed.` }),
  cooldownPeriodInSeconds: anything(),
  maxAlivePeriodInSeconds: notSupportedYet('is not supported yet: it belongs to lifecycleType OnContainerExit (custom containers). Use cooldownPeriodInSeconds.'),
});

const propertiesSchema = armObject({
  containerType: anything(),
  poolManagementType: armEnum('Dynamic', { Manual: 'Manual pools are not supported: Sandpool pools are Dynamic (sessions are allocated per identifier).' }),
  environmentId: notSupportedYet('is not supported: Sandpool has no managed environments, and code-interpreter pools do not need one. Remove it.'),
  scaleConfiguration: armObject({ maxConcurrentSessions: anything(), readySessionInstances: anything() }).nullish(),
  dynamicPoolConfiguration: armObject({
    lifecycleConfiguration: lifecycleConfigurationSchema.nullish(),
    executionType: armEnum('Timed', {}),
    cooldownPeriodInSeconds: anything(),
  }).nullish(),
  sessionNetworkConfiguration: armObject({ status: anything() }).nullish(),
  sandpoolConfiguration: armObject({ isolation: anything(), cpu: anything(), memory: memorySchema }).nullish(),
  customContainerTemplate: notSupportedYet(`is not supported yet: ${CUSTOM_CONTAINERS_ONLY}`),
  secrets: notSupportedYet(`are not supported yet: they serve custom container pools. ${CUSTOM_CONTAINERS_ONLY}`),
  managedIdentitySettings: notSupportedYet('are not supported yet: sessions cannot obtain a managed identity in Sandpool.'),
  mcpServerSettings: notSupportedYet('is not supported yet: Sandpool has no MCP server. Leave isMcpServerEnabled false.', leavesMcpOff),
  // Read-only: clients often send back what they read. Ignored.
  provisioningState: anything(),
  poolManagementEndpoint: anything(),
  nodeCount: anything(),
  templateUpdateStatus: anything(),
});

const resourceSchema = armObject({
  location: anything(),
  tags: notSupportedYet('are not supported yet: Sandpool does not store tags. Leave them out.'),
  identity: notSupportedYet('is not supported yet: pools cannot have a managed identity in Sandpool. Leave it out or use {"type": "None"}.', isNoIdentity),
  properties: propertiesSchema.nullish(),
  // Read-only: ignored, the URL names the pool.
  id: anything(),
  name: anything(),
  type: anything(),
  systemData: anything(),
});

function pathText(path: readonly PropertyKey[]): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : String(part))).join('.').replace(/\.\[/g, '[');
}

function badRequest(fieldErrors: FieldErrors): AppError {
  const summary = Object.entries(fieldErrors)
    .map(([path, messages]) => `${path}: ${messages.join(' ')}`)
    .join('; ');
  return new AppError('BAD_REQUEST', summary, fieldErrors);
}

/** What a value is at `path`: the value, `absent`, or `null` when it or an object above it is null. */
function lookup(body: unknown, path: string[]): { value: unknown } | 'absent' | 'null' {
  let node = body;
  for (const key of path) {
    if (node === null) return 'null';
    if (!isPlainObject(node) || !(key in node) || node[key] === undefined) return 'absent';
    node = node[key];
  }
  return node === null ? 'null' : { value: node };
}

export type ArmPoolSettings = {
  /** Settings for the pools service, under its own names. */
  settings: Partial<Record<PoolSetting, unknown>>;
  /** The ARM property path of each setting, for errors. */
  paths: Record<PoolSetting, string>;
};

/**
 * Reads a session pool resource from an ARM request body. `replace` (PUT): settings left out
 * or null are left out, so the service applies defaults. `merge` (PATCH, JSON merge patch):
 * null resets a setting to its default. Anything Sandpool cannot honour is refused with the
 * property path and what to do instead.
 */
export function poolSettingsFromArm(body: unknown, mode: 'replace' | 'merge'): ArmPoolSettings {
  const parsed = resourceSchema.safeParse(body);
  if (!parsed.success) {
    const fieldErrors: FieldErrors = {};
    for (const issue of parsed.error.issues) (fieldErrors[pathText(issue.path) || 'body'] ??= []).push(issue.message);
    throw badRequest(fieldErrors);
  }
  const settings: ArmPoolSettings['settings'] = {};
  const paths = {} as Record<PoolSetting, string>;
  const conflicts: FieldErrors = {};
  for (const [setting, candidates] of Object.entries(SETTING_PATHS) as [PoolSetting, string[][]][]) {
    const found = candidates.map((path) => ({ path: path.join('.'), at: lookup(parsed.data, path) }));
    const given = found.filter((entry) => typeof entry.at === 'object');
    paths[setting] = (given[0] ?? found.find((entry) => entry.at === 'null') ?? found[0]!).path;
    const values = new Set(given.map((entry) => JSON.stringify((entry.at as { value: unknown }).value)));
    if (values.size > 1) {
      conflicts[given[1]!.path] = [`disagrees with ${given[0]!.path}. Give the value in one place: the first in API versions from 2025-01-01, the second in older ones.`];
    } else if (given.length > 0) {
      settings[setting] = (given[0]!.at as { value: unknown }).value;
    } else if (mode === 'merge' && found.some((entry) => entry.at === 'null')) {
      settings[setting] = POOL_DEFAULTS[setting];
    }
  }
  if (Object.keys(conflicts).length > 0) throw badRequest(conflicts);
  return { settings, paths };
}

/**
 * Restates a validation error from the pools service in ARM's terms: each setting under its
 * ARM property path, so the caller can find what to fix in the JSON it sent.
 */
export function inArmTerms(error: unknown, paths: ArmPoolSettings['paths']): unknown {
  if (!(error instanceof AppError) || error.code !== 'BAD_REQUEST' || !error.fieldErrors) return error;
  const fieldErrors: FieldErrors = {};
  for (const [field, messages] of Object.entries(error.fieldErrors)) {
    const path = paths[field as PoolSetting] ?? field;
    (fieldErrors[path] ??= []).push(...messages);
  }
  return badRequest(fieldErrors);
}
