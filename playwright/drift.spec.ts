import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import * as v from 'valibot';
import { EdgeClient } from '../cli/lib/client.ts';
import { digitFeatures } from '../models/digits/features.ts';
import { E2E_URL, E2E_WEBHOOK_PORT } from '../playwright.config.ts';
import { DriftAlert, type DriftReport, ModelList, PublishResult } from '../protocol/index.ts';
import { openApp } from './fixtures/app.ts';
import { cli, cliJson } from './fixtures/cli.ts';
import { type Digit, heldOutDigits, thickened } from './fixtures/digits.ts';
import { adminKey, copyDemoModelAs, waitForDemoModel } from './fixtures/edge.ts';

// Drift appearing from real clients: two copies of the demo model, each with the training
// data's reference profile. Browser clients of one see held-out digits as drawn; clients of
// the other see the same digits drawn with a thicker pen. Each profiles what it predicts on
// the device and syncs only the profile; the edge's Durable Object merges them and reports.
const SAMPLE = 600;
const STEADY = `drift-ok-${Date.now().toString(36)}`;
const SHIFTED = `drift-shift-${Date.now().toString(36)}`;

const alerts: unknown[] = [];
let receiver: Server;

test.beforeAll(async () => {
  await waitForDemoModel();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      alerts.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(E2E_WEBHOOK_PORT, '127.0.0.1', resolve));
});

test.afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
});

/** Two browser clients of `model` (their own IndexedDB each) predict `digits` between them and sync. */
async function runClients(pages: Page[], model: string, digits: Digit[]): Promise<void> {
  const share = Math.ceil(digits.length / pages.length);
  for (const [i, page] of pages.entries()) {
    await openApp(page, { model });
    const mine = digits.slice(i * share, (i + 1) * share);
    const sent = await page.evaluate(async (inputs) => {
      const { client } = window.edgeloop;
      const ids: string[] = [];
      for (const input of inputs) ids.push((await client.predict(input.pixels)).predictionId);
      // Label a third of them, as users correcting predictions would.
      for (const [k, id] of ids.entries()) if (k % 3 === 0) await client.feedback(id, inputs[k]?.label ?? 0);
      return client.sync();
    }, mine);
    expect(sent.pending).toBe(0);
    expect(sent.profiles).toMatchObject({ rejected: 0 });
    expect((sent.profiles?.accepted ?? 0) + (sent.profiles?.duplicates ?? 0)).toBeGreaterThan(0);
  }
}

async function report(edge: EdgeClient, model: string): Promise<DriftReport> {
  return edge.getDrift(model, 1);
}

test('clients fed thicker strokes make the edge flag their features and the dataset; in-distribution clients do not', async ({
  browser,
}) => {
  test.setTimeout(600_000);
  // The edge judges each hour window on its own, whatever its row count: clients whose profiles
  // straddle an hour boundary leave a thin window that can look drifted (a known weakness, not
  // what this test is about), so the clients run within one hour.
  const toNextHour = 3_600_000 - (Date.now() % 3_600_000);
  if (toNextHour < 4 * 60_000) await new Promise((resolve) => setTimeout(resolve, toNextHour + 1_000));
  const edge = new EdgeClient(E2E_URL, adminKey());
  const digits = heldOutDigits(SAMPLE);

  // The steady model ships the reference `train:digits` made; the shifted one is published with
  // `--reference`, profiled by the CLI from feature rows of the 1,400 held-out digits the clients do not see.
  const steadyDir = copyDemoModelAs(STEADY);
  const shiftedDir = copyDemoModelAs(SHIFTED);
  const rowsFile = join(shiftedDir, 'rows.json');
  writeFileSync(rowsFile, JSON.stringify(heldOutDigits(1400, SAMPLE).map((d) => digitFeatures(d.pixels))));
  try {
    await cliJson(PublishResult, ['publish', steadyDir, '--alias', 'production']);
    const published = await cli(['publish', shiftedDir, '--reference', rowsFile, '--alias', 'production', '--json']);
    expect(published.code).toBe(0);
    expect(published.stderr).toContain(`reference: profiled 1400 rows from ${rowsFile}`);
  } finally {
    rmSync(steadyDir, { recursive: true, force: true });
    rmSync(shiftedDir, { recursive: true, force: true });
  }

  const context = await browser.newContext();
  const pages = [await context.newPage(), await context.newPage()];
  await runClients(pages, STEADY, digits);
  await runClients(pages, SHIFTED, digits.map(thickened));
  await context.close();

  const steady = await report(edge, STEADY);
  expect(steady.current.count).toBe(SAMPLE);
  expect(steady.reference.count).toBe(8000);
  expect(steady.features.filter((f) => f.drifted)).toEqual([]);
  expect(steady.dataset.drifted).toBe(false);
  expect(steady.predictions?.drifted).toBe(false);
  expect(steady.performance?.count).toBe(SAMPLE / 3);
  expect(steady.performance?.accuracy).toBeGreaterThan(0.9);

  const shifted = await report(edge, SHIFTED);
  expect(shifted.current.count).toBe(SAMPLE);
  expect(shifted.reference.count).toBe(1400);
  expect(shifted.features.filter((f) => f.drifted).map((f) => f.name)).toEqual([
    'ink',
    'mean_intensity',
    'centroid_x',
    'centroid_y',
  ]);
  expect(shifted.dataset).toMatchObject({ drifted: true, driftedShare: 1 });

  // The CLI prints the same report and can fail a pipeline on it.
  const printed = await cli(['drift', SHIFTED]);
  expect(printed.code).toBe(0);
  expect(printed.stdout).toMatch(/^\s+ink\s+numeric\s+wasserstein\s+\S+\s+0\.100\s+-\s+DRIFT$/m);
  expect(printed.stdout).toContain('dataset: DRIFT (100% of features drifted; threshold 50%)');
  expect((await cli(['drift', SHIFTED, '--fail-on-drift'])).code).toBe(3);
  expect((await cli(['drift', STEADY, '--fail-on-drift'])).code).toBe(0);

  // The alias needs attention, a webhook got one alert for the window, /metrics has the statistics.
  const { models } = await edge.request(ModelList, '/v1/models');
  const attention = models.find((m) => m.name === SHIFTED)?.attention?.production;
  expect(attention?.version).toBe(1);
  expect(attention?.drifted.sort()).toEqual(['centroid_x', 'centroid_y', 'ink', 'mean_intensity']);
  expect(models.find((m) => m.name === STEADY)?.attention ?? {}).toEqual({});
  await expect.poll(() => alerts.length, { timeout: 30_000 }).toBeGreaterThan(0);
  const received = alerts.map((a) => v.parse(DriftAlert, a));
  // Once per window: more profiles for a window that already alerted send nothing more (the
  // clients may straddle an hour, hence windows rather than a count of one).
  const shiftedAlerts = received.filter((a) => a.model === SHIFTED);
  expect(new Set(shiftedAlerts.map((a) => a.window.from)).size).toBe(shiftedAlerts.length);
  expect(shiftedAlerts[0]?.drifted).toEqual(expect.arrayContaining(['ink', 'mean_intensity']));
  expect(received.filter((a) => a.model === STEADY)).toEqual([]);
  const metrics = await (
    await fetch(`${E2E_URL}/metrics`, { headers: { authorization: `Bearer ${adminKey()}` } })
  ).text();
  expect(metrics).toContain(
    `edgeloop_drift_detected{model="${SHIFTED}",version="1",feature="ink",method="wasserstein"} 1`,
  );
  expect(metrics).toContain(
    `edgeloop_drift_detected{model="${STEADY}",version="1",feature="ink",method="wasserstein"} 0`,
  );
});
