import { Dexie } from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { EdgeloopError } from '../protocol/errors.ts';
import { EdgeloopDb, ensureClientId, withStorage } from './db.ts';

const fresh = () => ({ indexedDB: new IDBFactory(), IDBKeyRange });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as EdgeloopError,
  );

describe('db', () => {
  it('creates the client id once and keeps it', async () => {
    const source = fresh();
    const first = await ensureClientId(new EdgeloopDb('a', source));
    expect(first).toMatch(/^c_[A-Za-z0-9_-]{22}$/);
    expect(await ensureClientId(new EdgeloopDb('a', source))).toBe(first);
    expect(await ensureClientId(new EdgeloopDb('b', source))).not.toBe(first);
  });

  it('reports a quota error, even wrapped in an AbortError, as STORAGE', async () => {
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    const error = await failure(
      withStorage('record prediction', () => Promise.reject(new Dexie.AbortError('Transaction aborted', quota))),
    );
    expect(error).toBeInstanceOf(EdgeloopError);
    expect(error?.message).toBe('[STORAGE] record prediction: storage quota exceeded');
  });

  it('reports other IndexedDB failures as STORAGE and lets EdgeloopErrors through', async () => {
    const db = new EdgeloopDb('c', fresh());
    await db.meta.add({ key: 'nextSeq', value: 1 });
    const duplicate = await failure(withStorage('write', () => db.meta.add({ key: 'nextSeq', value: 2 })));
    expect(duplicate?.code).toBe('STORAGE');
    expect(duplicate?.message).toMatch(/^\[STORAGE\] write: ConstraintError/);

    const own = new EdgeloopError('UNKNOWN_PREDICTION', 'no such prediction');
    expect(await failure(withStorage('read', () => Promise.reject(own)))).toBe(own);
  });
});
