import * as v from 'valibot';
import { sha256Hex } from '../../protocol/hash.ts';
import type { VersionInfo } from '../../protocol/registry.ts';
import {
  type CurrentRound,
  Evaluation,
  type EvaluationReceipt,
  EXAMPLES_HEADER,
  ROUND_DEFAULTS,
  type UpdateReceipt,
} from '../../protocol/rounds.ts';

/** What a device is told of a round (`GET …/rounds/current`). */
export type FakeRoundOffer = NonNullable<CurrentRound['round']>;

/** A round as the fake edge holds it: open or not, who asked for it and the updates it took. */
export interface FakeRound {
  offer: FakeRoundOffer;
  open: boolean;
  /** Clients that asked for the round while it was open. */
  eligible: Set<string>;
  /** The updates taken, by client id (one each: a retry of the same bytes is a duplicate). */
  updates: Map<string, { values: Float32Array; examples: number; bytes: Uint8Array }>;
  /** Set while the round gates its candidate (`gate`): the weights its contributors evaluate. */
  gating: { bytes: Uint8Array; sha256: string; until: number } | null;
  /** The held-out evaluations taken, by client id. */
  evaluations: Map<string, Evaluation>;
}

/** How the next update POSTs go wrong: no connection, reply lost after storing, or an error status. */
export type UpdatesFailure = 'network' | 'lost-reply' | { status: number; code: string };

/**
 * The device side of federated rounds on the fake edge, minimally (the real edge's rounds run in
 * workerd tests): `open` a round on a published version, then the current round and update
 * routes as the contract has them: the delta's length must be the base weights file's values,
 * finite, with an integer `Edgeloop-Examples` ≥ 1; the same bytes again are a duplicate, other
 * bytes from the same client DUPLICATE_UPDATE, a closed round ROUND_CLOSED. `gate` moves a round
 * to gating with candidate weights: the current round then asks each contributor that has not
 * evaluated it (`evaluate`), which downloads the candidate and posts its counts once (the same
 * body again is a duplicate, another DUPLICATE_UPDATE, a non-contributor FORBIDDEN).
 *
 * @example
 * const round = edge.rounds.open('digits', 1, { minExamples: 20 });
 * await edge.rounds.gate(round.id, candidateValues);
 * edge.rounds.close(round.id);
 */
export class FakeRounds {
  readonly rounds = new Map<string, FakeRound>();
  updatesFailures: UpdatesFailure[] = [];
  /** How the next evaluation POSTs go wrong. */
  evaluationsFailures: UpdatesFailure[] = [];
  readonly #versions: Map<string, VersionInfo>;
  readonly #bytes: Map<string, Uint8Array>;
  #next = 0;

  constructor(versions: Map<string, VersionInfo>, bytes: Map<string, Uint8Array>) {
    this.#versions = versions;
    this.#bytes = bytes;
  }

  /** Opens a round on `model` v`version` (published before) with the round defaults, `settings` overriding them. */
  open(
    model: string,
    version: number,
    settings: Partial<Pick<FakeRoundOffer, 'localEpochs' | 'learningRate' | 'clipNorm' | 'minExamples'>> = {},
  ): FakeRoundOffer {
    const info = this.#versions.get(`${model}/${version}`);
    const modelJson = this.#bytes.get(`${model}/${version}/model.json`);
    if (!info || !modelJson) throw new Error(`publish ${model} v${version} (with a model.json) first`);
    const { weightsManifest } = JSON.parse(new TextDecoder().decode(modelJson)) as {
      weightsManifest: { paths: string[]; weights: { shape: number[] }[] }[];
    };
    const path = weightsManifest[0]?.paths[0] ?? '';
    const file = info.files.find((f) => f.path === path);
    if (!file) throw new Error(`${model} v${version} lists no ${path}`);
    const values = weightsManifest
      .flatMap((group) => group.weights)
      .reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
    const offer: FakeRoundOffer = {
      id: `round_${++this.#next}`,
      model,
      baseVersion: version,
      deadline: Date.now() + ROUND_DEFAULTS.durationMs,
      localEpochs: settings.localEpochs ?? ROUND_DEFAULTS.localEpochs,
      learningRate: settings.learningRate ?? ROUND_DEFAULTS.learningRate,
      clipNorm: settings.clipNorm ?? ROUND_DEFAULTS.clipNorm,
      minExamples: settings.minExamples ?? ROUND_DEFAULTS.minExamples,
      weights: { path, sha256: file.sha256, values },
    };
    for (const round of this.rounds.values()) if (round.offer.model === model) round.open = false;
    this.rounds.set(offer.id, {
      offer,
      open: true,
      eligible: new Set(),
      updates: new Map(),
      gating: null,
      evaluations: new Map(),
    });
    return offer;
  }

  /** Stops the round taking updates (its deadline passed, or it was cancelled) and evaluations. */
  close(id: string): void {
    const round = this.rounds.get(id);
    if (round) {
      round.open = false;
      round.gating = null;
    }
  }

  /** Closes the round to updates and gates `candidate` (the base's weights order): its contributors evaluate it. */
  async gate(id: string, candidate: Float32Array): Promise<void> {
    const round = this.get(id);
    const view = new DataView(new ArrayBuffer(candidate.length * 4));
    candidate.forEach((x, i) => {
      view.setFloat32(i * 4, x, true);
    });
    const bytes = new Uint8Array(view.buffer);
    round.open = false;
    round.gating = { bytes, sha256: await sha256Hex(bytes), until: Date.now() + 60_000 };
  }

  /** The round of `id`, or an error: for tests that look inside. */
  get(id: string): FakeRound {
    const round = this.rounds.get(id);
    if (!round) throw new Error(`no round ${id}`);
    return round;
  }

  /** The rounds routes (`route`: the path's segments) for a client whose token checked out; `body` gunzipped and parsed. */
  handle(method: string, route: string[], clientId: string, body: unknown, headers: Headers): Response {
    const [model, id, action] = [route[3] ?? '', route[5] ?? '', route[6]];
    if (method === 'GET' && id === 'current' && route.length === 6) return this.current(model, clientId);
    if (route.length === 7 && method === 'POST' && action === 'updates' && body instanceof Uint8Array) {
      return this.update(model, id, clientId, body, headers);
    }
    if (route.length === 7 && method === 'GET' && action === 'candidate') return this.candidate(model, id, clientId);
    if (route.length === 7 && method === 'POST' && action === 'evaluations') {
      return this.evaluation(model, id, clientId, body);
    }
    return error(404, 'NOT_FOUND', route.join('/'));
  }

  /** `GET …/rounds/current`: the open round, and a gating one this client contributed to and has not evaluated. */
  current(model: string, clientId: string): Response {
    const round = [...this.rounds.values()].find((r) => r.open && r.offer.model === model);
    round?.eligible.add(clientId);
    // The newest such round, as the edge picks it.
    const gating = [...this.rounds.values()]
      .reverse()
      .find((r) => r.offer.model === model && r.gating && r.updates.has(clientId) && !r.evaluations.has(clientId));
    const evaluate = gating?.gating
      ? {
          id: gating.offer.id,
          baseVersion: gating.offer.baseVersion,
          candidate: { sha256: gating.gating.sha256, values: gating.offer.weights.values },
          until: gating.gating.until,
        }
      : null;
    const reply: CurrentRound = { v: 1, round: round ? round.offer : null, evaluate };
    return Response.json(reply);
  }

  /** Why `clientId` may not evaluate round `id` now, or null. */
  #refusal(model: string, id: string, clientId: string): Response | null {
    const round = this.rounds.get(id);
    if (!round || round.offer.model !== model) return error(404, 'ROUND_NOT_FOUND', id);
    if (!round.updates.has(clientId)) return error(403, 'FORBIDDEN', `${clientId} sent no update to ${id}`);
    if (!round.gating) return error(409, 'ROUND_CLOSED', `${id} is not gating`);
    return null;
  }

  /** `GET …/rounds/{id}/candidate`: the gated weights, with their sha256 as ETag. */
  candidate(model: string, id: string, clientId: string): Response {
    const refusal = this.#refusal(model, id, clientId);
    const gating = this.rounds.get(id)?.gating;
    if (refusal || !gating) return refusal ?? error(409, 'ROUND_CLOSED', id);
    return new Response(gating.bytes.slice(), { headers: { etag: `"${gating.sha256}"` } });
  }

  /** `POST …/rounds/{id}/evaluations`: the counts, once per client (the same again: duplicate). */
  evaluation(model: string, id: string, clientId: string, body: unknown): Response {
    const failure = this.evaluationsFailures.shift();
    if (failure === 'network') throw new TypeError('fetch failed');
    if (failure && failure !== 'lost-reply') return error(failure.status, failure.code, 'refused by the test');
    const parsed = v.safeParse(Evaluation, body);
    if (!parsed.success) return error(400, 'INVALID_BODY', parsed.issues[0].message);
    const earlier = this.rounds.get(id)?.evaluations.get(clientId);
    if (earlier && JSON.stringify(earlier) !== JSON.stringify(parsed.output)) {
      return error(409, 'DUPLICATE_UPDATE', `${clientId} evaluated ${id} differently`);
    }
    if (!earlier) {
      const refusal = this.#refusal(model, id, clientId);
      if (refusal) return refusal;
      this.get(id).evaluations.set(clientId, parsed.output);
    }
    if (failure === 'lost-reply') throw new TypeError('fetch failed: connection reset');
    const reply: EvaluationReceipt = { v: 1, roundId: id, clientId, duplicate: earlier !== undefined };
    return Response.json(reply);
  }

  /** `POST …/rounds/{id}/updates` for a client whose token checked out; `body` gunzipped already. */
  update(model: string, id: string, clientId: string, body: Uint8Array, headers: Headers): Response {
    const failure = this.updatesFailures.shift();
    if (failure === 'network') throw new TypeError('fetch failed');
    if (failure && failure !== 'lost-reply') return error(failure.status, failure.code, 'refused by the test');
    const round = this.rounds.get(id);
    if (!round || round.offer.model !== model) return error(404, 'ROUND_NOT_FOUND', id);
    const examples = Number(headers.get(EXAMPLES_HEADER));
    if (!Number.isInteger(examples) || examples < 1)
      return error(422, 'INVALID_UPDATE', `${EXAMPLES_HEADER} missing or bad`);
    if (headers.get('content-type') !== 'application/octet-stream') {
      return error(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/octet-stream');
    }
    const earlier = round.updates.get(clientId);
    if (earlier) {
      if (!sameBytes(earlier.bytes, body)) return error(409, 'DUPLICATE_UPDATE', 'this client sent other bytes');
      return receipt(id, clientId, earlier.examples, true);
    }
    if (!round.open) return error(409, 'ROUND_CLOSED', id);
    if (body.byteLength !== round.offer.weights.values * 4) {
      return error(422, 'INVALID_UPDATE', `${body.byteLength / 4} values; the base has ${round.offer.weights.values}`);
    }
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const values = Float32Array.from({ length: body.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
    if (values.some((x) => !Number.isFinite(x))) return error(422, 'INVALID_UPDATE', 'a value is not finite');
    round.updates.set(clientId, { values, examples, bytes: body.slice() });
    if (failure === 'lost-reply') throw new TypeError('fetch failed: connection reset');
    return receipt(id, clientId, examples, false);
  }
}

function receipt(roundId: string, clientId: string, examples: number, duplicate: boolean): Response {
  const body: UpdateReceipt = { v: 1, roundId, clientId, examples, duplicate };
  return Response.json(body);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

function error(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}
