import { ClientIdentity, type ClientRegistration } from '../../protocol/clients.ts';
import { EdgeloopError } from '../../protocol/errors.ts';
import { readIdentity, type StoredIdentity, withStorage } from '../db.ts';
import type { SyncRuntime } from '../runtime.ts';

/**
 * Registers this database with the edge (`POST /v1/clients`) unless it already holds an issued
 * identity, stores `{clientId, token}` in meta and puts them on the runtime (the token on the
 * EdgeClient, so every write carries it). `nextSeq` is the first pending outbox seq, else the
 * next seq to be given: events recorded offline before registration (or by a legacy database
 * that generated its own id) keep their seqs and the edge expects exactly them.
 * Two tabs of one database register once: with Web Locks the second waits and reads the first's
 * identity; without them the first stored identity wins.
 *
 * @example
 * const { clientId } = await ensureIdentity(runtime);
 */
export async function ensureIdentity(runtime: SyncRuntime): Promise<StoredIdentity> {
  if (runtime.identity) return runtime.identity;
  const { locks } = runtime.platform;
  const register = () => registerOnce(runtime);
  const identity = locks
    ? await locks.request(`edgeloop-register:${runtime.options.dbName}`, {}, register)
    : await register();
  adopt(runtime, identity);
  return identity;
}

/**
 * Puts a stored identity on the runtime.
 *
 * @example
 * const stored = await readIdentity(db);
 * if (stored) adopt(runtime, stored);
 */
export function adopt(runtime: Pick<SyncRuntime, 'identity' | 'clientId' | 'edge'>, identity: StoredIdentity): void {
  runtime.identity = identity;
  runtime.clientId = identity.clientId;
  runtime.edge.token = identity.token;
}

async function registerOnce(runtime: SyncRuntime): Promise<StoredIdentity> {
  const { db, edge } = runtime;
  const existing = await readIdentity(db);
  if (existing) return existing;
  const body: ClientRegistration = { v: 1, nextSeq: await firstUnsentSeq(runtime) };
  const issued = await edge.json('/v1/clients', ClientIdentity, body);
  const identity: StoredIdentity = { ...issued, registeredAt: Date.now() };
  // First writer wins, so a tab that raced us (no Web Locks) and stored first keeps its identity.
  return withStorage('store identity', () =>
    db.transaction('rw', db.meta, async () => {
      const raced = await db.meta.get('identity');
      if (raced?.key === 'identity') return raced.value;
      await db.meta.put({ key: 'identity', value: identity });
      return identity;
    }),
  );
}

async function firstUnsentSeq(runtime: SyncRuntime): Promise<number> {
  const { db } = runtime;
  return withStorage('read outbox', async () => {
    const pending = await db.outbox.where('state').equals('pending').first();
    if (pending) return pending.seq;
    const counter = await db.meta.get('nextSeq');
    const next = counter?.key === 'nextSeq' ? counter.value : 1;
    if (!Number.isSafeInteger(next) || next < 1) throw new EdgeloopError('STORAGE', `corrupt sequence counter ${next}`);
    return next;
  });
}
