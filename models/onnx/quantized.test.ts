import { io, setBackend, type Tensor, tensor } from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelJson } from '../../protocol/model-json.ts';
import { exportOnnx } from './export.ts';
import { compareOnnx, maxAbsDiff, saveArtifacts } from './test-support.ts';
import { halfToNumber, Weights } from './weights.ts';

type Scheme = 'uint8' | 'uint16' | 'float16' | 'float32';
type Spec = ModelJson['weightsManifest'][number]['weights'][number];

/** float → IEEE half bits, rounding to nearest (ties away; any valid half will do here). */
function toHalf(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (Number.isNaN(v)) return 0x7e00;
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  let m = Math.round((a / 2 ** e - 1) * 1024);
  if (m === 1024) [m, e] = [0, e + 1];
  return sign | ((e + 15) << 10) | m;
}

/**
 * tfjs-converter's affine scheme: scale = (max − min) / (2^bits − 1), min nudged so 0 is a
 * code when the range holds 0, q = round((v − min) / scale) clipped to the codes.
 */
function affine(values: Float32Array, bits: 8 | 16): { codes: number[]; scale: number; min: number } {
  const top = 2 ** bits - 1;
  let [lo, hi] = [Math.min(...values), Math.max(...values)];
  const scale = hi > lo ? (hi - lo) / top : 1;
  if (lo <= 0 && hi >= 0) lo = -Math.round(-lo / scale) * scale;
  hi = lo + top * scale;
  const codes = Array.from(values, (v) =>
    Math.min(top, Math.max(0, Math.round((Math.min(hi, Math.max(lo, v)) - lo) / scale))),
  );
  return { codes, scale, min: lo };
}

/** The bytes of `parts`, one after the other. */
function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all;
}

/** One weight's values stored as `scheme`, with the manifest entry tfjs reads them by. */
function encode(spec: Spec, values: Float32Array, scheme: Scheme): { spec: Spec; bytes: Uint8Array } {
  const bytes = new Uint8Array(values.length * { uint8: 1, uint16: 2, float16: 2, float32: 4 }[scheme]);
  const out = new DataView(bytes.buffer);
  if (scheme === 'float32') {
    for (const [j, v] of values.entries()) out.setFloat32(4 * j, v, true);
    return { spec, bytes };
  }
  if (scheme === 'float16') {
    for (const [j, v] of values.entries()) out.setUint16(2 * j, toHalf(v), true);
    return { spec: { ...spec, quantization: { dtype: 'float16' } }, bytes };
  }
  const { codes, scale, min } = affine(values, scheme === 'uint8' ? 8 : 16);
  for (const [j, q] of codes.entries()) {
    if (scheme === 'uint8') out.setUint8(j, q);
    else out.setUint16(2 * j, q, true);
  }
  return { spec: { ...spec, quantization: { dtype: scheme, scale, min } }, bytes };
}

/** The model's float32 weights re-encoded weight by weight with `schemes` (cycled), as tfjs stores them. */
function quantize(modelJson: ModelJson, shards: ArrayBuffer[], schemes: Scheme[]) {
  const view = new DataView(concat(shards.map((s) => new Uint8Array(s))).buffer);
  let offset = 0;
  const encoded = modelJson.weightsManifest
    .flatMap((g) => g.weights)
    .map((spec, i) => {
      const count = spec.shape.reduce((n, d) => n * d, 1);
      const values = Float32Array.from({ length: count }, (_, j) => view.getFloat32(offset + 4 * j, true));
      offset += 4 * count;
      return encode(spec, values, schemes[i % schemes.length] as Scheme);
    });
  const weightData = concat(encoded.map((e) => e.bytes));
  const weights = encoded.map((e) => e.spec);
  const quantized: ModelJson = { ...modelJson, weightsManifest: [{ paths: ['weights.bin'], weights }] };
  // Cut at an odd byte, as the float32 artifacts are, so no value is assumed aligned.
  const cut = Math.floor(weightData.length / 2) | 1;
  return { modelJson: quantized, shards: [weightData.slice(0, cut).buffer, weightData.slice(cut).buffer], weightData };
}

/** A small functional CNN (odd channel counts, so quantized weights end at odd offsets). */
function cnn(): tfl.LayersModel {
  const kernel = (seed: number) => tfl.initializers.glorotUniform({ seed });
  const bias = (seed: number) => tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });
  const x = tfl.input({ shape: [8, 8, 3], name: 'image' });
  let y = tfl.layers
    .conv2d({ filters: 5, kernelSize: 3, kernelInitializer: kernel(1), biasInitializer: bias(2) })
    .apply(x) as tfl.SymbolicTensor;
  y = tfl.layers
    .batchNormalization({
      gammaInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 3 }),
      betaInitializer: bias(4),
      movingMeanInitializer: bias(5),
      movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.2, maxval: 2, seed: 6 }),
    })
    .apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers
    .depthwiseConv2d({ kernelSize: 3, depthwiseInitializer: kernel(7), biasInitializer: bias(8) })
    .apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.globalAveragePooling2d({}).apply(y) as tfl.SymbolicTensor;
  const head = tfl.layers.dense({ units: 3, kernelInitializer: kernel(9), biasInitializer: bias(10), name: 'head' });
  const model = tfl.model({ inputs: x, outputs: head.apply(y) as tfl.SymbolicTensor });
  // Small weights that are float16 subnormals or signed zeros (the decoder's edge cases).
  const [k, b] = head.getWeights() as [Tensor, Tensor];
  const values = (k.dataSync() as Float32Array).slice();
  values.set([0, -0, 3e-6, -6e-8, 2 ** -24], 0);
  head.setWeights([tensor(values, k.shape), b]);
  return model;
}

beforeAll(async () => {
  await setBackend('cpu');
});

describe('exportOnnx: tfjs-quantized weights (dequantized to float32 initializers)', () => {
  it.each<[string, Scheme[]]>([
    ['uint8', ['uint8']],
    ['uint16', ['uint16']],
    ['float16', ['float16']],
    ['mixed uint8 / float32 / float16 / uint16, at odd offsets', ['uint8', 'float32', 'float16', 'uint16']],
  ])('%s: matches tfjs loading the same quantized files', async (_name, schemes) => {
    const original = cnn();
    const saved = await saveArtifacts(original);
    const { modelJson, shards, weightData } = quantize(saved.modelJson, saved.shards, schemes);
    const weightSpecs = modelJson.weightsManifest[0]?.weights as io.WeightsManifestEntry[];
    const loaded = await tfl.loadLayersModel(
      io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs, weightData: weightData.buffer }),
    );
    // Every dequantized weight is bit-for-bit tfjs's.
    const weights = new Weights(modelJson, shards);
    loaded.weights.forEach((variable, i) => {
      const spec = weightSpecs[i] as io.WeightsManifestEntry;
      const [layer, param] = [
        spec.name.slice(0, spec.name.lastIndexOf('/')),
        spec.name.slice(spec.name.lastIndexOf('/') + 1),
      ];
      const ours = weights.take({ className: '', name: layer, config: {} }, param, spec.shape);
      expect(maxAbsDiff(variable.read().dataSync() as Float32Array, ours)).toBe(0);
    });
    const { diff, tfjsShape, onnxShape } = await compareOnnx(loaded, exportOnnx(modelJson, shards), { batch: 4 });
    expect(onnxShape).toEqual(tfjsShape);
    expect(diff).toBeLessThanOrEqual(1e-5);
  });

  it('decodes IEEE halves exactly, subnormals, infinities and NaN included', () => {
    expect([0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff].map(halfToNumber)).toEqual([
      0,
      -0,
      2 ** -24,
      1023 * 2 ** -24,
      2 ** -14,
      1,
      -2,
      65504,
    ]);
    expect(halfToNumber(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(halfToNumber(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(halfToNumber(0x7e00)).toBeNaN();
  });
});
