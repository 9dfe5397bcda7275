// Fleet learning: simulated devices (the real worker code in Node, each with its own IndexedDB
// and identity) take part in federated rounds against the real edge in workerd. Non-IID: each
// device writes mostly in one style and a little in a second. Reports, after each round, the
// served model's accuracy per style and on the standard set, ε spent, seconds per round and bytes
// uploaded per device; and the privacy–utility table over noise multipliers and fleet sizes.
//   node bench/fleet.ts     (FLEETS=20,100 NOISES=0,1.5 ROUNDS=3 LABELS=20 STYLES=slanted,wide,…)
import { readFileSync } from 'node:fs';
import { decodeDigitRecords, PIXELS } from '../models/digits/data.ts';
import { userStyle } from '../models/digits/user-styles.ts';
import { seededRandom } from '../protocol/random.ts';
import type { Round } from '../protocol/rounds.ts';
import { startWorker } from '../worker/test/harness.ts';
import { ADMIN_KEY, CLIENT_KEY, RealEdge } from '../worker/test/real-edge.ts';

type Api = Awaited<ReturnType<typeof startWorker>>['api'];
const ARTIFACTS = new URL('../models/digits/artifacts/', import.meta.url);
const MODEL = 'digits';

const list = (name: string, fallback: string) => (process.env[name] ?? fallback).split(',').filter(Boolean);
const STYLES = list('STYLES', 'slanted,wide,bold,tilted');
const records = decodeDigitRecords(readFileSync(new URL('holdout.bin', ARTIFACTS)));
const image = (i: number) => Float32Array.from(records.pixels.subarray(i * PIXELS, (i + 1) * PIXELS), (b) => b / 255);
// Held-out indexes: 0–399 measure (standard and styled), 400+ are what devices label.
const EVAL = Array.from({ length: 400 }, (_, i) => i);
const POOL_START = 400;

async function admin(edge: RealEdge, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${edge.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

async function publishDemo(edge: RealEdge): Promise<number> {
  const manifest = JSON.parse(readFileSync(new URL('manifest.json', ARTIFACTS), 'utf8')) as {
    files: { path: string }[];
  };
  const form = new FormData();
  form.append('manifest', JSON.stringify(manifest));
  for (const f of manifest.files) form.append(f.path, new Blob([readFileSync(new URL(f.path, ARTIFACTS))]), f.path);
  const res = await fetch(`${edge.url}/v1/models/${MODEL}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    body: form,
  });
  if (res.status !== 201) throw new Error(`publish: HTTP ${res.status} ${await res.text()}`);
  const { version } = (await res.json()) as { version: number };
  await admin(edge, 'PUT', `/v1/models/${MODEL}/aliases/production`, { version });
  return version;
}

async function device(edge: RealEdge, k: number): Promise<Api> {
  const { api } = await startWorker({
    backend: 'cpu',
    deps: { fetch: (input, init) => fetch(input, init) },
    init: { endpoint: edge.url, key: CLIENT_KEY, dbName: `fleet-${k}` },
  });
  await api.load({ v: 1, model: MODEL });
  return api;
}

/** Accuracy of what `api` serves on the measuring digits, standard and in each style. */
async function measure(api: Api): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of ['standard', ...STYLES]) {
    const random = seededRandom(99);
    let right = 0;
    for (const i of EVAL) {
      const pixels = name === 'standard' ? image(i) : userStyle(name).apply(image(i), random);
      if ((await api.predict(pixels)).label === records.labels[i]) right++;
    }
    out[name] = right / EVAL.length;
  }
  return out;
}

export interface FleetRun {
  fleet: number;
  noise: number;
  rounds: {
    round: number;
    status: string;
    blessed: boolean | null;
    contributors: number;
    epsilon: number | null;
    cumulativeEpsilon: number | null;
    seconds: number;
    bytesPerDevice: number;
    accuracy: Record<string, number>;
    /** The gate's fleet set: base and candidate accuracy on the labels the devices held out. */
    fleet: { examples: number; base: number | null; candidate: number } | null;
  }[];
  base: Record<string, number>;
}

/**
 * One fleet of `fleet` devices through `rounds` rounds at `noise`: each round every device labels
 * `labels` new digits in its mix (70% its own style, 30% the next one) and takes part, then
 * evaluates the candidate on the labels it held out when the round asks; a blessed
 * candidate is promoted by hand before the next round (the policy's canary step is measured by
 * the edge tests and the Playwright spec, not here).
 */
export async function benchFleet(options: {
  fleet: number;
  noise: number;
  rounds: number;
  labels: number;
}): Promise<FleetRun> {
  const edge = await RealEdge.start();
  try {
    await publishDemo(edge);
    const probe = await device(edge, -1);
    const base = await measure(probe);
    const devices: Api[] = [];
    for (let k = 0; k < options.fleet; k++) devices.push(await device(edge, k));
    const rounds: FleetRun['rounds'] = [];
    let next = POOL_START;
    for (let r = 1; r <= options.rounds; r++) {
      const started = performance.now();
      const round = (await admin(edge, 'POST', `/v1/models/${MODEL}/rounds`, {
        v: 1,
        settings: {
          minClients: options.fleet,
          maxClients: options.fleet,
          exampleCap: options.labels,
          minExamples: 5,
          noiseMultiplier: options.noise,
          evaluationSeconds: 3_600,
          deadline: Date.now() + 3_600_000,
        },
      })) as Round;
      let bytes = 0;
      for (const [k, api] of devices.entries()) {
        const random = seededRandom(1000 * r + k);
        for (let j = 0; j < options.labels; j++) {
          const style = STYLES[(k + (j % 10 < 7 ? 0 : 1)) % STYLES.length] as string;
          const i = POOL_START + ((next++ - POOL_START) % (records.count - POOL_START));
          const { predictionId } = await api.predict(userStyle(style).apply(image(i), random));
          await api.feedback(predictionId, records.labels[i] as number);
        }
        const result = await api.participate({ v: 1 });
        if (result.status !== 'sent') throw new Error(`device ${k} round ${r}: ${JSON.stringify(result)}`);
        bytes += result.bytes;
      }
      const settled = async (live: readonly string[]) => {
        let now = (await admin(edge, 'GET', `/v1/models/${MODEL}/rounds/${round.id}`)) as Round;
        while (live.includes(now.status)) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          now = (await admin(edge, 'GET', `/v1/models/${MODEL}/rounds/${round.id}`)) as Round;
        }
        return now;
      };
      // Aggregated, the round asks its contributors for their held-out counts.
      if ((await settled(['open', 'aggregating'])).status === 'gating') {
        for (const [k, api] of devices.entries()) {
          const result = await api.participate({ v: 1 });
          if (result.status !== 'evaluated') throw new Error(`device ${k} round ${r}: ${JSON.stringify(result)}`);
        }
      }
      const done = await settled(['open', 'aggregating', 'gating']);
      const fleetSet = done.gate?.metrics.find((m) => m.set === 'fleet');
      const seconds = (performance.now() - started) / 1000;
      const blessed = done.gate?.blessed ?? null;
      if (blessed && done.candidateVersion) {
        await admin(edge, 'PUT', `/v1/models/${MODEL}/aliases/production`, {
          version: done.candidateVersion,
          reason: `fleet bench round ${r}`,
        });
        for (const api of [probe, ...devices]) await api.refresh();
      }
      const privacy = (await admin(edge, 'GET', `/v1/models/${MODEL}/rounds`)) as {
        privacy: { epsilon: number | null };
      };
      rounds.push({
        round: r,
        status: done.status,
        blessed,
        contributors: done.contributors,
        epsilon: done.privacy?.epsilon ?? null,
        cumulativeEpsilon: privacy.privacy.epsilon,
        seconds,
        bytesPerDevice: bytes / options.fleet,
        accuracy: await measure(probe),
        fleet: fleetSet
          ? { examples: fleetSet.examples, base: fleetSet.baseline, candidate: fleetSet.candidate }
          : null,
      });
      console.error(
        `fleet ${options.fleet} σ=${options.noise} round ${r}: ${done.status} ${blessed ? 'blessed' : 'not blessed'} ${seconds.toFixed(0)} s`,
        rounds.at(-1)?.accuracy,
        done.gate?.reasons,
      );
    }
    for (const api of [probe, ...devices]) await api.dispose();
    return { fleet: options.fleet, noise: options.noise, rounds, base };
  } finally {
    await edge.stop();
  }
}

const pct = (x: number) => (x * 100).toFixed(1);

/** One row per fleet, noise and round: accuracy per style and standard, ε, time, bytes. */
export function fleetTable(runs: readonly FleetRun[]) {
  return runs.flatMap((run) => [
    {
      fleet: run.fleet,
      σ: run.noise,
      round: 0,
      ...Object.fromEntries(Object.entries(run.base).map(([k, x]) => [k, pct(x)])),
    },
    ...run.rounds.map((r) => ({
      fleet: run.fleet,
      σ: run.noise,
      round: r.round,
      ...Object.fromEntries(Object.entries(r.accuracy).map(([k, x]) => [k, pct(x)])),
      gate: r.blessed === null ? r.status : r.blessed ? 'blessed' : 'rejected',
      'fleet held-out base → candidate': r.fleet
        ? `${pct(r.fleet.base ?? 0)} → ${pct(r.fleet.candidate)} (${r.fleet.examples})`
        : '-',
      'ε (δ 1e-5)': r.cumulativeEpsilon === null ? '∞' : r.cumulativeEpsilon.toFixed(2),
      's/round': r.seconds.toFixed(0),
      'KB/device': (r.bytesPerDevice / 1024).toFixed(0),
    })),
  ]);
}

/** Every fleet size × noise multiplier of FLEETS and NOISES (defaults 20,100 and 0,1.5). */
export async function benchFleets(): Promise<FleetRun[]> {
  const runs: FleetRun[] = [];
  for (const fleet of list('FLEETS', '20,100').map(Number)) {
    for (const noise of list('NOISES', '0,1.5').map(Number)) {
      const rounds = Number(process.env.ROUNDS ?? 3);
      runs.push(await benchFleet({ fleet, noise, rounds, labels: Number(process.env.LABELS ?? 20) }));
    }
  }
  return runs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(fleetTable(await benchFleets()));
  process.exit(0);
}
