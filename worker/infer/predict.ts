import { EdgeloopError } from '../../protocol/errors.ts';
import type { PredictResult } from '../../protocol/worker-api.ts';
import { withStorage } from '../db.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { appendEvent } from '../sync/outbox.ts';
import { argmax, runModel } from './run-model.ts';
import { countShadow, runShadow } from './shadow.ts';

/**
 * Runs the loaded model on one input and records the prediction (input kept on the device,
 * outputs also queued as a `prediction` event) in one transaction. A loaded shadow runs on the
 * same input and its label and agreement are recorded too; the result is the same without it.
 *
 * @example
 * const result = await predict(runtime, loaded, pixels); // pixels: Float32Array(784) in [0, 1]
 */
export async function predict(runtime: Runtime, loaded: LoadedModel, input: Float32Array): Promise<PredictResult> {
  checkInput(input, loaded.inputSize);
  const backend = runtime.backends.active ?? loaded.backend.backend;
  const start = performance.now();
  const probabilities = await runModel(loaded, input);
  const latencyMs = performance.now() - start;

  const outputs = Array.from(probabilities);
  const label = argmax(outputs);
  // After the latency is taken and the label fixed: the shadow only observes.
  const shadow = await runShadow(runtime.shadow, input, label);
  const withShadow = shadow ? { shadow } : {};
  const predictionId = crypto.randomUUID();
  const ts = Date.now();
  const { db } = runtime;
  await withStorage('record prediction', () =>
    db.transaction('rw', db.predictions, db.outbox, db.meta, async () => {
      await db.predictions.add({
        id: predictionId,
        ts,
        model: loaded.name,
        version: loaded.version,
        input,
        outputs,
        label,
        backend,
        latencyMs,
        ...withShadow,
      });
      await appendEvent(db, {
        id: predictionId,
        predictionId,
        type: 'prediction',
        ts,
        model: loaded.name,
        version: loaded.version,
        outputs,
        backend,
        latencyMs,
        ...withShadow,
      });
    }),
  );
  countShadow(runtime.shadow, shadow);
  return { v: 1, predictionId, model: loaded.name, version: loaded.version, outputs, label, backend, latencyMs };
}

function checkInput(input: Float32Array, size: number): void {
  if (input.length !== size) {
    throw new EdgeloopError('INVALID_INPUT', `input: expected ${size} floats, got ${input.length}`);
  }
  for (let i = 0; i < input.length; i++) {
    const x = input[i] as number;
    // NaN fails both comparisons, so it is refused too.
    if (!(x >= 0 && x <= 1)) throw new EdgeloopError('INVALID_INPUT', `input[${i}]: ${x} is not in [0, 1]`);
  }
}
