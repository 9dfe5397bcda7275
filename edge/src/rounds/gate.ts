import type { LayersModel } from '@tensorflow/tfjs-layers';
import { EdgeloopError } from '../../../protocol/errors.ts';
import type { Manifest } from '../../../protocol/manifest.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { GATE_MIN_EXAMPLES, type GateDecision, type GateMetric, type Policy } from '../../../protocol/rounds.ts';
import { decodeExamples } from '../../../protocol/tensors/examples.ts';
import { runTfjs } from '../infer/tfjs.ts';
import { readVerifiedBlob } from '../storage/verify.ts';

/** Held-out examples decoded from a version's `holdout` file: inputs as the model takes them and class labels. */
export interface HeldOut {
  inputs: Float32Array;
  labels: Int32Array;
  count: number;
  shape: number[];
}

/** The gate's thresholds when the alias has no policy: at most 1 point below the baseline. */
export const DEFAULT_GATE: Policy['gate'] = { maxDrop: 0.01 };

/**
 * The version's `holdout` file as the shared examples container reads it (protocol/tensors/
 * examples.ts: safetensors, or legacy records of a label byte and one byte per input value),
 * each label a class of the first output, or the reason it cannot be read so.
 *
 * @example
 * const heldOut = await readHeldOut(env.ARTIFACTS, info); // { count: 2000, … } or 'no holdout file'
 */
export async function readHeldOut(bucket: R2Bucket, info: VersionInfo): Promise<HeldOut | string> {
  const path = info.manifest.files.find((f) => f.role === 'holdout')?.path;
  const file = info.files.find((f) => f.path === path);
  if (!path || !file) return `${info.model} v${info.version} has no holdout file`;
  const [input] = info.manifest.inputs;
  const shape = (input?.shape ?? []).slice(1);
  const size = shape.reduce((n, d) => n * d, 1);
  if (info.manifest.inputs.length !== 1 || shape.some((d) => d < 1))
    return 'the holdout needs one input of fixed shape';
  const width = info.manifest.outputs[0]?.shape.at(-1) ?? -1;
  const classes = width > 0 ? width : (info.manifest.labels?.length ?? 0);
  if (classes < 1) return 'the holdout needs an output of a known number of classes';
  const bytes = await readVerifiedBlob(bucket, file.sha256, `${info.model} v${info.version} "${path}"`);
  try {
    const { inputs, labels, count } = decodeExamples(bytes, { task: 'classification', size, classes }, path);
    return { inputs, labels, count, shape };
  } catch (error) {
    if (error instanceof EdgeloopError && error.code === 'INVALID_MANIFEST') return error.message;
    throw error;
  }
}

/** Share of held-out examples whose top output is their label. */
export async function accuracyOn(
  model: LayersModel,
  manifest: Pick<Manifest, 'inputs' | 'outputs'>,
  heldOut: HeldOut,
  label: string,
): Promise<number> {
  const [out] = await runTfjs(
    { format: 'tfjs-layers', model },
    manifest,
    [{ shape: [heldOut.count, ...heldOut.shape], data: heldOut.inputs }],
    label,
    250,
    'gate',
  );
  if (!out) return 0;
  const classes = out.data.length / heldOut.count;
  let right = 0;
  for (let i = 0; i < heldOut.count; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++)
      if ((out.data[i * classes + k] as number) > (out.data[i * classes + best] as number)) best = k;
    if (best === heldOut.labels[i]) right++;
  }
  return right / heldOut.count;
}

const points = (x: number) => `${(x * 100).toFixed(2)}%`;

/**
 * The gate (in the spirit of TFX's Evaluator): the candidate's held-out accuracy against a
 * value threshold (`minAccuracy`) and change thresholds against the baseline (`maxDrop` below
 * it at most, `minGain` above it at least); with no baseline, value thresholds only. A set of
 * fewer than `minExamples` examples is reported (`skip: …`), not judged. Every threshold
 * checked gives a reason, passed or not.
 *
 * @example
 * decideGate([{ set: 'holdout', examples: 2000, baseline: 0.95, candidate: 0.948 }], { maxDrop: 0.01 }, []);
 */
export function decideGate(
  metrics: readonly GateMetric[],
  gate: Policy['gate'],
  problems: readonly string[],
): GateDecision {
  const reasons: string[] = [];
  let blessed = true;
  const check = (ok: boolean, text: string) => {
    reasons.push(`${ok ? 'pass' : 'fail'}: ${text}`);
    if (!ok) blessed = false;
  };
  for (const problem of problems) check(false, problem);
  const fewest = gate.minExamples ?? GATE_MIN_EXAMPLES;
  let judged = 0;
  for (const m of metrics) {
    const what = `${m.set} accuracy ${points(m.candidate)} on ${m.examples}`;
    if (m.examples < fewest) {
      reasons.push(`skip: ${what}: fewer than ${fewest} examples, too few to judge`);
      continue;
    }
    judged++;
    if (gate.minAccuracy !== undefined) check(m.candidate >= gate.minAccuracy, `${what} ≥ ${points(gate.minAccuracy)}`);
    if (m.baseline === null) continue;
    const change = m.candidate - m.baseline;
    const drop = gate.maxDrop ?? 0.01;
    check(
      change >= -drop,
      `${what} vs baseline ${points(m.baseline)} (${change >= 0 ? '+' : ''}${(change * 100).toFixed(2)} points; at most ${(drop * 100).toFixed(2)} below)`,
    );
    if (gate.minGain !== undefined)
      check(change >= gate.minGain, `gain ${(change * 100).toFixed(2)} points ≥ ${(gate.minGain * 100).toFixed(2)}`);
  }
  if (judged === 0 && problems.length === 0) check(false, 'nothing to evaluate the candidate on');
  return { blessed, reasons, metrics: [...metrics], at: Date.now() };
}
