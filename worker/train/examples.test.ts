import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { encodeExamples } from '../../protocol/tensors/examples.ts';
import { EdgeloopDb, type PredictionRow } from '../db.ts';
import { EdgeClient } from '../edge-client.ts';
import type { LoadedModel } from '../runtime.ts';
import { FakeEdge } from '../test/fake-edge.ts';
import { ENDPOINT } from '../test/harness.ts';
import { CONFIRMATION_WEIGHT, lineageVersions, roleExamples, userExamples } from './examples.ts';

let databases = 0;

/** A database holding `rows` predictions (input: four floats from `input`) and labels in `labels` order. */
async function withLabels(
  rows: { id: string; version: number; input: number; predicted: number; model?: string }[],
  labels: { id: string; label: number }[],
) {
  const db = new EdgeloopDb(`examples-${++databases}`, { indexedDB: new IDBFactory(), IDBKeyRange });
  await db.predictions.bulkAdd(
    rows.map(
      (r): PredictionRow => ({
        id: r.id,
        ts: 0,
        model: r.model ?? 'digits',
        version: r.version,
        input: Float32Array.from([r.input, r.input, r.input, r.input]),
        outputs: [],
        label: r.predicted,
        backend: 'cpu',
        latencyMs: 0,
      }),
    ),
  );
  await db.feedback.bulkAdd(
    labels.map((l, seq) => ({ id: `f${seq}`, predictionId: l.id, label: l.label, ts: 0, seq: seq + 1 })),
  );
  return { db };
}

const loaded = { name: 'digits', inputSize: 4 };

describe('userExamples', () => {
  it('takes the latest label of each prediction of the lineage, most recent first, once per input', async () => {
    const runtime = await withLabels(
      [
        { id: 'a', version: 1, input: 0.1, predicted: 3 },
        { id: 'b', version: 2, input: 0.2, predicted: 5 },
        { id: 'c', version: 3, input: 0.3, predicted: 1 }, // another lineage
        { id: 'd', version: 2, input: 0.1, predicted: 4 }, // the same input as a
        { id: 'e', version: 2, input: 0.5, predicted: 2, model: 'other' },
      ],
      [
        { id: 'a', label: 7 },
        { id: 'b', label: 9 },
        { id: 'c', label: 1 },
        { id: 'e', label: 2 },
        { id: 'a', label: 8 }, // a correction of a correction: the latest wins, and is the most recent
        { id: 'd', label: 4 },
      ],
    );
    const examples = await userExamples(runtime, loaded, new Set([1, 2]));
    // d (seq 6) first; a (seq 5) has d's input, so it is left out; then b.
    expect(examples.ids).toEqual(['d', 'b']);
    expect(Array.from(examples.labels)).toEqual([4, 9]);
    // d confirms what the model said (4); b corrects it.
    expect(Array.from(examples.weights)).toEqual([CONFIRMATION_WEIGHT, 1]);
    expect(examples.inputs).toEqual(Float32Array.from([0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2]));
  });

  it('stops at the limit however long the history is', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ id: `p${i}`, version: 1, input: i / 40, predicted: 0 }));
    const runtime = await withLabels(
      rows,
      rows.map((r) => ({ id: r.id, label: 1 })),
    );
    const examples = await userExamples(runtime, loaded, null, 16);
    expect(examples.count).toBe(16);
    expect(examples.ids).toEqual(Array.from({ length: 16 }, (_, i) => `p${39 - i}`));
  });
});

describe('lineageVersions', () => {
  it('is the version, its registry parent, and a replayed base', () => {
    const model = (parentVersion?: number) =>
      ({
        version: 3,
        info: { manifest: { lineage: parentVersion === undefined ? undefined : { parentVersion } } },
      }) as unknown as LoadedModel;
    expect(lineageVersions(model())).toEqual(new Set([3]));
    expect(lineageVersions(model(2))).toEqual(new Set([3, 2]));
    expect(lineageVersions(model(2), 1)).toEqual(new Set([3, 2, 1]));
  });
});

describe('roleExamples', () => {
  it('reads a safetensors replay set and a legacy-records holdout set of a version alike', async () => {
    const inputs = Uint8Array.from({ length: 3 * 4 }, (_, i) => i * 20);
    const labels = Int32Array.of(2, 0, 1);
    const records = new Uint8Array(3 * 5);
    for (let i = 0; i < 3; i++) records.set([labels[i] as number, ...inputs.subarray(i * 4, i * 4 + 4)], i * 5);
    const edge = new FakeEdge();
    await edge.publish('small', 1, [
      {
        path: 'replay.safetensors',
        role: 'replay',
        bytes: encodeExamples({ shape: [4], inputs, scale: 1 / 255, labels }),
      },
      { path: 'holdout.bin', role: 'holdout', bytes: records },
    ]);
    const info = edge.versions.get('small/1');
    if (!info) throw new Error('not published');
    const runtime = {
      db: new EdgeloopDb(`examples-${++databases}`, { indexedDB: new IDBFactory(), IDBKeyRange }),
      edge: new EdgeClient(ENDPOINT, edge.key, edge.fetch),
    };
    const model = { info, name: 'small', version: 1, inputSize: 4, classes: 3 };
    const expected = { count: 3, size: 4, inputs: Float32Array.from(inputs, (b) => b / 255), labels };
    expect(await roleExamples(runtime, model, 'replay')).toEqual(expected);
    expect(await roleExamples(runtime, model, 'holdout')).toEqual(expected);
    await expect(roleExamples(runtime, { ...model, classes: 2 }, 'holdout')).rejects.toMatchObject({
      code: 'INVALID_MANIFEST',
      message: 'holdout.bin: example 0 has label 2, not a class in [0, 2)',
    });
    await expect(roleExamples(runtime, { ...model, inputSize: 5 }, 'replay')).rejects.toThrow(
      /replay.safetensors: tensor "inputs": examples of shape \[4\] are 4 values, not 5/,
    );
    await expect(roleExamples(runtime, model, 'reference')).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });
});
