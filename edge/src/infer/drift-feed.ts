import { asFloat32, type Tensor } from '../../../protocol/oip-tensor.ts';
import { buildProfile, extractFeatures, type ProfileRow, WINDOW_MS } from '../../../protocol/profile/index.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { SHARED_CONTRIBUTOR } from '../drift/standing.ts';
import { driftStub } from '../drift/stub.ts';

/**
 * The contributor edge inference is counted as in a version's drift windows: `edge:<clientId>`
 * only for a client its Edgeloop-Client-Token proves (`clientId`, from auth/client-token.ts
 * `tokenClient`); every other caller (no token, a bad one; `Edgeloop-Client-Id` is anyone's to
 * choose) is the one shared contributor `edge:api`, so the per-client row cap
 * (EDGELOOP_DRIFT_CLIENT_CAP) bounds them all together. The aggregator never judges
 * `edge:api`'s rows, nor those of a client on probation (drift/standing.ts).
 *
 * @example
 * edgeContributor(await tokenClient(c)); // 'edge:c_42', or 'edge:api'
 */
export function edgeContributor(clientId: string | null): string {
  return clientId ? `edge:${clientId}` : SHARED_CONTRIBUTOR;
}

/** Splits a batch `[N, ...]` into its N examples, row-major. */
function rows(tensor: Tensor): Float32Array[] {
  const n = tensor.shape[0] ?? 0;
  const size = n > 0 ? tensor.data.length / n : 0;
  const data = asFloat32(tensor.data);
  return Array.from({ length: n }, (_, i) => data.slice(i * size, (i + 1) * size));
}

/** How long answered rows wait in the isolate before they go to the DriftAggregator as one profile. */
export const DRIFT_FLUSH_MS = 1000;
/** Most rows one pending profile takes; a full one is set aside (its owner still sends it) and the next rows start another. */
export const MAX_PENDING_ROWS = 1000;

/** Rows gathered for one version, contributor and window: plain data only, never a promise or I/O object. */
interface Pending {
  info: VersionInfo;
  contributor: string;
  window: number;
  rows: ProfileRow[];
  outputs: number[][];
}

/** Rows answered in this isolate and not yet sent, by version, contributor and window. */
const pending = new Map<string, Pending>();

async function send(env: Env, batch: Pending): Promise<void> {
  const { info, contributor, window } = batch;
  const profile = buildProfile(batch.rows, info.manifest.features, { outputs: batch.outputs });
  const [outcome] = await driftStub(env, info.model, info.version).ingest(
    { model: info.model, version: info.version },
    contributor,
    [{ id: `p_${crypto.randomUUID()}`, window, profile }],
  );
  if (outcome?.status === 'rejected') throw new Error(`drift profile refused: ${outcome.code} ${outcome.message}`);
}

/** The work of the request that opened `batch`: wait, stop taking rows, send them all. */
async function flush(env: Env, key: string, batch: Pending): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, DRIFT_FLUSH_MS));
  if (pending.get(key) === batch) pending.delete(key);
  await send(env, batch);
}

/**
 * Adds what the edge just answered to the version's drift profiles, as a device's worker does
 * for its predictions: the manifest's features computed from each example's inputs (features
 * the app supplies are missing) and the first output's vector per example. Rows are
 * gathered per isolate for DRIFT_FLUSH_MS and merged into the hour's window by the version's
 * DriftAggregator as one profile, so its single thread merges once per second, not once per
 * request. The request that opens a batch owns its timer and its send: its promise settles when
 * the batch is sent. A later request only appends its rows and gets a settled promise, since
 * workerd cannot let one request wait on another's I/O ("Promise will never complete"). Hand
 * the promise to `waitUntil`.
 *
 * @example
 * c.executionCtx.waitUntil(feedDrift(c.env, info, inputs, outputs, 'edge:api'));
 */
export function feedDrift(
  env: Env,
  info: VersionInfo,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  contributor: string,
  now = Date.now(),
): Promise<void> {
  const [input] = inputs;
  const [output] = outputs;
  if (!input || !output) return Promise.resolve();
  const window = now - (now % WINDOW_MS);
  const key = `${info.model}@${info.version}|${contributor}|${window}`;
  const open = pending.get(key);
  const batch = open ?? { info, contributor, window, rows: [], outputs: [] };
  // Each example's inputs by name: a feature may read any of them (its source's `input`).
  const names = info.manifest.inputs.map((spec) => spec.name);
  const perInput = inputs.map(rows);
  for (let e = 0; e < (perInput[0]?.length ?? 0); e++) {
    const example: Record<string, Float32Array> = {};
    for (const [i, name] of names.entries()) {
      const values = perInput[i]?.[e];
      if (values) example[name] = values;
    }
    batch.rows.push(extractFeatures(info.manifest, example));
  }
  for (const example of rows(output)) batch.outputs.push(Array.from(example));
  const full = batch.rows.length >= MAX_PENDING_ROWS;
  if (open) {
    if (full) pending.delete(key);
    return Promise.resolve();
  }
  if (!full) pending.set(key, batch);
  return flush(env, key, batch);
}
