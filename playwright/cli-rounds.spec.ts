import { rmSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { ModelCard } from '../protocol/card.ts';
import { PolicyInfo, Round, RoundList } from '../protocol/rounds.ts';
import { cli, cliJson } from './fixtures/cli.ts';
import { copyDemoModelAs, waitForDemoModel } from './fixtures/edge.ts';

// `edgeloop rounds`, `policy` and `card` as child processes against the server `npm start`
// runs, on a copy of the demo model so digits's rounds stay the other specs'.
const MODEL = 'digits-cli-rounds';

test('rounds open, list, show and cancel; policy set and get; card', async () => {
  await waitForDemoModel();
  const dir = copyDemoModelAs(MODEL);
  try {
    expect((await cli(['publish', dir, '--alias', 'production'])).code).toBe(0);
    const opened = await cliJson(Round, [
      'rounds',
      'open',
      MODEL,
      '--min-clients',
      '2',
      '--minutes',
      '5',
      '--noise',
      '1.1',
    ]);
    expect(opened).toMatchObject({ status: 'open', model: MODEL, settings: { minClients: 2, noiseMultiplier: 1.1 } });
    expect(opened.settings.deadline - opened.openedAt).toBeGreaterThan(4 * 60_000);

    const list = await cli(['rounds', 'list', MODEL]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(opened.id);
    expect(list.stdout).toMatch(/\bopen\b/);
    const shown = await cli(['rounds', 'show', MODEL, opened.id]);
    expect(shown.stdout).toContain(opened.id);
    expect(shown.stdout).toMatch(/noise/i);
    expect((await cliJson(RoundList, ['rounds', 'list', MODEL])).rounds.map((r) => r.id)).toEqual([opened.id]);

    const again = await cli(['rounds', 'open', MODEL]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('ROUND_OPEN');
    const bad = await cli(['rounds', 'open', MODEL, '--min-clients', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--min-clients');

    const cancelled = await cliJson(Round, ['rounds', 'cancel', MODEL, opened.id]);
    expect(cancelled.status).toBe('cancelled');

    expect(
      (await cli(['policy', 'set', MODEL, 'production', '--every-labels', '100', '--canary-percent', '20'])).code,
    ).toBe(0);
    const policy = await cliJson(PolicyInfo, ['policy', 'get', MODEL, 'production']);
    expect(policy.policy).toMatchObject({ trigger: { everyLabels: 100 }, canary: { percent: 20 } });

    const card = await cli(['card', MODEL, '1']);
    expect(card.code).toBe(0);
    expect(card.stdout).toContain(MODEL);
    expect((await cliJson(ModelCard, ['card', MODEL, '1'])).version).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
