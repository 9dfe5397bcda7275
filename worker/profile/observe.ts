import type { FeatureValues } from '../../protocol/events.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { extractFeatures } from '../../protocol/profile/features.ts';
import { buildProfile, type Profile } from '../../protocol/profile/index.ts';

/**
 * The profile of one prediction: the manifest's features (computed from the inputs, the first
 * one's values or all by name, where they have a `source`; the app's values for the rest) and
 * the model's outputs. Pure and computed
 * before the transaction, so the transaction itself only merges and writes.
 *
 * @example
 * const addition = predictionProfile(loaded.info.manifest, pixels, { device: 'pen' }, outputs);
 */
export function predictionProfile(
  manifest: Pick<Manifest, 'inputs' | 'features'>,
  input: Float32Array | Readonly<Record<string, Float32Array>>,
  features: FeatureValues | undefined,
  outputs: readonly number[],
): Profile {
  const row = { ...extractFeatures(manifest, input), ...features };
  return buildProfile([row], manifest.features, { outputs: [outputs] });
}
