// Installs the Debian packages Sandpool needs on the host (containerd, runc, gVisor, Chromium…).
// The common case — everything already installed — must cost a few milliseconds, so we ask
// dpkg first and only touch apt when something is really missing.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDir, logsDir } from '../paths';
import { StepError } from '../ui';

const execFileAsync = promisify(execFile);

/** How long apt waits for another apt/dpkg to release its lock before we give up. */
const LOCK_WAIT_SECONDS = 120;
/** Progress lines are throttled to this interval so a 100-package install does not flood the console. */
const PROGRESS_INTERVAL_MS = 2_000;
/** When apt prints nothing for this long (slow download), we still say that it is alive. */
const HEARTBEAT_INTERVAL_MS = 10_000;

export const aptLogPath = () => join(logsDir, 'apt.log');

/** Returns the packages of `packages` that dpkg does not report as fully installed. */
export async function missingDebianPackages(packages: string[]): Promise<string[]> {
  // One dpkg-query for all names. Unknown names are reported on stderr with a non-zero exit, so
  // we read stdout regardless of the exit code and treat every absent line as "missing".
  let stdout = '';
  try {
    ({ stdout } = await execFileAsync('dpkg-query', ['-W', '-f=${Package}\t${Status}\n', ...packages]));
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string };
    if (failed.code === 'ENOENT') {
      throw new StepError('dpkg-query was not found: Sandpool provisions hosts with Debian packages.', 'Run Sandpool on Debian 12 (bookworm) or a Debian-based host.');
    }
    stdout = failed.stdout ?? '';
  }
  const installed = new Set(
    stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([, status]) => status?.trim() === 'install ok installed')
      .map(([name]) => name),
  );
  return packages.filter((name) => !installed.has(name));
}

/**
 * Makes sure every package in `packages` is installed, installing the missing ones with apt-get.
 * Returns the packages that this call installed (empty when nothing was missing).
 */
export async function ensureDebianPackages(packages: string[], progress: (msg: string) => void): Promise<{ installed: string[] }> {
  const missing = await missingDebianPackages(packages);
  if (missing.length === 0) return { installed: [] };
  if (process.getuid?.() !== 0) {
    throw new StepError(
      `Missing Debian packages: ${missing.join(', ')}. Installing them needs root.`,
      `Run \`sudo apt-get install -y --no-install-recommends ${missing.join(' ')}\`, then start Sandpool again.`,
    );
  }
  // apt/dpkg hold one global lock: callers running in parallel (containerd and Chromium, say)
  // would fail on each other's lock, so installs from this process run one after the other.
  return serialized(async () => {
    const stillMissing = await missingDebianPackages(missing);
    if (stillMissing.length === 0) return { installed: [] };
    await updatePackageListsOnce(progress);
    await installPackages(stillMissing, progress);
    const notInstalled = await missingDebianPackages(stillMissing);
    if (notInstalled.length > 0) {
      throw new StepError(
        `apt-get finished but these packages are still not installed: ${notInstalled.join(', ')} (full output in ${aptLogPath()}).`,
        `Run \`apt-get install -y ${notInstalled.join(' ')}\` by hand to see why.`,
      );
    }
    return { installed: stillMissing };
  });
}

let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(task: () => Promise<T>): Promise<T> {
  const run = queue.then(task, task);
  queue = run.catch(() => undefined);
  return run;
}

// The package lists only need refreshing once per process; a failed refresh is retried next time.
let updated: Promise<void> | undefined;
function updatePackageListsOnce(progress: (msg: string) => void): Promise<void> {
  updated ??= runApt(['update'], 'apt-get update', progress).catch((error: unknown) => {
    updated = undefined;
    throw error;
  });
  return updated;
}

async function installPackages(packages: string[], progress: (msg: string) => void): Promise<void> {
  progress(`installing ${packages.join(', ')} with apt-get (log: ${aptLogPath()})`);
  const startedAt = performance.now();
  await runApt(['install', '-y', '--no-install-recommends', ...packages], `apt-get install ${packages.join(' ')}`, progress, packages);
  progress(`apt-get installed ${packages.join(', ')} in ${((performance.now() - startedAt) / 1000).toFixed(1)}s`);
}

/** Runs apt-get, streaming a throttled progress, and turns its known failures into fixable errors. */
async function runApt(args: string[], title: string, progress: (msg: string) => void, packages: string[] = []): Promise<void> {
  const log = openAptLog(title);
  const reporter = throttledReporter(progress);
  const output: string[] = [];
  const child = spawn('apt-get', ['-o', `DPkg::Lock::Timeout=${LOCK_WAIT_SECONDS}`, ...args], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onLine = (line: string) => {
    output.push(line);
    reporter.line(line);
  };
  forwardLines(child.stdout, log, onLine);
  forwardLines(child.stderr, log, onLine);
  try {
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (exitCode !== 0) throw aptFailure(title, output, packages);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') throw new StepError('apt-get was not found.', 'Run Sandpool on Debian 12 (bookworm) or a Debian-based host.');
    throw error;
  } finally {
    reporter.stop();
    log.end();
  }
}

function openAptLog(title: string): WriteStream {
  ensureDir(logsDir);
  const log = createWriteStream(aptLogPath(), { flags: 'a' });
  log.write(`\n=== ${new Date().toISOString()} ${title}\n`);
  return log;
}

function forwardLines(stream: NodeJS.ReadableStream, log: WriteStream, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    log.write(chunk);
    const lines = (pending + chunk).split(/\r?\n/);
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line.trim());
  });
  stream.on('end', () => {
    if (pending.trim()) onLine(pending.trim());
  });
}

/** Prints at most one apt line every PROGRESS_INTERVAL_MS, and a heartbeat when apt goes quiet. */
function throttledReporter(progress: (msg: string) => void) {
  const started = Date.now();
  let lastPrinted = 0;
  let latest = '';
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  const heartbeat = setInterval(() => {
    if (Date.now() - lastPrinted < HEARTBEAT_INTERVAL_MS) return;
    lastPrinted = Date.now();
    progress(`still running (${elapsed()})${latest ? `, last: ${latest}` : ''}`);
  }, HEARTBEAT_INTERVAL_MS);
  heartbeat.unref();
  return {
    line(line: string) {
      // Download and unpack lines say what apt is doing; the rest (dependency listings) is noise.
      if (!/^(Get:|Hit:|Fetched|Unpacking|Setting up|Waiting for cache lock|E:|W:)/.test(line)) return;
      latest = line;
      if (line.startsWith('E:') || Date.now() - lastPrinted >= PROGRESS_INTERVAL_MS) {
        lastPrinted = Date.now();
        progress(line);
      }
    },
    stop: () => clearInterval(heartbeat),
  };
}

/** Maps apt-get's output to a StepError that names the failing package and the fix. */
function aptFailure(title: string, output: string[], packages: string[]): StepError {
  const text = output.join('\n');
  const errors = output.filter((line) => line.startsWith('E:'));
  const summary = errors.length > 0 ? errors.join(' ') : output.slice(-5).join(' ');
  const logHint = `full output in ${aptLogPath()}`;

  if (/Could not get lock|Unable to acquire the dpkg frontend lock|Unable to lock directory/.test(text)) {
    const holder = /held by process (\d+)(?: \(([^)]+)\))?/.exec(text);
    const who = holder ? `process ${holder[1]}${holder[2] ? ` (${holder[2]})` : ''}` : 'another process';
    // apt waits LOCK_WAIT_SECONDS for dpkg's lock, but fails at once on the package lists' lock.
    const waited = /dpkg\/lock/.test(text) ? ` (waited ${LOCK_WAIT_SECONDS}s)` : '';
    return new StepError(
      `${title} failed: the apt/dpkg lock is held by ${who}${waited}.`,
      'Wait for the other apt-get/dpkg run to finish (or stop it if it is stuck), then start Sandpool again.',
    );
  }
  if (/dpkg was interrupted/.test(text)) {
    return new StepError(`${title} failed: an earlier dpkg run was interrupted.`, 'Run `dpkg --configure -a`, then start Sandpool again.');
  }
  const unknown = packages.filter((name) =>
    new RegExp(`Unable to locate package ${escapeRegExp(name)}\\b|Package '?${escapeRegExp(name)}'? has no installation candidate`).test(text),
  );
  if (unknown.length > 0) {
    return new StepError(
      `${title} failed: apt does not know the package(s) ${unknown.join(', ')} (${summary}).`,
      'Check that the Debian bookworm "main" repository is configured in /etc/apt/sources.list(.d) and reachable, then run `apt-get update`.',
    );
  }
  if (/Failed to fetch|Temporary failure resolving|Could not connect|Connection failed/.test(text)) {
    return new StepError(
      `${title} failed: the Debian package mirror could not be reached (${summary}; ${logHint}).`,
      'Check network access to the mirror listed in /etc/apt/sources.list(.d), then start Sandpool again.',
    );
  }
  const failing = /(?:Errors were encountered while processing|error processing package)\s*:?\s*([a-z0-9][a-z0-9+.-]+)/.exec(text)?.[1];
  return new StepError(
    `${title} failed${failing ? ` while processing package ${failing}` : ''}: ${summary} (${logHint}).`,
    `Read ${aptLogPath()}, fix the cause, and run \`apt-get install -y ${packages.join(' ') || '<package>'}\` by hand to check.`,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
