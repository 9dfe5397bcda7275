import * as v from 'valibot';
import { EdgeloopError } from '../../../protocol/errors.ts';
import type { Manifest } from '../../../protocol/manifest.ts';
import { CALIBRATION_BINS, type KllSketch, kllLevels, Profile } from '../../../protocol/profile/index.ts';
import { parseStrictJson } from '../../../protocol/strict-json.ts';
import { describeIssues } from '../http/issues.ts';

/** Classes of a classifier manifest (last dimension of its first output), or null when unknown. */
function manifestClasses(manifest: Manifest): number | null {
  const last = manifest.outputs[0]?.shape.at(-1);
  return last !== undefined && last >= 2 ? last : null;
}

/**
 * Why a profile does not fit a version's manifest, or null when it does: its features must
 * be manifest features of the same kind, and its class counts (outputs, feedback) must have
 * as many classes as the model's output.
 *
 * @example
 * const why = profileMismatch(profile, manifest); // 'feature "ink" is categorical, the manifest says numeric'
 */
export function profileMismatch(profile: Profile, manifest: Manifest): string | null {
  const kinds = new Map(manifest.features.features.map((f) => [f.name, f.kind]));
  for (const [name, feature] of Object.entries(profile.features)) {
    const kind = kinds.get(name);
    if (!kind) return `feature "${name}" is not in the manifest of ${manifest.name}`;
    if (kind !== feature.kind) return `feature "${name}" is ${feature.kind}, the manifest says ${kind}`;
  }
  const classes = manifestClasses(manifest);
  if (classes === null) return null;
  if (profile.outputs?.kind === 'classes' && profile.outputs.counts.length !== classes) {
    return `outputs have ${profile.outputs.counts.length} classes, the model has ${classes}`;
  }
  if (profile.feedback && profile.feedback.classes !== classes) {
    return `feedback has ${profile.feedback.classes} classes, the model has ${classes}`;
  }
  return null;
}

/**
 * Why bytes published as a version's reference cannot serve as one, or null: they must be a
 * valid profile that fits the manifest and covers every feature it declares, since drift
 * reports judge each manifest feature against the reference.
 *
 * @example
 * const why = referenceProblem(bytes, manifest); // 'feature "ink" is missing from the reference'
 */
export function referenceProblem(bytes: Uint8Array, manifest: Manifest): string | null {
  let json: unknown;
  try {
    json = parseStrictJson(bytes);
  } catch {
    return 'is not valid JSON';
  }
  const parsed = v.safeParse(Profile, json);
  if (!parsed.success) return `is not a profile: ${describeIssues(parsed.issues)}`;
  const profile = parsed.output;
  const why = profileDefect(profile) ?? profileMismatch(profile, manifest);
  if (why) return why;
  const missing = manifest.features.features.find((f) => !profile.features[f.name]);
  return missing ? `feature "${missing.name}" is missing from the reference` : null;
}

/**
 * Why a schema-valid profile still cannot be merged, or null: sketch levels that are not
 * base64 float32, feedback arrays of the wrong length. Found here, a bad profile is refused
 * by index instead of poisoning its window's aggregate.
 *
 * @example
 * profileDefect({ ...profile, feedback: { classes: 3, confusion: [1], calibration } }); // 'feedback.confusion …'
 */
export function profileDefect(profile: Profile): string | null {
  const sketches: [string, KllSketch][] = Object.entries(profile.features).flatMap(([name, f]) =>
    f.kind === 'numeric' ? [[`features.${name}`, f.sketch] as [string, KllSketch]] : [],
  );
  if (profile.outputs?.kind === 'scores') sketches.push(['outputs.scores', profile.outputs.scores.sketch]);
  for (const [where, sketch] of sketches) {
    try {
      kllLevels(sketch);
    } catch (error) {
      if (!(error instanceof EdgeloopError)) throw error;
      return `${where}.sketch: ${error.message}`;
    }
  }
  const feedback = profile.feedback;
  if (!feedback) return null;
  if (feedback.confusion.length !== feedback.classes ** 2) {
    return `feedback.confusion must have classes² = ${feedback.classes ** 2} cells, has ${feedback.confusion.length}`;
  }
  const { count, correct, confidence } = feedback.calibration;
  if ([count, correct, confidence].some((bins) => bins.length !== CALIBRATION_BINS)) {
    return `feedback.calibration arrays must have ${CALIBRATION_BINS} bins`;
  }
  return null;
}
