// People's data-plane tokens (the portal's code console): minted only by portal server code,
// verified against the person's current state in Postgres, never handed out by the token endpoint.
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../auth/access';
import { db } from '../db';
import { handleTokenRequest } from '../http/token-endpoint';
import { resetUserPassword, setUserDisabled } from '../services/users';
import { expectAppError } from '../testing/assertions';
import { createTestServicePrincipal, createTestUser, TEST_PASSWORD } from '../testing/factories';
import { issueAccessToken, issueUserDataPlaneToken, isUserToken, tokenIssuer, USER_TOKEN_LIFETIME_SECONDS, verifyAccessToken } from './access-token';
import { DATA_PLANE_AUDIENCE, MANAGEMENT_AUDIENCE } from './audiences';

/** A session that began now, as the portal's cookie would say. */
const signedInNow = () => Date.now();

describe('user data-plane tokens', () => {
  it('speak for the person for five minutes, with their roles read fresh from the database', async () => {
    const user = await createTestUser([{ role: 'SESSION_EXECUTOR', scope: '/sessionPools/demo' }]);
    const token = await issueUserDataPlaneToken({ id: user.id, authTime: signedInNow() });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ aud: DATA_PLANE_AUDIENCE, iss: tokenIssuer(), sub: user.id, idtyp: 'user' });
    expect(claims.exp! - claims.iat!).toBe(USER_TOKEN_LIFETIME_SECONDS);
    expect(USER_TOKEN_LIFETIME_SECONDS).toBe(300);
    expect(isUserToken(token)).toBe(true);
    const principal = await verifyAccessToken(token, DATA_PLANE_AUDIENCE);
    expect(principal).toEqual({ kind: 'user', id: user.id, label: user.email, assignments: [{ role: 'SESSION_EXECUTOR', scope: '/sessionPools/demo' }] });
  });

  it('stop working once the person is disabled', async () => {
    const user = await createTestUser([{ role: 'SESSION_EXECUTOR' }]);
    const token = await issueUserDataPlaneToken({ id: user.id, authTime: signedInNow() });
    await setUserDisabled(HOST_OPERATOR, { userId: user.id }, true);
    await expectAppError(verifyAccessToken(token, DATA_PLANE_AUDIENCE), 'UNAUTHORIZED', /disabled, changed their password/);
  });

  it('stop working once the password changes after the session began', async () => {
    const user = await createTestUser([{ role: 'SESSION_EXECUTOR' }]);
    // An account whose password was set a minute ago, signed in half a minute ago.
    await db().user.update({ where: { id: user.id }, data: { passwordChangedAt: new Date(Date.now() - 60_000) } });
    const authTime = signedInNow() - 30_000;
    const token = await issueUserDataPlaneToken({ id: user.id, authTime });
    await expect(verifyAccessToken(token, DATA_PLANE_AUDIENCE)).resolves.toMatchObject({ id: user.id });
    await resetUserPassword(HOST_OPERATOR, { email: user.email, password: `${TEST_PASSWORD} renewed` });
    await expectAppError(verifyAccessToken(token, DATA_PLANE_AUDIENCE), 'UNAUTHORIZED', /Sign in to the portal again/);
    // A token of the session that began after the change works.
    await expect(verifyAccessToken(await issueUserDataPlaneToken({ id: user.id, authTime: signedInNow() }), DATA_PLANE_AUDIENCE)).resolves.toMatchObject({ id: user.id });
  });

  it('are refused where a management token is needed, and never name a service principal', async () => {
    const user = await createTestUser([{ role: 'OWNER' }]);
    const token = await issueUserDataPlaneToken({ id: user.id, authTime: signedInNow() });
    await expectAppError(verifyAccessToken(token, MANAGEMENT_AUDIENCE), 'UNAUTHORIZED', /management\.azure\.com/);
    // A user token naming a service principal's id finds no person.
    const sp = await createTestServicePrincipal([{ role: 'OWNER' }]);
    await expectAppError(verifyAccessToken(await issueUserDataPlaneToken({ id: sp.id, authTime: signedInNow() }), DATA_PLANE_AUDIENCE), 'UNAUTHORIZED', /person/);
    // And a service principal's token is not mistaken for a person's.
    const appToken = (await issueAccessToken(sp, DATA_PLANE_AUDIENCE)).accessToken;
    expect(isUserToken(appToken)).toBe(false);
    expect(isUserToken('not-a-jwt')).toBe(false);
    await expect(verifyAccessToken(appToken, DATA_PLANE_AUDIENCE)).resolves.toMatchObject({ kind: 'servicePrincipal', id: sp.id });
  });

  it('are never issued by the token endpoint: a person\'s credentials get nothing there', async () => {
    const user = await createTestUser([{ role: 'OWNER' }]);
    const row = await db().user.findUniqueOrThrow({ where: { id: user.id }, select: { email: true } });
    const attempts: Record<string, string>[] = [
      { grant_type: 'password', username: row.email, password: TEST_PASSWORD, scope: 'https://dynamicsessions.io/.default' },
      { grant_type: 'client_credentials', client_id: row.email, client_secret: TEST_PASSWORD, scope: 'https://dynamicsessions.io/.default' },
      { grant_type: 'client_credentials', client_id: user.id, client_secret: TEST_PASSWORD, scope: 'https://dynamicsessions.io/.default' },
    ];
    for (const fields of attempts) {
      const response = await handleTokenRequest(
        new Request('http://127.0.0.1/oauth2/v2.0/token', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(fields).toString(),
        }),
      );
      const body = (await response.json()) as { error?: string; access_token?: string };
      expect(response.status, fields.grant_type).toBeGreaterThanOrEqual(400);
      expect(body.access_token).toBeUndefined();
      expect(['unsupported_grant_type', 'invalid_client']).toContain(body.error);
    }
  });
});
