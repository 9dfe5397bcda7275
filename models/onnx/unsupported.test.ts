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

  it('shared layers, nested models and layers that feed no output', async () => {
    const input = tfl.input({ shape: [4], name: 'x' });
    const shared = tfl.layers.dense({ units: 4, name: 'shared' });
    const twice = shared.apply(shared.apply(input)) as tfl.SymbolicTensor;
    const reused = await saveArtifacts(tfl.model({ inputs: input, outputs: twice }));
    expectError(
      () => exportOnnx(reused.modelJson, reused.shards),
      'UNSUPPORTED_MODEL',
      '"shared" (Dense)',
      'called 2 times',
    );
    const inner = tfl.sequential({ name: 'inner', layers: [tfl.layers.dense({ inputShape: [4], units: 2 })] });
    const nested = await saveArtifacts(tfl.model({ inputs: input, outputs: inner.apply(input) as tfl.SymbolicTensor }));
    expectError(
      () => exportOnnx(nested.modelJson, nested.shards),
      'UNSUPPORTED_MODEL',
      '"inner" (Sequential)',
      'nested',
    );
    // A Sequential model's layers are a chain; only a functional one can leave a layer out.
    const functional = await saveArtifacts(
      tfl.model({
        inputs: input,
        outputs: tfl.layers.dense({ units: 2, name: 'out' }).apply(input) as tfl.SymbolicTensor,
      }),
    );
    const extra = structuredClone(functional.modelJson);
    (extra.modelTopology.config as { layers: unknown[] }).layers.push({
      class_name: 'Dropout',
      config: { name: 'stray', rate: 0.1 },
      inbound_nodes: [[['x', 0, 0, {}]]],
    });
    expectError(() => exportOnnx(extra, functional.shards), 'UNSUPPORTED_MODEL', 'feed no model output: stray');
  });

  it('merges whose inputs do not line up, and Concatenate axes where tfjs and Keras disagree', async () => {
    const input = tfl.input({ shape: [4, 4, 2], name: 'x' });
    const conv = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c' });
    const join = tfl.layers.concatenate({ axis: 3, name: 'join' });
    const output = join.apply([input, conv.apply(input) as tfl.SymbolicTensor]) as tfl.SymbolicTensor;
    const { modelJson, shards } = await saveArtifacts(tfl.model({ inputs: input, outputs: output }));
    type RawLayer = { name: string; class_name: string; config: Record<string, unknown>; inbound_nodes: unknown[][] };
    /** modelJson with `edit` applied to a copy of the "join" layer. */
    const withJoin = (edit: (layer: RawLayer) => void) => {
      const edited = structuredClone(modelJson);
      const layers = (edited.modelTopology.config as { layers: RawLayer[] }).layers;
      edit(layers.find((l) => l.name === 'join') as RawLayer);
      return edited;
    };
    const axis = (n: number) =>
      withJoin((l) => {
        l.config.axis = n;
      });
    expectError(() => exportOnnx(axis(-2), shards), 'UNSUPPORTED_MODEL', '"join" (Concatenate)', 'axis -2', 'axis 2');
    expectError(() => exportOnnx(axis(0), shards), 'UNSUPPORTED_MODEL', '"join"', 'batch axis');
    const add = withJoin((l) => {
      l.class_name = 'Add';
    });
    expectError(
      () => exportOnnx(add, shards),
      'UNSUPPORTED_MODEL',
      '"join" (Add)',
      '[4,4,2], [4,4,3] do not broadcast',
    );
    const subtract = withJoin((l) => {
      l.class_name = 'Subtract';
      l.inbound_nodes[0]?.push(['x', 0, 0, {}]);
    });
    expectError(() => exportOnnx(subtract, shards), 'UNSUPPORTED_MODEL', '"join" (Subtract)', 'exactly 2');
    const single = withJoin((l) => {
      l.inbound_nodes = [[['c', 0, 0, {}]]];
    });
    expectError(() => exportOnnx(single, shards), 'UNSUPPORTED_MODEL', '"join"', 'at least 2');
    const masked = withJoin((l) => {
      l.inbound_nodes = [
        [
          ['x', 0, 0, { mask: null }],
          ['c', 0, 0, {}],
        ],
      ];
    });
    expectError(() => exportOnnx(masked, shards), 'UNSUPPORTED_MODEL', '"join"', 'call arguments');
  });

  it('DepthwiseConv2D dilation (tfjs-layers ignores it) and ReLU threshold / negative_slope', async () => {
    const dilated = await artifactsOf([
      tfl.layers.depthwiseConv2d({ inputShape: [6, 6, 2], kernelSize: 3, name: 'dw' }),
    ]);
    const layers = (dilated.modelJson.modelTopology.config as { layers: { config: Record<string, unknown> }[] }).layers;
    (layers[0] as { config: Record<string, unknown> }).config.dilation_rate = [2, 2];
    expectError(
      () => exportOnnx(dilated.modelJson, dilated.shards),
      'UNSUPPORTED_MODEL',
      '"dw" (DepthwiseConv2D)',
      'dilation_rate',
    );
    const relu = await artifactsOf([tfl.layers.reLU({ inputShape: [3], name: 'r' })]);
    for (const key of ['threshold', 'negative_slope']) {
      const edited = structuredClone(relu.modelJson);
      const config = (edited.modelTopology.config as { layers: { config: Record<string, unknown> }[] }).layers[0];
      if (config) config.config[key] = 0.5;
      expectError(() => exportOnnx(edited, relu.shards), 'UNSUPPORTED_MODEL', '"r" (ReLU)', key);
    }
  });

  it('graph names that do not fit the model', async () => {
    const a = tfl.input({ shape: [3], name: 'a' });
    const b = tfl.input({ shape: [3], name: 'b' });
    const sum = tfl.layers.add({ name: 'sum' }).apply([a, b]) as tfl.SymbolicTensor;
    const { modelJson, shards } = await saveArtifacts(tfl.model({ inputs: [a, b], outputs: sum }));
    expect(exportOnnx(modelJson, shards).byteLength).toBeGreaterThan(0);
    expectError(
      () => exportOnnx(modelJson, shards, { inputName: 'x' }),
      'BAD_REQUEST',
      'inputName',
      'has 2',
      'inputNames',
    );
    expectError(() => exportOnnx(modelJson, shards, { inputNames: ['x'] }), 'BAD_REQUEST', '1 inputNames', 'a, b');
    expectError(() => exportOnnx(modelJson, shards, { inputNames: ['x', 'y'], outputName: 'x' }), 'BAD_REQUEST', '"x"');
    expectError(
      () => exportOnnx(base.modelJson, base.shards, { outputName: 'p', outputNames: ['p'] }),
      'BAD_REQUEST',
      'not both',
    );
    expectError(
      () => exportOnnx(base.modelJson, base.shards, { inputName: 'same', outputName: 'same' }),
      'BAD_REQUEST',
      '"same"',
    );
  });

  it('quantization tfjs does not write, and int32 weights where a layer needs float32', () => {
    const withSpec = (edit: (spec: Record<string, unknown>) => void) => {
      const modelJson = structuredClone(base.modelJson);
      const spec = modelJson.weightsManifest[0]?.weights[0];
      if (!spec) throw new Error('no weight spec');
      edit(spec);
      return modelJson;
    };
    const int4 = withSpec((s) => {
      s.quantization = { dtype: 'int4', scale: 1, min: 0 };
    });
    expectError(() => exportOnnx(int4, base.shards), 'UNSUPPORTED_MODEL', 'conv/kernel', 'int4');
    const noScale = withSpec((s) => {
      s.quantization = { dtype: 'uint8', min: 0 };
    });
    expectError(() => exportOnnx(noScale, base.shards), 'UNSUPPORTED_MODEL', 'conv/kernel', 'scale and min');
    const halfInt = withSpec((s) => {
      s.dtype = 'int32';
      s.quantization = { dtype: 'float16' };
    });
    expectError(() => exportOnnx(halfInt, base.shards), 'UNSUPPORTED_MODEL', 'conv/kernel', 'float16', 'int32');
    const int32 = withSpec((s) => {
      s.dtype = 'int32';
    });
    expectError(
      () => exportOnnx(int32, base.shards),
      'UNSUPPORTED_MODEL',
      'layer "conv"',
      'conv/kernel has dtype int32',
    );
    const text = withSpec((s) => {
      s.dtype = 'string';
    });
    expectError(() => exportOnnx(text, base.shards), 'UNSUPPORTED_MODEL', 'conv/kernel', 'dtype string');
  });

  it('weight shards that do not match the weightsManifest', () => {
    const short = base.shards.map((s, i) => (i === 0 ? s.slice(4) : s));
    expectError(() => exportOnnx(base.modelJson, short), 'INVALID_MANIFEST', 'shards hold');
  });
});
