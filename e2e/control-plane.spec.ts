import { randomUUID } from 'node:crypto';
import { expect, test, type APIRequestContext, type APIResponse } from '@playwright/test';
import { owner, sandpool, signIn, unique, uniquePoolName } from './fixtures';

// The ARM control plane over real HTTP, through the portal's router: the parts the route tests
// cannot reach by calling the handlers (cookies, no credentials at all, how Next.js routes
// lowercase paths), and a pool deletion that the real engine completes.

const SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

function poolPath(name: string, apiVersion = '2025-02-02-preview'): string {
  return `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-e2e/providers/Microsoft.App/sessionPools/${name}?api-version=${apiVersion}`;
}

/** Follows a 202's Location until the deletion is over, as ARM clients do. */
async function waitForDeletion(request: APIRequestContext, deleted: APIResponse, headers: Record<string, string> = {}): Promise<void> {
  expect(deleted.status()).toBe(202);
  const location = deleted.headers()['location']!;
  await expect
    .poll(async () => (await request.get(location, { headers })).status(), { timeout: 60_000, intervals: [500] })
    .toBe(204);
}

test('[ARM] a signed-in Owner manages a pool with the portal cookie, through lowercase ARM paths', async ({ page }) => {
  test.setTimeout(120_000); // the deletion waits for the engine to drain the pool
  await signIn(page, owner.email, owner.password);
  const api = page.request; // shares the browser's session cookie
  const name = uniquePoolName();
  const lowercase = `/subscriptions/${SUBSCRIPTION}/resourcegroups/rg-e2e/providers/microsoft.app/sessionpools/${name}?api-version=2024-10-02-preview`;

  const created = await api.put(lowercase, {
    data: { location: 'westeurope', properties: { poolManagementType: 'Dynamic', containerType: 'PythonLTS', scaleConfiguration: { maxConcurrentSessions: 4, readySessionInstances: 0 }, dynamicPoolConfiguration: { executionType: 'Timed', cooldownPeriodInSeconds: 300 } } },
  });
  expect(created.status()).toBe(201);
  const resource = await created.json();
  expect(resource).toMatchObject({
    id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-e2e/providers/Microsoft.App/sessionPools/${name}`,
    properties: { provisioningState: 'Succeeded', dynamicPoolConfiguration: { executionType: 'Timed', cooldownPeriodInSeconds: 300 } },
  });
  const operation = await api.get(created.headers()['azure-asyncoperation']!);
  expect(await operation.json()).toMatchObject({ status: 'Succeeded' });

  const patched = await api.patch(poolPath(name), { data: { properties: { scaleConfiguration: { maxConcurrentSessions: 8 } } } });
  expect(patched.status()).toBe(200);
  const listed = await api.get(`/subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/sessionPools`);
  const pool = ((await listed.json()) as { value: { name: string; properties: { scaleConfiguration: unknown } }[] }).value.find((item) => item.name === name);
  expect(pool?.properties.scaleConfiguration).toEqual({ maxConcurrentSessions: 8, readySessionInstances: 0 });

  // The change shows in the audit log, under the person who made it.
  await page.goto('/audit');
  await expect(page.getByTestId('audit-row').filter({ hasText: name }).filter({ hasText: 'pool.update' }).first()).toContainText(owner.email);

  await waitForDeletion(api, await api.delete(poolPath(name)));
  expect((await api.get(poolPath(name))).status()).toBe(404);
});

test('[ARM] refuses a caller without credentials with 401 in ARM’s error shape', async ({ request }) => {
  for (const [method, path] of [
    ['GET', `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.App/sessionPools?api-version=2025-02-02-preview`],
    ['PUT', poolPath(uniquePoolName())],
  ] as const) {
    const response = await request.fetch(path, { method, data: method === 'PUT' ? { location: 'local' } : undefined });
    expect(response.status(), method).toBe(401);
    expect(response.headers()['www-authenticate']).toBe('Bearer');
    expect(await response.json()).toEqual({ error: { code: 'Unauthorized', message: expect.stringContaining('management token') } });
  }
});

test('[ARM][CLI] the az CLI flow with a management token: create, poll, show, then run code at the returned endpoint', async ({ request, baseURL }) => {
  test.setTimeout(180_000); // a sandbox starts, runs code, and is drained again
  const contributor = JSON.parse(await sandpool('sp', 'create', '--name', unique('az-cli'), '--role', 'Contributor')) as { clientId: string; clientSecret: string };
  const tokenResponse = await request.post('/oauth2/v2.0/token', {
    form: { grant_type: 'client_credentials', client_id: contributor.clientId, client_secret: contributor.clientSecret, scope: 'https://management.azure.com/.default' },
  });
  const headers = { authorization: `Bearer ${((await tokenResponse.json()) as { access_token: string }).access_token}` };
  const name = uniquePoolName();

  // `az containerapp sessionpool create -n NAME -g rg-e2e --location eastus --ready-sessions 1`, as
  // json.dumps writes it, plus Sandpool's runc isolation so the sandbox starts in about a second.
  const body =
    '{"location": "eastus", "properties": {"poolManagementType": "Dynamic", "environmentId": null, "containerType": "PythonLTS", "customContainerTemplate": null, "secrets": null, ' +
    '"dynamicPoolConfiguration": {"lifecycleConfiguration": {"lifecycleType": "Timed", "maxAlivePeriodInSeconds": null, "cooldownPeriodInSeconds": 300}}, ' +
    '"sessionNetworkConfiguration": {"status": "EgressDisabled"}, "scaleConfiguration": {"maxConcurrentSessions": 10, "readySessionInstances": 1}, ' +
    '"sandpoolConfiguration": {"isolation": "runc"}}}';
  const created = await request.put(`${baseURL}${poolPath(name)}`, { headers: { ...headers, 'content-type': 'application/json' }, data: body });
  expect(created.status()).toBe(201);
  const operation = await request.get(created.headers()['azure-asyncoperation']!, { headers });
  expect(await operation.json()).toMatchObject({ status: 'Succeeded' });
  const shown = (await (await request.get(poolPath(name), { headers })).json()) as { properties: { poolManagementEndpoint: string; provisioningState: string } };
  expect(shown.properties.provisioningState).toBe('Succeeded');

  // The endpoint az reads from `show` leads to the pool on the data plane.
  const executor = JSON.parse(await sandpool('sp', 'create', '--name', unique('az-executor'), '--role', 'Session Executor', '--scope', `/sessionPools/${name}`)) as { clientId: string };
  const dataToken = (await sandpool('token', executor.clientId)).trim();
  const executed = await request.post(`${shown.properties.poolManagementEndpoint}/code/execute?api-version=2024-02-02-preview&identifier=${randomUUID()}`, {
    headers: { authorization: `Bearer ${dataToken}` },
    data: { properties: { codeInputType: 'inline', executionType: 'synchronous', code: '6 * 7' } },
    timeout: 90_000,
  });
  expect(executed.status()).toBe(200);
  expect((await executed.json()) as unknown).toMatchObject({ properties: { status: 'Success', result: 42 } });

  // A data-plane token is no good here, and says which scope to ask for.
  const wrongToken = await request.get(poolPath(name), { headers: { authorization: `Bearer ${dataToken}` } });
  expect(wrongToken.status()).toBe(401);
  expect(((await wrongToken.json()) as { error: { message: string } }).error.message).toContain('https://management.azure.com/.default');

  await waitForDeletion(request, await request.delete(poolPath(name), { headers }), headers);
  expect((await request.get(poolPath(name), { headers })).status()).toBe(404);
});
