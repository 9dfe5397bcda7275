import * as v from 'valibot';
import type { Manifest } from '../../../protocol/manifest.ts';
import { Profile } from '../../../protocol/profile/index.ts';
import { getFile, getVersion } from './registry.ts';
import { readVerifiedBlob } from './verify.ts';

/** What drift is judged with for one version: its manifest and reference profile, if any. */
export interface DriftContext {
  manifest: Manifest;
  reference: Profile | null;
}

/**
 * Loads a version's manifest and, when it names one, its reference profile (D1 → R2), or
 * null when the version does not exist. A stored reference that is missing, altered (its
 * sha256 differs: 500 DIGEST_MISMATCH) or not a valid Profile is a server fault (publish should
 * have refused it), so that throws.
 *
 * @example
 * const ctx = await loadDriftContext(env, 'digits', 3);
 * if (ctx?.reference) driftReport(ctx.reference, current);
 */
export async function loadDriftContext(
  env: { DB: D1Database; ARTIFACTS: R2Bucket },
  model: string,
  version: number,
): Promise<DriftContext | null> {
  const info = await getVersion(env.DB, model, version);
  if (!info) return null;
  const path = info.manifest.reference?.path;
  if (!path) return { manifest: info.manifest, reference: null };
  const file = await getFile(env.DB, model, version, path);
  if (!file) throw new Error(`reference ${path} of ${model} v${version} is not in the registry`);
  // Checked against its sha256 like every file: altered bytes would change every verdict.
  const bytes = await readVerifiedBlob(env.ARTIFACTS, file.sha256, `${model} v${version} reference "${path}"`);
  const parsed = v.safeParse(Profile, JSON.parse(new TextDecoder().decode(bytes)));
  if (!parsed.success) throw new Error(`reference ${path} of ${model} v${version} is not a valid profile`);
  return { manifest: info.manifest, reference: parsed.output };
}
