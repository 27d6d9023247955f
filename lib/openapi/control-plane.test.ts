// The control plane's OpenAPI document: served by its public route, valid OpenAPI 3.1
// (@readme/openapi-parser), and true to the routes: each documented ARM path is one the catch-all
// route resolves, the route serves exactly the documented methods, and every documented
// operation, replayed through the real handlers with a real management token, answers with a
// documented status and the fields the document says are required.
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as armRoute from '@/app/subscriptions/[...path]/route';
import { GET as servedDocument } from '@/app/api/openapi/control-plane.json/route';
import { POST as tokenEndpoint } from '@/app/oauth2/v2.0/token/route';
import { HOST_OPERATOR } from '@/lib/auth/access';
import { parseArmPath } from '@/lib/pools/arm';
import { deletePool } from '@/lib/services/pools';
import { createTestServicePrincipal, uniquePoolName } from '@/lib/testing/factories';
import { issueAccessToken } from '@/lib/tokens/access-token';
import { MANAGEMENT_AUDIENCE } from '@/lib/tokens/audiences';

type Operation = { responses: Record<string, unknown> };
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { required?: string[]; properties?: Record<string, { required?: string[] }> }> };
};

let document: Document;
let token: string;
const poolName = uniquePoolName();

beforeAll(async () => {
  const response = await servedDocument();
  expect(response.status).toBe(200);
  document = (await response.json()) as Document;
  const principal = await createTestServicePrincipal([{ role: 'CONTRIBUTOR' }]);
  token = (await issueAccessToken(principal, MANAGEMENT_AUDIENCE)).accessToken;
});

afterAll(async () => {
  await deletePool(HOST_OPERATOR, poolName, { idempotent: true }).catch(() => undefined);
});

const ARM_HANDLERS = { GET: armRoute.GET, PUT: armRoute.PUT, PATCH: armRoute.PATCH, DELETE: armRoute.DELETE };
const armPaths = () => Object.keys(document.paths).filter((path) => path.startsWith('/subscriptions/'));

/** Sends a request through the catch-all ARM route as Next.js would (segments decoded). */
async function arm(method: keyof typeof ARM_HANDLERS, url: string, body?: unknown) {
  const target = new URL(url, 'http://localhost:3000');
  const request = new Request(target, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const segments = target.pathname.split('/').slice(2).map(decodeURIComponent);
  const response = await ARM_HANDLERS[method](request, { params: Promise.resolve({ path: segments }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

/** The documented answer for `method path`: its status is listed, and a SessionPool has every required field. */
function expectDocumented(template: string, method: string, reply: { status: number; body: any }) {
  const operation = document.paths[template]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is documented`).toBeDefined();
  expect(Object.keys(operation!.responses), `${method} ${template} answered ${reply.status}: ${JSON.stringify(reply.body)}`).toContain(String(reply.status));
  const pool = document.components.schemas.SessionPool!;
  const pools = Array.isArray(reply.body?.value) ? reply.body.value : reply.body?.type === 'Microsoft.App/sessionPools' ? [reply.body] : [];
  for (const resource of pools) {
    for (const field of pool.required!) expect(resource, field).toHaveProperty(field);
    for (const field of pool.properties!.properties!.required!) expect(resource.properties, `properties.${field}`).toHaveProperty(field);
  }
}

describe('GET /api/openapi/control-plane.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(structuredClone(document) as never);
    expect(result.valid, JSON.stringify(result, null, 2).slice(0, 3000)).toBe(true);
  });

  it('documents only paths the ARM route resolves, and exactly the methods it serves', () => {
    const kinds = armPaths().map((path) => parseArmPath(path.split('/').slice(2).map((segment) => (segment.startsWith('{') ? 'x1' : segment)))?.kind ?? null);
    expect(kinds.sort()).toEqual(['operationResult', 'operationStatus', 'pool', 'pools', 'pools']);
    const documentedMethods = new Set(armPaths().flatMap((path) => Object.keys(document.paths[path]!).map((method) => method.toUpperCase())));
    expect([...documentedMethods].sort()).toEqual(Object.keys(armRoute).filter((name) => name in ARM_HANDLERS).sort());
  });

  it('every ARM operation answers as documented (az CLI api-version)', async () => {
    const sub = '6a1c5bd2-3a8e-4c0f-9b1e-2f0d8c7e4a55';
    const base = `/subscriptions/${sub}/resourceGroups/agents-rg/providers/Microsoft.App/sessionPools`;
    const poolTemplate = '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.App/sessionPools/{sessionPoolName}';
    const query = '?api-version=2025-02-02-preview';
    const body = { location: 'eastus', properties: { scaleConfiguration: { maxConcurrentSessions: 3, readySessionInstances: 0 }, sandpoolConfiguration: { isolation: 'runc' } } };

    const created = await arm('PUT', `${base}/${poolName}${query}`, body);
    expectDocumented(poolTemplate, 'PUT', created);
    expect(created.status).toBe(201);
    const status = new URL(created.headers.get('azure-asyncoperation')!);
    expectDocumented('/subscriptions/{subscriptionId}/providers/Microsoft.App/locations/{location}/sessionPoolOperationStatuses/{operationId}', 'GET', await arm('GET', status.pathname + status.search));
    expectDocumented(poolTemplate, 'PUT', await arm('PUT', `${base}/${poolName}${query}`, body));
    expectDocumented(poolTemplate, 'GET', await arm('GET', `${base}/${poolName}${query}`));
    expectDocumented(poolTemplate, 'PATCH', await arm('PATCH', `${base}/${poolName}${query}`, { properties: { scaleConfiguration: { maxConcurrentSessions: 4 } } }));
    expectDocumented(poolTemplate, 'PUT', await arm('PUT', `${base}/${poolName}${query}`, { properties: { scaleConfiguration: { maxConcurrentSessions: 700 } } }));
    expectDocumented(poolTemplate, 'GET', await arm('GET', `${base}/nosuchpool${query}`));
    expectDocumented('/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.App/sessionPools', 'GET', await arm('GET', `${base}${query}`));
    expectDocumented('/subscriptions/{subscriptionId}/providers/Microsoft.App/sessionPools', 'GET', await arm('GET', `/subscriptions/${sub}/providers/Microsoft.App/sessionPools${query}`));
    const deleted = await arm('DELETE', `${base}/${poolName}${query}`);
    expectDocumented(poolTemplate, 'DELETE', deleted);
    const result = new URL(deleted.headers.get('location')!);
    expectDocumented('/subscriptions/{subscriptionId}/providers/Microsoft.App/locations/{location}/sessionPoolOperationResults/{operationId}', 'GET', await arm('GET', result.pathname + result.search));
    expectDocumented(poolTemplate, 'DELETE', await arm('DELETE', `${base}/nosuchpool${query}`));
  });

  it('the token endpoint answers as documented', async () => {
    const { clientId, clientSecret } = await createTestServicePrincipal([]);
    const ask = async (scope: string) => {
      const response = await tokenEndpoint(
        new Request('http://localhost:3000/oauth2/v2.0/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope }) }),
      );
      return { status: response.status, body: await response.json() };
    };
    const operation = document.paths['/oauth2/v2.0/token']!.post!;
    const issued = await ask('https://management.azure.com/.default');
    expect(Object.keys(operation.responses)).toContain(String(issued.status));
    expect(issued.body).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number), access_token: expect.any(String) });
    const refused = await ask('https://storage.azure.com/.default');
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'invalid_scope', error_description: expect.any(String) });
  });
});
