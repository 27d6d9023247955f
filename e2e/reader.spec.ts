import { expect, test, type Request } from '@playwright/test';
import { owner, sandpool, signIn, TEST_PASSWORD, unique, replayServerAction } from './fixtures';

test('[ROLES][READER] a Reader sees read-only pages, and a forged server-action call is refused', async ({ browser }) => {
  const readerEmail = `${unique('reader')}@example.com`;
  await sandpool('user', 'create', '--email', readerEmail, '--password', TEST_PASSWORD, '--role', 'Reader');

  // The Owner submits the create-user form once; we keep the exact request the browser sent.
  const ownerContext = await browser.newContext();
  const ownerPage = await ownerContext.newPage();
  await signIn(ownerPage, owner.email, owner.password);
  await ownerPage.goto('/users');
  const form = ownerPage.getByRole('form', { name: 'Create user' });
  const original = `${unique('template')}@example.com`;
  await form.getByLabel('Email').fill(original);
  await form.getByLabel('Initial password').fill(TEST_PASSWORD);
  const actionRequest = ownerPage.waitForRequest((request: Request) => request.method() === 'POST' && request.headers()['next-action'] !== undefined);
  await form.getByRole('button', { name: 'Create user' }).click();
  const captured = await actionRequest;
  await expect(form.getByRole('status')).toContainText(`Created ${original}`);

  // The Reader sees every page but no way to change anything.
  const readerContext = await browser.newContext();
  const page = await readerContext.newPage();
  await signIn(page, readerEmail, TEST_PASSWORD);
  await page.getByRole('link', { name: 'Users' }).click();
  await expect(page.getByRole('table', { name: 'Users' }).getByText(readerEmail)).toBeVisible();
  await expect(page.getByRole('form', { name: 'Create user' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^(Disable|Enable) / })).toHaveCount(0);
  await page.getByRole('link', { name: 'Service principals' }).click();
  await expect(page.getByRole('heading', { name: 'Service principals', level: 1 })).toBeVisible();
  await expect(page.getByRole('form', { name: 'Create service principal' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Revoke / })).toHaveCount(0);
  await page.getByRole('link', { name: 'Role assignments' }).click();
  await expect(page.getByTestId('role-assignment-row').first()).toBeVisible();
  await expect(page.getByRole('form', { name: 'Add role assignment' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: /^Remove / })).toHaveCount(0);
  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByTestId('audit-row').first()).toBeVisible();
  await page.screenshot({ path: 'e2e/artifacts/screenshots/reader-role-assignments.png', fullPage: true });

  // Now the Reader replays the Owner's server-action call with their own cookie.
  const forgedEmail = `${unique('forged')}@example.com`;
  const body = captured.postDataBuffer()!.toString('utf8').replaceAll(original, forgedEmail);
  expect(body).toContain(forgedEmail);
  const response = await replayServerAction(readerContext.request, '/users', captured, body);
  expect(await response.text()).toContain('principals.write');
  const users = JSON.parse(await sandpool('user', 'list', '--json')) as { email: string }[];
  expect(users.map((user) => user.email)).toContain(original);
  expect(users.map((user) => user.email)).not.toContain(forgedEmail);

  // The refusal is in the audit log, attributed to the Reader.
  await ownerPage.goto('/audit');
  await expect(ownerPage.getByTestId('audit-row').filter({ hasText: readerEmail }).filter({ hasText: 'Denied' }).first()).toBeVisible();
  await ownerContext.close();
  await readerContext.close();
});
