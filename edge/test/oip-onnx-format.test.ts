import { beforeAll, describe, expect, it } from 'vitest';
import { onnxSampleManifest, onnxSampleModel, onnxSampleOf } from '../../models/samples/onnx-model.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { ADMIN_KEY, api, expectError, publish, sendJson } from './helpers.ts';

// A version of format `onnx` (models/samples/onnx-model.ts: an int64 input, a bool output),
// published as itself, described and served by the ORT Worker, every answer checked by hand.

type Output = { name: string; shape: number[]; datatype: string; data: (number | boolean)[] };

const infer = (body: unknown) => sendJson('POST', '/v2/models/onnx-sample/versions/1/infer', body, ADMIN_KEY);

async function expectOipError(res: Response, status: number, code: string): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('edgeloop-error-code'), text).toBe(code);
  return String((JSON.parse(text) as { error: unknown }).error);
}

beforeAll(async () => {
  const res = await publish('onnx-sample', { 'model.onnx': onnxSampleModel() }, onnxSampleManifest('onnx-sample'));
  expect(res.status, await res.clone().text()).toBe(201);
});

describe('an ONNX model published as itself', () => {
  it('reports the platform onnxruntime_onnx with INT64 and BOOL tensors', async () => {
    const res = await api('/v2/models/onnx-sample/versions/1', { key: ADMIN_KEY });
    expect(await res.json()).toMatchObject({
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [-1, 4] },
        { name: 'ids', datatype: 'INT64', shape: [-1] },
      ],
      outputs: [
        { name: 'probs', datatype: 'FP32' },
        { name: 'embedded', datatype: 'FP32' },
        { name: 'confident', datatype: 'BOOL', shape: [-1] },
      ],
    });
  });

  it('runs on ONNX Runtime without asking, answering every output in its datatype', async () => {
    const x = [
      [1, 0, 0, 0],
      [0, 4, 0, 0],
    ];
    const ids = [3, 1];
    const res = await infer({
      inputs: [
        { name: 'x', shape: [2, 4], datatype: 'FP32', data: x },
        { name: 'ids', shape: [2], datatype: 'INT64', data: ids },
      ],
    });
    const body = (await res.json()) as { outputs: Output[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    const want = x.map((row, i) => onnxSampleOf(row, ids[i] ?? 0));
    const [probs, embedded, confident] = body.outputs;
    for (const [i, p] of want.flatMap((w) => w.probs).entries()) expect(probs?.data[i]).toBeCloseTo(p, 6);
    expect(embedded?.data).toEqual(want.flatMap((w) => w.embedded));
    expect(confident).toEqual({ name: 'confident', datatype: 'BOOL', shape: [2], data: want.map((w) => w.confident) });
  });

  it('refuses the tfjs runtime and an INT64 element past 2^53', async () => {
    const x = { name: 'x', shape: [1, 4], datatype: 'FP32', data: [0, 0, 0, 1] };
    await expectOipError(
      await infer({
        parameters: { runtime: 'tfjs' },
        inputs: [x, { name: 'ids', shape: [1], datatype: 'INT64', data: [1] }],
      }),
      400,
      'UNSUPPORTED_MODEL',
    );
    await expectOipError(
      await infer({ inputs: [x, { name: 'ids', shape: [1], datatype: 'INT64', data: [2 ** 53] }] }),
      400,
      'INVALID_INPUT',
    );
  });
});

describe('publishing an ONNX model', () => {
  const refused = async (manifest: Manifest, files: Record<string, Uint8Array>, field: string) => {
    const message = await expectError(await publish(manifest.name, files, manifest), 400, 'INVALID_MODEL');
    expect(message).toContain(field);
    expect((await api(`/v1/models/${manifest.name}/versions`, { key: ADMIN_KEY })).status).toBe(404);
  };
  const base = onnxSampleManifest('onnx-bad');
  const files = { 'model.onnx': onnxSampleModel() };

  it('refuses a manifest that does not describe the graph: names, dtypes, ranks, unlisted inputs', async () => {
    await refused(
      {
        ...base,
        inputs: [{ ...base.inputs[0], name: 'image' } as Manifest['inputs'][number], ...base.inputs.slice(1)],
      },
      files,
      'manifest.inputs[0].name',
    );
    await refused(
      { ...base, inputs: [base.inputs[0] as Manifest['inputs'][number], { name: 'ids', dtype: 'int32', shape: [-1] }] },
      files,
      'manifest.inputs[1].dtype',
    );
    await refused(
      { ...base, outputs: [{ name: 'probs', dtype: 'float32', shape: [-1, 3, 1] }] },
      files,
      'manifest.outputs[0].shape',
    );
    await refused({ ...base, inputs: base.inputs.slice(0, 1) }, files, 'the input "ids"');
  });

  it('refuses weights files beside an ONNX model, and bytes that are not ONNX', async () => {
    await refused(
      { ...base, files: [...base.files, { path: 'weights.bin', role: 'weights' }] },
      { ...files, 'weights.bin': new Uint8Array(4) },
      'role "weights"',
    );
    await refused(base, { 'model.onnx': new TextEncoder().encode('not onnx') }, 'model.onnx');
  });

  it('refuses a graph ONNX Runtime cannot run, before anything is stored', async () => {
    // A node of an operator no opset has: the structure reads, ORT refuses it.
    const broken = onnxSampleModel();
    const name = new TextEncoder().encode('Softmax');
    const at = broken.findIndex((_, i) => name.every((byte, k) => broken[i + k] === byte));
    broken.set(new TextEncoder().encode('Softmix'), at);
    await refused(base, { 'model.onnx': broken }, 'ONNX Runtime cannot run it');
  });
});
