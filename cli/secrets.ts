// Installation secrets, generated on first start and kept (mode 0600) in SANDPOOL_HOME, so a
// second start keeps every session cookie and token signing key valid. AUTH_SECRET from the
// environment wins, for operators who manage secrets elsewhere.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ensureDir, sandpoolHome } from './paths';
import { StepError } from './ui';

const secretsSchema = z.object({ authSecret: z.string().min(32) });
export type Secrets = z.infer<typeof secretsSchema>;

export function loadOrCreateSecrets(): Secrets {
  if (process.env.AUTH_SECRET) return { authSecret: process.env.AUTH_SECRET };
  const file = join(ensureDir(sandpoolHome), 'secrets.json');
  if (existsSync(file)) {
    const parsed = secretsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) {
      throw new StepError(`${file} is damaged.`, 'Restore it from a backup. Deleting it signs everyone out and invalidates all tokens.');
    }
    return parsed.data;
  }
  const secrets: Secrets = { authSecret: randomBytes(48).toString('base64url') };
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}
