import { expect, test } from '@playwright/test';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { sandpool, uniquePoolName, unique } from './fixtures';

type CreatedServicePrincipal = { id: string; clientId: string; clientSecret: string; tokenEndpoint: string; role: { role: string; scope: string } };

test('[TOKENS][CLI] the CLI creates a service principal with a role, and both its tokens verify', async ({ request, baseURL }) => {
  const pool = uniquePoolName();
  const created = JSON.parse(
    await sandpool('sp', 'create', '--name', unique('cli-agent'), '--role', 'Session Executor', '--scope', `/sessionPools/${pool}`, '--expires-in-days', '30'),
  ) as CreatedServicePrincipal;
  expect(created).toMatchObject({ role: { role: 'Session Executor', scope: `/sessionPools/${pool}` }, tokenEndpoint: `${baseURL}/oauth2/v2.0/token` });
  expect(created.clientSecret).toMatch(/^spsec_/);

  const jwksResponse = await request.get('/discovery/v2.0/keys');
  expect(jwksResponse.status()).toBe(200);
  const jwks = createLocalJWKSet((await jwksResponse.json()) as { keys: never[] });
  const verifyDataPlane = (token: string) => jwtVerify(token, jwks, { audience: 'https://dynamicsessions.io', issuer: `${baseURL}/` });

  // 1. A token printed by the CLI (host operator, no secret needed).
  const cliToken = (await sandpool('token', created.clientId)).trim();
  const { payload: cliClaims } = await verifyDataPlane(cliToken);
  expect(cliClaims).toMatchObject({ sub: created.id, appid: created.clientId });

  // 2. A token from the token endpoint, for each scope spelling real clients use.
  for (const scope of ['https://dynamicsessions.io/.default', 'https://acasessions.io/.default', 'https://dynamicsessions.io']) {
    const response = await request.post(created.tokenEndpoint, {
      form: { grant_type: 'client_credentials', client_id: created.clientId, client_secret: created.clientSecret, scope },
    });
    expect(response.status(), scope).toBe(200);
    const { access_token: token } = (await response.json()) as { access_token: string };
    await expect(verifyDataPlane(token)).resolves.toBeTruthy();
  }

  // A data-plane token is not a management token, and vice versa.
  const dataPlaneAtManagement = await request.get('/api/v1/me', { headers: { authorization: `Bearer ${cliToken}` } });
  expect(dataPlaneAtManagement.status()).toBe(401);
  expect(dataPlaneAtManagement.headers()['x-ms-error-code']).toBe('Unauthorized');
  expect(((await dataPlaneAtManagement.json()) as { error: { message: string } }).error.message).toContain('https://management.azure.com/.default');
  const managementToken = (await sandpool('token', created.clientId, '--scope', 'https://management.azure.com/.default')).trim();
  expect(decodeJwt(managementToken).aud).toBe('https://management.azure.com');
  const me = await request.get('/api/v1/me', { headers: { authorization: `Bearer ${managementToken}` } });
  expect(await me.json()).toMatchObject({ kind: 'servicePrincipal', roleAssignments: [{ role: 'Session Executor', scope: `/sessionPools/${pool}` }] });

  // Tampering is caught.
  const [header, payload, signature] = cliToken.split('.');
  const flipped = `${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
  await expect(verifyDataPlane(`${header}.${payload}.${flipped}`)).rejects.toThrow();
  const forged = await request.get('/api/v1/me', { headers: { authorization: `Bearer ${managementToken.slice(0, -4)}AAAA` } });
  expect(forged.status()).toBe(401);

  // Revoked from the CLI: the token endpoint refuses the secret.
  await sandpool('sp', 'revoke', created.clientId);
  const refused = await request.post(created.tokenEndpoint, {
    form: { grant_type: 'client_credentials', client_id: created.clientId, client_secret: created.clientSecret, scope: 'https://dynamicsessions.io/.default' },
  });
  expect(refused.status()).toBe(401);
  expect(((await refused.json()) as { error_description: string }).error_description).toContain('revoked');
});

test('[TOKENS] the token endpoint explains bad requests in OAuth2 terms', async ({ request }) => {
  const wrongGrant = await request.post('/oauth2/v2.0/token', { form: { grant_type: 'authorization_code', client_id: 'x', client_secret: 'y', scope: 'https://dynamicsessions.io/.default' } });
  expect(wrongGrant.status()).toBe(400);
  expect(await wrongGrant.json()).toMatchObject({ error: 'unsupported_grant_type' });
  const unknownClient = await request.post('/some-tenant/oauth2/v2.0/token', {
    form: { grant_type: 'client_credentials', client_id: '00000000-0000-4000-8000-000000000000', client_secret: 'spsec_nope', scope: 'https://dynamicsessions.io/.default' },
  });
  expect(unknownClient.status()).toBe(401);
  expect(await unknownClient.json()).toMatchObject({ error: 'invalid_client' });
});
