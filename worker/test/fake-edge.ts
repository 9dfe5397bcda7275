import * as v from 'valibot';
import { Event, EventBatch } from '../../protocol/events.ts';
import { sha256Hex } from '../../protocol/hash.ts';
import type { FileRole, Manifest } from '../../protocol/manifest.ts';
import { Profile, ProfileBatch, type ProfileBatchResult, ProfileEnvelope } from '../../protocol/profile/index.ts';
import type { VersionInfo } from '../../protocol/registry.ts';
import { FakeRuns } from './fake-runs.ts';

export interface FakeFile {
  path: string;
  role: FileRole;
  bytes: Uint8Array;
}

/** How the next POST /v1/events goes wrong: no connection, reply lost after applying, or an error status. */
export type EventsFailure = 'network' | 'lost-reply' | 500;

/**
 * A small in-memory stand-in for the edge (unit tests only; the real edge runs in workerd and
 * Playwright tests): resolve, version info, file download, idempotent event and profile ingest
 * and experiment runs (`runs`).
 */
export class FakeEdge {
  readonly key = 'test-client-key';
  readonly versions = new Map<string, VersionInfo>();
  readonly bytes = new Map<string, Uint8Array>();
  readonly aliases = new Map<string, number>();
  /** Shadow versions by `model/alias`: resolve answers them as `shadow` (the rollout's shadow). */
  readonly shadows = new Map<string, number>();
  /** Events stored, by `clientId/eventId`: a retried event is counted once. */
  readonly events = new Map<string, Event>();
  readonly requests: { method: string; path: string; body?: unknown }[] = [];
  /** Files served with other bytes than their digest (a tampered CDN), by path or `model/version/path`. */
  readonly tampered = new Map<string, Uint8Array>();
  eventsFailures: EventsFailure[] = [];
  /** `/v1/runs`: the runs recorded, and how the calls fail (`runs.failure`). */
  readonly runs = new FakeRuns();
  /** A code to reject an event with, or null to accept it. */
  rejectEvent: (event: Event) => string | null = () => null;
  /** Profiles stored, by `clientId/profileId`: a retried profile is counted once. */
  readonly profiles = new Map<string, ProfileEnvelope & { profile: Profile }>();
  /** How the next POST /v1/profiles calls go wrong (as for events). */
  profilesFailures: EventsFailure[] = [];
  /** A code to reject a profile with, 'capped' to take it without merging, or null to accept it. */
  judgeProfile: (envelope: ProfileEnvelope) => string | null = () => null;

  async publish(model: string, version: number, files: FakeFile[], manifest?: Partial<Manifest>): Promise<void> {
    const stored = await Promise.all(
      files.map(async (f) => ({ path: f.path, sha256: await sha256Hex(f.bytes), size: f.bytes.length })),
    );
    for (const f of files) this.bytes.set(`${model}/${version}/${f.path}`, f.bytes);
    this.versions.set(`${model}/${version}`, {
      model,
      version,
      status: 'ready',
      createdAt: 0,
      manifest: {
        v: 1,
        name: model,
        format: 'tfjs-layers',
        inputs: [{ name: 'image', dtype: 'float32', shape: [-1, 28, 28, 1] }],
        outputs: [{ name: 'probabilities', dtype: 'float32', shape: [-1, 10] }],
        features: { features: [] },
        ...manifest,
        files: files.map((f) => ({ path: f.path, role: f.role })),
      },
      files: stored,
    });
    this.aliases.set(`${model}/production`, version);
  }

  readonly fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const url = new URL(input);
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    this.requests.push({ method, path: url.pathname + url.search, body });
    const auth = new Headers(init?.headers).get('authorization');
    if (auth !== `Bearer ${this.key}`) return error(401, 'UNAUTHORIZED', 'bad key');

    const route = url.pathname.split('/').map(decodeURIComponent);
    if (method === 'POST' && url.pathname === '/v1/events') return this.#ingest(body);
    if (method === 'POST' && url.pathname === '/v1/profiles') return this.#ingestProfiles(body);
    if (route[1] === 'v1' && route[2] === 'runs') return this.runs.handle(method, route, body);
    if (method !== 'GET' || route[1] !== 'v1' || route[2] !== 'models') return error(404, 'NOT_FOUND', url.pathname);
    const model = route[3] ?? '';
    if (route[4] === 'resolve') {
      const alias = url.searchParams.get('alias') ?? '';
      const version = this.aliases.get(`${model}/${alias}`);
      if (version === undefined) return error(404, 'ALIAS_NOT_FOUND', `${model}/${alias}`);
      const shadow = this.shadows.get(`${model}/${alias}`);
      return Response.json({ model, alias, version, role: 'stable', ...(shadow === undefined ? {} : { shadow }) });
    }
    const version = Number(route[5]);
    const info = this.versions.get(`${model}/${version}`);
    if (route[4] !== 'versions' || !info) return error(404, 'VERSION_NOT_FOUND', url.pathname);
    if (route.length === 6) return Response.json(info);
    const path = route.slice(7).join('/');
    const bytes =
      this.tampered.get(`${model}/${version}/${path}`) ??
      this.tampered.get(path) ??
      this.bytes.get(`${model}/${version}/${path}`);
    if (route[6] !== 'files' || !bytes) return error(404, 'FILE_NOT_FOUND', path);
    return new Response(bytes.slice());
  };

  /** Requests whose path starts with `prefix`. */
  count(prefix: string, method = 'GET'): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(prefix)).length;
  }

  #ingest(body: unknown): Response {
    const failure = this.eventsFailures.shift();
    if (failure === 'network') throw new TypeError('fetch failed');
    if (failure === 500) return error(500, 'INTERNAL', 'database unavailable');
    const batch = v.safeParse(EventBatch, body);
    if (!batch.success) return error(400, 'INVALID_BODY', batch.issues[0].message);
    let accepted = 0;
    let duplicates = 0;
    const rejected: { index: number; code: string; message: string }[] = [];
    batch.output.events.forEach((raw, index) => {
      const event = v.safeParse(Event, raw);
      const code = event.success ? this.rejectEvent(event.output) : 'INVALID_EVENT';
      if (!event.success || code) {
        rejected.push({ index, code: code ?? 'INVALID_EVENT', message: 'refused' });
        return;
      }
      const key = `${batch.output.clientId}/${event.output.id}`;
      if (this.events.has(key)) duplicates++;
      else {
        this.events.set(key, event.output);
        accepted++;
      }
    });
    if (failure === 'lost-reply') throw new TypeError('fetch failed: connection reset');
    return Response.json({ accepted, duplicates, rejected });
  }

  #ingestProfiles(body: unknown): Response {
    const failure = this.profilesFailures.shift();
    if (failure === 'network') throw new TypeError('fetch failed');
    if (failure === 500) return error(500, 'INTERNAL', 'database unavailable');
    const batch = v.safeParse(ProfileBatch, body);
    if (!batch.success) return error(400, 'INVALID_BODY', batch.issues[0].message);
    const result: ProfileBatchResult = { accepted: 0, duplicates: 0, capped: 0, rejected: [] };
    batch.output.profiles.forEach((raw, index) => {
      const envelope = v.safeParse(ProfileEnvelope, raw);
      const profile = envelope.success ? v.safeParse(Profile, envelope.output.profile) : null;
      if (!envelope.success || !profile?.success) {
        result.rejected.push({ index, code: 'INVALID_PROFILE', message: 'invalid profile' });
        return;
      }
      const key = `${batch.output.clientId}/${envelope.output.id}`;
      if (this.profiles.has(key)) {
        result.duplicates++;
        return;
      }
      const verdict = this.judgeProfile(envelope.output);
      if (verdict && verdict !== 'capped') {
        result.rejected.push({ index, code: verdict, message: 'refused' });
        return;
      }
      this.profiles.set(key, { ...envelope.output, profile: profile.output });
      if (verdict === 'capped') result.capped++;
      else result.accepted++;
    });
    if (failure === 'lost-reply') throw new TypeError('fetch failed: connection reset');
    return Response.json(result);
  }
}

function error(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}
