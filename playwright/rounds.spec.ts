import { rmSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import type * as v from 'valibot';
import { EdgeClient } from '../cli/lib/client.ts';
import { publishDir } from '../cli/lib/publish.ts';
import { E2E_URL } from '../playwright.config.ts';
import { AliasInfo } from '../protocol/registry.ts';
import { PolicyInfo, Round } from '../protocol/rounds.ts';
import { openApp } from './fixtures/app.ts';
import { heldOutDigits, styled } from './fixtures/digits.ts';
import { adminKey, copyDemoModelAs, waitForDemoModel } from './fixtures/edge.ts';

// A federated round from real browsers: three contexts (three devices, each its own IndexedDB
// and client identity) correct digits in their own style, take part in the round, and the edge
// aggregates their updates into a candidate version, gates it on the held-out set and, by the
// alias's policy, puts it in canary. On its own model so digits@production stays as it is.
const MODEL = 'digits-fleet';
const STYLES = ['slanted', 'wide', 'bold'];

function send<T>(
  edge: EdgeClient,
  schema: v.GenericSchema<unknown, T>,
  method: string,
  path: string,
  body: unknown,
): Promise<T> {
  return edge.request(schema, path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

test('three browsers take part in a round; its candidate is gated and goes to canary', async ({ browser }) => {
  test.setTimeout(600_000);
  await waitForDemoModel();
  const edge = new EdgeClient(E2E_URL, adminKey());
  const dir = copyDemoModelAs(MODEL);
  try {
    const base = (await publishDir(edge, dir)).version;
    await send(edge, AliasInfo, 'PUT', `/v1/models/${MODEL}/aliases/production`, { version: base });
    // This spec checks the loop, not the gain (bench/fleet.ts measures that): three devices' few
    // labels make a small step; their 9 held-out labels are counted but too few for the gate to
    // judge (fewer than its minExamples, 30), so the holdout decides.
    await send(edge, PolicyInfo, 'PUT', `/v1/models/${MODEL}/aliases/production/policy`, {
      v: 1,
      gate: { maxDrop: 0.12 },
      canary: { percent: 50 },
    });
    const round = await send(edge, Round, 'POST', `/v1/models/${MODEL}/rounds`, {
      v: 1,
      settings: {
        minClients: 3,
        maxClients: 3,
        minExamples: 8,
        localEpochs: 2,
        evaluationSeconds: 300,
        deadline: Date.now() + 480_000,
      },
    });

    const outcomes = [];
    const devices = [];
    for (const [i, style] of STYLES.entries()) {
      const context = await browser.newContext();
      const page = await context.newPage();
      devices.push(context);
      await openApp(page, { model: MODEL, backend: 'wasm' });
      const digits = heldOutDigits(15, 100 + 15 * i).map((d) => styled(style, d));
      const outcome = await page.evaluate(async (inputs) => {
        const { client } = window.edgeloop;
        for (const input of inputs) {
          const { predictionId } = await client.predict(input.pixels);
          await client.feedback(predictionId, input.label);
        }
        const participation = await client.participate();
        const synced = await client.sync();
        return { participation, pending: synced.pending, status: await client.status() };
      }, digits);
      outcomes.push(outcome);
    }
    for (const outcome of outcomes) {
      expect(outcome.participation).toMatchObject({ status: 'sent', roundId: round.id });
      expect(outcome.pending).toBe(0);
      expect(outcome.status.federated?.lastRound).toMatchObject({ id: round.id, state: 'sent', heldOut: 3 });
    }

    // The third update fills the round: the edge aggregates it and asks its contributors to
    // judge the candidate on the labels they held out (3 each of 15); only counts come back.
    await expect
      .poll(async () => (await edge.request(Round, `/v1/models/${MODEL}/rounds/${round.id}`)).status)
      .toBe('gating');
    for (const context of devices) {
      const [page] = context.pages();
      const evaluated = await page?.evaluate(() => window.edgeloop.client.participate());
      expect(evaluated).toMatchObject({ status: 'evaluated', roundId: round.id, examples: 3, state: 'sent' });
      await context.close();
    }

    // The last evaluation decides the round at once.
    let done = round;
    await expect
      .poll(
        async () => {
          done = await edge.request(Round, `/v1/models/${MODEL}/rounds/${round.id}`);
          return done.status;
        },
        { timeout: 120_000 },
      )
      .toBe('done');
    expect(done).toMatchObject({ contributors: 3, eligible: 3, baseVersion: base });
    const candidate = done.candidateVersion as number;
    expect(candidate).toBeGreaterThan(base);
    expect(done.gate?.metrics).toMatchObject([
      { set: 'holdout', examples: 2000 },
      { set: 'fleet', examples: 9 },
    ]);
    expect(done.gate?.blessed, done.gate?.reasons.join('; ')).toBe(true);
    expect(done.gate?.reasons).toContainEqual(
      expect.stringMatching(/^skip: fleet accuracy .* on 9: fewer than 30 examples/),
    );
    const alias = await edge.request(AliasInfo, `/v1/models/${MODEL}/aliases/production`);
    expect(alias.rollout.canary).toEqual({ version: candidate, percent: 50 });
    expect(alias.history[0]?.reason).toContain(`round ${round.id} candidate v${candidate} blessed`);
    const card = await fetch(`${E2E_URL}/v1/models/${MODEL}/versions/${candidate}/card`, {
      headers: { authorization: `Bearer ${adminKey()}` },
    });
    expect(card.status).toBe(200);
    const { markdown } = (await card.json()) as { markdown: string };
    expect(markdown).toContain(round.id);

    // The dashboard shows the round, the model's privacy, the policy's canary step and the card.
    const page = await browser.newPage();
    await page.goto('/dashboard');
    await page.getByLabel('API key').fill(adminKey());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Model', { exact: true }).selectOption(MODEL);
    const rounds = page.getByTestId('rounds');
    await expect(rounds.locator(`[data-round="${round.id}"]`)).toHaveAttribute('data-status', 'done');
    await expect(page.getByTestId('privacy')).toContainText('∞');
    await expect(page.getByTestId('timeline')).toContainText(`candidate v${candidate} blessed`);
    await page.getByLabel('Card of version').selectOption(String(candidate));
    await expect(page.getByTestId('model-card')).toContainText(round.id);
    await page.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
