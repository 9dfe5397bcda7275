import { WorkerEntrypoint } from 'cloudflare:workers';
import * as v from 'valibot';
import { OrtCheckRequest, type OrtOutput, OrtRunRequest, type OrtRunResult } from '../../../protocol/ort.ts';
import { messageOf, OrtError, runFailure } from './failure.ts';
import { fromTensor, outputNames, toFeeds } from './feeds.ts';
import type { ort } from './ort-wasm.ts';
import { cachedModels, withNewSession, withSession } from './sessions.ts';

// edgeloop-ort: runs ONNX models for the edge Worker, which calls `env.ORT.run(request)` through
// a service binding (see ../wrangler.toml for why this is a Worker of its own). Models are read
// from the shared R2 bucket by sha256 and their sessions kept per isolate (sessions.ts).

const failed = (error: unknown): OrtRunResult => {
  const { kind, message } = error instanceof OrtError ? error : new OrtError('INTERNAL', messageOf(error));
  return { v: 1, ok: false, error: { kind, message } };
};

/** Why a request is out of protocol, as a failed result. */
function outOfProtocol(issues: readonly v.BaseIssue<unknown>[]): OrtRunResult {
  const issue = issues[0];
  const path = issue?.path?.map((p) => String(p.key)).join('.') ?? '';
  return failed(new OrtError('INVALID_INPUT', `invalid request${path ? ` at ${path}` : ''}: ${issue?.message}`));
}

/** Feeds, runs and reads one session; the outputs asked for, or all. */
async function runSession(
  session: ort.InferenceSession,
  inputs: OrtRunRequest['inputs'],
  wanted: OrtRunRequest['outputs'],
): Promise<OrtOutput[]> {
  const feeds = toFeeds(session, inputs);
  const names = outputNames(session, wanted);
  let results: Awaited<ReturnType<typeof session.run>>;
  try {
    results = await session.run(feeds, names);
  } catch (error) {
    throw runFailure(error);
  }
  try {
    return names.map((name): OrtOutput => {
      const tensor = results[name];
      if (!tensor) throw new OrtError('INTERNAL', `ONNX Runtime returned no output "${name}"`);
      return fromTensor(name, tensor);
    });
  } finally {
    for (const tensor of Object.values(results)) tensor.dispose();
  }
}

/**
 * Runs one request: validates it (protocol/ort.ts), gets the session, checks the feeds against
 * the model, runs it. Never throws: a failure is answered with its kind.
 */
export async function runRequest(bucket: R2Bucket, input: unknown): Promise<OrtRunResult> {
  const parsed = v.safeParse(OrtRunRequest, input);
  if (!parsed.success) return outOfProtocol(parsed.issues);
  const request = parsed.output;
  const t0 = performance.now();
  let t1 = t0;
  try {
    const { value: outputs, cached } = await withSession(bucket, request.sha256, (session) => {
      t1 = performance.now();
      return runSession(session, request.inputs, request.outputs);
    });
    return { v: 1, ok: true, outputs, cached, loadMs: cached ? 0 : t1 - t0, runMs: performance.now() - t1 };
  } catch (error) {
    return failed(error);
  }
}

/**
 * Checks a model not stored yet: creates its session from the bytes, runs it once on the
 * trial inputs, releases it. Never throws: MODEL_LOAD when ORT refuses the model.
 */
export async function checkRequest(input: unknown): Promise<OrtRunResult> {
  const parsed = v.safeParse(OrtCheckRequest, input);
  if (!parsed.success) return outOfProtocol(parsed.issues);
  const request = parsed.output;
  const t0 = performance.now();
  let t1 = t0;
  try {
    const outputs = await withNewSession(request.model, (session) => {
      t1 = performance.now();
      return runSession(session, request.inputs, request.outputs);
    });
    return { v: 1, ok: true, outputs, cached: false, loadMs: t1 - t0, runMs: performance.now() - t1 };
  } catch (error) {
    return failed(error);
  }
}

/**
 * The JS RPC entrypoint the edge Worker binds to (`entrypoint = "OrtService"`).
 *
 * @example
 * const result = await env.ORT.run({ v: 1, sha256, inputs: [{ name: 'x', shape: [1, 4], data }] });
 */
export class OrtService extends WorkerEntrypoint<Env> {
  /** Runs an ONNX model; see {@link OrtRunRequest} and {@link OrtRunResult}. */
  run(request: OrtRunRequest): Promise<OrtRunResult> {
    return runRequest(this.env.ARTIFACTS, request);
  }

  /** Loads a model from its bytes and runs it once, keeping nothing; see {@link OrtCheckRequest}. */
  check(request: OrtCheckRequest): Promise<OrtRunResult> {
    return checkRequest(request);
  }

  /** The sha256s of the models whose sessions this isolate holds, least recently used first. */
  cached(): string[] {
    return cachedModels();
  }
}

/** HTTP: only `/healthz` (the binding is JS RPC; this Worker has no public route). */
export default {
  fetch(request: Request): Response {
    if (new URL(request.url).pathname === '/healthz') return Response.json({ ok: true, service: 'edgeloop-ort' });
    return Response.json(
      { error: { code: 'NOT_FOUND', message: 'edgeloop-ort answers JS RPC only' } },
      { status: 404 },
    );
  },
} satisfies ExportedHandler<Env>;
