import * as v from 'valibot';
import { CreateRun, LogMetrics, type MetricPoint, type Run, UpdateRun } from '../../protocol/runs.ts';

/** How every `/v1/runs` call goes wrong: no connection, an error status, or no reply at all. */
export type RunsFailure = 'network' | 500 | 'hang' | null;

/** A run as the fake edge holds it: every metric point posted, in order. */
export interface FakeRun {
  run: Run;
  points: MetricPoint[];
}

/**
 * The runs endpoints of the fake edge, minimally (unit tests only; the real edge's behaviour is
 * covered by its workerd tests): create, log metrics, end. Bodies are checked with the protocol
 * schemas so a worker that sends what the edge would refuse fails here too; as the edge, a run
 * belongs to the client whose token created it (the token's client id part, unverified here).
 *
 * @example
 * const runs = new FakeRuns();
 * const reply = await runs.handle('POST', ['', 'v1', 'runs'], body);
 */
export class FakeRuns {
  readonly runs = new Map<string, FakeRun>();
  failure: RunsFailure = null;
  #next = 0;

  async handle(method: string, route: string[], body: unknown, token: string | null = null): Promise<Response> {
    if (this.failure === 'network') throw new TypeError('fetch failed');
    if (this.failure === 'hang') return new Promise<Response>(() => undefined);
    if (this.failure === 500) return error(500, 'INTERNAL', 'database unavailable');
    const id = route[3];
    const clientId = token?.split('.')[0] ?? null;
    if (!clientId) return error(401, 'INVALID_CLIENT_TOKEN', 'send Edgeloop-Client-Token');
    if (method === 'POST' && id === undefined) return this.#create(body, clientId);
    const stored = id === undefined ? undefined : this.runs.get(id);
    if (!stored) return error(404, 'RUN_NOT_FOUND', String(id));
    if (stored.run.clientId !== clientId) return error(403, 'FORBIDDEN', 'another device created this run');
    if (method === 'POST' && route[4] === 'metrics' && route.length === 5) return this.#log(stored, body);
    if (method === 'PATCH' && route.length === 4) return this.#update(stored, body);
    return error(404, 'NOT_FOUND', route.join('/'));
  }

  #create(body: unknown, clientId: string): Response {
    const parsed = v.safeParse(CreateRun, body);
    if (!parsed.success) return invalid(parsed.issues);
    const { model, name, params, tags, parentVersion } = parsed.output;
    const id = `run_${(++this.#next).toString(16).padStart(32, '0')}`;
    const run: Run = {
      id,
      model,
      name: name ?? null,
      status: 'running',
      params: params ?? {},
      tags: tags ?? {},
      parentVersion: parentVersion ?? null,
      createdBy: 'key_client',
      clientId,
      createdAt: Date.now(),
      endedAt: null,
      metrics: {},
      versions: [],
    };
    this.runs.set(id, { run, points: [] });
    return Response.json(run, { status: 201 });
  }

  #log(stored: FakeRun, body: unknown): Response {
    const parsed = v.safeParse(LogMetrics, body);
    if (!parsed.success) return invalid(parsed.issues);
    if (stored.run.status !== 'running') return error(409, 'RUN_FINISHED', stored.run.id);
    stored.points.push(...parsed.output.metrics);
    return Response.json({ runId: stored.run.id, written: parsed.output.metrics.length });
  }

  #update(stored: FakeRun, body: unknown): Response {
    const parsed = v.safeParse(UpdateRun, body);
    if (!parsed.success) return invalid(parsed.issues);
    const { status, tags } = parsed.output;
    if (status && stored.run.status !== 'running') return error(409, 'RUN_FINISHED', stored.run.id);
    if (status) stored.run = { ...stored.run, status, endedAt: Date.now() };
    if (tags) stored.run = { ...stored.run, tags: { ...stored.run.tags, ...tags } };
    return Response.json(stored.run);
  }
}

function invalid(issues: v.BaseIssue<unknown>[]): Response {
  const [issue] = issues;
  return error(400, 'INVALID_BODY', `${issue ? v.getDotPath(issue) : ''} ${issue?.message ?? ''}`);
}

function error(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}
