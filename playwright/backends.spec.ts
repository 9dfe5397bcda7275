import { expect, test } from '@playwright/test';
import { backendReport, correct, openApp, predictDigit, trainOnDevice } from './fixtures/app.ts';
import { heldOutDigits, rotated } from './fixtures/digits.ts';
import { waitForDemoModel } from './fixtures/edge.ts';

test.beforeAll(async () => {
  await waitForDemoModel();
});

test('WebGPU runs when asked for, and the page says when the adapter is a software fallback', async ({ page }) => {
  await openApp(page, { backend: 'webgpu' });
  const report = await backendReport(page);
  expect(report.backend).toBe('webgpu');
  if (!report.adapter) throw new Error('a WebGPU backend ran without an adapter report');
  if (report.adapter.isFallbackAdapter) await expect(page.getByTestId('status-backend')).toContainText(/fallback/i);
  const [digit] = heldOutDigits(1, 100);
  if (!digit) throw new Error('no fixture digit');
  await predictDigit(page, digit);
  await expect(page.getByTestId('prediction-label')).toHaveText(String(digit.label));
});

test('fine-tuning runs on WASM; with few labels it is judged by cross-validation', async ({ page }) => {
  await openApp(page, { backend: 'wasm' });
  expect((await backendReport(page)).backend).toBe('wasm');
  for (const digit of heldOutDigits(10, 200).map(rotated)) {
    await predictDigit(page, digit);
    await correct(page, digit.label);
  }
  const trained = await trainOnDevice(page);
  expect(trained).toMatchObject({ backend: 'wasm', examples: 10, judgedExamples: 10 });
  expect(trained.judgement).toMatchObject({ method: 'cross-validation', folds: 5, judged: 10 });
  expect(trained.standard.examples).toBe(2000);
  // Applied exactly when no reason stands against it.
  expect(trained.applied).toBe(trained.reasons.length === 0);
});
