import type { Tensor } from '../../../protocol/oip-tensor.ts';
import { buildProfile, extractFeatures, type ProfileRow, WINDOW_MS } from '../../../protocol/profile/index.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import { driftStub } from '../drift/stub.ts';

/**
 * The contributor edge inference is counted as in a version's drift windows: one per client
 * named by `Edgeloop-Client-Id`, else one for all anonymous API callers, so the per-client
 * row cap (EDGELOOP_DRIFT_CLIENT_CAP) bounds the API as it bounds each device.
 *
 * @example
 * edgeContributor('c_42'); // 'edge:c_42'
 */
export function edgeContributor(clientId: string | undefined): string {
  return `edge:${clientId ?? 'api'}`;
}

/** Splits a batch `[N, ...]` into its N examples, row-major. */
function rows(tensor: Tensor): Float32Array[] {
  const n = tensor.shape[0] ?? 0;
  const size = n > 0 ? tensor.data.length / n : 0;
  return Array.from({ length: n }, (_, i) => Float32Array.from(tensor.data.subarray(i * size, (i + 1) * size)));
}

/** How long answered rows wait in the isolate before they go to the DriftAggregator as one profile. */
export const DRIFT_FLUSH_MS = 1000;
/** Most rows one pending profile takes; a full one is set aside and the next rows start another. */
const MAX_PENDING_ROWS = 1000;

interface Pending {
  env: Env;
  info: VersionInfo;
  contributor: string;
  window: number;
  rows: ProfileRow[];
  outputs: number[][];
  sent: Promise<void> | null;
}

/** Rows answered in this isolate and not yet sent, by version, contributor and window. */
const pending = new Map<string, Pending>();

async function send(batch: Pending): Promise<void> {
  const { env, info, contributor, window } = batch;
  const profile = buildProfile(batch.rows, info.manifest.features, { outputs: batch.outputs });
  const [outcome] = await driftStub(env, info.model, info.version).ingest(
    { model: info.model, version: info.version },
    contributor,
    [{ id: `p_${crypto.randomUUID()}`, window, profile }],
  );
  if (outcome?.status === 'rejected') throw new Error(`drift profile refused: ${outcome.code} ${outcome.message}`);
}

/** Sends `batch` once, `delay` ms after its first row; failures are logged once, here. */
function schedule(key: string, batch: Pending, delay: number): Promise<void> {
  batch.sent ??= new Promise<void>((resolve) => setTimeout(resolve, delay))
    .then(() => {
      if (pending.get(key) === batch) pending.delete(key);
      return send(batch);
    })
    .catch((error: unknown) => console.error('drift profile of edge inference failed', key, error));
  return batch.sent;
}

/**
 * Adds what the edge just answered to the version's drift profiles, as a device's worker does
 * for its predictions: the manifest's features computed from each example of the first input
 * (features the app supplies are missing) and the first output's vector per example. Rows are
 * gathered per isolate for DRIFT_FLUSH_MS and merged into the hour's window by the version's
 * DriftAggregator as one profile, so its single thread merges once per second, not once per
 * request. The promise settles when the rows are sent: hand it to `waitUntil`.
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
  let batch = pending.get(key);
  if (!batch) {
    batch = { env, info, contributor, window, rows: [], outputs: [], sent: null };
    pending.set(key, batch);
  }
  for (const example of rows(input)) batch.rows.push(extractFeatures(info.manifest, example));
  for (const example of rows(output)) batch.outputs.push(Array.from(example));
  if (batch.rows.length >= MAX_PENDING_ROWS) pending.delete(key);
  return schedule(key, batch, DRIFT_FLUSH_MS);
}
