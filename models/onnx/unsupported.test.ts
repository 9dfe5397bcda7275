import { setBackend } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgeloopError, type ErrorCode } from '../../protocol/errors.ts';
import type { ModelJson } from '../../protocol/model-json.ts';
import { exportOnnx } from './export.ts';
import { saveArtifacts } from './test-support.ts';

let base: { modelJson: ModelJson; shards: ArrayBuffer[] };

beforeAll(async () => {
  await setBackend('cpu');
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 1], filters: 2, kernelSize: 3, name: 'conv' }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 3, activation: 'softmax', name: 'head' }),
    ],
  });
  base = await saveArtifacts(model);
});

/** The base model with `edit` applied to a copy of the config of its layer `index`. */
function edited(index: number, edit: (config: Record<string, unknown>) => void): ModelJson {
  const modelJson = structuredClone(base.modelJson);
  const layers = (modelJson.modelTopology.config as { layers: { config: Record<string, unknown> }[] }).layers;
  const layer = layers[index];
  if (!layer) throw new Error(`no layer ${index}`);
  edit(layer.config);
  return modelJson;
}

function expectError(run: () => unknown, code: ErrorCode, ...fragments: string[]): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(EdgeloopError);
  const error = caught as EdgeloopError;
  expect(error.code).toBe(code);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
}

async function artifactsOf(layers: tfl.layers.Layer[]) {
  return saveArtifacts(tfl.sequential({ layers }));
}

describe('exportOnnx refuses what it cannot translate, naming the layer', () => {
  it('exports the unedited base model', () => {
    expect(exportOnnx(base.modelJson, base.shards).byteLength).toBeGreaterThan(0);
  });

  it('an unsupported layer class', async () => {
    const { modelJson, shards } = await artifactsOf([
      tfl.layers.conv1d({ inputShape: [8, 2], filters: 2, kernelSize: 3, name: 'temporal' }),
    ]);
    expectError(() => exportOnnx(modelJson, shards), 'UNSUPPORTED_MODEL', 'layer "temporal" (Conv1D)', 'Conv1D');
  });

  it('an unsupported activation', () => {
    const modelJson = edited(2, (c) => {
      c.activation = 'exponential';
    });
    expectError(() => exportOnnx(modelJson, base.shards), 'UNSUPPORTED_MODEL', 'layer "head" (Dense)', 'exponential');
  });

  it('causal padding and channels_first', () => {
    const causal = edited(0, (c) => {
      c.padding = 'causal';
    });
    expectError(() => exportOnnx(causal, base.shards), 'UNSUPPORTED_MODEL', 'layer "conv" (Conv2D)', 'causal');
    const channelsFirst = edited(0, (c) => {
      c.data_format = 'channels_first';
    });
    expectError(() => exportOnnx(channelsFirst, base.shards), 'UNSUPPORTED_MODEL', '"conv"', 'channels_first');
  });

  it('an input shape not fully known apart from the batch', () => {
    const modelJson = edited(0, (c) => {
      c.batch_input_shape = [null, null, 6, 1];
    });
    expectError(() => exportOnnx(modelJson, base.shards), 'UNSUPPORTED_MODEL', '"conv"', 'fully known');
  });

  it('softmax over an axis other than the last', async () => {
    const { modelJson, shards } = await artifactsOf([
      tfl.layers.dense({ inputShape: [4, 3], units: 2, name: 'd' }),
      tfl.layers.softmax({ axis: 1, name: 'norm' }),
    ]);
    expectError(() => exportOnnx(modelJson, shards), 'UNSUPPORTED_MODEL', 'layer "norm" (Softmax)', 'axis 1');
  });

  it('merges and several outputs in functional models', async () => {
    const input = tfl.input({ shape: [4], name: 'x' });
    const a = tfl.layers.dense({ units: 2, name: 'a' }).apply(input) as tfl.SymbolicTensor;
    const b = tfl.layers.dense({ units: 2, name: 'b' }).apply(input) as tfl.SymbolicTensor;
    const sum = tfl.layers.add({ name: 'sum' }).apply([a, b]) as tfl.SymbolicTensor;
    const merged = await saveArtifacts(tfl.model({ inputs: input, outputs: sum }));
    expectError(() => exportOnnx(merged.modelJson, merged.shards), 'UNSUPPORTED_MODEL', 'layer "sum" (Add)', 'merges');
    const two = await saveArtifacts(tfl.model({ inputs: input, outputs: [a, b] }));
    expectError(() => exportOnnx(two.modelJson, two.shards), 'UNSUPPORTED_MODEL', 'exactly one model output');
  });

  it('quantized weights', () => {
    const modelJson = structuredClone(base.modelJson);
    const spec = modelJson.weightsManifest[0]?.weights[0];
    if (!spec) throw new Error('no weight spec');
    spec.quantization = { dtype: 'uint8', scale: 1, min: 0 };
    expectError(() => exportOnnx(modelJson, base.shards), 'UNSUPPORTED_MODEL', 'conv/kernel', 'quantized');
  });

  it('weight shards that do not match the weightsManifest', () => {
    const short = base.shards.map((s, i) => (i === 0 ? s.slice(4) : s));
    expectError(() => exportOnnx(base.modelJson, short), 'INVALID_MANIFEST', 'shards hold');
  });
});
