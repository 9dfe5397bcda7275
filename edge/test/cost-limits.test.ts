import { createExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { forwardWork } from '../../models/explain/cost.ts';
import { CLIENT_TOKEN_HEADER, type ClientIdentity } from '../../protocol/clients.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import worker from '../src/index.ts';
import { savedFiles } from './dense-model.ts';
import { ADMIN_KEY, CLIENT_KEY, expectError, publish, registerClient, sendJson } from './helpers.ts';

// Work limits of /v2 infer (issue 14): a budget per request checked before anything runs,
// work-unit buckets per client and per address, work cut into chunks that let the isolate
// serve others; and the limit on client identities issued per address. Limits are vars read
// per request, so tests that need low ones run the Worker with their own env and addresses.

const MODEL = 'cost-cnn';
/** Work units of one example through the test CNN, as the edge estimates them. */
let perExample = 0;

/** The demo digits CNN's layout (28×28×1 → 10), seeded: ~0.7 M work units an example. */
async function cnnFiles(): Promise<Record<string, Uint8Array>> {
  await tf.setBackend('cpu');
  const init = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 16,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 32, activation: 'relu', kernelInitializer: init(3) }),
      tfl.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: init(4) }),
    ],
  });
  perExample = forwardWork(model);
  return savedFiles(model);
}

const manifest: Manifest = {
  v: 1,
  name: MODEL,
  format: 'tfjs-layers',
  inputs: [{ name: 'image', dtype: 'float32', shape: [-1, 28, 28, 1] }],
  outputs: [{ name: 'probs', dtype: 'float32', shape: [-1, 10] }],
  features: { features: [] },
  files: [
    { path: 'model.json', role: 'model' },
    { path: 'weights.bin', role: 'weights' },
  ],
};

/** The Worker's env with some vars replaced. */
const withVars = (vars: Record<string, string>) => ({ ...env, ...vars }) as unknown as Env;

interface Call {
  examples: number;
  explainSteps?: number;
  client?: ClientIdentity;
  key?: string;
  ip?: string;
  env?: Env;
  /** Sent instead of the request built from the rest. */
  body?: string;
}

/** A /v2 infer of `examples` seeded images, explained when `explainSteps` is given. */
async function infer({
  examples,
  explainSteps,
  client,
  key = CLIENT_KEY,
  ip,
  env: vars,
  body: raw,
}: Call): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' };
  if (client) headers[CLIENT_TOKEN_HEADER] = client.token;
  if (ip) headers['CF-Connecting-IP'] = ip;
  const data = Array.from({ length: examples * 784 }, (_, i) => ((i * 7919) % 256) / 255);
  const body = JSON.stringify({
    ...(explainSteps === undefined ? {} : { parameters: { explain: true, explain_steps: explainSteps } }),
    inputs: [{ name: 'image', shape: [examples, 28, 28, 1], datatype: 'FP32', data }],
  });
  const request = new Request(`https://edge.test/v2/models/${MODEL}/versions/1/infer`, {
    method: 'POST',
    headers,
    body: raw ?? body,
  });
  return worker.fetch(request, vars ?? env, createExecutionContext());
}

/** The OIP error body's message and the stable code beside it. */
async function refusal(res: Response, status: number): Promise<{ code: string | null; error: string }> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return { code: res.headers.get('edgeloop-error-code'), error: (JSON.parse(text) as { error: string }).error };
}

beforeAll(async () => {
  const res = await publish(MODEL, await cnnFiles(), manifest);
  expect(res.status, await res.clone().text()).toBe(201);
  // Client keys infer with versions an alias points at.
  expect((await sendJson('PUT', `/v1/models/${MODEL}/aliases/production`, { version: 1 }, ADMIN_KEY)).status).toBe(200);
  // Loaded once, so no test below waits for R2.
  expect((await infer({ examples: 1, key: ADMIN_KEY })).status).toBe(200);
});

describe('work budget per request', () => {
  it("refuses the red team's explain (16 examples × 256 steps) up front, with its cost, the budget and how to fit", async () => {
    // Run, this explanation takes ~30 s of CPU; refused, it answers before the test's timeout.
    const res = await infer({ examples: 16, explainSteps: 256, client: await registerClient() });
    const { code, error } = await refusal(res, 422);
    expect(code).toBe('TOO_COSTLY');
    expect(error).toContain(`${MODEL} v1: this request costs 11.8 G work units (16 examples × 1031 passes`);
    expect(error).toContain('one request may cost at most 1 G');
    expect(error).toContain('send at most 1 example per request');
    expect(error).toContain('set explain_steps to at most 20 for 16');
    // Publish keys are not charged, but one request of theirs is bounded all the same.
    const admin = await refusal(await infer({ examples: 16, explainSteps: 256, key: ADMIN_KEY }), 422);
    expect(admin.code).toBe('TOO_COSTLY');
  });

  it('serves what fits: an explanation within the budget, and the budget is a var', async () => {
    const client = await registerClient();
    const res = await infer({ examples: 2, explainSteps: 8, client });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const answer = JSON.parse(text) as {
      parameters: Record<string, unknown>;
      outputs: { name: string; shape: number[] }[];
    };
    expect(answer.parameters.explain_steps).toBe(8);
    expect(answer.outputs.find((o) => o.name === 'attributions')?.shape).toEqual([2, 28, 28, 1]);
    // A budget below one 16-image inference refuses it, naming the batch that fits.
    const low = withVars({ EDGELOOP_WORK_PER_REQUEST: String(10 * perExample) });
    const { code, error } = await refusal(await infer({ examples: 16, client, env: low }), 422);
    expect(code).toBe('TOO_COSTLY');
    expect(error).toContain('send at most 10 examples per request');
    expect((await infer({ examples: 10, client, env: low })).status).toBe(200);
  });
});

describe('work buckets', () => {
  // Each bucket holds 16 examples' inference; addresses are big enough not to interfere.
  const buckets = () =>
    withVars({ EDGELOOP_WORK_CLIENT_PER_MIN: String(16 * perExample), EDGELOOP_WORK_IP_PER_MIN: '1000000000000' });

  it('charges a 16-image request 16 times a 1-image one: 16 single images spend what one batch of 16 does', async () => {
    const vars = buckets();
    const batch = await registerClient();
    expect((await infer({ examples: 16, client: batch, ip: '203.0.113.20', env: vars })).status).toBe(200);
    const spent = await infer({ examples: 1, client: batch, ip: '203.0.113.20', env: vars });
    expect((await refusal(spent, 429)).code).toBe('RATE_LIMITED');

    const singles = await registerClient();
    for (let i = 0; i < 16; i++) {
      expect((await infer({ examples: 1, client: singles, ip: '203.0.113.20', env: vars })).status, `image ${i}`).toBe(
        200,
      );
    }
    expect((await infer({ examples: 1, client: singles, ip: '203.0.113.20', env: vars })).status).toBe(429);
  });

  it('answers 429 with Retry-After to a client whose bucket is spent while another client is served', async () => {
    const vars = buckets();
    const flooder = await registerClient();
    const other = await registerClient();
    expect((await infer({ examples: 12, client: flooder, ip: '203.0.113.21', env: vars })).status).toBe(200);
    const limited = await infer({ examples: 8, client: flooder, ip: '203.0.113.21', env: vars });
    const retryAfter = Number(limited.headers.get('retry-after'));
    const { code, error } = await refusal(limited, 429);
    expect(code).toBe('RATE_LIMITED');
    expect(error).toMatch(
      /^too much inference work: this request costs .* work units and this client may spend .* a minute; retry in \d+ s$/,
    );
    // 8 examples' worth refills in 30 s at 16 a minute; 4 are left.
    expect(retryAfter).toBeGreaterThanOrEqual(14);
    expect(retryAfter).toBeLessThanOrEqual(15);
    expect((await infer({ examples: 8, client: other, ip: '203.0.113.21', env: vars })).status).toBe(200);
    // Until then the flooder is refused before its body is read (this one is not even JSON).
    const early = await infer({ examples: 4, client: flooder, ip: '203.0.113.21', env: vars, body: '{"inputs": [' });
    expect(Number(early.headers.get('retry-after'))).toBeLessThanOrEqual(retryAfter);
    expect((await refusal(early, 429)).error).toContain('wait for the Retry-After of the last 429');
  });

  it('limits an address across clients and tokenless requests, and refunds the client when its address refuses', async () => {
    const client100 = { EDGELOOP_WORK_CLIENT_PER_MIN: String(100 * perExample) };
    const vars = withVars({ ...client100, EDGELOOP_WORK_IP_PER_MIN: String(16 * perExample) });
    const client = await registerClient();
    expect((await infer({ examples: 16, ip: '203.0.113.22', env: vars })).status).toBe(200);
    expect((await infer({ examples: 1, client, ip: '203.0.113.22', env: vars })).status).toBe(429);
    // The client was not charged for what its address refused: its whole bucket is left elsewhere.
    const roomy = withVars({ ...client100, EDGELOOP_WORK_IP_PER_MIN: String(200 * perExample) });
    expect((await infer({ examples: 100, client, ip: '203.0.113.23', env: roomy })).status).toBe(200);
  });

  it('does not charge keys with the publish scope', async () => {
    const vars = withVars({ EDGELOOP_WORK_CLIENT_PER_MIN: '1', EDGELOOP_WORK_IP_PER_MIN: '1' });
    for (let i = 0; i < 3; i++) {
      expect((await infer({ examples: 16, key: ADMIN_KEY, ip: '203.0.113.24', env: vars })).status).toBe(200);
    }
    // With buckets of one unit, a client request is over what it could ever be granted.
    expect((await refusal(await infer({ examples: 1, ip: '203.0.113.24', env: vars }), 422)).code).toBe('TOO_COSTLY');
  });
});

describe('work in chunks', () => {
  it("serves another client's inference while an explanation runs, instead of after it", {
    timeout: 60_000,
  }, async () => {
    // ~3 s of CPU in ~260 chunks: 1 example, 256 integrated-gradients steps (0.74 G units).
    let explained = false;
    const long = infer({ examples: 1, explainSteps: 256, client: await registerClient() }).then(async (res) => {
      explained = true;
      return res;
    });
    const short = await infer({ examples: 1, client: await registerClient() });
    expect(short.status).toBe(200);
    expect(explained, 'the 1-image inference waited for the whole explanation').toBe(false);
    const res = await long;
    expect(res.status, await res.clone().text()).toBe(200);
  });
});

describe('client identities per address', () => {
  const register = (ip: string, vars: Env, body: unknown = { v: 1 }, key = CLIENT_KEY) =>
    worker.fetch(
      new Request('https://edge.test/v1/clients', {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'CF-Connecting-IP': ip },
        body: JSON.stringify(body),
      }),
      vars,
      createExecutionContext(),
    );

  it('issues EDGELOOP_CLIENTS_IP_PER_HOUR identities to one address, then 429 with Retry-After; other addresses still register', async () => {
    const vars = withVars({ EDGELOOP_CLIENTS_IP_PER_HOUR: '3' });
    // A refused registration issues nothing and counts nothing.
    await expectError(await register('203.0.113.30', vars, { v: 2 }), 400, 'INVALID_BODY');
    for (let i = 0; i < 3; i++) expect((await register('203.0.113.30', vars)).status, `identity ${i}`).toBe(201);
    const limited = await register('203.0.113.30', vars);
    // One identity refills in 20 minutes at 3 an hour.
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(1100);
    const message = await expectError(limited, 429, 'RATE_LIMITED');
    expect(message).toContain('3 client identities');
    expect((await register('203.0.113.31', vars)).status).toBe(201);
  });

  it('does not limit keys with the publish scope', async () => {
    const vars = withVars({ EDGELOOP_CLIENTS_IP_PER_HOUR: '1' });
    for (let i = 0; i < 3; i++) expect((await register('203.0.113.32', vars, { v: 1 }, ADMIN_KEY)).status).toBe(201);
    expect((await register('203.0.113.32', vars)).status).toBe(201);
    expect((await register('203.0.113.32', vars)).status).toBe(429);
  });
});
