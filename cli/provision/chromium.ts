// Chromium drives the portal's end-to-end tests. Playwright cannot download its own browser
// here (no internet), so we use Debian's build and point Playwright at it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { StepError } from '../ui';
import { ensureDebianPackages } from './apt';

const execFileAsync = promisify(execFile);

export const CHROMIUM_PATH = '/usr/bin/chromium';

export async function ensureChromium(progress: (msg: string) => void): Promise<{ executablePath: string; version: string }> {
  await ensureDebianPackages(['chromium'], progress);
  const version = await chromiumVersion();
  progress(version);
  return { executablePath: CHROMIUM_PATH, version };
}

async function chromiumVersion(): Promise<string> {
  try {
    const { stdout } = await execFileAsync(CHROMIUM_PATH, ['--version'], { timeout: 20_000 });
    return stdout.trim();
  } catch (error) {
    throw new StepError(
      `\`${CHROMIUM_PATH} --version\` failed: ${error instanceof Error ? error.message : String(error)}`,
      'Reinstall it with `apt-get install --reinstall -y chromium` and check that `chromium --version` works.',
    );
  }
}
