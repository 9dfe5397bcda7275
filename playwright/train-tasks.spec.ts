import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as v from 'valibot';
import {
  REGRESSION_SIZE,
  regressionInputs,
  regressionModelFiles,
  usualValue,
  valuesOf,
} from '../models/samples/regression-model.ts';
import { E2E_URL } from '../playwright.config.ts';
import { Manifest } from '../protocol/manifest.ts';
import { seededRandom } from '../protocol/random.ts';
import { openApp } from './fixtures/app.ts';
import { cli } from './fixtures/cli.ts';
import { adminKey, waitForDemoModel } from './fixtures/edge.ts';

// On-device training by task, as a user who brings a regression model would meet it: the
// model's folder through `edgeloop init --task regression` and `edgeloop publish`, then in
// Chromium the SDK predicts, takes the user's true values as feedback and fine-tunes on wasm,
// against the real edge (workerd, D1, R2) and real IndexedDB.

test('a regression model: init --task regression, publish, predict, true values as feedback, a fine-tune on the device closer to the user on inputs it never saw', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await waitForDemoModel();
  await tf.setBackend('cpu');
  const dir = join(mkdtempSync(join(tmpdir(), 'edgeloop-regression-')), 'price');
  mkdirSync(dir);
  try {
    for (const [name, bytes] of Object.entries(await regressionModelFiles({ examples: true }))) {
      writeFileSync(join(dir, name), bytes);
    }
    const init = await cli(['init', dir, '--model', 'price', '--task', 'regression']);
    expect(init.code, init.stderr).toBe(0);
    const manifest = v.parse(Manifest, JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    expect(manifest).toMatchObject({ task: 'regression', format: 'tfjs-layers' });
    expect(manifest.files.map((f) => f.role).sort()).toEqual(['holdout', 'model', 'replay', 'weights']);
    const published = await cli(['publish', dir, '--alias', 'production', '--reason', 'train by task']);
    expect(published.code, published.stderr).toBe(0);

    // A user whose inputs lie off the usual ones, and whose values run higher where x₂ is large.
    const random = seededRandom(5);
    const taught = regressionInputs(60, random, 1);
    const unseen = regressionInputs(100, random, 1);
    const answer = (x: Float32Array) => usualValue(x) + 1.5 * (x[2] as number) + 0.5;
    await openApp(page, { model: 'price', backend: 'wasm' });
    const outcome = await page.evaluate(
      async ({ taught, values, unseen, truths, size }) => {
        const { client } = window.edgeloop;
        const row = (flat: number[], i: number) => Float32Array.from(flat.slice(i * size, (i + 1) * size));
        const rmse = async () => {
          let squares = 0;
          for (let i = 0; i < truths.length; i++) {
            const { outputs } = await client.predict(row(unseen, i));
            squares += ((outputs[0] ?? Number.NaN) - (truths[i] ?? 0)) ** 2;
          }
          return Math.sqrt(squares / truths.length);
        };
        const before = await rmse();
        for (let i = 0; i < values.length; i++) {
          const { predictionId } = await client.predict(row(taught, i));
          await client.feedback(predictionId, values[i] ?? 0);
        }
        const result = await client.train({ v: 1 });
        const after = await rmse();
        const { model } = await client.status();
        const synced = await client.sync();
        return { before, after, result, personal: model?.personal, synced };
      },
      {
        taught: Array.from(taught),
        values: Array.from(valuesOf(taught, answer)),
        unseen: Array.from(unseen),
        truths: Array.from(valuesOf(unseen, answer)),
        size: REGRESSION_SIZE,
      },
    );
    console.log('regression on the device', JSON.stringify({ ...outcome, result: { ...outcome.result, note: '' } }));
    expect(outcome.result).toMatchObject({ task: 'regression', backend: 'wasm', applied: true, reasons: [] });
    expect(outcome.result.judgement).toMatchObject({ task: 'regression', method: 'cross-validation', judged: 60 });
    expect(outcome.result.standard).toMatchObject({ task: 'regression', examples: 500 });
    expect(outcome.after).toBeLessThan(outcome.before / 2);
    expect(outcome.personal).toMatchObject({ task: 'regression', examples: 60 });
    expect(outcome.synced).toMatchObject({ rejected: 0 });

    // The fine-tune's run on the edge names its scores by the task.
    const run = await fetch(`${E2E_URL}/v1/runs/${outcome.result.runId}`, {
      headers: { authorization: `Bearer ${adminKey()}` },
    });
    expect(run.status).toBe(200);
    const { metrics, params } = (await run.json()) as {
      metrics: Record<string, { value: number }>;
      params: Record<string, unknown>;
    };
    expect(params).toMatchObject({ task: 'regression' });
    expect(metrics.feedback_rmse_after?.value).toBeCloseTo(outcome.result.feedbackAfter, 5);
    expect(metrics).not.toHaveProperty('feedback_accuracy_after');
  } finally {
    rmSync(join(dir, '..'), { recursive: true, force: true });
  }
});
