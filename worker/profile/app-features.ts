import { EdgeloopError } from '../../protocol/errors.ts';
import type { FeatureValues } from '../../protocol/events.ts';
import type { Manifest } from '../../protocol/manifest.ts';

/**
 * Checks the app's features (already shaped by `PredictOptions`) against the manifest: each
 * name must be a manifest feature without a `source` (the worker computes the others), and a
 * numeric feature takes a number or null. Anything else is INVALID_INPUT, before anything runs.
 *
 * @example
 * checkAppFeatures(manifest, { device: 'pen', pressure: 0.4 });
 */
export function checkAppFeatures(manifest: Pick<Manifest, 'features'>, features: FeatureValues): void {
  const specs = new Map(manifest.features.features.map((f) => [f.name, f]));
  for (const [name, value] of Object.entries(features)) {
    const spec = specs.get(name);
    if (!spec) throw new EdgeloopError('INVALID_INPUT', `options.features.${name}: not a feature of this model`);
    if (spec.source) {
      throw new EdgeloopError('INVALID_INPUT', `options.features.${name}: computed by the worker, not supplied`);
    }
    if (spec.kind === 'numeric' && typeof value === 'string') {
      throw new EdgeloopError('INVALID_INPUT', `options.features.${name}: numeric, got a string`);
    }
  }
}
