import { expect, test } from '@playwright/test';
import { E2E_URL } from '../playwright.config.ts';
import type { EraseResult } from '../protocol/index.ts';
import { openApp, status } from './fixtures/app.ts';
import { heldOutDigits } from './fixtures/digits.ts';
import { adminKey, clientInfo, runInfo, waitForDemoModel } from './fixtures/edge.ts';

// `client.erase()` through the real app and edge: what the device recorded and synced, and the
// run its fine-tune created, are gone from the edge (its receipt says so) and the device's
// IndexedDB database is deleted.

test.beforeAll(async () => {
  await waitForDemoModel();
});

test('erase removes the client at the edge and deletes the device database', async ({ page }) => {
  test.setTimeout(300_000);
  const db = await openApp(page, { backend: 'wasm' });
  const digits = heldOutDigits(6);
  const trained = await page.evaluate(async (inputs) => {
    const { client } = window.edgeloop;
    for (const input of inputs) {
      const { predictionId } = await client.predict(input.pixels);
      await client.feedback(predictionId, input.label);
    }
    return client.train({ v: 1 });
  }, digits);
  if (!trained.runId) throw new Error(`the fine-tune recorded no run: ${trained.runError}`);
  const synced = await page.evaluate(() => window.edgeloop.client.sync());
  expect(synced.pending).toBe(0);
  const { clientId } = await status(page);
  if (!clientId) throw new Error('the client did not register with the edge');
  expect((await clientInfo(clientId)).counts).toEqual({ prediction: 6, feedback: 6 });
  expect((await runInfo(trained.runId)).clientId).toBe(clientId);

  const erased: EraseResult = await page.evaluate(() => window.edgeloop.client.erase());
  expect(erased).toMatchObject({
    edge: { clientId, by: 'client', removed: { events: 12, runs: 1, registration: true } },
    device: { database: db, deleted: true },
  });

  const headers = { authorization: `Bearer ${adminKey()}` };
  expect((await fetch(`${E2E_URL}/v1/clients/${clientId}`, { headers })).status).toBe(404);
  expect((await fetch(`${E2E_URL}/v1/runs/${trained.runId}`, { headers })).status).toBe(404);
  const databases = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  expect(databases).not.toContain(db);
});
