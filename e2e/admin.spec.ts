import { expect, test } from '@playwright/test';
import { owner, signIn, signOut, TEST_PASSWORD, unique, uniquePoolName } from './fixtures';

test.beforeEach(async ({ page }) => {
  await signIn(page, owner.email, owner.password);
});

test('[USERS] the Owner creates a user; bad and duplicate input get field errors', async ({ page }) => {
  const email = `${unique('ada')}@example.com`;
  await page.getByRole('link', { name: 'Users' }).click();
  const form = page.getByRole('form', { name: 'Create user' });

  await form.getByLabel('Email').fill('not-an-email');
  await form.getByLabel('Initial password').fill('short');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.getByText('Enter a valid email address, like ada@example.com.')).toBeVisible();
  await expect(form.getByText(/Use at least 12 characters/)).toBeVisible();

  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Initial password').fill(TEST_PASSWORD);
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.getByRole('status')).toContainText(`Created ${email}`);
  await expect(page.getByRole('table', { name: 'Users' }).getByText(email)).toBeVisible();

  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Initial password').fill(TEST_PASSWORD);
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.getByText('This email is already taken.')).toBeVisible();
  await page.screenshot({ path: 'e2e/artifacts/screenshots/users.png', fullPage: true });
});

test('[SP][ROLES] the Owner creates a service principal, sees its secret once, and assigns Session Executor on a pool', async ({ page, request }) => {
  const name = unique('agent');
  const pool = uniquePoolName();
  await page.getByRole('link', { name: 'Service principals' }).click();
  const form = page.getByRole('form', { name: 'Create service principal' });
  await form.getByLabel('Name').fill(name);
  await form.getByRole('button', { name: 'Create service principal' }).click();
  const clientId = (await page.getByTestId('new-client-id').textContent())!;
  const clientSecret = (await page.getByTestId('new-client-secret').textContent())!;
  expect(clientId).toMatch(/^[0-9a-f-]{36}$/);
  expect(clientSecret).toMatch(/^spsec_/);
  await expect(page.getByRole('table', { name: 'Service principals' }).getByText(clientId)).toBeVisible();
  await page.screenshot({ path: 'e2e/artifacts/screenshots/service-principals.png', fullPage: true });

  // Shown once: after a reload the secret is nowhere on the page.
  await page.reload();
  await expect(page.getByText(clientSecret)).toHaveCount(0);
  await expect(page.getByRole('table', { name: 'Service principals' }).getByText(`secret …${clientSecret.slice(-4)}`)).toBeVisible();

  await page.getByRole('link', { name: 'Role assignments' }).click();
  const assign = page.getByRole('form', { name: 'Add role assignment' });
  await assign.getByLabel('Who').selectOption({ label: `${name} (${clientId})` });
  await assign.getByLabel('Role').selectOption({ label: 'Session Executor' });
  await assign.getByLabel('Scope').fill('/sessionPools/Not-Valid');
  await assign.getByRole('button', { name: 'Add role assignment' }).click();
  await expect(assign.getByText(/is not a valid pool name/)).toBeVisible();
  await assign.getByLabel('Scope').fill(`/sessionPools/${pool}`);
  await assign.getByRole('button', { name: 'Add role assignment' }).click();
  await expect(assign.getByRole('status')).toContainText(`Assigned Session Executor to ${clientId} at /sessionPools/${pool}`);
  await assign.getByRole('button', { name: 'Add role assignment' }).click();
  await expect(assign.getByText(/already has the Session Executor role/)).toBeVisible();

  // Filter by scope shows just this pool's assignment.
  await page.goto(`/role-assignments?scope=${encodeURIComponent(`/sessionPools/${pool}`)}`);
  await expect(page.getByTestId('role-assignment-row')).toHaveCount(1);
  await expect(page.getByTestId('role-assignment-row')).toContainText(clientId);
  await page.screenshot({ path: 'e2e/artifacts/screenshots/role-assignments.png', fullPage: true });

  // The new service principal gets a token at the token endpoint and it carries the pool role.
  const tokenResponse = await request.post('/oauth2/v2.0/token', {
    form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'https://management.azure.com/.default' },
  });
  expect(tokenResponse.status()).toBe(200);
  const { access_token: managementToken } = (await tokenResponse.json()) as { access_token: string };
  const me = await request.get('/api/v1/me', { headers: { authorization: `Bearer ${managementToken}` } });
  expect(me.status()).toBe(200);
  expect(await me.json()).toMatchObject({ kind: 'servicePrincipal', name: clientId, roleAssignments: [{ role: 'Session Executor', scope: `/sessionPools/${pool}` }] });

  // The audit log recorded all of it.
  await page.getByRole('link', { name: 'Audit log' }).click();
  const rows = page.getByTestId('audit-row');
  await expect(rows.filter({ hasText: 'servicePrincipal.create' }).filter({ hasText: clientId })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'roleAssignment.create' }).filter({ hasText: `/sessionPools/${pool}` }).filter({ hasText: 'Succeeded' })).toHaveCount(1);
  await expect(rows.filter({ hasText: 'roleAssignment.create' }).filter({ hasText: 'Failed' }).first()).toBeVisible();
  await page.screenshot({ path: 'e2e/artifacts/screenshots/audit.png', fullPage: true });

  // Revoking it stops its secret and the token it already holds.
  await page.getByRole('link', { name: 'Service principals' }).click();
  page.once('dialog', (dialog) => void dialog.accept());
  await page.getByRole('button', { name: `Revoke ${name}` }).click();
  await expect(page.getByRole('table', { name: 'Service principals' }).getByRole('row').filter({ hasText: clientId })).toContainText('Revoked');
  const afterRevoke = await request.get('/api/v1/me', { headers: { authorization: `Bearer ${managementToken}` } });
  expect(afterRevoke.status()).toBe(401);
  const refused = await request.post('/oauth2/v2.0/token', {
    form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'https://dynamicsessions.io/.default' },
  });
  expect(refused.status()).toBe(401);
  expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
});

test('[ACCOUNT] a user changes their password and must sign in again with the new one', async ({ page }) => {
  const email = `${unique('grace')}@example.com`;
  await page.getByRole('link', { name: 'Users' }).click();
  const form = page.getByRole('form', { name: 'Create user' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Initial password').fill(TEST_PASSWORD);
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(form.getByRole('status')).toContainText(`Created ${email}`);
  await signOut(page);

  await signIn(page, email, TEST_PASSWORD);
  await expect(page.getByText('You have no roles yet')).toBeVisible();
  await page.getByRole('link', { name: 'Account' }).click();
  const change = page.getByRole('form', { name: 'Change password' });
  await change.getByLabel('Current password').fill(TEST_PASSWORD);
  await change.getByLabel('New password', { exact: true }).fill('a fresh new password');
  await change.getByLabel('Repeat new password').fill('a different password');
  await change.getByRole('button', { name: 'Change password' }).click();
  await expect(change.getByText('The two new passwords differ; type the same password twice.')).toBeVisible();
  await change.getByLabel('Repeat new password').fill('a fresh new password');
  await change.getByRole('button', { name: 'Change password' }).click();
  await expect(page).toHaveURL(/notice=password-changed/);
  await signIn(page, email, 'a fresh new password');
});
