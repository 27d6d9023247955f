// The ARM control plane through its route handlers: real Requests, real bearer tokens from the
// token service, real Postgres. Cookie sign-in, requests without any credentials and the
// Next.js router itself are exercised over HTTP in e2e/control-plane.spec.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '@/lib/auth/access';
import type { Role } from '@/lib/auth/permissions';
import { db } from '@/lib/db';
import { AppError } from '@/lib/errors';
import { deletePool } from '@/lib/services/pools';
import { createTestServicePrincipal, uniquePoolName } from '@/lib/testing/factories';
import { issueAccessToken } from '@/lib/tokens/access-token';
import { DATA_PLANE_AUDIENCE, MANAGEMENT_AUDIENCE } from '@/lib/tokens/audiences';
import { DELETE, GET, PATCH, PUT } from './route';

const HANDLERS = { GET, PUT, PATCH, DELETE };
const SUBSCRIPTION = '6a1c5bd2-3a8e-4c0f-9b1e-2f0d8c7e4a55';
const GROUP = 'agents-rg';
const AZ_API_VERSION = '2025-02-02-preview'; // what the az containerapp extension sends

type Reply = { status: number; headers: Headers; body: any };

// Other suites may run an engine on the same database: pools made here keep no sandboxes warm
// unless a test needs the default, and are all deleted at the end.
const createdPools = new Set<string>();
afterAll(async () => {
  for (const name of createdPools) {
    await deletePool(HOST_OPERATOR, name, { idempotent: true }).catch((error: unknown) => {
      if (!(error instanceof AppError && error.code === 'NOT_FOUND')) throw error;
    });
  }
});

/** Sends `method` to `url` (absolute, or a path on the portal) through the route handler, as Next.js would. */
async function send(method: keyof typeof HANDLERS, url: string, options: { token?: string; body?: unknown; authorization?: string } = {}): Promise<Reply> {
  const target = new URL(url, 'http://localhost:3000');
  expect(target.pathname.startsWith('/subscriptions/')).toBe(true);
  const headers = new Headers();
  const authorization = options.authorization ?? (options.token ? `Bearer ${options.token}` : undefined);
  if (authorization !== undefined) headers.set('authorization', authorization);
  let body: string | undefined;
  if (options.body !== undefined) {
    headers.set('content-type', 'application/json');
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const request = new Request(target, { method, headers, body });
  // Next.js hands the catch-all segments over decoded.
  const segments = target.pathname.split('/').slice(2).map(decodeURIComponent);
  const response = await HANDLERS[method](request, { params: Promise.resolve({ path: segments }) });
  if (method === 'PUT' && response.status === 201) createdPools.add(segments.at(-1)!);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

function poolUrl(name: string, apiVersion: string | null = AZ_API_VERSION, group = GROUP): string {
  return `/subscriptions/${SUBSCRIPTION}/resourceGroups/${group}/providers/Microsoft.App/sessionPools/${name}${apiVersion ? `?api-version=${apiVersion}` : ''}`;
}

async function managementToken(assignments: { role: Role; scope?: string }[]) {
  const principal = await createTestServicePrincipal(assignments);
  return { principal, token: (await issueAccessToken(principal, MANAGEMENT_AUDIENCE)).accessToken };
}

/** The body `az containerapp sessionpool create -n NAME -g RG --location eastus --ready-sessions 0` sends for a PythonLTS pool. */
function azCreateBody(options: { maxSessions?: number; readySessions?: number; cooldown?: number } = {}): string {
  // Python's json.dumps of the dict containerapp_sessionpool_decorator.py builds: None for what is
  // unset, defaults 10 sessions, a 300 s cooldown and EgressDisabled.
  return JSON.stringify({
    location: 'eastus',
    properties: {
      poolManagementType: 'Dynamic',
      environmentId: null,
      containerType: 'PythonLTS',
      customContainerTemplate: null,
      secrets: null,
      dynamicPoolConfiguration: { lifecycleConfiguration: { lifecycleType: 'Timed', maxAlivePeriodInSeconds: null, cooldownPeriodInSeconds: options.cooldown ?? 300 } },
      sessionNetworkConfiguration: { status: 'EgressDisabled' },
      scaleConfiguration: { maxConcurrentSessions: options.maxSessions ?? 10, readySessionInstances: options.readySessions ?? 0 },
    },
  }).replace(/([:,])/g, '$1 ');
}

async function auditOf(poolName: string) {
  return db().auditEvent.findMany({ where: { targetLabel: poolName }, orderBy: { id: 'asc' }, select: { action: true, outcome: true, actorId: true, detail: true, message: true } });
}

describe('the ARM control plane for session pools', () => {
  it('replays az containerapp sessionpool create: 201, Azure-AsyncOperation to poll, then the pool as az shows it', async () => {
    const { principal, token } = await managementToken([{ role: 'CONTRIBUTOR' }]);
    const name = uniquePoolName();
    const created = await send('PUT', `http://management.example${poolUrl(name)}`, { token, body: azCreateBody({ maxSessions: 12, cooldown: 600 }) });
    expect(created.status).toBe(201);
    expect(created.body.properties.provisioningState).toBe('Succeeded');

    // az polls the operation until its status is Succeeded, then GETs the pool.
    const operationUrl = created.headers.get('azure-asyncoperation')!;
    expect(operationUrl).toMatch(new RegExp(`/subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/locations/local/sessionPoolOperationStatuses/pool_\\w+\\?api-version=${AZ_API_VERSION}$`));
    const operation = await send('GET', operationUrl, { token });
    expect(operation.status).toBe(200);
    expect(operation.body).toEqual({ id: new URL(operationUrl).pathname, name: expect.stringMatching(/^pool_/), status: 'Succeeded' });

    const shown = await send('GET', poolUrl(name), { token });
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual({
      id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.App/sessionPools/${name}`,
      name,
      type: 'Microsoft.App/sessionPools',
      location: 'local',
      tags: {},
      systemData: { createdAt: expect.any(String), lastModifiedAt: expect.any(String) },
      properties: {
        containerType: 'PythonLTS',
        poolManagementType: 'Dynamic',
        scaleConfiguration: { maxConcurrentSessions: 12, readySessionInstances: 0 },
        dynamicPoolConfiguration: { lifecycleConfiguration: { lifecycleType: 'Timed', cooldownPeriodInSeconds: 600 } },
        sessionNetworkConfiguration: { status: 'EgressDisabled' },
        sandpoolConfiguration: { isolation: 'gVisor', cpu: 0.5, memory: '1Gi' },
        // What `az containerapp session code-interpreter …` reads to reach the data plane.
        poolManagementEndpoint: expect.stringMatching(new RegExp(`/subscriptions/[^/]+/resourceGroups/[^/]+/sessionPools/${name}$`)),
        provisioningState: 'Succeeded',
      },
    });
    expect(created.body).toEqual(shown.body);

    const audit = await auditOf(name);
    expect(audit).toEqual([expect.objectContaining({ action: 'pool.create', outcome: 'SUCCESS', actorId: principal.id })]);
  });

  it('creates from the older shape (executionType) and answers each api-version in its own shape', async () => {
    const { token } = await managementToken([{ role: 'OWNER' }]);
    const name = uniquePoolName();
    const body = {
      location: 'swedencentral',
      properties: {
        poolManagementType: 'Dynamic',
        containerType: 'PythonLTS',
        scaleConfiguration: { maxConcurrentSessions: 100, readySessionInstances: 0 },
        dynamicPoolConfiguration: { executionType: 'Timed', cooldownPeriodInSeconds: 900 },
        sessionNetworkConfiguration: { status: 'EgressDisabled' },
      },
    };
    const created = await send('PUT', poolUrl(name, '2024-02-02-preview'), { token, body });
    expect(created.status).toBe(201);
    expect(created.body.properties.dynamicPoolConfiguration).toEqual({ executionType: 'Timed', cooldownPeriodInSeconds: 900 });
    expect(created.body.properties.scaleConfiguration).toEqual({ maxConcurrentSessions: 100, readySessionInstances: 0 });

    const current = await send('GET', poolUrl(name, '2025-10-02-preview'), { token });
    expect(current.body.properties.dynamicPoolConfiguration).toEqual({ lifecycleConfiguration: { lifecycleType: 'Timed', cooldownPeriodInSeconds: 900 } });
    const withoutVersion = await send('GET', poolUrl(name, null), { token });
    expect(withoutVersion.status).toBe(200);
    expect(withoutVersion.body.properties.dynamicPoolConfiguration).toEqual(current.body.properties.dynamicPoolConfiguration);
  });

  it('replaces on a second PUT (200): left-out Azure settings return to defaults, Sandpool settings stay', async () => {
    const { token } = await managementToken([{ role: 'CONTRIBUTOR' }]);
    const name = uniquePoolName();
    const first = await send('PUT', poolUrl(name), {
      token,
      body: {
        location: 'local',
        properties: {
          scaleConfiguration: { maxConcurrentSessions: 30, readySessionInstances: 0 },
          dynamicPoolConfiguration: { lifecycleConfiguration: { cooldownPeriodInSeconds: 1800 } },
          sandpoolConfiguration: { isolation: 'runc', cpu: 1, memory: '2Gi' },
        },
      },
    });
    expect(first.status).toBe(201);
    const second = await send('PUT', poolUrl(name), { token, body: { location: 'local', properties: { scaleConfiguration: { maxConcurrentSessions: 40 } } } });
    expect(second.status).toBe(200);
    expect(second.headers.get('azure-asyncoperation')).toBeNull();
    expect(second.body.properties.scaleConfiguration).toEqual({ maxConcurrentSessions: 40, readySessionInstances: 5 });
    expect(second.body.properties.dynamicPoolConfiguration.lifecycleConfiguration.cooldownPeriodInSeconds).toBe(300);
    expect(second.body.properties.sandpoolConfiguration).toEqual({ isolation: 'runc', cpu: 1, memory: '2Gi' });
    expect((await auditOf(name)).map((event) => event.action)).toEqual(['pool.create', 'pool.update']);
  });

  it('two PUTs of a new pool at once: one creates it (201), the other replaces it (200)', async () => {
    const { token } = await managementToken([{ role: 'CONTRIBUTOR' }]);
    const name = uniquePoolName();
    const replies = await Promise.all([20, 30].map((maxSessions) => send('PUT', poolUrl(name), { token, body: azCreateBody({ maxSessions }) })));
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 201]);
    expect(await db().sessionPool.count({ where: { name } })).toBe(1);
  });

  it('PATCH changes the scale and keeps the rest; null resets a setting; the audit log records the change', async () => {
    const { principal, token } = await managementToken([{ role: 'CONTRIBUTOR' }]);
    const name = uniquePoolName();
    await send('PUT', poolUrl(name), { token, body: azCreateBody({ maxSessions: 10, readySessions: 1, cooldown: 1200 }) });

    // `az containerapp sessionpool update -n NAME -g RG --max-sessions 50` sends only what changes.
    const patched = await send('PATCH', poolUrl(name), { token, body: '{"properties": {"scaleConfiguration": {"maxConcurrentSessions": 50}}}' });
    expect(patched.status).toBe(200);
    expect(patched.body.properties.scaleConfiguration).toEqual({ maxConcurrentSessions: 50, readySessionInstances: 1 });
    expect(patched.body.properties.dynamicPoolConfiguration.lifecycleConfiguration.cooldownPeriodInSeconds).toBe(1200);
    expect((await send('GET', poolUrl(name), { token })).body.properties.scaleConfiguration.maxConcurrentSessions).toBe(50);

    const reset = await send('PATCH', poolUrl(name), { token, body: { properties: { scaleConfiguration: { readySessionInstances: null } } } });
    expect(reset.body.properties.scaleConfiguration).toEqual({ maxConcurrentSessions: 50, readySessionInstances: 5 });

    const update = (await auditOf(name)).find((event) => event.action === 'pool.update');
    expect(update).toMatchObject({ outcome: 'SUCCESS', actorId: principal.id, detail: { changes: { maxConcurrentSessions: 50 } } });
  });

  it('lists pools by resource group and by subscription, only those the caller may read', async () => {
    const { token: ownerToken } = await managementToken([{ role: 'OWNER' }]);
    const [mine, other] = [uniquePoolName(), uniquePoolName()];
    for (const name of [mine, other]) expect((await send('PUT', poolUrl(name), { token: ownerToken, body: azCreateBody() })).status).toBe(201);
    const { token: readerToken } = await managementToken([{ role: 'READER', scope: `/sessionPools/${mine}` }]);

    const byGroup = await send('GET', `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.App/sessionPools?api-version=${AZ_API_VERSION}`, { token: readerToken });
    expect(byGroup.status).toBe(200);
    expect(byGroup.body.value.map((pool: { name: string }) => pool.name)).toEqual([mine]);
    expect(byGroup.body.value[0].id).toBe(`/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.App/sessionPools/${mine}`);

    const bySubscription = await send('GET', `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/sessionPools?api-version=${AZ_API_VERSION}`, { token: readerToken });
    expect(bySubscription.body.value.map((pool: { name: string }) => pool.name)).toEqual([mine]);
    // No resource group in the path: the installation's own.
    expect(bySubscription.body.value[0].id).toBe(`/subscriptions/${SUBSCRIPTION}/resourceGroups/sandpool/providers/Microsoft.App/sessionPools/${mine}`);

    const everything = await send('GET', `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/sessionPools`, { token: ownerToken });
    const names = everything.body.value.map((pool: { name: string }) => pool.name);
    expect(names).toEqual(expect.arrayContaining([mine, other]));

    // The pool-scoped Reader may read its pool and no other.
    expect((await send('GET', poolUrl(mine), { token: readerToken })).status).toBe(200);
    expect((await send('GET', poolUrl(other), { token: readerToken })).status).toBe(403);
  });

  it('DELETE answers 202 with a Location to poll while the engine drains the pool, again on a repeat, and 204 for no such pool', async () => {
    const { principal, token } = await managementToken([{ role: 'CONTRIBUTOR' }]);
    const name = uniquePoolName();
    await send('PUT', poolUrl(name), { token, body: azCreateBody() });

    // An engine running on the same database removes an empty pool within moments. A key-share
    // lock on the row holds its DELETE back (and nothing else) while the in-between state is checked.
    await db().$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT 1 FROM session_pools WHERE name = ${name} FOR KEY SHARE`;
        const deleted = await send('DELETE', poolUrl(name), { token });
        expect(deleted.status).toBe(202);
        expect(deleted.body).toBeNull();
        const location = deleted.headers.get('location')!;
        expect(location).toMatch(new RegExp(`/subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/locations/local/sessionPoolOperationResults/pool_\\w+\\?api-version=${AZ_API_VERSION}$`));
        expect(deleted.headers.get('retry-after')).toBe('1');

        // Until the engine has removed it, the pool reads as Deleting and the operation as still running.
        expect((await send('GET', poolUrl(name), { token })).body.properties.provisioningState).toBe('Deleting');
        const polled = await send('GET', location, { token });
        expect(polled.status).toBe(202);
        expect(polled.headers.get('location')).toBe(location);
        expect((await send('DELETE', poolUrl(name), { token })).status).toBe(202);
        expect((await send('PUT', poolUrl(name), { token, body: azCreateBody() })).status).toBe(409);
      },
      { timeout: 30_000 },
    );

    expect((await send('DELETE', poolUrl(uniquePoolName()), { token })).status).toBe(204);
    const deletions = (await auditOf(name)).filter((event) => event.action === 'pool.delete');
    expect(deletions).toEqual([
      expect.objectContaining({ outcome: 'SUCCESS', actorId: principal.id, detail: null }),
      expect.objectContaining({ outcome: 'SUCCESS', actorId: principal.id, detail: { alreadyDeleting: true } }),
    ]);
  });

  it('refuses bad settings with ARM’s error body, naming the ARM property path and the allowed range', async () => {
    const { token } = await managementToken([{ role: 'CONTRIBUTOR' }]);
    const name = uniquePoolName();
    const tooMany = await send('PUT', poolUrl(name), { token, body: azCreateBody({ maxSessions: 700 }) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.headers.get('x-ms-error-code')).toBe('BadRequest');
    expect(tooMany.body).toEqual({
      error: {
        code: 'BadRequest',
        message: 'properties.scaleConfiguration.maxConcurrentSessions: must be a whole number from 1 to 600.',
        details: [{ target: 'properties.scaleConfiguration.maxConcurrentSessions', message: 'must be a whole number from 1 to 600.' }],
      },
    });

    const cases: [unknown, string, string][] = [
      [{ properties: { scaleConfiguration: { maxConcurrentSessions: 2, readySessionInstances: 3 } } }, 'properties.scaleConfiguration.readySessionInstances', 'cannot exceed maxConcurrentSessions'],
      [{ properties: { dynamicPoolConfiguration: { executionType: 'Timed', cooldownPeriodInSeconds: 5 } } }, 'properties.dynamicPoolConfiguration.cooldownPeriodInSeconds', 'from 10 to 3600'],
      [{ properties: { sessionNetworkConfiguration: { status: 'EgressEnabled' } } }, 'properties.sessionNetworkConfiguration.status', 'EgressEnabled is not supported yet'],
      [{ properties: { containerType: 'CustomContainer' } }, 'properties.containerType', 'Only PythonLTS'],
      [{ properties: { customContainerTemplate: { containers: [{ image: 'x:1', name: 'x' }], ingress: { targetPort: 80 } } } }, 'properties.customContainerTemplate', 'not supported yet'],
      [{ properties: { managedIdentitySettings: [{ identity: 'system', lifecycle: 'Main' }] } }, 'properties.managedIdentitySettings', 'not supported yet'],
      [{ properties: { sandpoolConfiguration: { cpu: 3 } } }, 'properties.sandpoolConfiguration.cpu', 'from 0.25 to 2 cores'],
    ];
    for (const [body, target, message] of cases) {
      const refused = await send('PUT', poolUrl(name), { token, body });
      expect(refused.status, target).toBe(400);
      expect(refused.body.error.details).toEqual([{ target, message: expect.stringContaining(message) }]);
      expect(refused.body.error.message).toContain(`${target}: `);
    }

    const patchTooMany = await send('PATCH', poolUrl(name), { token, body: { properties: { scaleConfiguration: { maxConcurrentSessions: 0 } } } });
    expect(patchTooMany.status).toBe(400);
    expect(patchTooMany.body.error.details[0].target).toBe('properties.scaleConfiguration.maxConcurrentSessions');

    expect((await send('PUT', poolUrl('Bad_Name'), { token, body: azCreateBody() })).body.error.message).toContain('lowercase letters and digits');
    expect((await send('PUT', poolUrl(name), { token, body: '{"properties": ' })).body.error.message).toContain('not valid JSON');
    expect((await send('PUT', poolUrl(name), { token, body: '' })).body.error.message).toContain('Send the session pool as a JSON body');
    expect(await db().sessionPool.count({ where: { name } })).toBe(0);
  });

  it('answers 401 to a missing or data-plane token, saying which scope to request', async () => {
    const name = uniquePoolName();
    const missing = await send('GET', poolUrl(name), { authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(missing.body.error).toMatchObject({ code: 'Unauthorized', message: expect.stringContaining('Authorization: Bearer') });

    const principal = await createTestServicePrincipal([{ role: 'OWNER' }]);
    const dataPlane = (await issueAccessToken(principal, DATA_PLANE_AUDIENCE)).accessToken;
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE'] as const) {
      const refused = await send(method, poolUrl(name), { token: dataPlane, body: method === 'PUT' || method === 'PATCH' ? azCreateBody() : undefined });
      expect(refused.status, method).toBe(401);
      expect(refused.body.error.code).toBe('Unauthorized');
      expect(refused.body.error.message).toContain('https://management.azure.com/.default');
    }
    expect(await db().sessionPool.count({ where: { name } })).toBe(0);
  });

  it('answers 403 to a Reader or a Session Executor writing, and to a pool Contributor outside its pool; refusals are audited', async () => {
    const { token: ownerToken } = await managementToken([{ role: 'OWNER' }]);
    const name = uniquePoolName();
    await send('PUT', poolUrl(name), { token: ownerToken, body: azCreateBody() });

    const { principal: reader, token: readerToken } = await managementToken([{ role: 'READER' }]);
    const { token: executorToken } = await managementToken([{ role: 'SESSION_EXECUTOR', scope: `/sessionPools/${name}` }]);
    for (const token of [readerToken, executorToken]) {
      expect((await send('PUT', poolUrl(name), { token, body: azCreateBody({ maxSessions: 99 }) })).status).toBe(403);
      expect((await send('PATCH', poolUrl(name), { token, body: { properties: { scaleConfiguration: { maxConcurrentSessions: 99 } } } })).status).toBe(403);
      const refused = await send('DELETE', poolUrl(name), { token });
      expect(refused.status).toBe(403);
      expect(refused.body.error.code).toBe('Forbidden');
      // Both may still read it.
      expect((await send('GET', poolUrl(name), { token })).status).toBe(200);
    }
    expect((await send('GET', poolUrl(name), { token: ownerToken })).body.properties.scaleConfiguration.maxConcurrentSessions).toBe(10);
    const readerDenials = await db().auditEvent.count({ where: { actorId: reader.id, outcome: 'DENIED' } });
    expect(readerDenials).toBeGreaterThanOrEqual(3);

    const poolContributor = await managementToken([{ role: 'CONTRIBUTOR', scope: `/sessionPools/${name}` }]);
    expect((await send('PATCH', poolUrl(name), { token: poolContributor.token, body: { properties: { scaleConfiguration: { maxConcurrentSessions: 20 } } } })).status).toBe(200);
    const elsewhere = await send('PUT', poolUrl(uniquePoolName()), { token: poolContributor.token, body: azCreateBody() });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error.message).toContain('pools.write');
  });

  it('matches ARM paths in any case and accepts any subscription and resource group', async () => {
    const { token } = await managementToken([{ role: 'CONTRIBUTOR' }]);
    const name = uniquePoolName();
    const lower = `/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/Other-RG/providers/microsoft.app/sessionpools/${name}?api-version=${AZ_API_VERSION}`;
    const created = await send('PUT', lower, { token, body: azCreateBody() });
    expect(created.status).toBe(201);
    expect(created.body.id).toBe(`/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/Other-RG/providers/Microsoft.App/sessionPools/${name}`);
    const elsewhere = await send('GET', `/subscriptions/${SUBSCRIPTION}/RESOURCEGROUPS/${GROUP}/PROVIDERS/Microsoft.App/SESSIONPOOLS/${name}`, { token });
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.body.id).toBe(`/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.App/sessionPools/${name}`);
  });

  it('says what it serves for any other path, and which operations it knows', async () => {
    const { token } = await managementToken([{ role: 'READER' }]);
    const unknown = await send('GET', `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.Web/sites/app1`, { token });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toContain('/providers/Microsoft.App/sessionPools');
    const operation = await send('GET', `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/locations/local/sessionPoolOperationStatuses/pool_nosuchpool`, { token });
    expect(operation.status).toBe(404);
    const list = await send('PUT', `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/sessionPools`, { token, body: '{}' });
    expect(list.status).toBe(403); // a Reader may not write anywhere; the guard answers before the path is looked at
    const { token: writer } = await managementToken([{ role: 'CONTRIBUTOR' }]);
    const misplaced = await send('PUT', `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/sessionPools`, { token: writer, body: '{}' });
    expect(misplaced.status).toBe(400);
    expect(misplaced.body.error.message).toContain('PUT needs a session pool path');
  });
});
