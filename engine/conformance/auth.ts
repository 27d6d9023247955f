// Every way a data-plane request is refused (reference §2, §4.9): no token, a token altered,
// expired, for another audience or for the management plane → 401; a valid caller without
// Session Executor on this pool (another pool's executor, Reader, Contributor) → 403. Each in
// Azure's error body with x-ms-error-code, and nothing allocated for the identifier. The request
// is LangChain Python's execute (reference §10.1).
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { currentSigningKey, SIGNING_ALGORITHM } from '../../lib/tokens/signing-keys';
import { tokenIssuer } from '../../lib/tokens/access-token';
import { requestToken, servicePrincipalFor, type ConformanceContext } from './context';
import { sendDocumented } from './documented';
import { REQUEST_TIMEOUT_MS } from './replay';
import { pythonJson } from './wire';

/** A token signed with the installation's real key, with the claims `issueAccessToken` sets and the given overrides. */
async function signedToken(servicePrincipalId: string, clientId: string, overrides: { audience: string; expiresAt: number }): Promise<string> {
  const { kid, privateKey } = await currentSigningKey();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ appid: clientId, azp: clientId, oid: servicePrincipalId, idtyp: 'app', ver: '2.0' })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: 'JWT', kid })
    .setIssuer(tokenIssuer())
    .setSubject(servicePrincipalId)
    .setAudience(overrides.audience)
    .setIssuedAt(Math.min(now, overrides.expiresAt - 3600))
    .setNotBefore(Math.min(now, overrides.expiresAt - 3600) - 60)
    .setExpirationTime(overrides.expiresAt)
    .sign(privateKey);
}

type Refusal = { name: string; status: 401 | 403; code: string; message: RegExp; authorization: (context: ConformanceContext) => Promise<string | null> };

const DATA_PLANE_SCOPE = 'https://dynamicsessions.io/.default';

export const REFUSALS: Refusal[] = [
  { name: 'no Authorization header', status: 401, code: 'Unauthorized', message: /Authorization: Bearer/, authorization: async () => null },
  {
    name: 'a token whose signature was altered',
    status: 401,
    code: 'Unauthorized',
    message: /signature is not valid/,
    authorization: async (context) => {
      const token = await context.token(DATA_PLANE_SCOPE);
      const [header, payload, signature] = token.split('.');
      return `Bearer ${header}.${payload}.${signature!.startsWith('A') ? 'B' : 'A'}${signature!.slice(1)}`;
    },
  },
  {
    name: 'an expired token',
    status: 401,
    code: 'Unauthorized',
    message: /expired/,
    authorization: async (context) => `Bearer ${await signedToken(context.executor.servicePrincipalId, context.executor.clientId, { audience: 'https://dynamicsessions.io', expiresAt: Math.floor(Date.now() / 1000) - 120 })}`,
  },
  {
    name: 'a token for another audience',
    status: 401,
    code: 'Unauthorized',
    message: /audience "https:\/\/storage\.azure\.com"/,
    authorization: async (context) => `Bearer ${await signedToken(context.executor.servicePrincipalId, context.executor.clientId, { audience: 'https://storage.azure.com', expiresAt: Math.floor(Date.now() / 1000) + 600 })}`,
  },
  {
    name: 'a management token (scope https://management.azure.com/.default)',
    status: 401,
    code: 'Unauthorized',
    message: /https:\/\/dynamicsessions\.io\/\.default/,
    authorization: async (context) => `Bearer ${await context.token('https://management.azure.com/.default')}`,
  },
  {
    name: "another pool's Session Executor",
    status: 403,
    code: 'Forbidden',
    message: /Session Executor/,
    authorization: async (context) => `Bearer ${await context.token(DATA_PLANE_SCOPE, context.smallExecutor)}`,
  },
  {
    name: 'Reader on the pool',
    status: 403,
    code: 'Forbidden',
    message: /holds Reader/,
    authorization: async (context) => `Bearer ${await requestToken(await servicePrincipalFor('READER', `/sessionPools/${context.pool.name}`), DATA_PLANE_SCOPE)}`,
  },
  {
    name: 'Contributor on the pool',
    status: 403,
    code: 'Forbidden',
    message: /holds Contributor/,
    authorization: async (context) => `Bearer ${await requestToken(await servicePrincipalFor('CONTRIBUTOR', `/sessionPools/${context.pool.name}`), DATA_PLANE_SCOPE)}`,
  },
];

export function refusals(context: ConformanceContext): void {
  describe('refused callers (reference §2, §4.9)', () => {
    for (const refusal of REFUSALS) {
      it(`${refusal.status} ${refusal.code} for ${refusal.name}, in Azure's error shape, nothing allocated`, async () => {
        const identifier = randomUUID();
        const authorization = await refusal.authorization(context);
        const response = await sendDocumented({
          method: 'POST',
          url: `${context.endpoint}/code/execute?identifier=${identifier}&api-version=2024-02-02-preview`,
          headers: [['User-Agent', 'langchain-azure-dynamic-sessions/0.2.0 (Language=Python)'], ...(authorization ? ([['Authorization', authorization]] as [string, string][]) : []), ['Content-Type', 'application/json']],
          body: pythonJson({ properties: { codeInputType: 'inline', executionType: 'synchronous', code: "print('never runs')" } }),
        });
        expect(response.status, response.text).toBe(refusal.status);
        expect(response.json).toEqual({ error: { code: refusal.code, message: expect.stringMatching(refusal.message) } });
        expect(response.headers['x-ms-error-code']).toBe(refusal.code);
        if (refusal.status === 401) expect(response.headers['www-authenticate']).toBe('Bearer');
        const allocated = await context.engine.db.query(`SELECT 1 FROM sessions WHERE pool_id = $1 AND identifier = $2`, [context.pool.id, identifier]);
        expect(allocated.rowCount).toBe(0);
      }, REQUEST_TIMEOUT_MS);
    }
  });
}
