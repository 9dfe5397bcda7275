import { Dexie } from 'dexie';
import { mergeProfiles, type Profile, type ProfileSchema, WINDOW_MS } from '../../protocol/profile/index.ts';
import type { EdgeloopDb, StoredProfile } from '../db.ts';

/**
 * The open profiles this worker last wrote, valid while the database's `profileRev` equals
 * `rev`. Every write of an open profile and every seal stores a fresh random rev, so another
 * tab's write, a seal, or a transaction of ours that aborted after updating the cache all show
 * up as a different rev, and the cache is dropped instead of overwriting newer data.
 */
export interface ProfileCache {
  rev: string | null;
  open: Map<string, StoredProfile | null>;
}

/** Which window a profile covers. */
export interface WindowKey {
  model: string;
  version: number;
  window: number;
}

/**
 * An empty cache; the runtime holds one per database connection.
 *
 * @example
 * const runtime = { ...rest, profiles: profileCache() };
 */
export function profileCache(): ProfileCache {
  return { rev: null, open: new Map() };
}

/**
 * The start of the hour `ts` falls in.
 *
 * @example
 * hourOf(Date.UTC(2026, 0, 1, 10, 59)); // Date.UTC(2026, 0, 1, 10)
 */
export function hourOf(ts: number): number {
  return ts - (ts % WINDOW_MS);
}

/**
 * Merges `addition` into the open profile of `key`, creating it (id `p_` + uuid) when none is
 * open. Call inside a `db.transaction('rw', …, db.profiles, db.meta, …)` that also writes what
 * the addition summarises, so both commit or neither; the cache is only trusted again once
 * the rev written here is the database's.
 *
 * @example
 * await db.transaction('rw', db.predictions, db.profiles, db.meta, async () => {
 *   await addToOpenProfile(db, cache, { model: 'digits', version: 1, window: hourOf(ts) }, profile, ts);
 * });
 */
export async function addToOpenProfile(
  db: EdgeloopDb,
  cache: ProfileCache,
  key: WindowKey,
  addition: Profile,
  now: number,
): Promise<StoredProfile> {
  const open = await openProfile(db, cache, key);
  const profile = open ? mergeProfiles(open.profile, addition) : addition;
  const row: StoredProfile = open
    ? { ...open, profile, rows: profile.count, updatedAt: now }
    : { id: `p_${crypto.randomUUID()}`, ...key, state: 'open', profile, rows: profile.count, updatedAt: now };
  await db.profiles.put(row);
  await bumpRev(db, cache);
  cache.open.set(cacheKey(key), row);
  return row;
}

/**
 * The open profile of `key`, or null; from the cache when the database has not changed since.
 * Call inside a transaction over db.profiles and db.meta.
 *
 * @example
 * const open = await openProfile(db, runtime.profiles, { model: 'digits', version: 1, window: hourOf(Date.now()) });
 */
export async function openProfile(db: EdgeloopDb, cache: ProfileCache, key: WindowKey): Promise<StoredProfile | null> {
  const meta = await db.meta.get('profileRev');
  const rev = meta?.key === 'profileRev' ? meta.value : null;
  if (rev !== cache.rev) {
    cache.open.clear();
    cache.rev = rev;
  }
  const id = cacheKey(key);
  const cached = cache.open.get(id);
  if (cached !== undefined) return cached;
  const found =
    (await db.profiles
      .where('[model+version+window+state]')
      .equals([key.model, key.version, key.window, 'open'])
      .first()) ?? null;
  cache.open.set(id, found);
  return found;
}

/**
 * The feature schema of the latest profile of (model, version), to describe a profile that
 * feedback opens in an hour without one; empty when there is none.
 *
 * @example
 * const schema = await latestSchema(db, 'digits', 1); // { features: [{ name: 'ink', kind: 'numeric' }, …] }
 */
export async function latestSchema(db: EdgeloopDb, model: string, version: number): Promise<ProfileSchema> {
  const latest = await db.profiles
    .where('[model+version+window+state]')
    .between([model, version, Dexie.minKey, Dexie.minKey], [model, version, Dexie.maxKey, Dexie.maxKey])
    .last();
  return { features: latest ? schemaOf(latest.profile) : [] };
}

/**
 * The feature names and kinds a profile summarises.
 *
 * @example
 * schemaOf(profile); // [{ name: 'device', kind: 'categorical' }, { name: 'ink', kind: 'numeric' }]
 */
export function schemaOf(profile: Profile): ProfileSchema['features'] {
  return Object.entries(profile.features).map(([name, feature]) => ({ name, kind: feature.kind }));
}

/**
 * Stores a fresh rev; the caller's transaction covers db.meta.
 *
 * @example
 * await db.transaction('rw', db.profiles, db.meta, () => bumpRev(db, cache));
 */
export async function bumpRev(db: EdgeloopDb, cache: ProfileCache): Promise<void> {
  const rev = crypto.randomUUID();
  await db.meta.put({ key: 'profileRev', value: rev });
  cache.rev = rev;
}

function cacheKey(key: WindowKey): string {
  return `${key.model}\n${key.version}\n${key.window}`;
}
