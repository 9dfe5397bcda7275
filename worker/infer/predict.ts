import { argmax } from '../../protocol/argmax.ts';
import type { FeatureValues } from '../../protocol/events.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { asFloat32, type Tensor } from '../../protocol/oip-tensor.ts';
import type { ModelInput, PredictResult } from '../../protocol/predict.ts';
import type { BackendName } from '../../protocol/worker-api.ts';
import { checkAppFeatures } from '../profile/app-features.ts';
import { predictionProfile } from '../profile/observe.ts';
import { addToOpenProfile, hourOf } from '../profile/record.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { withRoom } from '../storage/room.ts';
import { appendEvent } from '../sync/outbox.ts';
import { feedsOf } from './feeds.ts';
import { runFeeds, servingBackend } from './run-model.ts';
import { countShadow, runShadow } from './shadow.ts';

/**
 * Runs the loaded model on one input and records the prediction (input and app features kept on
 * the device, outputs also queued as a `prediction` event, and both added to the hour's open
 * drift profile) in one transaction. The input is checked against the manifest (feeds.ts):
 * one typed array for a model of one input, or every input by name. What is recorded and
 * profiled is the first input's values and the first output's; the result has every output by
 * name, the first output's top index (a classifier's class) and, for a classifier whose
 * manifest has `labels`, its name. A loaded shadow runs on the same input and its label and agreement are recorded
 * too; the result is the same without it. The app's features go into the event only with
 * `shareFeatures`. When storage is full, retention makes room once (storage/room.ts).
 *
 * @example
 * const result = await predict(runtime, loaded, pixels); // pixels: Float32Array(784) in [0, 1]
 * await predict(runtime, loaded, pixels, { device: 'pen' }); // a manifest feature without a source
 * await predict(runtime, loaded, { x: Float32Array.of(0.5, 1), ids: Int32Array.of(3) }); // two inputs
 */
export async function predict(
  runtime: Runtime,
  loaded: LoadedModel,
  input: ModelInput,
  features?: FeatureValues,
): Promise<PredictResult> {
  const { manifest } = loaded.info;
  const feeds = feedsOf(loaded.signature, input);
  if (features) checkAppFeatures(manifest, features);
  const backend = servingBackend(runtime.backends, loaded);
  const start = performance.now();
  const answers = await runFeeds(loaded, feeds);
  const latencyMs = performance.now() - start;

  const first = asFloat32((feeds[0] as Tensor).data);
  const outputs = Array.from(asFloat32(answers[0]?.data ?? new Float32Array()));
  const top = argmax(outputs);
  const classifier = (manifest.task ?? 'classification') === 'classification';
  // After the latency is taken and the label fixed: the shadow only observes.
  const shadow = await runShadow(runtime.shadow, feeds, top);
  const withShadow = shadow ? { shadow } : {};
  const withFeatures = features ? { features } : {};
  const shared = runtime.options.shareFeatures ? withFeatures : {};
  // Features may read any input: each by its manifest name, as the edge computes them.
  const byName = Object.fromEntries(
    manifest.inputs.map((spec, i) => [spec.name, asFloat32((feeds[i] as Tensor).data)]),
  );
  const addition = predictionProfile(manifest, byName, features, outputs);
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
        input: first,
        ...(feeds.length > 1
          ? { inputs: Object.fromEntries(feeds.map((f, i) => [manifest.inputs[i]?.name, f.data])) }
          : {}),
        outputs,
        label: top,
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
  const labelName = classifier ? manifest.labels?.[top] : undefined;
  return {
    v: 1,
    predictionId,
    model: loaded.name,
    version: loaded.version,
    outputs,
    tensors: namedOutputs(manifest, answers),
    label: top,
    ...(labelName === undefined ? {} : { labelName }),
    backend,
    latencyMs,
  };
}

/** Every output by its manifest name, as plain numbers (a batch of one: the batch axis dropped). */
function namedOutputs(manifest: Pick<Manifest, 'outputs'>, answers: Tensor[]): PredictResult['tensors'] {
  return Object.fromEntries(
    manifest.outputs.map((spec, i) => {
      const answer = answers[i];
      const shape = answer ? answer.shape.slice(1) : [];
      return [
        spec.name,
        { dtype: spec.dtype, shape, data: answer ? Array.from(answer.data as ArrayLike<number | bigint>, Number) : [] },
      ];
    }),
  );
}

/** The event schema (protocol/events.ts) names devices only: an ONNX prediction says which its EP ran on. */
function deviceOf(backend: BackendName): 'webgpu' | 'wasm' | 'cpu' {
  if (backend === 'onnx-webgpu') return 'webgpu';
  return backend === 'onnx-wasm' ? 'wasm' : backend;
}
