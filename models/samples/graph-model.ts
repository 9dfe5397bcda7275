import type { Manifest } from '../../protocol/manifest.ts';

// A small tfjs graph model written node by node, as TensorFlow's converter writes them (a
// GraphDef of ops in model.json, weights in one shard, a signature): two inputs of two dtypes
// and three outputs of two dtypes, so the tests can check names, order and dtypes by hand.
//
//   probs    = softmax(x · W + b)          x float32 [-1, 4] → float32 [-1, 3]
//   top      = argmax(probs, axis 1)       → int32 [-1]  (TensorFlow's int64, stored as int32)
//   embedded = E[ids]                      ids int32 [-1] → float32 [-1, 3]

/** The weights: W [4, 3], b [3], E [5, 3]. */
export const GRAPH_WEIGHTS = {
  W: [
    [1, 0, -1],
    [0.5, 2, 0],
    [0, -1, 1],
    [-0.5, 0, 0.5],
  ],
  b: [0.1, -0.2, 0],
  E: [
    [0, 0, 0],
    [1, 2, 3],
    [-1, 0.5, 4],
    [2, 2, 2],
    [0.25, -3, 1],
  ],
};

const dims = (shape: number[]) => ({ dim: shape.map((d) => ({ size: String(d) })) });
const placeholder = (name: string, type: string, shape: number[]) => ({
  name,
  op: 'Placeholder',
  attr: { dtype: { type }, shape: { shape: dims(shape) } },
});
const constant = (name: string, type: string, shape: number[]) => ({
  name,
  op: 'Const',
  attr: { dtype: { type }, value: { tensor: { dtype: type, tensorShape: dims(shape) } } },
});

/** The graph's model.json, as an object. */
function modelJson() {
  const node = [
    placeholder('x', 'DT_FLOAT', [-1, 4]),
    placeholder('ids', 'DT_INT32', [-1]),
    constant('W', 'DT_FLOAT', [4, 3]),
    constant('b', 'DT_FLOAT', [3]),
    constant('E', 'DT_FLOAT', [5, 3]),
    constant('axis0', 'DT_INT32', []),
    constant('axis1', 'DT_INT32', []),
    { name: 'MatMul', op: 'MatMul', input: ['x', 'W'], attr: { transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'BiasAdd', op: 'BiasAdd', input: ['MatMul', 'b'], attr: { data_format: { s: 'TkhXQw==' } } },
    { name: 'probs', op: 'Softmax', input: ['BiasAdd'] },
    { name: 'top', op: 'ArgMax', input: ['probs', 'axis1'], attr: { output_type: { type: 'DT_INT64' } } },
    { name: 'embedded', op: 'GatherV2', input: ['E', 'ids', 'axis0'], attr: { batch_dims: { i: '0' } } },
  ];
  const spec = (name: string, dtype: string, shape: number[]) => ({
    name: `${name}:0`,
    dtype,
    tensorShape: dims(shape),
  });
  return {
    format: 'graph-model',
    generatedBy: 'edgeloop models/samples',
    convertedBy: null,
    modelTopology: { node, library: {}, versions: { producer: 1 } },
    signature: {
      inputs: { x: spec('x', 'DT_FLOAT', [-1, 4]), ids: spec('ids', 'DT_INT32', [-1]) },
      outputs: {
        probs: spec('probs', 'DT_FLOAT', [-1, 3]),
        top: spec('top', 'DT_INT64', [-1]),
        embedded: spec('embedded', 'DT_FLOAT', [-1, 3]),
      },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'W', shape: [4, 3], dtype: 'float32' },
          { name: 'b', shape: [3], dtype: 'float32' },
          { name: 'E', shape: [5, 3], dtype: 'float32' },
          { name: 'axis0', shape: [], dtype: 'int32' },
          { name: 'axis1', shape: [], dtype: 'int32' },
        ],
      },
    ],
  };
}

/**
 * The sample graph model's files: `model.json` and `group1-shard1of1.bin`.
 *
 * @example
 * const files = graphModelFiles(); // { 'model.json': Uint8Array, 'group1-shard1of1.bin': Uint8Array }
 */
export function graphModelFiles(): Record<string, Uint8Array> {
  const { W, b, E } = GRAPH_WEIGHTS;
  const floats = new Float32Array([...W.flat(), ...b, ...E.flat()]);
  const shard = new Uint8Array(floats.byteLength + 8);
  shard.set(new Uint8Array(floats.buffer), 0);
  new DataView(shard.buffer).setInt32(floats.byteLength, 0, true);
  new DataView(shard.buffer).setInt32(floats.byteLength + 4, 1, true);
  return {
    'model.json': new TextEncoder().encode(JSON.stringify(modelJson())),
    'group1-shard1of1.bin': shard,
  };
}

/** The sample graph model's manifest, as `edgeloop init` writes it for these files. */
export const graphManifest = (name: string): Manifest => ({
  v: 1,
  name,
  format: 'tfjs-graph',
  inputs: [
    { name: 'x', dtype: 'float32', shape: [-1, 4] },
    { name: 'ids', dtype: 'int32', shape: [-1] },
  ],
  outputs: [
    { name: 'probs', dtype: 'float32', shape: [-1, 3] },
    { name: 'top', dtype: 'int32', shape: [-1] },
    { name: 'embedded', dtype: 'float32', shape: [-1, 3] },
  ],
  features: { features: [] },
  files: [
    { path: 'model.json', role: 'model' },
    { path: 'group1-shard1of1.bin', role: 'weights' },
  ],
});

/**
 * What the sample graph model answers for one example, computed by hand.
 *
 * @example
 * graphOf([1, 0, 0, 0], 2); // { probs: [...], top: 0, embedded: [-1, 0.5, 4] }
 */
export function graphOf(x: number[], id: number): { probs: number[]; top: number; embedded: number[] } {
  const { W, b, E } = GRAPH_WEIGHTS;
  const logits = [0, 1, 2].map((j) => x.reduce((sum, xi, i) => sum + xi * (W[i]?.[j] ?? 0), b[j] ?? 0));
  const peak = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - peak));
  const total = exps.reduce((a, c) => a + c, 0);
  const probs = exps.map((e) => e / total);
  return { probs, top: probs.indexOf(Math.max(...probs)), embedded: [...(E[id] ?? [])] };
}
