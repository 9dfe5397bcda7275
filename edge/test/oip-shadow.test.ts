import { beforeAll, describe, expect, it, vi } from 'vitest';
import { DENSE_WEIGHTS, denseFiles, denseManifest, denseOf, type Weights } from './dense-model.ts';
import { ADMIN_KEY, api, CLIENT_KEY, publish, sendJson } from './helpers.ts';

// /v2 infer without a version serves the production alias as clients get it: the canary for
// clients (Edgeloop-Client-Id) in its share, and the rollout's shadow run on the same inputs
// after the answer, compared and recorded, never returned.

const V1 = DENSE_WEIGHTS;
// The same kernel without the bias: outputs differ by exactly 0.5, the top class only sometimes.
const V2: Weights = { kernel: V1.kernel, bias: [0, 0] };
const X = [
  [1, 2, 3], // v1 [4.5, 0.5], v2 [4, 1]: both class 0
  [0, 0.3, 0.2], // v1 [0.7, -0.1] class 0, v2 [0.2, 0.4] class 1
];

const infer = (model: string, headers: Record<string, string> = {}) =>
  api(`/v2/models/${model}/infer`, {
    method: 'POST',
    key: CLIENT_KEY,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: X }] }),
  });
const answer = async (res: Response) => {
  expect(res.status).toBe(200);
  const body = (await res.json()) as { model_version: string; outputs: { data: number[] }[] };
  return { version: body.model_version, data: body.outputs[0]?.data ?? [] };
};
const rollout = (model: string, body: unknown) =>
  sendJson('PUT', `/v1/models/${model}/aliases/production/rollout`, body, ADMIN_KEY);

async function publishBoth(model: string): Promise<void> {
  for (const weights of [V1, V2]) {
    const res = await publish(model, await denseFiles(weights), denseManifest(model));
    expect(res.status).toBe(201);
  }
  expect((await sendJson('PUT', `/v1/models/${model}/aliases/production`, { version: 1 }, ADMIN_KEY)).status).toBe(200);
}

beforeAll(async () => {
  await publishBoth('dense-canary');
  await publishBoth('dense-shadow');
});

describe('OIP v2 infer through the production alias', () => {
  it('serves the canary to clients in its share and the stable version to the others', async () => {
    expect((await rollout('dense-canary', { canary: { version: 2, percent: 100 } })).status).toBe(200);
    const canary = await answer(await infer('dense-canary', { 'Edgeloop-Client-Id': 'client-abc123' }));
    expect(canary.version).toBe('2');
    const want = X.flatMap(denseOf(V2));
    expect(canary.data).toHaveLength(want.length);
    for (const [i, y] of canary.data.entries()) expect(y).toBeCloseTo(want[i] ?? Number.NaN, 5);
    // No client id: no canary assignment.
    expect((await answer(await infer('dense-canary'))).version).toBe('1');
    expect((await rollout('dense-canary', { canary: { version: 2, percent: 0 } })).status).toBe(200);
    expect((await answer(await infer('dense-canary', { 'Edgeloop-Client-Id': 'client-abc123' }))).version).toBe('1');
  });

  it("runs the shadow on the same inputs, returns only the served version's outputs, and records the comparison", async () => {
    expect((await rollout('dense-shadow', { shadow: { version: 2 } })).status).toBe(200);
    const served = await answer(await infer('dense-shadow'));
    expect(served.version).toBe('1');
    const want = X.flatMap(denseOf(V1));
    expect(served.data).toHaveLength(want.length);
    for (const [i, y] of served.data.entries()) expect(y).toBeCloseTo(want[i] ?? Number.NaN, 5);

    const metric = async () => {
      const text = await (await api('/metrics', { key: ADMIN_KEY })).text();
      const line = (name: string) =>
        new RegExp(`^${name}\\{model="dense-shadow",version="1",shadow_version="2"\\} (\\S+)$`, 'm').exec(text)?.[1];
      return {
        rows: line('edgeloop_shadow_rows_total'),
        agreed: line('edgeloop_shadow_agreed_total'),
        diff: line('edgeloop_shadow_max_abs_diff'),
      };
    };
    await vi.waitFor(async () => expect((await metric()).rows).toBe('2'));
    const seen = await metric();
    expect(seen.agreed).toBe('1');
    expect(Number(seen.diff)).toBeCloseTo(0.5, 5);
  });
});
