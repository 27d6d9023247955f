import { expect, test } from '@playwright/test';
import { owner, signIn, signOut } from './fixtures';

test('[AUTH] a signed-out visitor is sent to the sign-in page', async ({ page }) => {
  await page.goto('/users');
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});

test('[AUTH] a wrong password gets one generic error and no session', async ({ page }) => {
  await page.goto('/login');
  await page.getByLabel('Email').fill(owner.email);
  await page.getByLabel('Password').fill('definitely not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('main').getByRole('alert')).toHaveText('Incorrect email or password.');
  // An unknown account gets exactly the same words: nothing tells which emails exist.
  await page.getByLabel('Email').fill('nobody@nowhere.example');
  await page.getByLabel('Password').fill('definitely not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('main').getByRole('alert')).toHaveText('Incorrect email or password.');
  await page.goto('/');
  await expect(page).toHaveURL(/\/login/);
});

test('[AUTH] the Owner signs in, sees the shell, and signs out', async ({ page }) => {
  await signIn(page, owner.email, owner.password);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const item of ['Overview', 'Users', 'Service principals', 'Role assignments', 'Audit log', 'Account']) {
    await expect(nav.getByRole('link', { name: item })).toBeVisible();
  }
  await expect(page.getByRole('main').getByText('Owner at /')).toBeVisible();
  await page.screenshot({ path: 'e2e/artifacts/screenshots/overview.png', fullPage: true });
  // Pools is in the navigation and leads to the pool list.
  const poolsLink = nav.getByRole('link', { name: 'Pools', exact: true });
  await expect(poolsLink).toBeVisible();
  await poolsLink.click();
  await expect(page).toHaveURL(/\/pools$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Pools' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Pools' }).or(page.getByText('No pools yet'))).toBeVisible();
  await expect(poolsLink).toHaveAttribute('aria-current', 'page');
  await signOut(page);
  await page.goto('/users');
  await expect(page).toHaveURL(/\/login/);
});
