import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { EdgeloopDb } from '../db.ts';
import { appendEvent } from '../sync/outbox.ts';
import { pixels } from '../test/harness.ts';
import { PROFILED_FEATURES } from '../test/profiled.ts';
import { predictionProfile } from './observe.ts';
import { addToOpenProfile, hourOf, profileCache } from './record.ts';

const RUNS = 300;
const manifest = {
  inputs: [{ name: 'image', dtype: 'float32' as const, shape: [-1, 28, 28, 1] }],
  features: PROFILED_FEATURES,
};
const outputs = Array.from({ length: 10 }, (_, i) => (i === 3 ? 0.91 : 0.01));

/** Records one prediction as predict.ts does, with or without its profile. */
async function record(db: EdgeloopDb, cache: ReturnType<typeof profileCache>, i: number, profiled: boolean) {
  const input = pixels(i);
  const features = { device: i % 2 ? 'pen' : 'mouse', pressure: i / RUNS };
  const addition = profiled ? predictionProfile(manifest, input, features, outputs) : null;
  const id = crypto.randomUUID();
  const ts = Date.now();
  await db.transaction('rw', db.predictions, db.outbox, db.meta, db.profiles, async () => {
    await db.predictions.add({
      id,
      ts,
      model: 'digits',
      version: 1,
      input,
      outputs,
      label: 3,
      backend: 'cpu',
      latencyMs: 1,
      features,
    });
    if (addition) await addToOpenProfile(db, cache, { model: 'digits', version: 1, window: hourOf(ts) }, addition, ts);
    await appendEvent(db, { id, predictionId: id, type: 'prediction', ts, model: 'digits', version: 1, outputs });
  });
}

async function msPerRecord(profiled: boolean): Promise<number> {
  const db = new EdgeloopDb(`overhead-${profiled}`, { indexedDB: new IDBFactory(), IDBKeyRange });
  const cache = profileCache();
  for (let i = 0; i < 20; i++) await record(db, cache, i, profiled);
  const start = performance.now();
  for (let i = 0; i < RUNS; i++) await record(db, cache, i, profiled);
  const ms = (performance.now() - start) / RUNS;
  db.close();
  return ms;
}

describe('profile overhead', () => {
  it('adds little to recording a prediction (6 features, 10 classes)', async () => {
    const pureStart = performance.now();
    for (let i = 0; i < RUNS; i++) predictionProfile(manifest, pixels(i), { device: 'pen', pressure: 0.5 }, outputs);
    const pure = (performance.now() - pureStart) / RUNS;
    const without = await msPerRecord(false);
    const withProfile = await msPerRecord(true);
    console.log(
      `profile overhead per predict: +${(withProfile - without).toFixed(3)} ms ` +
        `(record ${without.toFixed(3)} → ${withProfile.toFixed(3)} ms; build alone ${pure.toFixed(3)} ms; fake-indexeddb, Node)`,
    );
    // Loose, so a slow CI machine does not fail it; the log is the measurement.
    expect(withProfile - without).toBeLessThan(20);
  });
});
