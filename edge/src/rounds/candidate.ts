import { sha256Hex } from '../../../protocol/hash.ts';
import type { Manifest } from '../../../protocol/manifest.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { putBlobs } from '../storage/blobs.ts';
import { contentTypeFor } from '../storage/content-type.ts';
import { type FileRecord, insertVersion } from '../storage/registry.ts';
import type { RoundBase } from './base.ts';

/** The base's weights file with the aggregate delta added, value by value (float32 LE). */
export function candidateWeights(base: Uint8Array, delta: Float32Array): Uint8Array<ArrayBuffer> {
  const view = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const out = new Uint8Array(base.byteLength);
  const outView = new DataView(out.buffer);
  for (let i = 0; i < delta.length; i++) {
    outView.setFloat32(i * 4, view.getFloat32(i * 4, true) + (delta[i] as number), true);
  }
  return out;
}

export interface CandidateLineage {
  roundId: string;
  contributors: number;
  examples: number;
  epsilon: number | null;
  delta: number;
  /** Content hash of what the round trained on (the updates' digests, not the data). */
  data: string;
}

/**
 * Publishes the round's candidate: the base's manifest and files, its weights file replaced,
 * files that encode the base's weights otherwise (an ONNX export) left out, the gate's
 * held-out accuracy as its metric, and lineage naming the base and the round. Returns its number.
 *
 * @example
 * const version = await publishCandidate(env, base, info, weights, lineage, { holdout_accuracy: 0.95 });
 */
export async function publishCandidate(
  env: Env,
  base: RoundBase,
  info: VersionInfo,
  weights: Uint8Array<ArrayBuffer>,
  lineage: CandidateLineage,
  metrics: Record<string, number>,
): Promise<number> {
  const sha256 = await sha256Hex(weights);
  const kept = info.manifest.files.filter((f) => f.role !== 'onnx');
  const files: FileRecord[] = [];
  for (const entry of kept) {
    const stored = info.files.find((f) => f.path === entry.path);
    if (!stored) continue;
    const replaced = entry.path === base.weights.path;
    files.push({
      path: entry.path,
      sha256: replaced ? sha256 : stored.sha256,
      size: replaced ? weights.byteLength : stored.size,
      contentType: contentTypeFor(entry.path),
    });
  }
  const manifest: Manifest = {
    ...info.manifest,
    description: `${info.manifest.description ?? info.model} — federated round ${lineage.roundId} on v${info.version}`,
    files: kept.map((f) => ({ path: f.path, role: f.role })),
    metrics,
    lineage: {
      parentVersion: info.version,
      roundId: lineage.roundId,
      contributors: lineage.contributors,
      examples: lineage.examples,
      ...(lineage.epsilon === null ? {} : { epsilon: lineage.epsilon }),
      delta: lineage.delta,
      data: lineage.data,
    },
  };
  await putBlobs(env.ARTIFACTS, [{ sha256, bytes: weights }]);
  return insertVersion(env.DB, {
    model: info.model,
    manifest,
    files,
    keyId: `round:${lineage.roundId}`,
    now: Date.now(),
  });
}

/** The version round `roundId` published, or null. */
export async function roundVersion(db: D1Database, model: string, roundId: string): Promise<number | null> {
  const row = await db
    .prepare("SELECT version FROM versions WHERE model = ? AND json_extract(manifest, '$.lineage.roundId') = ?")
    .bind(model, roundId)
    .first<{ version: number }>();
  return row?.version ?? null;
}
