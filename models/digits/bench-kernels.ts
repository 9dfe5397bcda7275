// Times training of the digits CNN on real digits with tfjs-cpu's own kernels, with Edgeloop's
// (worker/train/kernels), and on tfjs-wasm with Edgeloop's, per kernel and per batch of 64.
// Run: npx tsx models/digits/bench-kernels.ts [batches=10]  (results in models/digits/README.md)
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  env,
  getKernel,
  getKernelsForBackend,
  type KernelConfig,
  oneHot,
  registerKernel,
  setBackend,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { seededRandom } from '../../protocol/random.ts';
import { registerTrainingKernels, trainingKernelNames } from '../../worker/train/kernels/index.ts';
import { selectDigitRecords } from './data.ts';
import { loadMnistRecords } from './mnist-source.ts';
import { buildDigitsModel, NUM_CLASSES } from './model.ts';
import { splitDigits } from './split.ts';
import { digitTensors } from './tensors.ts';

const BATCH = 64;
const batches = Number(process.argv[2] ?? 10);
const EPOCH_BATCHES = 8000 / BATCH;

const { train } = splitDigits(loadMnistRecords(), { seed: 20251129, trainCount: 8000, replayPerClass: 50 });
const subset = selectDigitRecords(train, [...Array(batches * BATCH).keys()]);
const cpuKernels = new Map(getKernelsForBackend('cpu').map((k) => [k.kernelName, k]));

/** Re-registers `configs` so each call adds its time to `times`. */
function timeKernels(configs: KernelConfig[], times: Map<string, number>): void {
  for (const config of configs) {
    const { kernelFunc, kernelName } = config;
    unregisterKernel(kernelName, config.backendName);
    registerKernel({
      ...config,
      kernelFunc: (args) => {
        const start = performance.now();
        const out = kernelFunc(args);
        times.set(kernelName, (times.get(kernelName) ?? 0) + performance.now() - start);
        return out;
      },
    });
  }
}

/** Fits one pass over the subset; returns ms per batch overall and per kernel (cpu only). */
async function run(mode: 'cpu reference' | 'cpu edgeloop' | 'wasm edgeloop') {
  const times = new Map<string, number>();
  if (mode === 'wasm edgeloop') {
    env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    await setBackend('wasm');
    registerTrainingKernels('wasm');
    timeKernels(
      trainingKernelNames('wasm').map((name) => getKernel(name, 'wasm')),
      times,
    );
  } else {
    await setBackend('cpu');
    for (const config of cpuKernels.values()) {
      unregisterKernel(config.kernelName, 'cpu');
      registerKernel(config);
    }
    if (mode === 'cpu edgeloop') registerTrainingKernels('cpu');
    timeKernels(getKernelsForBackend('cpu'), times);
  }
  Math.random = seededRandom(1);
  const model = buildDigitsModel();
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const { images, labels } = digitTensors(subset);
  const targets = oneHot(labels, NUM_CLASSES);
  const start = performance.now();
  await model.fit(images, targets, { batchSize: BATCH, epochs: 1, verbose: 0 });
  const total = performance.now() - start;
  for (const t of [images, labels, targets]) t.dispose();
  model.dispose();
  return { perBatch: total / batches, kernels: new Map([...times].map(([k, ms]) => [k, ms / batches])) };
}

const reference = await run('cpu reference');
const edgeloop = await run('cpu edgeloop');
const wasm = await run('wasm edgeloop');
console.log(`digits CNN, ${batches} batches of ${BATCH} real digits; ms per batch (× ${EPOCH_BATCHES} = one epoch)`);
const row = (name: string, a: number, b: number) =>
  `${name.padEnd(22)} ${a.toFixed(1).padStart(9)} ${b.toFixed(1).padStart(9)} ${(a / b).toFixed(1).padStart(7)}×`;
console.log(`${'kernel'.padEnd(22)} ${'reference'.padStart(9)} ${'edgeloop'.padStart(9)} ${'speed-up'.padStart(8)}`);
// The kernels Edgeloop replaces that fit() runs (FusedConv2D only runs in predict).
for (const name of trainingKernelNames('cpu')) {
  const ms = reference.kernels.get(name);
  if (ms !== undefined) console.log(row(name, ms, edgeloop.kernels.get(name) ?? Number.NaN));
}
console.log(row('whole batch (cpu)', reference.perBatch, edgeloop.perBatch));
for (const [name, ms] of wasm.kernels) {
  console.log(`wasm ${name} (edgeloop): ${ms.toFixed(1)} of ${wasm.perBatch.toFixed(1)} ms per batch`);
}
const epoch = (ms: number) => `${((ms * EPOCH_BATCHES) / 1000).toFixed(0)} s`;
console.log(
  `epoch estimate: cpu reference ${epoch(reference.perBatch)}, cpu edgeloop ${epoch(edgeloop.perBatch)}, wasm edgeloop ${epoch(wasm.perBatch)}`,
);
