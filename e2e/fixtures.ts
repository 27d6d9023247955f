import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, type APIRequestContext, type APIResponse, type Page, type Request } from '@playwright/test';

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

/**
 * Signs out through the shell's button and waits until the sign-in page is shown: navigating
 * while the sign-out action is in flight races it (the still-valid cookie sends /login back to
 * the dashboard).
 */
export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
}

/** Runs the operator CLI against the test installation, as an operator on the host would. */
export async function sandpool(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'bin/sandpool.mjs'), ...args], { cwd: repoRoot, env: process.env, timeout: 60_000 });
  return stdout;
}

export type PoolOptions = { readySessions: number; maxSessions: number };

/**
 * A small runc pool made by the operator CLI (this machine has few cores): the pool-page
 * tests watch the real engine fill it.
 */
export async function createPoolWithCli(name: string, options: PoolOptions): Promise<void> {
  await sandpool(
    'pool', 'create', name,
    '--isolation', 'runc',
    '--ready-sessions', String(options.readySessions),
    '--max-sessions', String(options.maxSessions),
    '--cpu', '0.25',
  );
}

/** Runs `code` for `identifier` through the engine's data plane, as an Azure client would, with a Session Executor's token. */
export async function executeInPool(request: APIRequestContext, poolName: string, identifier: string, code: string): Promise<unknown> {
  const created = JSON.parse(await sandpool('sp', 'create', '--name', unique('executor'), '--role', 'Session Executor', '--scope', `/sessionPools/${poolName}`)) as { clientId: string };
  const token = (await sandpool('token', created.clientId)).trim();
  const endpoint = `${process.env.E2E_ENGINE_URL}/subscriptions/${randomUUID()}/resourceGroups/e2e/sessionPools/${poolName}`;
  const response = await request.post(`${endpoint}/code/execute?api-version=2024-02-02-preview&identifier=${encodeURIComponent(identifier)}`, {
    headers: { authorization: `Bearer ${token}` },
    data: { properties: { codeInputType: 'inline', executionType: 'synchronous', code } },
    timeout: 120_000,
  });
  expect(response.status()).toBe(200);
  return ((await response.json()) as { properties: { result: unknown } }).properties.result;
}

/**
 * Sends a server action the page really made (`captured`), with `body` instead of its own body,
 * from another browser context: how a forged request reaches the server, bypassing the UI.
 */
export function replayServerAction(context: APIRequestContext, path: string, captured: Request, body: string): Promise<APIResponse> {
  const headers = captured.headers();
  return context.post(path, {
    headers: {
      'next-action': headers['next-action']!,
      'content-type': headers['content-type']!,
      accept: headers.accept ?? 'text/x-component',
      ...(headers['next-router-state-tree'] ? { 'next-router-state-tree': headers['next-router-state-tree'] } : {}),
    },
    data: Buffer.from(body, 'utf8'),
  });
}
