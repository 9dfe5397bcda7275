import { env } from 'cloudflare:workers';
import { expect } from 'vitest';
import type { ClientIdentity } from '../../protocol/clients.ts';
import type { Manifest } from '../../protocol/manifest.ts';
import { buildProfile, type Profile, type ProfileRow, WINDOW_MS } from '../../protocol/profile/index.ts';
import { DEFAULT_PROBATION_HOURS } from '../src/drift/standing.ts';
import { driftStub } from '../src/drift/stub.ts';
import { bytes, CLIENT_KEY, modelFiles, publish, registerClient, sendAsClient } from './helpers.ts';

// Drift fixtures: a model with a numeric feature `x` (reference N(0, 1)) and a categorical
// `color` (mostly red), two input values and three output classes (a Dense layer, 2 → 3), and
// a reference profile made with buildProfile.

export const FEATURES: Manifest['features'] = {
  features: [
    { name: 'x', kind: 'numeric', drift: { method: 'wasserstein', threshold: 0.1 } },
    { name: 'color', kind: 'categorical', drift: { method: 'jensenshannon', threshold: 0.1 } },
  ],
};

/** Deterministic rows: x ~ N(mean, 1); color red/green/blue with weights `colors`. */
export function rows(
  n: number,
  seed: number,
  mean = 0,
  colors: [number, number, number] = [0.6, 0.3, 0.1],
): ProfileRow[] {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    // xorshift32: enough for test data, and the same rows every run.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4_294_967_296;
  };
  return Array.from({ length: n }, () => {
    const x = mean + Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const u = uniform();
    const color = u < colors[0] ? 'red' : u < colors[0] + colors[1] ? 'green' : 'blue';
    return { x, color };
  });
}

export const profileOf = (data: readonly ProfileRow[]): Profile => buildProfile(data, FEATURES);
export const inDistribution = (n: number, seed: number): Profile => profileOf(rows(n, seed));
export const shifted = (n: number, seed: number): Profile => profileOf(rows(n, seed, 3, [0.1, 0.1, 0.8]));

/** The files of the drift model `tag`, x [-1, 2] → `units` scores (3 by default), as {@link driftManifest} lists them. */
export const driftModelFiles = (tag: string, units = 3): Record<string, Uint8Array> =>
  modelFiles(tag, { inputs: 2, units });

/**
 * A manifest with the drift features, the signature of {@link driftModelFiles}' model (3 output
 * classes) and (unless `reference` is false) a reference file.
 */
export function driftManifest(name: string, reference = true): Manifest {
  return {
    v: 1,
    name,
    format: 'tfjs-layers',
    inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2] }],
    outputs: [{ name: 'probs', dtype: 'float32', shape: [-1, 3] }],
    features: FEATURES,
    files: [
      { path: 'model.json', role: 'model' },
      { path: 'weights.bin', role: 'weights' },
      ...(reference ? [{ path: 'reference.json', role: 'reference' as const }] : []),
    ],
    ...(reference ? { reference: { path: 'reference.json' } } : {}),
  };
}

/** Publishes the next version of `model` with a reference of 2000 in-distribution rows; returns its number. */
export async function publishDrift(model: string, reference = true): Promise<number> {
  const files = driftModelFiles(model);
  if (reference) files['reference.json'] = bytes(JSON.stringify(inDistribution(2000, 7)));
  const res = await publish(model, files, driftManifest(model, reference));
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { version: number }).version;
}

/** Start of the hour `hoursAgo` hours before the current one. */
export const hourAgo = (hoursAgo: number): number =>
  Math.floor(Date.now() / WINDOW_MS) * WINDOW_MS - hoursAgo * WINDOW_MS;

let ids = 0;
/** An envelope with a fresh id unless given. */
export const envelope = (
  model: string,
  version: number,
  window: number,
  profile: unknown,
  id = `p-${++ids}-${crypto.randomUUID().slice(0, 8)}`,
) => ({
  id,
  model,
  version,
  window,
  profile,
});

/**
 * Makes a registered client established for drift (first seen two probation periods ago), as
 * a device that has been syncing for days is: only established clients' rows are judged.
 */
export async function establish(clientId: string): Promise<void> {
  const ago = 2 * DEFAULT_PROBATION_HOURS * 3_600_000;
  await env.DB.prepare('UPDATE clients SET first_seen = ? WHERE client_id = ?')
    .bind(Date.now() - ago, clientId)
    .run();
}

/** A newly registered client, made established. */
export async function establishedClient(): Promise<ClientIdentity> {
  const identity = await registerClient();
  await establish(identity.clientId);
  return identity;
}

// The client registered for each name, so one name is one client across posts.
const identities = new Map<string, Promise<ClientIdentity>>();

/** The established client registered for `name` (registered on first use). */
export function clientNamed(name: string): Promise<ClientIdentity> {
  const known = identities.get(name) ?? establishedClient();
  identities.set(name, known);
  return known;
}

/** Posts a profile batch as the established client registered for `name`, with its token; returns the response. */
export async function postProfiles(name: string, profiles: unknown[], key = CLIENT_KEY): Promise<Response> {
  const { clientId, token } = await clientNamed(name);
  return sendAsClient('POST', '/v1/profiles', { v: 1, clientId, profiles }, token, key);
}

/** The merged profile the aggregator holds for [from, to). */
export const mergedOf = (model: string, version: number, from: number, to: number) =>
  driftStub(env, model, version).merged(from, to);
