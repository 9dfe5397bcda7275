import type * as tfl from '@tensorflow/tfjs-layers';
import { EdgeloopError } from '../../protocol/errors.ts';
import type { Runtime } from '../runtime.ts';

/**
 * What a model that is not a tfjs layers model (a tfjs graph, or an ONNX session) has in place
 * of one: `dispose` frees it; anything else (train's getWeights/fit, explain's gradients)
 * throws BACKEND_UNAVAILABLE saying `why`, so code written for layers models fails with a
 * clear, typed error instead of a TypeError.
 *
 * @example
 * const model = predictOnly("mobilenet v1 is a tfjs-graph model", () => graph.dispose());
 */
export function predictOnly(why: string, dispose: () => void): tfl.LayersModel {
  return new Proxy({} as tfl.LayersModel, {
    get(_target, key) {
      if (key === 'dispose') return dispose;
      // Symbols are what inspection reads (util.inspect, Promise resolution checks `then`).
      if (typeof key === 'symbol' || key === 'then') return undefined;
      throw new EdgeloopError(
        'BACKEND_UNAVAILABLE',
        `${why}, which only predicts here: this call needs a tfjs layers model (model.${key})`,
      );
    },
  });
}

/**
 * Refuses a call that needs a tfjs layers model (its weights, its gradients) when none serves:
 * BACKEND_UNAVAILABLE with init `runtime: 'onnx'`, UNSUPPORTED_MODEL for a graph or ONNX version,
 * to train an embedding model (its feedback has no label to learn from) or a regression model
 * of several outputs (feedback gives one true value), and to take part in a round for any model
 * that is not a classifier.
 *
 * @example
 * layersOnly(runtime, 'train');
 */
export function layersOnly(rt: Pick<Runtime, 'options' | 'loaded'>, call: 'train' | 'revert' | 'participate'): void {
  if (rt.options.runtime === 'onnx') {
    throw new EdgeloopError(
      'BACKEND_UNAVAILABLE',
      `${call} needs the tfjs model; this worker runs ONNX Runtime: init with runtime 'tfjs' to ${call}`,
    );
  }
  const manifest = rt.loaded?.info.manifest;
  if (!manifest) return;
  const what = `${rt.loaded?.name} v${rt.loaded?.version}`;
  if (manifest.format !== 'tfjs-layers') {
    throw new EdgeloopError(
      'UNSUPPORTED_MODEL',
      `${call} needs a tfjs layers model; ${what} is ${manifest.format}, which only predicts on the device`,
    );
  }
  const task = manifest.task ?? 'classification';
  const outputs = rt.loaded?.classes ?? 0;
  const refusal =
    call === 'participate' && task !== 'classification'
      ? // Federated updates and the round's gate are a classifier's (cross-entropy, accuracy).
        `participate trains classifiers on the device; ${what} is a ${task} model`
      : call === 'train' && task === 'embedding'
        ? `train learns from feedback labels; ${what} is an embedding model, whose feedback has none`
        : call === 'train' && task === 'regression' && outputs !== 1
          ? `train learns one true value per prediction; ${what} is a regression model of ${outputs} outputs`
          : null;
  if (refusal) throw new EdgeloopError('UNSUPPORTED_MODEL', refusal);
}
