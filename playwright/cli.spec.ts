import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import * as v from 'valibot';
import { E2E_URL } from '../playwright.config.ts';
import {
  AliasInfo,
  CreatedKey,
  ModelList,
  PublishResult,
  Run,
  RunComparison,
  RunList,
  VersionInfo,
} from '../protocol/index.ts';
import { cli, cliJson } from './fixtures/cli.ts';
import { adminKey, copyDemoModelAs, waitForDemoModel } from './fixtures/edge.ts';

// The `edgeloop` CLI as a child process against the server `npm start` runs. digits@production
// belongs to the other specs: this one moves only `staging` of digits, and rolls out, rolls
// back and archives on a copy of the model published under another name.
const root = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(root, 'models/digits/artifacts');

/** A port nothing listens on: one the OS just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test.beforeAll(async () => {
  await waitForDemoModel();
});

test('list shows digits with production', async () => {
  const human = await cli(['list']);
  expect(human.code).toBe(0);
  expect(human.stdout).toMatch(/^digits\s+v\d+\s+.*production=v1/m);
  const { models } = await cliJson(ModelList, ['list']);
  expect(models.find((m) => m.name === 'digits')?.aliases.production).toBe(1);
});

test('show digits 1 prints the manifest summary and files', async () => {
  const human = await cli(['show', 'digits', '1']);
  expect(human.code).toBe(0);
  expect(human.stdout).toContain('digits v1 (ready');
  // npm start publishes the demo with its ONNX export.
  const files = [
    'model.json',
    'weights.bin',
    'replay.safetensors',
    'holdout.safetensors',
    'reference.json',
    'model.onnx',
  ];
  for (const file of files) expect(human.stdout).toContain(file);
  const info = await cliJson(VersionInfo, ['show', 'digits', '1']);
  expect(info.manifest.name).toBe('digits');
  expect(info.files.map((f) => f.path).sort()).toEqual([...files].sort());
  const versions = await cli(['show', 'digits']);
  expect(versions.stdout).toMatch(/^v1\s+ready/m);
});

test('publish uploads a new version with progress, then promote records the reason', async () => {
  const published = await cli(['publish', artifacts, '--json']);
  expect(published.code).toBe(0);
  expect(published.stderr).toMatch(/\[1\/5\] model\.json/);
  expect(published.stderr).toMatch(/uploading 5 files, [\d.]+ MiB/);
  const result = v.parse(PublishResult, JSON.parse(published.stdout));
  expect(result.model).toBe('digits');
  expect(result.version).toBeGreaterThan(1);
  expect(result.files.map((f) => f.path).sort()).toEqual([
    'holdout.safetensors',
    'model.json',
    'reference.json',
    'replay.safetensors',
    'weights.bin',
  ]);

  const reason = `cli e2e ${Date.now()}`;
  const info = await cliJson(AliasInfo, [
    'promote',
    'digits',
    String(result.version),
    '--alias',
    'staging',
    '--reason',
    reason,
  ]);
  expect(info.version).toBe(result.version);
  expect(info.history[0]).toMatchObject({ kind: 'move', to: result.version, reason });
  const human = await cli(['promote', 'digits', String(result.version), '--alias', 'staging', '--reason', 'again']);
  expect(human.stdout).toContain(`digits@staging → v${result.version}`);
  const list = await cliJson(ModelList, ['list']);
  expect(list.models.find((m) => m.name === 'digits')?.aliases).toMatchObject({
    production: 1,
    staging: result.version,
  });
});

test('rollout, rollback and archive on a copy of the model', async () => {
  const name = `cli-${Date.now().toString(36)}`;
  const dir = copyDemoModelAs(name);
  try {
    const first = await cliJson(PublishResult, ['publish', dir, '--alias', 'production', '--reason', 'first']);
    const second = await cliJson(PublishResult, ['publish', dir]);
    expect([first.version, second.version]).toEqual([1, 2]);

    const rolled = await cliJson(AliasInfo, [
      'rollout',
      name,
      '--alias',
      'production',
      '--canary',
      '2@25',
      '--shadow',
      '2',
    ]);
    expect(rolled.rollout).toEqual({ canary: { version: 2, percent: 25 }, shadow: { version: 2 } });
    const cleared = await cliJson(AliasInfo, ['rollout', name, '--alias', 'production', '--clear']);
    expect(cleared.rollout).toEqual({});

    await cliJson(AliasInfo, ['promote', name, '2', '--alias', 'production', '--reason', 'try v2']);
    const back = await cliJson(AliasInfo, ['rollback', name, '--alias', 'production']);
    expect(back.version).toBe(1);
    expect(back.history[0]).toMatchObject({ kind: 'rollback', from: 2, to: 1 });

    const inUse = await cli(['archive', name, '1']);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain('VERSION_IN_USE');
    expect((await cli(['archive', name, '2'])).stdout).toContain(`${name} v2 archived`);
    expect((await cli(['show', name])).stdout).toMatch(/^v2\s+archived/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a read key made with keys create cannot publish', async () => {
  const created = await cliJson(CreatedKey, ['keys', 'create', '--name', 'cli-e2e-read', '--scope', 'read']);
  expect(created.scopes).toEqual(['read']);
  const listed = await cli(['keys', 'list']);
  expect(listed.stdout).toContain(created.id);

  const refused = await cli(['publish', artifacts], { EDGELOOP_KEY: created.key });
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toMatch(/^edgeloop: FORBIDDEN: /m);
  expect((await cli(['list', '--key', created.key])).code).toBe(0);

  expect((await cli(['keys', 'revoke', created.id])).stdout).toContain(`revoked key ${created.id}`);
  const revoked = await cli(['list', '--key', created.key]);
  expect(revoked.code).toBe(1);
  expect(revoked.stderr).toMatch(/^edgeloop: UNAUTHORIZED: /m);
});

/** Creates a run through the API (the CLI only reads runs) and logs one metric. */
async function createRun(name: string, lr: number, accuracy: number): Promise<string> {
  const headers = { authorization: `Bearer ${adminKey()}`, 'content-type': 'application/json' };
  const res = await fetch(`${E2E_URL}/v1/runs`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ v: 1, model: 'digits', name, params: { lr, epochs: 3 } }),
  });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  const metrics = await fetch(`${E2E_URL}/v1/runs/${id}/metrics`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ v: 1, metrics: [{ key: 'accuracy', value: accuracy, step: 1 }] }),
  });
  expect(metrics.ok).toBe(true);
  return id;
}

test('runs lists, shows and compares runs', async () => {
  const a = await createRun('cli-a', 0.01, 0.9);
  const b = await createRun('cli-b', 0.02, 0.95);
  const list = await cliJson(RunList, ['runs', '--model', 'digits']);
  expect(list.runs.map((r) => r.id)).toEqual(expect.arrayContaining([a, b]));
  expect((await cli(['runs'])).stdout).toMatch(new RegExp(`^${b}\\s+digits\\s+cli-b\\s+running`, 'm'));

  const run = await cliJson(Run, ['runs', 'show', a]);
  expect(run.metrics.accuracy?.value).toBe(0.9);
  expect((await cli(['runs', 'show', a])).stdout).toContain('metric   accuracy = 0.9 (step 1)');

  const cmp = await cliJson(RunComparison, ['runs', 'compare', a, b]);
  expect(cmp.differingParams).toEqual(['lr']);
  expect(cmp.runs.map((r) => r.metrics.accuracy)).toEqual([0.9, 0.95]);
  expect((await cli(['runs', 'compare', a, b])).stdout).toMatch(/^metric accuracy\s+0\.9\s+0\.95$/m);

  const missing = await cli(['runs', 'show', `run_${'0'.repeat(32)}`]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/^edgeloop: RUN_NOT_FOUND: /m);
});

test('bad flags, unknown commands and missing arguments fail with a clear message', async () => {
  const badFlag = await cli(['list', '--bogus']);
  expect(badFlag.code).toBe(2);
  expect(badFlag.stderr.trim()).toBe('edgeloop: unknown flag --bogus for "list"; run "edgeloop list --help"');

  const unknown = await cli(['frobnicate']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr.trim()).toBe('edgeloop: unknown command "frobnicate"; run "edgeloop --help"');

  const noValue = await cli(['show', 'digits', '--endpoint']);
  expect(noValue.code).toBe(2);
  expect(noValue.stderr).toContain('flag --endpoint needs a value');

  const noReason = await cli(['promote', 'digits', '1', '--alias', 'staging']);
  expect(noReason.code).toBe(2);
  expect(noReason.stderr).toContain('missing --reason');

  const help = await cli(['rollout', '--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('--canary <version>@<percent>');
});

test('an unreachable endpoint fails clearly', async () => {
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  const result = await cli(['list', '--endpoint', endpoint]);
  expect(result.code).toBe(1);
  expect(result.stderr.trim()).toBe(`edgeloop: the edge at ${endpoint} is unreachable (ECONNREFUSED)`);
});
