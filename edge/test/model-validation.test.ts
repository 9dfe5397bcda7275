import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { exportOnnx } from '../../models/onnx/export.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { parseModelJson } from '../../protocol/model-json.ts';
import { DENSE_WEIGHTS, denseFiles, denseManifest } from './dense-model.ts';
import { bytes, count, expectError, manifest, modelFiles, publish } from './helpers.ts';
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
const topology = { class_name: 'Sequential', config: { name: 'm', layers: [] } };
const f32 = (n: number) => new Uint8Array(n * 4);

/** A model.json with one weights group of `paths` holding `weights`. */
const layersJson = (paths: string[], weights: object[], extra: object = {}) =>
  json({ modelTopology: topology, weightsManifest: [{ paths, weights }], ...extra });

const withOnnx = (man: Manifest, path = 'model.onnx'): Manifest => ({
  ...man,
  files: [...man.files, { path, role: 'onnx' }],
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
    const spec = [{ name: 'k', shape: [1], dtype: 'float32' }];
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
  });

  it('refuses a tfjs-layers version without exactly one model file', async () => {
    const man = manifest('mv-count', ['model.json', 'weights.bin']);
    man.files[1] = { path: 'weights.bin', role: 'model' };
    expect(await refusedModel('mv-count', modelFiles('c'), man)).toContain('exactly one file with role "model"');
  });

  it('takes real tfjs models: saved by tfjs, nested shard paths, quantized and several groups', async () => {
    const dense = await denseFiles(DENSE_WEIGHTS);
    expect((await publish('mv-ok', dense, denseManifest('mv-ok'))).status).toBe(201);
    const nested = {
      'model/model.json': layersJson(
        ['group1-shard1of2.bin', './group1-shard2of2.bin'],
        [
          { name: 'k', shape: [2, 3], dtype: 'float32', quantization: { dtype: 'float16', scale: 1, min: 0 } },
          { name: 'q', shape: [5], dtype: 'int32', quantization: { dtype: 'uint8', scale: 1, min: 0 } },
          { name: 'z', shape: [0, 4], dtype: 'float32' },
          { name: 'b', shape: [3], dtype: 'bool' },
        ],
      ),
      'model/group1-shard1of2.bin': new Uint8Array(12),
      'model/group1-shard2of2.bin': new Uint8Array(8),
    };
    const res = await publish('mv-ok', nested, manifest('mv-ok', Object.keys(nested)));
    expect(res.status, await res.clone().text()).toBe(201);
    expect((await publish('mv-ok', modelFiles('no-weights', { weights: false }))).status).toBe(201);
    // Keras's saved form wraps the topology in model_config.
    const keras = { 'model.json': json({ modelTopology: { model_config: topology }, weightsManifest: [] }) };
    expect((await publish('mv-ok', keras, manifest('mv-ok', ['model.json']))).status).toBe(201);
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

  it('takes a real ONNX model and the export of the version’s own tfjs model', async () => {
    const files = modelFiles('mv-onnx-ok');
    const man = withOnnx(manifest('mv-onnx-ok', Object.keys(files)));
    expect((await publish('mv-onnx-ok', { ...files, 'model.onnx': gemmModel() }, man)).status).toBe(201);
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
