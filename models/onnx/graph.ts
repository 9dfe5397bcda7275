import type { LayerSpec } from './layer-spec.ts';
import type { Attribute, OnnxNode, OnnxTensor } from './onnx-proto.ts';
import type { Weights } from './weights.ts';

/**
 * A tensor in the graph being built. `shape` is the tfjs shape without the batch dimension
 * (so images are [H, W, C] whatever the layout). Conv/pool ops in ONNX want NCHW, tfjs is
 * NHWC: `layout` says which one a rank-4 value currently has; transposes are inserted only
 * where an op needs the other one.
 */
export interface Value {
  name: string;
  shape: number[];
  layout: 'nhwc' | 'nchw';
}

/** Converts one layer: adds its nodes to `g` and returns its output. */
export type Converter = (g: GraphBuilder, layer: LayerSpec, x: Value, weights: Weights) => Value;

/** Converts one layer that takes several inputs (a merge). */
export type MergeConverter = (g: GraphBuilder, layer: LayerSpec, xs: Value[]) => Value;

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

/** Collects nodes and initializers under unique names. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly names = new Set<string>();
  /** Transposes already made, by `<value>→<layout>`, so a value several layers take is transposed once. */
  readonly transposed = new Map<string, string>();

  /** Claims `base`, or `base_1`, `base_2`… when taken. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); ++i) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Adds a constant and returns its name. */
  constant(base: string, dims: number[], data: Float32Array | BigInt64Array): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims, data });
    return name;
  }

  /** A float32 scalar constant. */
  scalar(base: string, value: number): string {
    return this.constant(base, [], Float32Array.of(value));
  }

  /** Adds one node and returns its (single) output name; `output` names it exactly when given. */
  node(
    opType: string,
    inputs: string[],
    base: string,
    attributes: Record<string, Attribute> = {},
    output?: string,
  ): string {
    const name = output ?? this.unique(base);
    this.nodes.push({ opType, name, inputs, outputs: [name], attributes });
    return name;
  }
}

/** `x` in `layout`, transposed if it is a rank-4 tensor in the other one. */
export function inLayout(g: GraphBuilder, x: Value, layout: Value['layout']): Value {
  if (x.shape.length !== 3 || x.layout === layout) return { ...x, layout };
  const key = `${x.name}→${layout}`;
  let name = g.transposed.get(key);
  if (name === undefined) {
    const perm = layout === 'nchw' ? TO_NCHW : TO_NHWC;
    name = g.node('Transpose', [x.name], `${x.name}/${layout}`, { perm: { ints: perm } });
    g.transposed.set(key, name);
  }
  return { ...x, layout, name };
}

/** The ONNX axis holding x's last tfjs axis (channels, which NCHW keeps at 1). */
export function lastAxis(x: Value): number {
  return x.shape.length === 3 && x.layout === 'nchw' ? 1 : -1;
}
