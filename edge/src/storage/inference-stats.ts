/** The runtimes a /v2 infer request can run on. */
export type InferenceRuntime = 'tfjs' | 'onnx';

/**
 * One answered /v2 infer request. Durations are in milliseconds; in production Workers clocks
 * do not advance during CPU-only work (a Spectre mitigation), so there they count I/O waits
 * only (R2, D1, loading), while locally (workerd, tests) they are real.
 */
export interface InferenceSample {
  model: string;
  version: number;
  runtime: InferenceRuntime;
  /** The HTTP status of the answer. */
  status: number;
  /** From the request's arrival until the model started computing: auth, parsing, validation, model load. */
  queueMs: number;
  /** The model run. */
  computeMs: number;
  /** Whether this isolate's model cache held the model; null when the request never reached it. */
  cache: 'hit' | 'miss' | null;
}

/**
 * Upper bounds (`le`, in ms) of the duration histograms, besides +Inf: Prometheus' defaults
 * moved to milliseconds, up to 10 s because a queue time includes a cold model load.
 */
export const INFERENCE_BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

/** The `le` of the one bucket `ms` falls in (the least bound at or above it), as Prometheus shows it. */
const bucketOf = (ms: number): string => String(INFERENCE_BUCKETS_MS.find((bound) => ms <= bound) ?? '+Inf');

/** A clock that stood still or a missing measure counts as 0, so one bad sample cannot poison a sum. */
const duration = (ms: number): number => (Number.isFinite(ms) && ms > 0 ? ms : 0);

/**
 * Adds one request to the totals, in one D1 batch (a transaction, so concurrent requests never
 * lose an increment). Durations are observed for successful (2xx) answers only, as Triton's
 * latency counters are; every answer counts in the requests and cache totals. Call it after the
 * answer, from `waitUntil`.
 *
 * @example
 * c.executionCtx.waitUntil(
 *   recordInference(c.env.DB, { model: 'digits', version: 3, runtime: 'tfjs', status: 200, queueMs: 4.2, computeMs: 11, cache: 'hit' })
 *     .catch((error: unknown) => console.error('inference metrics failed', error)),
 * );
 */
export async function recordInference(db: D1Database, s: InferenceSample): Promise<void> {
  const statements = [
    db
      .prepare(
        `INSERT INTO inference_requests (model, version, runtime, status, requests, cache_hits, cache_misses)
         VALUES (?, ?, ?, ?, 1, ?, ?)
         ON CONFLICT (model, version, runtime, status) DO UPDATE SET requests = requests + 1,
           cache_hits = cache_hits + excluded.cache_hits, cache_misses = cache_misses + excluded.cache_misses`,
      )
      .bind(s.model, s.version, s.runtime, String(s.status), s.cache === 'hit' ? 1 : 0, s.cache === 'miss' ? 1 : 0),
  ];
  if (s.status >= 200 && s.status < 300) {
    for (const [kind, raw] of [
      ['queue', s.queueMs],
      ['compute', s.computeMs],
    ] as const) {
      const ms = duration(raw);
      statements.push(
        db
          .prepare(
            `INSERT INTO inference_durations (model, version, runtime, kind, le, n, sum_ms) VALUES (?, ?, ?, ?, ?, 1, ?)
             ON CONFLICT (model, version, runtime, kind, le) DO UPDATE SET n = n + 1, sum_ms = sum_ms + excluded.sum_ms`,
          )
          .bind(s.model, s.version, s.runtime, kind, bucketOf(ms), ms),
      );
    }
  }
  await db.batch(statements);
}

/** Requests of one model version, runtime and answer status. */
export interface InferenceRequestRow {
  model: string;
  version: number;
  runtime: string;
  status: string;
  requests: number;
}

/** Model cache outcomes of one model version, over its runtimes and statuses. */
export interface InferenceCacheRow {
  model: string;
  version: number;
  hits: number;
  misses: number;
}

/** One stored (not cumulative) histogram bucket: the observations in it and their sum. */
export interface InferenceDurationRow {
  model: string;
  version: number;
  runtime: string;
  kind: 'queue' | 'compute';
  le: string;
  n: number;
  sumMs: number;
}

/**
 * Everything /metrics shows of inference, ordered by model, version and runtime.
 *
 * @example
 * const { requests, cache, durations } = await inferenceStats(env.DB);
 */
export async function inferenceStats(db: D1Database): Promise<{
  requests: InferenceRequestRow[];
  cache: InferenceCacheRow[];
  durations: InferenceDurationRow[];
}> {
  const [requests, cache, durations] = await db.batch([
    db.prepare(
      `SELECT model, version, runtime, status, requests FROM inference_requests
       ORDER BY model, version, runtime, status`,
    ),
    db.prepare(
      `SELECT model, version, sum(cache_hits) AS hits, sum(cache_misses) AS misses FROM inference_requests
       GROUP BY model, version ORDER BY model, version`,
    ),
    db.prepare(
      `SELECT model, version, runtime, kind, le, n, sum_ms AS sumMs FROM inference_durations
       ORDER BY model, version, runtime, kind`,
    ),
  ]);
  return {
    requests: (requests?.results ?? []) as InferenceRequestRow[],
    cache: (cache?.results ?? []) as InferenceCacheRow[],
    durations: (durations?.results ?? []) as InferenceDurationRow[],
  };
}
