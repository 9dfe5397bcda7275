import type { Manifest } from '../../protocol/manifest.ts';
import type { InitOptions } from '../../protocol/worker-api.ts';
import type { StoredProfile } from '../db.ts';
import { FakeEdge } from './fake-edge.ts';
import { publishTinyModel, startWorker } from './harness.ts';

/** Features like the digits manifest's (computed from the input) plus two the app supplies. */
export const PROFILED_FEATURES: Manifest['features'] = {
  features: [
    { name: 'ink', kind: 'numeric', source: { stat: 'ink' } },
    { name: 'mean_intensity', kind: 'numeric', source: { stat: 'mean' } },
    { name: 'centroid_x', kind: 'numeric', source: { stat: 'centroid_x' } },
    { name: 'centroid_y', kind: 'numeric', source: { stat: 'centroid_y' } },
    { name: 'device', kind: 'categorical' },
    { name: 'pressure', kind: 'numeric' },
  ],
};

/** A started worker with the tiny model, published with PROFILED_FEATURES, loaded. */
export async function profiledWorker(init: Partial<InitOptions> = {}, edge = new FakeEdge()) {
  await publishTinyModel(edge, 1, { features: PROFILED_FEATURES });
  const worker = await startWorker({ edge, init });
  await worker.api.load({ v: 1, model: 'digits' });
  const profiles = async (): Promise<StoredProfile[]> => {
    const db = worker.db();
    try {
      const rows = await db.profiles.toArray();
      return rows.sort((a, b) => a.window - b.window || a.updatedAt - b.updatedAt);
    } finally {
      db.close();
    }
  };
  return { ...worker, profiles };
}
