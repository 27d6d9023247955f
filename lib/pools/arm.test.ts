import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { PoolDto } from '../services/pools';
import { parseInput } from '../validations/common';
import { createPoolSchema } from '../validations/pool';
import { armOperationUrl, armPoolId, inArmTerms, parseArmPath, poolSettingsFromArm, toArmResource, usesExecutionTypeShape } from './arm';

function rejection(body: unknown, mode: 'replace' | 'merge' = 'replace'): AppError {
  try {
    poolSettingsFromArm(body, mode);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('BAD_REQUEST');
    return error as AppError;
  }
  throw new Error(`expected ${JSON.stringify(body)} to be rejected`);
}

const pool: PoolDto = {
  id: 'pool_abc',
  name: 'demo',
  containerType: 'PythonLTS',
  isolation: 'runc',
  maxConcurrentSessions: 20,
  readySessionInstances: 3,
  cooldownPeriodInSeconds: 600,
  networkStatus: 'EgressDisabled',
  cpu: 1,
  memoryGi: 1.5,
  generation: 2,
  provisioningState: 'Succeeded',
  poolManagementEndpoint: 'http://localhost:3100/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sandpool/sessionPools/demo',
  sessions: { pending: 0, ready: 3, allocated: 1, deleting: 0 },
  createdAt: new Date('2026-01-02T03:04:05Z'),
  updatedAt: new Date('2026-01-03T03:04:05Z'),
};

describe('parseArmPath', () => {
  const sub = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';

  it('finds a pool, the pools of a resource group and of a subscription', () => {
    expect(parseArmPath([sub, 'resourceGroups', 'rg1', 'providers', 'Microsoft.App', 'sessionPools', 'demo'])).toEqual({ kind: 'pool', subscriptionId: sub, resourceGroup: 'rg1', poolName: 'demo' });
    expect(parseArmPath([sub, 'resourceGroups', 'rg1', 'providers', 'Microsoft.App', 'sessionPools'])).toEqual({ kind: 'pools', subscriptionId: sub, resourceGroup: 'rg1' });
    expect(parseArmPath([sub, 'providers', 'Microsoft.App', 'sessionPools'])).toEqual({ kind: 'pools', subscriptionId: sub, resourceGroup: null });
  });

  it('matches the literal segments in any case, and keeps the values as sent', () => {
    expect(parseArmPath([sub, 'resourcegroups', 'My-RG', 'PROVIDERS', 'microsoft.app', 'sessionpools', 'demo'])).toEqual({ kind: 'pool', subscriptionId: sub, resourceGroup: 'My-RG', poolName: 'demo' });
    expect(parseArmPath([sub, 'providers', 'MICROSOFT.APP', 'SessionPools'])).toMatchObject({ kind: 'pools', resourceGroup: null });
  });

  it('finds the operation endpoints it hands out', () => {
    expect(parseArmPath([sub, 'providers', 'Microsoft.App', 'locations', 'local', 'sessionPoolOperationStatuses', 'pool_1'])).toEqual({ kind: 'operationStatus', subscriptionId: sub, location: 'local', operationId: 'pool_1' });
    expect(parseArmPath([sub, 'providers', 'microsoft.app', 'locations', 'local', 'sessionpooloperationresults', 'pool_1'])).toMatchObject({ kind: 'operationResult', operationId: 'pool_1' });
    const url = new URL(armOperationUrl('operationResult', sub, 'pool_1', '2025-02-02-preview'));
    expect(url.searchParams.get('api-version')).toBe('2025-02-02-preview');
    expect(parseArmPath(url.pathname.split('/').slice(2))).toMatchObject({ kind: 'operationResult', operationId: 'pool_1' });
  });

  it('serves nothing else', () => {
    expect(parseArmPath([sub, 'resourceGroups', 'rg1', 'providers', 'Microsoft.Web', 'sites', 'demo'])).toBeNull();
    expect(parseArmPath([sub, 'resourceGroups', 'rg1', 'providers', 'Microsoft.App', 'sessionPools', 'demo', 'fetchMCPServerCredentials'])).toBeNull();
    expect(parseArmPath([sub, 'resourceGroups', '', 'providers', 'Microsoft.App', 'sessionPools'])).toBeNull();
    expect(parseArmPath([])).toBeNull();
  });
});

describe('usesExecutionTypeShape', () => {
  it.each([
    ['2024-02-02-preview', true],
    ['2024-08-02-preview', true],
    ['2024-10-02-preview', true],
    ['2025-01-01', false],
    ['2025-02-02-preview', false],
    ['2025-10-02-preview', false],
    [null, false],
    ['latest', false],
  ])('api-version %s → old shape: %s', (apiVersion, old) => {
    expect(usesExecutionTypeShape(apiVersion)).toBe(old);
  });
});

describe('toArmResource', () => {
  it('is the resource Azure returns, with Sandpool settings under sandpoolConfiguration', () => {
    expect(toArmResource(pool, { subscriptionId: 'sub-1', resourceGroup: 'rg-1' }, '2025-10-02-preview')).toEqual({
      id: '/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.App/sessionPools/demo',
      name: 'demo',
      type: 'Microsoft.App/sessionPools',
      location: 'local',
      tags: {},
      systemData: { createdAt: '2026-01-02T03:04:05.000Z', lastModifiedAt: '2026-01-03T03:04:05.000Z' },
      properties: {
        containerType: 'PythonLTS',
        poolManagementType: 'Dynamic',
        scaleConfiguration: { maxConcurrentSessions: 20, readySessionInstances: 3 },
        dynamicPoolConfiguration: { lifecycleConfiguration: { lifecycleType: 'Timed', cooldownPeriodInSeconds: 600 } },
        sessionNetworkConfiguration: { status: 'EgressDisabled' },
        sandpoolConfiguration: { isolation: 'runc', cpu: 1, memory: '1.5Gi' },
        poolManagementEndpoint: pool.poolManagementEndpoint,
        provisioningState: 'Succeeded',
      },
    });
  });

  it('uses the old cooldown shape for old API versions, and the installation resource group for subscription lists', () => {
    const resource = toArmResource({ ...pool, provisioningState: 'Deleting' }, { subscriptionId: 'sub-1', resourceGroup: null }, '2024-02-02-preview');
    expect(resource.properties.dynamicPoolConfiguration).toEqual({ executionType: 'Timed', cooldownPeriodInSeconds: 600 });
    expect(resource.properties.provisioningState).toBe('Deleting');
    expect(resource.id).toBe(armPoolId({ subscriptionId: 'sub-1', resourceGroup: 'sandpool' }, 'demo'));
  });
});

describe('poolSettingsFromArm', () => {
  it('reads the current shape (lifecycleConfiguration)', () => {
    const { settings, paths } = poolSettingsFromArm(
      {
        location: 'westus2',
        properties: {
          containerType: 'PythonLTS',
          poolManagementType: 'Dynamic',
          scaleConfiguration: { maxConcurrentSessions: 20, readySessionInstances: 2 },
          dynamicPoolConfiguration: { lifecycleConfiguration: { lifecycleType: 'Timed', cooldownPeriodInSeconds: 600 } },
          sessionNetworkConfiguration: { status: 'EgressDisabled' },
          sandpoolConfiguration: { isolation: 'runc', cpu: 1, memory: '1.5Gi' },
        },
      },
      'replace',
    );
    expect(settings).toEqual({ containerType: 'PythonLTS', maxConcurrentSessions: 20, readySessionInstances: 2, cooldownPeriodInSeconds: 600, networkStatus: 'EgressDisabled', isolation: 'runc', cpu: 1, memoryGi: 1.5 });
    expect(paths.cooldownPeriodInSeconds).toBe('properties.dynamicPoolConfiguration.lifecycleConfiguration.cooldownPeriodInSeconds');
  });

  it('reads the old shape (executionType) and names its path in errors', () => {
    const { settings, paths } = poolSettingsFromArm({ properties: { dynamicPoolConfiguration: { executionType: 'Timed', cooldownPeriodInSeconds: 300 } } }, 'replace');
    expect(settings).toEqual({ cooldownPeriodInSeconds: 300 });
    expect(paths.cooldownPeriodInSeconds).toBe('properties.dynamicPoolConfiguration.cooldownPeriodInSeconds');
  });

  it('accepts both shapes when they agree, and refuses them when they do not', () => {
    expect(poolSettingsFromArm({ properties: { dynamicPoolConfiguration: { cooldownPeriodInSeconds: 300, lifecycleConfiguration: { cooldownPeriodInSeconds: 300 } } } }, 'replace').settings).toEqual({ cooldownPeriodInSeconds: 300 });
    const error = rejection({ properties: { dynamicPoolConfiguration: { cooldownPeriodInSeconds: 300, lifecycleConfiguration: { cooldownPeriodInSeconds: 900 } } } });
    expect(error.fieldErrors?.['properties.dynamicPoolConfiguration.cooldownPeriodInSeconds']?.[0]).toContain('disagrees with properties.dynamicPoolConfiguration.lifecycleConfiguration.cooldownPeriodInSeconds');
  });

  it('takes the nulls the az CLI sends for what it leaves unset as "not given"', () => {
    // `az containerapp sessionpool create` fills these with None for a PythonLTS pool.
    const { settings } = poolSettingsFromArm(
      {
        location: 'eastus',
        properties: {
          environmentId: null,
          poolManagementType: 'Dynamic',
          containerType: 'PythonLTS',
          customContainerTemplate: null,
          secrets: null,
          dynamicPoolConfiguration: { lifecycleConfiguration: { lifecycleType: 'Timed', maxAlivePeriodInSeconds: null, cooldownPeriodInSeconds: 300 } },
          sessionNetworkConfiguration: { status: 'EgressDisabled' },
          scaleConfiguration: { maxConcurrentSessions: 10, readySessionInstances: 5 },
        },
      },
      'replace',
    );
    expect(settings).toEqual({ containerType: 'PythonLTS', maxConcurrentSessions: 10, readySessionInstances: 5, cooldownPeriodInSeconds: 300, networkStatus: 'EgressDisabled' });
  });

  it('matches property names in any case, as ARM does', () => {
    const { settings } = poolSettingsFromArm({ Properties: { DynamicPoolConfiguration: { coolDownPeriodInSeconds: 420 }, mcpServerSettings: { isMCPServerEnabled: false } } }, 'replace');
    expect(settings).toEqual({ cooldownPeriodInSeconds: 420 });
  });

  it('ignores the read-only properties a client sends back after a GET', () => {
    const resource = toArmResource(pool, { subscriptionId: 's', resourceGroup: 'r' }, null);
    expect(poolSettingsFromArm(resource, 'replace').settings).toMatchObject({ maxConcurrentSessions: 20, isolation: 'runc', memoryGi: 1.5 });
  });

  it('in a merge patch, leaves out what is absent and resets what is null', () => {
    expect(poolSettingsFromArm({ properties: { scaleConfiguration: { maxConcurrentSessions: 50 } } }, 'merge').settings).toEqual({ maxConcurrentSessions: 50 });
    expect(poolSettingsFromArm({ properties: { scaleConfiguration: { readySessionInstances: null }, sandpoolConfiguration: null } }, 'merge').settings).toEqual({
      readySessionInstances: 5,
      isolation: 'gVisor',
      cpu: 0.5,
      memoryGi: 1,
    });
    expect(poolSettingsFromArm({ properties: { scaleConfiguration: { readySessionInstances: null } } }, 'replace').settings).toEqual({});
  });

  it.each([
    [{ properties: { customContainerTemplate: { containers: [{ image: 'x' }] } } }, 'properties.customContainerTemplate', 'not supported yet'],
    [{ properties: { managedIdentitySettings: [{ identity: 'system', lifecycle: 'Main' }] } }, 'properties.managedIdentitySettings', 'not supported yet'],
    [{ properties: { secrets: [{ name: 'a', value: 'b' }] } }, 'properties.secrets', 'not supported yet'],
    [{ properties: { environmentId: '/subscriptions/s/resourceGroups/r/providers/Microsoft.App/managedEnvironments/e' } }, 'properties.environmentId', 'no managed environments'],
    [{ properties: { mcpServerSettings: { isMcpServerEnabled: true } } }, 'properties.mcpServerSettings', 'no MCP server'],
    [{ properties: { poolManagementType: 'Manual' } }, 'properties.poolManagementType', 'Manual pools are not supported'],
    [{ properties: { poolManagementType: 'Sometimes' } }, 'properties.poolManagementType', 'must be Dynamic'],
    [{ properties: { dynamicPoolConfiguration: { lifecycleConfiguration: { lifecycleType: 'OnContainerExit' } } } }, 'properties.dynamicPoolConfiguration.lifecycleConfiguration.lifecycleType', 'OnContainerExit is not supported yet'],
    [{ properties: { dynamicPoolConfiguration: { lifecycleConfiguration: { maxAlivePeriodInSeconds: 3600 } } } }, 'properties.dynamicPoolConfiguration.lifecycleConfiguration.maxAlivePeriodInSeconds', 'not supported yet'],
    [{ properties: { dynamicPoolConfiguration: { executionType: 'Forever' } } }, 'properties.dynamicPoolConfiguration.executionType', 'must be Timed'],
    [{ properties: { sandpoolConfiguration: { memory: '512Mi' } } }, 'properties.sandpoolConfiguration.memory', 'from 0.5Gi to 4Gi'],
    [{ tags: { env: 'dev' } }, 'tags', 'not supported yet'],
    [{ identity: { type: 'SystemAssigned' } }, 'identity', 'not supported yet'],
    [{ properties: { scaleConfig: { maxConcurrentSessions: 5 } } }, 'properties', 'does not know: "scaleConfig"'],
    [{ properties: { scaleConfiguration: 12 } }, 'properties.scaleConfiguration', 'must be a JSON object'],
    [[], 'body', 'must be a JSON object'],
  ])('refuses %j at %s', (body, path, message) => {
    const error = rejection(body);
    expect(error.fieldErrors?.[path]?.join(' ')).toContain(message);
    expect(error.message).toContain(`${path}: `);
  });

  it('accepts an identity of type None and empty tags, secrets and settings', () => {
    expect(poolSettingsFromArm({ identity: { type: 'None' }, tags: {}, properties: { secrets: [], managedIdentitySettings: [], environmentId: '' } }, 'replace').settings).toEqual({});
  });
});

describe('inArmTerms', () => {
  it('restates the pool schema errors under ARM property paths, with the allowed range', () => {
    const { settings, paths } = poolSettingsFromArm({ properties: { scaleConfiguration: { maxConcurrentSessions: 700 }, dynamicPoolConfiguration: { cooldownPeriodInSeconds: 1 } } }, 'replace');
    let restated: unknown;
    try {
      parseInput(createPoolSchema, { name: 'demo', ...settings });
    } catch (error) {
      restated = inArmTerms(error, paths);
    }
    expect(restated).toBeInstanceOf(AppError);
    expect((restated as AppError).fieldErrors).toEqual({
      'properties.scaleConfiguration.maxConcurrentSessions': ['must be a whole number from 1 to 600.'],
      'properties.dynamicPoolConfiguration.cooldownPeriodInSeconds': ['must be a whole number from 10 to 3600.'],
    });
    expect((restated as AppError).message).toBe(
      'properties.scaleConfiguration.maxConcurrentSessions: must be a whole number from 1 to 600.; properties.dynamicPoolConfiguration.cooldownPeriodInSeconds: must be a whole number from 10 to 3600.',
    );
  });

  it('passes other errors through untouched', () => {
    const notFound = new AppError('NOT_FOUND', 'nope');
    expect(inArmTerms(notFound, {} as never)).toBe(notFound);
  });
});
