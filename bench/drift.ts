import { DIGIT_FEATURES, digitFeatures } from '../models/digits/features.ts';
import {
  buildProfile,
  driftReport,
  mergeProfiles,
  type Profile,
  type ProfileRow,
  seededRandom,
} from '../protocol/index.ts';
import { clientHeaders, registerClient } from './identity.ts';

const schema = { features: DIGIT_FEATURES };
const HOUR = 3_600_000;

/** A client's hour of `rows` digit-like feature rows and 10-class outputs. */
function clientProfile(random: () => number, rows: number): Profile {
  const data: ProfileRow[] = [];
  const outputs: number[][] = [];
  for (let i = 0; i < rows; i++) {
    const pixels = Float32Array.from({ length: 784 }, () => (random() < 0.15 ? random() : 0));
    data.push(digitFeatures(pixels));
    const label = Math.floor(random() * 10);
    outputs.push(Array.from({ length: 10 }, (_, c) => (c === label ? 0.9 : 0.01)));
  }
  return buildProfile(data, schema, { outputs, classes: 10 });
}

/**
 * Profiles through the edge: bytes per client profile (100 rows, the digits model's 4
 * features and outputs), profiles merged per second by the Durable Object through
 * `POST /v1/profiles` (200 registered clients × 5 profiles, one request per client), and merges per
 * second of the same profiles in-process, for comparison.
 */
export async function benchProfiles(url: string, clientKey: string) {
  const random = seededRandom(7);
  const clients = 200;
  const perClient = 5;
  const profiles = Array.from({ length: clients * perClient }, () => clientProfile(random, 100));
  const bytes = profiles.map((p) => JSON.stringify(p).length);
  const window = Math.floor(Date.now() / HOUR) * HOUR;
  const identities = [];
  for (let c = 0; c < clients; c++) identities.push(await registerClient(url, clientKey));
  const started = performance.now();
  for (const [c, identity] of identities.entries()) {
    const body = {
      v: 1,
      clientId: identity.clientId,
      profiles: profiles.slice(c * perClient, (c + 1) * perClient).map((profile, i) => ({
        id: `p${i}`,
        model: 'digits',
        version: 1,
        window,
        profile,
      })),
    };
    const res = await fetch(`${url}/v1/profiles`, {
      method: 'POST',
      headers: clientHeaders(clientKey, identity),
      body: JSON.stringify(body),
    });
    const result = (await res.json()) as { accepted?: number };
    if (!res.ok || result.accepted !== perClient)
      throw new Error(`profiles: HTTP ${res.status} ${JSON.stringify(result)}`);
  }
  const edgeSeconds = (performance.now() - started) / 1000;

  const local = performance.now();
  profiles.reduce((a, b) => mergeProfiles(a, b));
  const localSeconds = (performance.now() - local) / 1000;
  return {
    profiles: profiles.length,
    bytesPerProfile: Math.round(bytes.reduce((a, b) => a + b, 0) / bytes.length),
    edgeMergedPerSecond: profiles.length / edgeSeconds,
    localMergesPerSecond: (profiles.length - 1) / localSeconds,
  };
}

/**
 * Sketch error against exact: a log-normal reference and a shifted current sample of 200,000
 * values each, profiled in 20 parts merged, against statistics on the raw values.
 */
export function benchSketchError() {
  const random = seededRandom(11);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const sample = (shift: number) => Float64Array.from({ length: 200_000 }, () => Math.exp(normal() * 0.6 + shift));
  const reference = sample(0);
  const current = sample(0.1);
  const profileOf = (values: Float64Array) => {
    const parts: Profile[] = [];
    for (let p = 0; p < 20; p++) {
      const slice = values.subarray(p * 10_000, (p + 1) * 10_000);
      parts.push(
        buildProfile(
          Array.from(slice, (x) => ({ x })),
          { features: [{ name: 'x', kind: 'numeric' }] },
        ),
      );
    }
    return parts.reduce((a, b) => mergeProfiles(a, b));
  };
  const features = (method: 'ks' | 'wasserstein' | 'psi') => [
    { name: 'x', kind: 'numeric' as const, drift: { method } },
  ];
  const sketched = (method: 'ks' | 'wasserstein' | 'psi') =>
    driftReport(profileOf(reference), profileOf(current), { features: features(method) }).features[0]?.statistic ??
    Number.NaN;
  const exactRef = Float64Array.from(reference).sort();
  const exactCur = Float64Array.from(current).sort();
  const exact = {
    ks: exactKs(exactRef, exactCur),
    wasserstein: exactWasserstein(exactRef, exactCur) / std(reference),
  };
  return {
    ks: { exact: exact.ks, sketch: sketched('ks') },
    wasserstein: { exact: exact.wasserstein, sketch: sketched('wasserstein') },
  };
}

function std(values: Float64Array): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
}

/** max |F_a − F_b| over both sorted samples. */
function exactKs(a: Float64Array, b: Float64Array): number {
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const x = Math.min(a[i] as number, b[j] as number);
    while (i < a.length && (a[i] as number) <= x) i++;
    while (j < b.length && (b[j] as number) <= x) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}

/** ∫|F_a − F_b| dx for two equal-size sorted samples: the mean gap between order statistics. */
function exactWasserstein(a: Float64Array, b: Float64Array): number {
  let total = 0;
  for (let i = 0; i < a.length; i++) total += Math.abs((a[i] as number) - (b[i] as number));
  return total / a.length;
}
