import { Dexie, type EntityTable } from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../protocol/errors.ts';
import type { Event } from '../protocol/events.ts';
import {
  EdgeloopDb,
  type FeedbackRow,
  isQuotaError,
  type MetaRow,
  type OutboxRow,
  type PredictionRow,
  readIdentity,
  withStorage,
} from './db.ts';

/** The schema as released at version 1, to write a database the way an old worker did. */
class DbV1 extends Dexie {
  predictions!: EntityTable<PredictionRow, 'id'>;
  feedback!: EntityTable<FeedbackRow, 'id'>;
  outbox!: EntityTable<OutboxRow, 'seq'>;
  meta!: EntityTable<MetaRow, 'key'>;

  constructor(name: string, source: ReturnType<typeof fresh>) {
    super(name, source);
    this.version(1).stores({
      predictions: 'id, ts, model',
      feedback: 'id, predictionId',
      outbox: 'seq, state',
      files: 'sha256',
      meta: 'key',
    });
  }
}

const fresh = () => ({ indexedDB: new IDBFactory(), IDBKeyRange });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as EdgeloopError,
  );

describe('db', () => {
  it('has no identity until the edge issues one', async () => {
    const db = new EdgeloopDb('a', fresh());
    expect(await readIdentity(db)).toBeNull();
    await db.meta.put({ key: 'identity', value: { clientId: 'c_issued_1', token: 't'.repeat(20), registeredAt: 1 } });
    expect(await readIdentity(db)).toMatchObject({ clientId: 'c_issued_1' });
    db.close();
  });

  it('finds a QuotaExceededError however it is wrapped', () => {
    const quota = new DOMException('full', 'QuotaExceededError');
    expect(isQuotaError(new Dexie.AbortError('aborted', quota))).toBe(true);
    expect(isQuotaError(new EdgeloopError('STORAGE', 'x', { cause: new Dexie.AbortError('aborted', quota) }))).toBe(
      true,
    );
    expect(isQuotaError(new Error('other'))).toBe(false);
  });

  it('reports a quota error, even wrapped in an AbortError, as STORAGE', async () => {
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    const error = await failure(
      withStorage('record prediction', () => Promise.reject(new Dexie.AbortError('Transaction aborted', quota))),
    );
    expect(error).toBeInstanceOf(EdgeloopError);
    expect(String(error)).toBe('[STORAGE] record prediction: storage quota exceeded');
  });

  it('reports other IndexedDB failures as STORAGE and lets EdgeloopErrors through', async () => {
    const db = new EdgeloopDb('c', fresh());
    await db.meta.add({ key: 'nextSeq', value: 1 });
    const duplicate = await failure(withStorage('write', () => db.meta.add({ key: 'nextSeq', value: 2 })));
    expect(duplicate?.code).toBe('STORAGE');
    expect(String(duplicate)).toMatch(/^\[STORAGE\] write: ConstraintError/);

    const own = new EdgeloopError('UNKNOWN_PREDICTION', 'no such prediction');
    expect(await failure(withStorage('read', () => Promise.reject(own)))).toBe(own);
  });

  it('upgrades a version 1 database to the current version without losing anything', async () => {
    const source = fresh();
    const old = new DbV1('upgrade', source);
    const id = crypto.randomUUID();
    const prediction: PredictionRow = {
      id,
      ts: 1,
      model: 'digits',
      version: 1,
      input: new Float32Array([0, 0.5, 1]),
      outputs: [0.2, 0.8],
      label: 1,
      backend: 'cpu',
      latencyMs: 2,
    };
    const event: Event = {
      id,
      seq: 1,
      ts: 1,
      model: 'digits',
      version: 1,
      predictionId: id,
      type: 'prediction',
      outputs: [0.2, 0.8],
    };
    await old.predictions.add(prediction);
    await old.feedback.add({ id: crypto.randomUUID(), predictionId: id, label: 0, ts: 2, seq: 2 });
    await old.outbox.bulkAdd([{ seq: 1, event, state: 'sent', settledAt: 3 }]);
    await old.table('files').add({ sha256: 'ab'.repeat(32), bytes: new ArrayBuffer(4), size: 4, storedAt: 1 });
    await old.meta.bulkAdd([
      { key: 'clientId', value: 'c_old_client' },
      { key: 'nextSeq', value: 3 },
    ]);
    expect(old.verno).toBe(1);
    old.close();

    const db = new EdgeloopDb('upgrade', source);
    // A legacy database keeps its old id row but has no issued identity until it registers.
    expect(await readIdentity(db)).toBeNull();
    expect(await db.meta.get('clientId')).toEqual({ key: 'clientId', value: 'c_old_client' });
    expect(db.verno).toBe(4);
    expect(await db.predictions.get(id)).toEqual(prediction);
    expect(await db.feedback.where('predictionId').equals(id).count()).toBe(1);
    expect(await db.outbox.where('state').equals('sent').toArray()).toEqual([
      { seq: 1, event, state: 'sent', settledAt: 3 },
    ]);
    expect(await db.files.get('ab'.repeat(32))).toMatchObject({ size: 4 });
    expect(await db.meta.get('nextSeq')).toEqual({ key: 'nextSeq', value: 3 });
    expect(await db.profiles.count()).toBe(0);
    await db.profiles.add({
      id: 'p_1',
      model: 'digits',
      version: 1,
      window: 0,
      state: 'open',
      profile: { v: 1, count: 0, features: {} },
      rows: 0,
      updatedAt: 1,
    });
    expect(await db.profiles.where('[model+version+window+state]').equals(['digits', 1, 0, 'open']).count()).toBe(1);
    // v3: personal fine-tunes, none yet.
    expect(await db.personal.count()).toBe(0);
    // v4: federated updates, none yet; the pending ones are found by state.
    expect(await db.updates.where('state').equals('pending').count()).toBe(0);
    db.close();
  });
});
