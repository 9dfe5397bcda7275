import { EdgeloopError } from '../../protocol/errors.ts';
import type { ModelJson } from '../../protocol/model-json.ts';
import { type LayerSpec, unsupported } from './layer-spec.ts';

export interface Weight {
  shape: number[];
  data: Float32Array;
}

/** Byte sizes of the weight dtypes tfjs-layers writes (all 4 bytes, so offsets stay aligned). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4 };

/**
 * The model's weights by name (`<layer>/<param>`), cut from the concatenated shards as the
 * weightsManifest lists them. Remembers which were taken so the exporter can refuse a model
 * whose weights it would silently drop.
 */
export class Weights {
  private readonly byName = new Map<string, Weight>();
  private readonly taken = new Set<string>();

  constructor(modelJson: ModelJson, shards: readonly ArrayBuffer[]) {
    const specs = modelJson.weightsManifest.flatMap((group) => group.weights);
    let expected = 0;
    for (const spec of specs) {
      if (spec.quantization !== undefined) throw unsupported(undefined, `weight ${spec.name} is quantized`);
      const size = DTYPE_BYTES[spec.dtype];
      if (size === undefined) throw unsupported(undefined, `weight ${spec.name} has dtype ${spec.dtype}`);
      expected += elements(spec.shape) * size;
    }
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
    // tfjs writes little-endian values; read them as such whatever the host.
    const view = new DataView(bytes.buffer);
    offset = 0;
    for (const spec of specs) {
      const count = elements(spec.shape);
      if (spec.dtype === 'float32') {
        const data = new Float32Array(count);
        for (let i = 0; i < count; ++i) data[i] = view.getFloat32(offset + i * 4, true);
        this.byName.set(spec.name, { shape: spec.shape, data });
      }
      offset += count * (DTYPE_BYTES[spec.dtype] ?? 0);
    }
  }

  /** The float32 weight `<layer>/<param>`, checked against the shape the layer needs. */
  take(layer: LayerSpec, param: string, shape: number[]): Float32Array {
    const name = `${layer.name}/${param}`;
    const weight = this.byName.get(name);
    if (!weight) throw unsupported(layer, `weight ${name} is missing from model.json`);
    if (weight.shape.join() !== shape.join()) {
      throw unsupported(layer, `weight ${name} has shape [${weight.shape}], expected [${shape}]`);
    }
    this.taken.add(name);
    return weight.data;
  }

  /** Names of weights no layer took, e.g. of a layer the exporter treated as weightless. */
  untaken(): string[] {
    return [...this.byName.keys()].filter((name) => !this.taken.has(name));
  }
}

const elements = (shape: number[]): number => shape.reduce((n, d) => n * d, 1);
