import { expect, test } from '@playwright/test';
import { backendReport, correct, expectPending, openApp, predictDigit, status, trainOnDevice } from './fixtures/app.ts';
import { heldOutDigits, styled } from './fixtures/digits.ts';
import { clientInfo, runInfo, waitForDemoModel } from './fixtures/edge.ts';

test.beforeAll(async () => {
  await waitForDemoModel();
});

test('the whole loop: load from the registry, predict, correct, fine-tune, sync exactly once', async ({ page }) => {
  await openApp(page);
  await expect(page.getByTestId('status-version')).toContainText('1');

  // `auto` chooses by measured warm-up speed, never because an adapter merely exists.
  const report = await backendReport(page);
  expect(report.requested).toBe('auto');
  const timings = Object.entries(report.warmupMs);
  expect(timings.length).toBeGreaterThan(1);
  const fastest = timings.reduce((a, b) => (b[1] < a[1] ? b : a))[0];
  expect(report.backend).toBe(fastest);
  await expect(page.getByTestId('status-backend')).toContainText(report.backend);

  // A digit drawn with the pointer, as a person would.
  const pad = page.locator('canvas').first();
  const box = await pad.boundingBox();
  if (!box) throw new Error('drawing pad not visible');
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.8, { steps: 12 });
  await page.mouse.up();
  await page.getByRole('button', { name: 'Predict' }).click();
  await expectPending(page, 1);
  await expect(page.getByTestId('prediction-label')).toHaveText(/^\s*1\s*$/);
  await expect(page.getByTestId('prediction-probs')).toBeVisible();

  // The user's own handwriting (dark ink on light paper), corrected one by one through the UI.
  // A style the gate tells from standard digits: its fine-tune never costs standard accuracy,
  // so the guard's decision does not hang on the fit's unseeded draws.
  const digits = heldOutDigits(40).map((d) => styled('inverted', d));
  for (const digit of digits) {
    await predictDigit(page, digit);
    await correct(page, digit.label);
  }
  await expectPending(page, 1 + 2 * digits.length);

  const trained = await trainOnDevice(page);
  expect(trained.backend).toBe(report.backend);
  expect(trained.examples).toBe(digits.length);
  // Each label judges a fit (3-fold cross-validation) that never trained on it.
  expect(trained).toMatchObject({ judgedExamples: 40, applied: true, reasons: [] });
  expect(trained.holdoutBefore - trained.holdoutAfter).toBeLessThanOrEqual(0.01);
  expect(trained.feedbackAfter).toBeGreaterThan(trained.feedbackBefore);
  await expect(page.getByTestId('train-result')).toContainText(trained.backend);
  // The fine-tune is recorded as an experiment run on the edge.
  if (!trained.runId) throw new Error(`training recorded no run: ${trained.runError}`);
  const run = await runInfo(trained.runId);
  expect(run).toMatchObject({ model: 'digits', status: 'finished', parentVersion: 1 });
  expect(run.metrics.holdout_accuracy_after?.value).toBe(trained.holdoutAfter);

  // Offline-first: a reload (same IndexedDB database) keeps everything waiting to sync.
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true', { timeout: 180_000 });
  await expectPending(page, 1 + 2 * digits.length);

  await page.getByRole('button', { name: 'Sync' }).click();
  await expectPending(page, 0);
  const { clientId } = await status(page);
  if (!clientId) throw new Error('no client id');
  const first = await clientInfo(clientId);
  expect(first.counts).toEqual({ prediction: 1 + digits.length, feedback: digits.length });
  expect(first.maxSeq).toBe(1 + 2 * digits.length);

  // A second sync sends nothing new and changes no count on the edge.
  await page.getByRole('button', { name: 'Sync' }).click();
  await expect(page.getByTestId('status-last-sync')).toContainText('sent 0');
  expect(await clientInfo(clientId)).toMatchObject({ counts: first.counts, maxSeq: first.maxSeq });
});
