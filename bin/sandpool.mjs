#!/usr/bin/env node
// Entry point for `npm start`, `npm test` and the `sandpool` operator CLI.
// Plain JavaScript on purpose: on a fresh clone nothing is installed yet, so this file
// installs the npm dependencies (when missing or out of date) before loading the
// TypeScript CLI through tsx.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lockFile = join(root, 'package-lock.json');
const stampFile = join(root, 'node_modules', '.sandpool-install-stamp');

function lockHash() {
  return createHash('sha256').update(readFileSync(lockFile)).digest('hex');
}

function ensureDependencies() {
  const wanted = lockHash();
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === wanted) return;
  console.log('→ Installing npm dependencies (npm ci)…');
  const started = Date.now();
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('\nError: `npm ci` failed (see its output above).');
    console.error('How to fix: check that the npm registry is reachable (`npm ping`) and that package-lock.json is intact, then run the command again.');
    process.exit(result.status ?? 1);
  }
  writeFileSync(stampFile, wanted);
  console.log(`✓ Installed npm dependencies (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

ensureDependencies();
await import('./register.mjs');
await import(pathToFileURL(join(root, 'cli/main.ts')).href);
