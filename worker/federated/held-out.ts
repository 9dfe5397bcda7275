import { seededRandom } from '../../protocol/random.ts';
import { type EdgeloopDb, type PredictionRow, withStorage } from '../db.ts';
import type { LoadedModel } from '../runtime.ts';
import { type Examples, rowsOf, type UserExamples } from '../train/examples.ts';
import { seedOf } from '../train/guard.ts';

/** From this many labelled examples on, a share of them is held out of a round's local fit. */
export const HOLD_OUT_FROM = 10;
/** The share held out (rounded down, at least MIN_HELD_OUT): the round's candidate is judged on them. */
export const HOLD_OUT_SHARE = 0.2;
const MIN_HELD_OUT = 2;

/**
 * Splits the user's examples for a round: `heldOut` (prediction ids) stays out of the fit so the
 * device can judge the round's candidate on labels it never trained on; `train` keeps the rest
 * in their order. None are held out below HOLD_OUT_FROM examples. The draw is seeded by the
 * round and the examples' ids, so a retry holds out the same ones.
 *
 * @example
 * const { train, heldOut } = holdOut(examples, round.id); // 50 examples: 40 to train, 10 held out
 */
export function holdOut(examples: UserExamples, roundId: string): { train: UserExamples; heldOut: string[] } {
  const n = examples.count;
  if (n < HOLD_OUT_FROM) return { train: examples, heldOut: [] };
  const held = Math.max(MIN_HELD_OUT, Math.floor(n * HOLD_OUT_SHARE));
  const random = seededRandom(seedOf(`holdout:${roundId}:${examples.ids.join(',')}`));
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const out = new Set(order.slice(0, held));
  const kept = order.filter((i) => !out.has(i)).sort((a, b) => a - b);
  return {
    train: {
      count: kept.length,
      size: examples.size,
      inputs: rowsOf(examples.inputs, kept, examples.size),
      labels: Int32Array.from(kept, (i) => examples.labels[i] as number),
      weights: Float32Array.from(kept, (i) => examples.weights[i] as number),
      ids: kept.map((i) => examples.ids[i] as string),
    },
    heldOut: [...out].sort((a, b) => a - b).map((i) => examples.ids[i] as string),
  };
}

/**
 * The held-out predictions with their latest label (corrections win), in the order of `ids`;
 * those gone since (retention) or of another model or input size are left out.
 *
 * @example
 * const judged = await heldOutExamples(db, loaded, row.heldOut ?? []);
 */
export async function heldOutExamples(
  db: EdgeloopDb,
  model: Pick<LoadedModel, 'name' | 'inputSize'>,
  ids: readonly string[],
): Promise<Examples> {
  const [predictions, feedback] = await withStorage('read held-out labels', () =>
    Promise.all([
      db.predictions.bulkGet([...ids]),
      db.feedback
        .where('predictionId')
        .anyOf([...ids])
        .toArray(),
    ]),
  );
  const latest = new Map<string, { label: number; seq: number }>();
  for (const row of feedback) {
    const seen = latest.get(row.predictionId);
    // A regression value is no class label: classifiers learn from labels only.
    if (row.label === undefined) continue;
    if (!seen || row.seq > seen.seq) latest.set(row.predictionId, { label: row.label, seq: row.seq });
  }
  const usable = predictions.filter(
    (p): p is PredictionRow =>
      p !== undefined && p.model === model.name && p.input.length === model.inputSize && latest.has(p.id),
  );
  const size = model.inputSize;
  const inputs = new Float32Array(usable.length * size);
  const labels = new Int32Array(usable.length);
  usable.forEach((p, i) => {
    inputs.set(p.input, i * size);
    labels[i] = latest.get(p.id)?.label ?? 0;
  });
  return { count: usable.length, size, inputs, labels };
}
