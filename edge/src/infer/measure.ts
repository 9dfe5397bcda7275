import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app-env.ts';
import { type InferenceRuntime, recordInference } from '../storage/inference-stats.ts';

/** What an infer handler tells the metrics once it knows the version, and again once the model ran. */
export interface InferenceNote {
  model: string;
  version: number;
  runtime: InferenceRuntime;
  cache: 'hit' | 'miss' | null;
  computeMs: number;
  /** performance.now() when the model finished; null if it never ran. */
  ranAt: number | null;
}

/**
 * Times an infer route from the request's arrival (before auth and parsing) and, after the
 * answer, records it in the inference metrics with the status the client got, errors
 * included. Requests refused before their version is known are not recorded: any text can be
 * a model name in a URL, and each would become a series.
 *
 * @example
 * app.post('/v2/models/:model/infer', measureInference, access, handler);
 */
export const measureInference = createMiddleware<AppEnv>(async (c, next) => {
  const arrived = performance.now();
  await next();
  const note = c.get('inference');
  if (!note) return;
  const queueMs = note.ranAt === null ? 0 : note.ranAt - note.computeMs - arrived;
  c.executionCtx.waitUntil(
    recordInference(c.env.DB, {
      model: note.model,
      version: note.version,
      runtime: note.runtime,
      status: c.res.status,
      queueMs,
      computeMs: note.computeMs,
      cache: note.cache,
    }).catch((error: unknown) => console.error('inference metrics failed', error)),
  );
});
