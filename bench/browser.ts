import { chromium } from '@playwright/test';
import '../playwright/fixtures/app-hook.ts';
import { heldOutDigits, rotated } from '../playwright/fixtures/digits.ts';
import config from '../playwright.config.ts';

export interface BackendFigures {
  requested: string;
  backend: string;
  fallbackAdapter: boolean | null;
  /** Mean ms per predict through SDK → comlink → worker. */
  sdkPredictMs: number;
  /** Mean ms per predict with tfjs called directly inside the worker. */
  directPredictMs: number;
  /** train() with its defaults on 50 corrections of one style (quarter turns), end to end. */
  trainMs: number;
  trainExamples: number;
  /** Which backend trained (WebGPU on a software adapter trains on wasm) and whether the guard applied it. */
  trainBackend: string;
  trainApplied: boolean;
}

/** Predict and train timings per backend, in Debian's Chromium against the local edge. */
export async function benchBackends(url: string, backends: string[], iterations = 200): Promise<BackendFigures[]> {
  const browser = await chromium.launch(config.use?.launchOptions);
  const digits = heldOutDigits(iterations);
  const corrections = heldOutDigits(50, 500).map(rotated);
  const figures: BackendFigures[] = [];
  try {
    for (const backend of backends) {
      console.error(
        `bench: ${backend}: ${iterations} predicts through the SDK, ${iterations} direct, a fine-tune on 50 corrections…`,
      );
      const page = await browser.newPage();
      await page.goto(`${url}/?backend=${backend}&db=bench-${backend}-${Date.now()}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
      const report = JSON.parse((await page.getByTestId('status-backend').getAttribute('data-report')) ?? '{}');
      const measured = await page.evaluate(
        async ({ digits, corrections }) => {
          const { client } = window.edgeloop;
          for (const d of digits.slice(0, 10)) await client.predict(d.pixels); // warm-up
          const t0 = performance.now();
          for (const d of digits) await client.predict(d.pixels);
          const sdkPredictMs = (performance.now() - t0) / digits.length;
          const { directMs } = await client.benchmark(digits.length);
          for (const c of corrections) {
            const p = await client.predict(c.pixels);
            await client.feedback(p.predictionId, c.label);
          }
          const trained = await client.train({ v: 1 });
          return {
            sdkPredictMs,
            directPredictMs: directMs,
            trainMs: trained.durationMs,
            trainExamples: trained.examples,
            trainBackend: trained.backend,
            trainApplied: trained.applied,
          };
        },
        { digits, corrections },
      );
      figures.push({
        requested: backend,
        backend: report.backend,
        fallbackAdapter: report.adapter?.isFallbackAdapter ?? null,
        ...measured,
      });
      await page.close();
    }
  } finally {
    await browser.close();
  }
  return figures;
}
