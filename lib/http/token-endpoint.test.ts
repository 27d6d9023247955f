import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../auth/access';
import { db } from '../db';
import { revokeServicePrincipal } from '../services/service-principals';
import { createTestServicePrincipal } from '../testing/factories';
import { verifyAccessToken } from '../tokens/access-token';
import { DATA_PLANE_AUDIENCE, MANAGEMENT_AUDIENCE, type TokenAudience } from '../tokens/audiences';
import { handleTokenRequest } from './token-endpoint';

function tokenRequest(fields: Record<string, string>, headers: Record<string, string> = {}): Request {
  return new Request('http://127.0.0.1/oauth2/v2.0/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

async function call(request: Request) {
  const response = await handleTokenRequest(request);
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

describe('POST /oauth2/v2.0/token', () => {
  it.each<[string, TokenAudience]>([
    ['https://dynamicsessions.io/.default', DATA_PLANE_AUDIENCE],
    ['https://acasessions.io/.default', DATA_PLANE_AUDIENCE],
    ['https://dynamicsessions.io', DATA_PLANE_AUDIENCE],
    ['https://management.azure.com/.default', MANAGEMENT_AUDIENCE],
  ])('issues a verifiable token for scope %s', async (scope, audience) => {
    const sp = await createTestServicePrincipal([{ role: 'SESSION_EXECUTOR' }]);
    const { status, body, headers } = await call(tokenRequest({ grant_type: 'client_credentials', client_id: sp.clientId, client_secret: sp.clientSecret, scope }));
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(decodeJwt(String(body.access_token)).aud).toBe(audience);
    await expect(verifyAccessToken(String(body.access_token), audience)).resolves.toMatchObject({ id: sp.id });
    expect((await db().servicePrincipal.findUniqueOrThrow({ where: { id: sp.id }, select: { lastUsedAt: true } })).lastUsedAt).not.toBeNull();
  });

  it('accepts client credentials in an HTTP Basic header', async () => {
    const sp = await createTestServicePrincipal();
    const basic = Buffer.from(`${sp.clientId}:${sp.clientSecret}`).toString('base64');
    const { status } = await call(tokenRequest({ grant_type: 'client_credentials', scope: 'https://dynamicsessions.io/.default' }, { authorization: `Basic ${basic}` }));
    expect(status).toBe(200);
  });

  it('answers each mistake with the OAuth2 error and a description of the fix', async () => {
    const sp = await createTestServicePrincipal();
    const good = { grant_type: 'client_credentials', client_id: sp.clientId, client_secret: sp.clientSecret, scope: 'https://dynamicsessions.io/.default' };
    const cases: [Record<string, string>, number, string, RegExp][] = [
      [{ ...good, grant_type: 'password' }, 400, 'unsupported_grant_type', /client_credentials/],
      [{ ...good, scope: 'https://graph.microsoft.com/.default' }, 400, 'invalid_scope', /dynamicsessions\.io\/\.default/],
      [{ ...good, client_secret: 'spsec_wrong' }, 401, 'invalid_client', /Invalid client secret/],
      [{ ...good, client_id: '00000000-0000-4000-8000-000000000000' }, 401, 'invalid_client', /not found/],
      [{ grant_type: 'client_credentials', client_id: sp.clientId, scope: good.scope }, 401, 'invalid_client', /client_secret/],
      [{ grant_type: 'client_credentials', client_id: sp.clientId, client_secret: sp.clientSecret }, 400, 'invalid_request', /scope/],
    ];
    for (const [fields, status, error, description] of cases) {
      const result = await call(tokenRequest(fields));
      expect(result.status, JSON.stringify(fields)).toBe(status);
      expect(result.body.error).toBe(error);
      expect(String(result.body.error_description)).toMatch(description);
      expect(result.body).not.toHaveProperty('access_token');
    }
    const json = await call(new Request('http://127.0.0.1/oauth2/v2.0/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(good) }));
    expect(json).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('refuses a revoked or expired service principal', async () => {
    const revoked = await createTestServicePrincipal();
    await revokeServicePrincipal(HOST_OPERATOR, { servicePrincipalId: revoked.id });
    const revokedResult = await call(tokenRequest({ grant_type: 'client_credentials', client_id: revoked.clientId, client_secret: revoked.clientSecret, scope: 'https://dynamicsessions.io/.default' }));
    expect(revokedResult).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(String(revokedResult.body.error_description)).toMatch(/revoked/);

    const expired = await createTestServicePrincipal([], 1);
    await db().servicePrincipal.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expiredResult = await call(tokenRequest({ grant_type: 'client_credentials', client_id: expired.clientId, client_secret: expired.clientSecret, scope: 'https://dynamicsessions.io/.default' }));
    expect(expiredResult).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(String(expiredResult.body.error_description)).toMatch(/expired/);
  });
});
