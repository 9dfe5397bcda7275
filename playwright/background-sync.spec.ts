import { expect, test } from '@playwright/test';
import { E2E_URL } from '../playwright.config.ts';
import { openApp, status } from './fixtures/app.ts';
import { heldOutDigits } from './fixtures/digits.ts';
import { clientInfo, waitForDemoModel } from './fixtures/edge.ts';

// A sync that fails while offline is handed to Background Sync; with the tab gone, the app's
// service worker sends what the tab recorded once the browser is online again. Chromium fires
// that `sync` event when it sees the network come back; DevTools' ServiceWorker.dispatchSyncEvent
// fires the same event here, so the test does not depend on when the browser decides to.
const ITEMS = 30;

test.beforeAll(async () => {
  await waitForDemoModel();
});

test('what a closed tab could not send offline is sent by the service worker', async ({ context }) => {
  test.setTimeout(240_000);
  const db = `e2e-bg-${Date.now()}`;
  const tag = `edgeloop-sync:${db}`;
  const page = await context.newPage();
  await openApp(page, { db, backend: 'wasm' });
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  expect(await page.evaluate(() => window.edgeloop.client.backgroundSync)).toEqual({ available: true });
  const { clientId } = await status(page);
  if (!clientId) throw new Error('the client did not register with the edge');

  // Another page of the origin, to hold the sync lock later (see below).
  const holder = await context.newPage();
  await holder.goto('/healthz');
  await context.setOffline(true);
  await page.evaluate(async (inputs) => {
    for (const input of inputs) await window.edgeloop.client.predict(input.pixels);
  }, heldOutDigits(ITEMS));
  const failed = await page.evaluate(() =>
    window.edgeloop.client.sync().then(
      () => 'synced',
      (error: { code?: string }) => error.code,
    ),
  );
  expect(failed).toBe('NETWORK');
  // The SDK saw the retryable failure on the sync topic and registered it as a sync tag.
  const tags = () =>
    page.evaluate(async () => {
      const registration = (await navigator.serviceWorker.ready) as unknown as {
        sync: { getTags(): Promise<string[]> };
      };
      return registration.sync.getTags();
    });
  await expect.poll(tags).toContain(tag);
  expect((await status(page)).pending).toBe(ITEMS);
  // The tab closes. Its page-hide sync would find the network back: Playwright lifts offline
  // emulation from a closing tab's worker. Another page of the origin holds the database's sync
  // lock meanwhile, as a syncing tab would, so the closing tab leaves its items alone.
  await holder.evaluate(
    (name) =>
      new Promise<void>((held) => {
        navigator.locks.request(name, () => {
          held();
          return new Promise<void>((release) => {
            (globalThis as { releaseSyncLock?: () => void }).releaseSyncLock = release;
          });
        });
      }),
    `edgeloop-sync:${db}`,
  );
  await page.close();
  await holder.evaluate(() => (globalThis as { releaseSyncLock?: () => void }).releaseSyncLock?.());
  expect((await clientInfo(clientId)).maxSeq).toBe(0);

  await context.setOffline(false);
  const blank = await context.newPage();
  const cdp = await context.newCDPSession(blank);
  const registrationId = new Promise<string>((resolve) => {
    cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
      const ours = registrations.find((r) => r.scopeURL === `${E2E_URL}/` && !r.isDeleted);
      if (ours) resolve(ours.registrationId);
    });
  });
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.dispatchSyncEvent', {
    origin: E2E_URL,
    registrationId: await registrationId,
    tag,
    lastChance: false,
  });
  await expect.poll(async () => (await clientInfo(clientId)).maxSeq, { timeout: 60_000 }).toBe(ITEMS);
  expect((await clientInfo(clientId)).counts.prediction).toBe(ITEMS);

  // A tab opened afterwards finds nothing pending: the service worker marked the items sent.
  const again = await context.newPage();
  await openApp(again, { db, backend: 'wasm' });
  expect(await status(again)).toMatchObject({ clientId, pending: 0 });
});
