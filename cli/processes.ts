// Child processes Sandpool runs (portal, engine): output prefixed with their name, a wait for
// their health endpoint, and a clean stop.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { repoRoot } from './paths';
import { StepError, dim } from './ui';

export type ManagedProcess = { name: string; child: ChildProcess; exited: Promise<number | null>; stop: () => Promise<void> };

export function startProcess(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, options: { quiet?: boolean } = {}): ManagedProcess {
  const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = dim(`[${name}]`);
  for (const stream of [child.stdout, child.stderr]) {
    const lines = createInterface({ input: stream! });
    if (!options.quiet) lines.on('line', (line) => console.log(`${prefix} ${line}`));
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { name, child, exited, stop };
}

/** Resolves when `url` answers 200; fails early if the process exits first. */
export async function waitForHealthy(process: ManagedProcess, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  let hasExited = false;
  void process.exited.then(() => (hasExited = true));
  while (Date.now() < deadline) {
    if (hasExited) {
      throw new StepError(`The ${process.name} stopped while starting (exit code ${process.child.exitCode}).`, 'Its output above says why.');
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
      lastProblem = `HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new StepError(`The ${process.name} did not become healthy at ${url} within ${timeoutMs / 1000}s (${lastProblem}).`, 'Check its output above.');
}
