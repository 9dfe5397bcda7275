import { EdgeloopError } from '../../protocol/errors.ts';
import type { FeatureValues } from '../../protocol/events.ts';
import type { BackendName, PredictResult } from '../../protocol/worker-api.ts';
import { checkAppFeatures } from '../profile/app-features.ts';
import { predictionProfile } from '../profile/observe.ts';
import { addToOpenProfile, hourOf } from '../profile/record.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { withRoom } from '../storage/room.ts';
import { appendEvent } from '../sync/outbox.ts';
import { argmax, runModel, servingBackend } from './run-model.ts';
import { countShadow, runShadow } from './shadow.ts';

/**
 * Runs the loaded model on one input and records the prediction (input and app features kept on
 * the device, outputs also queued as a `prediction` event, and both added to the hour's open
 * drift profile) in one transaction. A loaded shadow runs on the same input and its label and
 * agreement are recorded too; the result is the same without it. The app's features go into
 * the event only with `shareFeatures`. When storage is full, retention makes room once (storage/room.ts).
 *
 * @example
 * const result = await predict(runtime, loaded, pixels); // pixels: Float32Array(784) in [0, 1]
 * await predict(runtime, loaded, pixels, { device: 'pen' }); // a manifest feature without a source
 */
export async function predict(
  runtime: Runtime,
  loaded: LoadedModel,
  input: Float32Array,
  features?: FeatureValues,
): Promise<PredictResult> {
  checkInput(input, loaded.inputSize);
  const { manifest } = loaded.info;
  if (features) checkAppFeatures(manifest, features);
  const backend = servingBackend(runtime.backends, loaded);
  const start = performance.now();
  const probabilities = await runModel(loaded, input);
  const latencyMs = performance.now() - start;

  const outputs = Array.from(probabilities);
  const label = argmax(outputs);
  // After the latency is taken and the label fixed: the shadow only observes.
  const shadow = await runShadow(runtime.shadow, input, label);
  const withShadow = shadow ? { shadow } : {};
  const withFeatures = features ? { features } : {};
  const shared = runtime.options.shareFeatures ? withFeatures : {};
  const addition = predictionProfile(manifest, input, features, outputs);
  const predictionId = crypto.randomUUID();
  const ts = Date.now();
  const { db } = runtime;
  const window = { model: loaded.name, version: loaded.version, window: hourOf(ts) };
  await withRoom(runtime, 'record prediction', () =>
    db.transaction('rw', db.predictions, db.outbox, db.meta, db.profiles, async () => {
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
        ...withFeatures,
      });
      await addToOpenProfile(db, runtime.profiles, window, addition, ts);
      await appendEvent(db, {
        id: predictionId,
        predictionId,
        type: 'prediction',
        ts,
        model: loaded.name,
        version: loaded.version,
        outputs,
        backend: deviceOf(backend),
        latencyMs,
        ...withShadow,
        ...shared,
      });
    }),
  );
  countShadow(runtime.shadow, shadow);
  return { v: 1, predictionId, model: loaded.name, version: loaded.version, outputs, label, backend, latencyMs };
}

/** The event schema (protocol/events.ts) names devices only: an ONNX prediction says which its EP ran on. */
function deviceOf(backend: BackendName): 'webgpu' | 'wasm' | 'cpu' {
  if (backend === 'onnx-webgpu') return 'webgpu';
  return backend === 'onnx-wasm' ? 'wasm' : backend;
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
