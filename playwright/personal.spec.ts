import { expect, type Page, test } from '@playwright/test';
import { seededRandom } from '../protocol/random.ts';
import type { TrainResult } from '../protocol/train.ts';
import {
  backendReport,
  correct,
  expectPending,
  openApp,
  pending,
  predictDigit,
  status,
  storedMeta,
  trainOnDevice,
} from './fixtures/app.ts';
import { type Digit, heldOutDigits, styled } from './fixtures/digits.ts';
import { waitForDemoModel } from './fixtures/edge.ts';

// On-device learning through the real app: the personal fine-tune is judged, stored in the
// browser's IndexedDB, survives a reload and can be reverted; a worse candidate is refused.

test.beforeAll(async () => {
  await waitForDemoModel();
});

async function labelAll(page: Page, digits: Digit[], labelOf: (digit: Digit) => number): Promise<void> {
  for (const digit of digits) {
    await predictDigit(page, digit);
    await correct(page, labelOf(digit));
  }
}

async function labelOfDrawing(page: Page, digit: Digit): Promise<number> {
  await predictDigit(page, digit);
  return Number((await page.getByTestId('prediction-label').textContent())?.trim());
}

test('corrections → train → applied → reload keeps the fine-tune → revert brings back the registry model', async ({
  page,
}) => {
  await openApp(page, { backend: 'wasm' });
  const probes = heldOutDigits(20, 1500).map((d) => styled('inverted', d));
  const before: number[] = [];
  for (const probe of probes) before.push(await labelOfDrawing(page, probe));

  await labelAll(
    page,
    heldOutDigits(40).map((d) => styled('inverted', d)),
    (d) => d.label,
  );
  const trained = await trainOnDevice(page);
  expect(trained).toMatchObject({ backend: 'wasm', examples: 40, judgedExamples: 40, applied: true, reasons: [] });
  expect(trained.judgement).toMatchObject({ method: 'cross-validation', folds: 3 });
  expect(trained.holdoutBefore - trained.holdoutAfter).toBeLessThanOrEqual(0.01);
  await expect(page.getByTestId('train-result')).toContainText('Applied');
  await expect(page.getByTestId('status-personal')).toContainText('active on v1');

  const after: number[] = [];
  for (const probe of probes) after.push(await labelOfDrawing(page, probe));
  const changed = after.flatMap((label, i) => (label !== before[i] ? [i] : []));
  expect(changed.length).toBeGreaterThan(0);
  expect(after.filter((label, i) => label === probes[i]?.label).length).toBeGreaterThan(
    before.filter((label, i) => label === probes[i]?.label).length,
  );

  // A reload restores the fine-tune from IndexedDB: the changed answers stay changed.
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 180_000 });
  expect((await status(page)).model).toMatchObject({ localFineTune: true, personal: { baseVersion: 1, examples: 40 } });
  for (const i of changed) expect(await labelOfDrawing(page, probes[i] as Digit)).toBe(after[i]);

  await page.getByRole('button', { name: 'Use the registry model' }).click();
  await expect(page.getByTestId('train-result')).toContainText("the registry's v1 serves again");
  await expect(page.getByTestId('status-personal')).toContainText('none');
  for (const i of changed) expect(await labelOfDrawing(page, probes[i] as Digit)).toBe(before[i]);
});

test('a candidate trained on random labels is refused with its reasons, and nothing changes', async ({ page }) => {
  await openApp(page, { backend: 'wasm' });
  const random = seededRandom(11);
  const probe = styled('inverted', heldOutDigits(1, 1800)[0] as Digit);
  await labelAll(
    page,
    heldOutDigits(30, 200).map((d) => styled('inverted', d)),
    () => Math.floor(random() * 10),
  );
  // Straight through the SDK from here on (the status bar does not count these predictions).
  const { outputs: answerBefore } = await page.evaluate(
    (pixels) => window.edgeloop.client.predict(pixels),
    probe.pixels,
  );
  const trained: TrainResult = await trainOnDevice(page);
  expect(trained.applied).toBe(false);
  expect(trained.reasons.length).toBeGreaterThan(0);
  await expect(page.getByTestId('train-result')).toContainText('Not applied, nothing changed');
  const { outputs: answerAfter } = await page.evaluate(
    (pixels) => window.edgeloop.client.predict(pixels),
    probe.pixels,
  );
  expect(answerAfter).toEqual(answerBefore);
  expect((await status(page)).model).toMatchObject({ localFineTune: false, personal: null });
});

test('the help-the-model queue shows the least sure drawings and labels them', async ({ page }) => {
  await openApp(page, { backend: 'wasm' });
  for (const digit of heldOutDigits(12, 300).map((d) => styled('tilted', d))) await predictDigit(page, digit);
  await page.getByRole('button', { name: 'Show uncertain drawings' }).click();
  const queue = page.getByTestId('help-queue').locator('li');
  await expect(queue).toHaveCount(5);
  const { suggestions } = await page.evaluate(() => window.edgeloop.client.suggest({ v: 1, k: 5 }));
  const margins = suggestions.map((s) => s.margin);
  expect(margins).toEqual([...margins].sort((a, b) => a - b));
  expect(await queue.first().getAttribute('data-prediction-id')).toBe(suggestions[0]?.predictionId);

  const before = await pending(page);
  await queue.first().getByLabel('Its digit').selectOption('7');
  await queue.first().getByRole('button', { name: 'Label' }).click();
  await expectPending(page, before + 1);
  await expect(queue).toHaveCount(4);
});

test('training on WebGPU first compares its gradients with cpu’s, and trains where they agree (not on a software adapter)', async ({
  page,
}) => {
  const db = await openApp(page, { backend: 'webgpu' });
  await labelAll(
    page,
    heldOutDigits(30, 400).map((d) => styled('inverted', d)),
    (d) => d.label,
  );
  const trained = await trainOnDevice(page);
  const verdict = (await storedMeta(page, db, 'gradientCheck')) as {
    adapter: string;
    ok: boolean;
    maxError: number;
  } | null;
  if (!verdict) throw new Error('no gradient check was recorded before training on WebGPU');
  console.log(`gradient check on ${verdict.adapter}: max relative error ${verdict.maxError}, ok ${verdict.ok}`);
  // A software adapter (SwiftShader here) is checked, then trains on wasm, which is faster there.
  const software = (await backendReport(page)).adapter?.isFallbackAdapter === true;
  expect(trained.backend).toBe(verdict.ok && !software ? 'webgpu' : 'wasm');
  if (!verdict.ok) expect(trained.note).toMatch(/WebGPU gradients on .* differ from cpu's/);
  else if (software)
    expect(trained.note).toMatch(/agree with cpu's, but it is a software adapter, so training ran on wasm/);
  expect((await status(page)).backend).toBe('webgpu');
});
