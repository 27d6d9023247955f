// Where Sandpool keeps its state on the host. Everything lives under one folder
// (SANDPOOL_HOME, default `.sandpool/` in the repository) so that a second start finds it
// and an operator can back it up or remove it in one place.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const sandpoolHome = resolve(process.env.SANDPOOL_HOME ?? join(repoRoot, '.sandpool'));
export const logsDir = join(sandpoolHome, 'logs');

export function ensureDir(path: string, mode = 0o700): string {
  mkdirSync(path, { recursive: true, mode });
  return path;
}
