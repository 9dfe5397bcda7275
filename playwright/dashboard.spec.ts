import { copyFileSync } from 'node:fs';
import { expect, type Locator, type Page, type TestInfo, test } from '@playwright/test';
import { EdgeClient } from '../cli/lib/client.ts';
import { E2E_URL } from '../playwright.config.ts';
import { createKey, SEED_HOURS, seedDashboard } from './fixtures/dashboard-seed.ts';
import { adminKey, waitForDemoModel } from './fixtures/edge.ts';

// The dashboard at /dashboard against a seeded model: what a read key sees, and the rollout
// actions a publish key drives, each behind a confirmation. Screenshots are kept as artifacts.

const MODEL = `dash-${Date.now().toString(36)}`;
let readKey = '';
let publishKey = '';

test.beforeAll(async () => {
  test.setTimeout(300_000);
  await waitForDemoModel();
  await seedDashboard(MODEL);
  readKey = await createKey('dashboard reader', ['read']);
  publishKey = await createKey('dashboard publisher', ['publish']);
});

async function snap(page: Page, testInfo: TestInfo, name: string, target?: Locator): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await (target ?? page).screenshot({ path, ...(target ? {} : { fullPage: true }) });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** Signs in by keyboard only: type the key, Enter; then picks the seeded model. */
async function signIn(page: Page, key: string): Promise<void> {
  await page.goto('/dashboard');
  await expect(page.getByRole('heading', { name: 'Edgeloop dashboard', level: 1 })).toBeVisible();
  await page.getByLabel('API key').focus();
  await page.keyboard.type(key);
  await page.keyboard.press('Enter');
  await expect(page.locator('body[data-ready="true"]')).toBeAttached();
  await page.getByLabel('Model', { exact: true }).selectOption(MODEL);
  await expect(page.getByRole('table', { name: `Versions of ${MODEL}` })).toBeVisible();
  await expect(page.locator('body:not([data-loading])')).toBeAttached();
}

const section = (page: Page, id: string) => page.getByTestId(id);

test('a read key sees versions with lineage, alias history, drift and feedback charts and alerts, but no rollout controls', async ({
  page,
}, testInfo) => {
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.goto('/dashboard');
  await page.getByLabel('API key').fill('el_not_a_key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('error')).toContainText('401 UNAUTHORIZED');
  await snap(page, testInfo, 'sign-in-refused');

  await signIn(page, readKey);
  await expect(page.getByTestId('who')).toContainText('(read)');
  await expect(section(page, 'rollout')).toBeHidden();
  await expect(page.getByRole('button', { name: /Promote|Roll back|Archive/ })).toHaveCount(0);

  const versions = page.getByRole('table', { name: `Versions of ${MODEL}` });
  await expect(versions.getByRole('row')).toHaveCount(4);
  await expect(versions.getByRole('row', { name: /v2 ready production/ })).toContainText('v1');
  await expect(versions.getByRole('row', { name: /v2 ready/ })).toContainText('run-dash-2');
  await expect(versions.getByRole('row', { name: /v2 ready/ })).toContainText('accuracy 0.940');
  await snap(page, testInfo, 'models-and-versions', section(page, 'models'));

  const aliases = section(page, 'aliases');
  await expect(aliases.getByRole('heading', { name: 'production → v2' })).toBeVisible();
  await expect(aliases).toContainText('canary v3 at 10%');
  const history = aliases.getByRole('table', { name: 'History of production, newest first' });
  await expect(history).toContainText('v2 beats v1 on the holdout');
  await expect(history).toContainText('first release');
  await expect(history).toContainText('try v3 on 10%');
  await snap(page, testInfo, 'aliases-and-history', aliases);

  // 30 days of hourly windows, fetched once and drawn with uPlot.
  await page.getByLabel('Version', { exact: true }).selectOption('2');
  await expect(page.locator('body:not([data-loading])')).toBeAttached();
  const drift = section(page, 'drift');
  await expect(drift.getByRole('group', { name: /^x: wasserstein per hour/ })).toBeVisible();
  await expect(drift.getByRole('group', { name: /^color: jensenshannon per hour/ })).toBeVisible();
  await expect(drift.getByRole('group', { name: 'x: share per bin' })).toBeVisible();
  await expect(drift.getByRole('group', { name: 'color: share per category' })).toBeVisible();
  await expect(drift.locator('canvas')).toHaveCount(5);
  await expect(drift).toContainText(`Reference: 2000 rows; current (this range): ${SEED_HOURS * 300} rows.`);
  const timing = await page.evaluate(() => ({ ...document.body.dataset }));
  expect(timing.points).toBe('720');
  const report = `30 days (${timing.points} hourly points per series): fetch ${timing.fetchMs} ms, render ${timing.renderMs} ms`;
  testInfo.annotations.push({ type: 'render time', description: report });
  console.log(`dashboard: ${report}`);
  await snap(page, testInfo, 'drift', drift);

  const perf = section(page, 'performance');
  await expect(perf.getByRole('group', { name: 'Labelled feedback per hour' })).toBeVisible();
  await expect(perf.getByRole('group', { name: 'Accuracy and calibration error (ECE) per hour' })).toBeVisible();
  await snap(page, testInfo, 'feedback-and-performance', perf);

  const alerts = section(page, 'alerts').getByRole('table', { name: `Drift alerts of ${MODEL} v2` });
  await expect(alerts.getByRole('row').nth(1)).toContainText('x');
  await expect(alerts.getByRole('row').nth(1)).not.toContainText('color');
  await snap(page, testInfo, 'alerts', section(page, 'alerts'));
  await snap(page, testInfo, 'dashboard');
  if (process.env.EDGELOOP_UPDATE_SCREENSHOT === '1') {
    copyFileSync(testInfo.outputPath('dashboard.png'), new URL('../web/app/dashboard/screenshot.png', import.meta.url));
  }
});

test('a publish key sets canary and shadow, clears, promotes by keyboard, rolls back and archives, each after confirming', async ({
  page,
}, testInfo) => {
  const edge = new EdgeClient(E2E_URL, adminKey());
  const dialog = page.getByRole('dialog');
  const notice = page.getByTestId('notice');
  const confirm = async (title: string | RegExp, done: string) => {
    await expect(dialog.getByRole('heading', { name: title })).toBeVisible();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await expect(notice).toHaveText(done);
    await expect(page.locator('body:not([data-loading])')).toBeAttached();
  };
  await signIn(page, publishKey);
  const rollout = section(page, 'rollout');
  await expect(rollout).toBeVisible();

  // Cancelling changes nothing.
  await rollout.getByRole('button', { name: 'Roll back' }).click();
  await expect(dialog).toContainText('production moves back from v2 to the version it held before.');
  await snap(page, testInfo, 'confirm-rollback', dialog);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  expect((await edge.getAlias(MODEL, 'production')).version).toBe(2);

  await rollout.getByLabel('Canary version').selectOption('3');
  await rollout.getByLabel('Canary percent').fill('25');
  await rollout.getByRole('button', { name: 'Set canary' }).click();
  await confirm('Canary v3 at 25%', 'Canary v3 at 25% on production.');
  await rollout.getByLabel('Shadow version').selectOption('1');
  await rollout.getByRole('button', { name: 'Set shadow' }).click();
  await confirm('Shadow v1', 'v1 shadows production.');
  expect((await edge.getAlias(MODEL, 'production')).rollout).toEqual({
    canary: { version: 3, percent: 25 },
    shadow: { version: 1 },
  });
  await expect(section(page, 'aliases')).toContainText('canary v3 at 25%, shadow v1');

  await rollout.getByRole('button', { name: 'Clear rollout' }).click();
  await confirm('Clear the rollout of production', 'The rollout of production is cleared.');
  expect((await edge.getAlias(MODEL, 'production')).rollout).toEqual({});

  // Promote by keyboard only: Tab from the version to the reason and the button, Enter, then
  // Tab from Cancel (focused first) to Confirm and Enter.
  await rollout.getByLabel('Promote version').selectOption('3');
  await rollout.getByLabel('Promote version').focus();
  await page.keyboard.press('Tab');
  await page.keyboard.type('promoted from the dashboard');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await expect(dialog.getByRole('heading', { name: 'Promote v3 to production' })).toBeVisible();
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await expect(notice).toHaveText('production now points at v3.');
  const promoted = await edge.getAlias(MODEL, 'production');
  expect(promoted.version).toBe(3);
  expect(promoted.history[0]?.reason).toBe('promoted from the dashboard');
  await expect(section(page, 'aliases')).toContainText('promoted from the dashboard');

  await rollout.getByRole('button', { name: 'Roll back' }).click();
  await confirm('Roll back production', 'production was rolled back.');
  expect((await edge.getAlias(MODEL, 'production')).version).toBe(2);

  // Archiving the version production points at is refused: the edge's error is shown as sent.
  await rollout.getByLabel('Archive version').selectOption('2');
  await rollout.getByRole('button', { name: 'Archive' }).click();
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect(page.getByTestId('error')).toContainText('The edge refused: 409');
  await snap(page, testInfo, 'archive-refused');
  expect((await edge.getVersion(MODEL, 2)).status).toBe('ready');

  await rollout.getByLabel('Archive version').selectOption('1');
  await rollout.getByRole('button', { name: 'Archive' }).click();
  await expect(dialog).toContainText('v1 of');
  await confirm('Archive v1', 'v1 is archived.');
  expect((await edge.getVersion(MODEL, 1)).status).toBe('archived');
  await expect(page.getByRole('table', { name: `Versions of ${MODEL}` })).toContainText('v1archived');
  await snap(page, testInfo, 'after-actions');
});
