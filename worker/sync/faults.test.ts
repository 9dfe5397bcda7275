// Randomised fault suite: the real sync (worker API → syncAll → EdgeClient with gzip, Dexie on
// fake-indexeddb) against the real edge in workerd, through a fetch that loses, fails,
// duplicates, delays and reorders requests, with tab crashes and server restarts. Property:
// once the outbox and the profiles drain, the edge holds every recorded event exactly once, in
// seq order, and has merged every drift profile exactly once. Some schedules record enough
// events for several event batches (and profiles for several profile batches) per sync, so
// faults also fall between the batches of one sync.
// Replay a failure: FAULTS_SEED=<seed> FAULTS_PATH=<path> (printed), FAULTS_RUNS=<n>.
import { Dexie } from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Event } from '../../protocol/events.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { MAX_PROFILES_PER_BATCH, WINDOW_MS } from '../../protocol/profile/index.ts';
import { EdgeloopDb, readIdentity, type StoredProfile } from '../db.ts';
import { detectSyncPlatform } from '../env.ts';
import { predictionProfile } from '../profile/observe.ts';
import { addToOpenProfile, hourOf, type ProfileCache, profileCache } from '../profile/record.ts';
import { manualClock } from '../test/clock.ts';
import { type Fault, faultArb, faultyFetch } from '../test/faulty-fetch.ts';
import { startWorker } from '../test/harness.ts';
import { ADMIN_KEY, CLIENT_KEY, RealEdge } from '../test/real-edge.ts';
import { tabStorage } from '../test/tab-storage.ts';
import { LEASE_MS } from './lock.ts';
import { appendEvent, type UnsequencedEvent } from './outbox.ts';
import { BATCH_SIZE } from './sync.ts';

const { process } = globalThis as unknown as { process: { env: Record<string, string | undefined> } };
const RUNS = Number(process.env.FAULTS_RUNS ?? 1000);
const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 2 ** 31);
const PATH = process.env.FAULTS_PATH;
/** The client's endpoint; the faulty fetch sends to wherever workerd listens now. */
const ENDPOINT = 'http://edge.faults';
/** Enough for three event batches in one sync (BATCH_SIZE each). */
const MAX_EVENTS = 250;
/**
 * Two events an hour: a profile window every two events, so a schedule's syncs send a few
 * profiles each, and BATCH_SIZE events span more than MAX_PROFILES_PER_BATCH hours, so a sync
 * after a large record sends two profile batches.
 */
const EVENT_SPACING_MS = WINDOW_MS / 2;
const FIRST_TS = 1_700_000_000_000;

/**
 * The model the events and profiles name, published on the edge in beforeAll (profiles of an
 * unknown version are refused): two inputs, two classes, a feature the worker computes from
 * the input and one the app supplies, as a real model's drift features.
 */
const MODEL: Manifest = {
  v: 1,
  name: 'digits',
  format: 'tfjs-layers',
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2] }],
  outputs: [{ name: 'probs', dtype: 'float32', shape: [-1, 2] }],
  features: {
    features: [
      { name: 'mean', kind: 'numeric', source: { stat: 'mean' } },
      { name: 'device', kind: 'categorical' },
    ],
  },
  files: [{ path: 'model.json', role: 'model' }],
};
const VERSION = 1;
/** The client's gzip, as the worker finds it (Node 22 has CompressionStream). */
const GZIP = detectSyncPlatform().gzip;

type Step =
  | { kind: 'record'; count: number }
  /** A manual sync, with `during` events recorded while it runs. */
  | { kind: 'sync'; during: number }
  | { kind: 'restart-client' }
  | { kind: 'restart-server' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({ kind: fc.constant('record' as const), count: fc.integer({ min: 1, max: 12 }) }),
    weight: 40,
  },
  // Several batches (of events, and of profiles) for the next sync; rare, as a schedule with one
  // costs several ordinary schedules' time.
  {
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      count: fc.integer({ min: BATCH_SIZE, max: MAX_EVENTS }),
    }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant('sync' as const), during: fc.integer({ min: 0, max: 4 }) }), weight: 40 },
  { arbitrary: fc.constant<Step>({ kind: 'restart-client' }), weight: 10 },
  { arbitrary: fc.constant<Step>({ kind: 'restart-server' }), weight: 1 },
);

// A workerd restart costs ~0.3 s: at most one per schedule, and most schedules have none.
// Profiles are recorded in about half the schedules: a profiles request costs ~12 ms, and the
// rest (events only) keeps the run inside its time budget.
const scheduleArb = fc
  .record({
    steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }),
    faults: fc.array(faultArb(), { maxLength: 8 }),
    profiles: fc.boolean(),
  })
  .filter(
    ({ steps, faults }) =>
      steps.filter((s) => s.kind === 'restart-server').length +
        faults.filter((f) => f.kind === 'restart-server').length <=
      1,
  );

/** Where the time goes, printed at the end: count and ms per kind of work (or of event). */
const stats = new Map<string, { n: number; ms: number }>();
function tally(what: string, ms = 0): void {
  const entry = stats.get(what) ?? { n: 0, ms: 0 };
  entry.n++;
  entry.ms += ms;
  stats.set(what, entry);
}
async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    tally(what, performance.now() - start);
  }
}

let edge: RealEdge;
beforeAll(async () => {
  expect(GZIP, 'no CompressionStream: the suite would not cover gzipped batches').not.toBeNull();
  edge = await RealEdge.start();
  // The edge runs model.json once on the manifest's inputs: a weightless softmax of x [-1, 2] answers its probs [-1, 2].
  const softmax = {
    class_name: 'Activation',
    config: { activation: 'softmax', batch_input_shape: [null, 2], name: 'p' },
  };
  const modelJson = {
    format: 'layers-model',
    modelTopology: { class_name: 'Sequential', config: { name: 'faults', layers: [softmax] } },
    weightsManifest: [],
  };
  expect(await edge.publish(MODEL, { 'model.json': JSON.stringify(modelJson) })).toBe(VERSION);
}, 60_000);
afterAll(async () => {
  await edge?.stop();
});

/** The n-th recorded event: two predictions, then a feedback (for some other prediction). */
function makeEvent(n: number): UnsequencedEvent {
  const id = crypto.randomUUID();
  const base = { id, ts: FIRST_TS + n * EVENT_SPACING_MS, model: MODEL.name, version: VERSION };
  const p = (n % 64) / 64;
  return n % 3 === 2
    ? { ...base, type: 'feedback', predictionId: crypto.randomUUID(), label: n % 2 }
    : { ...base, type: 'prediction', predictionId: id, outputs: [p, 1 - p], backend: 'cpu' };
}

/**
 * Records the n-th event as predict does: a prediction's event and its addition to the hour's
 * open drift profile (when `cache` is given) commit in one transaction, through the worker's
 * own functions, so the sync's seal races the real profile cache. Returns the event with its
 * seq and the profile row.
 */
async function recordOne(
  db: EdgeloopDb,
  cache: ProfileCache | null,
  n: number,
): Promise<{ event: Event; profile: StoredProfile | null }> {
  const event = makeEvent(n);
  return db.transaction('rw', db.outbox, db.meta, db.profiles, async () => {
    let profile: StoredProfile | null = null;
    if (cache && event.type === 'prediction') {
      const window = { model: event.model, version: event.version, window: hourOf(event.ts) };
      const features = { device: n % 2 === 0 ? 'pen' : 'touch' };
      const addition = predictionProfile(MODEL, Float32Array.from(event.outputs), features, event.outputs);
      profile = await addToOpenProfile(db, cache, window, addition, event.ts);
    }
    const seq = await appendEvent(db, event);
    return { event: { ...event, seq } as Event, profile };
  });
}

/** Profiles not settled yet (open or sealed; the sync seals the open ones), counted on the index. */
async function unsentProfiles(db: EdgeloopDb): Promise<number> {
  let count = 0;
  for (const state of ['open', 'sealed'] as const) {
    count += await db.profiles.where('[state+window]').between([state, Dexie.minKey], [state, Dexie.maxKey]).count();
  }
  return count;
}

const byWindowThenId = (a: { window: number; id: string }, b: { window: number; id: string }) =>
  a.window - b.window || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Every profile the recorder wrote is acknowledged on the client (`sent`) with the rows recorded
 * into it, received once on the edge with those rows, and merged once: the client's rows per
 * window are what the edge counts for it, and each window's merged count is all clients' rows.
 */
function expectProfilesOnEdge(
  clientId: string,
  stored: StoredProfile[],
  recorded: ReadonlyMap<string, { window: number; rows: number }>,
  context: () => string,
): void {
  const client = stored.map(({ id, window, rows, state }) => ({ id, window, rows, state })).sort(byWindowThenId);
  expect(client, `profiles on the client${context()}`).toEqual(
    [...recorded].map(([id, { window, rows }]) => ({ id, window, rows, state: 'sent' })).sort(byWindowThenId),
  );
  const drift = edge.drift(clientId);
  expect(
    drift.received.map(({ profileId, window, rows, status }) => ({ id: profileId, window, rows, status })),
    `profiles received by the edge${context()}`,
  ).toEqual(client.map(({ id, window, rows }) => ({ id, window, rows, status: 'accepted' })));
  const perWindow = new Map<number, number>();
  for (const p of client) perWindow.set(p.window, (perWindow.get(p.window) ?? 0) + p.rows);
  expect(
    drift.windows.map(({ window, clientRows }) => [window, clientRows]),
    `rows merged per window${context()}`,
  ).toEqual([...perWindow]);
  for (const { window, mergedCount, contributedRows } of drift.windows) {
    expect(mergedCount, `merged count of window ${window}${context()}`).toBe(contributedRows);
  }
}

type Worker = Awaited<ReturnType<typeof startWorker>>;

async function runSchedule(steps: Step[], faults: Fault[], profiles: boolean): Promise<void> {
  const factory = new IDBFactory();
  let crashed = false;
  let tab: { kill(): void } = { kill: () => undefined };
  let die: () => void = () => undefined;
  const net = faultyFetch(faults, {
    base: () => edge.url,
    restartServer: () => timed('server restart', () => edge.restart()),
    crashClient: () => {
      crashed = true;
      tab.kill();
      die();
    },
  });
  // Each tab's clock starts where the last one stopped (harness clocks move only when told).
  let now = FIRST_TS;
  // A tab may die inside any call that reaches the network: each such call races its death.
  const open = async (): Promise<{ worker: Worker; died: Promise<'died'> }> => {
    for (;;) {
      const storage = tabStorage(factory);
      const clock = manualClock(now);
      tab = storage;
      crashed = false;
      const died = new Promise<'died'>((resolve) => {
        die = () => resolve('died');
      });
      const started = await timed('open tab', () =>
        Promise.race([
          startWorker({
            storage: storage.source,
            init: { endpoint: ENDPOINT, key: CLIENT_KEY },
            deps: { fetch: net.fetch, clock, platform: { gzip: GZIP } },
          }),
          died,
        ]),
      );
      if (started === 'died') continue;
      // A tab that died mid-sync left its lease: the reopened tab waits it out (on the test clock).
      clock.advance(LEASE_MS + 1);
      now = clock.now();
      return { worker: started, died };
    }
  };
  let current = await open();
  // A clean close (tab closed or reloaded); a dead tab is only abandoned.
  const reopen = async () => {
    if (!crashed) await Promise.race([current.worker.api.dispose(), current.died]);
    current = await open();
  };
  const recorder = new EdgeloopDb('edgeloop-test', { indexedDB: factory, IDBKeyRange });
  const cache = profiles ? profileCache() : null;
  const recorded = new Map<number, Event>();
  /** The window of each profile recorded into and its rows, by id. */
  const profiled = new Map<string, { window: number; rows: number }>();
  const record = (count: number) =>
    timed('record', async () => {
      for (let i = 0; i < count && recorded.size < MAX_EVENTS; i++) {
        const { event, profile } = await recordOne(recorder, cache, recorded.size);
        recorded.set(event.seq, event);
        if (profile) profiled.set(profile.id, { window: profile.window, rows: profile.rows });
      }
    });
  const pending = () => recorder.outbox.where('state').equals('pending').count();
  // What each sync returned or threw, for the failure message.
  const outcomes: string[] = [];
  const sync = async () => {
    const { worker, died } = current;
    // What the suite claims to cover, counted (and checked over a whole run).
    if ((await pending()) > BATCH_SIZE) tally('sync of several event batches');
    if ((await unsentProfiles(recorder)) > MAX_PROFILES_PER_BATCH) tally('sync of several profile batches');
    await timed('sync', () =>
      Promise.race([
        worker.api.sync().then(
          (r) => outcomes.push(`ok pending=${r.pending}${r.otherTab ? ' otherTab' : ''}`),
          (e: unknown) => outcomes.push(e instanceof Error ? `${e.name} ${e.message}` : String(e)),
        ),
        died,
      ]),
    );
    if (crashed) await reopen();
  };

  try {
    for (const step of steps) {
      if (step.kind === 'record') await record(step.count);
      else if (step.kind === 'sync') await Promise.all([sync(), record(step.during)]);
      else if (step.kind === 'restart-client') await reopen();
      else await timed('server restart', () => edge.restart());
      if (crashed) await reopen();
    }
    if (recorded.size === 0) await record(1);
    // Sync until the outbox and the profiles drain; every fault costs at most a few attempts.
    for (let attempt = 0; attempt < faults.length * 2 + 4; attempt++) {
      const drained = (await pending()) === 0 && (await unsentProfiles(recorder)) === 0;
      if (drained && (await readIdentity(recorder))) break;
      await sync();
    }
    if (!crashed) await Promise.race([current.worker.api.dispose(), current.died]);
    await net.drain();

    const context = () => `\nrequests:\n  ${net.log.join('\n  ')}\nsyncs:\n  ${outcomes.join('\n  ')}`;
    const identity = await readIdentity(recorder);
    expect(identity, `no identity${context()}`).not.toBeNull();
    const clientId = identity?.clientId ?? '';
    const states = (await recorder.outbox.toArray()).map((r) => r.state);
    expect(
      states.filter((s) => s !== 'sent'),
      `outbox not drained${context()}`,
    ).toEqual([]);

    for (const line of net.log) {
      tally(`fault ${/"kind":"([a-z-]+)"/.exec(line)?.[1] ?? '?'}`);
      if (line.includes(' gzip ')) tally('gzip');
    }
    const stored = edge.client(clientId);
    const expected = [...recorded.entries()].sort(([a], [b]) => a - b).map(([, e]) => e);
    expect(stored?.maxSeq, `max_seq${context()}`).toBe(expected.length);
    expect(stored?.rejected, `rejected${context()}`).toBe(0);
    expect(
      stored?.events.map((e) => ({ seq: e.seq, id: e.eventId, event: JSON.parse(e.payload) as unknown })),
      `events on the edge${context()}`,
    ).toEqual(expected.map((e) => ({ seq: e.seq, id: e.id, event: e })));

    const info = await fetch(`${edge.url}/v1/clients/${clientId}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(info.status).toBe(200);
    expect(((await info.json()) as { maxSeq: number }).maxSeq).toBe(expected.length);

    expectProfilesOnEdge(clientId, await recorder.profiles.toArray(), profiled, context);
  } finally {
    if (!crashed) await Promise.race([current.worker.api.dispose().catch(() => undefined), current.died]);
    await net.drain();
    recorder.close();
  }
}

test('every recorded event and profile reaches the real edge exactly once (events in order), whatever the network does', async () => {
  console.log(`faults: seed=${SEED} numRuns=${RUNS}${PATH ? ` path=${PATH}` : ''}`);
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(scheduleArb, ({ steps, faults, profiles }) =>
      timed('schedule', () => runSchedule(steps, faults, profiles)),
    ),
    {
      seed: SEED,
      numRuns: RUNS,
      ...(PATH ? { path: PATH } : {}),
      // Shrinking restarts workerd many times: only when asked (FAULTS_SHRINK=1).
      endOnFailure: process.env.FAULTS_SHRINK !== '1',
    },
  );
  console.log(`faults: ${RUNS} schedules in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(
    `faults: ${[...stats].map(([k, v]) => `${k} ${v.n}×${v.ms ? ` ${(v.ms / 1000).toFixed(1)} s` : ''}`).join(', ')}`,
  );
  // A full run must reach these (a few dozen times each by the weights); a replay or a short run need not.
  if (!PATH && RUNS >= 1000) {
    for (const what of ['sync of several event batches', 'sync of several profile batches', 'gzip']) {
      expect(stats.get(what)?.n ?? 0, `no ${what} in ${RUNS} schedules`).toBeGreaterThan(0);
    }
  }
}, 600_000);
