import { seededRandom } from '../../protocol/random.ts';
import { type DigitRecords, selectDigitRecords, shuffleInPlace } from './data.ts';
import { NUM_CLASSES } from './model.ts';

/** The demo model's split: a fixed seed, 8,000 to train on, 50 of each digit replayed. */
export const DIGITS_SPLIT = { seed: 20251129, trainCount: 8000, replayPerClass: 50 } as const;

/** The train / held-out split of the digits data, and the replay buffer drawn from train. */
export interface DigitsSplit {
  train: DigitRecords;
  holdout: DigitRecords;
  replay: DigitRecords;
}

/**
 * Shuffles all records with `seed`, puts the first `trainCount` in train and the rest in
 * holdout, and takes a class-balanced replay buffer (`replayPerClass` of each digit, the
 * first ones in train order) from train only.
 *
 * @example
 * const { train, holdout, replay } = splitDigits(loadMnistRecords(), { seed: 20251129, trainCount: 8000, replayPerClass: 50 });
 */
export function splitDigits(
  all: DigitRecords,
  options: { seed: number; trainCount: number; replayPerClass: number },
): DigitsSplit {
  const order = shuffleInPlace(
    Array.from({ length: all.count }, (_, i) => i),
    seededRandom(options.seed),
  );
  const trainIndices = order.slice(0, options.trainCount);
  const taken = new Array<number>(NUM_CLASSES).fill(0);
  const replayIndices = trainIndices.filter((i) => {
    const label = all.labels[i] as number;
    if ((taken[label] as number) >= options.replayPerClass) return false;
    taken[label] = (taken[label] as number) + 1;
    return true;
  });
  return {
    train: selectDigitRecords(all, trainIndices),
    holdout: selectDigitRecords(all, order.slice(options.trainCount)),
    replay: selectDigitRecords(all, replayIndices),
  };
}
