import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, type Page } from '@playwright/test';

const run = promisify(execFile);
const repoRoot = join(import.meta.dirname, '..');

export const owner = { email: process.env.E2E_OWNER_EMAIL!, password: process.env.E2E_OWNER_PASSWORD! };
export const TEST_PASSWORD = 'playwright test password';

export function unique(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export function uniquePoolName(): string {
  return `pool${randomBytes(4).toString('hex')}`;
}

/** Signs in through the real form. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signed-in-as')).toHaveText(email);
}

/** Runs the operator CLI against the test installation, as an operator on the host would. */
export async function sandpool(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'bin/sandpool.mjs'), ...args], { cwd: repoRoot, env: process.env, timeout: 60_000 });
  return stdout;
}
