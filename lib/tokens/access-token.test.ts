import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { HOST_OPERATOR } from '../auth/access';
import { db } from '../db';
import { revokeServicePrincipal } from '../services/service-principals';
import { expectAppError } from '../testing/assertions';
import { createTestServicePrincipal } from '../testing/factories';
import { bearerTokenFrom, issueAccessToken, tokenIssuer, verifyAccessToken } from './access-token';
import { DATA_PLANE_AUDIENCE, MANAGEMENT_AUDIENCE } from './audiences';
import { currentSigningKey, decryptPrivateJwk, publicJwks, SIGNING_ALGORITHM } from './signing-keys';

describe('access tokens', () => {
  it('issues an Entra-shaped token that verifies, with roles read fresh from the database', async () => {
    const sp = await createTestServicePrincipal([{ role: 'SESSION_EXECUTOR', scope: '/sessionPools/demo' }]);
    const { accessToken, expiresIn } = await issueAccessToken(sp, DATA_PLANE_AUDIENCE);
    expect(expiresIn).toBe(3600);
    expect(decodeProtectedHeader(accessToken)).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(decodeJwt(accessToken)).toMatchObject({ aud: DATA_PLANE_AUDIENCE, iss: tokenIssuer(), sub: sp.id, appid: sp.clientId, idtyp: 'app' });
    const principal = await verifyAccessToken(accessToken, DATA_PLANE_AUDIENCE);
    expect(principal).toMatchObject({ kind: 'servicePrincipal', id: sp.id, assignments: [{ role: 'SESSION_EXECUTOR', scope: '/sessionPools/demo' }] });
  });

  it('rejects a token for another audience, saying which scope to request', async () => {
    const sp = await createTestServicePrincipal();
    const { accessToken } = await issueAccessToken(sp, DATA_PLANE_AUDIENCE);
    await expectAppError(verifyAccessToken(accessToken, MANAGEMENT_AUDIENCE), 'UNAUTHORIZED', /management\.azure\.com\/\.default/);
  });

  it('rejects an expired token', async () => {
    const sp = await createTestServicePrincipal();
    const { kid, privateKey } = await currentSigningKey();
    const past = Math.floor(Date.now() / 1000) - 7200;
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid })
      .setIssuer(tokenIssuer())
      .setAudience(DATA_PLANE_AUDIENCE)
      .setSubject(sp.id)
      .setIssuedAt(past)
      .setExpirationTime(past + 3600)
      .sign(privateKey);
    await expectAppError(verifyAccessToken(expired, DATA_PLANE_AUDIENCE), 'UNAUTHORIZED', /expired/);
  });

  it('rejects a tampered token', async () => {
    const sp = await createTestServicePrincipal();
    const other = await createTestServicePrincipal([{ role: 'OWNER' }]);
    const { accessToken } = await issueAccessToken(sp, DATA_PLANE_AUDIENCE);
    const [header, , signature] = accessToken.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...decodeJwt(accessToken), sub: other.id })).toString('base64url');
    await expectAppError(verifyAccessToken(`${header}.${forgedPayload}.${signature}`, DATA_PLANE_AUDIENCE), 'UNAUTHORIZED', /signature/);
    await expectAppError(verifyAccessToken('not-a-jwt', DATA_PLANE_AUDIENCE), 'UNAUTHORIZED', /malformed/);
  });

  it('rejects a token signed by a key that is not ours', async () => {
    const sp = await createTestServicePrincipal();
    const { generateKeyPair } = await import('jose');
    const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM);
    const { kid } = await currentSigningKey();
    const foreign = await new SignJWT({}).setProtectedHeader({ alg: SIGNING_ALGORITHM, kid }).setIssuer(tokenIssuer()).setAudience(DATA_PLANE_AUDIENCE).setSubject(sp.id).setExpirationTime('1h').sign(privateKey);
    await expectAppError(verifyAccessToken(foreign, DATA_PLANE_AUDIENCE), 'UNAUTHORIZED', /signature/);
  });

  it('rejects tokens of a revoked or expired service principal at once', async () => {
    const sp = await createTestServicePrincipal();
    const { accessToken } = await issueAccessToken(sp, DATA_PLANE_AUDIENCE);
    await revokeServicePrincipal(HOST_OPERATOR, { servicePrincipalId: sp.clientId });
    await expectAppError(verifyAccessToken(accessToken, DATA_PLANE_AUDIENCE), 'UNAUTHORIZED', /revoked/);

    const expiring = await createTestServicePrincipal();
    const second = await issueAccessToken(expiring, DATA_PLANE_AUDIENCE);
    await db().servicePrincipal.update({ where: { id: expiring.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await expectAppError(verifyAccessToken(second.accessToken, DATA_PLANE_AUDIENCE), 'UNAUTHORIZED', /expired/);
  });

  it('keeps one signing key across processes, with the private half encrypted at rest', async () => {
    const { kid } = await currentSigningKey();
    const keys = await publicJwks({ refresh: true });
    expect(keys.map((key) => key.kid)).toContain(kid);
    expect(keys.every((key) => key.d === undefined)).toBe(true);
    const row = await db().signingKey.findUniqueOrThrow({ where: { id: kid }, select: { privateJwkEncrypted: true } });
    expect(row.privateJwkEncrypted).toMatch(/^v1\./);
    expect(row.privateJwkEncrypted).not.toContain('"d"');
    expect(decryptPrivateJwk(row.privateJwkEncrypted)).toHaveProperty('d');
  });

  it('parses the Authorization header, with a hint when "Bearer " is missing', () => {
    expect(bearerTokenFrom('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(() => bearerTokenFrom(null)).toThrow(/Authentication required/);
    expect(() => bearerTokenFrom('abc.def.ghi')).toThrow(/forget to add "Bearer "/);
  });
});
