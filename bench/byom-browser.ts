import { chromium } from '@playwright/test';
import '../playwright/fixtures/app-hook.ts';
import config from '../playwright.config.ts';
import { seededRandom } from '../protocol/random.ts';

// Bring your own model in the browser: each published real model loaded by the SDK in Debian's
// Chromium (the demo app's page, `?model=`), on each backend asked for, its predicts timed
// through the SDK (page → comlink → worker → IndexedDB record) and called directly in the worker.

const PREDICTS = 10;

/** One model on one backend: what ran, and its medians. */
export interface ByomBrowserRow {
  model: string;
  requested: string;
  /** What the worker ran on (e.g. wasm, onnx-wasm; webgpu on a software adapter says so). */
  backend: string;
  fallbackAdapter: boolean | null;
  loadMs: number;
  /** Median ms of one SDK predict, including its durable IndexedDB record. */
  sdkPredictMs: number;
  /** Mean ms of one predict inside the worker (client.benchmark: no comlink, no record). */
  directPredictMs: number;
}

/**
 * Times `models` (registry names of published versions taking one float32 input of `shape`)
 * on each of `backends`, one fresh page and database each.
 *
 * @example
 * const rows = await benchByomBrowser(url, ['bench-mobilenet'], [224, 224, 3], ['cpu', 'wasm', 'webgpu']);
 */
export async function benchByomBrowser(
  url: string,
  models: string[],
  shape: number[],
  backends: string[],
): Promise<ByomBrowserRow[]> {
  const random = seededRandom(13);
  const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random());
  const browser = await chromium.launch(config.use?.launchOptions);
  const rows: ByomBrowserRow[] = [];
  try {
    for (const model of models) {
      for (const backend of backends) {
        console.error(`bench: ${model} on ${backend}: load, ${PREDICTS} predicts through the SDK, ${PREDICTS} direct…`);
        const page = await browser.newPage();
        const t0 = Date.now();
        await page.goto(`${url}/?model=${model}&backend=${backend}&db=bench-byom-${model}-${backend}-${t0}`);
        await page.waitForSelector('body[data-ready="true"]', { timeout: 300_000 });
        const loadMs = Date.now() - t0;
        const report = JSON.parse((await page.getByTestId('status-backend').getAttribute('data-report')) ?? '{}');
        const measured = await page.evaluate(
          async ({ values, runs }) => {
            const { client } = window.edgeloop;
            const input = Float32Array.from(values);
            await client.predict(input); // warm-up: shaders, caches
            const ms: number[] = [];
            for (let i = 0; i < runs; i++) {
              const start = performance.now();
              await client.predict(input);
              ms.push(performance.now() - start);
            }
            ms.sort((a, b) => a - b);
            const { directMs, backend } = await client.benchmark(runs);
            return { sdkPredictMs: ms[Math.floor(ms.length / 2)] ?? 0, directPredictMs: directMs, backend };
          },
          { values, runs: PREDICTS },
        );
        rows.push({
          model,
          requested: backend,
          backend: measured.backend,
          fallbackAdapter: report.adapter?.isFallbackAdapter ?? null,
          loadMs,
          sdkPredictMs: measured.sdkPredictMs,
          directPredictMs: measured.directPredictMs,
        });
        await page.close();
      }
    }
  } finally {
    await browser.close();
  }
  return rows;
}
