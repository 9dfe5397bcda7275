import { rmSync } from 'node:fs';
import { expect, type Page, test } from '@playwright/test';
import type * as ComlinkModule from 'comlink';
import { EdgeClient } from '../cli/lib/client.ts';
import { publishDir } from '../cli/lib/publish.ts';
import { E2E_URL } from '../playwright.config.ts';
import {
  AliasInfo,
  type BackendPreference,
  type InitOptions,
  type LoadResult,
  type PredictResult,
  type WorkerApi,
} from '../protocol/index.ts';
import { openApp } from './fixtures/app.ts';
import { heldOutDigits } from './fixtures/digits.ts';
import { adminKey, copyDemoModelAs, waitForDemoModel } from './fixtures/edge.ts';

// The demo model published with its ONNX export (cli --onnx), on its own model name so
// digits@production stays as the other specs expect. The app page gives the origin and the
// built worker; the spec starts further workers from that same script with other init options.
const MODEL = 'digits-onnx';
const DIGITS = heldOutDigits(8, 400);

/** What one worker did: its load, its predictions, its in-worker predict time, or the error it threw. */
interface Outcome {
  load?: LoadResult;
  /** Milliseconds the load took in the page (download, session or model, warm-ups). */
  loadMs?: number;
  predictions?: PredictResult[];
  directMs?: number;
  train?: string;
  sync?: { accepted: number; rejected: number };
  error?: string;
}

/** Starts the app's worker script in the page with `init`, loads MODEL and predicts DIGITS. */
async function runWorker(
  page: Page,
  init: { runtime: 'tfjs' | 'onnx'; backend: BackendPreference },
  extra: { train?: boolean } = {},
): Promise<Outcome> {
  return page.evaluate(
    async ({ init, model, digits, train }) => {
      const { Comlink } = window as unknown as { Comlink: typeof ComlinkModule };
      const entry = document.querySelector<HTMLScriptElement>('script[type=module][src]')?.src;
      const script = entry ? await (await fetch(entry)).text() : '';
      const url = /new Worker\(new URL\(`([^`]+)`/.exec(script)?.[1];
      if (!url) throw new Error('the app bundle names no worker script');
      const config = await (await fetch('/config.json')).json();
      const worker = new Worker(new URL(url, location.href), { type: 'module' });
      const api = Comlink.wrap<WorkerApi>(worker);
      const outcome: Outcome = {};
      try {
        const options: InitOptions = { v: 1, endpoint: config.endpoint, key: config.clientKey, ...init };
        await api.init({ ...options, dbName: `e2e-onnx-${init.runtime}-${init.backend}-${Math.random()}` });
        const start = performance.now();
        outcome.load = await api.load({ v: 1, model });
        outcome.loadMs = performance.now() - start;
        outcome.predictions = [];
        for (const digit of digits) {
          const pixels = Float32Array.from(digit.pixels);
          outcome.predictions.push(await api.predict(Comlink.transfer(pixels, [pixels.buffer])));
        }
        outcome.directMs = (await api.benchmark(50)).directMs;
        if (train) {
          const first = outcome.predictions[0];
          if (first) await api.feedback(first.predictionId, digits[0]?.label ?? 0);
          outcome.train = await api.train({ v: 1, epochs: 1 }).then(
            () => 'trained',
            // The code crossed comlink as a property (protocol/error-transfer.ts), not in the message.
            (error: Error & { code?: string }) => `[${error.code}] ${error.message}`,
          );
        }
        const synced = await api.sync();
        outcome.sync = { accepted: synced.accepted, rejected: synced.rejected };
      } catch (error) {
        outcome.error =
          error instanceof Error ? `[${(error as { code?: string }).code}] ${error.message}` : String(error);
      } finally {
        worker.terminate();
      }
      return outcome;
    },
    { init, model: MODEL, digits: DIGITS, train: extra.train ?? false },
  );
}

function maxDifference(a: PredictResult[], b: PredictResult[]): number {
  return Math.max(...a.flatMap((p, i) => p.outputs.map((x, j) => Math.abs(x - (b[i]?.outputs[j] ?? Number.NaN)))));
}

test('the worker runs the ONNX export on ONNX Runtime Web and agrees with tfjs', async ({ page }) => {
  await waitForDemoModel();
  const edge = new EdgeClient(E2E_URL, adminKey());
  const dir = copyDemoModelAs(MODEL);
  try {
    const { version } = await publishDir(edge, dir, undefined, { onnx: true });
    await edge.request(AliasInfo, `/v1/models/${MODEL}/aliases/production`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version, reason: 'onnx e2e' }),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await openApp(page, { backend: 'wasm' });
  await page.addScriptTag({ path: 'node_modules/comlink/dist/umd/comlink.min.js' });

  const tfjs = await runWorker(page, { runtime: 'tfjs', backend: 'wasm' });
  const onnx = await runWorker(page, { runtime: 'onnx', backend: 'auto' }, { train: true });
  const onnxWebgpu = await runWorker(page, { runtime: 'onnx', backend: 'webgpu' });
  test.info().annotations.push({
    type: 'onnx',
    description: JSON.stringify({
      auto: onnx.load?.backend,
      webgpu: onnxWebgpu.error ?? onnxWebgpu.load?.backend,
      directMs: { tfjsWasm: tfjs.directMs, onnxAuto: onnx.directMs, onnxWebgpu: onnxWebgpu.directMs },
      loadMs: { tfjsWasm: tfjs.loadMs, onnxAuto: onnx.loadMs, onnxWebgpu: onnxWebgpu.loadMs },
    }),
  });

  expect(tfjs.error).toBeUndefined();
  expect(onnx.error).toBeUndefined();
  const tfjsPredictions = tfjs.predictions ?? [];
  const onnxPredictions = onnx.predictions ?? [];
  expect(onnxPredictions).toHaveLength(DIGITS.length);
  expect(onnxPredictions.map((p) => p.label)).toEqual(tfjsPredictions.map((p) => p.label));
  expect(maxDifference(onnxPredictions, tfjsPredictions)).toBeLessThanOrEqual(1e-4);

  // What ran is what the load and every prediction say; a WebGPU not used is explained.
  const report = onnx.load?.backend;
  if (!report) throw new Error('no backend report');
  expect(['onnx-webgpu', 'onnx-wasm']).toContain(report.backend);
  expect(onnxPredictions.every((p) => p.backend === report.backend)).toBe(true);
  expect(report.adapter?.architecture).toBe('swiftshader');
  if (report.backend === 'onnx-wasm') expect(report.skipped['onnx-webgpu']).toMatch(/^(failed|slower): /);

  // Asked for explicitly, WebGPU runs (and agrees) or the load says why not: never a silent fallback.
  const webgpuSkip = report.skipped['onnx-webgpu'] ?? '';
  if (webgpuSkip.startsWith('failed: ')) {
    expect(onnxWebgpu.error).toMatch(/^\[BACKEND_UNAVAILABLE\]/);
  } else {
    expect(onnxWebgpu.error).toBeUndefined();
    expect(onnxWebgpu.load?.backend.backend).toBe('onnx-webgpu');
    expect(maxDifference(onnxWebgpu.predictions ?? [], tfjsPredictions)).toBeLessThanOrEqual(1e-4);
  }

  // Training needs the tfjs model: refused with a stable code; the predictions still synced.
  expect(onnx.train).toMatch(/^\[BACKEND_UNAVAILABLE\] .*runtime 'tfjs'/);
  expect(onnx.sync).toEqual({ accepted: DIGITS.length + 1, rejected: 0 });
});
