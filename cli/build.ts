// Builds the portal with `next build`, skipping the build when nothing it depends on changed,
// so a second `npm start` is quick.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './paths';
import { StepError } from './ui';

const INPUTS = ['app', 'components', 'lib', 'next.config.js', 'postcss.config.mjs', 'tsconfig.json', 'package-lock.json', 'prisma/schema.prisma'];
const stampFile = join(repoRoot, '.next', 'sandpool-build-stamp');

function listFiles(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => !entry.name.endsWith('.test.ts') && entry.name !== 'node_modules')
    .flatMap((entry) => listFiles(join(path, entry.name)));
}

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of INPUTS.flatMap((input) => listFiles(join(repoRoot, input))).sort()) {
    hash.update(relative(repoRoot, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

export async function ensurePortalBuild(progress: (detail: string) => void): Promise<{ built: boolean }> {
  const wanted = sourceHash();
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === wanted && existsSync(join(repoRoot, '.next', 'BUILD_ID'))) {
    progress('sources unchanged since the last build; reusing it');
    return { built: false };
  }
  progress('running next build (about a minute on 2 cores)');
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(join(repoRoot, 'node_modules/.bin/next'), ['build'], {
      cwd: repoRoot,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        output.push(line);
        // The interesting progress lines, not every route of the summary table.
        if (/^\s*(▲|✓|Creating|Compiled|Linting|Collecting|Generating|Finalizing|Running)/.test(line)) progress(line.trim());
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', resolve);
  });
  if (code !== 0) {
    console.error(output.slice(-60).join('\n'));
    throw new StepError('`next build` failed (its last lines are above).', 'Fix the reported error, then run the command again.');
  }
  writeFileSync(stampFile, wanted);
  return { built: true };
}
