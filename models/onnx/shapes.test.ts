import { describe, expect, it } from 'vitest';
import type { OnnxAttribute, OnnxNodeInfo } from './read.ts';
import { broadcast, type Known, SHAPE_RULES } from './shapes.ts';

/** INT64_MAX as exporters write "to the end" (a double once read). */
const END = 2 ** 63;

/** Applies `opType`'s rule to `inputs` (null: an omitted optional input). */
function infer(
  opType: string,
  inputs: (Known | null)[],
  attributes: Record<string, OnnxAttribute> = {},
  outputs = 1,
): Known[] | undefined {
  const node: OnnxNodeInfo = {
    opType,
    domain: '',
    name: opType,
    inputs: inputs.map((k, i) => (k ? `in${i}` : '')),
    outputs: Array.from({ length: outputs }, (_, i) => `out${i}`),
    attributes,
  };
  const rule = SHAPE_RULES[opType];
  if (!rule) throw new Error(`no rule for ${opType}`);
  return rule(
    node,
    inputs.map((k) => k ?? undefined),
  );
}

const shapes = (known: Known[] | undefined) => known?.map((k) => k.shape);
const of = (...shape: number[]): Known => ({ shape });
const values = (...v: number[]): Known => ({ shape: [v.length], values: v });

describe('broadcast', () => {
  it('follows numpy', () => {
    expect(
      broadcast([
        [2, 1, 4],
        [3, 1],
      ]),
    ).toEqual([2, 3, 4]);
    expect(broadcast([[5], []])).toEqual([5]);
    expect(broadcast([[2], [3]])).toBeUndefined();
  });
});

describe('SHAPE_RULES', () => {
  it('elementwise ops keep or broadcast shapes; arithmetic on tiny values is carried out', () => {
    expect(shapes(infer('Sigmoid', [of(1, 3, 4)]))).toEqual([[1, 3, 4]]);
    expect(shapes(infer('Where', [of(1, 4), of(3, 1), of(4)]))).toEqual([[3, 4]]);
    expect(infer('Mul', [values(2, 3), values(4)])).toEqual([{ shape: [2], values: [8, 12] }]);
    expect(infer('Div', [values(9), values(2)])?.[0]?.values).toEqual([4]);
    expect(infer('Add', [of(2), null])).toBeUndefined();
    expect(infer('Cast', [values(1, 2)])).toEqual([values(1, 2)]);
  });

  it('Reshape, Flatten, Transpose, Squeeze, Unsqueeze', () => {
    expect(shapes(infer('Reshape', [of(1, 4, 6), values(0, -1, 2)]))).toEqual([[1, 12, 2]]);
    expect(infer('Reshape', [of(1, 5), values(-1, 2)])).toBeUndefined();
    expect(infer('Reshape', [of(1, 5), of(2)])).toBeUndefined();
    expect(shapes(infer('Flatten', [of(2, 3, 4, 5)], { axis: { i: -1 } }))).toEqual([[24, 5]]);
    expect(shapes(infer('Transpose', [of(1, 2, 3)]))).toEqual([[3, 2, 1]]);
    expect(shapes(infer('Transpose', [of(1, 2, 3)], { perm: { ints: [0, 2, 1] } }))).toEqual([[1, 3, 2]]);
    expect(shapes(infer('Squeeze', [of(1, 3, 1, 2)]))).toEqual([[3, 2]]);
    expect(shapes(infer('Squeeze', [of(1, 3, 1, 2), values(-2)]))).toEqual([[1, 3, 2]]);
    expect(shapes(infer('Unsqueeze', [of(3, 2), values(0, -1)]))).toEqual([[1, 3, 2, 1]]);
    expect(infer('Unsqueeze', [of(3, 2), of(1)])).toBeUndefined();
  });

  it('Shape, Gather, Concat, Slice carry the values of shapes', () => {
    const shape = infer('Shape', [of(1, 3, 10, 12)])?.[0];
    expect(shape).toEqual(values(1, 3, 10, 12));
    expect(infer('Shape', [of(1, 3, 10, 12)], { start: { i: -2 } })).toEqual([values(10, 12)]);
    expect(infer('Gather', [shape ?? null, { shape: [], values: [-1] }])).toEqual([{ shape: [], values: [12] }]);
    expect(shapes(infer('Gather', [of(5, 7), of(2, 3)], { axis: { i: 1 } }))).toEqual([[5, 2, 3]]);
    expect(infer('Concat', [values(1), values(-1, 4)], { axis: { i: 0 } })).toEqual([values(1, -1, 4)]);
    expect(shapes(infer('Concat', [of(1, 2, 5), of(1, 3, 5)], { axis: { i: 1 } }))).toEqual([[1, 5, 5]]);
    expect(infer('Slice', [shape ?? null, values(2), values(END)])).toEqual([values(10, 12)]);
    expect(shapes(infer('Slice', [of(1, 3, 10, 10), values(1), values(-1), values(2), values(3)]))).toEqual([
      [1, 3, 3, 10],
    ]);
    // Reversed: from the last element down past the first.
    expect(infer('Slice', [values(4, 5, 6), values(-1), values(-END), values(0), values(-1)])).toEqual([
      values(6, 5, 4),
    ]);
    // Unknown bounds: the input's shape, an upper bound.
    expect(shapes(infer('Slice', [of(1, 8), of(1), of(1)]))).toEqual([[1, 8]]);
  });

  it('Pad, Reduce*, ArgMax, Split', () => {
    expect(shapes(infer('Pad', [of(1, 3, 4, 4), values(0, 0, 1, 2, 0, 0, 3, 4)]))).toEqual([[1, 3, 8, 10]]);
    expect(shapes(infer('Pad', [of(1, 3, 4, 4)], { pads: { ints: [0, 0, 1, 1, 0, 0, 1, 1] } }))).toEqual([
      [1, 3, 6, 6],
    ]);
    expect(shapes(infer('ReduceMean', [of(1, 3, 4, 4)], { axes: { ints: [2, 3] } }))).toEqual([[1, 3, 1, 1]]);
    expect(shapes(infer('ReduceSum', [of(1, 3, 4), values(-1)], { keepdims: { i: 0 } }))).toEqual([[1, 3]]);
    expect(shapes(infer('ReduceMax', [of(2, 3)], { keepdims: { i: 0 } }))).toEqual([[]]);
    expect(shapes(infer('ArgMax', [of(2, 3)], { axis: { i: 1 }, keepdims: { i: 0 } }))).toEqual([[2]]);
    expect(shapes(infer('Split', [of(1, 10)], { axis: { i: 1 } }, 3))).toEqual([
      [1, 4],
      [1, 4],
      [1, 2],
    ]);
    expect(shapes(infer('Split', [of(1, 10), values(3, 7)], { axis: { i: 1 } }, 2))).toEqual([
      [1, 3],
      [1, 7],
    ]);
  });

  it('Constant, ConstantOfShape, Expand, Tile, Resize', () => {
    expect(infer('Constant', [], { value_ints: { ints: [1, -1] } })).toEqual([values(1, -1)]);
    const t = { t: { dims: [2], elemType: 'int64' as const, values: [0, 5] } };
    expect(infer('Constant', [], { value: t })).toEqual([values(0, 5)]);
    expect(shapes(infer('ConstantOfShape', [values(2, 3)]))).toEqual([[2, 3]]);
    expect(shapes(infer('Expand', [of(3, 1), values(2, 1, 4)]))).toEqual([[2, 3, 4]]);
    expect(shapes(infer('Tile', [of(2, 3), values(2, 2)]))).toEqual([[4, 6]]);
    expect(shapes(infer('Resize', [of(1, 3, 8, 8), null, values(1, 1, 2, 2)]))).toEqual([[1, 3, 16, 16]]);
    expect(shapes(infer('Resize', [of(1, 3, 8, 8), null, null, values(1, 3, 5, 7)]))).toEqual([[1, 3, 5, 7]]);
    expect(shapes(infer('Upsample', [of(1, 3, 8, 8)], { scales: { floats: [1, 1, 2, 3] } }))).toEqual([[1, 3, 16, 24]]);
    expect(infer('Resize', [of(1, 3, 8, 8), null, of(4)])).toBeUndefined();
  });
});
