import { Hono } from 'hono';
import * as v from 'valibot';
import { ErrorCode } from '../../../protocol/errors.ts';
import {
  Profile,
  ProfileBatch,
  type ProfileBatchResult,
  ProfileEnvelope,
  WINDOW_MS,
} from '../../../protocol/profile/index.ts';
import type { VersionInfo } from '../../../protocol/registry.ts';
import type { AppEnv } from '../app-env.ts';
import { requireClientToken } from '../auth/client-token.ts';
import { requireScope } from '../auth/require-scope.ts';
import type { IngestItem } from '../do/drift-aggregator.ts';
import { profileDefect, profileMismatch } from '../drift/compatible.ts';
import { driftStub } from '../drift/stub.ts';
import { ApiError } from '../http/api-error.ts';
import { describeIssues } from '../http/issues.ts';
import { rateLimit } from '../http/rate-limit.ts';
import { readJson } from '../http/read-body.ts';
import { clientStanding } from '../storage/clients.ts';
import { getVersion } from '../storage/registry.ts';
import { clientRefusal } from './client-refusal.ts';

/** Largest profiles body, after gzip decoding (50 profiles of a few dozen sketched features). */
export const MAX_PROFILES_BYTES = 2 * 1024 * 1024;

type Rejection = ProfileBatchResult['rejected'][number];

/** The checks of one envelope: its profile, or why it is refused. */
function checkEnvelope(
  candidate: unknown,
  index: number,
  versions: Map<string, VersionInfo | null>,
  now: number,
): { key: string; envelope: ProfileEnvelope; item: IngestItem } | Rejection {
  const reject = (code: ErrorCode, message: string): Rejection => ({ index, code, message });
  const envelope = v.safeParse(ProfileEnvelope, candidate);
  if (!envelope.success) return reject(ErrorCode.INVALID_PROFILE, describeIssues(envelope.issues));
  const { id, model, version, window } = envelope.output;
  const profile = v.safeParse(Profile, envelope.output.profile);
  if (!profile.success) return reject(ErrorCode.INVALID_PROFILE, describeIssues(profile.issues, 'profile'));
  const defect = profileDefect(profile.output);
  if (defect) return reject(ErrorCode.INVALID_PROFILE, `profile.${defect}`);
  // Clocks drift a little; an hour ahead is a wrong clock or a forged window.
  if (window > now + WINDOW_MS) return reject(ErrorCode.INVALID_PROFILE, 'window is more than an hour in the future');
  const key = `${model}@${version}`;
  const info = versions.get(key);
  if (!info) return reject(ErrorCode.VERSION_NOT_FOUND, `model "${model}" has no version ${version}`);
  if (info.status === 'archived') {
    return reject(ErrorCode.VERSION_ARCHIVED, `version ${version} of "${model}" is archived`);
  }
  const mismatch = profileMismatch(profile.output, info.manifest);
  if (mismatch) return reject(ErrorCode.PROFILE_MISMATCH, mismatch);
  return { key, envelope: envelope.output, item: { id, window, profile: profile.output } };
}

/** The versions the envelopes name (each looked up once), by `model@version`. */
async function versionsNamed(db: D1Database, candidates: readonly unknown[]): Promise<Map<string, VersionInfo | null>> {
  const named = new Map<string, { model: string; version: number }>();
  for (const candidate of candidates) {
    const envelope = v.safeParse(ProfileEnvelope, candidate);
    if (envelope.success) named.set(`${envelope.output.model}@${envelope.output.version}`, envelope.output);
  }
  const entries = await Promise.all(
    [...named].map(async ([key, { model, version }]) => [key, await getVersion(db, model, version)] as const),
  );
  return new Map(entries);
}

/**
 * `POST /v1/profiles`: drift profiles a client summarised, one per model version and hour,
 * sent with the client's token. A malformed batch is refused whole; each envelope is checked
 * on its own (bad ones reported by index) and the rest go to their version's DriftAggregator,
 * which merges each profile id once. The writes go to Durable Objects, not D1, so the
 * revocation check is a D1 read made alongside the version lookups (no extra round trip).
 */
export const profiles = new Hono<AppEnv>().post('/', requireScope('client'), rateLimit(), async (c) => {
  const batch = v.safeParse(ProfileBatch, await readJson(c.req.raw, MAX_PROFILES_BYTES, 'profiles'));
  if (!batch.success) throw new ApiError(400, ErrorCode.INVALID_BODY, describeIssues(batch.issues));
  const { clientId, profiles: candidates } = batch.output;
  await requireClientToken(c, clientId);
  const [standing, versions] = await Promise.all([
    clientStanding(c.env.DB, clientId),
    versionsNamed(c.env.DB, candidates),
  ]);
  if (standing !== 'ok') throw clientRefusal(standing, clientId);
  const now = Date.now();
  const result: ProfileBatchResult = { accepted: 0, duplicates: 0, capped: 0, rejected: [] };
  const groups = new Map<string, { model: string; version: number; items: IngestItem[]; indexes: number[] }>();
  candidates.forEach((candidate, index) => {
    const checked = checkEnvelope(candidate, index, versions, now);
    if ('code' in checked) {
      result.rejected.push(checked);
      return;
    }
    const { model, version } = checked.envelope;
    const group = groups.get(checked.key) ?? { model, version, items: [], indexes: [] };
    group.items.push(checked.item);
    group.indexes.push(index);
    groups.set(checked.key, group);
  });
  const outcomes = await Promise.all(
    [...groups.values()].map(async (group) => ({
      group,
      outcomes: await driftStub(c.env, group.model, group.version).ingest(
        { model: group.model, version: group.version },
        clientId,
        group.items,
      ),
    })),
  );
  for (const { group, outcomes: each } of outcomes) {
    each.forEach((outcome, i) => {
      if (outcome.status === 'rejected') {
        result.rejected.push({ index: group.indexes[i] ?? -1, code: outcome.code, message: outcome.message });
      } else if (outcome.status === 'accepted') result.accepted++;
      else if (outcome.status === 'duplicate') result.duplicates++;
      else result.capped++;
    });
  }
  result.rejected.sort((a, b) => a.index - b.index);
  return c.json<ProfileBatchResult>(result);
});
