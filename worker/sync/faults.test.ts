// Randomised fault suite: the real sync (worker API → syncAll → EdgeClient, Dexie on
// fake-indexeddb) against the real edge in workerd, through a fetch that loses, fails,
// duplicates, delays and reorders requests, with tab crashes and server restarts. Property:
// once the outbox drains, the edge holds every recorded event exactly once, in seq order.
// Replay a failure: FAULTS_SEED=<seed> FAULTS_PATH=<path> (printed), FAULTS_RUNS=<n>.
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Event } from '../../protocol/events.ts';
import { EdgeloopDb, type IndexedDbSource, readIdentity } from '../db.ts';
import { manualClock } from '../test/clock.ts';
import { type Fault, faultArb, faultyFetch } from '../test/faulty-fetch.ts';
import { startWorker } from '../test/harness.ts';
import { ADMIN_KEY, CLIENT_KEY, RealEdge } from '../test/real-edge.ts';
import { LEASE_MS } from './lock.ts';
import { appendEvent, type UnsequencedEvent } from './outbox.ts';

const { process } = globalThis as unknown as { process: { env: Record<string, string | undefined> } };
const RUNS = Number(process.env.FAULTS_RUNS ?? 1000);
const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 2 ** 31);
const PATH = process.env.FAULTS_PATH;
/** The client's endpoint; the faulty fetch sends to wherever workerd listens now. */
const ENDPOINT = 'http://edge.faults';
const MAX_EVENTS = 40;

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
  { arbitrary: fc.record({ kind: fc.constant('sync' as const), during: fc.integer({ min: 0, max: 4 }) }), weight: 40 },
  { arbitrary: fc.constant<Step>({ kind: 'restart-client' }), weight: 10 },
  { arbitrary: fc.constant<Step>({ kind: 'restart-server' }), weight: 1 },
);

// A workerd restart costs ~0.3 s: at most one per schedule, and most schedules have none.
const scheduleArb = fc
  .record({
    steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }),
    faults: fc.array(faultArb(), { maxLength: 8 }),
  })
  .filter(
    ({ steps, faults }) =>
      steps.filter((s) => s.kind === 'restart-server').length +
        faults.filter((f) => f.kind === 'restart-server').length <=
      1,
  );

/** Where the time goes, printed at the end: count and ms per kind of work. */
const stats = new Map<string, { n: number; ms: number }>();
async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    const entry = stats.get(what) ?? { n: 0, ms: 0 };
    entry.n++;
    entry.ms += performance.now() - start;
    stats.set(what, entry);
  }
}

let edge: RealEdge;
beforeAll(async () => {
  edge = await RealEdge.start();
}, 60_000);
afterAll(async () => {
  await edge?.stop();
});

/** An IndexedDB source for one tab whose connections `kill()` closes, as when the tab dies. */
function tabStorage(factory: IDBFactory): { source: IndexedDbSource; kill(): void } {
  const open: IDBDatabase[] = [];
  const indexedDB = new Proxy(factory, {
    get(target, prop) {
      if (prop === 'open') {
        return (name: string, version?: number) => {
          const request = target.open(name, version);
          request.addEventListener('success', () => open.push(request.result));
          return request;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const kill = () => {
    for (const db of open.splice(0)) db.close();
  };
  return { source: { indexedDB, IDBKeyRange }, kill };
}

function makeEvent(n: number): UnsequencedEvent {
  const id = crypto.randomUUID();
  const base = { id, ts: 1_700_000_000_000 + n, model: 'digits', version: 1 };
  return n % 3 === 2
    ? { ...base, type: 'feedback', predictionId: crypto.randomUUID(), label: n % 10 }
    : { ...base, type: 'prediction', predictionId: id, outputs: [n / 64, 1 - n / 64], backend: 'cpu' };
}

type Worker = Awaited<ReturnType<typeof startWorker>>;

async function runSchedule(steps: Step[], faults: Fault[]): Promise<void> {
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
  let now = 1_700_000_000_000;
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
            deps: { fetch: net.fetch, clock },
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
  const recorded = new Map<number, Event>();
  const record = async (count: number) => {
    for (let i = 0; i < count && recorded.size < MAX_EVENTS; i++) {
      const event = makeEvent(recorded.size);
      const seq = await recorder.transaction('rw', recorder.outbox, recorder.meta, () => appendEvent(recorder, event));
      recorded.set(seq, { ...event, seq } as Event);
    }
  };
  // What each sync returned or threw, for the failure message.
  const outcomes: string[] = [];
  const sync = async () => {
    const { worker, died } = current;
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
    // Sync until the outbox drains; every fault costs at most a few attempts.
    const pending = () => recorder.outbox.where('state').equals('pending').count();
    for (let attempt = 0; attempt < faults.length * 2 + 4; attempt++) {
      if ((await pending()) === 0 && (await readIdentity(recorder))) break;
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
      const kind = /"kind":"([a-z-]+)"/.exec(line)?.[1] ?? '?';
      const entry = stats.get(`fault ${kind}`) ?? { n: 0, ms: 0 };
      entry.n++;
      stats.set(`fault ${kind}`, entry);
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
  } finally {
    if (!crashed) await Promise.race([current.worker.api.dispose().catch(() => undefined), current.died]);
    await net.drain();
    recorder.close();
  }
}

test('every recorded event reaches the real edge exactly once, in order, whatever the network does', async () => {
  console.log(`faults: seed=${SEED} numRuns=${RUNS}${PATH ? ` path=${PATH}` : ''}`);
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(scheduleArb, ({ steps, faults }) => timed('schedule', () => runSchedule(steps, faults))),
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
}, 600_000);
