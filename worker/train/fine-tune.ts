import type * as v from 'valibot';
import { seededRandom } from '../../protocol/random.ts';
import type { TrainOptions, TrainProgress, TrainResult } from '../../protocol/train.ts';
import type { LoadedModel, Runtime } from '../runtime.ts';
import { type Alignment, describeAlignment } from './align.ts';
import { searchAlignment } from './align-search.ts';
import { augmentImages, isImageShape } from './augment.ts';
import { type Candidate, candidateWeights, disposeCandidate, fitCandidate, gateReads, mixtureOf } from './candidate.ts';
import { type Examples, labelsLike, pick, rowsOf, type TrainTask, trainTask, type UserExamples } from './examples.ts';
import { type Features, featuresOf, type LearningCache, outputsOf } from './features.ts';
import { yieldToEvents } from './fit.ts';
import { trainingBackend } from './gradient-check.ts';
import { decide, judge, planJudging, seedOf, standardCheck } from './guard.ts';
import { cloneHead, disposeWeights } from './head.ts';
import { applyPersonal, headSplit } from './personal.ts';
import { decideRegression, guessNote, judgeRegression, regressionStandardCheck } from './regression-guard.ts';

/** Augmented copies per example (originals included, 2 to 8) stay near this many rows in all. */
const AUGMENTED_ROWS = 256;
/**
 * Gradient steps per epoch at least, for a regression head and for a fit without augmented
 * copies (inputs that are not one image): a shift of the user's values, or a class the registry
 * is sure of, is learnt by the head's weights moving far, which one Adam step per epoch of 60
 * examples never does (worker/train/README.md). Augmented image fits keep their measured steps.
 */
const MIN_STEPS = 20;

export interface FineTuneInputs {
  examples: UserExamples;
  cache: LearningCache;
  options: v.InferOutput<typeof TrainOptions>;
  signal: AbortSignal;
  onProgress: (progress: TrainProgress) => void;
}

/**
 * The method (measured in worker/train/README.md): a copy of the registry model's head is
 * fine-tuned on features of the user's examples (augmented when they are images) with replay
 * distilled from the registry weights, and a gate learns to tell the user's inputs from the
 * model's usual ones; the served model mixes the personal head and the registry head per input
 * by the gate, so inputs unlike the user's keep the registry answers.
 *
 * The guard: the candidate is judged on labels it did not train on (a held-out slice, or
 * cross-validation when there are few) against what is served now, and on the standard
 * held-out set against the registry version's own weights (guard.ts decides). Applied, it is
 * stored and serves; otherwise nothing changes and the result's `reasons` say why.
 */
export async function fineTune(
  runtime: Runtime,
  loaded: LoadedModel,
  inputs: FineTuneInputs,
  start: number,
): Promise<TrainResult> {
  const { examples, cache, options, signal } = inputs;
  await yieldToEvents(signal);
  const n = examples.count;
  const plan = planJudging(n, examples.ids.join(','));
  // Seeded by the labelled predictions' ids (as the split is): the same ones give the same candidate.
  const random = seededRandom(seedOf(`fit:${examples.ids.join(',')}`));
  const user = await augmentedFeatures(loaded, examples, options.augment, random);
  // What the user is served now (personal fine-tune included), for each example.
  const current = await outputsOf(loaded.model, loaded.inputShape, examples.inputs, examples.count);
  const training = await trainingBackend(runtime, cache, user.features);
  const serving = runtime.backends.active ?? 'cpu';
  if (training.backend !== serving)
    await runtime.backends.activate(training.backend, runtime.env, runtime.backendConfig);
  const { final, judgement, standard, trainedOn } = await judgeCandidates(
    loaded,
    inputs,
    plan,
    user,
    current,
    random,
  ).finally(async () => {
    if (training.backend !== serving) await runtime.backends.activate(serving, runtime.env, runtime.backendConfig);
  });
  const reasons =
    judgement.task === 'regression' && standard.task === 'regression'
      ? decideRegression(judgement, standard, loaded.version)
      : judgement.task === 'classification' && standard.task === 'classification'
        ? decide(judgement, standard, loaded.classes, loaded.version)
        : [];
  let weights: Awaited<ReturnType<typeof candidateWeights>> | null = null;
  try {
    if (reasons.length === 0) weights = await candidateWeights(final);
  } finally {
    disposeCandidate(final);
  }
  await yieldToEvents(signal);
  const judged = judgement.judged;
  const [feedbackBefore, feedbackAfter] =
    judgement.task === 'regression'
      ? [judgement.currentRmse, judgement.candidateRmse]
      : [judgement.currentCorrect, judgement.candidateCorrect].map((right) => (judged === 0 ? 0 : right / judged));
  const task = judgement.task;
  if (weights) {
    const state = {
      task,
      baseVersion: loaded.version,
      createdAt: Date.now(),
      examples: n,
      strength: final.strength,
      feedbackAccuracy: feedbackAfter as number,
      holdoutAccuracy: standard.candidate,
      ...(final.alignment ? { alignment: final.alignment } : {}),
    };
    await applyPersonal(runtime, loaded, { ...weights, trainedOn }, state, { persist: true });
  }
  const labelled = task === 'regression' ? 'values' : 'labels';
  const notes = [
    `personal fine-tune of ${loaded.name} v${loaded.version} (a copy of its head with a gate), not a registry version`,
    ...(training.note ? [training.note] : []),
    ...(final.alignment ? [`its head reads your inputs aligned (${describeAlignment(final.alignment)})`] : []),
    ...(cache.replay.count === 0
      ? [
          `${loaded.name} v${loaded.version} ships no replay examples: the head learnt from your ${labelled} alone and answers all your inputs`,
        ]
      : []),
    ...(cache.holdout.count === 0
      ? [
          `it ships no holdout examples: the ${task === 'regression' ? 'error' : 'accuracy'} on inputs unlike yours was not checked`,
        ]
      : []),
    plan.method === 'holdout'
      ? `judged on ${judged} of your ${n} ${labelled} held out of training`
      : `judged by ${plan.folds}-fold cross-validation on your ${n} ${labelled}`,
    ...(judgement.task === 'regression' ? [guessNote(judgement)].filter((note) => note !== null) : []),
    weights ? 'applied and stored on this device' : `not applied: ${reasons.join('; ')}`,
  ];
  return {
    v: 1,
    backend: training.backend,
    examples: n,
    judgedExamples: judged,
    replayExamples: cache.replay.count,
    epochs: options.epochs,
    durationMs: performance.now() - start,
    task,
    holdoutBefore: standard.registry,
    holdoutAfter: standard.candidate,
    feedbackBefore: feedbackBefore as number,
    feedbackAfter: feedbackAfter as number,
    judgement,
    standard,
    version: loaded.version,
    localFineTune: true,
    applied: weights !== null,
    reasons,
    note: notes.join('; '),
  };
}

/**
 * The user's examples with their augmented copies (row i·copies + c is copy c of example i): the
 * inputs themselves, for an alignment, and the registry's features of them.
 */
export async function augmentedFeatures(
  loaded: LoadedModel,
  examples: UserExamples,
  augment: boolean,
  random: () => number,
) {
  const n = examples.count;
  const copies =
    augment && loaded.signature.inputs.length === 1 && isImageShape(loaded.inputShape)
      ? Math.max(2, Math.min(8, Math.floor(AUGMENTED_ROWS / n)))
      : 1;
  const labels = labelsLike(examples.labels, n * copies);
  const weights = new Float32Array(n * copies);
  for (let i = 0; i < n * copies; i++) {
    labels[i] = examples.labels[Math.floor(i / copies)] as number;
    weights[i] = examples.weights[Math.floor(i / copies)] as number;
  }
  const inputs: Examples = {
    count: n * copies,
    size: examples.size,
    inputs: copies > 1 ? augmentImages(examples.inputs, n, loaded.inputShape, copies, random) : examples.inputs,
    labels,
  };
  const features = await featuresOf(headSplit(loaded), loaded.inputShape, inputs);
  return { inputs, features, weights, copies };
}

type UserRows = Awaited<ReturnType<typeof augmentedFeatures>>;

/**
 * Fits the candidates the plan calls for and judges them: each fold's fit (its alignment
 * searched on the fold's own labels) answers for the examples it did not see; the final
 * candidate is the held-out fit, or under cross-validation a fit on every example. On the
 * active (training) backend.
 */
async function judgeCandidates(
  loaded: LoadedModel,
  inputs: FineTuneInputs,
  plan: ReturnType<typeof planJudging>,
  user: UserRows,
  current: Float32Array,
  random: () => number,
) {
  const { cache, options, signal, onProgress, examples } = inputs;
  const { split, replay, holdout } = cache;
  const shape = split.featureShape;
  const classes = loaded.classes;
  const task: TrainTask = trainTask(loaded.info.manifest) ?? 'classification';
  const n = examples.count;
  const registryHead = cloneHead(split.layers, shape, cache.registryWeights);
  let final: Candidate | null = null;
  try {
    cache.registry ??= {
      replay: await outputsOf(registryHead, shape, replay.inputs, replay.count),
      holdout: await outputsOf(registryHead, shape, holdout.inputs, holdout.count),
    };
    const registry = cache.registry;
    const originals = pick(
      user.features,
      Array.from({ length: n }, (_, i) => i * user.copies),
    );
    const userRegistry = await outputsOf(registryHead, shape, originals.inputs, n);
    // What each part of a candidate reads for `raw` inputs (registry features and probabilities given).
    const readBy = async (candidate: Candidate, raw: Examples, features: Features, probabilities: Float32Array) => {
      if (!candidate.alignment) return { head: features, gate: features };
      const aligned = await featuresOf(split, loaded.inputShape, raw, candidate.alignment);
      const gate = await gateReads(registryHead, shape, features, probabilities, aligned);
      return { head: aligned, gate: { ...aligned, size: gate.length / Math.max(1, aligned.count), inputs: gate } };
    };
    const foldAlignments: (Alignment | null)[] = [];
    const fitOn = async (indexes: number[], fold?: { index: number; of: number }) => {
      const alignment = cache.alignment
        ? await searchAlignment(
            cache.alignment,
            pick(examples, indexes),
            Float32Array.from(indexes, (i) => examples.weights[i] as number),
            signal,
            fold ? [] : foldAlignments,
          )
        : null;
      if (fold) foldAlignments.push(alignment);
      const rows = indexes.flatMap((i) => Array.from({ length: user.copies }, (_, c) => i * user.copies + c));
      const features = pick(user.features, rows);
      const head = alignment
        ? await featuresOf(split, loaded.inputShape, pick(user.inputs, rows), alignment)
        : features;
      const gate = alignment
        ? await gateReads(
            registryHead,
            shape,
            features,
            await outputsOf(registryHead, shape, features.inputs, features.count),
            head,
          )
        : features.inputs;
      const weights = Float32Array.from(rows, (row) => user.weights[row] as number);
      return fitCandidate(cache, { ...head, weights, gateInputs: gate }, registry.replay, {
        labels: indexes.length,
        epochs: options.epochs,
        learningRate: options.learningRate,
        replayRatio: options.replayRatio,
        classes,
        task,
        ...(task === 'regression' || user.copies === 1 ? { minSteps: MIN_STEPS } : {}),
        signal,
        random,
        alignment,
        registryHead,
        onEpoch: (epoch, loss) => onProgress({ v: 1, epoch, epochs: options.epochs, loss, ...(fold ? { fold } : {}) }),
      });
    };
    const judgedIndexes = plan.fold.flatMap((f, i) => (f >= 0 ? [i] : []));
    const candidateProbabilities = new Float32Array(n * classes);
    // What guessing answers each example: the mean of the values its fit learnt from (regression).
    const guesses = new Float32Array(n);
    for (let f = 0; f < plan.folds; f++) {
      const trainedIndexes = plan.fold.flatMap((g, i) => (g !== f ? [i] : []));
      const candidate = await fitOn(
        trainedIndexes,
        plan.method === 'cross-validation' ? { index: f + 1, of: plan.folds } : undefined,
      );
      const judged = plan.fold.flatMap((g, i) => (g === f ? [i] : []));
      const guess = trainedIndexes.reduce((sum, i) => sum + (examples.labels[i] as number), 0) / trainedIndexes.length;
      for (const i of judged) guesses[i] = guess;
      const probabilities = await mixtureOf(
        candidate,
        shape,
        await readBy(candidate, pick(examples, judged), pick(originals, judged), rowsOf(userRegistry, judged, classes)),
        rowsOf(userRegistry, judged, classes),
      );
      for (const [k, i] of judged.entries()) {
        candidateProbabilities.set(probabilities.subarray(k * classes, (k + 1) * classes), i * classes);
      }
      if (plan.method === 'holdout') final = candidate;
      else disposeCandidate(candidate);
    }
    final ??= await fitOn(Array.from({ length: n }, (_, i) => i));
    // The fine-tune serving now cannot be judged on labels it learnt from: there the registry
    // weights stand in for it, so a new candidate is never held to an in-sample score.
    const learnt = loaded.personal?.trainedOn;
    for (const [i, id] of examples.ids.entries()) {
      if (learnt?.has(id)) current.set(userRegistry.subarray(i * classes, (i + 1) * classes), i * classes);
    }
    const labels = judgedIndexes.map((i) => examples.labels[i] as number);
    const [currentJudged, candidateJudged] = [current, candidateProbabilities].map((a) =>
      rowsOf(a, judgedIndexes, classes),
    ) as [Float32Array, Float32Array];
    const judgement =
      task === 'regression'
        ? judgeRegression(
            plan.method,
            plan.folds,
            labels,
            currentJudged,
            candidateJudged,
            rowsOf(guesses, judgedIndexes, 1),
          )
        : judge(plan.method, plan.folds, labels, currentJudged, candidateJudged, classes);
    const finalHoldout = await mixtureOf(
      final,
      shape,
      await readBy(final, cache.holdoutInputs, holdout, registry.holdout),
      registry.holdout,
    );
    const standard =
      task === 'regression'
        ? regressionStandardCheck(holdout.labels, registry.holdout, finalHoldout)
        : standardCheck(holdout.labels, registry.holdout, finalHoldout, classes);
    const trainedOn = plan.method === 'holdout' ? examples.ids.filter((_, i) => plan.fold[i] !== 0) : examples.ids;
    return { final, judgement, standard, trainedOn };
  } catch (error) {
    if (final) disposeCandidate(final);
    throw error;
  } finally {
    disposeWeights(registryHead);
  }
}
