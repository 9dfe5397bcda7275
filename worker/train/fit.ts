import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { EdgeloopError } from '../../protocol/errors.ts';
import { onBackend } from '../backends/errors.ts';

/** What a head fits on: features computed once (see features.ts), targets and weights. */
export interface FitData {
  /** The user's examples (augmented copies included): features [n, …featureShape]. */
  user: tf.Tensor;
  /** Targets [n, outputs] (one-hot labels, or true values) and per-example weights [n] (confirmations count less). */
  userTargets: tf.Tensor2D;
  userWeights: tf.Tensor1D;
  /** The model's replay examples: features and the registry weights' own outputs (distillation). */
  replay: tf.Tensor;
  replayTargets: tf.Tensor2D;
}

export interface FitSettings {
  /** A classifier's head fits cross-entropy; a regression head the squared error. */
  loss: 'cross-entropy' | 'squared-error';
  /** Gradient steps per epoch at least (default: one pass over the user's examples). */
  minSteps?: number;
  epochs: number;
  learningRate: number;
  replayRatio: number;
  signal: AbortSignal;
  random: () => number;
  onEpoch: (epoch: number, loss: number) => void;
}

/** User examples per step; each step also takes `replayRatio` times as many replay examples. */
const USER_BATCH = 128;

/**
 * Fits `head` in place: per step a batch of user examples (weighted loss against their targets)
 * and a batch of replay examples distilled from the registry weights (the same loss against
 * their outputs), so the head learns the user without forgetting what it knew. Checks `signal`
 * and yields to the event loop after every epoch (progress and cancellation get through).
 *
 * @example
 * await fitHead(head, data, { loss: 'cross-entropy', epochs: 12, learningRate: 3e-3, replayRatio: 1, signal, random, onEpoch });
 */
export async function fitHead(head: tfl.LayersModel, data: FitData, settings: FitSettings): Promise<void> {
  const userCount = data.user.shape[0] ?? 0;
  const replayCount = data.replay.shape[0] ?? 0;
  const userBatch = Math.min(USER_BATCH, userCount);
  const replayBatch = replayCount === 0 ? 0 : Math.round(userBatch * settings.replayRatio);
  const steps = Math.max(settings.minSteps ?? 1, Math.ceil(userCount / userBatch));
  const lossOf = settings.loss === 'squared-error' ? squaredError : crossEntropy;
  const variables = head.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.adam(settings.learningRate);
  const draw = (n: number, size: number) =>
    tf.tensor1d(
      Int32Array.from({ length: size }, () => Math.floor(settings.random() * n)),
      'int32',
    );
  try {
    for (let epoch = 1; epoch <= settings.epochs; epoch++) {
      let total = 0;
      for (let step = 0; step < steps; step++) {
        const loss = await onBackend('train', () =>
          tf.tidy(() => {
            const u = draw(userCount, userBatch);
            const r = replayBatch > 0 ? draw(replayCount, replayBatch) : null;
            // One forward pass over both batches (the head runs in inference mode, so rows do not interact).
            const x = r ? tf.concat([tf.gather(data.user, u), tf.gather(data.replay, r)]) : tf.gather(data.user, u);
            const { value, grads } = tf.variableGrads(() => {
              const outputs = head.apply(x, { training: false }) as tf.Tensor;
              const userLoss = lossOf(
                tf.slice(outputs, 0, userBatch),
                tf.gather(data.userTargets, u),
                tf.gather(data.userWeights, u),
              );
              if (!r) return userLoss;
              const replayLoss = lossOf(tf.slice(outputs, userBatch), tf.gather(data.replayTargets, r), null);
              return tf.add(userLoss, tf.mul(replayLoss, settings.replayRatio)) as tf.Scalar;
            }, variables);
            optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
            return value;
          }),
        );
        total += (await loss.data())[0] as number;
        loss.dispose();
      }
      settings.onEpoch(epoch, total / steps);
      await yieldToEvents(settings.signal);
    }
  } finally {
    optimizer.dispose();
  }
}

/**
 * Mean (weighted) cross-entropy of a head's probabilities against `targets`. Dropout stays
 * off: augmentation and distillation regularise the fit, and tfjs-wasm draws dropout masks in
 * JavaScript, a fifth of the fit's time (measured in worker/train/README.md).
 */
function crossEntropy(probabilities: tf.Tensor, targets: tf.Tensor, weights: tf.Tensor | null): tf.Scalar {
  const perExample = tf.neg(tf.sum(tf.mul(targets, tf.log(tf.clipByValue(probabilities, 1e-7, 1))), -1));
  if (!weights) return tf.mean(perExample);
  return tf.div(tf.sum(tf.mul(perExample, weights)), tf.sum(weights));
}

/** Mean (weighted) squared error of a regression head's outputs against `targets`, summed over outputs. */
function squaredError(outputs: tf.Tensor, targets: tf.Tensor, weights: tf.Tensor | null): tf.Scalar {
  const perExample = tf.sum(tf.square(tf.sub(outputs, targets)), -1);
  if (!weights) return tf.mean(perExample);
  return tf.div(tf.sum(tf.mul(perExample, weights)), tf.sum(weights));
}

/** Gradient steps of the gate's logistic regression; features are few and the problem convex. */
const GATE_STEPS = 80;
/** The gate's L2 penalty (see {@link fitGate}). */
const GATE_L2 = 1e-3;

/**
 * Fits the gate: probability 1 for the user's examples, 0 for replay (the model's usual inputs),
 * each side weighing half whatever their counts (10 labels against 500 replay examples must not
 * teach it to say 0 everywhere), with some L2 so it stays smooth between them (1e-3: with 1e-4
 * it let more standard inputs through to an aligned head; worker/train/README.md).
 */
export async function fitGate(
  gate: tfl.LayersModel,
  user: tf.Tensor,
  replay: tf.Tensor,
  signal: AbortSignal,
): Promise<void> {
  // The gate is one dense layer: its kernel and bias are fitted with plain ops and the
  // gradient written out (a layer's apply, or autograd's copy of x each step, costs more than
  // the logistic regression itself; and x·r as rᵀ·x multiplies on tfjs-wasm's fast path).
  const [kernel, bias] = gate.trainableWeights.map((w) => w.read() as tf.Variable) as [tf.Variable, tf.Variable];
  const optimizer = tf.train.adam(0.1);
  const users = user.shape[0] ?? 0;
  const replays = replay.shape[0] ?? 0;
  const [x, y, weights] = tf.tidy(() => [
    tf.concat([tf.reshape(user, [users, -1]), tf.reshape(replay, [replays, -1])]),
    tf.concat([tf.ones([users, 1]), tf.zeros([replays, 1])]),
    tf.concat([tf.fill([users, 1], 0.5 / Math.max(1, users)), tf.fill([replays, 1], 0.5 / Math.max(1, replays))]),
  ]);
  const rows = users + replays;
  try {
    for (let step = 0; step < GATE_STEPS; step++) {
      await onBackend('train gate', () =>
        tf.tidy(() => {
          // Loss: Σ weight·(softplus(z) − y·z) + L2·(|kernel|² + bias²), z = x·kernel + bias;
          // its gradient in z is weight·(σ(z) − y).
          const z = tf.add(tf.matMul(x, kernel), bias);
          const residual = tf.reshape(tf.mul(tf.sub(tf.sigmoid(z), y), weights), [1, rows]);
          optimizer.applyGradients([
            {
              name: kernel.name,
              tensor: tf.add(tf.reshape(tf.matMul(residual, x), kernel.shape), tf.mul(2 * GATE_L2, kernel)),
            },
            { name: bias.name, tensor: tf.add(tf.reshape(tf.sum(residual), bias.shape), tf.mul(2 * GATE_L2, bias)) },
          ]);
        }),
      );
      if (step % 40 === 39) await yieldToEvents(signal);
    }
  } finally {
    optimizer.dispose();
    tf.dispose([x, y, weights]);
  }
}

/**
 * Lets queued messages (progress, a cancel) through, then stops if the training was cancelled.
 * A message to itself, not a timer: browsers hold nested timers to 4 ms each, and a fit
 * yields dozens of times.
 */
export async function yieldToEvents(signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
  if (signal.aborted) throw new EdgeloopError('CANCELLED', 'training cancelled; the served weights are unchanged');
}
