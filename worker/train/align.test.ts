import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStyle } from '../../models/digits/user-styles.ts';
import { parseModelJson } from '../../protocol/model-json.ts';
import { seededRandom } from '../../protocol/random.ts';
import { buildModel } from '../infer/model-artifacts.ts';
import { holdoutDigits } from '../test/digits.ts';
import { readRepoFile } from '../test/node-files.ts';
import { type Alignment, alignInputs, alignValues, describeAlignment, identityAlignment } from './align.ts';
import { type AlignmentBasis, inkMoments, searchAlignment } from './align-search.ts';
import type { Examples } from './examples.ts';
import { registerTrainingKernels } from './kernels/index.ts';

const digits = holdoutDigits();
const signal = new AbortController().signal;
let model: tfl.LayersModel;
let basis: AlignmentBasis;

const buffer = (bytes: Uint8Array) =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

beforeAll(async () => {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  registerTrainingKernels('wasm');
  const json = parseModelJson(buffer(readRepoFile('models/digits/artifacts/model.json')), 'model.json');
  model = await buildModel(json, [buffer(readRepoFile('models/digits/artifacts/weights.bin'))]);
  const reference = flat(digits.images.slice(1500, 1700));
  basis = { model, inputShape: [28, 28, 1], range: [0, 1], reference: inkMoments(reference, 200, [28, 28, 1], false) };
});
afterAll(() => model.dispose());

function flat(images: Float32Array[]): Float32Array {
  const out = new Float32Array(images.length * 784);
  images.forEach((image, i) => {
    out.set(image, i * 784);
  });
  return out;
}

/** Held-out digits `from … from + count` in a style, as examples. */
function styled(name: string, from: number, count: number): Examples {
  const random = seededRandom(from + 5);
  const { apply } = userStyle(name);
  return {
    count,
    size: 784,
    inputs: flat(digits.images.slice(from, from + count).map((image) => apply(image, random))),
    labels: Int32Array.from(digits.labels.slice(from, from + count)),
  };
}

async function accuracy(examples: Examples, alignment: Alignment | null): Promise<number> {
  const probabilities = tf.tidy(() => {
    const x = tf.tensor4d(examples.inputs, [examples.count, 28, 28, 1]);
    return model.predict(alignment ? alignInputs(x, alignment) : x) as tf.Tensor2D;
  });
  const predicted = (await tf.argMax(probabilities, 1).data()) as Int32Array;
  probabilities.dispose();
  return predicted.filter((label, i) => label === examples.labels[i]).length / examples.count;
}

const one = (examples: Examples) => new Float32Array(examples.count).fill(1);

describe('alignInputs', () => {
  // Made in the tests: the backend is only set in beforeAll.
  const image = () =>
    tf.tensor4d(
      Float32Array.from({ length: 784 }, (_, i) => (i % 29) / 28),
      [1, 28, 28, 1],
    );
  const identity = identityAlignment([0, 1]);
  const values = (x: tf.Tensor) => Array.from(x.dataSync());

  it('leaves inputs as they are without an alignment, and undoes a quarter turn with three more', () => {
    const x = image();
    expect(values(alignInputs(x, identity))).toEqual(values(x));
    const quarter = alignInputs(x, { ...identity, symmetry: 1 });
    expect(values(quarter)).not.toEqual(values(x));
    const back = alignInputs(quarter, { ...identity, symmetry: 3 });
    values(back).forEach((v, i) => {
      expect(v).toBeCloseTo(values(x)[i] as number, 5);
    });
    const mirrored = alignInputs(alignInputs(x, { ...identity, symmetry: 4 }), { ...identity, symmetry: 4 });
    values(mirrored).forEach((v, i) => {
      expect(v).toBeCloseTo(values(x)[i] as number, 5);
    });
  });

  it('has a gradient with respect to its inputs (integrated gradients explain through it)', () => {
    const x = image();
    const alignment: Alignment = {
      ...identity,
      symmetry: 1,
      params: [0.3, -0.2, 0.1, 0.2, 0.05, -0.05, 0.4, 0, -0.5, 0.5],
    };
    const gradient = tf.grad((input: tf.Tensor) => tf.sum(tf.square(alignInputs(input as tf.Tensor4D, alignment))))(x);
    const values = gradient.dataSync();
    expect(values.every(Number.isFinite)).toBe(true);
    expect(values.some((v) => v !== 0)).toBe(true);
  });

  it('maps values in JavaScript (the search) as the tensor op maps them (what serves)', () => {
    const x = image();
    const many: Alignment[] = [
      { ...identity, symmetry: 1, params: [0.3, -0.2, 0.1, 0.2, 0.05, -0.05, 0.4, 0, 0.6, -0.4] },
      { ...identity, invert: true, params: [-0.5, 0.3, 0.3, -0.4, -0.2, 0.1, -0.3, 0.1, -0.7, 0.8] },
      { ...identity, symmetry: 6, params: [0, -0.6, -0.6, 0, -0.2, -0.2, 0, 0] },
    ];
    const inputs = x.dataSync() as Float32Array;
    for (const alignment of many) {
      const out = new Float32Array(784);
      alignValues(alignment, inputs, 1, [28, 28, 1], out);
      const expected = values(alignInputs(x, alignment));
      expect(expected.some((v, i) => v !== inputs[i])).toBe(true);
      out.forEach((v, i) => {
        expect(v).toBeCloseTo(expected[i] as number, 5);
      });
    }
  });

  it('thickens or thins the pen, and softens or sharpens, within the range', () => {
    // A vertical bar three pixels wide on a dark background.
    const bar = tf.tensor4d(
      Float32Array.from({ length: 784 }, (_, i) => (i % 28 >= 12 && i % 28 <= 14 ? 1 : 0)),
      [1, 28, 28, 1],
    );
    const row = (x: tf.Tensor) => values(x).slice(14 * 28, 15 * 28);
    const widthOf = (x: tf.Tensor) => row(x).filter((v) => v > 0.99).length;
    const pen = (amount: number) => ({ ...identity, params: [0, 0, 0, 0, 0, 0, 0, 0, amount, 0] });
    expect(widthOf(bar)).toBe(3);
    expect(widthOf(alignInputs(bar, pen(1)))).toBe(5);
    expect(widthOf(alignInputs(bar, pen(-1)))).toBe(1);
    const soft = row(alignInputs(bar, { ...identity, params: [0, 0, 0, 0, 0, 0, 0, 0, 0, 1] }));
    expect(soft[11]).toBeCloseTo(1 / 3, 5);
    expect(soft[13]).toBeCloseTo(1, 5);
    const sharp = values(alignInputs(image(), { ...identity, params: [0, 0, 0, 0, 0, 0, 0, 0, 0, -1] }));
    expect(sharp.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('inverts within the range, then applies gain and offset, clipped to the range', () => {
    const x = image();
    const inverted = values(alignInputs(x, { ...identity, invert: true }));
    inverted.forEach((v, i) => {
      expect(v).toBeCloseTo(1 - (values(x)[i] as number), 5);
    });
    const brighter = values(alignInputs(x, { ...identity, params: [0, 0, 0, 0, 0, 0, Math.log(2), 0.1] }));
    brighter.forEach((v, i) => {
      expect(v).toBeCloseTo(Math.min(1, 2 * (values(x)[i] as number) + 0.1), 5);
    });
  });
});

describe('searchAlignment', () => {
  it('finds the map that undoes a turned, mirrored, inverted or small hand from 40 labels', async () => {
    for (const [name, found] of [
      ['quarter-turn', (a: Alignment) => a.symmetry !== 0],
      ['mirrored', (a: Alignment) => a.symmetry !== 0],
      ['inverted', (a: Alignment) => a.invert],
      ['small-corner', (a: Alignment) => (a.params[1] as number) < -0.3 && (a.params[4] as number) < -0.1],
    ] as const) {
      const labelled = styled(name, 0, 40);
      const alignment = await searchAlignment(basis, labelled, one(labelled), signal);
      expect(alignment, name).not.toBeNull();
      expect(found(alignment as Alignment), `${name}: ${describeAlignment(alignment as Alignment)}`).toBe(true);
      // Measured on other digits of the same style than the labels it was found on.
      const unseen = styled(name, 1000, 200);
      const before = await accuracy(unseen, null);
      const after = await accuracy(unseen, alignment);
      expect(after, name).toBeGreaterThan(0.85);
      expect(after - before, name).toBeGreaterThan(0.3);
    }
  });

  it('finds a bolder pen than usual, and undoes much of it', async () => {
    const labelled = styled('bold', 0, 40);
    const alignment = await searchAlignment(basis, labelled, one(labelled), signal);
    expect(alignment).not.toBeNull();
    const description = describeAlignment(alignment as Alignment);
    expect((alignment as Alignment).params[8] as number, description).toBeLessThan(-0.2);
    expect(description).toContain('a bolder pen');
    const unseen = styled('bold', 1000, 200);
    expect((await accuracy(unseen, alignment)) - (await accuracy(unseen, null))).toBeGreaterThan(0.2);
  });

  it('finds nothing to align on the model’s usual inputs', async () => {
    const usual: Examples = {
      count: 40,
      size: 784,
      inputs: flat(digits.images.slice(0, 40)),
      labels: Int32Array.from(digits.labels.slice(0, 40)),
    };
    expect(await searchAlignment(basis, usual, one(usual), signal)).toBeNull();
  });

  it('stops with CANCELLED when its signal is aborted', async () => {
    const labelled = styled('tilted', 0, 20);
    const controller = new AbortController();
    controller.abort();
    await expect(searchAlignment(basis, labelled, one(labelled), controller.signal)).rejects.toMatchObject({
      code: 'CANCELLED',
    });
  });

  it('is described in words for the training note', () => {
    expect(describeAlignment(identityAlignment([0, 1]))).toBe('unchanged');
    expect(describeAlignment({ ...identityAlignment([0, 1]), symmetry: 1, invert: true })).toBe(
      'turned a quarter, inverted',
    );
    expect(describeAlignment({ ...identityAlignment([0, 1]), params: [0, 0, 0, 0, 0, 0, 0, 0, 0.5, -0.5] })).toBe(
      'a thinner pen, softer (sharpened)',
    );
  });
});
