// Access tokens: short-lived JWTs signed with the installation's keys. Service principals get
// them from the token endpoint, shaped like Entra ID's app-only tokens so Azure tooling handles
// them as usual. Signed-in people get data-plane tokens too, but only from the portal's own
// server code (the code console), which uses them on their behalf and never hands them out.
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { Principal } from '../auth/access';
import { env } from '../env';
import { AppError } from '../errors';
import { loadServicePrincipal, loadUserPrincipal } from '../services/principals';
import { DATA_PLANE_AUDIENCE, MANAGEMENT_AUDIENCE, type TokenAudience } from './audiences';
import { currentSigningKey, publicJwks, SIGNING_ALGORITHM } from './signing-keys';

/** Entra's default lifetime for app-only tokens is about an hour; clients refresh before expiry. */
export const ACCESS_TOKEN_LIFETIME_SECONDS = 3600;

export function tokenIssuer(): string {
  return `${env().SANDPOOL_PUBLIC_URL.replace(/\/+$/, '')}/`;
}

export async function issueAccessToken(
  servicePrincipal: { id: string; clientId: string },
  audience: TokenAudience,
): Promise<{ accessToken: string; expiresIn: number; expiresOn: number }> {
  const { kid, privateKey } = await currentSigningKey();
  const now = Math.floor(Date.now() / 1000);
  const accessToken = await new SignJWT({
    appid: servicePrincipal.clientId,
    azp: servicePrincipal.clientId,
    oid: servicePrincipal.id,
    idtyp: 'app',
    ver: '2.0',
  })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: 'JWT', kid })
    .setIssuer(tokenIssuer())
    .setSubject(servicePrincipal.id)
    .setAudience(audience)
    .setIssuedAt(now)
    .setNotBefore(now - 60)
    .setExpirationTime(now + ACCESS_TOKEN_LIFETIME_SECONDS)
    .sign(privateKey);
  return { accessToken, expiresIn: ACCESS_TOKEN_LIFETIME_SECONDS, expiresOn: now + ACCESS_TOKEN_LIFETIME_SECONDS };
}

/**
 * A person's data-plane token lives five minutes: the portal mints one per call to the engine,
 * and a short life bounds what a leaked one could do (disabling the person or changing their
 * password ends it at once anyway, see verifyAccessToken).
 */
export const USER_TOKEN_LIFETIME_SECONDS = 300;
/** Entra marks a token's kind of identity in `idtyp`: "app" for service principals, "user" for people. */
const USER_IDENTITY_TYPE = 'user';

/**
 * A data-plane token for a signed-in person, for the portal to call the engine with their
 * identity. `authTime` is when their portal session began (epoch ms, the cookie's own claim,
 * ADR 0003): a password change after it ends the token as it ends the session.
 */
export async function issueUserDataPlaneToken(user: { id: string; authTime: number }): Promise<string> {
  const { kid, privateKey } = await currentSigningKey();
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ oid: user.id, idtyp: USER_IDENTITY_TYPE, authTime: user.authTime, ver: '2.0' })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: 'JWT', kid })
    .setIssuer(tokenIssuer())
    .setSubject(user.id)
    .setAudience(DATA_PLANE_AUDIENCE)
    .setIssuedAt(now)
    .setNotBefore(now - 60)
    .setExpirationTime(now + USER_TOKEN_LIFETIME_SECONDS)
    .sign(privateKey);
}

/**
 * Whether a token claims to speak for a person. Read without verifying the signature, so only
 * to decide how to verify it: verifyAccessToken checks it either way.
 */
export function isUserToken(token: string): boolean {
  try {
    return decodeJwt(token).idtyp === USER_IDENTITY_TYPE;
  } catch {
    return false;
  }
}

const HOW_TO_GET_TOKEN: Record<TokenAudience, string> = {
  [DATA_PLANE_AUDIENCE]: 'Request a token with scope https://dynamicsessions.io/.default.',
  [MANAGEMENT_AUDIENCE]: 'Request a token with scope https://management.azure.com/.default.',
};

function unauthorized(message: string): AppError {
  return new AppError('UNAUTHORIZED', message);
}

async function verifySignature(token: string, audience: TokenAudience) {
  const options = { issuer: tokenIssuer(), audience, algorithms: [SIGNING_ALGORITHM] };
  try {
    return await jwtVerify(token, createLocalJWKSet({ keys: await publicJwks() }), options);
  } catch (error) {
    // A key created after our cache was filled (another process rotated it): refresh once.
    if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
    return jwtVerify(token, createLocalJWKSet({ keys: await publicJwks({ refresh: true }) }), options);
  }
}

/**
 * Verifies a bearer token for `audience` and returns the principal it speaks for (a service
 * principal, or a person for the portal's own data-plane tokens), with role assignments freshly
 * read from the database. Throws UNAUTHORIZED with a message saying what was wrong and how to
 * get a good token.
 */
export async function verifyAccessToken(token: string, audience: TokenAudience): Promise<Principal> {
  let payload: JWTPayload;
  try {
    ({ payload } = await verifySignature(token, audience));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      throw unauthorized(`The access token expired at ${new Date(Number(error.payload.exp) * 1000).toISOString()}. ${HOW_TO_GET_TOKEN[audience]}`);
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') {
      throw unauthorized(`The access token is for audience "${String(error.payload.aud)}", but this endpoint needs "${audience}". ${HOW_TO_GET_TOKEN[audience]}`);
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'iss') {
      throw unauthorized(`The access token was issued by "${String(error.payload.iss)}", not by this Sandpool (${tokenIssuer()}).`);
    }
    if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) {
      throw unauthorized('The access token signature is not valid: it was altered or was not issued by this Sandpool.');
    }
    if (error instanceof joseErrors.JOSEError) {
      throw unauthorized(`The access token is malformed (${error.message}). Send "Authorization: Bearer <token>" with a token from the token endpoint.`);
    }
    throw error;
  }
  const subject = payload.sub;
  if (payload.idtyp === USER_IDENTITY_TYPE) {
    const authTime = payload.authTime;
    const person = subject && typeof authTime === 'number' ? await loadUserPrincipal(subject, authTime) : null;
    if (!person) {
      throw unauthorized('The person this token speaks for has been disabled, changed their password since signing in, or no longer exists. Sign in to the portal again.');
    }
    return person;
  }
  const principal = subject ? await loadServicePrincipal(subject) : null;
  if (!principal) {
    throw unauthorized('The service principal this token was issued to has been revoked, has expired, or no longer exists.');
  }
  return principal;
}

/** Extracts the token from an Authorization header, with a helpful error when it is malformed. */
export function bearerTokenFrom(header: string | null): string {
  if (!header) throw unauthorized('Authentication required: send "Authorization: Bearer <access token>".');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw unauthorized('Misconfigured Authorization header. Did you forget to add "Bearer " before the token?');
  return match[1]!;
}
