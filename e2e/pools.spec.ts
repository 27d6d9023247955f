import { randomUUID } from 'node:crypto';
import { expect, test, type Page, type Request } from '@playwright/test';
import pg from 'pg';
import { createPoolWithCli, executeInPool, owner, sandpool, signIn, TEST_PASSWORD, unique, uniquePoolName, replayServerAction } from './fixtures';

// The pool pages against the real engine and containerd. Pools stay tiny (runc, one or two
// ready sessions): the machines that run this have two cores.

const SANDBOX_START_MS = 90_000;

function lane(page: Page, state: 'pending' | 'ready' | 'allocated' | 'deleting') {
  return page.getByTestId(`lane-${state}`);
}

async function expectLive(page: Page): Promise<void> {
  await expect(page.getByTestId('live-status')).toHaveAttribute('data-connection', 'live');
}

/** Marks the document, so a later check can prove the page was never reloaded. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
}

async function expectSameDocument(page: Page): Promise<void> {
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
}

async function eventIds(page: Page): Promise<string[]> {
  const ids = await page.getByTestId('event-row').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-event-id')!));
  return ids.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
}

async function laneSessionIds(page: Page): Promise<string[]> {
  return (await page.getByTestId('lane-session').evaluateAll((cards) => cards.map((card) => card.getAttribute('data-session-id')!))).sort();
}

test('[POOLS] the Owner creates a pool (a bad value is refused), watches it fill live, edits it, finds it in the list, and deletes it', async ({ page }) => {
  test.setTimeout(6 * 60_000);
  const name = uniquePoolName();
  await signIn(page, owner.email, owner.password);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pools' }).click();
  await page.getByRole('link', { name: 'Create pool' }).click();

  const form = page.getByRole('form', { name: 'Create pool' });
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Isolation').selectOption('runc');
  await form.getByLabel('Max concurrent sessions').fill('3');
  await form.getByLabel('Ready sessions').fill('1');
  await form.getByLabel('Cooldown (seconds)').fill('5');
  await form.getByLabel('CPU (cores)').fill('0.25');
  await form.getByRole('button', { name: 'Create pool' }).click();
  // The server's answer, under the field it is about, saying what is allowed.
  await expect(form.getByText('Cooldown (seconds) must be a whole number from 10 to 3600.')).toBeVisible();
  await expect(form.getByLabel('Cooldown (seconds)')).toHaveAttribute('aria-invalid', 'true');
  await expect(form.getByRole('alert').filter({ hasText: 'Some fields need attention' })).toBeVisible();
  await page.screenshot({ path: 'e2e/artifacts/screenshots/pool-create-invalid.png', fullPage: true });

  await form.getByLabel('Cooldown (seconds)').fill('120');
  await form.getByRole('button', { name: 'Create pool' }).click();
  await page.waitForURL(`**/pools/${name}?created=1`);
  await markDocument(page);
  await expectLive(page);

  // The engine starts the ready session; the page shows it arrive without reloading.
  await expect(lane(page, 'ready').getByTestId('lane-count')).toHaveText('1', { timeout: SANDBOX_START_MS });
  await expect(lane(page, 'pending').getByTestId('lane-count')).toHaveText('0');
  const log = page.getByRole('table', { name: 'Recent events' });
  await expect(log.getByTestId('event-row')).toHaveCount(2);
  await expect(log.getByText('creating a sandbox')).toBeVisible();
  await expectSameDocument(page);
  await expect(page.getByTestId('occupancy-chart')).toHaveAttribute('aria-label', /now 1 ready and 0 allocated/);
  await expect(page.getByTestId('pool-example')).toContainText(`/sessionPools/${name}/code/execute?api-version=2024-02-02-preview`);
  await page.screenshot({ path: 'e2e/artifacts/screenshots/pool-live.png', fullPage: true });

  // Edit: one more ready session; the page follows without a reload.
  await page.getByRole('link', { name: 'Edit settings' }).click();
  const settings = page.getByRole('form', { name: 'Pool settings' });
  await expect(settings.getByLabel('Name')).toHaveValue(name);
  await expect(settings.getByLabel('Cooldown (seconds)')).toHaveValue('120');
  await settings.getByLabel('Ready sessions').fill('2');
  await page.screenshot({ path: 'e2e/artifacts/screenshots/pool-edit.png', fullPage: true });
  await settings.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(`**/pools/${name}?saved=1`);
  await expect(page.getByRole('status').filter({ hasText: 'Settings saved' })).toBeVisible();
  await expect(page.getByText('2 kept ready')).toBeVisible();
  await expect(lane(page, 'ready').getByTestId('lane-count')).toHaveText('2', { timeout: SANDBOX_START_MS });
  await expectSameDocument(page);

  // The list: counts, capacity, search and sort, all in the URL.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pools' }).click();
  await page.getByRole('search', { name: 'Search pools' }).getByLabel('Name contains').fill(name.slice(0, 8));
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(new RegExp(`/pools\\?q=${name.slice(0, 8)}`));
  const row = page.getByTestId('pool-row').filter({ hasText: name });
  await expect(row.locator('[data-column="ready"]')).toHaveText('2');
  await expect(row.locator('[data-column="allocated"]')).toHaveText('0');
  await expect(row.getByText('0 / 3')).toBeVisible();
  await expect(row.getByRole('group', { name: `Endpoint of ${name}` }).getByRole('button', { name: 'Copy' })).toBeVisible();
  await page.getByRole('link', { name: 'Ready', exact: true }).click();
  await expect(page).toHaveURL(/sort=ready/);
  await expect(page.getByRole('columnheader', { name: 'Ready', exact: true })).toHaveAttribute('aria-sort', 'ascending');
  await page.getByRole('link', { name: 'Ready', exact: true }).click();
  await expect(page.getByRole('columnheader', { name: 'Ready', exact: true })).toHaveAttribute('aria-sort', 'descending');
  await page.screenshot({ path: 'e2e/artifacts/screenshots/pools-list.png', fullPage: true });

  // Delete: the dialog says what will be drained and wants the pool's name typed before its
  // button enables; the lanes empty as the engine drains.
  await row.getByRole('link', { name }).click();
  await expectLive(page);
  await markDocument(page);
  await page.getByRole('button', { name: 'Delete pool' }).click();
  const dialog = page.getByRole('dialog', { name: `Delete pool ${name}?` });
  const confirmation = dialog.getByLabel(`Type ${name} to confirm`);
  const deleteButton = dialog.getByRole('button', { name: `Delete ${name}` });
  await expect(dialog).toContainText('drains and deletes its 2 sessions');
  await expect(dialog.getByRole('list', { name: 'Sessions to drain' }).getByRole('listitem').filter({ hasText: 'Ready' })).toContainText('2');
  await expect(deleteButton).toBeDisabled();
  await confirmation.fill(name.toUpperCase());
  await expect(deleteButton).toBeDisabled();
  // Enter in a form whose submit button is disabled submits nothing.
  await confirmation.press('Enter');
  await expect(dialog).toBeVisible();
  await confirmation.fill(name);
  await expect(deleteButton).toBeEnabled();
  await page.screenshot({ path: 'e2e/artifacts/screenshots/pool-delete-dialog.png' });
  // Cancelling forgets what was typed: the next attempt starts locked again.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await page.getByRole('button', { name: 'Delete pool' }).click();
  await expect(confirmation).toHaveValue('');
  await expect(deleteButton).toBeDisabled();
  await expect(page.getByText('Deleting: draining sessions')).toHaveCount(0);
  await confirmation.fill(name);
  await deleteButton.click();
  await expect(page.getByText('Deleting: draining sessions')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Delete pool' })).toHaveCount(0);
  await expect(page.getByRole('table', { name: 'Recent events' }).getByText('Deleting').first()).toBeVisible({ timeout: SANDBOX_START_MS });
  await expect(page.getByText(`There is no pool named ${name}`)).toBeVisible({ timeout: SANDBOX_START_MS });
  await expectSameDocument(page);
});

test('[POOLS][READER] a Reader sees pools read-only, without identifiers, and a forged update is refused', async ({ browser, request }) => {
  test.setTimeout(4 * 60_000);
  const name = uniquePoolName();
  await createPoolWithCli(name, { readySessions: 1, maxSessions: 2 });
  const identifier = `e2e-identifier-${randomUUID()}`;
  expect(await executeInPool(request, name, identifier, '6 * 7')).toBe(42);

  // The Owner sees the identifier, and submits a change whose request we keep.
  const ownerContext = await browser.newContext();
  const ownerPage = await ownerContext.newPage();
  await signIn(ownerPage, owner.email, owner.password);
  await ownerPage.goto(`/pools/${name}`);
  await expect(lane(ownerPage, 'allocated').getByTestId('session-identifier')).toHaveText(identifier);
  const allocatedId = (await lane(ownerPage, 'allocated').getByTestId('lane-session').getAttribute('data-session-id'))!;
  await ownerPage.getByRole('link', { name: 'Edit settings' }).click();
  const settings = ownerPage.getByRole('form', { name: 'Pool settings' });
  await settings.getByLabel('Max concurrent sessions').fill('3');
  const actionRequest = ownerPage.waitForRequest((candidate: Request) => candidate.method() === 'POST' && candidate.headers()['next-action'] !== undefined);
  await settings.getByRole('button', { name: 'Save changes' }).click();
  const captured = await actionRequest;
  await ownerPage.waitForURL(`**/pools/${name}?saved=1`);

  const readerEmail = `${unique('pool-reader')}@example.com`;
  await sandpool('user', 'create', '--email', readerEmail, '--password', TEST_PASSWORD, '--role', 'Reader');
  const readerContext = await browser.newContext();
  const page = await readerContext.newPage();
  await signIn(page, readerEmail, TEST_PASSWORD);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Pools' }).click();
  await expect(page.getByRole('link', { name: 'Create pool' })).toHaveCount(0);
  await page.getByTestId('pool-row').getByRole('link', { name }).click();
  await expectLive(page);
  await expect(lane(page, 'allocated').getByTestId('lane-count')).toHaveText('1');
  await expect(lane(page, 'allocated').getByTestId('lane-session')).toBeVisible();
  await expect(page.getByText(identifier)).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Edit settings' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Delete pool' })).toHaveCount(0);
  await page.screenshot({ path: 'e2e/artifacts/screenshots/pool-reader.png', fullPage: true });

  // Each lane session links to its page, from the keyboard too; the Reader may open it (it
  // takes pools.read, as this page does) but still sees no identifier there.
  const sessionLink = lane(page, 'allocated').getByRole('link', { name: allocatedId });
  await expect(sessionLink).toHaveAttribute('href', `/sessions/${allocatedId}`);
  await sessionLink.focus();
  await expect(sessionLink).toBeFocused();
  await page.keyboard.press('Enter');
  await page.waitForURL(`**/sessions/${allocatedId}`);
  await expect(page.getByRole('heading', { name: `Session ${allocatedId}` })).toBeVisible();
  await expect(page.getByTestId('identifier-hidden')).toBeVisible();
  await expect(page.getByText(identifier)).toHaveCount(0);
  await page.goBack();
  await expectLive(page);

  // The settings page is the same form, disabled, with nothing to submit.
  await page.getByRole('link', { name: 'View all' }).click();
  const readOnly = page.getByRole('form', { name: 'Pool settings' });
  await expect(readOnly.getByLabel('Max concurrent sessions')).toBeDisabled();
  await expect(readOnly.getByLabel('Max concurrent sessions')).toHaveValue('3');
  await expect(readOnly.getByRole('button')).toHaveCount(0);
  await page.goto('/pools/new');
  await expect(page.getByText('You do not have access to this page')).toBeVisible();

  // The event stream itself carries the allocation, but not the identifier.
  const streamed = await page.evaluate(async (url) => {
    const aborter = new AbortController();
    const response = await fetch(url, { signal: aborter.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('"to":"ALLOCATED"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    aborter.abort();
    return text;
  }, `/api/pools/${name}/events?after=0`);
  expect(streamed).toContain('"to":"ALLOCATED"');
  expect(streamed).not.toContain(identifier);

  // The Reader replays the Owner's server-action call with a bigger cap: refused, nothing changes.
  const body = captured.postDataBuffer()!.toString('utf8').replace(/(name="[^"]*maxConcurrentSessions"\r\n\r\n)3/, '$1600');
  expect(body).toMatch(/maxConcurrentSessions"\r\n\r\n600/);
  const response = await replayServerAction(readerContext.request, `/pools/${name}/edit`, captured, body);
  expect(await response.text()).toContain('pools.write');
  const pools = JSON.parse(await sandpool('pool', 'list', '--json')) as { name: string; maxConcurrentSessions: number }[];
  expect(pools.find((pool) => pool.name === name)?.maxConcurrentSessions).toBe(3);

  await ownerContext.close();
  await readerContext.close();
  await sandpool('pool', 'delete', name);
});

test('[POOLS][LIVE] the live view reconnects after its event stream drops and misses no transition', async ({ browser }) => {
  test.setTimeout(5 * 60_000);
  const name = uniquePoolName();
  await createPoolWithCli(name, { readySessions: 1, maxSessions: 2 });
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, owner.email, owner.password);
  // The stream connections that reached the portal (aborted attempts never do).
  const streams: Request[] = [];
  page.on('response', (response) => {
    if (response.url().includes(`/api/pools/${name}/events`)) streams.push(response.request());
  });
  await page.goto(`/pools/${name}`);
  await expectLive(page);
  await expect(lane(page, 'ready').getByTestId('lane-count')).toHaveText('1', { timeout: SANDBOX_START_MS });
  await markDocument(page);
  const before = await eventIds(page);

  // The stream drops: the portal's shared Postgres connection dies, which ends every open
  // stream, and the browser's attempts to reconnect are aborted for a while.
  const streamUrl = `**/api/pools/${name}/events**`;
  await page.route(streamUrl, (route) => route.abort('connectionreset'));
  const postgres = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await postgres.connect();
  const terminated = await postgres.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'sandpool-portal-live-feed'`);
  await postgres.end();
  expect(terminated.rowCount).toBe(1);
  await expect(page.getByTestId('live-status')).toHaveAttribute('data-connection', 'reconnecting');
  await page.screenshot({ path: 'e2e/artifacts/screenshots/pool-reconnecting.png', fullPage: true });
  // Meanwhile the pool changes: a second sandbox starts and becomes ready.
  await sandpool('pool', 'update', name, '--ready-sessions', '2');
  await expect
    .poll(async () => (JSON.parse(await sandpool('pool', 'list', '--json')) as { name: string; sessions: { ready: number } }[]).find((pool) => pool.name === name)?.sessions.ready, {
      timeout: SANDBOX_START_MS,
      intervals: [1000],
    })
    .toBe(2);
  await expect(lane(page, 'ready').getByTestId('lane-count')).toHaveText('1');

  await page.unroute(streamUrl);
  await expect(page.getByTestId('live-status')).toHaveAttribute('data-connection', 'live', { timeout: 30_000 });
  await expect(lane(page, 'ready').getByTestId('lane-count')).toHaveText('2');
  await expectSameDocument(page);
  // It resumed where it stopped: the reconnection asked for what came after the last event it had.
  expect(streams.length).toBe(2);
  const resumedAfter = (await streams[1]!.allHeaders())['last-event-id'] ?? new URL(streams[1]!.url()).searchParams.get('after')!;
  expect(BigInt(resumedAfter)).toBeGreaterThanOrEqual(BigInt(before.at(-1)!));

  // Nothing lost and nothing twice: the same events and sessions as a freshly loaded page.
  const fresh = await context.newPage();
  await fresh.goto(`/pools/${name}`);
  await expect(lane(fresh, 'ready').getByTestId('lane-count')).toHaveText('2');
  const after = await eventIds(page);
  expect(after).toEqual(await eventIds(fresh));
  expect(after.length).toBe(before.length + 2);
  expect(await laneSessionIds(page)).toEqual(await laneSessionIds(fresh));
  await context.close();
  await sandpool('pool', 'delete', name);
});
