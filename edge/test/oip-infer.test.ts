import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { DENSE_WEIGHTS, denseFiles, denseManifest, denseOf } from './dense-model.ts';
import { ADMIN_KEY, api, CLIENT_KEY, publish, sendJson } from './helpers.ts';

// POST /v2/models/{model}[/versions/{v}]/infer with a dense model made in the test
// (dense-model.ts), so every answer can be checked by hand.

const WEIGHTS = DENSE_WEIGHTS;
const expected = denseOf(WEIGHTS);

const infer = (path: string, body: unknown, key = CLIENT_KEY) =>
  sendJson('POST', `/v2/models/${path}/infer`, body, key);

async function expectOipError(res: Response, status: number, code: string): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('edgeloop-error-code'), text).toBe(code);
  const body = JSON.parse(text) as { error: unknown };
  expect(Object.keys(body)).toEqual(['error']);
  return String(body.error);
}

let files: Record<string, Uint8Array>;
beforeAll(async () => {
  files = await denseFiles(WEIGHTS);
  for (const name of ['dense', 'dense-broken']) {
    const res = await publish(name, files, denseManifest(name));
    expect(res.status, await res.clone().text()).toBe(201);
    const alias = await sendJson('PUT', `/v1/models/${name}/aliases/production`, { version: 1 }, ADMIN_KEY);
    expect(alias.status).toBe(200);
  }
});

describe('OIP v2 infer', () => {
  it('answers the production version with the protocol response, flat or nested input alike', async () => {
    const x = [
      [1, 2, 3],
      [-0.5, 0, 4],
    ];
    const flat = await infer('dense', {
      id: '42',
      inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: x.flat() }],
    });
    expect(flat.status).toBe(200);
    const body = (await flat.json()) as {
      model_name: string;
      model_version: string;
      id: string;
      outputs: { name: string; shape: number[]; datatype: string; data: number[] }[];
    };
    expect(body).toMatchObject({ model_name: 'dense', model_version: '1', id: '42' });
    expect(body.outputs.map(({ name, shape, datatype }) => ({ name, shape, datatype }))).toEqual([
      { name: 'y', shape: [2, 2], datatype: 'FP32' },
    ]);
    const want = x.flatMap(expected);
    const got = body.outputs[0]?.data ?? [];
    expect(got).toHaveLength(want.length);
    for (const [i, y] of got.entries()) expect(y).toBeCloseTo(want[i] ?? Number.NaN, 5);

    const nested = await infer('dense/versions/1', {
      inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: x }],
    });
    const again = (await nested.json()) as typeof body;
    expect(again.outputs[0]?.data).toEqual(body.outputs[0]?.data);
    expect('id' in again).toBe(false);
  });

  it('returns only the outputs asked for', async () => {
    const res = await infer('dense', {
      inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [0, 0, 0] }],
      outputs: [{ name: 'y' }],
    });
    const body = (await res.json()) as { outputs: { name: string; data: number[] }[] };
    expect(body.outputs.map((o) => o.name)).toEqual(['y']);
    expect(body.outputs[0]?.data[0]).toBeCloseTo(0.5, 6);
  });

  it.each([
    [
      'another datatype',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'UINT32', data: [1, 2, 3] }] },
      'datatype UINT32',
    ],
    ['another shape', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 'shape [1,4]'],
    [
      'too few elements',
      { inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3] }] },
      'has 3 elements',
    ],
    [
      'a string element',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 'NaN', 3] }] },
      'element 1',
    ],
    ['an unknown input', { inputs: [{ name: 'z', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }, 'no input "z"'],
    [
      'an input given twice',
      {
        inputs: [
          { name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
          { name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] },
        ],
      },
      'given twice',
    ],
    [
      'an unknown output',
      { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }], outputs: [{ name: 'q' }] },
      'no output "q"',
    ],
  ])('refuses %s with 400 INVALID_INPUT', async (_what, body, message) => {
    expect(await expectOipError(await infer('dense', body), 400, 'INVALID_INPUT')).toContain(message);
  });

  it('takes a gzip-encoded body, and refuses one that only claims to be', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
    const send = (bytes: BodyInit) =>
      api('/v2/models/dense/infer', {
        method: 'POST',
        key: CLIENT_KEY,
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
        body: bytes,
      });
    const gzipped = await new Response(
      new Blob([body]).stream().pipeThrough(new CompressionStream('gzip')),
    ).arrayBuffer();
    const res = await send(gzipped);
    expect(res.status, await res.clone().text()).toBe(200);
    const { outputs } = (await res.json()) as { outputs: { data: number[] }[] };
    expect(outputs[0]?.data.map((y) => Math.round(y * 1e5) / 1e5)).toEqual(expected([1, 2, 3]));
    await expectOipError(await send(body), 400, 'BAD_REQUEST');
  });

  it('refuses bodies that are not an infer request, and callers without a key', async () => {
    await expectOipError(await infer('dense', { inputs: [] }), 400, 'INVALID_BODY');
    await expectOipError(
      await infer('dense', { inputs: [{ name: 'x', shape: [-1], datatype: 'FP32', data: [] }] }),
      400,
      'INVALID_BODY',
    );
    const raw = (body: string, type = 'application/json') =>
      api('/v2/models/dense/infer', { method: 'POST', key: CLIENT_KEY, headers: { 'Content-Type': type }, body });
    await expectOipError(await raw('{"inputs":'), 400, 'INVALID_BODY');
    await expectOipError(await raw('[]'), 400, 'INVALID_BODY');
    await expectOipError(await raw('{}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await expectOipError(await raw(`{"pad":"${'x'.repeat(8 * 1024 * 1024)}"}`), 413, 'PAYLOAD_TOO_LARGE');
    const anonymous = await api('/v2/models/dense/infer', { method: 'POST', body: '{}' });
    await expectOipError(anonymous, 401, 'UNAUTHORIZED');
  });

  it('refuses to run a model whose stored weights do not match their digest', async () => {
    const info = (await (await api('/v1/models/dense-broken/versions/1', { key: ADMIN_KEY })).json()) as {
      files: { path: string; sha256: string }[];
    };
    const weights = info.files.find((f) => f.path === 'weights.bin');
    if (!weights) throw new Error('no weights.bin');
    const tampered = new Uint8Array(files['weights.bin'] ?? []);
    tampered[0] = (tampered[0] ?? 0) ^ 0xff;
    await env.ARTIFACTS.put(`blobs/sha256/${weights.sha256}`, tampered);
    const res = await infer('dense-broken', {
      inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
    });
    expect(await expectOipError(res, 500, 'DIGEST_MISMATCH')).toContain('weights.bin');
  });
});
