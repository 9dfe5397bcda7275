import { EdgeloopError } from '../errors.ts';
import { mergeCategorical } from './categorical.ts';
import { mergeNumeric } from './numeric.ts';
import { mergeFeedback, mergeOutputs } from './outputs.ts';
import { type FeatureProfile, MAX_PROFILE_FEATURES, type Profile } from './schema.ts';

function mergeFeature(name: string, a: FeatureProfile, b: FeatureProfile): FeatureProfile {
  if (a.kind === 'numeric' && b.kind === 'numeric') return mergeNumeric(a, b);
  if (a.kind === 'categorical' && b.kind === 'categorical') return mergeCategorical(a, b);
  throw new EdgeloopError('PROFILE_MISMATCH', `feature ${name} is ${a.kind} in one profile and ${b.kind} in the other`);
}

/**
 * Merges two profiles (pure; associative and commutative up to sketch error, and merge(a, b)
 * equals merge(b, a) exactly). Features are united; a feature of different kinds, or outputs or
 * feedback with different class counts, throw PROFILE_MISMATCH.
 *
 * @example
 * const all = mergeProfiles(morning, afternoon); // all.count === morning.count + afternoon.count
 */
export function mergeProfiles(a: Profile, b: Profile): Profile {
  const names = [...new Set([...Object.keys(a.features), ...Object.keys(b.features)])].sort();
  if (names.length > MAX_PROFILE_FEATURES) {
    throw new EdgeloopError('PROFILE_MISMATCH', `the merged profile would have over ${MAX_PROFILE_FEATURES} features`);
  }
  const features: [string, FeatureProfile][] = names.map((name) => {
    const x = a.features[name];
    const y = b.features[name];
    return [name, x && y ? mergeFeature(name, x, y) : ((x ?? y) as FeatureProfile)];
  });
  const merged: Profile = { v: 1, count: a.count + b.count, features: Object.fromEntries(features) };
  const outputs = a.outputs && b.outputs ? mergeOutputs(a.outputs, b.outputs) : (a.outputs ?? b.outputs);
  if (outputs) merged.outputs = outputs;
  const feedback = a.feedback && b.feedback ? mergeFeedback(a.feedback, b.feedback) : (a.feedback ?? b.feedback);
  if (feedback) merged.feedback = feedback;
  if (outputs?.kind === 'classes' && feedback && outputs.counts.length !== feedback.classes) {
    throw new EdgeloopError(
      'PROFILE_MISMATCH',
      `outputs have ${outputs.counts.length} classes, feedback ${feedback.classes}`,
    );
  }
  return merged;
}
