import { EdgeloopError } from '../../protocol/errors.ts';
import type { ModelJson } from '../../protocol/model-json.ts';
import { type LayerSpec, unsupported } from './layer-spec.ts';

export interface Weight {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array;
}

type Spec = ModelJson['weightsManifest'][number]['weights'][number];

/** How one manifest entry is stored: bytes per value and how to read value `i` at `offset`. */
interface Encoding {
  bytes: number;
  read: (view: DataView, offset: number) => number;
}

/** Byte sizes and readers of the unquantized dtypes (tfjs writes little-endian). */
const PLAIN: Record<string, Encoding> = {
  float32: { bytes: 4, read: (view, offset) => view.getFloat32(offset, true) },
  int32: { bytes: 4, read: (view, offset) => view.getInt32(offset, true) },
};

/**
 * An IEEE half (binary16) as a number; exact, subnormals, infinities and NaN included.
 *
 * @example
 * halfToNumber(0x3c00); // 1
 */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * How `spec` is stored. tfjs's weight quantization: uint8/uint16 affine (value = q·scale + min,
 * rounded for int32 weights) or float16 (float32 weights only).
 */
function encoding(spec: Spec): Encoding {
  const plain = PLAIN[spec.dtype];
  if (!plain) throw unsupported(undefined, `weight ${spec.name} has dtype ${spec.dtype} (only float32, int32)`);
  const q = spec.quantization;
  if (q === undefined) return plain;
  const { dtype, scale, min } = (typeof q === 'object' && q !== null ? q : {}) as Record<string, unknown>;
  const round = spec.dtype === 'int32' ? Math.round : (v: number) => v;
  if (dtype === 'uint8' || dtype === 'uint16') {
    if (typeof scale !== 'number' || typeof min !== 'number' || !Number.isFinite(scale) || !Number.isFinite(min)) {
      throw unsupported(undefined, `weight ${spec.name}: ${dtype} quantization needs numeric scale and min`);
    }
    return dtype === 'uint8'
      ? { bytes: 1, read: (view, offset) => round(view.getUint8(offset) * scale + min) }
      : { bytes: 2, read: (view, offset) => round(view.getUint16(offset, true) * scale + min) };
  }
  if (dtype === 'float16' && spec.dtype === 'float32') {
    return { bytes: 2, read: (view, offset) => halfToNumber(view.getUint16(offset, true)) };
  }
  throw unsupported(
    undefined,
    `weight ${spec.name}: quantization ${JSON.stringify(q)} of a ${spec.dtype} weight (only uint8, uint16, float16)`,
  );
}

/**
 * The model's weights by name (`<layer>/<param>`), cut from the concatenated shards as the
 * weightsManifest lists them and dequantized to float32. Remembers which were taken so the
 * exporter can refuse a model whose weights it would silently drop.
 */
export class Weights {
  private readonly byName = new Map<string, Weight>();
  private readonly taken = new Set<string>();

  constructor(modelJson: ModelJson, shards: readonly ArrayBuffer[]) {
    const specs = modelJson.weightsManifest.flatMap((group) => group.weights);
    const encodings = specs.map(encoding);
    const expected = specs.reduce((n, spec, i) => n + elements(spec.shape) * (encodings[i] as Encoding).bytes, 0);
    const total = shards.reduce((n, s) => n + s.byteLength, 0);
    if (expected !== total) {
      throw new EdgeloopError(
        'INVALID_MANIFEST',
        `ONNX export: model.json describes ${expected} bytes of weights, the shards hold ${total}`,
      );
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const shard of shards) {
      bytes.set(new Uint8Array(shard), offset);
      offset += shard.byteLength;
    }
    // DataView reads little-endian whatever the host, and at any (unaligned) offset.
    const view = new DataView(bytes.buffer);
    offset = 0;
    specs.forEach((spec, i) => {
      const { bytes: size, read } = encodings[i] as Encoding;
      const count = elements(spec.shape);
      // Math.fround happens on storing into the Float32Array, as in tfjs's decoder.
      const data = new Float32Array(count);
      for (let j = 0; j < count; ++j) data[j] = read(view, offset + j * size);
      this.byName.set(spec.name, { shape: spec.shape, dtype: spec.dtype as Weight['dtype'], data });
      offset += count * size;
    });
  }

  /** The float32 weight `<layer>/<param>`, checked against the shape the layer needs. */
  take(layer: LayerSpec, param: string, shape: number[]): Float32Array {
    const name = `${layer.name}/${param}`;
    const weight = this.byName.get(name);
    if (!weight) throw unsupported(layer, `weight ${name} is missing from model.json`);
    if (weight.dtype !== 'float32')
      throw unsupported(layer, `weight ${name} has dtype ${weight.dtype} (needs float32)`);
    if (weight.shape.join() !== shape.join()) {
      throw unsupported(layer, `weight ${name} has shape [${weight.shape}], expected [${shape}]`);
    }
    this.taken.add(name);
    return weight.data;
  }

  /**
   * The stored shape of `<layer>/<param>`, if the manifest has it.
   *
   * @example
   * weights.shapeOf(layer, 'depthwise_kernel'); // [3, 3, 16, 1]
   */
  shapeOf(layer: LayerSpec, param: string): number[] | undefined {
    return this.byName.get(`${layer.name}/${param}`)?.shape;
  }

  /** Names of weights no layer took, e.g. of a layer the exporter treated as weightless. */
  untaken(): string[] {
    return [...this.byName.keys()].filter((name) => !this.taken.has(name));
  }
}

const elements = (shape: number[]): number => shape.reduce((n, d) => n * d, 1);
