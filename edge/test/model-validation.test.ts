import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from '../../models/onnx/export.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { parseModelJson } from '../../protocol/model-json.ts';
import { DENSE_WEIGHTS, denseFiles, denseManifest } from './dense-model.ts';
import {
  ADMIN_KEY,
  bytes,
  count,
  denseModelJson,
  expectError,
  manifest,
  modelFiles,
  publish,
  sendJson,
} from './helpers.ts';
import { gemmModel } from './onnx-model.ts';

// Publish checks that a version's model files are models of their format before storing them:
// garbage was once accepted as a tfjs-layers version.

async function snapshot() {
  return {
    versions: await count('versions'),
    files: await count('files'),
    blobs: (await env.ARTIFACTS.list({ prefix: 'blobs/sha256/' })).objects.length,
  };
}

const json = (value: unknown) => bytes(JSON.stringify(value));
/** The topology of helpers.ts' model: one bias-free Dense layer "d" on one input, its kernel "d/kernel" [1, 1]. */
const { modelTopology: topology } = denseModelJson('m');
const f32 = (n: number) => new Uint8Array(n * 4);

/** A model.json with one weights group of `paths` holding `weights`. */
const layersJson = (paths: string[], weights: object[], extra: object = {}) =>
  json({ modelTopology: topology, weightsManifest: [{ paths, weights }], ...extra });

const withOnnx = (man: Manifest, path = 'model.onnx'): Manifest => ({
  ...man,
  files: [...man.files, { path, role: 'onnx' }],
});

/** float16 bits of [[1, 0.5, -1], [2, 0, 0.25]]. */
const HALF_KERNEL = [0x3c00, 0x3800, 0xbc00, 0x4000, 0x0000, 0x3400];

/**
 * A Dense 2 → 3 → 1 stored as the converter stores a big model: under model/, a first group
 * quantized (d1/kernel float16, d1/bias uint8, d2/kernel uint16) across two shards, then
 * `extra` weights (of `extraBytes`, zeros), and d2/bias float32 in a second group. It answers
 * 4.75 for [1, 2]: h = [1, 2]·K1 + [0, −1, 1] = [5, −0.5, 0.5], y = h·[1, 2, 0.5] + 0.5.
 */
function quantizedModel(extra: object[] = [], extraBytes = 0): Record<string, Uint8Array> {
  const dense = (name: string, units: number, more: object = {}) => ({
    class_name: 'Dense',
    config: { name, units, use_bias: true, activation: 'linear', ...more },
  });
  const layers = [dense('d1', 3, { batch_input_shape: [null, 2] }), dense('d2', 1)];
  const group1 = [
    { name: 'd1/kernel', shape: [2, 3], dtype: 'float32', quantization: { dtype: 'float16' } },
    { name: 'd1/bias', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
    { name: 'd2/kernel', shape: [3, 1], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 0 } },
    ...extra,
  ];
  const modelJson = {
    format: 'layers-model',
    modelTopology: { class_name: 'Sequential', config: { name: 'mv-quantized', layers } },
    weightsManifest: [
      { paths: ['group1-shard1of2.bin', './group1-shard2of2.bin'], weights: group1 },
      { paths: ['group2-shard1of1.bin'], weights: [{ name: 'd2/bias', shape: [1], dtype: 'float32' }] },
    ],
  };
  // The second shard: d1/bias (3 bytes: 2, 0, 4), d2/kernel (uint16 4, 8, 2), then the extra weights.
  const rest = new Uint8Array(9 + extraBytes);
  rest.set([2, 0, 4]);
  rest.set(new Uint8Array(Uint16Array.of(4, 8, 2).buffer), 3);
  return {
    'model/model.json': json(modelJson),
    'model/group1-shard1of2.bin': new Uint8Array(Uint16Array.from(HALF_KERNEL).buffer),
    'model/group1-shard2of2.bin': rest,
    'model/group2-shard1of1.bin': new Uint8Array(Float32Array.of(0.5).buffer),
  };
}

/** The manifest of {@link quantizedModel}'s `files`: x [-1, 2] → y [-1, 1]. */
const quantizedManifest = (name: string, files: Record<string, Uint8Array>): Manifest => ({
  ...manifest(name, Object.keys(files)),
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
});

/** Publishing `files` under `man` is refused with INVALID_MODEL, writing nothing; returns the message. */
async function refusedModel(name: string, files: Record<string, Uint8Array>, man = manifest(name, Object.keys(files))) {
  const before = await snapshot();
  const message = await expectError(await publish(name, files, man), 400, 'INVALID_MODEL');
  expect(await snapshot()).toEqual(before);
  return message;
}

describe('publish checks a tfjs-layers model.json', () => {
  it('refuses garbage as a model, naming the file and the field', async () => {
    const garbage = { 'model.json': bytes('{"m":1}'), 'weights.bin': bytes('w') };
    const message = await refusedModel('mv-garbage', garbage);
    expect(message).toContain('model.json');
    expect(message).toContain('modelTopology');
    expect(await refusedModel('mv-garbage', { ...garbage, 'model.json': bytes('not json') })).toBe(
      'model.json is not UTF-8 JSON',
    );
    const noWeightsManifest = { ...garbage, 'model.json': json({ modelTopology: topology }) };
    expect(await refusedModel('mv-garbage', noWeightsManifest)).toContain('weightsManifest');
    const noClass = { ...garbage, 'model.json': json({ modelTopology: { config: {} }, weightsManifest: [] }) };
    expect(await refusedModel('mv-garbage', noClass)).toContain('class_name');
    const graph = { ...modelFiles('g'), 'model.json': layersJson(['weights.bin'], [], { format: 'graph-model' }) };
    expect(await refusedModel('mv-garbage', graph)).toContain('format');
  });

  it('refuses a weights manifest that does not name exactly the version’s weight files', async () => {
    const spec = [{ name: 'd/kernel', shape: [1, 1], dtype: 'float32' }];
    const other = { 'model.json': layersJson(['other.bin'], spec), 'weights.bin': f32(1) };
    expect(await refusedModel('mv-paths', other)).toContain('"other.bin", which is not a file of the version');
    const unnamed = { 'model.json': layersJson(['a.bin'], spec), 'a.bin': f32(1), 'b.bin': f32(1) };
    expect(await refusedModel('mv-paths', unnamed)).toContain('does not name the weights file "b.bin"');
    const twice = {
      'model.json': json({
        modelTopology: topology,
        weightsManifest: [
          { paths: ['a.bin'], weights: spec },
          { paths: ['./a.bin'], weights: spec },
        ],
      }),
      'a.bin': f32(1),
    };
    expect(await refusedModel('mv-paths', twice)).toContain('"a.bin" twice');
    // A listed shard must be a weights file, not another file of the version.
    const man = manifest('mv-paths', ['model.json', 'weights.bin', 'holdout.bin']);
    man.files[2] = { path: 'holdout.bin', role: 'holdout' };
    const holdout = { 'model.json': layersJson(['holdout.bin'], spec), 'weights.bin': f32(1), 'holdout.bin': f32(1) };
    expect(await refusedModel('mv-paths', holdout, man)).toContain('"holdout.bin", which is not a file');
  });

  it('refuses weights whose dtype × shape do not fill their shards to the byte', async () => {
    const spec = [
      { name: 'k', shape: [3, 2], dtype: 'float32' },
      { name: 'b', shape: [2], dtype: 'int32' },
    ];
    const short = { 'model.json': layersJson(['weights.bin'], spec), 'weights.bin': f32(7) };
    expect(await refusedModel('mv-bytes', short)).toBe(
      'model.json: weightsManifest[0] needs 32 bytes of weights (dtype × shape) but its shards hold 28',
    );
    const quantized = [{ name: 'k', shape: [4], dtype: 'float32', quantization: { dtype: 'uint8', min: 0, scale: 1 } }];
    const unquantized = { 'model.json': layersJson(['weights.bin'], quantized), 'weights.bin': f32(4) };
    expect(await refusedModel('mv-bytes', unquantized)).toContain('needs 4 bytes');
    const strings = { 'model.json': layersJson(['weights.bin'], [{ name: 's', shape: [1], dtype: 'string' }]) };
    expect(await refusedModel('mv-bytes', { ...strings, 'weights.bin': f32(1) })).toContain('dtype');
    // A bool takes one byte a value; a weight of no values takes none.
    const flags = { 'model.json': layersJson(['weights.bin'], [{ name: 'b', shape: [3], dtype: 'bool' }]) };
    expect(await refusedModel('mv-bytes', { ...flags, 'weights.bin': f32(1) })).toContain('needs 3 bytes');
    const empty = { 'model.json': layersJson(['weights.bin'], [{ name: 'z', shape: [0, 4], dtype: 'float32' }]) };
    expect(await refusedModel('mv-bytes', { ...empty, 'weights.bin': f32(1) })).toContain('needs 0 bytes');
  });

  it('refuses a tfjs-layers version without exactly one model file', async () => {
    const man = manifest('mv-count', ['model.json', 'weights.bin']);
    man.files[1] = { path: 'weights.bin', role: 'model' };
    expect(await refusedModel('mv-count', modelFiles('c'), man)).toContain('exactly one file with role "model"');
  });

  it('takes real tfjs models: saved by tfjs, nested shard paths, quantized and several groups', async () => {
    const dense = await denseFiles(DENSE_WEIGHTS);
    expect((await publish('mv-ok', dense, denseManifest('mv-ok'))).status).toBe(201);
    const nested = quantizedModel();
    const res = await publish('mv-ok', nested, quantizedManifest('mv-ok', nested));
    expect(res.status, await res.clone().text()).toBe(201);
    // tfjs read every weight from its shards and dequantized it: the answer is the hand-made one.
    const { version } = (await res.json()) as { version: number };
    const body = { inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1, 2] }] };
    const answer = await sendJson('POST', `/v2/models/mv-ok/versions/${version}/infer`, body, ADMIN_KEY);
    expect(answer.status, await answer.clone().text()).toBe(200);
    const [y] = ((await answer.json()) as { outputs: { data: number[] }[] }).outputs;
    expect(y?.data).toHaveLength(1);
    expect(y?.data[0]).toBeCloseTo(4.75, 5);
    expect((await publish('mv-ok', modelFiles('no-weights', { weights: false }))).status).toBe(201);
    // Keras's saved form wraps the topology in model_config.
    const { weightsManifest } = denseModelJson('keras');
    const keras = {
      ...modelFiles('keras'),
      'model.json': json({ modelTopology: { model_config: topology }, weightsManifest }),
    };
    expect((await publish('mv-ok', keras)).status).toBe(201);
  });

  it('refuses a model.json whose weights fill their shards but are no layer’s, naming the file and the weight', async () => {
    // int32 and bool weights fit the byte check, but no layer of the model holds them: tfjs cannot load it.
    const extra = [
      { name: 'q', shape: [5], dtype: 'int32', quantization: { dtype: 'uint8', scale: 1, min: 0 } },
      { name: 'b', shape: [3], dtype: 'bool' },
    ];
    const files = quantizedModel(extra, 8);
    const message = await refusedModel('mv-unused', files, quantizedManifest('mv-unused', files));
    expect(message).toMatch(/^model\/model\.json: tfjs cannot load it/);
    expect(message).toContain('q');
  });
});

describe('publish checks an ONNX file', () => {
  it('refuses an onnx file that is not an ONNX ModelProto, naming the file and the field', async () => {
    const files = modelFiles('mv-onnx');
    const man = withOnnx(manifest('mv-onnx', Object.keys(files)));
    const garbage = await refusedModel('mv-onnx', { ...files, 'model.onnx': bytes('not an onnx model') }, man);
    expect(garbage).toMatch(/^model\.onnx is not an ONNX model: ModelProto/);
    const truncated = gemmModel().slice(0, 40);
    expect(await refusedModel('mv-onnx', { ...files, 'model.onnx': truncated }, man)).toContain('past the end');
    // Valid protobuf, but no graph: not a model.
    const noGraph = new Uint8Array([0x08, 0x08, 0x12, 0x01, 0x78]);
    expect(await refusedModel('mv-onnx', { ...files, 'model.onnx': noGraph }, man)).toContain(
      'ModelProto.opset_import',
    );
    expect(await refusedModel('mv-onnx', { ...files, 'model.onnx': new Uint8Array(0) }, man)).toContain(
      'ModelProto.ir_version is missing',
    );
  });

  it('refuses an onnx file that cannot run on the manifest’s inputs or answers other outputs, naming the file', async () => {
    // gemmModel takes x [N, 4]: not the pixels [-1, 1] of the version's manifest.
    const files = { ...modelFiles('mv-onnx-bad'), 'model.onnx': gemmModel() };
    const man = withOnnx(manifest('mv-onnx-bad', Object.keys(modelFiles('mv-onnx-bad'))));
    expect(await refusedModel('mv-onnx-bad', files, man)).toContain('model.onnx');
    // Fed right, but its probs are [N, 3], not the manifest's [-1, 1].
    const x = { ...man, inputs: [{ name: 'x', dtype: 'float32' as const, shape: [-1, 4] }] };
    const wide = { ...modelFiles('mv-onnx-bad', { inputs: 4 }), 'model.onnx': gemmModel() };
    expect(await refusedModel('mv-onnx-bad', wide, x)).toContain('model.onnx: manifest.outputs[0] ("probs") is [-1,1]');
  });

  it('takes a real ONNX model and the export of the version’s own tfjs model', async () => {
    // gemmModel's signature: x [N, 4] → probs [N, 3] (its `hidden` is not asked for).
    const files = modelFiles('mv-onnx-ok', { inputs: 4, units: 3 });
    const gemm = manifest('mv-onnx-ok', Object.keys(files), { inputs: 4, units: 3 });
    const man = withOnnx({ ...gemm, inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 4] }] });
    const ok = await publish('mv-onnx-ok', { ...files, 'model.onnx': gemmModel() }, man);
    expect(ok.status, await ok.clone().text()).toBe(201);
    const dense = await denseFiles(DENSE_WEIGHTS);
    const modelJson = parseModelJson((dense['model.json'] as Uint8Array).slice().buffer, 'model.json');
    const onnx = exportOnnx(modelJson, [(dense['weights.bin'] as Uint8Array).slice().buffer], {
      inputName: 'x',
      outputName: 'y',
    });
    const exported = await publish(
      'mv-onnx-ok',
      { ...dense, 'model.onnx': onnx },
      withOnnx(denseManifest('mv-onnx-ok')),
    );
    expect(exported.status, await exported.clone().text()).toBe(201);
  });
});
