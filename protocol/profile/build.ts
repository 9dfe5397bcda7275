import { EdgeloopError } from '../errors.ts';
import { categoricalProfile } from './categorical.ts';
import { numericProfile } from './numeric.ts';
import { type FeedbackItem, feedbackProfile, outputProfile } from './outputs.ts';
import {
  DEFAULT_TOP_N,
  type FeatureProfile,
  KLL_DEFAULT_K,
  MAX_PROFILE_FEATURES,
  type Profile,
  type ProfileRow,
  type ProfileSchema,
} from './schema.ts';

export interface ProfileOptions {
  /** KLL sketch size (8 to 1024), KLL_DEFAULT_K by default. */
  readonly k?: number;
  /** Categories kept per categorical feature (1 to 1000), DEFAULT_TOP_N by default. */
  readonly topN?: number;
  /** The model's output vector per prediction (probabilities, or one score). */
  readonly outputs?: readonly (readonly number[])[];
  /** Labelled predictions. */
  readonly feedback?: readonly FeedbackItem[];
  /** Classes for feedback; by default the outputs' vector length. */
  readonly classes?: number;
}

// valibot's record drops these keys when parsing, so a feature named so could not be stored.
const RESERVED = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Summarises rows (plus outputs and feedback) into a mergeable Profile. Every schema feature
 * appears, even with no rows. Throws INVALID_PROFILE for a string in a numeric feature, a bad
 * option, duplicate or reserved feature names, or feedback whose class count is unknown.
 *
 * @example
 * const p = buildProfile([{ x: 1, c: 'a' }, { x: null, c: 'b' }], {
 *   features: [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical' }],
 * });
 * p.features.x // { kind: 'numeric', count: 2, missing: 1, mean: 1, … }
 */
export function buildProfile(
  rows: readonly ProfileRow[],
  schema: ProfileSchema,
  options: ProfileOptions = {},
): Profile {
  const k = options.k ?? KLL_DEFAULT_K;
  const topN = options.topN ?? DEFAULT_TOP_N;
  if (!Number.isInteger(topN) || topN < 1 || topN > 1000) {
    throw new EdgeloopError('INVALID_PROFILE', `topN must be an integer from 1 to 1000, got ${topN}`);
  }
  if (schema.features.length > MAX_PROFILE_FEATURES) {
    throw new EdgeloopError('INVALID_PROFILE', `a profile holds at most ${MAX_PROFILE_FEATURES} features`);
  }
  const features: [string, FeatureProfile][] = [];
  const seen = new Set<string>();
  for (const { name, kind } of schema.features) {
    if (seen.has(name) || RESERVED.has(name) || name.length < 1 || name.length > 128) {
      throw new EdgeloopError('INVALID_PROFILE', `feature name ${JSON.stringify(name)} is duplicate or not allowed`);
    }
    seen.add(name);
    const column = rows.map((row) => (Object.hasOwn(row, name) ? row[name] : undefined));
    features.push([name, kind === 'numeric' ? numericProfile(column, k, name) : categoricalProfile(column, topN)]);
  }
  features.sort((x, y) => (x[0] < y[0] ? -1 : 1));
  const profile: Profile = { v: 1, count: rows.length, features: Object.fromEntries(features) };
  if (options.outputs && options.outputs.length > 0) profile.outputs = outputProfile(options.outputs, k);
  if (options.feedback && options.feedback.length > 0) {
    const outputs = profile.outputs;
    const classes = options.classes ?? (outputs?.kind === 'classes' ? outputs.counts.length : undefined);
    if (classes === undefined) {
      throw new EdgeloopError('INVALID_PROFILE', 'feedback needs options.classes (or class outputs to infer it)');
    }
    profile.feedback = feedbackProfile(options.feedback, classes);
  }
  return profile;
}
