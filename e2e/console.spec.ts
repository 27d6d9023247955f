import { readFile } from 'node:fs/promises';
import { expect, test, type Page, type Request } from '@playwright/test';
import { owner, sandpool, signIn, TEST_PASSWORD, unique, uniquePoolName, replayServerAction } from './fixtures';

// The code console and the session page against the real engine and containerd: code runs
// through the engine's data plane as the signed-in person. One tiny runc pool (one session at
// most, one kept ready) serves every test, in order.
test.describe.configure({ mode: 'serial' });

const poolName = uniquePoolName();
/** The session the console's own identifier got in the first test. */
let firstSessionId = '';

test.beforeAll(async () => {
  await sandpool('pool', 'create', poolName, '--isolation', 'runc', '--ready-sessions', '1', '--max-sessions', '1', '--cooldown', '300', '--cpu', '0.25', '--memory', '0.5');
});

test.afterAll(async () => {
  await sandpool('pool', 'delete', poolName);
});

async function openConsole(page: Page): Promise<void> {
  await page.goto(`/console?pool=${poolName}`);
  await expect(page.getByRole('textbox', { name: 'Python code' })).toBeVisible();
}

/** Replaces the editor's text. insertText types it as one input, so no bracket is auto-closed twice. */
async function setCode(page: Page, code: string): Promise<void> {
  const editor = page.getByRole('textbox', { name: 'Python code' });
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(code);
}

/** Runs the editor's code with the Run button and returns the card of that run once it is in. */
async function run(page: Page, code: string, number: number, how: 'button' | 'keyboard' = 'button') {
  await setCode(page, code);
  if (how === 'keyboard') await page.keyboard.press('ControlOrMeta+Enter');
  else await page.getByRole('button', { name: 'Run', exact: true }).click();
  const card = page.getByRole('article', { name: `Run ${number}`, exact: true });
  await expect(card).toBeVisible({ timeout: 120_000 });
  return card;
}

test('[CONSOLE] runs code twice with the variable kept, draws a plot, shows a traceback and a timed-out run', async ({ page }) => {
  test.setTimeout(240_000); // the first run may wait for the pool's sandbox to start
  await signIn(page, owner.email, owner.password);
  await page.getByRole('link', { name: 'Console' }).click();
  await expect(page.getByRole('heading', { name: 'Code console', level: 1 })).toBeVisible();
  await page.getByLabel('Pool').selectOption(poolName);

  const first = await run(page, 'answer = 41\nprint("set")', 1, 'keyboard');
  await expect(first.getByText('Succeeded')).toBeVisible();
  await expect(first.getByTestId('stdout')).toHaveText('set');
  await expect(first.getByTestId('session-started')).toBeVisible();
  firstSessionId = (await first.getByRole('link', { name: /^Session ses_/ }).textContent())!.replace('Session ', '');

  const second = await run(page, 'answer + 1', 2);
  await expect(second.getByTestId('result')).toHaveText('42');
  await expect(second.getByRole('link', { name: `Session ${firstSessionId}` })).toBeVisible();
  await expect(second.getByTestId('session-recycled')).toHaveCount(0);
  await expect(second.getByText(/^ran \d+ ms · round trip/)).toBeVisible();

  const plot = await run(page, "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2, 3], [1, 4, 9])\nplt.show()", 3);
  const figure = plot.getByRole('img', { name: 'Figure produced by the code' });
  await expect(figure).toBeVisible();
  expect(await figure.evaluate((image: HTMLImageElement) => image.naturalWidth)).toBeGreaterThan(100);

  const failing = await run(page, 'def divide():\n    return 1 / 0\ndivide()', 4);
  await expect(failing.getByText('Failed', { exact: true })).toBeVisible();
  await expect(failing.getByTestId('stderr')).toContainText('ZeroDivisionError');
  await expect(failing.getByTestId('stderr')).toContainText('Traceback');

  await page.getByLabel('Timeout (s)').fill('2');
  const slow = await run(page, 'import time\ntime.sleep(30)', 5);
  await expect(slow.getByText('Timed out', { exact: true })).toBeVisible();
  await expect(slow.getByTestId('timeout-notice')).toContainText('The run timed out.');
  await page.getByLabel('Timeout (s)').fill('60');

  // The kernel was interrupted, not replaced: the variable is still there.
  const after = await run(page, 'answer', 6);
  await expect(after.getByTestId('result')).toHaveText('41');
  await page.screenshot({ path: 'e2e/artifacts/screenshots/console.png', fullPage: true });
});

test('[CONSOLE] uploads a file that code reads, and downloads a file that code wrote', async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, owner.email, owner.password);
  await openConsole(page);
  const files = page.getByRole('list', { name: 'Files in /mnt/data' });
  await page.getByLabel('File to upload').setInputFiles({ name: 'measurements.csv', mimeType: 'text/csv', buffer: Buffer.from('city,rain\nBergen,2250\nLima,6\n') });
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(files.getByText('measurements.csv')).toBeVisible({ timeout: 60_000 });

  const read = await run(page, "import pandas as pd\nframe = pd.read_csv('/mnt/data/measurements.csv')\nint(frame['rain'].sum())", 1);
  await expect(read.getByTestId('result')).toHaveText('2256');

  const write = await run(page, "with open('/mnt/data/report.txt', 'w') as out:\n    out.write('rainiest: Bergen\\n')\nprint('written')", 2);
  await expect(write.getByTestId('stdout')).toHaveText('written');
  await expect(files.getByText('report.txt')).toBeVisible();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download report.txt' }).click()]);
  expect(download.suggestedFilename()).toBe('report.txt');
  expect(await readFile((await download.path())!, 'utf8')).toBe('rainiest: Bergen\n');
});

test('[SESSIONS] the session page shows the executions, and stopping the session goes through deleting to gone', async ({ page, context }) => {
  test.setTimeout(180_000);
  await signIn(page, owner.email, owner.password);
  await openConsole(page);
  const marked = await run(page, 'marker = "before the stop"\nmarker', 1);
  await expect(marked.getByTestId('result')).toHaveText('before the stop');
  await expect(marked.getByTestId('session-resumed')).toBeVisible();

  // The session page, in a second tab, so the console remembers which session it last used.
  const detail = await context.newPage();
  await detail.goto(`/sessions/${firstSessionId}`);
  await expect(detail.getByRole('heading', { name: `Session ${firstSessionId}` })).toBeVisible();
  await expect(detail.getByTestId('session-state')).toHaveText('Allocated');
  await expect(detail.getByTestId('session-identifier')).toHaveText(/^console-[0-9a-f]{24}$/);
  const executions = detail.getByTestId('session-execution');
  await expect(executions.first()).toContainText('marker = "before the stop"');
  await expect(executions.first()).toContainText(owner.email);
  await expect(executions.filter({ hasText: 'answer + 1' }).getByTestId('result')).toHaveText('42');
  await expect(executions.filter({ hasText: 'time.sleep(30)' }).getByText('Timed out', { exact: true })).toBeVisible();
  await expect(executions.filter({ hasText: 'plt.show()' }).getByRole('img')).toBeVisible();
  const files = detail.getByRole('list', { name: 'Files in /mnt/data' });
  await expect(files.getByText('measurements.csv')).toBeVisible();
  await detail.screenshot({ path: 'e2e/artifacts/screenshots/session.png', fullPage: true });
  detail.once('dialog', (dialog) => void dialog.accept());
  await files.getByRole('button', { name: 'Delete report.txt' }).click();
  await expect(files.getByText('report.txt')).toHaveCount(0);
  await expect(files.getByText('measurements.csv')).toBeVisible();

  detail.once('dialog', (dialog) => void dialog.accept());
  await detail.getByRole('button', { name: 'Stop session' }).click();
  await expect(detail.getByTestId('session-state')).toHaveText('Deleted', { timeout: 60_000 });
  const lifecycle = detail.getByTestId('lifecycle-event');
  await expect(lifecycle.filter({ hasText: 'Deleting' }).first()).toContainText(`deleted by ${owner.email}`);
  await expect(lifecycle.last()).toContainText('Deleted');
  await expect(detail.getByText('This session is no longer running; its files went with its sandbox.')).toBeVisible();
  await expect(detail.getByRole('button', { name: 'Stop session' })).toHaveCount(0);

  // Back in the console, the same identifier now lands in a fresh session, and the console says so.
  const again = await run(page, "'marker' in globals()", 2);
  await expect(again.getByTestId('session-recycled')).toContainText('This is a new session; earlier variables are gone.');
  await expect(again.getByTestId('result')).toHaveText('false');
  await expect(again.getByRole('link', { name: `Session ${firstSessionId}` })).toHaveCount(0);
});

test('[CONSOLE] a pool at capacity is shown as such', async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page, owner.email, owner.password);
  await openConsole(page);
  // The pool holds one session, which the console's own identifier has; a new identifier finds no room.
  await expect((await run(page, '1 + 1', 1)).getByTestId('result')).toHaveText('2');
  await page.getByRole('button', { name: 'New identifier' }).click();
  const refused = await run(page, '1 + 1', 2);
  await expect(refused.getByText('Pool at capacity')).toBeVisible();
  await expect(refused.getByTestId('capacity-notice')).toContainText('maximum of 1 sessions');
});

test('[CONSOLE][READER] a Reader has no console, sees sessions without identifiers, and a forged run is refused', async ({ browser }) => {
  test.setTimeout(180_000);
  const readerEmail = `${unique('console-reader')}@example.com`;
  await sandpool('user', 'create', '--email', readerEmail, '--password', TEST_PASSWORD, '--role', 'Reader');

  // The Owner runs code once; we keep the exact server-action request the browser sent.
  const ownerContext = await browser.newContext();
  const ownerPage = await ownerContext.newPage();
  await signIn(ownerPage, owner.email, owner.password);
  await openConsole(ownerPage);
  const original = 'print("from the owner")';
  await setCode(ownerPage, original);
  const actionRequest = ownerPage.waitForRequest((request: Request) => request.method() === 'POST' && request.headers()['next-action'] !== undefined);
  await ownerPage.getByRole('button', { name: 'Run', exact: true }).click();
  const captured = await actionRequest;
  const ran = ownerPage.getByRole('article', { name: 'Run 1', exact: true });
  await expect(ran.getByTestId('stdout')).toHaveText('from the owner', { timeout: 120_000 });
  const sessionId = (await ran.getByRole('link', { name: /^Session ses_/ }).textContent())!.replace('Session ', '');

  const readerContext = await browser.newContext();
  const page = await readerContext.newPage();
  await signIn(page, readerEmail, TEST_PASSWORD);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Console' })).toHaveCount(0);
  await page.goto('/console');
  await expect(page.getByText('You do not have access to this page')).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Python code' })).toHaveCount(0);

  // The session page: everything but the identifier, its files and the stop button.
  await page.goto(`/sessions/${sessionId}`);
  await expect(page.getByTestId('session-state')).toHaveText('Allocated');
  await expect(page.getByTestId('identifier-hidden')).toBeVisible();
  await expect(page.getByTestId('session-identifier')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Stop session' })).toHaveCount(0);
  await expect(page.getByTestId('session-execution').first()).toContainText(original);
  await page.screenshot({ path: 'e2e/artifacts/screenshots/reader-session.png', fullPage: true });

  // The Reader replays the Owner's server-action call with their own cookie, and other code.
  const forged = 'print("forged by the reader")';
  const body = captured.postDataBuffer()!.toString('utf8').replace(original, forged);
  expect(body).toContain(forged);
  const response = await replayServerAction(readerContext.request, `/console?pool=${poolName}`, captured, body);
  const answer = await response.text();
  expect(answer).toContain('sessions.execute');
  expect(answer).not.toContain('forged by the reader');
  // Nothing ran: the session's history holds the Owner's run only.
  await ownerPage.goto(`/sessions/${sessionId}`);
  await expect(ownerPage.getByTestId('session-execution').filter({ hasText: original })).toHaveCount(1);
  await expect(ownerPage.getByTestId('session-execution').filter({ hasText: 'forged' })).toHaveCount(0);
  // And the refusal is in the audit log, attributed to the Reader.
  await ownerPage.goto('/audit');
  await expect(ownerPage.getByTestId('audit-row').filter({ hasText: readerEmail }).filter({ hasText: 'Denied' }).first()).toBeVisible();
  await ownerContext.close();
  await readerContext.close();
});
