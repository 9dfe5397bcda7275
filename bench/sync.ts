import { chromium } from '@playwright/test';
import '../playwright/fixtures/app-hook.ts';
import { heldOutDigits } from '../playwright/fixtures/digits.ts';
import config from '../playwright.config.ts';

export interface SyncFigures {
  items: number;
  seconds: number;
  perSecond: number;
  /** Request bytes on the wire (bodies as sent, after gzip) per item, events only. */
  eventBytesPerItem: number;
  requests: number;
  gzipped: number;
}

/**
 * Sync throughput end to end in Chromium: `items` predictions and a label for every fifth
 * recorded in IndexedDB first, then one `client.sync()` to D1, timed; the event requests' body
 * bytes are summed as they leave the browser.
 */
export async function benchSync(url: string, predictions = 1000): Promise<SyncFigures> {
  const browser = await chromium.launch(config.use?.launchOptions);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${url}/?backend=wasm&db=bench-sync-${Date.now()}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    const digits = heldOutDigits(predictions);
    const items = await page.evaluate(async (inputs) => {
      const { client } = window.edgeloop;
      for (const [i, input] of inputs.entries()) {
        const { predictionId } = await client.predict(input.pixels);
        if (i % 5 === 0) await client.feedback(predictionId, input.label);
      }
      return (await client.status()).pending;
    }, digits);
    let bytes = 0;
    let requests = 0;
    let gzipped = 0;
    context.on('request', (request) => {
      if (request.method() !== 'POST' || !request.url().endsWith('/v1/events')) return;
      requests += 1;
      bytes += request.postDataBuffer()?.byteLength ?? 0;
      if (request.headers()['content-encoding'] === 'gzip') gzipped += 1;
    });
    const seconds = await page.evaluate(async () => {
      const t0 = performance.now();
      const result = await window.edgeloop.client.sync();
      if (result.pending !== 0) throw new Error(`sync left ${result.pending} pending`);
      return (performance.now() - t0) / 1000;
    });
    return { items, seconds, perSecond: items / seconds, eventBytesPerItem: bytes / items, requests, gzipped };
  } finally {
    await browser.close();
  }
}
