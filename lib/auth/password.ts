import { hash, verify } from '@node-rs/argon2';

// @node-rs/argon2 declares its Algorithm enum as an ambient const enum, which isolated
// modules cannot read; 2 is its value for Argon2id.
const ARGON2ID = 2;

// OWASP's argon2id baseline (19 MiB, 2 iterations, 1 lane): about 20–40 ms here, which keeps
// sign-in snappy while making offline guessing expensive.
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashSecret(secret: string): Promise<string> {
  return hash(secret, OPTIONS);
}

export async function verifySecret(hashed: string, secret: string): Promise<boolean> {
  try {
    return await verify(hashed, secret);
  } catch {
    return false;
  }
}

// Verifying against a real hash when the account does not exist keeps the response time
// the same, so timing does not reveal which emails or client ids exist.
let decoyHash: Promise<string> | undefined;
export async function verifyAgainstDecoy(secret: string): Promise<false> {
  decoyHash ??= hashSecret('decoy-password-for-constant-time');
  await verifySecret(await decoyHash, secret);
  return false;
}
