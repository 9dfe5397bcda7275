import { expect, test } from '@playwright/test';
import { openApp, status } from './fixtures/app.ts';
import { heldOutDigits } from './fixtures/digits.ts';
import { clientInfo, waitForDemoModel } from './fixtures/edge.ts';

// Closing the tab in the middle of a sync loses nothing and doubles nothing: the first batch is
// acknowledged, the second reaches the edge and is committed but its reply never gets back (the
// tab is gone), the rest never leave. Reopening the same IndexedDB database and syncing again
// sends the unacknowledged items; the edge counts the replayed batch as duplicates.
const ITEMS = 250;

test.beforeAll(async () => {
  await waitForDemoModel();
});

test('a tab closed mid-sync and reopened loses nothing and doubles nothing', async ({ context }) => {
  test.setTimeout(300_000);
  const db = `e2e-close-${Date.now()}`;
  const first = await context.newPage();
  await openApp(first, { db, backend: 'wasm' });
  const digits = heldOutDigits(ITEMS);
  await first.evaluate(async (inputs) => {
    for (const input of inputs) await window.edgeloop.client.predict(input.pixels);
  }, digits);
  expect((await status(first)).pending).toBe(ITEMS);
  const { clientId } = await status(first);
  if (!clientId) throw new Error('the client did not register with the edge');

  // Requests to /v1/events go through here: the first is answered, the second is committed by
  // the edge but its answer held back until the tab is closed.
  let sent = 0;
  let secondCommitted: () => void = () => {};
  const committed = new Promise<void>((resolve) => {
    secondCommitted = resolve;
  });
  await context.route('**/v1/events', async (route) => {
    sent += 1;
    const response = await route.fetch();
    if (sent === 1) return route.fulfill({ response });
    if (sent === 2) secondCommitted();
    // Never answered: the tab closes with this request in flight.
  });
  // Never resolves: the page goes away under it.
  const syncing = first.evaluate(() => window.edgeloop.client.sync()).catch(() => 'closed');
  await committed;
  await first.close();
  expect(await syncing).toBe('closed');
  await context.unroute('**/v1/events');

  const atEdge = await clientInfo(clientId);
  expect(atEdge.maxSeq).toBe(200);
  expect(atEdge.counts.prediction).toBe(200);

  // Reopened: the first batch is known to be sent, the second is not; syncing replays it.
  const second = await context.newPage();
  await openApp(second, { db, backend: 'wasm' });
  expect((await status(second)).clientId).toBe(clientId);
  expect((await status(second)).pending).toBe(ITEMS - 100);
  const result = await second.evaluate(() => window.edgeloop.client.sync());
  expect(result).toMatchObject({ sent: ITEMS - 100, accepted: ITEMS - 200, duplicates: 100, rejected: 0, pending: 0 });
  const after = await clientInfo(clientId);
  expect(after.maxSeq).toBe(ITEMS);
  expect(after.counts.prediction).toBe(ITEMS);
});
