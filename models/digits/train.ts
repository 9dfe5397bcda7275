// Trains the digits demo model on tfjs-cpu in Node and writes models/digits/artifacts/ and
// fixtures/golden.json. Run with `npm run train:digits` (DIGITS_EPOCHS=n for a shorter run).
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-cpu';
import { AdamOptimizer, oneHot, setBackend } from '@tensorflow/tfjs-core';
import * as v from 'valibot';
import { Manifest } from '../../protocol/manifest.ts';
import { seededRandom } from '../../protocol/random.ts';
import { registerTrainingKernels } from '../../worker/train/kernels/index.ts';
import { ARTIFACTS_DIR, saveLayersModel, sha256File } from './artifacts.ts';
import { shiftDigits } from './augment.ts';
import { encodeDigitExamples, HOLDOUT_FILE, REPLAY_FILE } from './data.ts';
import { digitAccuracy, predictDigits } from './evaluate.ts';
import { DIGIT_FEATURES, DIGIT_INPUTS } from './features.ts';
import { goldenFixture } from './golden.ts';
import { loadMnistRecords, MNIST_DATASET } from './mnist-source.ts';
import { buildDigitsModel, NUM_CLASSES } from './model.ts';
import { digitsReference, REFERENCE_FILE } from './reference.ts';
import { DIGITS_SPLIT, splitDigits } from './split.ts';
import { digitTensors } from './tensors.ts';

const SEED = DIGITS_SPLIT.seed;
const EPOCHS = Number(process.env.DIGITS_EPOCHS ?? 12);
const BATCH_SIZE = 64;
/** Largest random shift, in pixels, applied to training images each epoch. */
const MAX_SHIFT = 2;
/** Adam's learning rate per epoch: decays so the last epochs settle. */
const learningRate = (epoch: number) => 0.002 * 0.8 ** epoch;

/** Adam whose learning rate can follow a schedule (tfjs keeps it protected). */
class ScheduledAdam extends AdamOptimizer {
  setLearningRate(rate: number): void {
    this.learningRate = rate;
  }
}

// tfjs draws initial weights, dropout masks and fit()'s shuffling from Math.random: seed it
// so that a run is repeatable.
Math.random = seededRandom(SEED + 1);

await setBackend('cpu');
registerTrainingKernels('cpu');

const all = loadMnistRecords();
const { train: trainSet, holdout, replay } = splitDigits(all, DIGITS_SPLIT);
console.log(`mnist: ${all.count} samples → train ${trainSet.count}, held out ${holdout.count}, replay ${replay.count}`);

const model = buildDigitsModel();
const optimizer = new ScheduledAdam(learningRate(0), 0.9, 0.999);
model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
console.log(`model: ${model.countParams()} parameters`);

const augmentRandom = seededRandom(SEED + 2);
const started = performance.now();
for (let epoch = 0; epoch < EPOCHS; ++epoch) {
  const epochStarted = performance.now();
  optimizer.setLearningRate(learningRate(epoch));
  const { images, labels } = digitTensors(shiftDigits(trainSet, augmentRandom, MAX_SHIFT));
  const targets = oneHot(labels, NUM_CLASSES);
  const { history } = await model.fit(images, targets, { epochs: 1, batchSize: BATCH_SIZE, shuffle: true, verbose: 0 });
  for (const t of [images, labels, targets]) t.dispose();
  const [loss = Number.NaN, accuracy = Number.NaN] = [history.loss?.[0], history.acc?.[0]] as number[];
  const seconds = (performance.now() - epochStarted) / 1000;
  console.log(
    `epoch ${epoch + 1}/${EPOCHS}: loss ${loss.toFixed(4)}, accuracy ${accuracy.toFixed(4)}, ${seconds.toFixed(1)} s`,
  );
}
const trainSeconds = (performance.now() - started) / 1000;

const heldOutAccuracy = digitAccuracy(predictDigits(model, holdout), holdout.labels);
const trainAccuracy = digitAccuracy(predictDigits(model, trainSet), trainSet.labels);
console.log(
  `trained in ${trainSeconds.toFixed(0)} s; held-out accuracy ${heldOutAccuracy.toFixed(4)}, train accuracy ${trainAccuracy.toFixed(4)}`,
);

mkdirSync(ARTIFACTS_DIR, { recursive: true });
await saveLayersModel(model, ARTIFACTS_DIR);
writeFileSync(join(ARTIFACTS_DIR, REPLAY_FILE), encodeDigitExamples(replay));
writeFileSync(join(ARTIFACTS_DIR, HOLDOUT_FILE), encodeDigitExamples(holdout));
writeFileSync(join(ARTIFACTS_DIR, REFERENCE_FILE), JSON.stringify(digitsReference(model, trainSet)));
const roles = {
  'model.json': 'model',
  'weights.bin': 'weights',
  [REPLAY_FILE]: 'replay',
  [HOLDOUT_FILE]: 'holdout',
  [REFERENCE_FILE]: 'reference',
};
const manifest = v.parse(Manifest, {
  v: 1,
  name: 'digits',
  format: 'tfjs-layers',
  description: `Handwritten digit classifier: a ${model.countParams()}-parameter CNN on 28×28 grey images.`,
  inputs: DIGIT_INPUTS,
  outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, NUM_CLASSES] }],
  labels: Array.from({ length: NUM_CLASSES }, (_, i) => String(i)),
  features: { features: DIGIT_FEATURES },
  reference: { path: REFERENCE_FILE },
  files: Object.entries(roles).map(([path, role]) => ({ path, role, sha256: sha256File(join(ARTIFACTS_DIR, path)) })),
  metrics: { heldOutAccuracy, trainAccuracy },
  training: {
    dataset: MNIST_DATASET,
    samples: all.count,
    split: { train: trainSet.count, holdout: holdout.count },
    seed: SEED,
    epochs: EPOCHS,
    backend: 'cpu',
  },
});
writeFileSync(join(ARTIFACTS_DIR, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

const goldenPath = fileURLToPath(new URL('./fixtures/golden.json', import.meta.url));
mkdirSync(dirname(goldenPath), { recursive: true });
writeFileSync(goldenPath, JSON.stringify(goldenFixture(model, holdout)));
// Leave the fixture as the repo's formatter lays it out, so `biome check` stays clean.
execFileSync(
  fileURLToPath(new URL('../../node_modules/.bin/biome', import.meta.url)),
  ['format', '--write', goldenPath],
  {
    stdio: 'ignore',
  },
);

const bytes = Object.keys(roles).reduce((sum, path) => sum + statSync(join(ARTIFACTS_DIR, path)).size, 0);
console.log(`wrote ${ARTIFACTS_DIR} (${(bytes / 1024).toFixed(0)} KiB) and fixtures/golden.json`);
