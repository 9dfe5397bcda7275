import { beforeAll, describe, expect, it } from 'vitest';
import { graphManifest, graphModelFiles, graphOf } from '../../models/samples/graph-model.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { ADMIN_KEY, api, bytes, expectError, publish, sendJson } from './helpers.ts';

// A tfjs graph model (models/samples/graph-model.ts: two inputs, three outputs, float32 and
// int32) published, described and served by /v2, every answer checked by hand.

type Output = { name: string; shape: number[]; datatype: string; data: number[] };

const infer = (body: unknown) => sendJson('POST', '/v2/models/graph/versions/1/infer', body, ADMIN_KEY);

async function expectOipError(res: Response, status: number, code: string): Promise<string> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('edgeloop-error-code'), text).toBe(code);
  return String((JSON.parse(text) as { error: unknown }).error);
}

beforeAll(async () => {
  const res = await publish('graph', graphModelFiles(), graphManifest('graph'));
  expect(res.status, await res.clone().text()).toBe(201);
});

describe('a tfjs graph model', () => {
  it('reports its platform, inputs and outputs in its metadata', async () => {
    const res = await api('/v2/models/graph/versions/1', { key: ADMIN_KEY });
    expect(await res.json()).toEqual({
      name: 'graph',
      versions: ['1'],
      platform: 'tensorflowjs_graph',
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [-1, 4] },
        { name: 'ids', datatype: 'INT32', shape: [-1] },
      ],
      outputs: [
        { name: 'probs', datatype: 'FP32', shape: [-1, 3] },
        { name: 'top', datatype: 'INT32', shape: [-1] },
        { name: 'embedded', datatype: 'FP32', shape: [-1, 3] },
      ],
    });
  });

  it('answers every output by name and datatype, inputs given in any order', async () => {
    const x = [
      [1, 0, 0, 0],
      [0, 1, 2, -1],
    ];
    const ids = [2, 4];
    const res = await infer({
      inputs: [
        { name: 'ids', shape: [2], datatype: 'INT32', data: ids },
        { name: 'x', shape: [2, 4], datatype: 'FP32', data: x },
      ],
    });
    const body = (await res.json()) as { outputs: Output[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ['probs', 'FP32', [2, 3]],
      ['top', 'INT32', [2]],
      ['embedded', 'FP32', [2, 3]],
    ]);
    const want = x.map((row, i) => graphOf(row, ids[i] ?? 0));
    const [probs, top, embedded] = body.outputs;
    for (const [i, p] of want.flatMap((w) => w.probs).entries()) expect(probs?.data[i]).toBeCloseTo(p, 6);
    expect(top?.data).toEqual(want.map((w) => w.top));
    expect(embedded?.data).toEqual(want.flatMap((w) => w.embedded));
  });

  it('answers only the outputs asked for', async () => {
    const res = await infer({
      inputs: [
        { name: 'x', shape: [1, 4], datatype: 'FP32', data: [0, 0, 0, 1] },
        { name: 'ids', shape: [1], datatype: 'INT32', data: [1] },
      ],
      outputs: [{ name: 'embedded' }],
    });
    const body = (await res.json()) as { outputs: Output[] };
    expect(body.outputs).toEqual([{ name: 'embedded', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }]);
  });

  it('refuses a missing input, an input of another datatype and the ONNX runtime', async () => {
    const x = { name: 'x', shape: [1, 4], datatype: 'FP32', data: [0, 0, 0, 1] };
    await expectOipError(await infer({ inputs: [x] }), 400, 'INVALID_INPUT');
    await expectOipError(
      await infer({ inputs: [x, { name: 'ids', shape: [1], datatype: 'FP32', data: [1] }] }),
      400,
      'INVALID_INPUT',
    );
    await expectOipError(
      await infer({
        parameters: { runtime: 'onnx' },
        inputs: [x, { name: 'ids', shape: [1], datatype: 'INT32', data: [1] }],
      }),
      400,
      'UNSUPPORTED_MODEL',
    );
  });
});

describe('publishing a tfjs graph model', () => {
  const refused = async (manifest: Manifest, files: Record<string, Uint8Array>, field: string) => {
    const message = await expectError(await publish(manifest.name, files, manifest), 400, 'INVALID_MODEL');
    expect(message).toContain(field);
    const versions = await api(`/v1/models/${manifest.name}/versions`, { key: ADMIN_KEY });
    expect(versions.status).toBe(404);
  };

  it('refuses a manifest naming an input or output the graph lacks', async () => {
    const base = graphManifest('graph-names');
    await refused(
      { ...base, inputs: [{ name: 'image', dtype: 'float32', shape: [-1, 4] }, ...base.inputs.slice(1)] },
      graphModelFiles(),
      'manifest.inputs[0].name',
    );
    await refused(
      { ...base, outputs: [{ name: 'logits', dtype: 'float32', shape: [-1, 3] }] },
      graphModelFiles(),
      'manifest.outputs[0].name',
    );
  });

  it('refuses a graph model declared as layers, and a layers format for a graph', async () => {
    await refused({ ...graphManifest('graph-format'), format: 'tfjs-layers' }, graphModelFiles(), 'format');
  });

  it('refuses a graph that tfjs cannot run, before anything is stored', async () => {
    const files = graphModelFiles();
    const json = JSON.parse(new TextDecoder().decode(files['model.json'])) as {
      modelTopology: { node: { name: string; op: string }[] };
    };
    const softmax = json.modelTopology.node.find((n) => n.name === 'probs');
    if (softmax) softmax.op = 'NoSuchOp';
    await refused(graphManifest('graph-op'), { ...files, 'model.json': bytes(JSON.stringify(json)) }, 'NoSuchOp');
  });

  it('refuses a manifest whose output shape the model does not answer', async () => {
    const base = graphManifest('graph-shape');
    const outputs = base.outputs.map((o) => (o.name === 'probs' ? { ...o, shape: [-1, 4] } : o));
    await refused({ ...base, outputs }, graphModelFiles(), 'manifest.outputs[0]');
  });
});
