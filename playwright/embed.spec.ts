import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Browser, expect, test } from '@playwright/test';
import { E2E_PORT, E2E_URL } from '../playwright.config.ts';
import { ORT_FILES } from '../protocol/ort.ts';
import type { EmbedBuild } from '../scripts/build-embed.ts';
import { ensureDevVars } from '../scripts/lib/dev-vars.ts';
import type { EdgeloopApi, Prediction, Ready } from '../web/embed/runtime.ts';
import { type Digit, heldOutDigits } from './fixtures/digits.ts';
import { clientInfo, waitForDemoModel } from './fixtures/edge.ts';
import { serveThirdParty, type ThirdParty } from './fixtures/third-party/server.ts';

// A plain page on a second origin (another port) that has only the script tag: it predicts,
// sends feedback and syncs to the edge, under a strict CSP that reports any violation.
declare global {
  interface Window {
    Edgeloop: EdgeloopApi;
    edgeloopLog: { type: string; detail: unknown }[];
    earlyPrediction: Promise<unknown>;
  }
}

const root = new URL('..', import.meta.url);
/** ORT's glue and binary of both builds, as the worker asks the edge for them. */
const ORT_PATHS = Object.values(ORT_FILES).flatMap(({ mjs, wasm }) => [`/ort/${mjs}`, `/ort/${wasm}`]);
let embed: EmbedBuild;
let site: ThirdParty;
let clientKey: string;

test.beforeAll(async () => {
  await waitForDemoModel();
  // Written by the build `npm start` ran for this suite.
  embed = JSON.parse(readFileSync(new URL('dist/embed.json', root), 'utf8'));
  clientKey = ensureDevVars(root.pathname).clientKey;
  site = await serveThirdParty(E2E_PORT + 5, {
    edge: E2E_URL,
    src: `${E2E_URL}${embed.path}`,
    integrity: embed.integrity,
    key: clientKey,
  });
});

test.afterAll(async () => {
  await site?.close();
});

test('a third-party page with only the script tag predicts, takes feedback and syncs to the edge', async ({ page }) => {
  const cspConsole: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspConsole.push(message.text());
  });
  // Requests of the page and of its worker that failed, CSP blocks among them ("csp").
  const failed: string[] = [];
  page.on('requestfailed', (request) => failed.push(`${request.url()}: ${request.failure()?.errorText}`));
  await page.goto(site.url);
  const ready = await page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        window.Edgeloop.on('ready', resolve);
        window.Edgeloop.on('error', (error) => reject(new Error(error.message)));
      }),
  );
  expect(ready).toMatchObject({ model: 'digits', alias: 'production', version: 1, backend: 'wasm' });
  const { clientId } = ready as { clientId: string };

  // page.js predicted right after the tag, before the worker existed: that call waited.
  const early = await page.evaluate(() => window.earlyPrediction);
  expect(early).toMatchObject({ version: 1, backend: 'wasm', model: 'digits' });
  expect((early as { outputs: number[] }).outputs).toHaveLength(10);

  const digits = heldOutDigits(4);
  const predictions = await page.evaluate(async (digits) => {
    const out = [];
    for (const [i, d] of digits.entries()) {
      // Typed arrays and nested rows (28×28) are both the model's input.
      const input =
        i % 2 ? new Float32Array(d.pixels) : Array.from({ length: 28 }, (_, r) => d.pixels.slice(r * 28, r * 28 + 28));
      out.push(await window.Edgeloop.predict(input));
    }
    return out;
  }, digits);
  expect(predictions.map((p) => p.label)).toEqual(digits.map((d) => d.label));
  await page.evaluate(
    async (ids) => {
      await window.Edgeloop.feedback(ids[0] ?? '', 3);
      await window.Edgeloop.feedback(ids[1] ?? '', 5);
    },
    predictions.map((p) => p.id),
  );
  const refused = await page.evaluate(() =>
    window.Edgeloop.feedback(crypto.randomUUID(), 1).catch((error: { code: string }) => error.code),
  );
  expect(refused).toBe('UNKNOWN_PREDICTION');

  const synced = await page.evaluate(() => window.Edgeloop.sync());
  expect(synced).toMatchObject({ rejected: 0, pending: 0 });
  const atEdge = await clientInfo(clientId);
  expect(atEdge.counts).toMatchObject({ prediction: 5, feedback: 2 });
  const again = await page.evaluate(() => window.Edgeloop.sync());
  expect(again).toMatchObject({ sent: 0, pending: 0 });

  const log = await page.evaluate(() => window.edgeloopLog.map((e) => e.type));
  expect(log.filter((t) => t === 'ready')).toHaveLength(1);
  expect(log.filter((t) => t === 'prediction')).toHaveLength(5);
  expect(log.filter((t) => t === 'synced')).toHaveLength(2);
  expect(log.filter((t) => t === 'error')).toHaveLength(1);

  // Nothing the page or its worker did broke the CSP; a fetch to an origin it does not allow
  // is reported, so the reports would show a violation.
  expect(site.reports).toEqual([]);
  expect(cspConsole).toEqual([]);
  expect(failed).toEqual([]);
  await page.evaluate(() => fetch('http://127.0.0.1:9/').catch(() => 'refused'));
  await expect.poll(() => site.reports.length).toBe(1);
});

/** Loads `host`'s page in a fresh context and predicts `digits` through its script tag. */
async function predictThroughTag(
  browser: Browser,
  host: ThirdParty,
  digits: Digit[],
): Promise<{ ready: Ready; predictions: Prediction[]; ortFiles: string[]; failed: string[]; log: string[] }> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // What the page and its blob-started worker asked of /ort/ and got, and what failed (CORS, CSP).
    const ortFiles: string[] = [];
    const failed: string[] = [];
    page.on('response', (response) => {
      const { pathname } = new URL(response.url());
      if (pathname.startsWith('/ort/')) ortFiles.push(`${response.status()} ${pathname}`);
    });
    page.on('requestfailed', (request) => failed.push(`${request.url()}: ${request.failure()?.errorText}`));
    await page.goto(host.url);
    const ready = await page.evaluate(
      () =>
        new Promise<Ready>((resolve, reject) => {
          window.Edgeloop.on('ready', resolve);
          window.Edgeloop.on('error', (error) => reject(new Error(`${error.code}: ${error.message}`)));
        }),
    );
    const predictions = await page.evaluate(async (digits) => {
      const out = [];
      for (const d of digits) out.push(await window.Edgeloop.predict(new Float32Array(d.pixels)));
      return out;
    }, digits);
    const log = await page.evaluate(() => window.edgeloopLog.map((e) => e.type));
    return { ready, predictions, ortFiles, failed, log };
  } finally {
    await context.close();
  }
}

test('the script tag runs the ONNX export on ONNX Runtime Web, its files from the edge, agreeing with tfjs', async ({
  browser,
}) => {
  // The fixture's page on a third origin, its tag asking for ORT with the backend left to the
  // worker (so WebGPU's build may start too). Its CSP and page.js are unchanged.
  const onnxSite = await serveThirdParty(E2E_PORT + 6, {
    edge: E2E_URL,
    src: `${E2E_URL}${embed.path}`,
    integrity: embed.integrity,
    key: clientKey,
    backend: 'auto',
    runtime: 'onnx',
  });
  try {
    const digits = heldOutDigits(4, 40);
    const reportsBefore = site.reports.length;
    const tfjs = await predictThroughTag(browser, site, digits);
    const onnx = await predictThroughTag(browser, onnxSite, digits);
    test.info().annotations.push({
      type: 'onnx-embed',
      description: JSON.stringify({ backend: onnx.ready.backend, ortFiles: onnx.ortFiles }),
    });

    expect(tfjs.ready.backend).toBe('wasm');
    expect(tfjs.ortFiles).toEqual([]);
    expect(onnx.ready).toMatchObject({ model: 'digits', alias: 'production', version: 1 });
    expect(['onnx-wasm', 'onnx-webgpu']).toContain(onnx.ready.backend);
    expect(onnx.predictions.map((p) => p.backend)).toEqual(digits.map(() => onnx.ready.backend));
    expect(onnx.predictions.map((p) => p.label)).toEqual(tfjs.predictions.map((p) => p.label));
    const difference = onnx.predictions.flatMap((p, i) =>
      p.outputs.map((x, j) => Math.abs(x - (tfjs.predictions[i]?.outputs[j] ?? Number.NaN))),
    );
    expect(Math.max(...difference)).toBeLessThanOrEqual(1e-4);

    // The blob-started worker fetched ORT's glue and binary from the edge's /ort/, none refused.
    expect(onnx.ortFiles.some((file) => /^\S+ \/ort\/ort-wasm-simd-threaded(\.jspi)?\.mjs$/.test(file))).toBe(true);
    expect(onnx.ortFiles.some((file) => /^\S+ \/ort\/ort-wasm-simd-threaded(\.jspi)?\.wasm$/.test(file))).toBe(true);
    expect(onnx.ortFiles.filter((file) => !file.startsWith('200 '))).toEqual([]);
    expect(onnx.failed).toEqual([]);
    expect(onnx.log.filter((type) => type === 'error')).toEqual([]);
    expect(site.reports.slice(reportsBefore)).toEqual([]);
    expect(onnxSite.reports).toEqual([]);
  } finally {
    await onnxSite.close();
  }
});

test('the edge serves the script versioned and immutable, with CORS and the integrity the build printed', async () => {
  const headers = { origin: site.url };
  const versioned = await fetch(`${E2E_URL}${embed.path}`, { headers });
  expect(versioned.status).toBe(200);
  expect(embed.path).toMatch(/^\/embed\/\d+\.\d+\.\d+\/edgeloop\.[0-9a-f]{10}\.js$/);
  expect(versioned.headers.get('access-control-allow-origin')).toBe('*');
  expect(versioned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  const body = Buffer.from(await versioned.arrayBuffer());
  expect(`sha384-${createHash('sha384').update(body).digest('base64')}`).toBe(embed.integrity);

  const stable = await fetch(`${E2E_URL}/edgeloop.js`, { headers });
  expect(stable.headers.get('cache-control')).toBe('public, max-age=300');
  expect(stable.headers.get('access-control-allow-origin')).toBe('*');
  expect(Buffer.from(await stable.arrayBuffer()).equals(body)).toBe(true);

  // What the worker loads from the edge, cross-origin: its module, the tfjs .wasm files and ORT's.
  for (const path of [embed.worker, '/tfjs/tfjs-backend-wasm-simd.wasm', ...ORT_PATHS]) {
    const res = await fetch(`${E2E_URL}${path}`, { headers });
    expect(res.status, path).toBe(200);
    expect(res.headers.get('access-control-allow-origin'), path).toBe('*');
  }
});

test('a script whose integrity does not match never runs', async ({ page }) => {
  await page.goto(`${site.url}/tampered`);
  // page.js, after the tag, runs; the tag's script does not.
  await expect.poll(() => page.evaluate(() => Array.isArray(window.edgeloopLog))).toBe(true);
  expect(await page.evaluate(() => 'Edgeloop' in window)).toBe(false);
});
