// Keys that sign Sandpool's access tokens. They live in Postgres so that every process (the
// portal, the engine, the CLI) signs and verifies with the same keys and they survive
// restarts; the private half is encrypted with a key derived from AUTH_SECRET.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { db } from '../db';
import { env } from '../env';
import { newId } from '../ids';

export const SIGNING_ALGORITHM = 'ES256';
const KEY_CACHE_MS = 60_000;

function encryptionKey(): Buffer {
  return Buffer.from(hkdfSync('sha256', env().AUTH_SECRET, 'sandpool', 'signing-key-encryption-v1', 32));
}

export function encryptPrivateJwk(jwk: JWK): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', encryptionKey(), iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(jwk), 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
}

export function decryptPrivateJwk(sealed: string): JWK {
  const [version, iv, tag, ciphertext] = sealed.split('.');
  if (version !== 'v1' || !iv || !tag || !ciphertext) throw new Error('Unrecognised signing key format.');
  const decipher = createDecipheriv('aes-256-gcm', encryptionKey(), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    return JSON.parse(Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')) as JWK;
  } catch {
    throw new Error('Cannot decrypt the token signing key: AUTH_SECRET differs from the one it was created with. Restore the original AUTH_SECRET (.sandpool/secrets.json).');
  }
}

type SigningKey = { kid: string; privateKey: CryptoKey };
let signingKey: Promise<SigningKey> | undefined;

async function loadOrCreateSigningKey(): Promise<SigningKey> {
  const row = await db().$transaction(async (tx) => {
    // Portal, engine and CLI may all start at once on a fresh database; only one creates the key.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('sandpool.signing-key'))`;
    const existing = await tx.signingKey.findFirst({
      where: { retiredAt: null },
      orderBy: { createdAt: 'desc' },
      select: { id: true, privateJwkEncrypted: true },
    });
    if (existing) return existing;
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
    const kid = newId('key');
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: 'sig' };
    const privateJwkEncrypted = encryptPrivateJwk(await exportJWK(privateKey));
    await tx.signingKey.create({ data: { id: kid, algorithm: SIGNING_ALGORITHM, publicJwk, privateJwkEncrypted } });
    return { id: kid, privateJwkEncrypted };
  });
  const privateKey = (await importJWK(decryptPrivateJwk(row.privateJwkEncrypted), SIGNING_ALGORITHM)) as CryptoKey;
  return { kid: row.id, privateKey };
}

/** The key that signs new tokens (created on first use). */
export function currentSigningKey(): Promise<SigningKey> {
  signingKey ??= loadOrCreateSigningKey().catch((error: unknown) => {
    signingKey = undefined;
    throw error;
  });
  return signingKey;
}

let publicKeys: { loadedAt: number; keys: JWK[] } | undefined;

/** Public keys of every non-retired signing key, as a JWKS `keys` array (cached for a minute). */
export async function publicJwks(options: { refresh?: boolean } = {}): Promise<JWK[]> {
  if (!options.refresh && publicKeys && Date.now() - publicKeys.loadedAt < KEY_CACHE_MS) return publicKeys.keys;
  const load = () => db().signingKey.findMany({ where: { retiredAt: null }, select: { publicJwk: true }, orderBy: { createdAt: 'desc' } });
  let rows = await load();
  if (rows.length === 0) {
    // Nothing has signed a token yet. Create the key now rather than publish (and cache) an
    // empty key set that would fail to verify the first tokens issued.
    await currentSigningKey();
    rows = await load();
  }
  publicKeys = { loadedAt: Date.now(), keys: rows.map((row) => row.publicJwk as JWK) };
  return publicKeys.keys;
}
