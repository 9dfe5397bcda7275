import * as v from 'valibot';
import { CLIENT_TOKEN_HEADER, ClientRegistration, type EraseReceipt } from '../../protocol/clients.ts';
import { Event, EventBatch } from '../../protocol/events.ts';
import { sha256Hex } from '../../protocol/hash.ts';
import type { FileRole, Manifest } from '../../protocol/manifest.ts';
import { Profile, ProfileBatch, type ProfileBatchResult, ProfileEnvelope } from '../../protocol/profile/index.ts';
import type { VersionInfo } from '../../protocol/registry.ts';
import { FakeRounds } from './fake-rounds.ts';
import { FakeRuns } from './fake-runs.ts';

export interface FakeFile {
  path: string;
  role: FileRole;
  bytes: Uint8Array;
}

/** Files by name as FakeFiles, each role read off its name: `model.json`, `replay.*`, `holdout.*`, and weights. */
export function fakeFiles(files: Record<string, Uint8Array>): FakeFile[] {
  const roleOf = (path: string): FileRole =>
    path === 'model.json'
      ? 'model'
      : path.startsWith('replay.')
        ? 'replay'
        : path.startsWith('holdout.')
          ? 'holdout'
          : 'weights';
  return Object.entries(files).map(([path, bytes]) => ({ path, role: roleOf(path), bytes }));
}

/**
 * How the next POST /v1/events goes wrong: no connection, reply lost after applying, a 500, or
 * any status with an error code and a Retry-After header (429 RATE_LIMITED, 503, 400 …).
 */
export type EventsFailure = 'network' | 'lost-reply' | 500 | { status: number; code: string; retryAfter?: string };

/** A client the fake edge registered: its token and the highest seq applied. */
export interface FakeClient {
  token: string;
  maxSeq: number;
  revoked: boolean;
}

/**
 * A small in-memory stand-in for the edge (unit tests only; the real edge runs in workerd and
 * Playwright tests): resolve, version info, file download, idempotent event and profile ingest,
 * experiment runs (`runs`) and the device side of federated rounds (`rounds`).
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
  readonly requests: { method: string; path: string; body?: unknown; headers: Headers; bytes: number }[] = [];
  /** Registered clients by id (`POST /v1/clients`). */
  readonly clients = new Map<string, FakeClient>();
  /** Send `ETag: "<model>/<alias>/<version>"` on resolve and answer a matching If-None-Match with 304 (the real edge sends none yet). */
  resolveEtags = false;
  /** How the next POST /v1/clients calls go wrong. */
  clientsFailures: EventsFailure[] = [];
  /** Files served with other bytes than their digest (a tampered CDN), by path or `model/version/path`. */
  readonly tampered = new Map<string, Uint8Array>();
  eventsFailures: EventsFailure[] = [];
  /** `/v1/runs`: the runs recorded, and how the calls fail (`runs.failure`). */
  readonly runs = new FakeRuns();
  /** `/v1/models/{m}/rounds/…`: `rounds.open(model, version)` opens one, `rounds.gate(id, weights)` gates it. */
  readonly rounds = new FakeRounds(this.versions, this.bytes);
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
        inputs: [{ name: 'image', dtype: 'float32', shape: [-1, 28, 28, 1], range: [0, 1] }],
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
    const headers = new Headers(init?.headers);
    const { body, bytes: size } = await readBody(init?.body, headers);
    this.requests.push({ method, path: url.pathname + url.search, body, headers, bytes: size });
    const auth = headers.get('authorization');
    if (auth !== `Bearer ${this.key}`) return error(401, 'UNAUTHORIZED', 'bad key');

    const route = url.pathname.split('/').map(decodeURIComponent);
    if (method === 'POST' && url.pathname === '/v1/clients') return this.#register(body);
    const token = headers.get(CLIENT_TOKEN_HEADER);
    if (method === 'POST' && (url.pathname === '/v1/events' || url.pathname === '/v1/profiles')) {
      const clientId = (body as { clientId?: unknown } | undefined)?.clientId;
      const refusal = this.#checkToken(typeof clientId === 'string' ? clientId : '', token);
      if (refusal) return refusal;
    }
    if (method === 'POST' && url.pathname === '/v1/events') return this.#ingest(body);
    if (method === 'POST' && url.pathname === '/v1/profiles') return this.#ingestProfiles(body);
    if (route[1] === 'v1' && route[2] === 'runs') return this.runs.handle(method, route, body, token);
    if (route[1] === 'v1' && route[2] === 'models' && route[4] === 'rounds') {
      return this.#rounds(method, route, token, body, headers);
    }
    if (method === 'POST' && route[2] === 'clients' && route[4] === 'erase' && route.length === 5)
      return this.#erase(route[3] ?? '', token);
    if (method !== 'GET' || route[1] !== 'v1' || route[2] !== 'models') return error(404, 'NOT_FOUND', url.pathname);
    const model = route[3] ?? '';
    if (route[4] === 'resolve') {
      const alias = url.searchParams.get('alias') ?? '';
      const version = this.aliases.get(`${model}/${alias}`);
      if (version === undefined) return error(404, 'ALIAS_NOT_FOUND', `${model}/${alias}`);
      const shadow = this.shadows.get(`${model}/${alias}`);
      const etag = `"${model}/${alias}/${version}/${shadow ?? ''}"`;
      if (this.resolveEtags && headers.get('if-none-match') === etag) return new Response(null, { status: 304 });
      if (this.resolveEtags) {
        return Response.json(
          { model, alias, version, role: 'stable', ...(shadow === undefined ? {} : { shadow }) },
          { headers: { etag } },
        );
      }
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

  /** Revokes a client: its writes get 403 CLIENT_REVOKED. */
  revoke(clientId: string): void {
    const client = this.clients.get(clientId);
    if (client) client.revoked = true;
  }

  #register(body: unknown): Response {
    const failure = this.clientsFailures.shift();
    if (failure === 'lost-reply') throw new TypeError('fetch failed: connection reset');
    if (failure) return failed(failure);
    const parsed = v.safeParse(ClientRegistration, body);
    if (!parsed.success) return error(400, 'INVALID_BODY', parsed.issues[0].message);
    const clientId = `c_fake_${(this.clients.size + 1).toString().padStart(4, '0')}`;
    const token = `tok_${crypto.randomUUID()}`;
    this.clients.set(clientId, { token, maxSeq: parsed.output.nextSeq - 1, revoked: false });
    return Response.json({ clientId, token }, { status: 201 });
  }

  /** The client's events, profiles and registration go; the receipt counts them (runs are not tracked per client here). */
  #erase(clientId: string, token: string | null): Response {
    const refusal = this.#checkToken(clientId, token);
    if (refusal) return refusal;
    const remove = (store: Map<string, unknown>) => {
      const keys = [...store.keys()].filter((key) => key.startsWith(`${clientId}/`));
      for (const key of keys) store.delete(key);
      return keys.length;
    };
    const now = Date.now();
    const receipt: EraseReceipt = {
      v: 1,
      clientId,
      requestedAt: now,
      erasedAt: now,
      by: 'client',
      removed: {
        events: remove(this.events),
        rejectedEvents: 0,
        runs: 0,
        runMetrics: 0,
        driftProfiles: remove(this.profiles),
        driftRows: 0,
        registration: this.clients.delete(clientId),
      },
      drift: { versions: [] },
    };
    return Response.json(receipt);
  }

  /** The rounds routes: the client is the one the token was issued to. */
  #rounds(method: string, route: string[], token: string | null, body: unknown, headers: Headers): Response {
    const clientId = [...this.clients.entries()].find(([, c]) => token !== null && c.token === token)?.[0];
    if (!clientId) return error(401, 'INVALID_CLIENT_TOKEN', 'wrong or missing token');
    if (this.clients.get(clientId)?.revoked) return error(403, 'CLIENT_REVOKED', clientId);
    return this.rounds.handle(method, route, clientId, body, headers);
  }

  #checkToken(clientId: string, token: string | null): Response | null {
    const client = this.clients.get(clientId);
    if (!client || !token || client.token !== token)
      return error(401, 'INVALID_CLIENT_TOKEN', 'wrong or missing token');
    if (client.revoked) return error(403, 'CLIENT_REVOKED', clientId);
    return null;
  }

  #ingest(body: unknown): Response {
    const failure = this.eventsFailures.shift();
    if (failure === 'network') throw new TypeError('fetch failed');
    if (failure !== undefined && failure !== 'lost-reply') return failed(failure);
    const batch = v.safeParse(EventBatch, body);
    if (!batch.success) return error(400, 'INVALID_BODY', batch.issues[0].message);
    const client = this.clients.get(batch.output.clientId);
    if (!client) return error(401, 'INVALID_CLIENT_TOKEN', 'unknown client');
    // Strict seq order, as the edge: ≤ max is a duplicate, max + 1 is applied, anything else is a gap.
    let expected = client.maxSeq + 1;
    for (const raw of batch.output.events) {
      const seq = (raw as { seq?: unknown }).seq;
      if (typeof seq !== 'number' || seq > expected)
        return error(409, 'SEQ_GAP', `expected seq ${expected}, got ${String(seq)}`);
      if (seq === expected) expected++;
    }
    let accepted = 0;
    let duplicates = 0;
    const rejected: { index: number; code: string; message: string }[] = [];
    batch.output.events.forEach((raw, index) => {
      const seq = (raw as { seq: number }).seq;
      if (seq <= client.maxSeq) {
        duplicates++;
        return;
      }
      // A rejected event still consumes its seq.
      client.maxSeq = seq;
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
    if (failure !== undefined && failure !== 'lost-reply') return failed(failure);
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

function error(status: number, code: string, message: string, headers?: Record<string, string>): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}

function failed(failure: Exclude<EventsFailure, 'lost-reply'>): Response {
  if (failure === 'network') throw new TypeError('fetch failed');
  if (failure === 500) return error(500, 'INTERNAL', 'database unavailable');
  const headers: Record<string, string> = failure.retryAfter ? { 'retry-after': failure.retryAfter } : {};
  return error(failure.status, failure.code, 'refused by the test', headers);
}

/**
 * The body, gunzipped when Content-Encoding says so (JSON parsed; application/octet-stream kept
 * as bytes), and its size on the wire.
 */
async function readBody(raw: unknown, headers: Headers): Promise<{ body: unknown; bytes: number }> {
  if (typeof raw === 'string') return { body: JSON.parse(raw), bytes: new TextEncoder().encode(raw).byteLength };
  if (!(raw instanceof Uint8Array)) return { body: undefined, bytes: 0 };
  const plain =
    headers.get('content-encoding') === 'gzip'
      ? new Uint8Array(
          await new Response(
            new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip')),
          ).arrayBuffer(),
        )
      : raw;
  const binary = headers.get('content-type') === 'application/octet-stream';
  return { body: binary ? plain : JSON.parse(new TextDecoder().decode(plain)), bytes: raw.byteLength };
}
