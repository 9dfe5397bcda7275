import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as v from 'valibot';
import { afterEach, describe, expect, it } from 'vitest';
import { graphManifest, graphModelFiles } from '../../../models/samples/graph-model.ts';
import { onnxSampleManifest, onnxSampleModel } from '../../../models/samples/onnx-model.ts';
import { Manifest } from '../../../protocol/manifest.ts';
import { initManifest } from './manifest.ts';

// `edgeloop init` on folders of each format: what it reads, and how it says what is wrong.

const dirs: string[] = [];
function folder(files: Record<string, Uint8Array | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-init-'));
  dirs.push(dir);
  for (const [path, bytes] of Object.entries(files)) writeFileSync(join(dir, path), bytes);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A tfjs layers CNN on 8×8×3 images, saved as tfjs saves it (model.json + one shard). */
async function layersFolder(extra: Record<string, string> = {}): Promise<string> {
  await tf.setBackend('cpu');
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 3], filters: 2, kernelSize: 3, name: 'conv' }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 4, activation: 'softmax', name: 'head' }),
    ],
  });
  let files: Record<string, Uint8Array | string> = {};
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      files = {
        'model.json': JSON.stringify({
          format: 'layers-model',
          modelTopology: a.modelTopology,
          weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }],
        }),
        'group1-shard1of1.bin': new Uint8Array(a.weightData as ArrayBuffer),
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return folder({ ...files, ...extra });
}

describe('edgeloop init', () => {
  it('writes a tfjs graph model the manifest the sample declares, with one drift feature per input value', async () => {
    const { manifest, unlisted } = await initManifest(folder({ ...graphModelFiles(), 'README.md': 'hi' }), {
      model: 'graph',
    });
    const { features, ...rest } = manifest;
    expect(rest).toEqual({ ...graphManifest('graph'), features: undefined, task: 'classification' });
    expect(features.features.map((f) => [f.name, f.source])).toEqual([0, 1, 2, 3].map((i) => [`x_${i}`, { index: i }]));
    expect(unlisted).toEqual(['README.md']);
  });

  it('reads an ONNX model from its graph: int64 and bool tensors, symbolic sizes as -1', async () => {
    const { manifest } = await initManifest(folder({ 'model.onnx': onnxSampleModel() }), { model: 'onnx-sample' });
    expect(manifest.format).toBe('onnx');
    expect(manifest.inputs).toEqual(onnxSampleManifest('x').inputs);
    expect(manifest.outputs).toEqual(onnxSampleManifest('x').outputs);
    expect(manifest.files).toEqual([{ path: 'model.onnx', role: 'model' }]);
  });

  it('loads a layers model to learn its output shape; an image gets mean, spread and per-channel means; labels by name', async () => {
    const dir = await layersFolder({ 'labels.txt': 'cat\ndog\n\nbird\nfish\n', 'replay.bin': 'x' });
    const { manifest } = await initManifest(dir, { model: 'cnn', labelsFile: join(dir, 'labels.txt') });
    expect(v.safeParse(Manifest, manifest).success).toBe(true);
    expect(manifest).toMatchObject({
      format: 'tfjs-layers',
      inputs: [{ name: 'conv_input', dtype: 'float32', shape: [-1, 8, 8, 3] }],
      outputs: [{ name: 'head', dtype: 'float32', shape: [-1, 4] }],
      task: 'classification',
      labels: ['cat', 'dog', 'bird', 'fish'],
      files: [
        { path: 'model.json', role: 'model' },
        { path: 'group1-shard1of1.bin', role: 'weights' },
        { path: 'replay.bin', role: 'replay' },
      ],
    });
    expect(manifest.features.features.map((f) => f.name)).toEqual([
      'mean',
      'std',
      'channel_0_mean',
      'channel_1_mean',
      'channel_2_mean',
    ]);
  });

  it.each([
    ['an empty folder', {}, 'holds no model'],
    ['two ONNX files', { 'a.onnx': 'x', 'b.onnx': 'y' }, 'several .onnx files (a.onnx, b.onnx)'],
    [
      'a model.json naming a shard that is not there',
      {
        'model.json': JSON.stringify({
          modelTopology: { node: [] },
          weightsManifest: [{ paths: ['w.bin'], weights: [] }],
        }),
      },
      'weightsManifest names "w.bin", which is not in',
    ],
    ['bytes that are not ONNX', { 'model.onnx': 'not onnx' }, 'model.onnx: ModelProto'],
  ])('refuses %s, naming the file', async (_what, files, message) => {
    await expect(initManifest(folder(files), { model: 'm' })).rejects.toThrow(message);
  });

  it('refuses labels that do not match the classes, and labels for a regression', async () => {
    const dir = await layersFolder({ 'labels.txt': 'a\nb\nc\n' });
    await expect(initManifest(dir, { model: 'cnn', labelsFile: join(dir, 'labels.txt') })).rejects.toThrow(
      "labels.txt holds 3 labels; the model's first output has 4 classes",
    );
    const graph = folder({ ...graphModelFiles(), 'l.txt': 'a\nb\nc' });
    await expect(
      initManifest(graph, { model: 'g', task: 'regression', labelsFile: join(graph, 'l.txt') }),
    ).rejects.toThrow('--labels names classes; a regression model has none');
  });
});
